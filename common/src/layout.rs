//! The layout contract between the two images of a fat executable, and its checker, which
//! `ld.unimig` runs before it writes an output and `unimig check` runs on a finished one.
//!
//! `ld.unimig` places every program-visible input section the two ISAs have in common in one
//! of the *shared* output sections, [`SHARED_SECTIONS`], at the same address on both ISAs;
//! everything else allocated (code and data one ISA has alone, constant pools, jump tables,
//! unwind tables, `.got`, `.init_array`, ...) goes to ISA-private sections after them
//! (docs/formats.md, "Address map"). The contract, checked by [`compare`]:
//!
//! * each shared section has the same address and size in both images;
//! * a symbol defined in both images — a global by its name, a local by its name within the
//!   group of its `STT_FILE` symbol (and its rank among equal names there) — that lies in a
//!   shared section in either image has the same address in both (functions differ in size,
//!   their slots do not);
//! * the bytes of the shared data sections, [`SHARED_CONTENTS`], are identical (pointers in
//!   them point to shared things, so this holds after relocation too), with two tolerated
//!   exceptions, reported apart: a data or TLS object whose *size* differs between the ISAs
//!   (an ABI difference such as musl's `struct stat`: same address, larger slot, contents that
//!   cannot migrate), and, in read-only data, pointer-sized words that hold a code address on
//!   each ISA (label addresses of computed gotos: a jump table the program built, which each
//!   ISA reads for itself);
//! * both images have the same `PT_TLS` (address, file and memory size, alignment);
//! * in each image the program headers lie inside a loaded segment (musl's static start-up
//!   reads them through `AT_PHDR`);
//! * when either image has `.llvm_stackmaps`: the records of functions in shared code have the
//!   same IDs in both, each with the same number of locations of the same sizes
//!   ([`crate::stackmap::compare_shapes`]); records of ISA-private functions are skipped.
//!
//! Symbols that both images define but keep in ISA-private sections (musl's ISA-specific
//! internals, for example) are not migratable; they are reported, not counted as mismatches.

use crate::Isa;
use anyhow::{anyhow, Result};
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{
    Endianness, Object, ObjectSection, ObjectSymbol, SectionFlags, SectionKind, SymbolKind,
    SymbolSection,
};
use std::collections::HashMap;
use std::fmt;

/// Output sections whose contents are laid out identically on both ISAs, in address order.
pub const SHARED_SECTIONS: &[&str] = &[".rodata", ".text", ".data", ".tdata", ".tbss", ".bss"];
/// Shared sections whose bytes must be identical.
pub const SHARED_CONTENTS: &[&str] = &[".rodata", ".data", ".tdata"];
/// At most this many byte-level differences are reported per section.
const MAX_BYTE_PROBLEMS: usize = 20;

/// What a symbol names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymKind {
    Function,
    Object,
    Tls,
    /// `STT_NOTYPE`: labels (string literals' `.L.str` in musl, linker-defined symbols).
    Label,
}

/// A defined symbol of an image, in an allocated section.
#[derive(Clone, Debug)]
pub struct Symbol {
    pub name: String,
    /// The `STT_FILE` group of a local symbol; `None` for globals.
    pub file: Option<String>,
    pub addr: u64,
    pub size: u64,
    pub kind: SymKind,
    /// Name of the output section it is defined in.
    pub section: String,
    /// Whether that section is one of [`SHARED_SECTIONS`].
    pub shared: bool,
}

impl Symbol {
    /// `name`, or `name [file.c]` for a local symbol.
    pub fn display(&self) -> String {
        match &self.file {
            Some(file) => format!("{} [{}]", self.name, file),
            None => self.name.clone(),
        }
    }
}

/// An allocated section of an image.
#[derive(Clone, Debug)]
pub struct Section {
    pub name: String,
    pub addr: u64,
    pub size: u64,
    pub exec: bool,
    pub nobits: bool,
    pub shared: bool,
}

/// Byte counts of an image's allocated sections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sizes {
    /// The shared `.text`, padding included.
    pub shared_text: u64,
    /// Executable ISA-private sections.
    pub private_text: u64,
    /// The other shared sections (`.tbss` included).
    pub shared_data: u64,
    /// Non-executable ISA-private sections.
    pub private_data: u64,
}

impl Sizes {
    pub fn text(&self) -> u64 {
        self.shared_text + self.private_text
    }
    pub fn data(&self) -> u64 {
        self.shared_data + self.private_data
    }
}

