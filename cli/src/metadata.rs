//! Migration metadata of one ISA's image, as `unimig inspect` shows it: functions (from the
//! symbol table), and the stackmap records of `.llvm_stackmaps` (unimig_common::stackmap) as
//! call sites with return address, callee, live values and their locations.
//!
//! **Which call sites are migration points.** The pass makes every call a statepoint, the
//! inserted calls to `__unimig_migration_point` included, and record IDs are hashes
//! (llvm-pass/src/ids.rs) that do not say what was called. So the callee is read from the
//! machine code instead: the call instruction just before the return address is a direct call
//! for every statepoint to a named function (static, non-PIC code): x86-64 `call rel32`
//! (`e8` and 4 bytes), AArch64 `bl imm26`. Its target, when it is the start of a function symbol,
//! names the callee; a migration point is a call site whose callee is
//! `__unimig_migration_point`. AArch64's decoding is exact (fixed-width instructions); on
//! x86-64 the bytes before an indirect call could in principle look like `e8`, which is why
//! the target must be a function's first byte. Indirect calls have no callee; on x86-64 a
//! variadic call goes through a thunk (`__unimig_vacall_N`, llvm-pass/src/instrument.rs),
//! which is then the callee shown.

use anyhow::{anyhow, Context, Result};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use std::collections::BTreeMap;
use unimig_common::stackmap::{self, Location, LocationKind};
use unimig_common::Isa;

/// The runtime's migration entry, which the inserted polls call.
pub const MIGRATION_POINT_FN: &str = "__unimig_migration_point";

/// A function of the image.
#[derive(Clone, Debug)]
pub struct Function {
    pub name: String,
    pub address: u64,
    pub size: u64,
    /// Whether it has a stackmap function record (a leaf with no migration point has none
    /// even when the pass processed it: nothing of it can be on a stack but its own frame).
    pub instrumented: bool,
    /// The fixed frame size from its stackmap function record.
    pub frame_size: Option<u64>,
    /// Size of its shadow-stack frame (address-taken locals). Filled once images carry the
    /// shadow-stack metadata (issue #4, item 3); `None` until then, never guessed.
    pub shadow_frame_size: Option<u64>,
}

/// Where a live value is at a call site.
#[derive(Clone, Debug)]
pub enum ValueLoc {
    Register {
        reg: String,
    },
    /// The value is in memory at `[reg + offset]`.
    Indirect {
        reg: String,
        offset: i32,
    },
    /// The value is the address `reg + offset` (a stack object).
    Direct {
        reg: String,
        offset: i32,
    },
    Constant {
        value: i64,
    },
    /// A constant from the section's pool.
    ConstantIndex {
        index: u32,
        value: Option<u64>,
    },
}

#[derive(Clone, Debug)]
pub struct LiveValue {
    pub loc: ValueLoc,
    pub size: u16,
}

/// One stackmap record.
#[derive(Clone, Debug)]
pub struct CallSite {
    pub id: u64,
    pub function: String,
    pub function_address: u64,
    /// The record's address: the call's return address.
    pub return_address: u64,
    pub callee: Option<String>,
    pub migration_point: bool,
    /// The deopt values (the statepoint header's three constants removed).
    pub live: Vec<LiveValue>,
}

/// Everything `inspect` reports for one ISA.
#[derive(Clone, Debug)]
pub struct ImageMetadata {
    pub isa: Isa,
    pub functions: Vec<Function>,
    pub call_sites: Vec<CallSite>,
}

/// DWARF register number to name, as the ISA's assembler spells it.
pub fn register_name(isa: Isa, dwarf: u16, size: u16) -> String {
    const X86: [&str; 17] = [
        "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12",
        "r13", "r14", "r15", "rip",
    ];
    match isa {
        Isa::X86_64 => match dwarf {
            0..=16 => X86[dwarf as usize].to_string(),
            17..=32 => format!("xmm{}", dwarf - 17),
            _ => format!("dwarf{dwarf}"),
        },
        Isa::Aarch64 => match dwarf {
            0..=30 => format!("x{dwarf}"),
            31 => "sp".to_string(),
            64..=95 if size == 8 => format!("d{}", dwarf - 64),
            64..=95 if size == 4 => format!("s{}", dwarf - 64),
            64..=95 => format!("v{}", dwarf - 64),
            _ => format!("dwarf{dwarf}"),
        },
    }
}

/// Reads the metadata of `image`, an ELF executable for `isa`.
pub fn read(isa: Isa, image: &[u8]) -> Result<ImageMetadata> {
    let file = object::File::parse(image).map_err(|e| anyhow!("not an ELF file: {e}"))?;
    let functions_by_address = function_symbols(&file);
    let maps = match file.section_by_name(stackmap::SECTION) {
        Some(section) => stackmap::parse_all(section.data().context("reading .llvm_stackmaps")?)?,
        None => Vec::new(),
    };
    let mut frames: BTreeMap<u64, u64> = BTreeMap::new();
    let mut call_sites = Vec::new();
    for m in &maps {
        for f in &m.functions {
            frames.insert(f.address, f.stack_size);
        }
        for (fi, record) in m.records_by_function() {
            let function_address = m.functions[fi].address;
            let return_address = function_address + u64::from(record.instruction_offset);
            let callee = call_target(&file, isa, return_address)
                .and_then(|t| functions_by_address.get(&t))
                .map(|(name, _)| name.clone());
            let function = functions_by_address
                .get(&function_address)
                .map_or_else(|| format!("{function_address:#x}"), |(n, _)| n.clone());
            call_sites.push(CallSite {
                id: record.id,
                function,
                function_address,
                return_address,
                migration_point: callee.as_deref() == Some(MIGRATION_POINT_FN),
                callee,
                live: live_values(isa, &record.locations, &m.constants),
            });
        }
    }
    let functions = functions_by_address
        .iter()
        .map(|(&address, (name, size))| Function {
            name: name.clone(),
            address,
            size: *size,
            instrumented: frames.contains_key(&address),
            frame_size: frames.get(&address).copied(),
            shadow_frame_size: None,
        })
        .collect();
    Ok(ImageMetadata {
        isa,
        functions,
        call_sites,
    })
}

