//! Pass 6: the cross-ISA layout. Matches the two ISAs' live input sections and gives every
//! matched program-visible one a single address.
//!
//! **Matching.** An input section is named by its input ([`InputId`]: the user's file or
//! archive member, the same for both ISAs) and its section name. Sections one ISA has under
//! another name (`.text` of an assembly `memcpy.o` against `.text.memcpy` of the C one) are
//! paired by the symbol at their offset 0 as a second chance.
//!
//! **Kinds.** What the program can observe is shared; what it cannot is ISA-private:
//!
//! | kind | input sections | placement |
//! |---|---|---|
//! | code | in `.text` | shared slot |
//! | literals | `SHF_MERGE|SHF_STRINGS` (`.rodata.str1.1`) | shared slot if both ISAs' bytes are equal |
//! | objects | data with a symbol, in `.rodata`, `.data`, `.data.rel.ro`, `.bss` | shared slot (also when the sizes differ: an ABI difference, warned about) |
//! | TLS | `.tdata`, `.tbss` | shared slot, even for one ISA only (TLS layout must be equal) |
//! | constant pools | `SHF_MERGE` without `SHF_STRINGS` (`.rodata.cst16`) | ISA-private |
//! | anonymous data | no symbol: jump tables, switch tables, `.L__const` copies | ISA-private |
//!
//! A matched pair stays ISA-private when it cannot share a slot: different output sections,
//! different bytes (unrelocated data of equal size, literals), symbols at different offsets
//! inside it, a symbol the other ISA defines in another section, or two same-named sections in
//! one input (lld's patterns cannot tell them apart). Everything else lld keeps (`.eh_frame`, `.init_array`, `.got`, ...) is
//! ISA-private too; see [`crate::script`].
//!
//! **Addresses.** Shared slots are laid out region by region in the x86-64 link's order, each
//! at the larger of the two alignments, `max(size)` long:
//!
//! ```text
//! BASE (0x400000)          ELF and program headers               R
//! BASE + 0x800             .rodata (shared)                      R
//! + 64 KiB                 .text   (shared; gaps are traps)      R X
//! + 64 KiB                 .data .tdata .tbss .bss (shared)      RW
//! + 64 KiB                 ISA-private sections                  RX, R, RW
//! ```
//!
//! Each permission change moves 64 KiB (the largest page size of both ISAs) further while
//! keeping the offset in the page, as lld does itself: segments never share a page, and the
//! file needs no padding.

use crate::inputs::PreparedFile;
use crate::survey::{InputId, LiveSection};
use object::elf;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Where the image starts: the ELF header, then the program headers.
pub const BASE: u64 = 0x40_0000;
/// Room for the ELF and program headers before the first shared section (up to 34 program
/// headers). Less than a page: lld puts the headers into the first segment only when that
/// adds no page.
const HEADERS: u64 = 0x800;
/// The largest page size of both ISAs (AArch64 kernels may use 64 KiB pages).
pub const PAGE: u64 = 0x1_0000;

/// A shared output section, in address order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Region {
    Rodata,
    Text,
    Data,
    Tdata,
    Tbss,
    Bss,
}

impl Region {
    pub const ALL: [Region; 6] = [
        Region::Rodata,
        Region::Text,
        Region::Data,
        Region::Tdata,
        Region::Tbss,
        Region::Bss,
    ];

    /// The output section's name (one of [`unimig_common::layout::SHARED_SECTIONS`]).
    pub fn output(self) -> &'static str {
        match self {
            Region::Rodata => ".rodata",
            Region::Text => ".text",
            Region::Data => ".data",
            Region::Tdata => ".tdata",
            Region::Tbss => ".tbss",
            Region::Bss => ".bss",
        }
    }

    /// The region of an input section lld's default layout put into output section `out`.
    fn of(out: &str) -> Option<Region> {
        Some(match out {
            ".rodata" => Region::Rodata,
            ".text" => Region::Text,
            ".data" | ".data.rel.ro" => Region::Data,
            ".tdata" => Region::Tdata,
            ".tbss" => Region::Tbss,
            ".bss" => Region::Bss,
            _ => return None,
        })
    }

    /// The segment permissions: R, RX or RW.
    fn permissions(self) -> &'static str {
        match self {
            Region::Rodata => "R",
            Region::Text => "RX",
            _ => "RW",
        }
    }

    fn is_tls(self) -> bool {
        matches!(self, Region::Tdata | Region::Tbss)
    }
}

