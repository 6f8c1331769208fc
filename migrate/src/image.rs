//! One ISA's linked image, reduced to what stack transformation reads: the call sites of
//! `.llvm_stackmaps` (by return address and by record ID) with their live-value locations, each
//! site's frame layout from `.eh_frame`, function names for messages, and the two symbols the
//! migration contract names (`__unimig_image_id`, `__unimig_main_return`), the unsafe call sites
//! and fixups code generation recorded ([`crate::fixups`]), and the main thread's thread pointer.
//!
//! Everything is computed once in [`Image::parse`] so that a transformation only does hash
//! look-ups: the CFI row of every call site is evaluated up front with gimli's `UnwindTable`,
//! one pass per FDE.

use std::collections::{HashMap, HashSet};

use gimli::{BaseAddresses, CfaRule, CieOrFde, EhFrame, LittleEndian, RegisterRule, UnwindSection};
use object::read::elf::{FileHeader, ProgramHeader};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use unimig_common::stackmap::{self, LocationKind};
use unimig_common::Isa;

use crate::fixups::{self, Fixup};

/// Symbol whose (absolute) value is the image id, the same on both ISAs.
pub const IMAGE_ID_SYMBOL: &str = "__unimig_image_id";
/// Symbol at the return address of the runtime's call to `main`.
pub const MAIN_RETURN_SYMBOL: &str = "__unimig_main_return";

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("not a 64-bit ELF image: {0}")]
    NotElf(String),
    #[error("ELF machine {0} is neither x86-64 nor AArch64")]
    UnknownMachine(u16),
    #[error("expected an {expected} image, this one is {found}")]
    WrongIsa { expected: Isa, found: Isa },
    #[error("{0}")]
    Fat(String),
    #[error("{isa} image has no .llvm_stackmaps: build with -funimig-stackmaps")]
    NoStackmaps { isa: Isa },
    #[error("{isa} image: {message}")]
    Stackmaps { isa: Isa, message: String },
    #[error("{isa} image: no .eh_frame section")]
    NoEhFrame { isa: Isa },
    #[error("{isa} image: .eh_frame: {error}")]
    EhFrame { isa: Isa, error: gimli::Error },
    #[error(
        "{isa} image has no symbol {symbol}: link it with an ld.unimig and runtime that define it"
    )]
    MissingSymbol { isa: Isa, symbol: &'static str },
    #[error("{isa} image: {message}")]
    Metadata { isa: Isa, message: String },
}

/// Where a live value is, in the terms of one ISA's stackmap record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// In DWARF register `reg`.
    Register(u16),
    /// In memory at `[reg + offset]`.
    Indirect(u16, i32),
    /// The constant itself (ConstantIndex already resolved).
    Constant(u64),
    /// The address `reg + offset` of a stack object: not migratable.
    Direct(u16, i32),
}

/// One live value of a call site: where it is, and its size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub value: Value,
    pub size: u16,
}

/// How to find a frame's canonical frame address and its saved registers, at one call site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRule {
    /// CFA = value of DWARF register `cfa_reg` + `cfa_offset`.
    pub cfa_reg: u16,
    pub cfa_offset: i64,
    /// Callee-saved registers this frame saved: (DWARF register, offset of the slot from the CFA).
    pub saved: Vec<(u16, i64)>,
    /// Offset from the CFA of the slot holding the frame's return address.
    pub return_address: i64,
    /// CFA minus the stack pointer at the call site (stackmap StackSize, plus the pushed
    /// return address on x86-64).
    pub size: u64,
}

/// A stackmap record: a call site at which a frame can be suspended.
#[derive(Clone, Debug)]
pub struct Site {
    pub id: u64,
    /// The return address of the call (function address + instruction offset).
    pub address: u64,
    /// Address of the function holding the call.
    pub function: u64,
    pub locations: Vec<Location>,
    /// The frame layout at this call, or why it cannot be used.
    pub frame: Result<FrameRule, String>,
}

