//! Making the fat object: the host object with the aarch64 object embedded as the section
//! `.unimig.aarch64` (docs/formats.md). The section is `SHF_EXCLUDE`, so any ordinary link
//! drops it, and 8-byte aligned (in the file too), so a reader can parse the embedded ELF file
//! in place. When code generation found call sites whose frames cannot migrate, both objects
//! first get the non-allocated section `.unimig.unsafe_sites` listing them
//! (`unimig_llvm_pass::unsafe_sites`), which the linker keeps in both images.
//!
//! Written here rather than by llvm-objcopy (two runs, ~14 ms each, a third of a small file's
//! compile): the objects are LLVM's own ELF64 little-endian relocatables, so adding a section
//! is appending three things and patching the header. The new file is the old one, then the
//! aarch64 object, then a copy of the section-name table with the new name added, then a new
//! section header table (the old entries, the name table's pointing at its copy, plus the new
//! section). The old table and names stay behind as unreferenced bytes. More than 0xff00
//! sections use ELF's extended numbering (the count in section 0's `sh_size`). The headers are
//! read and written through `object`'s typed ELF structures, never by raw offsets.

use anyhow::{anyhow, bail, Result};
use object::elf::{self, FileHeader64, SectionHeader64};
use object::read::elf::{FileHeader, SectionHeader};
use object::{pod, LittleEndian as LE, U32, U64};
use std::path::Path;
use unimig_common::fat::OBJECT_SECTION;
use unimig_llvm_pass::unsafe_sites;

/// Writes the fat object `out` from the host object `host` and the `aarch64` object; with
/// `unsafe_sites` (record IDs, both ISAs' union), each object lists them first.
pub fn write_fat_object(
    host: &[u8],
    aarch64: &[u8],
    unsafe_sites: &[u64],
    out: &Path,
) -> Result<()> {
    let fat = if unsafe_sites.is_empty() {
        // Nothing to add: the objects stay exactly what code generation made.
        fat_object(host, aarch64)?
    } else {
        let host = with_unsafe_sites(host, unsafe_sites)?;
        let aarch64 = with_unsafe_sites(aarch64, unsafe_sites)?;
        fat_object(&host, &aarch64)?
    };
    std::fs::write(out, fat)?;
    Ok(())
}

/// `object` with the section `.unimig.unsafe_sites` holding `ids` (u64 little-endian each):
/// not allocated, so it costs the loaded image nothing, and not `SHF_EXCLUDE`, so the linker
/// concatenates every object's list into the image.
pub fn with_unsafe_sites(object: &[u8], ids: &[u64]) -> Result<Vec<u8>> {
    let section = NewSection {
        name: unsafe_sites::SECTION,
        contents: &unsafe_sites::section_bytes(ids),
        flags: 0,
    };
    append_section(object, &section).map_err(|e| anyhow!("adding {}: {e}", unsafe_sites::SECTION))
}

fn pad_to_8(data: &mut Vec<u8>) {
    data.resize(data.len().next_multiple_of(8), 0);
}

/// The fat object's bytes.
pub fn fat_object(host: &[u8], aarch64: &[u8]) -> Result<Vec<u8>> {
    let section = NewSection {
        name: OBJECT_SECTION,
        contents: aarch64,
        flags: u64::from(elf::SHF_EXCLUDE),
    };
    append_section(host, &section).map_err(|e| anyhow!("embedding the aarch64 object: {e}"))
}

/// A `SHT_PROGBITS` section to add, 8-byte aligned.
struct NewSection<'a> {
    name: &'a str,
    contents: &'a [u8],
    flags: u64,
}

