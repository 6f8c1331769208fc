//! Reader for LLVM's `.llvm_stackmaps` section, format version 3
//! (<https://llvm.org/docs/StackMaps.html#stack-map-format>):
//!
//! ```text
//! Header     { u8 version = 3; u8 reserved; u16 reserved }
//! u32 NumFunctions; u32 NumConstants; u32 NumRecords
//! StkSizeRecord[NumFunctions] { u64 FunctionAddress; u64 StackSize; u64 RecordCount }
//! Constants[NumConstants]     { u64 LargeConstant }
//! StkMapRecord[NumRecords] {
//!   u64 PatchPointID; u32 InstructionOffset; u16 Reserved; u16 NumLocations
//!   Location[NumLocations] { u8 Type; u8 Reserved; u16 Size; u16 DwarfRegNum; u16 Reserved;
//!                            i32 OffsetOrSmallConstant }
//!   (u32 padding to 8-byte alignment)
//!   u16 Padding; u16 NumLiveOuts
//!   LiveOuts[NumLiveOuts] { u16 DwarfRegNum; u8 Reserved; u8 SizeInBytes }
//!   (u32 padding to 8-byte alignment)
//! }
//! ```
//!
//! All fields are little-endian on both ISAs unimig targets. In a relocatable object the
//! function addresses are 0 plus a relocation; [`object_stackmaps`] resolves them to symbols.

