//! The per-site metadata code generation adds next to the stackmaps (docs/formats.md):
//! `.unimig.unsafe_sites`, record IDs whose frames cannot migrate (the same list in both
//! images), and `.unimig.fixups`, values live across a call that its record does not list but
//! that are link-time or per-thread constants, which the transformer writes into the
//! destination frame itself (each image its own).

use unimig_common::Isa;

/// Record IDs of unsafe call sites: u64 little-endian each.
pub const UNSAFE_SITES_SECTION: &str = ".unimig.unsafe_sites";
/// Fixup entries, [`ENTRY_SIZE`] bytes each.
pub const FIXUPS_SECTION: &str = ".unimig.fixups";
/// Bytes per `.unimig.fixups` entry.
pub const ENTRY_SIZE: usize = 32;

/// Where the runtime puts the main thread's TLS block (unimig_layout.h `UNIMIG_TLS_MAIN_BLOCK`;
/// up to 15 bytes later when PT_TLS is aligned to less than 16).
pub const UNIMIG_TLS_MAIN_BLOCK: u64 = 0x2000_4010_0000;

/// Where a fixup's value goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// DWARF register.
    Register(u16),
    /// Memory at `[DWARF register + offset]` (a spill slot; the base is sp or the frame
    /// pointer).
    Slot(u16, i32),
}

/// What the value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipe {
    /// The value itself.
    Constant(u64),
    /// A symbol's address (+ addend), already resolved by the linker.
    Address(u64),
    /// The 4 KiB page of a symbol's address (AArch64 ADRP).
    Page(u64),
    /// The main thread's thread pointer (AArch64 TPIDR_EL0).
    ThreadPointer,
    /// The value of the record's location `location` (counting the statepoint's three header
    /// constants), zero-extended, plus `addend`: a second copy of a recorded value that code
    /// generation kept in another register or slot, or an address derived from one (a field
    /// or a shadow-stack local next to its base pointer).
    LiveValue { location: u16, addend: i32 },
}

/// One `.unimig.fixups` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixup {
    pub id: u64,
    pub place: Place,
    /// Bytes of the register or slot (1 to 8).
    pub size: u8,
    pub recipe: Recipe,
}

impl Fixup {
    /// The value to write, given the destination main thread's thread pointer (`None` when it
    /// cannot be known) and the frame's record values (every location, zero-extended; `None`
    /// when the location number is out of range).
    pub fn value(&self, thread_pointer: Option<u64>, record_values: &[u64]) -> Option<u64> {
        match self.recipe {
            Recipe::Constant(v) | Recipe::Address(v) => Some(v),
            Recipe::Page(v) => Some(v & !0xfff),
            Recipe::ThreadPointer => thread_pointer,
            Recipe::LiveValue { location, addend } => record_values
                .get(usize::from(location))
                .map(|v| v.wrapping_add_signed(i64::from(addend))),
        }
    }
}

