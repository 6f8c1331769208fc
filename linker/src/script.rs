//! Pass 7: one linker script per ISA, from the layout.
//!
//! Shared output sections get their planned address, and inside them each planned input
//! section is placed with an absolute `. = ADDR;` (in lld, `.` inside an output section
//! description is an absolute address) followed by an exact pattern: the file as lld names it
//! for scripts — `"path"` for an object, `"archive:member"` for an archive member — quoted, so
//! lld matches it literally, never as a glob (so no archive member can be confused with
//! another), and the quoted section name. A final `. = END;` makes both ISAs' sections equally
//! long. Padding in `.text` is filled with the ISA's trap instruction (x86-64 `int3`, 0xcc;
//! AArch64 `udf #0`, 0x00000000, permanently undefined), in data sections with zeros. `.tdata`/`.tbss` get the same `ALIGN` on both
//! ISAs, so `PT_TLS` is equal too.
//!
//! The only `KEEP` is `.llvm_stackmaps` (the migration points' stackmaps, which nothing
//! references); the probe links keep it too, with [`PROBE`], so garbage collection decides
//! the same in both links. The ISA-private
//! sections follow at `private_base`: code, read-only data (unwind tables, constant pools, jump
//! tables), then writable data (`.init_array`, `.got`, ...), each group starting on a new page.
//! Catch-all patterns by section flags at the end of each group make sure no allocated section
//! becomes an orphan that lld could place among the shared ones.

use crate::inputs::PreparedFile;
use crate::layout::{Layout, Region};
use crate::survey::LiveSection;
use anyhow::{bail, Result};
use std::collections::HashSet;
use std::fmt::Write as _;

/// Output sections of other names that the script places itself, with their flags: what each
/// permission group holds before its catch-all.
const EXEC_SECTIONS: &[(&str, &str)] = &[(".init", "*(.init)"), (".fini", "*(.fini)")];
const READ_ONLY_SECTIONS: &[(&str, &str)] = &[
    (".note.gnu.build-id", "*(.note.gnu.build-id)"),
    // lld's (empty, or IRELATIVE) relocation sections of a static image.
    (".rela.dyn", "*(.rela.dyn)"),
    (".rela.plt", "*(.rela.plt)"),
    (".eh_frame_hdr", "*(.eh_frame_hdr)"),
    (".eh_frame", "*(.eh_frame)"),
    (
        ".gcc_except_table",
        "*(.gcc_except_table .gcc_except_table.*)",
    ),
    // Not referenced by the program: kept against --gc-sections, as in the probe links
    // ([`PROBE`]), so it keeps the same functions alive in both links.
    (".llvm_stackmaps", "KEEP(*(.llvm_stackmaps))"),
];
const WRITABLE_SECTIONS: &[(&str, &str)] = &[
    (".preinit_array", "*(.preinit_array)"),
    (
        ".init_array",
        "*(SORT_BY_INIT_PRIORITY(.init_array .init_array.* .ctors .ctors.*))",
    ),
    (
        ".fini_array",
        "*(SORT_BY_INIT_PRIORITY(.fini_array .fini_array.* .dtors .dtors.*))",
    ),
    (".got", "*(.got)"),
    (".got.plt", "*(.got.plt)"),
];

/// The probe links' script: lld's default layout (`INSERT` keeps it), plus `.llvm_stackmaps`
/// kept against `--gc-sections` exactly as the final scripts keep it. Its relocations against
/// the instrumented functions make those live in both links alike.
pub const PROBE: &str = "\
/* ld.unimig: probe link; lld's default layout, stackmaps kept as in the final link. */
SECTIONS
{
  .llvm_stackmaps : { KEEP(*(.llvm_stackmaps)) }
}
INSERT AFTER .text;
";

/// Names of the ISA-private sections that take what the rules above leave.
pub const PRIVATE_TEXT: &str = ".text.isa";
pub const PRIVATE_RODATA: &str = ".rodata.isa";
pub const PRIVATE_DATA: &str = ".data.isa";
pub const PRIVATE_BSS: &str = ".bss.isa";