/// One ISA's image, read with `object`.
pub struct Image<'a> {
    pub isa: Isa,
    pub sections: Vec<Section>,
    pub symbols: Vec<Symbol>,
    /// Whether the image has a symbol table (`-s` removes it).
    pub has_symtab: bool,
    file: ElfFile64<'a, Endianness>,
}

fn section_name(file: &ElfFile64<'_, Endianness>, index: object::SectionIndex) -> Option<String> {
    let section = file.section_by_index(index).ok()?;
    section.name().ok().map(str::to_string)
}

impl<'a> Image<'a> {
    /// Reads the image of `isa` from `data`.
    pub fn parse(isa: Isa, data: &'a [u8]) -> Result<Image<'a>> {
        let file = ElfFile64::<Endianness>::parse(data)
            .map_err(|e| anyhow!("the {} image is not a 64-bit ELF file: {e}", isa.name()))?;
        let machine = file.elf_header().e_machine(file.endian());
        if machine != isa.elf_machine() {
            return Err(anyhow!(
                "the {} image is for ELF machine {machine}",
                isa.name()
            ));
        }
        let mut sections = Vec::new();
        for section in file.sections() {
            let SectionFlags::Elf { sh_flags } = section.flags() else {
                continue;
            };
            if sh_flags & u64::from(elf::SHF_ALLOC) == 0 {
                continue;
            }
            let name = section.name().unwrap_or("").to_string();
            sections.push(Section {
                shared: SHARED_SECTIONS.contains(&name.as_str()),
                name,
                addr: section.address(),
                size: section.size(),
                exec: sh_flags & u64::from(elf::SHF_EXECINSTR) != 0,
                nobits: matches!(
                    section.kind(),
                    SectionKind::UninitializedData | SectionKind::UninitializedTls
                ),
            });
        }
        let mut symbols = Vec::new();
        let mut file_group: Option<String> = None;
        let mut has_symtab = false;
        for sym in file.symbols() {
            has_symtab = true;
            if sym.kind() == SymbolKind::File {
                file_group = sym.name().ok().map(str::to_string);
                continue;
            }
            let SymbolSection::Section(index) = sym.section() else {
                continue;
            };
            let kind = match sym.kind() {
                SymbolKind::Text => SymKind::Function,
                SymbolKind::Data => SymKind::Object,
                SymbolKind::Tls => SymKind::Tls,
                SymbolKind::Unknown => SymKind::Label,
                _ => continue,
            };
            let Ok(name) = sym.name() else { continue };
            // AArch64 mapping symbols ($x, $d, $x.12) mark code and data, they name nothing.
            if name.is_empty() || name.starts_with("$x") || name.starts_with("$d") {
                continue;
            }
            let Some(section) = section_name(&file, index) else {
                continue;
            };
            let Some(info) = sections.iter().find(|s| s.name == section) else {
                continue; // not allocated
            };
            symbols.push(Symbol {
                name: name.to_string(),
                file: if sym.is_local() {
                    Some(file_group.clone().unwrap_or_default())
                } else {
                    None
                },
                addr: sym.address(),
                size: sym.size(),
                kind,
                shared: info.shared,
                section,
            });
        }
        Ok(Image {
            isa,
            sections,
            symbols,
            has_symtab,
            file,
        })
    }

    /// The allocated section called `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Whether `addr` is in a shared executable section.
    pub fn in_shared_code(&self, addr: u64) -> bool {
        self.sections
            .iter()
            .any(|s| s.shared && s.exec && s.addr <= addr && addr < s.addr + s.size)
    }

    /// The name of the function symbol at `addr`.
    pub fn function_at(&self, addr: u64) -> Option<&str> {
        self.symbols
            .iter()
            .find(|s| s.addr == addr && s.kind == SymKind::Function)
            .map(|s| s.name.as_str())
    }

    fn contents(&self, name: &str) -> Option<&'a [u8]> {
        self.file.section_by_name(name)?.data().ok()
    }

    /// Byte counts of the allocated sections.
    pub fn sizes(&self) -> Sizes {
        let mut sizes = Sizes::default();
        for s in &self.sections {
            match (s.shared, s.exec) {
                (true, true) => sizes.shared_text += s.size,
                (false, true) => sizes.private_text += s.size,
                (true, false) => sizes.shared_data += s.size,
                (false, false) => sizes.private_data += s.size,
            }
        }
        sizes
    }