/// `object` (an ELF64 little-endian relocatable file) with `new` added.
fn append_section(object: &[u8], new: &NewSection) -> Result<Vec<u8>> {
    let header = FileHeader64::<LE>::parse(object)
        .map_err(|e| anyhow!("the object is not an ELF64 file: {e}"))?;
    let endian = header.endian().map_err(|e| anyhow!("the object: {e}"))?;
    if header.e_type(endian) != elf::ET_REL
        || usize::from(header.e_shentsize(endian)) != std::mem::size_of::<SectionHeader64<LE>>()
    {
        bail!("the object is not an ELF64 little-endian relocatable file");
    }
    // `object` resolves ELF's extended numbering (count and name-table index in section 0).
    let mut headers: Vec<SectionHeader64<LE>> = header
        .section_headers(endian, object)
        .map_err(|e| anyhow!("the object's section headers: {e}"))?
        .to_vec();
    let shstrndx = header
        .shstrndx(endian, object)
        .map_err(|e| anyhow!("the object's section name table: {e}"))? as usize;
    if shstrndx == 0 || shstrndx >= headers.len() {
        bail!("the object has no section name table");
    }
    let names = headers[shstrndx]
        .data(endian, object)
        .map_err(|_| anyhow!("the object's section names are out of bounds"))?;

    let mut out = object.to_vec();
    pad_to_8(&mut out);
    let data_offset = out.len() as u64;
    out.extend_from_slice(new.contents);
    let names_offset = out.len();
    out.extend_from_slice(names);
    let name = u32::try_from(names.len())?;
    out.extend_from_slice(new.name.as_bytes());
    out.push(0);
    let names_header = &mut headers[shstrndx];
    names_header.sh_offset.set(endian, names_offset as u64);
    names_header
        .sh_size
        .set(endian, (out.len() - names_offset) as u64);
    headers.push(SectionHeader64 {
        sh_name: U32::new(endian, name),
        sh_type: U32::new(endian, elf::SHT_PROGBITS),
        sh_flags: U64::new(endian, new.flags),
        sh_addr: U64::new(endian, 0),
        sh_offset: U64::new(endian, data_offset),
        sh_size: U64::new(endian, new.contents.len() as u64),
        sh_link: U32::new(endian, 0),
        sh_info: U32::new(endian, 0),
        sh_addralign: U64::new(endian, 8),
        sh_entsize: U64::new(endian, 0),
    });

    let mut file_header = *header;
    let count = headers.len();
    if count >= usize::from(elf::SHN_LORESERVE) {
        // Extended numbering: the real count (and, if large, the name-table index) in section 0.
        headers[0].sh_size.set(endian, count as u64);
        file_header.e_shnum.set(endian, 0);
        match u16::try_from(shstrndx) {
            Ok(index) if index < elf::SHN_LORESERVE => file_header.e_shstrndx.set(endian, index),
            _ => {
                headers[0].sh_link.set(endian, u32::try_from(shstrndx)?);
                file_header.e_shstrndx.set(endian, elf::SHN_XINDEX);
            }
        }
    } else {
        file_header.e_shnum.set(endian, u16::try_from(count)?);
    }
    pad_to_8(&mut out);
    file_header.e_shoff.set(endian, out.len() as u64);
    out.extend_from_slice(pod::bytes_of_slice(&headers));
    let header_bytes = pod::bytes_of(&file_header);
    out[..header_bytes.len()].copy_from_slice(header_bytes);
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

    #[test]
    fn unsafe_sites_are_a_non_allocated_list_in_both_objects() {
        let host = compiled(Isa::X86_64, "define i32 @f() {\n  ret i32 1\n}");
        let a64 = compiled(Isa::Aarch64, "define i32 @f() {\n  ret i32 1\n}");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fat.o");
        // No unsafe sites: exactly the fat object of the two objects as generated.
        write_fat_object(&host, &a64, &[], &out).unwrap();
        assert_eq!(
            std::fs::read(&out).unwrap(),
            fat_object(&host, &a64).unwrap()
        );
        assert!(object::File::parse(&host[..])
            .unwrap()
            .section_by_name(unsafe_sites::SECTION)
            .is_none());

        let ids = [3, 0x8000_0000_0000_0001];
        write_fat_object(&host, &a64, &ids, &out).unwrap();
        let fat = std::fs::read(&out).unwrap();
        let fat = object::File::parse(&fat[..]).unwrap();
        let inner = fat.section_by_name(OBJECT_SECTION).unwrap().data().unwrap();
        let inner = object::File::parse(inner).unwrap();
        for file in [&fat, &inner] {
            let section = file.section_by_name(unsafe_sites::SECTION).unwrap();
            assert_eq!(unsafe_sites::read_section(section.data().unwrap()), ids);
            assert_eq!(section.align(), 8);
            assert_eq!(section.flags(), SectionFlags::Elf { sh_flags: 0 });
            assert_eq!(section.kind(), object::SectionKind::Other);
        }
        assert!(with_unsafe_sites(&host[..10], &ids).is_err());
    }

    /// A minimal relocatable file with `count` sections: null, names, then empty ones.
    fn many_sections(count: usize) -> Vec<u8> {
        let e = LE;
        let names = b"\0.shstrtab\0.s\0";
        let header_size = std::mem::size_of::<FileHeader64<LE>>();
        let names_offset = header_size;
        let shoff = (names_offset + names.len()).next_multiple_of(8);
        let zero_section = SectionHeader64 {
            sh_name: U32::new(e, 0),
            sh_type: U32::new(e, elf::SHT_NULL),
            sh_flags: U64::new(e, 0),
            sh_addr: U64::new(e, 0),
            sh_offset: U64::new(e, 0),
            sh_size: U64::new(e, 0),
            sh_link: U32::new(e, 0),
            sh_info: U32::new(e, 0),
            sh_addralign: U64::new(e, 0),
            sh_entsize: U64::new(e, 0),
        };
        let mut headers = vec![zero_section; count];
        headers[1].sh_name.set(e, 1);
        headers[1].sh_type.set(e, elf::SHT_STRTAB);
        headers[1].sh_offset.set(e, names_offset as u64);
        headers[1].sh_size.set(e, names.len() as u64);
        for section in &mut headers[2..] {
            section.sh_name.set(e, 11);
            section.sh_type.set(e, elf::SHT_PROGBITS);
        }
        let extended = count >= usize::from(elf::SHN_LORESERVE);
        if extended {
            headers[0].sh_size.set(e, count as u64);
        }
        let ident = elf::Ident {
            magic: elf::ELFMAG,
            class: elf::ELFCLASS64,
            data: elf::ELFDATA2LSB,
            version: elf::EV_CURRENT,
            os_abi: 0,
            abi_version: 0,
            padding: [0; 7],
        };
        let file_header = FileHeader64::<LE> {
            e_ident: ident,
            e_type: object::U16::new(e, elf::ET_REL),
            e_machine: object::U16::new(e, elf::EM_X86_64),
            e_version: U32::new(e, 1),
            e_entry: U64::new(e, 0),
            e_phoff: U64::new(e, 0),
            e_shoff: U64::new(e, shoff as u64),
            e_flags: U32::new(e, 0),
            e_ehsize: object::U16::new(e, header_size as u16),
            e_phentsize: object::U16::new(e, 0),
            e_phnum: object::U16::new(e, 0),
            e_shentsize: object::U16::new(e, std::mem::size_of::<SectionHeader64<LE>>() as u16),
            e_shnum: object::U16::new(e, if extended { 0 } else { count as u16 }),
            e_shstrndx: object::U16::new(e, 1),
        };
        let mut data = pod::bytes_of(&file_header).to_vec();
        data.extend_from_slice(names);
        data.resize(shoff, 0);
        data.extend_from_slice(pod::bytes_of_slice(&headers));
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
            let header = FileHeader64::<LE>::parse(&fat[..]).unwrap();
            assert_eq!(header.e_shnum.get(LE) == 0, count + 1 >= 0xff00, "{count}");
        }
    }
}