impl Site {
    /// The live values proper. A statepoint's record starts with three constants (calling
    /// convention, flags, number of deopt values); the deopt values follow.
    pub fn live(&self) -> &[Location] {
        match self.locations.get(2) {
            Some(Location {
                value: Value::Constant(n),
                ..
            }) if *n == self.locations.len() as u64 - 3 => &self.locations[3..],
            _ => &self.locations,
        }
    }
}

/// A function symbol, for names in messages.
#[derive(Clone, Debug)]
struct Function {
    address: u64,
    size: u64,
    name: String,
}

/// One ISA's image, parsed once (see the module comment).
#[derive(Debug)]
pub struct Image {
    isa: Isa,
    image_id: Option<u64>,
    main_return: Option<u64>,
    functions: Vec<Function>,
    sites: Vec<Site>,
    by_address: HashMap<u64, usize>,
    /// Index of the site with each ID; `None` when several sites share the ID.
    by_id: HashMap<u64, Option<usize>>,
    /// Record IDs listed in `.unimig.unsafe_sites`.
    unsafe_sites: HashSet<u64>,
    /// `.unimig.fixups` entries by record ID.
    fixups: HashMap<u64, Vec<Fixup>>,
    /// The main thread's thread pointer ([`fixups::main_thread_pointer`]).
    thread_pointer: Option<u64>,
    /// The runtime's `jmp_buf` registry ([`crate::jmpbuf::REGISTRY_SYMBOL`]), when linked in.
    jmpbuf_registry: Option<u64>,
}

// ISA facts the transformer needs, in DWARF register numbers.

/// DWARF number of the stack pointer.
pub fn sp_reg(isa: Isa) -> u16 {
    match isa {
        Isa::X86_64 => 7,
        Isa::Aarch64 => 31,
    }
}

/// DWARF number of the frame pointer.
pub fn fp_reg(isa: Isa) -> u16 {
    match isa {
        Isa::X86_64 => 6,
        Isa::Aarch64 => 29,
    }
}

/// Bytes the call instruction itself pushes (the return address on x86-64).
fn call_push(isa: Isa) -> u64 {
    match isa {
        Isa::X86_64 => 8,
        Isa::Aarch64 => 0,
    }
}

fn isa_of_machine(machine: u16) -> Result<Isa, ImageError> {
    Isa::ALL
        .into_iter()
        .find(|i| i.elf_machine() == machine)
        .ok_or(ImageError::UnknownMachine(machine))
}

impl Image {
    /// The image of `isa` in a host (fat) executable: the file itself for x86-64, its
    /// embedded `.unimig.image.aarch64` for AArch64.
    pub fn from_executable(bytes: &[u8], isa: Isa) -> Result<Image, ImageError> {
        let elf = match isa {
            Isa::X86_64 => bytes,
            Isa::Aarch64 => unimig_common::fat::aarch64_image(bytes)
                .map_err(|e| ImageError::Fat(format!("{e:#}")))?,
        };
        let image = Image::parse(elf)?;
        if image.isa != isa {
            return Err(ImageError::WrongIsa {
                expected: isa,
                found: image.isa,
            });
        }
        Ok(image)
    }