/// What an input section holds, for the placement rules (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Code,
    Literals,
    Object,
    Tls,
    Pool,
    Anonymous,
}

/// Why a live input section is ISA-private.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Only this ISA has it.
    OneIsa,
    /// A constant pool (`.rodata.cst*`): not addressable by the program.
    Pool,
    /// Data without a symbol (jump and switch tables, constant copies).
    Anonymous,
    /// lld put the two ISAs' sections into different output sections.
    Output,
    /// Literal sections whose bytes differ between the ISAs.
    Literals,
    /// Read-only data whose bytes differ between the ISAs.
    Contents,
    /// Symbols at different offsets inside the section.
    Offsets,
    /// Several sections of this name in one input.
    SameName,
    /// A symbol in it is defined in another section on the other ISA (an assembly file with
    /// several functions against one C file per function).
    Split,
}

impl Why {
    /// Whether the program can observe addresses in such a section, so that a user input's
    /// section being private breaks migration if the other ISA has its symbols too (a section
    /// one ISA has alone may define what the other defines elsewhere, as when AArch64's
    /// GlobalMerge puts a file's statics into one section).
    pub fn observable(self) -> bool {
        !matches!(self, Why::Pool | Why::Anonymous)
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Why::OneIsa => "the other ISA has no such section",
            Why::Pool => "constant pool",
            Why::Anonymous => "no symbol (jump table, constant copy)",
            Why::Output => "different output sections",
            Why::Literals => "string literals differ",
            Why::Contents => "contents differ",
            Why::Offsets => "symbols at different offsets",
            Why::SameName => "several sections of this name in one input",
            Why::Split => "a symbol in it lies in another section on the other ISA",
        })
    }
}

/// One address shared by both ISAs: the input section each places there (an index into its
/// survey), or padding on an ISA that has none (one-sided TLS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub addr: u64,
    pub size: u64,
    pub align: u64,
    pub sections: [Option<usize>; 2],
}

/// A shared output section's plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionPlan {
    pub region: Region,
    pub start: u64,
    pub end: u64,
    pub slots: Vec<Slot>,
}

/// A live input section placed in an ISA-private region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Private {
    pub isa: usize,
    pub section: usize,
    pub why: Why,
}

/// The layout of both images.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub regions: Vec<RegionPlan>,
    /// Alignment of `.tdata`/`.tbss` (and so of `PT_TLS`) on both ISAs.
    pub tls_align: u64,
    /// Where the ISA-private sections start.
    pub private_base: u64,
    /// Planned-kind sections that stay ISA-private (sections in other output sections, such as
    /// `.eh_frame`, are not listed).
    pub private: Vec<Private>,
    /// Shared data slots whose two sections differ in size: [x86-64, AArch64] section indices.
    pub size_differs: Vec<[usize; 2]>,
}

fn align_up(v: u64, align: u64) -> u64 {
    let a = align.max(1);
    v.div_ceil(a) * a
}

/// The first address of a segment that follows one ending at `end`: the next 64 KiB page, at
/// the same offset in it.
fn next_segment(end: u64) -> u64 {
    if end & (PAGE - 1) == 0 {
        end
    } else {
        end + PAGE
    }
}

fn is_temporary(name: &str) -> bool {
    name.starts_with(".L") || name.starts_with("$x") || name.starts_with("$d")
}

fn kind(s: &LiveSection, region: Region) -> Kind {
    if region == Region::Text {
        return Kind::Code;
    }
    if region.is_tls() {
        return Kind::Tls;
    }
    let merge = s.has_flag(elf::SHF_MERGE);
    if merge && s.has_flag(elf::SHF_STRINGS) {
        return Kind::Literals;
    }
    if merge {
        return Kind::Pool;
    }
    if s.symbols.iter().all(|(name, _)| is_temporary(name)) {
        return Kind::Anonymous;
    }
    Kind::Object
}

/// A planned-kind live section of one ISA.
struct Unit {
    index: usize,
    region: Region,
    kind: Kind,
}

fn units(live: &[LiveSection]) -> Vec<Unit> {
    live.iter()
        .enumerate()
        .filter_map(|(index, s)| {
            s.input.as_ref()?;
            let region = Region::of(&s.out)?;
            if s.size == 0 && !region.is_tls() {
                return None;
            }
            Some(Unit {
                index,
                region,
                kind: kind(s, region),
            })
        })
        .collect()
}