/// Whether the script has a rule for output section `name` (others are user sections,
/// [`extra_outputs`]).
pub fn known_output(name: &str) -> bool {
    Region::ALL.iter().any(|r| r.output() == name)
        || EXEC_SECTIONS
            .iter()
            .chain(READ_ONLY_SECTIONS)
            .chain(WRITABLE_SECTIONS)
            .any(|(n, _)| *n == name)
        || [
            ".data.rel.ro",
            ".comment",
            ".symtab",
            ".strtab",
            ".shstrtab",
        ]
        .contains(&name)
        || [".debug", ".rela", ".rel.", ".iplt", ".plt", ".note"]
            .iter()
            .any(|p| name.starts_with(p))
}

/// A user output section (`__attribute__((section("name")))`), kept under its own name in
/// the ISA-private group its flags select, so lld still defines `__start_name`/`__stop_name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraOutput {
    pub name: String,
    pub exec: bool,
    pub write: bool,
}

/// The output sections of the probe links that the script must provide besides the shared
/// ones: lld's fixed ones that exist (an empty `.init_array` would otherwise stay as an empty
/// read-only section), and user sections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    pub present: HashSet<String>,
    pub extra: Vec<ExtraOutput>,
}

/// The output sections either ISA's probe link made.
pub fn outputs(live: [&[LiveSection]; 2]) -> Outputs {
    let present = live
        .iter()
        .flat_map(|l| l.iter())
        .map(|s| s.out.clone())
        .collect();
    Outputs {
        present,
        extra: extra_outputs(live),
    }
}

fn extra_outputs(live: [&[LiveSection]; 2]) -> Vec<ExtraOutput> {
    let mut out: Vec<ExtraOutput> = Vec::new();
    for s in live.iter().flat_map(|l| l.iter()) {
        if s.input.is_none() || known_output(&s.out) || !s.has_flag(object::elf::SHF_ALLOC) {
            continue;
        }
        if out.iter().any(|e| e.name == s.out) {
            continue;
        }
        out.push(ExtraOutput {
            name: s.out.clone(),
            exec: s.has_flag(object::elf::SHF_EXECINSTR),
            write: s.has_flag(object::elf::SHF_WRITE),
        });
    }
    out
}

/// Warnings for user sections of [`ExtraOutput`]s that define symbols both ISAs have: they are
/// ISA-private, so pointers into them are not migratable.
pub fn unshared_user_sections(
    outputs: &Outputs,
    live: [&[LiveSection]; 2],
    files: &[PreparedFile],
) -> Vec<String> {
    let names_a: HashSet<&str> = live[1]
        .iter()
        .flat_map(|s| s.symbols.iter().map(|(n, _)| n.as_str()))
        .collect();
    let mut out = Vec::new();
    for s in live[0] {
        let Some(input) = &s.input else { continue };
        if files[input.file].sysroot || !outputs.extra.iter().any(|e| e.name == s.out) {
            continue;
        }
        let shared: Vec<&str> = s
            .symbols
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !n.starts_with(".L") && !n.starts_with('$') && names_a.contains(n))
            .collect();
        if shared.is_empty() {
            continue;
        }
        let file = match &input.member {
            Some(m) => format!("{}({m})", files[input.file].shown),
            None => files[input.file].shown.clone(),
        };
        out.push(format!(
            "{file}: section {} is not laid out across ISAs (user-named sections stay \
             ISA-private): {} will have different addresses on x86-64 and AArch64",
            s.name,
            shared.join(", ")
        ));
    }
    out
}

fn quoted(text: &str, what: &str) -> Result<String> {
    if text.contains('"') || text.contains('\n') {
        bail!(
            "{what} {text:?} cannot be named in a linker script (it contains a quote or newline)"
        );
    }
    Ok(format!("\"{text}\""))
}

/// `name` quoted for a section pattern (user section names never contain quotes: C strings
/// could, so those are dropped rather than break the script).
fn quoted_lossy(name: &str) -> String {
    format!("\"{}\"", name.replace(['"', '\n'], ""))
}

/// The exact input section description of `s` in the link of ISA `isa`.
fn pattern(s: &LiveSection, files: &[PreparedFile], isa: usize) -> Result<String> {
    let input = s.input.as_ref().expect("planned sections have an input");
    let path = &files[input.file].paths[isa];
    let file = match &input.member {
        Some(member) => format!("{path}:{member}"),
        None => path.clone(),
    };
    Ok(format!(
        "{}({})",
        quoted(&file, "input")?,
        quoted(&s.name, "section")?
    ))
}

const NEW_PAGE: &str = "  . = ALIGN(CONSTANT(MAXPAGESIZE)) + (. & (CONSTANT(MAXPAGESIZE) - 1));\n";