use anyhow::{bail, Context as _, Result};
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationKind {
    Register,
    Direct,
    Indirect,
    Constant,
    ConstantIndex,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub kind: LocationKind,
    pub size: u16,
    pub dwarf_reg: u16,
    /// Offset for Direct/Indirect, the value for Constant, the constant-pool index for
    /// ConstantIndex.
    pub offset_or_constant: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveOut {
    pub dwarf_reg: u16,
    pub size: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub id: u64,
    /// Offset of the record's PC from the start of its function.
    pub instruction_offset: u32,
    pub locations: Vec<Location>,
    pub live_outs: Vec<LiveOut>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionEntry {
    pub address: u64,
    pub stack_size: u64,
    pub record_count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackMaps {
    pub functions: Vec<FunctionEntry>,
    pub constants: Vec<u64>,
    pub records: Vec<Record>,
}

impl StackMaps {
    /// Records grouped by function, in section order: (function index, record).
    pub fn records_by_function(&self) -> Vec<(usize, &Record)> {
        let mut out = Vec::with_capacity(self.records.len());
        let mut it = self.records.iter();
        for (fi, f) in self.functions.iter().enumerate() {
            for _ in 0..f.record_count {
                if let Some(r) = it.next() {
                    out.push((fi, r));
                }
            }
        }
        out
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.pos + n > self.data.len() {
            bail!(
                ".llvm_stackmaps truncated: need {n} bytes at offset {}, section has {}",
                self.pos,
                self.data.len()
            );
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn align8(&mut self) -> Result<()> {
        let pad = (8 - self.pos % 8) % 8;
        self.take(pad)?;
        Ok(())
    }
}

/// Parses the bytes of a `.llvm_stackmaps` section.
pub fn parse(section: &[u8]) -> Result<StackMaps> {
    let mut r = Reader {
        data: section,
        pos: 0,
    };
    let version = r.u8()?;
    if version != 3 {
        bail!(".llvm_stackmaps version {version}, expected 3");
    }
    r.u8()?;
    r.u16()?;
    let nfun = r.u32()?;
    let nconst = r.u32()?;
    let nrec = r.u32()?;
    let mut functions = Vec::with_capacity(nfun as usize);
    for _ in 0..nfun {
        functions.push(FunctionEntry {
            address: r.u64()?,
            stack_size: r.u64()?,
            record_count: r.u64()?,
        });
    }
    let constants = (0..nconst).map(|_| r.u64()).collect::<Result<Vec<_>>>()?;
    let mut records = Vec::with_capacity(nrec as usize);
    for _ in 0..nrec {
        let id = r.u64()?;
        let instruction_offset = r.u32()?;
        r.u16()?;
        let nloc = r.u16()?;
        let mut locations = Vec::with_capacity(nloc as usize);
        for _ in 0..nloc {
            let kind = match r.u8()? {
                1 => LocationKind::Register,
                2 => LocationKind::Direct,
                3 => LocationKind::Indirect,
                4 => LocationKind::Constant,
                5 => LocationKind::ConstantIndex,
                k => bail!("stackmap record {id:#x}: unknown location type {k}"),
            };
            r.u8()?;
            let size = r.u16()?;
            let dwarf_reg = r.u16()?;
            r.u16()?;
            let offset_or_constant = r.i32()?;
            locations.push(Location {
                kind,
                size,
                dwarf_reg,
                offset_or_constant,
            });
        }
        r.align8()?;
        r.u16()?;
        let nlo = r.u16()?;
        let mut live_outs = Vec::with_capacity(nlo as usize);
        for _ in 0..nlo {
            let dwarf_reg = r.u16()?;
            r.u8()?;
            let size = r.u8()?;
            live_outs.push(LiveOut { dwarf_reg, size });
        }
        r.align8()?;
        records.push(Record {
            id,
            instruction_offset,
            locations,
            live_outs,
        });
    }
    let declared: u64 = functions.iter().map(|f| f.record_count).sum();
    if declared != records.len() as u64 {
        bail!(
            ".llvm_stackmaps: functions declare {declared} records, section has {}",
            records.len()
        );
    }
    Ok(StackMaps {
        functions,
        constants,
        records,
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn le16(v: u16) -> [u8; 2] {
        v.to_le_bytes()
    }

    #[test]
    fn parses_handmade_section() {
        let mut b = vec![3, 0, 0, 0];
        b.extend(1u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend(0x1000u64.to_le_bytes());
        b.extend(32u64.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.extend(0xdead_beef_0000_0001u64.to_le_bytes());
        b.extend(0x1234u64.to_le_bytes()); // id
        b.extend(17u32.to_le_bytes());
        b.extend(le16(0));
        b.extend(le16(2));
        // Register x19 (dwarf 19), size 8
        b.extend([1, 0]);
        b.extend(le16(8));
        b.extend(le16(19));
        b.extend(le16(0));
        b.extend(0i32.to_le_bytes());
        // Indirect [sp + 16], size 4
        b.extend([3, 0]);
        b.extend(le16(4));
        b.extend(le16(31));
        b.extend(le16(0));
        b.extend(16i32.to_le_bytes());
        // 16+24+8+16 = 64, + 2*12 = 88: aligned; no padding.
        b.extend(le16(0));
        b.extend(le16(1));
        b.extend(le16(30));
        b.extend([0, 8]);
        b.extend([0; 0]);
        // 88 + 4 + 4 = 96: aligned.
        let m = parse(&b).unwrap();
        assert_eq!(m.functions[0].address, 0x1000);
        assert_eq!(m.constants, vec![0xdead_beef_0000_0001]);
        assert_eq!(m.records.len(), 1);
        let r = &m.records[0];
        assert_eq!((r.id, r.instruction_offset), (0x1234, 17));
        assert_eq!(r.locations[0].kind, LocationKind::Register);
        assert_eq!(r.locations[1].kind, LocationKind::Indirect);
        assert_eq!(r.locations[1].offset_or_constant, 16);
        assert_eq!(
            r.live_outs,
            vec![LiveOut {
                dwarf_reg: 30,
                size: 8
            }]
        );
    }

    #[test]
    fn rejects_truncated_and_wrong_version() {
        assert!(parse(&[2, 0, 0, 0]).is_err());
        assert!(parse(&[3, 0, 0, 0, 1, 0]).is_err());
    }
}