/// Whether symbols both sections define sit at the same offsets.
fn same_offsets(x: &LiveSection, a: &LiveSection) -> bool {
    let offsets: HashMap<&str, u64> = a
        .symbols
        .iter()
        .filter(|(n, _)| !n.starts_with('$'))
        .map(|(n, o)| (n.as_str(), *o))
        .collect();
    x.symbols
        .iter()
        .filter(|(n, _)| !n.starts_with('$'))
        .all(|(n, o)| offsets.get(n.as_str()).is_none_or(|p| p == o))
}

/// Where each symbol name defined once in an ISA's live sections is: name -> section index
/// (names defined more than once, such as equal local names in several files, are left out).
fn symbol_homes(live: &[LiveSection]) -> HashMap<&str, Option<usize>> {
    let mut homes: HashMap<&str, Option<usize>> = HashMap::new();
    for (i, s) in live.iter().enumerate() {
        for (name, _) in &s.symbols {
            if is_temporary(name) {
                continue;
            }
            homes
                .entry(name.as_str())
                .and_modify(|h| *h = None)
                .or_insert(Some(i));
        }
    }
    homes
}

/// Whether every symbol of section `s` that the other ISA defines (once) is defined in
/// `partner` there.
fn same_homes(s: &LiveSection, partner: usize, other: &HashMap<&str, Option<usize>>) -> bool {
    s.symbols.iter().all(|(name, _)| {
        is_temporary(name)
            || match other.get(name.as_str()) {
                Some(Some(home)) => *home == partner,
                _ => true,
            }
    })
}

/// Whether a matched pair can share a slot, or why not.
fn compatible(x: &LiveSection, ux: &Unit, a: &LiveSection, ua: &Unit) -> Result<(), Why> {
    if ux.region != ua.region {
        return Err(Why::Output);
    }
    if x.same_name > 1 || a.same_name > 1 {
        return Err(Why::SameName);
    }
    for k in [ux.kind, ua.kind] {
        match k {
            Kind::Pool => return Err(Why::Pool),
            Kind::Anonymous => return Err(Why::Anonymous),
            _ => {}
        }
    }
    // lld's map shows TLS symbols by their offset in the TLS block, not by address; with
    // one variable per section they sit at offset 0.
    if ux.kind == Kind::Tls {
        return Ok(());
    }
    if !same_offsets(x, a) {
        return Err(Why::Offsets);
    }
    match ux.kind {
        Kind::Code => Ok(()),
        Kind::Literals => {
            if x.size == a.size && x.hash.is_some() && x.hash == a.hash {
                Ok(())
            } else {
                Err(Why::Literals)
            }
        }
        // Different sizes are an ABI difference (musl's `struct stat`): one slot all the same,
        // so the address is shared; the planner warns.
        Kind::Object => {
            if x.size == a.size
                && !x.relocated
                && !a.relocated
                && x.hash.is_some()
                && x.hash != a.hash
            {
                Err(Why::Contents)
            } else {
                Ok(())
            }
        }
        Kind::Tls | Kind::Pool | Kind::Anonymous => unreachable!(),
    }
}

/// The first real symbol at offset 0 (for the second-chance match).
fn leading_symbol(s: &LiveSection) -> Option<&str> {
    s.symbols
        .iter()
        .find(|(n, o)| *o == 0 && !is_temporary(n))
        .map(|(n, _)| n.as_str())
}