    /// `PT_TLS` as (vaddr, filesz, memsz, align), if the image has one.
    fn tls(&self) -> Option<(u64, u64, u64, u64)> {
        let endian = self.file.endian();
        self.file
            .elf_program_headers()
            .iter()
            .find(|p| p.p_type(endian) == elf::PT_TLS)
            .map(|p| {
                (
                    p.p_vaddr(endian),
                    p.p_filesz(endian),
                    p.p_memsz(endian),
                    p.p_align(endian),
                )
            })
    }

    /// Whether the program headers are inside a `PT_LOAD` segment's file range.
    fn phdrs_loaded(&self) -> bool {
        let endian = self.file.endian();
        let header = self.file.elf_header();
        let start = header.e_phoff(endian);
        let end = start + u64::from(header.e_phnum(endian)) * u64::from(header.e_phentsize(endian));
        self.file.elf_program_headers().iter().any(|p| {
            p.p_type(endian) == elf::PT_LOAD
                && p.p_offset(endian) <= start
                && end <= p.p_offset(endian) + p.p_filesz(endian)
        })
    }
}

/// One way the two images differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// What differs: `symbol main`, `section .data`, `PT_TLS`, ...
    pub subject: String,
    pub x86_64: Option<u64>,
    pub aarch64: Option<u64>,
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = |a: Option<u64>| match a {
            Some(a) => format!("{a:#x}"),
            None => "absent".to_string(),
        };
        if self.x86_64.is_none() && self.aarch64.is_none() {
            f.write_str(&self.subject)?;
        } else {
            write!(
                f,
                "{}: x86_64 {}, aarch64 {}",
                self.subject,
                addr(self.x86_64),
                addr(self.aarch64)
            )?;
        }
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

/// The result of [`compare`].
#[derive(Debug, Default)]
pub struct Report {
    pub problems: Vec<Problem>,
    /// Differences that are not layout problems: objects at the same address whose sizes
    /// differ (an ABI difference between the ISAs, such as musl's `struct stat`; their
    /// contents do not migrate).
    pub warnings: Vec<Problem>,
    /// Pointer-sized words of shared read-only data that differ because each ISA's holds a
    /// code address inside a function (label addresses of computed gotos: program-made jump
    /// tables, which each ISA reads for itself).
    pub code_words: usize,
    /// Symbols both images define, in ISA-private sections on both: (x86-64, AArch64).
    pub private_pairs: Vec<(Symbol, Symbol)>,
    /// Shared symbols compared, by kind.
    pub functions: usize,
    pub objects: usize,
    pub labels: usize,
    /// Symbols only one image defines: [x86-64, AArch64].
    pub only: [usize; 2],
    /// Bytes of shared data compared.
    pub bytes_compared: u64,
    pub sizes: [Sizes; 2],
    /// False when an image has no symbol table (linked with `-s`): only sections, bytes and
    /// `PT_TLS` were compared.
    pub symbols_checked: bool,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// One line: what was checked and the byte counts.
    pub fn summary(&self) -> String {
        let [x, a] = self.sizes;
        let mut line = if self.symbols_checked {
            format!(
                "{} functions, {} objects, {} labels at identical addresses; {} bytes of shared \
                 data compared",
                self.functions, self.objects, self.labels, self.bytes_compared
            )
        } else {
            format!(
                "no symbol table (linked with -s): sections and {} bytes of shared data compared",
                self.bytes_compared
            )
        };
        line.push_str(&format!(
            "; shared text {} + data {} bytes; ISA-private x86_64 text {} + data {}, aarch64 \
             text {} + data {} bytes",
            x.shared_text,
            x.shared_data,
            x.private_text,
            x.private_data,
            a.private_text,
            a.private_data
        ));
        if self.code_words > 0 {
            line.push_str(&format!(
                "; {} words of read-only data hold each ISA's code addresses",
                self.code_words
            ));
        }
        if !self.warnings.is_empty() {
            line.push_str(&format!("; {} objects differ in size", self.warnings.len()));
        }
        if self.symbols_checked {
            line.push_str(&format!(
                "; {} symbols ISA-private on both, {} x86_64-only, {} aarch64-only",
                self.private_pairs.len(),
                self.only[0],
                self.only[1]
            ));
        }
        line
    }
}

type SymKey = (Option<String>, String);

