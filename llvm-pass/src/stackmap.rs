//! Reading `.llvm_stackmaps` back from objects. The section format reader is
//! [`unimig_common::stackmap`] (shared with `ld.unimig`'s check of linked images); this module
//! resolves each record's function through the object's relocations and symbols.

pub use unimig_common::stackmap::{
    parse, FunctionEntry, LiveOut, Location, LocationKind, Record, StackMaps,
};

use anyhow::{Context as _, Result};
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};

/// A record with the function it belongs to, read from an object file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRecord {
    /// Symbol the function-address field is relocated against (or at, in a linked image).
    pub function: String,
    /// Address or section offset of that function in the object, when known.
    pub function_address: u64,
    pub record: Record,
}

/// Reads `.llvm_stackmaps` from an ELF object (relocatable or linked) and names each record's
/// function. An object without the section has no records.
pub fn object_stackmaps(object_bytes: &[u8]) -> Result<Vec<ObjectRecord>> {
    let file = object::File::parse(object_bytes).context("parsing object file")?;
    let Some(section) = file.section_by_name(".llvm_stackmaps") else {
        return Ok(Vec::new());
    };
    let data = section
        .uncompressed_data()
        .context("reading .llvm_stackmaps")?;
    let maps = parse(&data)?;
    // Function address field i is at 16 + 24*i.
    let mut names = vec![(String::new(), 0u64); maps.functions.len()];
    let relocs: Vec<(u64, object::Relocation)> = section.relocations().collect();
    for (i, f) in maps.functions.iter().enumerate() {
        let field = 16 + 24 * i as u64;
        if let Some((_, rel)) = relocs.iter().find(|(off, _)| *off == field) {
            if let RelocationTarget::Symbol(idx) = rel.target() {
                let sym = file.symbol_by_index(idx)?;
                let mut name = sym.name().unwrap_or("").to_string();
                let mut addr = sym.address();
                if sym.kind() == object::SymbolKind::Section || name.is_empty() {
                    // Section symbol (static functions): the function is the symbol defined
                    // at `addend` in that section.
                    addr = rel.addend() as u64;
                    if let Some(sec) = sym.section_index() {
                        name = file
                            .symbols()
                            .find(|s| {
                                s.section_index() == Some(sec)
                                    && s.address() == addr
                                    && s.kind() == object::SymbolKind::Text
                            })
                            .and_then(|s| s.name().ok().map(str::to_string))
                            .unwrap_or_else(|| {
                                file.section_by_index(sec)
                                    .ok()
                                    .and_then(|s| s.name().ok().map(str::to_string))
                                    .unwrap_or_default()
                            });
                    }
                }
                names[i] = (name, addr);
                continue;
            }
        }
        // Linked image: look the address up among function symbols.
        let name = file
            .symbols()
            .find(|s| s.address() == f.address && s.kind() == object::SymbolKind::Text)
            .and_then(|s| s.name().ok().map(str::to_string))
            .unwrap_or_default();
        names[i] = (name, f.address);
    }
    Ok(maps
        .records_by_function()
        .into_iter()
        .map(|(fi, r)| ObjectRecord {
            function: names[fi].0.clone(),
            function_address: names[fi].1,
            record: r.clone(),
        })
        .collect())
}

/// One line of the cross-ISA comparison: record ID, number of locations, location sizes.
pub type SummaryEntry = (u64, usize, Vec<u16>);

/// (id, number of locations, location sizes) for every record of an object, sorted by ID.
/// Two images built from the same sources must give identical summaries.
pub fn stackmap_summary(object_bytes: &[u8]) -> Result<Vec<SummaryEntry>> {
    let mut v: Vec<SummaryEntry> = object_stackmaps(object_bytes)?
        .into_iter()
        .map(|r| {
            let sizes = r.record.locations.iter().map(|l| l.size).collect();
            (r.record.id, r.record.locations.len(), sizes)
        })
        .collect();
    v.sort();
    Ok(v)
}