    /// Parses one ISA's ELF executable; the ISA comes from `e_machine`.
    pub fn parse(elf: &[u8]) -> Result<Image, ImageError> {
        let machine = unimig_common::fat::elf_machine(elf)
            .ok_or_else(|| ImageError::NotElf("no ELF64 header".into()))?;
        let isa = isa_of_machine(machine)?;
        let file = object::File::parse(elf).map_err(|e| ImageError::NotElf(e.to_string()))?;

        let mut image_id = None;
        let mut main_return = None;
        let mut jmpbuf_registry = None;
        let mut functions = Vec::new();
        for s in file.symbols() {
            let Ok(name) = s.name() else { continue };
            match name {
                IMAGE_ID_SYMBOL => image_id = Some(s.address()),
                MAIN_RETURN_SYMBOL => main_return = Some(s.address()),
                // The runtime's checkpoint writer refers to it weakly: undefined (address 0)
                // when no instrumented code calls setjmp.
                crate::jmpbuf::REGISTRY_SYMBOL if s.is_definition() => {
                    jmpbuf_registry = Some(s.address())
                }
                _ => {}
            }
            if s.kind() == SymbolKind::Text && !name.is_empty() {
                functions.push(Function {
                    address: s.address(),
                    size: s.size(),
                    name: name.to_string(),
                });
            }
        }
        functions.sort_by_key(|f| (f.address, std::cmp::Reverse(f.size)));

        let sm = file
            .section_by_name(stackmap::SECTION)
            .ok_or(ImageError::NoStackmaps { isa })?;
        let sm_data = sm.data().map_err(|e| ImageError::Stackmaps {
            isa,
            message: e.to_string(),
        })?;
        let maps = stackmap::parse_all(sm_data).map_err(|e| ImageError::Stackmaps {
            isa,
            message: format!("{e:#}"),
        })?;
        // Each site with its function's StackSize, by address.
        let mut sized: Vec<(Site, u64)> = Vec::new();
        for m in &maps {
            for (fi, r) in m.records_by_function() {
                let f = &m.functions[fi];
                let locations = r
                    .locations
                    .iter()
                    .map(|l| resolve_location(l, &m.constants, r.id, isa))
                    .collect::<Result<Vec<_>, _>>()?;
                let site = Site {
                    id: r.id,
                    address: f.address + u64::from(r.instruction_offset),
                    function: f.address,
                    locations,
                    frame: Err("not evaluated".into()),
                };
                sized.push((site, f.stack_size));
            }
        }
        sized.sort_by_key(|(s, _)| s.address);
        let (mut sites, stack_sizes): (Vec<Site>, Vec<u64>) = sized.into_iter().unzip();

        let eh = file
            .section_by_name(".eh_frame")
            .ok_or(ImageError::NoEhFrame { isa })?;
        let eh_data = eh.data().map_err(|e| ImageError::NotElf(e.to_string()))?;
        let mut rules: Vec<Option<RawRow>> = vec![None; sites.len()];
        let text = file.section_by_name(".text").map(|s| s.address());
        rows_at_sites(eh.address(), eh_data, text, &sites, &mut rules)
            .map_err(|error| ImageError::EhFrame { isa, error })?;
        for ((site, raw), stack_size) in sites.iter_mut().zip(rules).zip(stack_sizes) {
            site.frame = frame_rule(isa, raw, stack_size);
        }

        let mut by_address = HashMap::with_capacity(sites.len());
        let mut by_id: HashMap<u64, Option<usize>> = HashMap::with_capacity(sites.len());
        for (i, s) in sites.iter().enumerate() {
            by_address.insert(s.address, i);
            by_id
                .entry(s.id)
                .and_modify(|e| *e = None)
                .or_insert(Some(i));
        }
        let metadata = |message: String| ImageError::Metadata { isa, message };
        let section = |name: &str| -> Result<&[u8], ImageError> {
            match file.section_by_name(name) {
                Some(s) => s.data().map_err(|e| metadata(format!("{name}: {e}"))),
                None => Ok(&[]),
            }
        };
        let unsafe_sites = fixups::parse_unsafe_sites(section(fixups::UNSAFE_SITES_SECTION)?)
            .map_err(metadata)?
            .into_iter()
            .collect();
        let mut by_record: HashMap<u64, Vec<Fixup>> = HashMap::new();
        for f in fixups::parse_fixups(section(fixups::FIXUPS_SECTION)?).map_err(metadata)? {
            by_record.entry(f.id).or_default().push(f);
        }
        let thread_pointer = fixups::main_thread_pointer(isa, pt_tls(elf));
        Ok(Image {
            isa,
            image_id,
            main_return,
            functions,
            sites,
            by_address,
            by_id,
            unsafe_sites,
            fixups: by_record,
            thread_pointer,
            jmpbuf_registry,
        })
    }

