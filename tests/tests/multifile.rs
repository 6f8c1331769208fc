//! tests/projects/multifile (numstat): a static library made with $(AR) rcs + $(RANLIB) and a
//! program using it, built by its Makefile with `make CC=unimig-cc`. Every case runs natively
//! and with `unimig run --isa aarch64`; both must print exactly the checked-in expected stdout,
//! stderr and exit code (cases/CASE.*). `unimig split` output is checked too.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use unimig_tests::*;

struct Case {
    name: String,
    args: Vec<String>,
    stdin: Vec<u8>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    code: i32,
}

fn cases() -> Vec<Case> {
    let dir = project_dir("multifile").join("cases");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".args")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 4, "test cases missing in {}", dir.display());
    names
        .into_iter()
        .map(|name| {
            let read = |ext: &str| fs::read(dir.join(format!("{name}.{ext}"))).unwrap();
            let args = String::from_utf8(read("args"))
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect();
            let code = String::from_utf8(read("code"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            Case {
                args,
                stdin: read("in"),
                stdout: read("stdout"),
                stderr: read("stderr"),
                code,
                name,
            }
        })
        .collect()
}

/// Builds numstat in a copy of the project; returns (build dir, program).
fn build(tmp: &Path) -> (PathBuf, PathBuf) {
    let dir = tmp.join("multifile");
    copy_tree(&project_dir("multifile"), &dir);
    check(command("make").arg("CC=unimig-cc").current_dir(&dir));
    (dir.clone(), dir.join("numstat"))
}

/// The ELF machine field of a file.
fn elf_machine(path: &Path) -> u16 {
    let data = fs::read(path).unwrap();
    unimig_common::fat::elf_machine(&data)
        .unwrap_or_else(|| panic!("{} is not a 64-bit ELF file", path.display()))
}

fn section_names(path: &Path) -> String {
    let out = check(Command::new("readelf").arg("-SW").arg(path));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs every case on both ISAs: each run must give the checked-in stdout, stderr and exit
/// code, and the two runs must agree.
fn assert_cases(label: &str, prog: &Path) {
    for case in cases() {
        let spec = RunSpec::new(&case.args).stdin(case.stdin.clone());
        let (x86, a64) = run_both_isas_spec(prog, &spec);
        let what = format!("{label} case {}", case.name);
        for (isa, out) in [("x86_64", &x86), ("aarch64", &a64)] {
            assert_expected(
                &format!("{what} on {isa}"),
                out,
                &case.stdout,
                &case.stderr,
                case.code,
            );
        }
        assert_same_output(&what, &x86, &a64);
    }
}

#[test]
fn multifile_make_both_isas_expected_output() {
    let _t = Timer::start("multifile");
    let tmp = temp_dir("multifile");
    let (dir, prog) = build(tmp.path());

    // The formats build systems rely on: fat objects in an ordinary archive, a fat executable.
    assert!(
        section_names(&dir.join("stats.o")).contains(".unimig.aarch64"),
        "stats.o is not a fat object"
    );
    let members = check(Command::new("ar").arg("t").arg(dir.join("libnumstat.a")));
    assert_eq!(
        String::from_utf8_lossy(&members.stdout),
        "strutil.o\nstats.o\nops.o\nreport.o\n"
    );
    assert_eq!(
        elf_machine(&prog),
        62,
        "numstat should be an x86-64 executable"
    );
    assert!(
        section_names(&prog).contains(".unimig.image.aarch64"),
        "numstat carries no AArch64 image"
    );

    assert_cases("numstat", &prog);
}

#[test]
fn multifile_split_halves_run_standalone() {
    let _t = Timer::start("multifile-split");
    let tmp = temp_dir("multifile-split");
    let (dir, prog) = build(tmp.path());
    check(
        command(tool("unimig"))
            .arg("split")
            .arg(&prog)
            .current_dir(&dir),
    );
    let x86 = dir.join("numstat.x86_64");
    let a64 = dir.join("numstat.aarch64");
    assert_eq!(elf_machine(&x86), 62, "numstat.x86_64 should be x86-64");
    assert_eq!(elf_machine(&a64), 183, "numstat.aarch64 should be AArch64");
    assert!(
        !section_names(&x86).contains(".unimig.image.aarch64"),
        "numstat.x86_64 still carries the image"
    );

    let case = cases()
        .into_iter()
        .find(|c| c.name == "mixed")
        .expect("case mixed");
    let native = run_with_input(
        Command::new(&x86).args(&case.args),
        &case.stdin,
        RUN_TIMEOUT,
    );
    assert_expected(
        "numstat.x86_64",
        &native,
        &case.stdout,
        &case.stderr,
        case.code,
    );
    let emulated = run_with_input(
        Command::new("qemu-aarch64").arg(&a64).args(&case.args),
        &case.stdin,
        RUN_TIMEOUT,
    );
    assert_expected(
        "qemu-aarch64 numstat.aarch64",
        &emulated,
        &case.stdout,
        &case.stderr,
        case.code,
    );
}

#[test]
fn multifile_one_step_compile_and_link() {
    let _t = Timer::start("multifile-one-step");
    let tmp = temp_dir("multifile-one-step");
    let src = project_dir("multifile");
    let app = tmp.path().join("numstat");
    let mut cmd = command(cc());
    cmd.args(["-O1", "-o"]).arg(&app);
    for name in ["main", "strutil", "stats", "ops", "report"] {
        cmd.arg(src.join(format!("{name}.c")));
    }
    check(cmd.arg("-lm").current_dir(tmp.path()));
    assert_cases("numstat (one-step build)", &app);
    // No stray objects from the one-step build.
    let stray: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "numstat")
        .collect();
    assert!(
        stray.is_empty(),
        "a compile-and-link step left files behind: {stray:?}"
    );
}
