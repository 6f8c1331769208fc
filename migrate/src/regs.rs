//! `struct unimig_regs` (docs/migration.md section 4): what the runtime's stub captures at a
//! migration point, as a table of DWARF registers plus `sp` and `pc`.

use unimig_common::Isa;

/// One u64 slot of the REGS payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Reg(u16),
    Sp,
    Pc,
}

use Slot::{Pc, Reg, Sp};

const X86_64: [Slot; 8] = [
    Reg(3),  // rbx
    Reg(6),  // rbp
    Reg(12), // r12
    Reg(13),
    Reg(14),
    Reg(15),
    Sp,
    Pc,
];

const AARCH64: [Slot; 21] = [
    Reg(19), // x19 .. x29
    Reg(20),
    Reg(21),
    Reg(22),
    Reg(23),
    Reg(24),
    Reg(25),
    Reg(26),
    Reg(27),
    Reg(28),
    Reg(29),
    Sp,
    Pc,
    Reg(72), // d8 .. d15 (DWARF v8 .. v15)
    Reg(73),
    Reg(74),
    Reg(75),
    Reg(76),
    Reg(77),
    Reg(78),
    Reg(79),
];

fn layout(isa: Isa) -> &'static [Slot] {
    match isa {
        Isa::X86_64 => &X86_64,
        Isa::Aarch64 => &AARCH64,
    }
}

/// Size of the REGS payload of `isa`.
pub fn payload_len(isa: Isa) -> usize {
    layout(isa).len() * 8
}

/// Highest DWARF register number + 1 that a register file here can hold (AArch64 v31 = 95).
pub const DWARF_REGS: usize = 96;

/// A register file: the callee-saved registers of REGS, `sp` and `pc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regs {
    pub isa: Isa,
    pub sp: u64,
    pub pc: u64,
    /// By DWARF number; only the callee-saved registers of `isa` are meaningful.
    values: [u64; DWARF_REGS],
}

impl Regs {
    /// All registers zero.
    pub fn new(isa: Isa) -> Regs {
        Regs {
            isa,
            sp: 0,
            pc: 0,
            values: [0; DWARF_REGS],
        }
    }

    /// Decodes a REGS payload; `None` if its length is not that of `isa`'s layout.
    pub fn decode(isa: Isa, payload: &[u8]) -> Option<Regs> {
        if payload.len() != payload_len(isa) {
            return None;
        }
        let mut r = Regs::new(isa);
        for (slot, word) in layout(isa).iter().zip(payload.chunks_exact(8)) {
            let v = u64::from_le_bytes(word.try_into().unwrap());
            match *slot {
                Reg(n) => r.values[n as usize] = v,
                Sp => r.sp = v,
                Pc => r.pc = v,
            }
        }
        Some(r)
    }

    /// The REGS payload.
    pub fn encode(&self) -> Vec<u8> {
        layout(self.isa)
            .iter()
            .flat_map(|slot| {
                match *slot {
                    Reg(n) => self.values[n as usize],
                    Sp => self.sp,
                    Pc => self.pc,
                }
                .to_le_bytes()
            })
            .collect()
    }

    /// Whether DWARF register `reg` is one REGS carries (callee-saved on `isa`).
    pub fn holds(isa: Isa, reg: u16) -> bool {
        layout(isa).contains(&Reg(reg))
    }

    /// The value of callee-saved register `reg`; `None` for registers REGS does not carry.
    pub fn get(&self, reg: u16) -> Option<u64> {
        Regs::holds(self.isa, reg).then(|| self.values[reg as usize])
    }

    /// Sets callee-saved register `reg`; `false` (and nothing set) for other registers.
    pub fn set(&mut self, reg: u16, value: u64) -> bool {
        let ok = Regs::holds(self.isa, reg);
        if ok {
            self.values[reg as usize] = value;
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip() {
        for isa in Isa::ALL {
            let payload: Vec<u8> = (0..payload_len(isa) as u8).collect();
            let r = Regs::decode(isa, &payload).unwrap();
            assert_eq!(r.encode(), payload);
            assert!(Regs::decode(isa, &payload[8..]).is_none());
        }
        let mut words = [0u64; 21];
        words[10] = 0x29; // x29
        words[11] = 0x5000; // sp
        words[12] = 0x4000; // pc
        words[13] = 0xd8; // d8
        let payload: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let r = Regs::decode(Isa::Aarch64, &payload).unwrap();
        assert_eq!((r.sp, r.pc), (0x5000, 0x4000));
        assert_eq!(r.get(29), Some(0x29));
        assert_eq!(r.get(72), Some(0xd8));
        assert_eq!(r.get(30), None);
        assert_eq!(payload_len(Isa::X86_64), 64);
        assert_eq!(payload_len(Isa::Aarch64), 168);
        assert!(Regs::holds(Isa::X86_64, 3) && !Regs::holds(Isa::X86_64, 0));
    }
}