/// The IDs of an `.unimig.unsafe_sites` section (a trailing partial word is an error).
pub fn parse_unsafe_sites(bytes: &[u8]) -> Result<Vec<u64>, String> {
    if !bytes.len().is_multiple_of(8) {
        return Err(format!(
            "{UNSAFE_SITES_SECTION} is {} bytes, not a multiple of 8",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
        .collect())
}

/// The entries of a `.unimig.fixups` section. An entry the compiler could not resolve (`where`
/// 0), an unknown kind or a size outside 1..=8 is an error: the transformer must not guess.
pub fn parse_fixups(bytes: &[u8]) -> Result<Vec<Fixup>, String> {
    if !bytes.len().is_multiple_of(ENTRY_SIZE) {
        return Err(format!(
            "{FIXUPS_SECTION} is {} bytes, not a multiple of {ENTRY_SIZE}",
            bytes.len()
        ));
    }
    bytes
        .chunks_exact(ENTRY_SIZE)
        .map(|e| {
            let u64_at = |o: usize| u64::from_le_bytes(e[o..o + 8].try_into().expect("8 bytes"));
            let id = u64_at(0);
            let value = u64_at(8);
            let offset = i32::from_le_bytes(e[16..20].try_into().expect("4 bytes"));
            let reg = u16::from_le_bytes([e[20], e[21]]);
            let (place_kind, size, kind) = (e[22], e[23], e[24]);
            let bad = |what: String| format!("{FIXUPS_SECTION}: record {id:#x}: {what}");
            let place = match place_kind {
                1 => Place::Register(reg),
                2 => Place::Slot(reg, offset),
                0 => return Err(bad("the compiler could not resolve its location".into())),
                k => return Err(bad(format!("unknown location kind {k}"))),
            };
            if !(1..=8).contains(&size) {
                return Err(bad(format!("size {size}")));
            }
            let recipe = match kind {
                0 => Recipe::Constant(value),
                1 => Recipe::Address(value),
                2 => Recipe::Page(value),
                3 => Recipe::ThreadPointer,
                4 => Recipe::LiveValue {
                    location: u16::try_from(value)
                        .map_err(|_| bad(format!("location number {value}")))?,
                    addend: i32::from_le_bytes(e[28..32].try_into().expect("4 bytes")),
                },
                k => return Err(bad(format!("unknown recipe kind {k}"))),
            };
            Ok(Fixup {
                id,
                place,
                size,
                recipe,
            })
        })
        .collect()
}

/// The main thread's thread pointer in an image with this PT_TLS, (p_memsz, p_align), as the
/// runtime computes it (sysroots/runtime/src/tls.c, unimig_layout.h "Thread layout"): A =
/// max(p_align, 1), S = p_memsz rounded up to A, descriptor D = round_up(UNIMIG_TLS_MAIN_BLOCK +
/// S, max(A, 16)), block B = D - S; x86-64 TP = D, AArch64 TP = B - max(16, A). An image
/// without PT_TLS gets S = 0 and A = 1. `None` for an alignment that is not a power of two.
pub fn main_thread_pointer(isa: Isa, tls: Option<(u64, u64)>) -> Option<u64> {
    let (memsz, align) = tls.unwrap_or((0, 1));
    let align = align.max(1);
    if !align.is_power_of_two() {
        return None;
    }
    let size = memsz.checked_next_multiple_of(align)?;
    let descriptor = (UNIMIG_TLS_MAIN_BLOCK + size).checked_next_multiple_of(align.max(16))?;
    let block = descriptor - size;
    Some(match isa {
        Isa::X86_64 => descriptor,
        Isa::Aarch64 => block - align.max(16),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64, value: u64, off: i32, reg: u16, place: u8, size: u8, kind: u8) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend(id.to_le_bytes());
        e.extend(value.to_le_bytes());
        e.extend(off.to_le_bytes());
        e.extend(reg.to_le_bytes());
        e.extend([place, size, kind]);
        e.extend([0; 7]);
        e
    }

    #[test]
    fn entries_parse_into_places_and_recipes() {
        let mut bytes = entry(7, 0x41_2345, 0, 22, 1, 8, 2);
        bytes.extend(entry(9, 64, -24, 29, 2, 4, 0));
        bytes.extend(entry(9, 0, 0, 24, 1, 8, 3));
        let f = parse_fixups(&bytes).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].place, Place::Register(22));
        assert_eq!(f[0].recipe, Recipe::Page(0x41_2345));
        assert_eq!(f[0].value(None, &[]), Some(0x41_2000));
        assert_eq!(f[1].place, Place::Slot(29, -24));
        assert_eq!((f[1].size, f[1].value(None, &[])), (4, Some(64)));
        assert_eq!(f[2].value(None, &[]), None);
        assert_eq!(f[2].value(Some(0x1000), &[]), Some(0x1000));
        let f = parse_fixups(&entry(9, 4, -8, 7, 2, 8, 4)).unwrap();
        let live = |addend| Recipe::LiveValue {
            location: 4,
            addend,
        };
        assert_eq!(f[0].recipe, live(0));
        assert_eq!(f[0].value(None, &[1, 2, 0, 9, 42]), Some(42));
        assert_eq!(f[0].value(None, &[1, 2, 0]), None);
        // The addend in bytes 28..32: 42 - 16.
        let mut e = entry(9, 4, -8, 7, 2, 8, 4);
        e[28..32].copy_from_slice(&(-16i32).to_le_bytes());
        let f = parse_fixups(&e).unwrap();
        assert_eq!(f[0].recipe, live(-16));
        assert_eq!(f[0].value(None, &[1, 2, 0, 9, 42]), Some(26));
    }

    #[test]
    fn malformed_entries_are_refused() {
        assert!(parse_fixups(&[0; 31]).is_err());
        assert!(parse_fixups(&entry(1, 0, 0, 0, 0, 8, 0)).is_err());
        assert!(parse_fixups(&entry(1, 0, 0, 0, 1, 9, 0)).is_err());
        assert!(parse_fixups(&entry(1, 0, 0, 0, 1, 8, 5)).is_err());
        assert!(parse_fixups(&entry(1, 1 << 16, 0, 0, 1, 8, 4)).is_err());
        assert!(parse_unsafe_sites(&[0; 12]).is_err());
        assert_eq!(parse_unsafe_sites(&[1, 0, 0, 0, 0, 0, 0, 0]), Ok(vec![1]));
    }

    #[test]
    fn thread_pointer_follows_the_thread_layout() {
        assert_eq!(
            main_thread_pointer(Isa::Aarch64, Some((0x30, 64))),
            Some(UNIMIG_TLS_MAIN_BLOCK - 64)
        );
        // 8 bytes at alignment 8: the descriptor is 16-aligned, so the block moves up 8 bytes.
        let b = UNIMIG_TLS_MAIN_BLOCK;
        assert_eq!(main_thread_pointer(Isa::X86_64, Some((8, 8))), Some(b + 16));
        assert_eq!(
            main_thread_pointer(Isa::Aarch64, Some((8, 8))),
            Some(b + 8 - 16)
        );
        assert_eq!(
            main_thread_pointer(Isa::X86_64, Some((0x30, 16))),
            Some(b + 0x30)
        );
        assert_eq!(main_thread_pointer(Isa::Aarch64, None), Some(b - 16));
        assert_eq!(main_thread_pointer(Isa::Aarch64, Some((8, 24))), None);
    }
}
