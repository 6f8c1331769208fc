//! `struct unimig_regs` (docs/migration.md section 4): what the runtime's stub captures at a
//! migration point, as a table of DWARF registers plus `sp` and `pc`.
//!
//! The migration point is a `preserve_all` call, so besides the callee-saved registers (which
//! every frame's record may name) REGS carries the registers that only survive that call:
//! the innermost frame's record may name them too. [`Regs::forget_caller_saved`] drops them
//! when unwinding past that frame.

use unimig_common::Isa;

/// One u64 slot of the REGS payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Reg(u16),
    Sp,
    Pc,
}

use Slot::{Pc, Reg, Sp};

/// rbx rbp r12-r15 sp pc; rax rcx rdx rsi rdi r8-r11; xmm0-15 (DWARF 17-32, low halves).
const X86_64: [Slot; 33] = [
    Reg(3),
    Reg(6),
    Reg(12),
    Reg(13),
    Reg(14),
    Reg(15),
    Sp,
    Pc,
    Reg(0),
    Reg(2),
    Reg(1),
    Reg(4),
    Reg(5),
    Reg(8),
    Reg(9),
    Reg(10),
    Reg(11),
    Reg(17),
    Reg(18),
    Reg(19),
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
    Reg(30),
    Reg(31),
    Reg(32),
];
/// The callee-saved part of [`X86_64`] (SysV: rbx, rbp, r12-r15).
const X86_64_CALLEE_SAVED: [u16; 6] = [3, 6, 12, 13, 14, 15];

/// x19-x29 sp pc d8-d15 (DWARF v8-v15); x0-x18; d16-d31 (DWARF v16-v31).
const AARCH64: [Slot; 56] = {
    let mut t = [Sp; 56];
    let mut i = 0;
    while i < 11 {
        t[i] = Reg(19 + i as u16);
        i += 1;
    }
    t[11] = Sp;
    t[12] = Pc;
    let mut k = 0;
    while k < 8 {
        t[13 + k] = Reg(72 + k as u16);
        k += 1;
    }
    let mut x = 0;
    while x < 19 {
        t[21 + x] = Reg(x as u16);
        x += 1;
    }
    let mut v = 0;
    while v < 16 {
        t[40 + v] = Reg(80 + v as u16);
        v += 1;
    }
    t
};
/// The callee-saved part of [`AARCH64`] (AAPCS64: x19-x29, the low halves of v8-v15).
const AARCH64_CALLEE_SAVED: [u16; 19] = [
    19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 72, 73, 74, 75, 76, 77, 78, 79,
];

fn layout(isa: Isa) -> &'static [Slot] {
    match isa {
        Isa::X86_64 => &X86_64,
        Isa::Aarch64 => &AARCH64,
    }
}

/// Whether DWARF register `reg` is callee-saved on `isa` (kept by every call, so the unwinder
/// restores it frame by frame).
pub fn is_callee_saved(isa: Isa, reg: u16) -> bool {
    match isa {
        Isa::X86_64 => X86_64_CALLEE_SAVED.contains(&reg),
        Isa::Aarch64 => AARCH64_CALLEE_SAVED.contains(&reg),
    }
}

/// The registers REGS carries that are not callee-saved: only the migration point's own
/// call (preserve_all) keeps them, so only the innermost frame's record may name them.
pub fn caller_saved(isa: Isa) -> impl Iterator<Item = u16> {
    layout(isa).iter().filter_map(move |s| match *s {
        Reg(n) if !is_callee_saved(isa, n) => Some(n),
        _ => None,
    })
}

/// Size of the REGS payload of `isa`.
pub fn payload_len(isa: Isa) -> usize {
    layout(isa).len() * 8
}

/// Highest DWARF register number + 1 that a register file here can hold (AArch64 v31 = 95).
pub const DWARF_REGS: usize = 96;

/// A register file: the registers of REGS, `sp` and `pc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regs {
    pub isa: Isa,
    pub sp: u64,
    pub pc: u64,
    /// By DWARF number.
    values: [u64; DWARF_REGS],
    /// Bit `r`: register `r` has a value here (REGS carries it and it was not forgotten).
    known: u128,
}

