//! What unimig-cc's compatibility diagnostics rely on: skip reasons and hazards carry source
//! locations when the front end emitted line tables, and stripping those line tables before code
//! generation ([`Options::strip_debug_info`]) gives byte-identical objects to a compile without
//! debug information.

mod common;

use unimig_llvm_pass::{compile_pair, HazardKind, Isa, OptLevel, Options, SkipReason};

fn instrumented(level: OptLevel) -> Options {
    Options {
        opt_level: level,
        ..Options::default()
    }
}

#[test]
fn stripped_line_tables_leave_objects_unchanged() {
    for name in ["special.c", "hazards.c", "basic.c", "loops.c"] {
        let src = common::c_dir().join(name);
        for level in [OptLevel::O0, OptLevel::O2, OptLevel::Os] {
            let plain: Vec<Vec<u8>> = Isa::ALL
                .iter()
                .map(|&isa| common::frontend(&src, isa, level))
                .collect();
            let lines: Vec<Vec<u8>> = Isa::ALL
                .iter()
                .map(|&isa| common::frontend_with(&src, isa, level, &["-gline-tables-only"]))
                .collect();
            let opts = instrumented(level);
            let want = compile_pair(&plain[0], &plain[1], &opts).unwrap();
            let strip = Options {
                strip_debug_info: true,
                ..opts
            };
            let got = compile_pair(&lines[0], &lines[1], &strip).unwrap();
            let what = format!("{name} {level:?}");
            assert!(
                want.x86_64.object == got.x86_64.object,
                "{what}: x86_64 objects differ"
            );
            assert!(
                want.aarch64.object == got.aarch64.object,
                "{what}: aarch64 objects differ"
            );
            // The reports agree too, apart from the locations.
            let unlocated = |r: &unimig_llvm_pass::Report| {
                let mut r = r.clone();
                r.skipped.iter_mut().for_each(|s| s.loc = None);
                r.hazards.iter_mut().for_each(|h| h.loc = None);
                r
            };
            assert_eq!(
                unlocated(&want.x86_64.report),
                unlocated(&got.x86_64.report),
                "{what}"
            );
        }
    }
}

/// `(function, line, column)` of every skip of `reason`'s kind in the x86-64 report.
fn skip_lines(
    r: &unimig_llvm_pass::Report,
    pick: fn(&SkipReason) -> bool,
) -> Vec<(String, u32, u32)> {
    r.skipped
        .iter()
        .filter(|s| pick(&s.reason))
        .map(|s| {
            let loc = s
                .loc
                .as_ref()
                .unwrap_or_else(|| panic!("{s:?} has no location"));
            assert!(loc.file.ends_with("special.c"), "{loc:?}");
            (s.function.clone(), loc.line, loc.column)
        })
        .collect()
}

#[test]
fn skips_point_at_the_construct() {
    let src = common::c_dir().join("special.c");
    let bc: Vec<Vec<u8>> = Isa::ALL
        .iter()
        .map(|&isa| common::frontend_with(&src, isa, OptLevel::O2, &["-gline-tables-only"]))
        .collect();
    let out = compile_pair(&bc[0], &bc[1], &instrumented(OptLevel::O2)).unwrap();
    let r = &out.x86_64.report;
    let va = skip_lines(r, |s| *s == SkipReason::VaStart);
    assert!(va.contains(&("sum_ints".into(), 11, 3)), "{va:?}");
    assert!(va.contains(&("mix".into(), 20, 3)), "{va:?}");
    let setjmp = skip_lines(r, |s| matches!(s, SkipReason::ReturnsTwice(_)));
    assert_eq!(setjmp, [("try_it".into(), 49, 7)]);
    // A plain setjmp caller is instrumented, its setjmp call a site like any other.
    let setjmp_sites: Vec<_> = r
        .call_sites
        .iter()
        .filter(|c| c.function == "try_plain")
        .filter_map(|c| c.callee.clone())
        .collect();
    assert!(
        setjmp_sites.iter().any(|c| c.ends_with("setjmp")),
        "{setjmp_sites:?}"
    );
    let asm = skip_lines(r, |s| *s == SkipReason::InlineAsm);
    assert_eq!(asm, [("with_asm".into(), 56, 3)]);
    // A function-level reason has the function's line and no column. vsum diverges at some
    // levels only (see pipeline.rs).
    let mut divergent = Vec::new();
    for level in [OptLevel::O0, OptLevel::O1, OptLevel::O2, OptLevel::O3] {
        let bc: Vec<Vec<u8>> = Isa::ALL
            .iter()
            .map(|&isa| common::frontend_with(&src, isa, level, &["-gline-tables-only"]))
            .collect();
        let out = compile_pair(&bc[0], &bc[1], &instrumented(level)).unwrap();
        divergent.extend(skip_lines(&out.x86_64.report, |s| {
            *s == SkipReason::IsaDivergent
        }));
    }
    assert!(
        divergent.contains(&("vsum".into(), 29, 0)),
        "vsum never found divergent: {divergent:?}"
    );
    // Also divergent at some levels: functions passing a struct (or __int128) by value, whose
    // shadow frames differ (the AArch64 front end copies the argument into a local); the
    // report still names the function's own line.
    let allowed: [(String, u32, u32); 3] = [
        ("vsum".into(), 29, 0),
        ("wide".into(), 61, 0),
        ("main".into(), 78, 0),
    ];
    assert!(
        divergent.iter().all(|d| allowed.contains(d)),
        "{divergent:?}"
    );
}

#[test]
fn hazards_are_found_with_locations() {
    let src = common::c_dir().join("hazards.c");
    let bc: Vec<Vec<u8>> = Isa::ALL
        .iter()
        .map(|&isa| common::frontend_with(&src, isa, OptLevel::O2, &["-gline-tables-only"]))
        .collect();
    let out = compile_pair(&bc[0], &bc[1], &instrumented(OptLevel::O2)).unwrap();
    let found = |r: &unimig_llvm_pass::Report| -> Vec<(String, HazardKind, u32)> {
        r.hazards
            .iter()
            .map(|h| {
                (
                    h.function.clone(),
                    h.kind.clone(),
                    h.loc.as_ref().unwrap().line,
                )
            })
            .collect()
    };
    let x = found(&out.x86_64.report);
    assert!(
        x.contains(&("third".into(), HazardKind::LongDouble, 6)),
        "{x:?}"
    );
    assert!(
        x.iter()
            .any(|(f, k, _)| f == "dispatch" && *k == HazardKind::ComputedGoto),
        "{x:?}"
    );
    // AArch64's long double is IEEE quad: only the computed goto there.
    let a = found(&out.aarch64.report);
    assert!(
        a.iter().all(|(_, k, _)| *k == HazardKind::ComputedGoto),
        "{a:?}"
    );
    // Without instrumentation nothing is scanned.
    let off = Options {
        migration_points: unimig_llvm_pass::MigrationPoints::None,
        stackmaps: false,
        ..instrumented(OptLevel::O2)
    };
    let out = compile_pair(&bc[0], &bc[1], &off).unwrap();
    assert!(out.x86_64.report.hazards.is_empty());
}
