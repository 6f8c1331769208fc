//! `jmp_buf`s across a migration (docs/migration.md section 6.4).
//!
//! A `jmp_buf` filled by `setjmp` holds the callee-saved registers, stack pointer and return
//! address of the frame that called it, in one ISA's layout. When that frame is still on the
//! stack at a migration, a later `longjmp` must find the same frame in the destination's layout,
//! so the transformation rewrites the buffer. Which buffers exist is the runtime's registry
//! (`sysroots/runtime/src/jmpbuf.c`, the symbol [`REGISTRY_SYMBOL`]): the instrumented code
//! registers every buffer right before calling `setjmp`.
//!
//! A registered buffer is *live* when its saved stack pointer is a frame's on the source stack
//! and its saved return address is a call site of that frame's function: the `setjmp` call,
//! which the instrumentation made a statepoint, so its record lists the values the code after
//! a `longjmp` reads. Every other entry is stale (its frame returned, the memory may be reused)
//! and is dropped from the registry.
//!
//! The destination buffer gets (see [`crate::transform`] for the register bookkeeping): the
//! destination frame's stack pointer, the destination return address of the same record, the
//! frame pointer, the record's live values (registers into the buffer, stack slots into the
//! frame), and for each callee-saved register the frame does not save, the value it has while
//! the frame runs (the value of a frame further out).

use unimig_common::Isa;

use crate::regs::Regs;

/// The runtime's registry of `jmp_buf`s.
pub const REGISTRY_SYMBOL: &str = "__unimig_jmpbufs";
/// Entries the registry holds (`JMPBUFS_MAX` in jmpbuf.c).
pub const REGISTRY_CAPACITY: u64 = 1024;
/// Registry header: `count`, `dropped_key` (u64 each); then `(buf, key)` pairs.
const HEADER: u64 = 16;
const ENTRY: u64 = 16;
/// Bytes of `__jmp_buf` (22 words on both ISAs: sysroots/musl-patches/0004).
pub const JMP_BUF_BYTES: u64 = 22 * 8;

/// What one word of musl's `__jmp_buf` holds (src/setjmp/<arch>/setjmp.s).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    Reg(u16),
    Sp,
    /// The return address of the `setjmp` call (AArch64: x30, which `longjmp` branches to).
    Pc,
    Unused,
}

use Word::{Pc, Reg, Sp, Unused};

const X86_64: [Word; 8] = [Reg(3), Reg(6), Reg(12), Reg(13), Reg(14), Reg(15), Sp, Pc];

const AARCH64: [Word; 22] = [
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
    Pc, // x30
    Unused,
    Sp,
    Reg(72), // d8 .. d15
    Reg(73),
    Reg(74),
    Reg(75),
    Reg(76),
    Reg(77),
    Reg(78),
    Reg(79),
];

fn layout(isa: Isa) -> &'static [Word] {
    match isa {
        Isa::X86_64 => &X86_64,
        Isa::Aarch64 => &AARCH64,
    }
}

/// The callee-saved registers a `jmp_buf` of `isa` restores, by DWARF number.
pub fn saved_registers(isa: Isa) -> impl Iterator<Item = u16> {
    layout(isa).iter().filter_map(|w| match *w {
        Reg(r) => Some(r),
        _ => None,
    })
}

/// The bytes of `isa`'s `jmp_buf` that its `longjmp` reads.
pub fn used_bytes(isa: Isa) -> u64 {
    layout(isa).len() as u64 * 8
}

/// Reads a `jmp_buf` of `isa` (at least [`used_bytes`] long) as a register file.
pub fn decode(isa: Isa, bytes: &[u8]) -> Option<Regs> {
    let mut r = Regs::new(isa);
    for (word, chunk) in layout(isa).iter().zip(bytes.chunks_exact(8)) {
        let v = u64::from_le_bytes(chunk.try_into().ok()?);
        match *word {
            Reg(n) => {
                r.set(n, v);
            }
            Sp => r.sp = v,
            Pc => r.pc = v,
            Unused => {}
        }
    }
    (bytes.len() as u64 >= used_bytes(isa)).then_some(r)
}

/// The [`used_bytes`] of a `jmp_buf` holding `regs`.
pub fn encode(regs: &Regs) -> Vec<u8> {
    layout(regs.isa)
        .iter()
        .flat_map(|w| {
            match *w {
                Reg(n) => regs.get(n).unwrap_or(0),
                Sp => regs.sp,
                Pc => regs.pc,
                Unused => 0,
            }
            .to_le_bytes()
        })
        .collect()
}

/// One registry entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The `jmp_buf`'s address.
    pub buf: u64,
    /// An address just below the stack pointer of the frame that registered it.
    pub key: u64,
}