/// Plans both images from the two probe surveys (`live[0]` x86-64, `live[1]` AArch64).
pub fn plan(live: [&[LiveSection]; 2]) -> Layout {
    let units = [units(live[0]), units(live[1])];
    let homes = [symbol_homes(live[0]), symbol_homes(live[1])];
    let compatible = |x: &LiveSection, ux: &Unit, a: &LiveSection, ua: &Unit| {
        compatible(x, ux, a, ua)?;
        if same_homes(x, ua.index, &homes[1]) && same_homes(a, ux.index, &homes[0]) {
            Ok(())
        } else {
            Err(Why::Split)
        }
    };
    // Pairs in the x86-64 order, and what stays unmatched.
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let mut private = Vec::new();
    let mut matched = [HashSet::new(), HashSet::new()];
    let key = |s: &LiveSection| (s.input.clone(), s.name.clone());
    let a_by_key: HashMap<(Option<InputId>, String), usize> = units[1]
        .iter()
        .enumerate()
        .map(|(k, u)| (key(&live[1][u.index]), k))
        .collect();
    for (kx, ux) in units[0].iter().enumerate() {
        let x = &live[0][ux.index];
        let Some(&ka) = a_by_key.get(&key(x)) else {
            continue;
        };
        let ua = &units[1][ka];
        let a = &live[1][ua.index];
        matched[0].insert(kx);
        matched[1].insert(ka);
        match compatible(x, ux, a, ua) {
            Ok(()) => pairs.push((kx, ka)),
            Err(_) if ux.region.is_tls() && ua.region.is_tls() => {
                // TLS must stay in the TLS block: one-sided slots for both.
                matched[0].remove(&kx);
                matched[1].remove(&ka);
            }
            Err(why) => {
                private.push(Private {
                    isa: 0,
                    section: ux.index,
                    why,
                });
                private.push(Private {
                    isa: 1,
                    section: ua.index,
                    why,
                });
            }
        }
    }
    // Second chance: same input and region, same symbol at offset 0.
    let mut leftovers: HashMap<(InputId, Region, String), usize> = HashMap::new();
    for (ka, ua) in units[1].iter().enumerate() {
        let a = &live[1][ua.index];
        if matched[1].contains(&ka) || !matches!(ua.kind, Kind::Code | Kind::Object) {
            continue;
        }
        if let (Some(input), Some(sym)) = (&a.input, leading_symbol(a)) {
            leftovers.insert((input.clone(), ua.region, sym.to_string()), ka);
        }
    }
    for (kx, ux) in units[0].iter().enumerate() {
        let x = &live[0][ux.index];
        if matched[0].contains(&kx) || !matches!(ux.kind, Kind::Code | Kind::Object) {
            continue;
        }
        let (Some(input), Some(sym)) = (&x.input, leading_symbol(x)) else {
            continue;
        };
        let Some(&ka) = leftovers.get(&(input.clone(), ux.region, sym.to_string())) else {
            continue;
        };
        let ua = &units[1][ka];
        if compatible(x, ux, &live[1][ua.index], ua).is_ok() {
            matched[0].insert(kx);
            matched[1].insert(ka);
            pairs.push((kx, ka));
        }
    }
    // Slots per region: pairs in x86-64 order, then one-sided TLS.
    let mut slots: HashMap<Region, Vec<Slot>> = HashMap::new();
    let mut size_differs = Vec::new();
    pairs.sort_unstable();
    for &(kx, ka) in &pairs {
        let (ux, ua) = (&units[0][kx], &units[1][ka]);
        let (x, a) = (&live[0][ux.index], &live[1][ua.index]);
        if ux.region != Region::Text && x.size != a.size {
            size_differs.push([ux.index, ua.index]);
        }
        slots.entry(ux.region).or_default().push(Slot {
            addr: 0,
            size: x.size.max(a.size),
            align: x.align.max(a.align).max(1),
            sections: [Some(ux.index), Some(ua.index)],
        });
    }
    for isa in 0..2 {
        for (k, u) in units[isa].iter().enumerate() {
            if matched[isa].contains(&k) {
                continue;
            }
            let s = &live[isa][u.index];
            if u.region.is_tls() {
                let mut sections = [None, None];
                sections[isa] = Some(u.index);
                slots.entry(u.region).or_default().push(Slot {
                    addr: 0,
                    size: s.size,
                    align: s.align.max(1),
                    sections,
                });
            } else {
                let why = match u.kind {
                    Kind::Pool => Why::Pool,
                    Kind::Anonymous => Why::Anonymous,
                    _ => Why::OneIsa,
                };
                private.push(Private {
                    isa,
                    section: u.index,
                    why,
                });
            }
        }
    }
    let mut layout = assign(slots, private);
    layout.size_differs = size_differs;
    layout
}

