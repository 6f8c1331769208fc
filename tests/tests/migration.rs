//! Migration end to end (issue #5): programs from tests/migration/ built with
//! `-funimig-points=all -funimig-stackmaps`, run natively (x86-64, unsupervised) and under
//! `unimig run --migrate-at ...` ping-ponging between the ISAs at least 20 times from either
//! start; stdout, stderr, exit status and output files must be byte-identical to the native
//! run, and the report must show the migrations alternating ISAs. Plus random points, and the
//! failure paths (destination killed, corrupted checkpoint): the program continues where it
//! was and finishes with the native output.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use unimig_tests::*;

const FLAGS: &[&str] = &["-O2", "-funimig-points=all", "-funimig-stackmaps"];

fn build(name: &str, dir: &Path) -> PathBuf {
    build_source(
        &tests_dir().join("migration").join(format!("{name}.c")),
        name,
        dir,
    )
}

fn build_source(src: &Path, name: &str, dir: &Path) -> PathBuf {
    build_source_with(src, name, dir, &[])
}

fn build_source_with(src: &Path, name: &str, dir: &Path, extra: &[&str]) -> PathBuf {
    let app = dir.join(name);
    check(
        command(cc())
            .args(FLAGS)
            .args(extra)
            .arg(src)
            .arg("-lm")
            .arg("-o")
            .arg(&app),
    );
    assert_layout_checked(&app);
    app
}

/// One run's observable result: output, and the files the program wrote in its directory.
struct Observed {
    out: Output,
    files: Vec<(String, Vec<u8>)>,
    report: Option<Value>,
}

fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// Runs `app` in a fresh directory: natively (`points` None) or supervised (an empty list:
/// counting the migration points).
fn observe(app: &Path, start: Isa, points: Option<&[u64]>, env: &[(&str, &str)]) -> Observed {
    let dir = temp_dir("migration-run");
    let report = dir.path().join("..").join(format!(
        "{}.report.json",
        dir.path().file_name().unwrap().to_string_lossy()
    ));
    let mut cmd = match points {
        None => command(app),
        Some(points) => {
            let mut c = unimig_run_command(start, points, &report);
            c.arg(app);
            c
        }
    };
    cmd.current_dir(dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run_with_input(&mut cmd, b"", RUN_TIMEOUT);
    let report = points.map(|_| {
        let text = std::fs::read_to_string(&report).unwrap_or_else(|e| {
            panic!("no report {}: {e}\n{}", report.display(), show_output(&out))
        });
        let _ = std::fs::remove_file(&report);
        serde_json::from_str(&text).expect("the report is JSON")
    });
    Observed {
        out,
        files: files_in(dir.path()),
        report,
    }
}

fn assert_same_run(what: &str, native: &Observed, migrated: &Observed) {
    assert_same_output(what, &native.out, &migrated.out);
    let names = |o: &Observed| o.files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(native), names(migrated), "{what}: files written");
    for ((name, a), (_, b)) in native.files.iter().zip(&migrated.files) {
        assert_same_bytes(&format!("{what}: {name}"), a, b, "native", "migrated");
    }
}

fn migrations(report: &Value) -> &Vec<Value> {
    report["migrations"].as_array().expect("migrations array")
}

/// The number of migration points the program reaches (the supervised run's report).
fn points_total(app: &Path) -> u64 {
    let run = observe(app, Isa::X86_64, Some(&[]), &[]);
    assert_success("counting run", &run.out);
    run.report.unwrap()["points"]
        .as_u64()
        .expect("the report counts the migration points")
}

/// `count` points spread over the run.
fn spread(total: u64, count: u64) -> Vec<u64> {
    (1..=count).map(|i| i * total / (count + 1)).collect()
}

