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
//! function addresses are 0 plus a relocation (unimig-llvm-pass's `object_stackmaps` resolves
//! them to symbols); in a linked image the section is the concatenation of every object's
//! section, read by [`parse_all`]. The reader borrows the section bytes and copies nothing.
//!
//! [`compare_shapes`] is the cross-ISA check `ld.unimig` runs on the two images: the same
//! record IDs, each with the same number of locations of the same sizes.

use anyhow::{bail, Result};

/// The section's name.
pub const SECTION: &str = ".llvm_stackmaps";

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

/// Parses the bytes of one object's `.llvm_stackmaps` section.
pub fn parse(section: &[u8]) -> Result<StackMaps> {
    parse_one(section).map(|(maps, _)| maps)
}

/// Parses one stackmap blob at the start of `section`; also returns its length in bytes.
fn parse_one(section: &[u8]) -> Result<(StackMaps, usize)> {
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
    Ok((
        StackMaps {
            functions,
            constants,
            records,
        },
        r.pos,
    ))
}

/// Parses a linked image's `.llvm_stackmaps`: each object's section, one after the other
/// (zero padding between them, up to 8-byte alignment, is skipped).
pub fn parse_all(section: &[u8]) -> Result<Vec<StackMaps>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < section.len() {
        if section[pos] == 0 {
            pos += 1;
            continue;
        }
        let (maps, used) = parse_one(&section[pos..])
            .map_err(|e| e.context(format!(".llvm_stackmaps at offset {pos:#x}")))?;
        out.push(maps);
        pos += used;
    }
    Ok(out)
}

/// What two ISAs' records of one migration point must agree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordShape {
    pub id: u64,
    /// Address of the record's function (equal on both ISAs for shared functions).
    pub function: u64,
    /// Size in bytes of each location, in order.
    pub sizes: Vec<u16>,
}

/// The shapes of all records of `maps`.
pub fn shapes(maps: &[StackMaps]) -> Vec<RecordShape> {
    maps.iter()
        .flat_map(|m| {
            m.records_by_function()
                .into_iter()
                .map(|(fi, r)| RecordShape {
                    id: r.id,
                    function: m.functions[fi].address,
                    sizes: r.locations.iter().map(|l| l.size).collect(),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A record ID on which the two ISAs disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disagreement {
    pub id: u64,
    /// The function's address on [x86-64, AArch64], where the ISA has the record.
    pub function: [Option<u64>; 2],
    pub detail: String,
}

/// Compares the records of the two ISAs ([x86-64, AArch64]) by ID: both must have the same
/// IDs, each with the same number of locations of the same sizes.
pub fn compare_shapes(x: &[RecordShape], a: &[RecordShape]) -> Vec<Disagreement> {
    use std::collections::BTreeMap;
    let mut by_id: BTreeMap<u64, [Vec<&RecordShape>; 2]> = BTreeMap::new();
    for (i, list) in [x, a].into_iter().enumerate() {
        for r in list {
            by_id.entry(r.id).or_default()[i].push(r);
        }
    }
    let describe = |rs: &[&RecordShape]| {
        rs.iter()
            .map(|r| format!("{} locations, sizes {:?}", r.sizes.len(), r.sizes))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut out = Vec::new();
    for (id, [rx, ra]) in by_id {
        let function = [
            rx.first().map(|r| r.function),
            ra.first().map(|r| r.function),
        ];
        let detail = if rx.is_empty() || ra.is_empty() {
            let (has, lacks) = if rx.is_empty() {
                ("aarch64", "x86_64")
            } else {
                ("x86_64", "aarch64")
            };
            format!("stackmap record only in the {has} image, not in the {lacks} one")
        } else {
            let mut sx: Vec<&Vec<u16>> = rx.iter().map(|r| &r.sizes).collect();
            let mut sa: Vec<&Vec<u16>> = ra.iter().map(|r| &r.sizes).collect();
            sx.sort();
            sa.sort();
            if sx == sa {
                continue;
            }
            format!(
                "stackmap records differ: x86_64 {}, aarch64 {}",
                describe(&rx),
                describe(&ra)
            )
        };
        out.push(Disagreement {
            id,
            function,
            detail,
        });
    }
    out
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

    fn shape(id: u64, function: u64, sizes: &[u16]) -> RecordShape {
        RecordShape {
            id,
            function,
            sizes: sizes.to_vec(),
        }
    }

    #[test]
    fn equal_shapes_agree() {
        let x = vec![shape(1, 0x1000, &[8, 4]), shape(2, 0x1100, &[])];
        let a = vec![shape(2, 0x1100, &[]), shape(1, 0x1000, &[8, 4])];
        assert_eq!(compare_shapes(&x, &a), vec![]);
    }

    #[test]
    fn mismatches_name_the_id_and_function() {
        let x = vec![
            shape(1, 0x1000, &[8, 4]),
            shape(2, 0x1100, &[8]),
            shape(3, 0x1200, &[8]),
        ];
        let a = vec![
            shape(1, 0x1000, &[8, 8]),
            shape(2, 0x1100, &[8, 8]),
            shape(4, 0x1300, &[]),
        ];
        let d = compare_shapes(&x, &a);
        let ids: Vec<u64> = d.iter().map(|d| d.id).collect();
        assert_eq!(ids, vec![1, 2, 3, 4]);
        assert_eq!(d[0].function, [Some(0x1000), Some(0x1000)]);
        assert!(d[0].detail.contains("sizes [8, 4]"), "{}", d[0].detail);
        assert!(d[1].detail.contains("1 locations"), "{}", d[1].detail);
        assert_eq!(d[2].function, [Some(0x1200), None]);
        assert!(
            d[2].detail.contains("only in the x86_64 image"),
            "{}",
            d[2].detail
        );
        assert_eq!(d[3].function, [None, Some(0x1300)]);
        assert!(
            d[3].detail.contains("only in the aarch64 image"),
            "{}",
            d[3].detail
        );
    }

    /// A one-function, one-record blob with locations of `sizes`.
    fn blob(addr: u64, id: u64, sizes: &[u16]) -> Vec<u8> {
        let mut b = vec![3, 0, 0, 0];
        b.extend(1u32.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend(addr.to_le_bytes());
        b.extend(16u64.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.extend(id.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend(le16(0));
        b.extend(le16(sizes.len() as u16));
        for &size in sizes {
            b.extend([4, 0]);
            b.extend(le16(size));
            b.extend(le16(0));
            b.extend(le16(0));
            b.extend(7i32.to_le_bytes());
        }
        while b.len() % 8 != 0 {
            b.push(0);
        }
        b.extend(le16(0));
        b.extend(le16(0));
        while b.len() % 8 != 0 {
            b.push(0);
        }
        b
    }

    #[test]
    fn linked_sections_are_concatenated_blobs() {
        let mut s = blob(0x1000, 5, &[8]);
        s.extend(blob(0x2000, 6, &[4, 8]));
        let maps = parse_all(&s).unwrap();
        assert_eq!(maps.len(), 2);
        assert_eq!(
            shapes(&maps),
            vec![shape(5, 0x1000, &[8]), shape(6, 0x2000, &[4, 8])]
        );
        assert!(parse_all(&s[..s.len() - 4]).is_err());
    }
}