fn by_key(symbols: &[Symbol]) -> HashMap<SymKey, Vec<&Symbol>> {
    let mut map: HashMap<SymKey, Vec<&Symbol>> = HashMap::new();
    for s in symbols {
        map.entry((s.file.clone(), s.name.clone()))
            .or_default()
            .push(s);
    }
    map
}

/// Compares the x86-64 image `x` with the AArch64 image `a` (see the module documentation).
pub fn compare(x: &Image, a: &Image) -> Report {
    let mut report = Report {
        sizes: [x.sizes(), a.sizes()],
        symbols_checked: x.has_symtab && a.has_symtab,
        ..Report::default()
    };
    compare_sections(x, a, &mut report);
    compare_segments(x, a, &mut report);
    if report.symbols_checked {
        compare_symbols(x, a, &mut report);
    }
    compare_bytes(x, a, &mut report);
    compare_stackmaps(x, a, &mut report);
    report
}

/// When either image has `.llvm_stackmaps`: the records of shared functions must have the same
/// IDs on both ISAs, each with as many locations of the same sizes (records of ISA-private
/// functions are skipped).
fn compare_stackmaps(x: &Image, a: &Image, report: &mut Report) {
    let images = [x, a];
    let (dx, da) = (
        x.contents(crate::stackmap::SECTION),
        a.contents(crate::stackmap::SECTION),
    );
    if dx.is_none() && da.is_none() {
        return;
    }
    let mut shapes: [Vec<crate::stackmap::RecordShape>; 2] = Default::default();
    for (i, data) in [dx, da].into_iter().enumerate() {
        let image = images[i];
        match crate::stackmap::parse_all(data.unwrap_or_default()) {
            Ok(maps) => {
                shapes[i] = crate::stackmap::shapes(&maps)
                    .into_iter()
                    .filter(|r| image.in_shared_code(r.function))
                    .collect();
            }
            Err(e) => report.problems.push(Problem {
                subject: format!("section {}", crate::stackmap::SECTION),
                x86_64: None,
                aarch64: None,
                detail: format!("the {} image's cannot be read: {e:#}", image.isa.name()),
            }),
        }
    }
    for d in crate::stackmap::compare_shapes(&shapes[0], &shapes[1]) {
        let name = (0..2)
            .filter_map(|i| Some((i, d.function[i]?)))
            .find_map(|(i, addr)| images[i].function_at(addr));
        let subject = match name {
            Some(name) => format!("stackmap record {:#x} of {name}", d.id),
            None => format!("stackmap record {:#x}", d.id),
        };
        report.problems.push(Problem {
            subject,
            x86_64: d.function[0],
            aarch64: d.function[1],
            detail: d.detail,
        });
    }
}

fn compare_sections(x: &Image, a: &Image, report: &mut Report) {
    for name in SHARED_SECTIONS {
        let (sx, sa) = (x.section(name), a.section(name));
        let same = match (sx, sa) {
            (None, None) => true,
            (Some(p), Some(q)) => p.addr == q.addr && p.size == q.size,
            _ => false,
        };
        if !same {
            let size = |s: Option<&Section>| s.map_or("absent".to_string(), |s| s.size.to_string());
            report.problems.push(Problem {
                subject: format!("section {name}"),
                x86_64: sx.map(|s| s.addr),
                aarch64: sa.map(|s| s.addr),
                detail: format!("sizes {} and {}", size(sx), size(sa)),
            });
        }
    }
}

fn compare_segments(x: &Image, a: &Image, report: &mut Report) {
    let (tx, ta) = (x.tls(), a.tls());
    if tx != ta {
        let show = |t: Option<(u64, u64, u64, u64)>| match t {
            Some((_, file, mem, align)) => {
                format!("filesz {file:#x} memsz {mem:#x} align {align}")
            }
            None => "none".to_string(),
        };
        report.problems.push(Problem {
            subject: "TLS segment (PT_TLS)".to_string(),
            x86_64: tx.map(|t| t.0),
            aarch64: ta.map(|t| t.0),
            detail: format!("x86_64 {}, aarch64 {}", show(tx), show(ta)),
        });
    }
    // The runtime copies the TLS image to a block aligned like PT_TLS and computes each
    // variable's address from the segment's own address: a misaligned segment would shift them.
    for (isa, tls) in [("x86_64", tx), ("aarch64", ta)] {
        if let Some((vaddr, _, _, align)) = tls {
            if align > 1 && vaddr % align != 0 {
                report.problems.push(Problem {
                    subject: "TLS segment (PT_TLS)".to_string(),
                    x86_64: tx.map(|t| t.0),
                    aarch64: ta.map(|t| t.0),
                    detail: format!("the {isa} segment is not aligned to its alignment {align}"),
                });
            }
        }
    }
    for image in [x, a] {
        if !image.phdrs_loaded() {
            report.problems.push(Problem {
                subject: "program headers".to_string(),
                x86_64: None,
                aarch64: None,
                detail: format!(
                    "not inside a loaded segment of the {} image (musl reads them through AT_PHDR)",
                    image.isa.name()
                ),
            });
        }
    }
}