/// Native run vs ping-pong from both ISAs, asked to migrate at `targets` spread-out points.
/// A point whose stack has a frame at an unsafe call site (`.unimig.unsafe_sites`) or a libc
/// frame cannot migrate; the runtime tries again at later points, so nearby targets can merge
/// into one migration: at least `min_migrations` must happen.
/// Returns the two runs' reports (starting on x86-64, then AArch64).
fn ping_pong(name: &str, min_migrations: usize, targets: u64) -> Vec<Value> {
    let dir = temp_dir("migration-build");
    let app = build(name, dir.path());
    let native = observe(&app, Isa::X86_64, None, &[]);
    assert_success(&format!("{name} native"), &native.out);
    let total = points_total(&app);
    assert!(total > 200, "{name}: only {total} migration points");
    let points = spread(total, targets);
    let mut reports = Vec::new();
    for start in [Isa::X86_64, Isa::Aarch64] {
        let what = format!("{name} from {}", start.name());
        let run = observe(&app, start, Some(&points), &[]);
        assert_same_run(&what, &native, &run);
        let report = run.report.unwrap();
        let moves = migrations(&report);
        assert!(
            moves.len() >= min_migrations,
            "{what}: {} migrations (want >= {min_migrations}); report: {report:#}",
            moves.len()
        );
        let mut on = start;
        for m in moves {
            assert_eq!(m["from"], on.name(), "{what}: {report:#}");
            assert_eq!(m["to"], on.other().name(), "{what}: {report:#}");
            on = on.other();
        }
        assert_eq!(report["final_isa"], on.name(), "{what}");
        reports.push(report);
    }
    reports
}

#[test]
fn recursion_with_stack_and_heap_pointers() {
    ping_pong("recursion", 20, 24);
}

#[test]
fn function_pointers_and_qsort_callbacks() {
    ping_pong("callbacks", 20, 24);
}

/// Doubles live across instrumented calls and migration points on both ISAs (their bit
/// patterns travel in general-purpose registers, see `fp_from_bits` in
/// llvm-pass/src/instrument.rs) and FP constants kept in d8-d15 (fixups): every site is safe,
/// so every target migrates (measured 24 of 24; 20 leaves room for a target the retry skips).
/// The live-value fixups of an image (`.unimig.fixups` entries that copy a recorded value into
/// a second register or slot), and how many of them add an offset.
fn live_value_fixups(image: &[u8]) -> usize {
    live_value_fixups_where(image, |_| true)
}

fn live_value_fixups_with_offsets(image: &[u8]) -> usize {
    live_value_fixups_where(image, |addend| addend != 0)
}

fn live_value_fixups_where(image: &[u8], keep: impl Fn(i32) -> bool) -> usize {
    use object::{Object, ObjectSection};
    use unimig_migrate::fixups::{parse_fixups, Recipe, FIXUPS_SECTION};
    let file = object::File::parse(image).unwrap();
    let Some(section) = file.section_by_name(FIXUPS_SECTION) else {
        return 0;
    };
    parse_fixups(section.data().unwrap())
        .unwrap()
        .iter()
        .filter(|f| matches!(f.recipe, Recipe::LiveValue { addend, .. } if keep(addend)))
        .count()
}

/// Pointers derived from a recorded base (struct fields, shadow-stack locals) kept across
/// calls: the x86-64 image rebuilds one as the base plus a constant; the program crashes if
/// the transformer skips it (checked by hand).
#[test]
fn addresses_derived_from_recorded_pointers() {
    let dir = temp_dir("migration-offsets");
    let app = build("offsets", dir.path());
    let fat = std::fs::read(&app).unwrap();
    assert!(
        live_value_fixups_with_offsets(&fat) > 0,
        "offsets: no live-value fixup with an offset in the x86-64 image"
    );
    ping_pong("offsets", 20, 24);
}

/// Values kept twice across calls (a spilled argument reloaded after the call while the
/// record lists its register copy): the sites migrate only through live-value fixups, and the
/// program prints every round's result, so a copy left unwritten changes the output (checked
/// by hand: skipping these fixups in the transformer makes both directions differ).
#[test]
fn second_copies_of_recorded_values() {
    let dir = temp_dir("migration-copies");
    let app = build("copies", dir.path());
    let fat = std::fs::read(&app).unwrap();
    let a64 = unimig_common::fat::aarch64_image(&fat).unwrap();
    assert!(
        live_value_fixups(&fat) > 0 && live_value_fixups(a64) > 0,
        "copies: expected live-value fixups in both images (x86-64 {}, AArch64 {})",
        live_value_fixups(&fat),
        live_value_fixups(a64)
    );
    ping_pong("copies", 20, 24);
}

