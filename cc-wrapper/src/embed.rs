//! Making the fat object: the host object with the aarch64 object embedded as the section
//! `.unimig.aarch64` (docs/formats.md). The section is `SHF_EXCLUDE`, so any ordinary link
//! drops it, and 8-byte aligned (in the file too), so a reader can parse the embedded ELF file
//! in place.
//!
//! Written here rather than by llvm-objcopy (two runs, ~14 ms each, a third of a small file's
//! compile): the host object is LLVM's own ELF64 little-endian relocatable, so adding a section
//! is appending three things and patching the header. The new file is the old one, then the
//! aarch64 object, then a copy of the section-name table with the new name added, then a new
//! section header table (the old entries, the name table's pointing at its copy, plus the new
//! section). The old table and names stay behind as unreferenced bytes. More than 0xff00
//! sections use ELF's extended numbering (the count in section 0's `sh_size`).

use anyhow::{bail, Result};
use object::elf;
use std::path::Path;
use unimig_common::fat::OBJECT_SECTION;

const EHDR_SIZE: usize = 64;
// Offsets in `e_ident`.
const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;
const SHDR_SIZE: usize = 64;
// Offsets of the ELF64 header fields used here.
const E_SHOFF: usize = 0x28;
const E_SHENTSIZE: usize = 0x3a;
const E_SHNUM: usize = 0x3c;
const E_SHSTRNDX: usize = 0x3e;
// Offsets in a section header.
const SH_NAME: usize = 0;
const SH_TYPE: usize = 4;
const SH_FLAGS: usize = 8;
const SH_OFFSET: usize = 24;
const SH_SIZE: usize = 32;
const SH_LINK: usize = 40;
const SH_ADDRALIGN: usize = 48;

/// Writes the fat object `out` from the host object `host` and the `aarch64` object.
pub fn write_fat_object(host: &[u8], aarch64: &[u8], out: &Path) -> Result<()> {
    std::fs::write(out, fat_object(host, aarch64)?)?;
    Ok(())
}

fn u16_at(data: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(data[at..at + 2].try_into().expect("2 bytes"))
}
fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(data: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(data[at..at + 8].try_into().expect("8 bytes"))
}
fn put(data: &mut [u8], at: usize, bytes: &[u8]) {
    data[at..at + bytes.len()].copy_from_slice(bytes);
}
fn pad_to_8(data: &mut Vec<u8>) {
    data.resize(data.len().next_multiple_of(8), 0);
}