/// Defined function symbols by address (name, size); of several names for one address, a
/// global one, else the first.
fn function_symbols(file: &object::File) -> BTreeMap<u64, (String, u64)> {
    let mut out: BTreeMap<u64, (String, u64, bool)> = BTreeMap::new();
    for sym in file.symbols() {
        if sym.kind() != SymbolKind::Text || !sym.is_definition() {
            continue;
        }
        let Ok(name) = sym.name() else { continue };
        let global = sym.is_global();
        match out.get(&sym.address()) {
            Some((_, _, true)) => {}
            Some((_, _, false)) if !global => {}
            _ => {
                out.insert(sym.address(), (name.to_string(), sym.size(), global));
            }
        }
    }
    out.into_iter().map(|(a, (n, s, _))| (a, (n, s))).collect()
}

/// The bytes of the image at [`addr`, `addr + len`), if a section holds them.
fn bytes_at<'d>(file: &object::File<'d>, addr: u64, len: u64) -> Option<&'d [u8]> {
    let section = file
        .sections()
        .find(|s| s.address() <= addr && addr + len <= s.address() + s.size())?;
    let data = section.data().ok()?;
    let start = (addr - section.address()) as usize;
    data.get(start..start + len as usize)
}

/// The target of the direct call that returns to `return_address` (see the module comment).
fn call_target(file: &object::File, isa: Isa, return_address: u64) -> Option<u64> {
    match isa {
        Isa::X86_64 => {
            let b = bytes_at(file, return_address.checked_sub(5)?, 5)?;
            if b[0] != 0xe8 {
                return None;
            }
            let rel = i32::from_le_bytes(b[1..5].try_into().ok()?);
            Some(return_address.wrapping_add_signed(i64::from(rel)))
        }
        Isa::Aarch64 => {
            let b = bytes_at(file, return_address.checked_sub(4)?, 4)?;
            let insn = u32::from_le_bytes(b.try_into().ok()?);
            if insn >> 26 != 0b100101 {
                return None; // not BL
            }
            // imm26, sign-extended, in instructions.
            let imm = ((insn << 6) as i32) >> 6;
            Some((return_address - 4).wrapping_add_signed(i64::from(imm) * 4))
        }
    }
}

/// A statepoint record's live values: its locations after the header the statepoint lowering
/// puts first (constants: calling convention, flags, number of deopt values); all locations of
/// a record without that header.
fn live_values(isa: Isa, locations: &[Location], constants: &[u64]) -> Vec<LiveValue> {
    let header = locations.len() >= 3
        && locations[..3]
            .iter()
            .all(|l| l.kind == LocationKind::Constant)
        && locations[2].offset_or_constant as usize == locations.len() - 3;
    let values = if header { &locations[3..] } else { locations };
    values
        .iter()
        .map(|l| {
            let reg = register_name(isa, l.dwarf_reg, l.size);
            let loc = match l.kind {
                LocationKind::Register => ValueLoc::Register { reg },
                LocationKind::Indirect => ValueLoc::Indirect {
                    reg,
                    offset: l.offset_or_constant,
                },
                LocationKind::Direct => ValueLoc::Direct {
                    reg,
                    offset: l.offset_or_constant,
                },
                LocationKind::Constant => ValueLoc::Constant {
                    value: i64::from(l.offset_or_constant),
                },
                LocationKind::ConstantIndex => {
                    let index = l.offset_or_constant as u32;
                    ValueLoc::ConstantIndex {
                        index,
                        value: constants.get(index as usize).copied(),
                    }
                }
            };
            LiveValue { loc, size: l.size }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_names() {
        assert_eq!(register_name(Isa::X86_64, 3, 8), "rbx");
        assert_eq!(register_name(Isa::X86_64, 7, 8), "rsp");
        assert_eq!(register_name(Isa::X86_64, 12, 4), "r12");
        assert_eq!(register_name(Isa::X86_64, 17, 8), "xmm0");
        assert_eq!(register_name(Isa::Aarch64, 19, 8), "x19");
        assert_eq!(register_name(Isa::Aarch64, 31, 8), "sp");
        assert_eq!(register_name(Isa::Aarch64, 72, 8), "d8");
        assert_eq!(register_name(Isa::Aarch64, 72, 16), "v8");
    }

    fn loc(kind: LocationKind, size: u16, reg: u16, off: i32) -> Location {
        Location {
            kind,
            size,
            dwarf_reg: reg,
            offset_or_constant: off,
        }
    }

    #[test]
    fn statepoint_header_is_removed() {
        use LocationKind::*;
        let locs = [
            loc(Constant, 8, 0, 8),
            loc(Constant, 8, 0, 0),
            loc(Constant, 8, 0, 2),
            loc(Register, 4, 3, 0),
            loc(Indirect, 8, 7, 16),
        ];
        let live = live_values(Isa::X86_64, &locs, &[]);
        assert_eq!(live.len(), 2);
        assert!(matches!(&live[0].loc, ValueLoc::Register { reg } if reg == "rbx"));
        assert!(matches!(&live[1].loc, ValueLoc::Indirect { reg, offset: 16 } if reg == "rsp"));
        // Not a statepoint header (count disagrees): every location is a value.
        assert_eq!(live_values(Isa::X86_64, &locs[..4], &[]).len(), 4);
    }
}
