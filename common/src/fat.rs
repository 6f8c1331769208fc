//! Fat files: host (x86-64) ELF files that carry the AArch64 twin in a section.
//!
//! * A fat **object** (from `unimig-cc -c`) is an ordinary x86-64 relocatable object with one
//!   extra section, [`OBJECT_SECTION`], holding the complete AArch64 relocatable object. The
//!   section is `SHF_EXCLUDE`, so a plain link drops it; `ar`, `ranlib`, `nm` and libtool see an
//!   ordinary object.
//! * A fat **executable** (from `ld.unimig`) is an ordinary static x86-64 executable with one
//!   extra non-allocated section, [`IMAGE_SECTION`], holding the complete AArch64 executable.
//!   The loader never maps it; `unimig split` and `unimig run --isa aarch64` read it.

use anyhow::{anyhow, bail, Context, Result};
use object::read::elf::{ElfFile64, FileHeader};
use object::{Endianness, Object, ObjectSection};

/// Section of a fat object that holds the AArch64 relocatable object.
pub const OBJECT_SECTION: &str = ".unimig.aarch64";
/// Section of a fat executable that holds the AArch64 executable.
pub const IMAGE_SECTION: &str = ".unimig.image.aarch64";

/// Returns the bytes of section `name` of the ELF file `data`, or `None` when it has none.
pub fn embedded_section<'a>(data: &'a [u8], name: &str) -> Result<Option<&'a [u8]>> {
    let file =
        ElfFile64::<Endianness>::parse(data).map_err(|e| anyhow!("not a 64-bit ELF file: {e}"))?;
    match file.section_by_name(name) {
        Some(section) => Ok(Some(
            section
                .data()
                .with_context(|| format!("reading section {name}"))?,
        )),
        None => Ok(None),
    }
}

/// The ELF machine (`e_machine`) of `data`, if it is a 64-bit ELF file.
pub fn elf_machine(data: &[u8]) -> Option<u16> {
    let header = object::elf::FileHeader64::<Endianness>::parse(data).ok()?;
    let endian = header.endian().ok()?;
    Some(header.e_machine(endian))
}

/// Extracts the AArch64 executable from a fat executable, checking what it finds.
pub fn aarch64_image(fat: &[u8]) -> Result<&[u8]> {
    if elf_machine(fat) != Some(object::elf::EM_X86_64) {
        bail!("not an x86-64 ELF executable");
    }
    let image = embedded_section(fat, IMAGE_SECTION)?
        .ok_or_else(|| anyhow!("no {IMAGE_SECTION} section: not linked by ld.unimig"))?;
    if elf_machine(image) != Some(object::elf::EM_AARCH64) {
        bail!("section {IMAGE_SECTION} does not hold an AArch64 ELF file");
    }
    Ok(image)
}