/// Gives the slots their addresses.
fn assign(mut slots: HashMap<Region, Vec<Slot>>, private: Vec<Private>) -> Layout {
    let tls_align = [Region::Tdata, Region::Tbss]
        .iter()
        .flat_map(|r| slots.get(r).into_iter().flatten())
        .map(|s| s.align)
        .max()
        .unwrap_or(1);
    let mut layout = Layout {
        tls_align,
        private,
        ..Layout::default()
    };
    let mut cursor = BASE + HEADERS;
    let mut permissions = Region::Rodata.permissions();
    let mut tls_end = None;
    for region in Region::ALL {
        let Some(mut list) = slots.remove(&region) else {
            continue;
        };
        if list.is_empty() {
            continue;
        }
        // A permission change starts a new segment (the headers are read-only).
        if region.permissions() != permissions {
            cursor = next_segment(cursor);
            permissions = region.permissions();
        }
        let align = if region.is_tls() {
            tls_align
        } else {
            list.iter().map(|s| s.align).max().unwrap_or(1)
        };
        let start = align_up(cursor, align);
        let mut at = start;
        for slot in &mut list {
            slot.addr = align_up(at, slot.align);
            at = slot.addr + slot.size;
        }
        let end = if region.is_tls() {
            align_up(at, tls_align)
        } else {
            at
        };
        layout.regions.push(RegionPlan {
            region,
            start,
            end,
            slots: list,
        });
        match region {
            // .tbss takes no address space: what follows starts after .tdata.
            Region::Tdata => {
                tls_end = Some(end);
                cursor = end;
            }
            Region::Tbss => cursor = tls_end.unwrap_or(cursor),
            _ => cursor = end,
        }
    }
    layout.private_base = next_segment(cursor);
    layout
}

impl Layout {
    /// The plan for `region`, if it has slots.
    #[cfg(test)]
    pub fn region(&self, region: Region) -> Option<&RegionPlan> {
        self.regions.iter().find(|r| r.region == region)
    }
}

/// How `s` is shown in `plan.txt`: `a.o(.text.main)`, `libc.a(printf.o)(.text.printf)`.
pub fn section_label(s: &LiveSection, files: &[PreparedFile]) -> String {
    match &s.input {
        Some(InputId { file, member }) => {
            let shown = &files[*file].shown;
            match member {
                Some(m) => format!("{shown}({m})({})", s.name),
                None => format!("{shown}({})", s.name),
            }
        }
        None => format!("<lld>({})", s.name),
    }
}