/// The registry as found in a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry {
    pub entries: Vec<Entry>,
    /// Non-zero: a registration did not fit, and its frame may still be live.
    pub dropped_key: u64,
}

/// Why the registry cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("the jmp_buf registry at {0:#x} is not in the checkpoint")]
    Missing(u64),
    #[error("the jmp_buf registry claims {0} entries (at most {REGISTRY_CAPACITY})")]
    Count(u64),
    #[error(
        "more setjmp buffers were live than the runtime's registry holds ({REGISTRY_CAPACITY}): \
         one of them could not be translated"
    )]
    Overflow,
    #[error("the jmp_buf registry is at {src:#x} in the source image, {dst:?} in the destination")]
    Moved { src: u64, dst: Option<u64> },
}

impl Registry {
    /// Reads the registry at `addr` through `read(addr, len)` (`len` <= 8).
    pub fn read(
        addr: u64,
        read: impl Fn(u64, u64) -> Option<u64>,
    ) -> Result<Registry, RegistryError> {
        let missing = RegistryError::Missing(addr);
        let count = read(addr, 8).ok_or(missing.clone())?;
        let dropped_key = read(addr + 8, 8).ok_or(missing.clone())?;
        if count > REGISTRY_CAPACITY {
            return Err(RegistryError::Count(count));
        }
        let entries = (0..count)
            .map(|i| {
                let at = addr + HEADER + i * ENTRY;
                Some(Entry {
                    buf: read(at, 8)?,
                    key: read(at + 8, 8)?,
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(missing)?;
        Ok(Registry {
            entries,
            dropped_key,
        })
    }

    /// The bytes from the registry's start through its last entry.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity((HEADER + ENTRY * self.entries.len() as u64) as usize);
        out.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.dropped_key.to_le_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.buf.to_le_bytes());
            out.extend_from_slice(&e.key.to_le_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jmp_buf_layouts_round_trip() {
        for isa in Isa::ALL {
            let n = used_bytes(isa) as usize;
            let words: Vec<u64> = (1..=n as u64 / 8).collect();
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let r = decode(isa, &bytes).unwrap();
            let mut back = encode(&r);
            if isa == Isa::Aarch64 {
                back[96..104].copy_from_slice(&13u64.to_le_bytes()); // the unused word
            }
            assert_eq!(back, bytes, "{isa}");
            assert!(decode(isa, &bytes[..n - 8]).is_none());
        }
        let x86 = decode(
            Isa::X86_64,
            &(1..=8u64).flat_map(|w| w.to_le_bytes()).collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(
            (x86.get(3), x86.get(6), x86.sp, x86.pc),
            (Some(1), Some(2), 7, 8)
        );
        let a64: Vec<u8> = (1..=22u64).flat_map(|w| w.to_le_bytes()).collect();
        let a64 = decode(Isa::Aarch64, &a64).unwrap();
        assert_eq!(
            (a64.get(29), a64.pc, a64.sp, a64.get(72), a64.get(79)),
            (Some(11), 12, 14, Some(15), Some(22))
        );
        assert_eq!(saved_registers(Isa::Aarch64).count(), 19);
        assert!(
            used_bytes(Isa::Aarch64) <= JMP_BUF_BYTES && used_bytes(Isa::X86_64) <= JMP_BUF_BYTES
        );
    }

    #[test]
    fn registry_reads_and_encodes() {
        let r = Registry {
            entries: vec![
                Entry {
                    buf: 0x1000,
                    key: 0x2000,
                },
                Entry {
                    buf: 0x3000,
                    key: 0x1f00,
                },
            ],
            dropped_key: 0,
        };
        let bytes = r.encode();
        let read = |a: u64, len: u64| {
            let s = bytes.get((a - 0x500) as usize..(a - 0x500 + len) as usize)?;
            Some(u64::from_le_bytes(s.try_into().ok()?))
        };
        assert_eq!(Registry::read(0x500, read).unwrap(), r);
        assert_eq!(
            Registry::read(0x400, read),
            Err(RegistryError::Missing(0x400))
        );
        let mut big = bytes.clone();
        big[..8].copy_from_slice(&(REGISTRY_CAPACITY + 1).to_le_bytes());
        let read_big = |a: u64, len: u64| {
            let s = big.get((a - 0x500) as usize..(a - 0x500 + len) as usize)?;
            Some(u64::from_le_bytes(s.try_into().ok()?))
        };
        assert_eq!(
            Registry::read(0x500, read_big),
            Err(RegistryError::Count(REGISTRY_CAPACITY + 1))
        );
    }
}
