//! The `clang-19 -fuse-ld=unimig` path: objects from `unimig-cc -c`, linked by clang's own
//! driver, which finds `ld.unimig` on PATH and gives it a GNU-ld style command line (with the
//! host's glibc start files, which ld.unimig must replace by its sysroots'). The result must run
//! on both ISAs with the expected output of tests/projects/multifile.

use std::fs;
use std::path::Path;
use std::process::Command;
use unimig_tests::*;

const SOURCES: [&str; 5] = ["main", "strutil", "stats", "ops", "report"];

fn compile_objects(dir: &Path) {
    let src = project_dir("multifile");
    for name in SOURCES {
        check(
            command(cc())
                .args(["-O2", "-Wall", "-c"])
                .arg(src.join(format!("{name}.c")))
                .arg("-o")
                .arg(dir.join(format!("{name}.o"))),
        );
    }
}

/// A directory holding only `ld.unimig` (a symlink to the installation's), for PATH.
fn linker_dir(tmp: &Path) -> std::path::PathBuf {
    let dir = tmp.join("ldpath");
    fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(tool("ld.unimig"), dir.join("ld.unimig")).unwrap();
    dir
}

fn clang_with_unimig_ld(tmp: &Path) -> Command {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![linker_dir(tmp)];
    dirs.extend(std::env::split_paths(&path));
    let mut cmd = Command::new("clang-19");
    cmd.env("PATH", std::env::join_paths(dirs).unwrap())
        .env("UNIMIG_PREFIX", prefix())
        .arg("-fuse-ld=unimig");
    cmd.current_dir(tmp);
    cmd
}

fn expect_mixed_case(app: &Path) {
    let cases = project_dir("multifile").join("cases");
    let read = |ext: &str| fs::read(cases.join(format!("mixed.{ext}"))).unwrap();
    let args: Vec<String> = String::from_utf8(read("args"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let code: i32 = String::from_utf8(read("code"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (x86, a64) = run_both_isas(app, &args, &read("in"));
    assert_expected("x86_64 run", &x86, &read("stdout"), &read("stderr"), code);
    assert_expected("aarch64 run", &a64, &read("stdout"), &read("stderr"), code);
}

#[test]
fn clang_fuse_ld_unimig_links_objects() {
    let _t = Timer::start("fuse-ld-objects");
    let tmp = temp_dir("fuse-ld");
    let dir = tmp.path();
    compile_objects(dir);
    let mut link = clang_with_unimig_ld(dir);
    link.arg("-static")
        .args(SOURCES.iter().map(|n| format!("{n}.o")))
        .args(["-lm", "-o", "app"]);
    check(&mut link);
    expect_mixed_case(&dir.join("app"));
}

#[test]
fn clang_fuse_ld_unimig_links_archive() {
    let _t = Timer::start("fuse-ld-archive");
    let tmp = temp_dir("fuse-ld-ar");
    let dir = tmp.path();
    compile_objects(dir);
    check(
        Command::new("ar")
            .args([
                "rcs",
                "libnumstat.a",
                "strutil.o",
                "stats.o",
                "ops.o",
                "report.o",
            ])
            .current_dir(dir),
    );
    let mut link = clang_with_unimig_ld(dir);
    link.args(["-static", "main.o", "-L.", "-lnumstat", "-lm", "-o", "app"]);
    check(&mut link);
    expect_mixed_case(&dir.join("app"));
}