/// The fat object's bytes.
pub fn fat_object(host: &[u8], aarch64: &[u8]) -> Result<Vec<u8>> {
    let ident_ok = host.len() >= EHDR_SIZE
        && host[..4] == elf::ELFMAG
        && host[EI_CLASS] == elf::ELFCLASS64
        && host[EI_DATA] == elf::ELFDATA2LSB
        && u16_at(host, 0x10) == elf::ET_REL
        && usize::from(u16_at(host, E_SHENTSIZE)) == SHDR_SIZE;
    if !ident_ok {
        bail!("embedding the aarch64 object: the host object is not an ELF64 little-endian relocatable file");
    }
    let shoff = usize::try_from(u64_at(host, E_SHOFF))?;
    let table = |count: usize| -> Result<&[u8]> {
        match host.get(shoff..shoff + count * SHDR_SIZE) {
            Some(t) if shoff != 0 => Ok(t),
            _ => bail!(
                "embedding the aarch64 object: the host object's section headers are out of bounds"
            ),
        }
    };
    // Section 0 holds the real count and name-table index when they do not fit the header.
    let first = table(1)?;
    let count = match u16_at(host, E_SHNUM) {
        0 => usize::try_from(u64_at(first, SH_SIZE))?,
        n => usize::from(n),
    };
    let shstrndx = match u16_at(host, E_SHSTRNDX) {
        elf::SHN_XINDEX => usize::try_from(u32_at(first, SH_LINK))?,
        n => usize::from(n),
    };
    let mut headers = table(count)?.to_vec();
    if shstrndx == 0 || shstrndx >= count {
        bail!("embedding the aarch64 object: the host object has no section name table");
    }
    let names_header = shstrndx * SHDR_SIZE;
    let names_offset = usize::try_from(u64_at(&headers, names_header + SH_OFFSET))?;
    let names_size = usize::try_from(u64_at(&headers, names_header + SH_SIZE))?;
    let Some(names) = host.get(names_offset..names_offset + names_size) else {
        bail!("embedding the aarch64 object: the host object's section names are out of bounds");
    };

    let mut out = host.to_vec();
    pad_to_8(&mut out);
    let data_offset = out.len();
    out.extend_from_slice(aarch64);
    let new_names_offset = out.len();
    out.extend_from_slice(names);
    let name = u32::try_from(names.len())?;
    out.extend_from_slice(OBJECT_SECTION.as_bytes());
    out.push(0);
    let new_names_size = out.len() - new_names_offset;
    put(
        &mut headers,
        names_header + SH_OFFSET,
        &(new_names_offset as u64).to_le_bytes(),
    );
    put(
        &mut headers,
        names_header + SH_SIZE,
        &(new_names_size as u64).to_le_bytes(),
    );
    let mut section = [0u8; SHDR_SIZE];
    put(&mut section, SH_NAME, &name.to_le_bytes());
    put(&mut section, SH_TYPE, &elf::SHT_PROGBITS.to_le_bytes());
    put(
        &mut section,
        SH_FLAGS,
        &u64::from(elf::SHF_EXCLUDE).to_le_bytes(),
    );
    put(&mut section, SH_OFFSET, &(data_offset as u64).to_le_bytes());
    put(&mut section, SH_SIZE, &(aarch64.len() as u64).to_le_bytes());
    put(&mut section, SH_ADDRALIGN, &8u64.to_le_bytes());
    headers.extend_from_slice(&section);

    let new_count = count + 1;
    let (shnum, shstrndx_field) = if new_count >= usize::from(elf::SHN_LORESERVE) {
        put(&mut headers, SH_SIZE, &(new_count as u64).to_le_bytes());
        if shstrndx >= usize::from(elf::SHN_LORESERVE) {
            put(
                &mut headers,
                SH_LINK,
                &u32::try_from(shstrndx)?.to_le_bytes(),
            );
        }
        (0, u16::try_from(shstrndx).unwrap_or(elf::SHN_XINDEX))
    } else {
        (u16::try_from(new_count)?, u16::try_from(shstrndx)?)
    };
    pad_to_8(&mut out);
    let new_shoff = out.len();
    out.extend_from_slice(&headers);
    put(&mut out, E_SHOFF, &(new_shoff as u64).to_le_bytes());
    put(&mut out, E_SHNUM, &shnum.to_le_bytes());
    put(&mut out, E_SHSTRNDX, &shstrndx_field.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::{Object, ObjectSection, ObjectSymbol, SectionFlags};
    use unimig_common::Isa;

    fn compiled(isa: Isa, body: &str) -> Vec<u8> {
        let ir = format!(
            "target triple = \"{}\"\n{body}\n",
            unimig_llvm_pass::llvm_triple(isa)
        );
        let opts = unimig_llvm_pass::Options {
            migration_points: unimig_llvm_pass::MigrationPoints::None,
            stackmaps: false,
            ..Default::default()
        };
        unimig_llvm_pass::compile(ir.as_bytes(), isa, &opts).unwrap()
    }

    #[test]
    fn the_fat_object_is_the_host_object_plus_an_aligned_excluded_section() {
        let host = compiled(Isa::X86_64, "define i32 @f() {\n  ret i32 1\n}");
        let a64 = compiled(
            Isa::Aarch64,
            "define i32 @f() {\n  ret i32 1\n}\n@g = global i32 3",
        );
        let fat = fat_object(&host, &a64).unwrap();
        let file = object::File::parse(&fat[..]).unwrap();
        let section = file.section_by_name(OBJECT_SECTION).unwrap();
        assert_eq!(section.data().unwrap(), &a64[..]);
        assert_eq!(section.align(), 8);
        let (offset, _) = section.file_range().unwrap();
        assert_eq!(offset % 8, 0);
        assert_eq!(
            section.flags(),
            SectionFlags::Elf {
                sh_flags: u64::from(elf::SHF_EXCLUDE)
            }
        );
        // Everything else is as it was: names, contents (the name table, which LLVM shares with
        // the symbol names, only grew), symbols.
        let before = object::File::parse(&host[..]).unwrap();
        assert_eq!(file.sections().count(), before.sections().count() + 1);
        for (old, new) in before.sections().zip(file.sections()) {
            assert_eq!(old.name().unwrap(), new.name().unwrap());
            let (old, new) = (old.data().unwrap(), new.data().unwrap());
            assert!(old == new || (new.starts_with(old) && new.ends_with(b".unimig.aarch64\0")));
        }
        let symbols = |f: &object::File| -> Vec<String> {
            f.symbols().map(|s| s.name().unwrap().to_string()).collect()
        };
        assert_eq!(symbols(&file), symbols(&before));
        assert!(fat_object(&a64[..10], &a64).is_err());
    }

    /// A minimal relocatable file with `count` sections: null, names, then empty ones.
    fn many_sections(count: usize) -> Vec<u8> {
        let names = b"\0.shstrtab\0.s\0";
        let mut data = vec![0u8; EHDR_SIZE];
        data[..4].copy_from_slice(&elf::ELFMAG);
        data[EI_CLASS] = elf::ELFCLASS64;
        data[EI_DATA] = elf::ELFDATA2LSB;
        data[6] = elf::EV_CURRENT; // EI_VERSION
        put(&mut data, 0x10, &elf::ET_REL.to_le_bytes());
        put(&mut data, 0x12, &elf::EM_X86_64.to_le_bytes());
        put(&mut data, 0x14, &1u32.to_le_bytes());
        put(&mut data, 0x34, &(EHDR_SIZE as u16).to_le_bytes());
        put(&mut data, E_SHENTSIZE, &(SHDR_SIZE as u16).to_le_bytes());
        let names_offset = data.len();
        data.extend_from_slice(names);
        pad_to_8(&mut data);
        let shoff = data.len();
        let mut headers = vec![0u8; count * SHDR_SIZE];
        put(&mut headers, SHDR_SIZE + SH_NAME, &1u32.to_le_bytes());
        put(
            &mut headers,
            SHDR_SIZE + SH_TYPE,
            &elf::SHT_STRTAB.to_le_bytes(),
        );
        put(
            &mut headers,
            SHDR_SIZE + SH_OFFSET,
            &(names_offset as u64).to_le_bytes(),
        );
        put(
            &mut headers,
            SHDR_SIZE + SH_SIZE,
            &(names.len() as u64).to_le_bytes(),
        );
        for k in 2..count {
            put(&mut headers, k * SHDR_SIZE + SH_NAME, &11u32.to_le_bytes());
            put(
                &mut headers,
                k * SHDR_SIZE + SH_TYPE,
                &elf::SHT_PROGBITS.to_le_bytes(),
            );
        }
        if count >= usize::from(elf::SHN_LORESERVE) {
            put(&mut headers, SH_SIZE, &(count as u64).to_le_bytes());
        } else {
            put(&mut data, E_SHNUM, &(count as u16).to_le_bytes());
        }
        put(&mut data, E_SHSTRNDX, &1u16.to_le_bytes());
        put(&mut data, E_SHOFF, &(shoff as u64).to_le_bytes());
        data.extend_from_slice(&headers);
        data
    }

    #[test]
    fn extended_section_numbering() {
        let inner = b"not really an object".to_vec();
        for count in [5, usize::from(elf::SHN_LORESERVE) - 1, 70_000] {
            let fat = fat_object(&many_sections(count), &inner).unwrap();
            let file = object::File::parse(&fat[..]).unwrap();
            // `sections()` leaves out the null section 0.
            assert_eq!(file.sections().count(), count, "{count}");
            let section = file.section_by_name(OBJECT_SECTION).unwrap();
            assert_eq!(section.data().unwrap(), &inner[..], "{count}");
            assert_eq!(u16_at(&fat, E_SHNUM) == 0, count + 1 >= 0xff00, "{count}");
        }
    }
}