impl Regs {
    /// The callee-saved registers zero, the others unknown.
    pub fn new(isa: Isa) -> Regs {
        let known = layout(isa)
            .iter()
            .filter_map(|s| match *s {
                Reg(n) if is_callee_saved(isa, n) => Some(1u128 << n),
                _ => None,
            })
            .fold(0, |a, b| a | b);
        Regs {
            isa,
            sp: 0,
            pc: 0,
            values: [0; DWARF_REGS],
            known,
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
                Reg(n) => r.set(n, v),
                Sp => {
                    r.sp = v;
                    true
                }
                Pc => {
                    r.pc = v;
                    true
                }
            };
        }
        Some(r)
    }

    /// The REGS payload (unknown registers as 0).
    pub fn encode(&self) -> Vec<u8> {
        layout(self.isa)
            .iter()
            .flat_map(|slot| {
                match *slot {
                    Reg(n) => self.get(n).unwrap_or(0),
                    Sp => self.sp,
                    Pc => self.pc,
                }
                .to_le_bytes()
            })
            .collect()
    }

    /// Whether DWARF register `reg` is one REGS carries.
    pub fn holds(isa: Isa, reg: u16) -> bool {
        layout(isa).contains(&Reg(reg))
    }

    /// The value of register `reg`; `None` for registers REGS does not carry or that were
    /// forgotten.
    pub fn get(&self, reg: u16) -> Option<u64> {
        (self.known >> reg & 1 == 1).then(|| self.values[reg as usize])
    }

    /// Sets register `reg`; `false` (and nothing set) for registers REGS does not carry.
    pub fn set(&mut self, reg: u16, value: u64) -> bool {
        let ok = Regs::holds(self.isa, reg);
        if ok {
            self.values[reg as usize] = value;
            self.known |= 1 << reg;
        }
        ok
    }

    /// Forgets the registers that are not callee-saved: they survive only the migration point's
    /// call, so a frame further out holds nothing in them.
    pub fn forget_caller_saved(&mut self) {
        for n in caller_saved(self.isa) {
            self.known &= !(1 << n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip() {
        for isa in Isa::ALL {
            let payload: Vec<u8> = (0..payload_len(isa)).map(|i| i as u8).collect();
            let r = Regs::decode(isa, &payload).unwrap();
            assert_eq!(r.encode(), payload);
            assert!(Regs::decode(isa, &payload[8..]).is_none());
        }
        let mut words = [0u64; 56];
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
        assert_eq!(payload_len(Isa::X86_64), 264);
        assert_eq!(payload_len(Isa::Aarch64), 448);
        assert!(Regs::holds(Isa::X86_64, 3) && Regs::holds(Isa::X86_64, 0));
        assert!(!Regs::holds(Isa::X86_64, 7) && !Regs::holds(Isa::X86_64, 16));
    }

    #[test]
    fn caller_saved_registers_are_the_innermost_frames_only() {
        let mut words = [0u64; 56];
        words[21 + 9] = 0x9; // x9
        words[40] = 0x16; // d16
        words[0] = 0x19; // x19
        let payload: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut r = Regs::decode(Isa::Aarch64, &payload).unwrap();
        assert_eq!(
            (r.get(9), r.get(80), r.get(19)),
            (Some(0x9), Some(0x16), Some(0x19))
        );
        r.forget_caller_saved();
        assert_eq!((r.get(9), r.get(80), r.get(19)), (None, None, Some(0x19)));
        assert!(r.set(9, 1) && r.get(9) == Some(1));
        // x86-64: the payload order of the caller-saved registers is rax rcx rdx (DWARF 0 2 1).
        let mut words = [0u64; 33];
        words[8] = 0xa; // rax
        words[9] = 0xc; // rcx
        words[10] = 0xd; // rdx
        words[17] = 0xf0; // xmm0
        let payload: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let r = Regs::decode(Isa::X86_64, &payload).unwrap();
        assert_eq!(
            (r.get(0), r.get(2), r.get(1), r.get(17)),
            (Some(0xa), Some(0xc), Some(0xd), Some(0xf0))
        );
        assert_eq!(r.encode(), payload);
        assert!(is_callee_saved(Isa::X86_64, 3) && !is_callee_saved(Isa::X86_64, 0));
    }
}
