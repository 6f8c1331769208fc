//! End-to-end tests of the in-process pipeline on the C files in tests/c, for both ISAs.

mod common;

use std::collections::HashMap;
use std::process::Command;

use unimig_llvm_pass::stackmap::{object_stackmaps, stackmap_summary};
use unimig_llvm_pass::*;

const LEVELS: [OptLevel; 6] = [
    OptLevel::O0,
    OptLevel::O1,
    OptLevel::O2,
    OptLevel::O3,
    OptLevel::Os,
    OptLevel::Oz,
];

fn opts(level: OptLevel) -> Options {
    Options {
        opt_level: level,
        ..Options::default()
    }
}

/// Instructions of each function (one section per function): (offset, length, mnemonic).
fn disassemble(object: &[u8]) -> HashMap<String, Vec<(u64, u64, String)>> {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_temp(dir.path(), "o.o", object);
    let text = common::run(
        Command::new(common::tool("llvm-objdump"))
            .arg("-d")
            .arg(&path),
    );
    let mut out: HashMap<String, Vec<(u64, u64, String)>> = HashMap::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_suffix(">:") {
            // "0000000000000000 <name>:"
            cur = name.split_once(" <").map(|(_, n)| n.to_string());
            continue;
        }
        let Some(f) = &cur else { continue };
        let Some((addr, rest)) = line.trim_start().split_once(':') else {
            continue;
        };
        let Ok(addr) = u64::from_str_radix(addr.trim(), 16) else {
            continue;
        };
        // "<bytes>\t<mnemonic> <operands>": x86 bytes are "55 48 89 e5"; AArch64 one word.
        let mut parts = rest.trim_start().splitn(2, '\t');
        let bytes = parts.next().unwrap_or("");
        let mnemonic = parts
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        let len = bytes
            .split_whitespace()
            .map(|b| b.len() as u64 / 2)
            .sum::<u64>();
        out.entry(f.clone())
            .or_default()
            .push((addr, len, mnemonic));
    }
    out
}

fn is_call(isa: Isa, mnemonic: &str) -> bool {
    match isa {
        Isa::X86_64 => mnemonic.starts_with("call"),
        Isa::Aarch64 => mnemonic == "bl" || mnemonic == "blr",
    }
}

/// Every record's instruction offset is the address right after a call instruction.
fn check_return_addresses(isa: Isa, object: &[u8], what: &str) -> usize {
    let code = disassemble(object);
    let records = object_stackmaps(object).unwrap();
    let mut ids: Vec<u64> = records.iter().map(|r| r.record.id).collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(
        ids.len(),
        n,
        "{what}: a record ID appears twice (duplicated call site)"
    );
    for r in &records {
        let insts = code
            .get(&r.function)
            .unwrap_or_else(|| panic!("{what}: no disassembly for function {}", r.function));
        let off = r.record.instruction_offset as u64;
        let call = insts.iter().find(|(a, len, _)| a + len == off);
        match call {
            Some((a, _, m)) if is_call(isa, m) => {
                let _ = a;
            }
            other => panic!(
                "{what}: record {:#x} in {} at offset {off:#x} does not follow a call: {other:?}",
                r.record.id, r.function
            ),
        }
    }
    records.len()
}

#[test]
fn records_sit_at_return_addresses_on_both_isas() {
    for src in common::c_files() {
        for level in LEVELS {
            for isa in Isa::ALL {
                let what = format!("{} {:?} {}", src.display(), level, isa.name());
                let bc = common::frontend(&src, isa, level);
                let out = compile_with_report(&bc, isa, &opts(level))
                    .unwrap_or_else(|e| panic!("{what}: {e:#}"));
                if !src.ends_with("special.c") {
                    assert!(
                        out.report.skipped.is_empty(),
                        "{what}: {:?}",
                        out.report.skipped
                    );
                }
                let n = check_return_addresses(isa, &out.object, &what);
                assert_eq!(
                    n,
                    out.report.call_sites.len(),
                    "{what}: records vs call sites"
                );
                assert!(n > 0, "{what}: no records");
            }
        }
    }
}

