//! Pass 9: check the final images against the layout contract before anything is written.
//!
//! The check is [`unimig_common::layout::compare`] (the one `unimig check` runs): shared
//! sections, symbols in them, shared data bytes, `PT_TLS`, program headers, and the stackmap
//! records (same IDs and location sizes on both ISAs, for functions in shared code). ld.unimig knows
//! more than the images tell, so it adds what the planner could not share although the
//! program can observe it: an input section of the *user's* (not the sysroots') that both ISAs
//! have, with symbols or string literals, but that had to stay ISA-private (different sizes or
//! bytes, symbols at different offsets, globals merged on one ISA). Its symbols, or its
//! literals, would have different addresses on the two ISAs. Every problem is printed as
//! `ld.unimig: error: layout mismatch: ...`, naming the symbol and both addresses, and the
//! link fails without writing its output.

use crate::inputs::PreparedFile;
use crate::layout::{Layout, Why};
use crate::survey::LiveSection;
use crate::TOOL;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::path::Path;
use unimig_common::layout::{compare, Image, Problem, Report};
use unimig_common::{diag, Isa};

/// Raised when the images differ; the problems have been printed already.
#[derive(Debug)]
pub struct Mismatch;

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the two images' layouts differ")
    }
}

impl std::error::Error for Mismatch {}

/// At most this many problems are printed.
const SHOWN: usize = 50;

/// Checks the final images `paths` ([x86-64, AArch64]); prints the problems and fails with
/// [`Mismatch`] if there are any.
pub fn check(
    paths: [&Path; 2],
    layout: &Layout,
    live: [&[LiveSection]; 2],
    files: &[PreparedFile],
) -> Result<Report> {
    let x = std::fs::read(paths[0]).with_context(|| format!("reading {}", paths[0].display()))?;
    let a = std::fs::read(paths[1]).with_context(|| format!("reading {}", paths[1].display()))?;
    let ix = Image::parse(Isa::X86_64, &x)?;
    let ia = Image::parse(Isa::Aarch64, &a)?;
    let mut report = compare(&ix, &ia);
    let mut hints = Vec::new();
    user_sections_kept_apart(&mut report, layout, live, files, &mut hints);
    if report.ok() {
        return Ok(report);
    }
    for problem in report.problems.iter().take(SHOWN) {
        diag::error(TOOL, format!("layout mismatch: {problem}"));
    }
    if report.problems.len() > SHOWN {
        diag::error(
            TOOL,
            format!(
                "... and {} more layout mismatches",
                report.problems.len() - SHOWN
            ),
        );
    }
    for hint in hints {
        eprintln!("{TOOL}: note: {hint}");
    }
    eprintln!(
        "{TOOL}: note: the x86-64 and AArch64 images would not be interchangeable; no output \
         written (UNIMIG_KEEP_TEMPS=1 keeps both images and the plan)"
    );
    Err(Mismatch.into())
}

/// Adds a problem for each user input section the program can observe that stayed
/// ISA-private on both ISAs.
fn user_sections_kept_apart(
    report: &mut Report,
    layout: &Layout,
    live: [&[LiveSection]; 2],
    files: &[PreparedFile],
    hints: &mut Vec<String>,
) {
    // Symbol name -> (input shown, section, why), from the x86-64 side of each pair.
    let mut reasons: HashMap<&str, (String, Why)> = HashMap::new();
    for p in &layout.private {
        let s = &live[p.isa][p.section];
        let Some(input) = &s.input else { continue };
        let file = &files[input.file];
        if file.sysroot || !p.why.observable() {
            continue;
        }
        let shown = match &input.member {
            Some(m) => format!("{}({})", file.shown, m),
            None => file.shown.clone(),
        };
        if s.name.contains("_MergedGlobals") {
            hints.push(format!(
                "{shown}: LLVM's GlobalMerge pass merged global variables into {} in the {} \
                 object only; compile with -mno-global-merge for AArch64",
                s.name,
                Isa::ALL[p.isa].name()
            ));
        }
        if p.why == Why::Literals && p.isa == 0 {
            let split = live[0].iter().any(|o| {
                o.input == s.input && o.name.starts_with(".rodata.str") && o.name.ends_with(".16")
            });
            if split {
                hints.push(format!(
                    "{shown}: the x86-64 object keeps string literals of 16 bytes or more that \
                     initialise arrays in .rodata.str1.16 (16-byte aligned, as the x86-64 ABI \
                     aligns such arrays), the AArch64 one keeps them with the others: the \
                     compiler must give literals the same alignment on both ISAs"
                ));
            }
            report.problems.push(Problem {
                subject: format!("string literals {shown}({})", s.name),
                x86_64: None,
                aarch64: None,
                detail: format!(
                    "the two ISAs' literal sections differ ({} and {} bytes or different bytes), \
                     so the literals cannot have the same addresses",
                    s.size,
                    counterpart_size(live[1], s).map_or("no".to_string(), |n| n.to_string())
                ),
            });
        }
        for (name, _) in &s.symbols {
            if !name.starts_with(".L") && !name.starts_with('$') {
                reasons
                    .entry(name.as_str())
                    .or_insert_with(|| (format!("{shown}({})", s.name), p.why));
            }
        }
    }
    for (x, a) in &report.private_pairs {
        if let Some((section, why)) = reasons.get(x.name.as_str()) {
            report.problems.push(Problem {
                subject: format!("symbol {}", x.display()),
                x86_64: Some(x.addr),
                aarch64: Some(a.addr),
                detail: format!("ISA-private: {section}: {why}"),
            });
        }
    }
}

/// Warnings about the layout of user inputs that are not errors: objects whose size differs
/// between the ISAs share an address (the larger slot), but their contents cannot migrate.
pub fn plan_warnings(
    layout: &Layout,
    live: [&[LiveSection]; 2],
    files: &[PreparedFile],
) -> Vec<String> {
    let mut out = Vec::new();
    for &[ix, ia] in &layout.size_differs {
        let (x, a) = (&live[0][ix], &live[1][ia]);
        let Some(input) = &x.input else { continue };
        let file = &files[input.file];
        if file.sysroot {
            continue;
        }
        let shown = match &input.member {
            Some(m) => format!("{}({})", file.shown, m),
            None => file.shown.clone(),
        };
        let names: Vec<&str> = x
            .symbols
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !n.starts_with(".L") && !n.starts_with('$'))
            .collect();
        out.push(format!(
            "{shown}: {} has {} bytes on x86-64 but {} on AArch64 (its C type differs between \
             the ISAs, such as musl's struct stat): it has the same address on both, but its \
             contents cannot migrate",
            if names.is_empty() {
                x.name.clone()
            } else {
                names.join(", ")
            },
            x.size,
            a.size
        ));
    }
    out
}

fn counterpart_size(live: &[LiveSection], s: &LiveSection) -> Option<u64> {
    live.iter()
        .find(|o| o.input == s.input && o.name == s.name)
        .map(|o| o.size)
}