fn compare_symbols(x: &Image, a: &Image, report: &mut Report) {
    let xs = by_key(&x.symbols);
    let mut as_ = by_key(&a.symbols);
    // Deterministic order: the x86-64 symbol table's.
    let mut seen: std::collections::HashSet<SymKey> = std::collections::HashSet::new();
    for s in &x.symbols {
        let key = (s.file.clone(), s.name.clone());
        if !seen.insert(key.clone()) {
            continue;
        }
        let list_x = &xs[&key];
        let list_a = as_.remove(&key).unwrap_or_default();
        for (i, sx) in list_x.iter().enumerate() {
            let Some(sa) = list_a.get(i) else {
                report.only[0] += 1;
                continue;
            };
            if !sx.shared && !sa.shared {
                report.private_pairs.push(((*sx).clone(), (*sa).clone()));
                continue;
            }
            let what = match sx.kind {
                SymKind::Function => "function",
                SymKind::Object => "object",
                SymKind::Tls => "TLS object",
                SymKind::Label => "symbol",
            };
            if sx.addr != sa.addr {
                let detail = if sx.section != sa.section {
                    format!(
                        "in {} on x86_64, {} on aarch64{}",
                        sx.section,
                        sa.section,
                        if sx.shared != sa.shared {
                            "; ISA-private on one ISA"
                        } else {
                            ""
                        }
                    )
                } else {
                    format!("in {}", sx.section)
                };
                report.problems.push(Problem {
                    subject: format!("{what} {}", sx.display()),
                    x86_64: Some(sx.addr),
                    aarch64: Some(sa.addr),
                    detail,
                });
                continue;
            }
            if matches!(sx.kind, SymKind::Object | SymKind::Tls) && sx.size != sa.size {
                report.warnings.push(Problem {
                    subject: format!("{what} {}", sx.display()),
                    x86_64: Some(sx.addr),
                    aarch64: Some(sa.addr),
                    detail: format!(
                        "sizes differ: {} and {} bytes; same address, but an ABI difference: \
                         its contents do not migrate",
                        sx.size, sa.size
                    ),
                });
                report.objects += 1;
                continue;
            }
            match sx.kind {
                SymKind::Function => report.functions += 1,
                SymKind::Object | SymKind::Tls => report.objects += 1,
                SymKind::Label => report.labels += 1,
            }
        }
        report.only[1] += list_a.len().saturating_sub(list_x.len());
    }
    report.only[1] += as_.values().map(Vec::len).sum::<usize>();
}

/// The symbol of `image` whose bytes cover `addr` in `section` (objects before labels).
fn covering<'s>(image: &'s Image, section: &str, addr: u64) -> Option<&'s Symbol> {
    let inside = |s: &&Symbol| s.section == section && s.addr <= addr && addr < s.addr + s.size;
    image
        .symbols
        .iter()
        .filter(inside)
        .min_by_key(|s| (s.kind != SymKind::Object && s.kind != SymKind::Tls, s.size))
        .or_else(|| {
            // A label (size 0) at or before the address: the nearest one names the spot.
            image
                .symbols
                .iter()
                .filter(|s| s.section == section && s.addr <= addr)
                .max_by_key(|s| s.addr)
        })
}

/// Whether `addr` lies in an executable section of `image`.
fn is_code(image: &Image, addr: u64) -> bool {
    image
        .sections
        .iter()
        .any(|s| s.exec && s.addr <= addr && addr < s.addr + s.size)
}

/// The 8-byte word of `bytes` at aligned offset `at`, if it is whole.
fn word(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at + 8)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