#[test]
fn compile_pair_summaries_match_and_divergent_functions_are_skipped() {
    let mut special_divergent = 0;
    for src in common::c_files() {
        for level in LEVELS {
            let what = format!("{} {level:?}", src.display());
            let x = common::frontend(&src, Isa::X86_64, level);
            let a = common::frontend(&src, Isa::Aarch64, level);
            let pair =
                compile_pair(&x, &a, &opts(level)).unwrap_or_else(|e| panic!("{what}: {e:#}"));
            let sx = stackmap_summary(&pair.x86_64.object).unwrap();
            let sa = stackmap_summary(&pair.aarch64.object).unwrap();
            assert_eq!(sx, sa, "{what}");
            // Call sites and skips match (legalisation counts may not: the front ends give
            // some values different types, e.g. __int128 arguments).
            assert_eq!(
                pair.x86_64.report.call_sites, pair.aarch64.report.call_sites,
                "{what}"
            );
            assert_eq!(
                pair.x86_64.report.skipped, pair.aarch64.report.skipped,
                "{what}"
            );
            // The summary's sizes are the IR sizes the pass reported.
            for c in &pair.x86_64.report.call_sites {
                let e = sx.iter().find(|e| e.0 == c.id).unwrap();
                assert_eq!(
                    &e.2[3..],
                    &c.live_sizes[..],
                    "{what}: {} #{}",
                    c.function,
                    c.index
                );
            }
            let divergent: Vec<&str> = pair
                .x86_64
                .report
                .skipped
                .iter()
                .filter(|s| s.reason == SkipReason::IsaDivergent)
                .map(|s| s.function.as_str())
                .collect();
            // Shadow frames agree on both ISAs.
            assert_eq!(
                pair.x86_64.report.shadow_frames, pair.aarch64.report.shadow_frames,
                "{what}"
            );
            if src.ends_with("special.c") {
                // vsum's front-end IR differs (va_arg); at -O2 its call sites differ too. At
                // -O0, x86-64's front end passes __int128 and a pair of floats through memory
                // (coercion temporaries, gone from -O1 on), so wide's and main's shadow
                // frames differ.
                let o0_coercions = ["wide", "main"];
                assert!(
                    divergent.iter().all(
                        |f| *f == "vsum" || (level == OptLevel::O0 && o0_coercions.contains(f))
                    ),
                    "{what}: {divergent:?}"
                );
                if !divergent.is_empty() {
                    special_divergent += 1;
                }
            } else if src.ends_with("basic.c") {
                // f and main pass a 32-byte struct by value: AArch64's caller-made copy is a
                // shadow-stack slot x86-64 has not (see src/shadow.rs), so their frames differ.
                assert!(
                    divergent.iter().all(|f| ["f", "main"].contains(f)),
                    "{what}: {divergent:?}"
                );
            } else {
                assert!(divergent.is_empty(), "{what}: {divergent:?}");
            }
        }
    }
    assert!(special_divergent > 0, "vsum never found divergent");
}

#[test]
fn cross_isa_summaries_match() {
    // Separate per-ISA compiles (no pair check): every file but special.c, whose vsum takes a
    // va_list (see compile_pair). Without the shadow stack: basic.c passes a struct by value,
    // which gives AArch64 a shadow slot that x86-64 has not (tests/shadow.rs covers frames).
    for src in common::c_files()
        .into_iter()
        .filter(|p| !p.ends_with("special.c"))
    {
        for level in LEVELS {
            let mut sums = Vec::new();
            for isa in Isa::ALL {
                let bc = common::frontend(&src, isa, level);
                let o = Options {
                    shadow_stack: Some(false),
                    ..opts(level)
                };
                let obj = compile(&bc, isa, &o).unwrap();
                sums.push(stackmap_summary(&obj).unwrap());
            }
            if sums[0] != sums[1] {
                let (a, b) = (&sums[0], &sums[1]);
                let mut msg = String::new();
                for i in 0..a.len().max(b.len()) {
                    if a.get(i) != b.get(i) {
                        msg += &format!("  x86 {:?}\n  a64 {:?}\n", a.get(i), b.get(i));
                    }
                }
                panic!("{} {:?}: summaries differ:\n{msg}", src.display(), level);
            }
        }
    }
}

#[test]
fn llvm_readobj_reads_the_records() {
    let src = common::c_dir().join("basic.c");
    for isa in Isa::ALL {
        let bc = common::frontend(&src, isa, OptLevel::O2);
        let out = compile_with_report(&bc, isa, &Options::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = common::write_temp(dir.path(), "o.o", &out.object);
        let text = common::run(
            Command::new(common::tool("llvm-readobj"))
                .arg("--stackmap")
                .arg(&p),
        );
        let want = format!("Num Records: {}", out.report.call_sites.len());
        assert!(
            text.contains(&want),
            "{}: {want} not in\n{text}",
            isa.name()
        );
        for cs in &out.report.call_sites {
            assert!(
                text.contains(&format!("Record ID: {},", cs.id)),
                "id {} missing",
                cs.id
            );
        }
    }
}

#[test]
fn skipped_functions_are_reported() {
    let src = common::c_dir().join("special.c");
    for isa in Isa::ALL {
        let bc = common::frontend(&src, isa, OptLevel::O2);
        let out = compile_with_report(&bc, isa, &Options::default()).unwrap();
        let reasons: HashMap<&str, &SkipReason> = out
            .report
            .skipped
            .iter()
            .map(|s| (s.function.as_str(), &s.reason))
            .collect();
        assert_eq!(
            reasons.get("sum_ints"),
            Some(&&SkipReason::VaStart),
            "{:?}",
            out.report.skipped
        );
        assert_eq!(reasons.get("mix"), Some(&&SkipReason::VaStart));
        assert!(
            matches!(reasons.get("try_it"), Some(SkipReason::ReturnsTwice(f)) if f.contains("setjmp"))
        );
        assert_eq!(reasons.get("with_asm"), Some(&&SkipReason::InlineAsm));
        // with_asm is still instrumented (its printf call has a record).
        assert!(out
            .report
            .call_sites
            .iter()
            .any(|c| c.function == "with_asm"));
        assert!(!out
            .report
            .call_sites
            .iter()
            .any(|c| c.function == "sum_ints" || c.function == "try_it"));
    }
}

#[test]
fn ids_are_unique_and_identical_across_isas() {
    for src in common::c_files()
        .into_iter()
        .filter(|p| !p.ends_with("special.c"))
    {
        let mut per_isa = Vec::new();
        for isa in Isa::ALL {
            let bc = common::frontend(&src, isa, OptLevel::O2);
            // Separate compiles, so without the shadow stack (see cross_isa_summaries_match).
            let o = Options {
                shadow_stack: Some(false),
                ..Options::default()
            };
            let out = compile_with_report(&bc, isa, &o).unwrap();
            let mut ids: Vec<u64> = out.report.call_sites.iter().map(|c| c.id).collect();
            let n = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), n, "duplicate IDs in {}", src.display());
            let sites: Vec<(String, u32, Option<String>, usize)> = out
                .report
                .call_sites
                .iter()
                .map(|c| (c.function.clone(), c.index, c.callee.clone(), c.num_live))
                .collect();
            per_isa.push(sites);
        }
        assert_eq!(per_isa[0], per_isa[1], "{}", src.display());
    }
}