    /// Whether `.unimig.unsafe_sites` lists record `id`.
    pub fn is_unsafe(&self, id: u64) -> bool {
        self.unsafe_sites.contains(&id)
    }

    /// The fixups of record `id` in this image (values to recreate in its frames).
    pub fn fixups(&self, id: u64) -> &[Fixup] {
        self.fixups.get(&id).map_or(&[], Vec::as_slice)
    }

    /// The main thread's thread pointer ([`fixups::main_thread_pointer`]).
    pub fn thread_pointer(&self) -> Option<u64> {
        self.thread_pointer
    }

    /// The address of the runtime's `jmp_buf` registry, if the image has one.
    pub fn jmpbuf_registry(&self) -> Option<u64> {
        self.jmpbuf_registry
    }

    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// The value of `__unimig_image_id`.
    pub fn image_id(&self) -> Result<u64, ImageError> {
        self.image_id.ok_or(ImageError::MissingSymbol {
            isa: self.isa,
            symbol: IMAGE_ID_SYMBOL,
        })
    }

    /// The address of `__unimig_main_return`.
    pub fn main_return(&self) -> Result<u64, ImageError> {
        self.main_return.ok_or(ImageError::MissingSymbol {
            isa: self.isa,
            symbol: MAIN_RETURN_SYMBOL,
        })
    }

    /// Every call site, by address.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// The call site whose return address is `address`.
    pub fn site_at(&self, address: u64) -> Option<&Site> {
        self.by_address.get(&address).map(|&i| &self.sites[i])
    }

    /// The call site with record ID `id`: `Ok(None)` if there is none, `Err(())` if several
    /// sites carry it (an ID collision, so no unique counterpart).
    #[allow(clippy::result_unit_err)]
    pub fn site_by_id(&self, id: u64) -> Result<Option<&Site>, ()> {
        match self.by_id.get(&id) {
            None => Ok(None),
            Some(Some(i)) => Ok(Some(&self.sites[*i])),
            Some(None) => Err(()),
        }
    }

    /// The function symbol containing `address`, for messages.
    pub fn function_name(&self, address: u64) -> Option<&str> {
        let i = self.functions.partition_point(|f| f.address <= address);
        self.functions[..i]
            .iter()
            .rev()
            .take(4)
            .find(|f| address < f.address + f.size.max(1))
            .map(|f| f.name.as_str())
    }

    /// The address of function symbol `name`.
    pub fn function_address(&self, name: &str) -> Option<u64> {
        self.functions
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.address)
    }
}

/// PT_TLS's (p_memsz, p_align), if the image has one.
fn pt_tls(elf: &[u8]) -> Option<(u64, u64)> {
    let header = object::elf::FileHeader64::<object::LittleEndian>::parse(elf).ok()?;
    let endian = header.endian().ok()?;
    header
        .program_headers(endian, elf)
        .ok()?
        .iter()
        .find(|ph| ph.p_type(endian) == object::elf::PT_TLS)
        .map(|ph| (ph.p_memsz(endian), ph.p_align(endian)))
}

fn resolve_location(
    l: &stackmap::Location,
    constants: &[u64],
    id: u64,
    isa: Isa,
) -> Result<Location, ImageError> {
    let value = match l.kind {
        LocationKind::Register => Value::Register(l.dwarf_reg),
        LocationKind::Indirect => Value::Indirect(l.dwarf_reg, l.offset_or_constant),
        LocationKind::Direct => Value::Direct(l.dwarf_reg, l.offset_or_constant),
        // A small constant is a sign-extended 32-bit value.
        LocationKind::Constant => Value::Constant(i64::from(l.offset_or_constant) as u64),
        LocationKind::ConstantIndex => Value::Constant(
            *constants
                .get(l.offset_or_constant as u32 as usize)
                .ok_or_else(|| ImageError::Stackmaps {
                    isa,
                    message: format!(
                        "record {id:#x}: constant index {} out of range",
                        l.offset_or_constant
                    ),
                })?,
        ),
    };
    Ok(Location {
        value,
        size: l.size,
    })
}