/// The layout as text, for `plan.txt`.
pub fn describe(layout: &Layout, live: [&[LiveSection]; 2], files: &[PreparedFile]) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\nlayout: headers at {BASE:#x}; ISA-private sections from {:#x}; TLS alignment {}",
        layout.private_base, layout.tls_align
    );
    for r in &layout.regions {
        let _ = writeln!(
            t,
            "\n{} {:#x}..{:#x} ({} bytes, {} slots)   [address size: input section, x86_64 size, aarch64 size]",
            r.region.output(),
            r.start,
            r.end,
            r.end - r.start,
            r.slots.len()
        );
        for slot in &r.slots {
            let label = slot
                .sections
                .iter()
                .enumerate()
                .find_map(|(i, s)| s.map(|k| section_label(&live[i][k], files)))
                .unwrap_or_default();
            let size = |i: usize| {
                slot.sections[i].map_or("-".to_string(), |k| format!("{:#x}", live[i][k].size))
            };
            let _ = writeln!(
                t,
                "  {:#x} {:#x}: {label} {} {}",
                slot.addr,
                slot.size,
                size(0),
                size(1)
            );
        }
    }
    let _ = writeln!(t, "\nISA-private input sections (of the kinds above; unwind tables, .got, ... are always private):");
    for p in &layout.private {
        let _ = writeln!(
            t,
            "  {}: {} ({:#x} bytes): {}",
            crate::Isa::ALL[p.isa].name(),
            section_label(&live[p.isa][p.section], files),
            live[p.isa][p.section].size,
            p.why
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec(
        file: usize,
        name: &str,
        out: &str,
        size: u64,
        align: u64,
        syms: &[&str],
    ) -> LiveSection {
        LiveSection {
            input: Some(InputId { file, member: None }),
            name: name.into(),
            out: out.into(),
            size,
            align,
            symbols: syms.iter().map(|s| (s.to_string(), 0)).collect(),
            same_name: 1,
            hash: Some(size),
            ..LiveSection::default()
        }
    }

    #[test]
    fn slots_take_the_larger_size_and_alignment() {
        let mut x = vec![
            sec(0, ".text.main", ".text", 0x30, 16, &["main"]),
            sec(0, ".text.f", ".text", 0x10, 16, &["f"]),
            sec(1, ".data.g", ".data", 8, 8, &["g"]),
            sec(0, ".rodata.cst16", ".rodata", 16, 16, &[]),
        ];
        x[3].flags = u64::from(elf::SHF_ALLOC | elf::SHF_MERGE);
        let mut a = vec![
            sec(0, ".text.f", ".text", 0x24, 4, &["f"]),
            sec(0, ".text.main", ".text", 0x28, 4, &["main"]),
            sec(2, ".text.__addtf3", ".text", 0x100, 4, &["__addtf3"]),
            sec(1, ".data.g", ".data", 8, 8, &["g"]),
        ];
        a[3].hash = Some(99); // relocated data may differ before relocation
        a[3].relocated = true;
        let layout = plan([&x, &a]);
        let text = layout.region(Region::Text).unwrap();
        assert_eq!(text.start, next_segment(BASE + HEADERS));
        assert_eq!(text.slots[0].addr, text.start);
        assert_eq!(text.slots[0].size, 0x30);
        assert_eq!(text.slots[0].sections, [Some(0), Some(1)]);
        assert_eq!(text.slots[1].addr, text.start + 0x30);
        assert_eq!(text.slots[1].size, 0x24);
        assert_eq!(text.end, text.start + 0x54);
        let data = layout.region(Region::Data).unwrap();
        assert_eq!(data.slots.len(), 1);
        assert!(data.start >= text.end + PAGE - 1);
        assert!(layout.private_base > data.end);
        let why: Vec<_> = layout
            .private
            .iter()
            .map(|p| (p.isa, p.section, p.why))
            .collect();
        assert!(why.contains(&(0, 3, Why::Pool)), "{why:?}");
        assert!(why.contains(&(1, 2, Why::OneIsa)), "{why:?}");
        assert!(layout.region(Region::Rodata).is_none());
    }

    #[test]
    fn literals_must_be_identical() {
        let mut x = sec(0, ".rodata.str1.1", ".rodata", 12, 1, &[]);
        x.flags = u64::from(elf::SHF_MERGE | elf::SHF_STRINGS | elf::SHF_ALLOC);
        let mut a = x.clone();
        let layout = plan([&[x.clone()], &[a.clone()]]);
        assert_eq!(layout.region(Region::Rodata).unwrap().slots.len(), 1);
        a.hash = Some(1234);
        let layout = plan([&[x], &[a]]);
        assert!(layout.region(Region::Rodata).is_none());
        assert_eq!(layout.private.len(), 2);
        assert!(layout.private.iter().all(|p| p.why == Why::Literals));
    }

    #[test]
    fn data_of_different_sizes_shares_a_larger_slot() {
        let x = sec(0, ".bss.st", ".bss", 144, 8, &["st"]);
        let a = sec(0, ".bss.st", ".bss", 128, 8, &["st"]);
        let layout = plan([&[x], &[a]]);
        assert!(layout.private.is_empty());
        assert_eq!(layout.region(Region::Bss).unwrap().slots[0].size, 144);
        assert_eq!(layout.size_differs, vec![[0, 0]]);
    }

    #[test]
    fn tls_is_shared_even_when_one_sided() {
        let x = vec![sec(0, ".tbss.a", ".tbss", 8, 8, &["a"])];
        let a = vec![
            sec(0, ".tbss.a", ".tbss", 8, 8, &["a"]),
            sec(1, ".tdata.b", ".tdata", 4, 64, &["b"]),
        ];
        let layout = plan([&x, &a]);
        assert_eq!(layout.tls_align, 64);
        let tdata = layout.region(Region::Tdata).unwrap();
        assert_eq!(tdata.slots[0].sections, [None, Some(1)]);
        assert_eq!(tdata.end - tdata.start, 64);
        let tbss = layout.region(Region::Tbss).unwrap();
        assert_eq!(tbss.start, tdata.end);
        assert!(layout.private.is_empty());
    }

    #[test]
    fn second_chance_by_leading_symbol() {
        let x = vec![sec(3, ".text", ".text", 0x32, 4, &["memcpy"])];
        let a = vec![sec(3, ".text.memcpy", ".text", 0x80, 4, &["memcpy"])];
        let layout = plan([&x, &a]);
        let text = layout.region(Region::Text).unwrap();
        assert_eq!(text.slots[0].sections, [Some(0), Some(0)]);
        assert_eq!(text.slots[0].size, 0x80);
    }

    #[test]
    fn segments_do_not_share_pages() {
        assert_eq!(next_segment(0x410000), 0x410000);
        assert_eq!(next_segment(0x412345), 0x422345);
    }
}