#[test]
fn migration_point_options() {
    let src = common::c_dir().join("loops.c");
    let bc = common::frontend(&src, Isa::X86_64, OptLevel::O2);
    let count = |mp: MigrationPoints, period: u32| {
        let o = Options {
            migration_points: mp,
            loop_poll_period: period,
            ..Options::default()
        };
        let r = compile_with_report(&bc, Isa::X86_64, &o).unwrap().report;
        let mps = r.call_sites.iter().filter(|c| c.migration_point).count();
        (r.entry_polls, r.backedge_polls, mps)
    };
    let (e, b, m) = count(MigrationPoints::None, 64);
    assert_eq!((e, b, m), (0, 0, 0));
    let (e, b, m) = count(MigrationPoints::Entry, 64);
    assert!(e > 0 && b == 0 && m == e);
    let (e, b, m) = count(MigrationPoints::Loops, 64);
    assert!(e == 0 && b > 0 && m == b);
    let (e, b, m) = count(MigrationPoints::All, 1);
    assert!(e > 0 && b > 0 && m == e + b);
    // Without stackmaps: no records at all.
    let o = Options {
        stackmaps: false,
        migration_points: MigrationPoints::None,
        ..Options::default()
    };
    let obj = compile(&bc, Isa::X86_64, &o).unwrap();
    assert!(stackmap_summary(&obj).unwrap().is_empty());
}

#[test]
fn wrong_triple_is_refused() {
    let bc = common::frontend(&common::c_dir().join("basic.c"), Isa::X86_64, OptLevel::O2);
    let err = compile(&bc, Isa::Aarch64, &Options::default()).unwrap_err();
    assert!(format!("{err}").contains("not for aarch64"), "{err}");
}

/// `text` with every metadata reference `!<digits>` as `!N` (the two modules number their
/// metadata differently).
fn without_metadata_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '!' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('N');
        }
    }
    out
}

/// The default middle end ([`MiddleEnd::SharedCostModel`]) vectorises a simple loop the same
/// way on both ISAs (x86-64's cost model for both: the same function body, metadata numbering
/// aside); the cost-model-free one ([`MiddleEnd::Neutral`]) does not vectorise at all.
#[test]
fn shared_cost_model_vectorises_identically() {
    const SRC: &str =
        "void axpy(double *restrict y, const double *restrict x, double a, int n) {\n\
                       for (int i = 0; i < n; i++) y[i] += a * x[i];\n}\n";
    let dir = tempfile::tempdir().unwrap();
    let src = common::write_temp(dir.path(), "axpy.c", SRC.as_bytes());
    let body = |isa: Isa, middle_end: MiddleEnd| {
        let bc = common::frontend(&src, isa, OptLevel::O2);
        let o = Options {
            middle_end,
            ..opts(OptLevel::O2)
        };
        let ir = optimized_ir(&bc, isa, &o, false).unwrap();
        let start = ir.find("define ").expect("a function");
        let end = ir[start..].find("\n}\n").expect("its end") + start;
        without_metadata_numbers(&ir[start..end])
    };
    let x86 = body(Isa::X86_64, MiddleEnd::SharedCostModel);
    let a64 = body(Isa::Aarch64, MiddleEnd::SharedCostModel);
    assert!(x86.contains("<2 x double>"), "not vectorised:\n{x86}");
    assert_eq!(x86, a64, "the two ISAs' loops differ");
    let neutral = body(Isa::X86_64, MiddleEnd::Neutral);
    assert!(!neutral.contains("x double>"), "vectorised:\n{neutral}");
}