/// A function with a `struct stat` local (144 bytes on x86-64, 128 on AArch64) is on the
/// stack at every migration point: its shadow slot takes the larger size on both ISAs (with a
/// -Wunimig-isa-layout warning) instead of leaving the function uninstrumented, which refused
/// every migration.
#[test]
fn locals_of_isa_sized_types() {
    let dir = temp_dir("migration-statlocal");
    let src = tests_dir().join("migration").join("statlocal.c");
    let out = check(
        command(cc())
            .args(FLAGS)
            .arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(dir.path().join("statlocal.o")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("statlocal.c:16: warning: 'scan' has a local whose type differs in size")
            && stderr.contains("(144 vs 128 bytes")
            && stderr.contains("[-Wunimig-isa-layout]"),
        "{stderr}"
    );
    ping_pong("statlocal", 20, 24);
}

/// setjmp/longjmp as interpreters use them (tests/migration/longjmp.c): nested protected
/// calls with their jmp_buf in a struct between two other fields, errors thrown from deep
/// recursion, a jmp_buf on the heap and a global one. Migrations happen while jmp_bufs are live
/// (the transformer rewrites them, migrate/src/jmpbuf.rs) and longjmps land in frames rebuilt
/// on the other ISA. Without the rewrite the first longjmp after a migration crashes (checked
/// by hand).
#[test]
fn longjmp_across_migrations() {
    let reports = ping_pong("longjmp", 20, 24);
    for (start, report) in [Isa::X86_64, Isa::Aarch64].into_iter().zip(&reports) {
        let rewritten: Vec<u64> = migrations(report)
            .iter()
            .map(|m| m["jmp_bufs"].as_u64().expect("jmp_bufs in the report"))
            .collect();
        // Most points are inside a protected call (one or two live jmp_bufs).
        let with_bufs = rewritten.iter().filter(|&&n| n > 0).count();
        assert!(
            with_bufs >= 10 && rewritten.iter().any(|&n| n >= 2),
            "from {}: jmp_bufs rewritten per migration {rewritten:?}",
            start.name()
        );
    }
}

#[test]
fn thread_locals_and_libm() {
    ping_pong("tls_math", 20, 24);
}

/// Sibling calls (kept as jumps: an op's frame returns straight to dispatch's caller) and
/// shadow frames made only on the path that uses them, with migrations inside both (tails.c).
#[test]
fn sibling_calls_and_shrink_wrapped_frames() {
    let dir = temp_dir("migration-tails");
    let app = build("tails", dir.path());
    // dispatch reaches each op by a jump on x86-64, not a call (on AArch64 llvm-pass's tests
    // check the objects).
    let text = String::from_utf8(
        Command::new("llvm-objdump-19")
            .args(["-d", "--no-show-raw-insn", "--disassemble-symbols=dispatch"])
            .arg(&app)
            .output()
            .expect("llvm-objdump-19")
            .stdout,
    )
    .unwrap();
    assert!(text.contains("jmp") && text.contains("<op_add>"), "{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.contains("call") && l.contains("<op_")),
        "{text}"
    );
    ping_pong("tails", 20, 24);
    let native = observe(&app, Isa::X86_64, None, &[]);
    let out = String::from_utf8_lossy(&native.out.stdout);
    assert!(out.contains("shadow stack balanced: yes"), "{out}");
}

#[test]
fn files_across_migration() {
    ping_pong("files", 20, 48);
}

#[test]
fn large_heap() {
    ping_pong("bigheap", 20, 24);
}

/// A migration requested while the innermost frame loops at an unsafe call site (the matrix
/// loop of scripts/bench/programs/loops.c on x86-64 built with the cost-model-free middle end,
/// which does not vectorise it: its poll site is listed in `.unimig.unsafe_sites`; the loop
/// runs 300 times per entry, so it polls only with `-funimig-short-loop-limit=0`): the
/// runtime backs off probing that same site (`retry 0 PC`), doubling the points it skips
/// there after each refusal, instead of writing a probe at every poll (before any back-off:
/// 267032 probes, the 1 s program ran 37 s; with a back-off capped at 4096 points: 77 probes
/// at a poll every 64 iterations; uncapped, polling on every iteration: 9), and the migration
/// happens once the loop reaches a safe site.
#[test]
fn a_loop_at_an_unsafe_site_is_probed_rarely() {
    let dir = temp_dir("migration-unsafe-loop");
    let src = source_root().join("scripts/bench/programs/loops.c");
    let app = build_source_with(
        &src,
        "loops",
        dir.path(),
        &["-funimig-middle-end=neutral", "-funimig-short-loop-limit=0"],
    );
    let native = observe(&app, Isa::X86_64, None, &[]);
    let total = points_total(&app);
    let run = observe(&app, Isa::X86_64, Some(&[total / 2]), &[]);
    assert_same_run("loops", &native, &run);
    let report = run.report.as_ref().unwrap();
    // Still the case this tests: the innermost frame's own site refused.
    let reason = report["last_retry_reason"].as_str().unwrap_or("");
    assert!(reason.contains("frame #0"), "{report:#}");
    let probes = report["probe_retries"].as_u64().unwrap();
    assert!(probes < 64, "{probes} probes: {report:#}");
    assert_eq!(migrations(report).len(), 1, "{report:#}");
}

/// A small deterministic generator (the seed is printed so a failure can be replayed with
/// UNIMIG_TEST_SEED).
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[test]
fn random_points() {
    let seed = std::env::var("UNIMIG_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("random_points: UNIMIG_TEST_SEED={seed}");
    let mut rng = SplitMix(seed);
    let dir = temp_dir("migration-random");
    for name in [
        "recursion",
        "callbacks",
        "tls_math",
        "copies",
        "offsets",
        "statlocal",
        "longjmp",
        "tails",
    ] {
        let app = build(name, dir.path());
        let native = observe(&app, Isa::X86_64, None, &[]);
        let total = points_total(&app);
        for run in 0..3 {
            let count = 1 + rng.next() % 12;
            let mut points: Vec<u64> = (0..count).map(|_| 1 + rng.next() % total).collect();
            points.sort();
            points.dedup();
            let start = if rng.next().is_multiple_of(2) {
                Isa::X86_64
            } else {
                Isa::Aarch64
            };
            let what = format!(
                "{name} run {run} (seed {seed}) from {} at {points:?}",
                start.name()
            );
            let migrated = observe(&app, start, Some(&points), &[]);
            assert_same_run(&what, &native, &migrated);
            assert!(
                !migrations(migrated.report.as_ref().unwrap()).is_empty(),
                "{what}: no migration"
            );
        }
    }
}

/// Failure safety: the destination dies (or refuses a corrupted checkpoint) before it runs;
/// the source continues where it was, so the output is still the native one.
#[test]
fn failed_migrations_leave_the_program_running() {
    let dir = temp_dir("migration-failures");
    let app = build("recursion", dir.path());
    let native = observe(&app, Isa::X86_64, None, &[]);
    let points = spread(points_total(&app), 3);
    for (hook, stage, reason) in [
        ("UNIMIG_TEST_KILL_DESTINATION", "restore", "signal 9"),
        ("UNIMIG_TEST_CORRUPT_CHECKPOINT", "restore", "checksum"),
    ] {
        for start in [Isa::X86_64, Isa::Aarch64] {
            let what = format!("{hook} from {}", start.name());
            let run = observe(&app, start, Some(&points), &[(hook, "1")]);
            assert_same_run(&what, &native, &run);
            let report = run.report.as_ref().unwrap();
            assert!(migrations(report).is_empty(), "{what}: {report:#}");
            let failures = report["failures"].as_array().unwrap();
            assert!(!failures.is_empty(), "{what}: {report:#}");
            for f in failures {
                assert_eq!(f["stage"], stage, "{what}: {report:#}");
                assert!(
                    f["reason"].as_str().unwrap().contains(reason),
                    "{what}: {report:#}"
                );
            }
            assert_eq!(report["final_isa"], start.name(), "{what}");
        }
    }
}