fn compare_bytes(x: &Image, a: &Image, report: &mut Report) {
    // Objects whose sizes differ (warned about already): their contents are ISA-specific.
    let abi: Vec<(u64, u64)> = report
        .warnings
        .iter()
        .filter_map(|w| {
            let addr = w.x86_64?;
            let size = x
                .symbols
                .iter()
                .chain(&a.symbols)
                .filter(|s| s.addr == addr && matches!(s.kind, SymKind::Object | SymKind::Tls))
                .map(|s| s.size)
                .max()?;
            Some((addr, addr + size))
        })
        .collect();
    for name in SHARED_CONTENTS {
        let (Some(sx), Some(sa)) = (x.section(name), a.section(name)) else {
            continue;
        };
        if sx.addr != sa.addr || sx.size != sa.size || sx.nobits || sa.nobits {
            continue; // reported by compare_sections
        }
        let (Some(bx), Some(ba)) = (x.contents(name), a.contents(name)) else {
            continue;
        };
        let read_only = *name == ".rodata";
        report.bytes_compared += bx.len().min(ba.len()) as u64;
        let mut reported = 0usize;
        let mut suppressed = 0usize;
        let mut i = 0;
        while i < bx.len().min(ba.len()) {
            if bx[i] == ba[i] {
                i += 1;
                continue;
            }
            let addr = sx.addr + i as u64;
            if abi.iter().any(|&(start, end)| start <= addr && addr < end) {
                i += 1;
                continue;
            }
            // A word holding a code address on each ISA, in read-only data: a label address.
            let aligned = (addr & !7) - sx.addr;
            if read_only {
                let at = aligned as usize;
                if let (Some(wx), Some(wa)) = (word(bx, at), word(ba, at)) {
                    if is_code(x, wx) && is_code(a, wa) {
                        report.code_words += 1;
                        i = at + 8;
                        continue;
                    }
                }
            }
            let owner = covering(x, name, addr);
            // The run of differing bytes inside the same owner.
            let end = match owner {
                Some(s) if s.size > 0 && s.addr + s.size > addr => {
                    (s.addr + s.size - sx.addr) as usize
                }
                _ => i + 1,
            }
            .min(bx.len());
            let differing = (i..end).filter(|&k| bx[k] != ba[k]).count();
            if reported < MAX_BYTE_PROBLEMS {
                let subject = match owner {
                    Some(s) => format!("bytes of {}", s.display()),
                    None => format!("bytes of section {name}"),
                };
                let at = match owner {
                    Some(s) => format!("{name}, offset {:#x} in it", addr - s.addr),
                    None => format!("{name}+{:#x}", addr - sx.addr),
                };
                report.problems.push(Problem {
                    subject,
                    x86_64: Some(addr),
                    aarch64: Some(addr),
                    detail: format!("{differing} differing byte(s) from {at}"),
                });
                reported += 1;
            } else {
                suppressed += 1;
            }
            i = end.max(i + 1);
        }
        if suppressed > 0 {
            report.problems.push(Problem {
                subject: format!("bytes of section {name}"),
                x86_64: Some(sx.addr),
                aarch64: Some(sa.addr),
                detail: format!("{suppressed} more differing places not listed"),
            });
        }
    }
}

/// Reads both images of a fat executable and compares them.
pub fn compare_fat(fat: &[u8]) -> Result<Report> {
    let inner = crate::fat::aarch64_image(fat)?;
    let x = Image::parse(Isa::X86_64, fat)?;
    let a = Image::parse(Isa::Aarch64, inner)?;
    Ok(compare(&x, &a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_both_addresses() {
        let p = Problem {
            subject: "function main".into(),
            x86_64: Some(0x401000),
            aarch64: Some(0x401040),
            detail: "in .text".into(),
        };
        assert_eq!(
            p.to_string(),
            "function main: x86_64 0x401000, aarch64 0x401040 (in .text)"
        );
        let p = Problem {
            subject: "section .bss".into(),
            x86_64: Some(0x500000),
            aarch64: None,
            detail: String::new(),
        };
        assert_eq!(
            p.to_string(),
            "section .bss: x86_64 0x500000, aarch64 absent"
        );
    }

    #[test]
    fn locals_are_shown_with_their_file() {
        let s = Symbol {
            name: "twice".into(),
            file: Some("a.c".into()),
            addr: 0,
            size: 0,
            kind: SymKind::Function,
            section: ".text".into(),
            shared: true,
        };
        assert_eq!(s.display(), "twice [a.c]");
    }

    #[test]
    fn non_elf_is_refused() {
        assert!(Image::parse(Isa::X86_64, b"not an elf file").is_err());
    }
}