/// The CFI row at one call site, before interpretation.
#[derive(Clone, Debug)]
struct RawRow {
    cfa: Result<(u16, i64), String>,
    registers: Vec<(u16, Result<i64, String>)>,
    return_register: u16,
}

/// Evaluates, for every site, the CFI row that covers its call instruction (`address - 1`: the
/// return address itself may already be past a noreturn call's function).
fn rows_at_sites(
    eh_address: u64,
    eh_data: &[u8],
    text: Option<u64>,
    sites: &[Site],
    out: &mut [Option<RawRow>],
) -> Result<(), gimli::Error> {
    let eh = EhFrame::new(eh_data, LittleEndian);
    let mut bases = BaseAddresses::default().set_eh_frame(eh_address);
    if let Some(t) = text {
        bases = bases.set_text(t);
    }
    let mut ctx = gimli::UnwindContext::new();
    let mut entries = eh.entries(&bases);
    while let Some(entry) = entries.next()? {
        let CieOrFde::Fde(partial) = entry else {
            continue;
        };
        let fde = partial.parse(|s, b, o| s.cie_from_offset(b, o))?;
        let (lo, hi) = (fde.initial_address(), fde.end_address());
        let first = sites.partition_point(|s| s.address.wrapping_sub(1) < lo);
        if first >= sites.len() || sites[first].address.wrapping_sub(1) >= hi {
            continue;
        }
        let return_register = fde.cie().return_address_register().0;
        let mut table = fde.rows(&eh, &bases, &mut ctx)?;
        let mut i = first;
        while let Some(row) = table.next_row()? {
            while i < sites.len() {
                let pc = sites[i].address - 1;
                if pc >= hi || pc >= row.end_address() {
                    break;
                }
                if pc >= row.start_address() {
                    out[i] = Some(RawRow {
                        cfa: match row.cfa() {
                            CfaRule::RegisterAndOffset { register, offset } => {
                                Ok((register.0, *offset))
                            }
                            CfaRule::Expression(_) => Err("the CFA is a DWARF expression".into()),
                        },
                        registers: row
                            .registers()
                            .filter_map(|(r, rule)| match rule {
                                RegisterRule::Offset(o) => Some((r.0, Ok(*o))),
                                RegisterRule::Undefined | RegisterRule::SameValue => None,
                                other => Some((
                                    r.0,
                                    Err(format!("register {} has CFI rule {other:?}", r.0)),
                                )),
                            })
                            .collect(),
                        return_register,
                    });
                }
                i += 1;
            }
        }
    }
    Ok(())
}

/// Interprets a site's CFI row with its stackmap frame size; checks they agree where the CFA
/// is `sp`-based.
fn frame_rule(isa: Isa, raw: Option<RawRow>, stack_size: u64) -> Result<FrameRule, String> {
    let raw = raw.ok_or("no .eh_frame entry covers the call")?;
    let (cfa_reg, cfa_offset) = raw.cfa?;
    // LLVM writes StackSize = -1 for frames with a variable-size part (dynamic alloca).
    if stack_size == u64::MAX {
        return Err("variable-size frame".into());
    }
    let size = stack_size + call_push(isa);
    if cfa_reg == sp_reg(isa) {
        if u64::try_from(cfa_offset).ok() != Some(size) {
            return Err(format!(
                "CFI says CFA = sp + {cfa_offset}, the stackmap's frame size is {size}"
            ));
        }
    } else if cfa_reg != fp_reg(isa) {
        return Err(format!("CFA is based on register {cfa_reg}, not sp or fp"));
    }
    let mut saved = Vec::new();
    let mut return_address = None;
    for (reg, rule) in raw.registers {
        let off = rule?;
        if reg == raw.return_register {
            return_address = Some(off);
        } else {
            saved.push((reg, off));
        }
    }
    let return_address = return_address.ok_or("the return address is not saved in the frame")?;
    Ok(FrameRule {
        cfa_reg,
        cfa_offset,
        saved,
        return_address,
        size,
    })
}