/// The linker script for ISA `isa` (0 x86-64, 1 AArch64), whose probe survey is `live`.
pub fn render(
    layout: &Layout,
    outputs: &Outputs,
    isa: usize,
    live: &[LiveSection],
    files: &[PreparedFile],
    triple: &str,
    image_id: u64,
) -> Result<String> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "/* ld.unimig: layout of the {triple} image (docs/formats.md, \"Address map\"). */"
    );
    s.push_str("SECTIONS\n{\n");
    let _ = writeln!(s, "  . = {:#x} + SIZEOF_HEADERS;", crate::layout::BASE);
    for region in &layout.regions {
        let align = if matches!(region.region, Region::Tdata | Region::Tbss) {
            format!(" ALIGN({})", layout.tls_align)
        } else {
            String::new()
        };
        // The location counter is moved to the region's start first: lld places a `.tbss` that
        // follows `.data` directly at the counter, ignoring the address on the output section
        // (seen with an 8-aligned `.tbss` after a `.data` ending at a 4-byte boundary).
        let _ = writeln!(
            s,
            "  . = {start:#x};\n  {} {start:#x} :{align}\n  {{",
            region.region.output(),
            start = region.start
        );
        for slot in &region.slots {
            if let Some(index) = slot.sections[isa] {
                let _ = writeln!(
                    s,
                    "    . = {:#x}; {}",
                    slot.addr,
                    pattern(&live[index], files, isa)?
                );
            }
        }
        // Padding in code: x86-64 `int3`, AArch64 `udf #0` (permanently undefined).
        let fill = match (region.region, isa) {
            (Region::Text, 0) => " =0xcccccccc",
            (Region::Text, _) => " =0x00000000",
            _ => "",
        };
        let _ = writeln!(s, "    . = {:#x};\n  }}{fill}", region.end);
    }
    let _ = writeln!(s, "  . = {:#x};", layout.private_base);
    // (exec, write) of a group; a user section goes to the first group its flags fit.
    let group = |s: &mut String, fixed: &[(&str, &str)], exec: bool, write: bool| {
        for (name, rule) in fixed {
            // lld's relocation sections cannot go into a catch-all: always named.
            if outputs.present.contains(*name) || name.starts_with(".rela") {
                let _ = writeln!(s, "  {name} : {{ {rule} }}");
            }
        }
        for e in &outputs.extra {
            let fits = if exec {
                e.exec
            } else {
                !e.exec && e.write == write
            };
            if fits {
                let _ = writeln!(s, "  {} : {{ *({}) }}", e.name, quoted_lossy(&e.name));
            }
        }
    };
    // Code.
    group(&mut s, EXEC_SECTIONS, true, false);
    let _ = writeln!(
        s,
        "  {PRIVATE_TEXT} : {{ *(.text .text.*) INPUT_SECTION_FLAGS(SHF_ALLOC & SHF_EXECINSTR) *(*) }}"
    );
    // Read-only data.
    s.push_str(NEW_PAGE);
    group(&mut s, READ_ONLY_SECTIONS, false, false);
    // The image id as data too (crate::symbols): the absolute symbol's 64-bit value is out of
    // reach of small-code-model references, so the runtime reads this word instead.
    let _ = writeln!(
        s,
        "  .unimig.image_id : {{ . = ALIGN(8); __unimig_image_id_word = .; QUAD({image_id:#x}) }}"
    );
    let _ = writeln!(
        s,
        "  {PRIVATE_RODATA} : {{ *(.rodata .rodata.*) \
         INPUT_SECTION_FLAGS(SHF_ALLOC & !SHF_WRITE & !SHF_EXECINSTR) *(*) }}"
    );
    // Writable data.
    s.push_str(NEW_PAGE);
    group(&mut s, WRITABLE_SECTIONS, false, true);
    let _ = writeln!(
        s,
        "  {PRIVATE_DATA} : {{ *(.data .data.* .data.rel.ro .data.rel.ro.*) }}"
    );
    let _ = writeln!(
        s,
        "  {PRIVATE_BSS} : {{ *(.bss .bss.* COMMON) \
         INPUT_SECTION_FLAGS(SHF_ALLOC & SHF_WRITE & !SHF_TLS) *(*) }}"
    );
    s.push_str("}\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{RegionPlan, Slot};
    use crate::survey::InputId;

    #[test]
    fn exact_quoted_patterns_and_absolute_addresses() {
        let files = vec![
            PreparedFile {
                shown: "a.o".into(),
                paths: ["a.o".into(), "/w/a.o".into()],
                archive: false,
                sysroot: false,
            },
            PreparedFile {
                shown: "libc.a".into(),
                paths: ["/x/libc.a".into(), "/a/libc.a".into()],
                archive: true,
                sysroot: true,
            },
        ];
        let live = vec![
            LiveSection {
                input: Some(InputId {
                    file: 0,
                    member: None,
                }),
                name: ".text.main".into(),
                ..LiveSection::default()
            },
            LiveSection {
                input: Some(InputId {
                    file: 1,
                    member: Some("printf.o".into()),
                }),
                name: ".text.printf".into(),
                ..LiveSection::default()
            },
        ];
        let layout = Layout {
            regions: vec![RegionPlan {
                region: Region::Text,
                start: 0x410000,
                end: 0x410100,
                slots: vec![
                    Slot {
                        addr: 0x410000,
                        size: 0x40,
                        align: 16,
                        sections: [Some(0), Some(0)],
                    },
                    Slot {
                        addr: 0x410040,
                        size: 0xc0,
                        align: 16,
                        sections: [Some(1), Some(1)],
                    },
                ],
            }],
            tls_align: 1,
            private_base: 0x420100,
            private: vec![],
            size_differs: vec![],
        };
        let outputs = Outputs {
            present: [".eh_frame".to_string()].into(),
            extra: vec![ExtraOutput {
                name: "mysec".into(),
                exec: false,
                write: true,
            }],
        };
        let x = render(&layout, &outputs, 0, &live, &files, "x86_64-linux-musl", 1).unwrap();
        assert!(x.contains("  .text 0x410000 :\n  {\n"), "{x}");
        assert!(
            x.contains("    . = 0x410000; \"a.o\"(\".text.main\")\n"),
            "{x}"
        );
        assert!(
            x.contains("    . = 0x410040; \"/x/libc.a:printf.o\"(\".text.printf\")\n"),
            "{x}"
        );
        assert!(x.contains("    . = 0x410100;\n  }"), "{x}");
        assert!(x.contains("  . = 0x420100;\n"), "{x}");
        assert!(x.contains("  mysec : { *(\"mysec\") }\n"), "{x}");
        assert!(x.contains("  .eh_frame : { *(.eh_frame) }\n"), "{x}");
        assert!(!x.contains(".init_array"), "{x}");
        let a = render(&layout, &outputs, 1, &live, &files, "aarch64-linux-musl", 1).unwrap();
        assert!(a.contains("\"/w/a.o\"(\".text.main\")"), "{a}");
        assert!(
            a.contains("\"/a/libc.a:printf.o\"(\".text.printf\")"),
            "{a}"
        );
    }

    /// `.llvm_stackmaps` is referenced by nothing: both the probe script and the final script
    /// must keep it against --gc-sections, or it is gone (and the sections survive alike).
    #[test]
    fn stackmaps_are_kept_in_probe_and_final_links() {
        assert!(PROBE.contains(".llvm_stackmaps : { KEEP(*(.llvm_stackmaps)) }"));
        assert!(PROBE.contains("INSERT AFTER .text;"));
        let layout = Layout {
            regions: vec![],
            tls_align: 1,
            private_base: 0x420000,
            private: vec![],
            size_differs: vec![],
        };
        let outputs = Outputs {
            present: [".llvm_stackmaps".to_string()].into(),
            extra: vec![],
        };
        let x = render(&layout, &outputs, 0, &[], &[], "x86_64-linux-musl", 1).unwrap();
        let keep = x
            .find("  .llvm_stackmaps : { KEEP(*(.llvm_stackmaps)) }\n")
            .unwrap_or_else(|| panic!("{x}"));
        // In the read-only private group: after the code, before .rodata.isa.
        assert!(x.find(PRIVATE_TEXT).unwrap() < keep, "{x}");
        assert!(keep < x.find(PRIVATE_RODATA).unwrap(), "{x}");
        assert!(known_output(".llvm_stackmaps"));
    }

    #[test]
    fn unnameable_inputs_are_refused() {
        assert!(quoted("a\"b.o", "input").is_err());
        assert_eq!(quoted("a b.o", "input").unwrap(), "\"a b.o\"");
    }
}
