//! End-to-end tests of `unimig run` and `unimig split` on fat executables linked by the staged
//! ld.unimig (`make build` puts it in build/stage/bin).

#[path = "../../linker/tests/common/mod.rs"]
mod common;

use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNIMIG: &str = env!("CARGO_BIN_EXE_unimig");

const PROGRAM: &str = r#"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "die") == 0) { fflush(stdout); raise(SIGTERM); }
    if (argc > 2 && strcmp(argv[1], "exit") == 0) return atoi(argv[2]);
    for (int i = 0; i < argc; i++) printf("[%s]", argv[i]);
    int c; unsigned long h = 5381, n = 0;
    while ((c = getchar()) != EOF) { h = h * 33 + (unsigned char)c; n++; }
    printf("\nread %lu bytes, hash %lu, %.3f\n", n, h, 22.0 / 7.0);
    return 3;
}
"#;

/// Links `PROGRAM` into a fat executable with the staged ld.unimig, the way unimig-cc does.
fn build(dir: &Path) -> PathBuf {
    let ld = stage().join("bin/ld.unimig");
    assert!(
        ld.exists(),
        "{} not found: run `make build` first",
        ld.display()
    );
    let obj = fat_object(dir, "prog", PROGRAM);
    let app = dir.join("prog");
    let out = Command::new("clang-19")
        .args(["--target=x86_64-linux-musl", "-static"])
        .arg(format!("--ld-path={}", ld.display()))
        .arg(&obj)
        .arg("-o")
        .arg(&app)
        .env("UNIMIG_PREFIX", stage())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "link failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        app.exists(),
        "{} not written: is build/stage/bin/ld.unimig current? run `make build`",
        app.display()
    );
    app
}

fn unimig(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(UNIMIG);
    cmd.current_dir(dir).args(args);
    run_with_stdin(cmd, stdin)
}

#[test]
fn run_on_both_isas_gives_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let input: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    // Arguments that look like options reach the program verbatim; argv[0] is APP as given.
    let args = ["-x", "--isa", "aarch64", "--", "two words", ""];
    let mut outs = Vec::new();
    for isa in ["x86_64", "aarch64"] {
        let mut argv = vec!["run", "--isa", isa, "./prog"];
        argv.extend(args);
        outs.push(unimig(dir.path(), &argv, &input));
    }
    let text = String::from_utf8_lossy(&outs[0].stdout);
    assert!(
        text.starts_with("[./prog][-x][--isa][aarch64][--][two words][]\nread 50000 bytes"),
        "{text}"
    );
    assert_eq!(outs[0].status.code(), Some(3));
    assert_same(&outs[0], &outs[1]);
    // The default ISA is x86_64, and `--` before APP is accepted.
    let out = unimig(dir.path(), &["run", "--", "prog", "a"], b"");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("[prog][a]\n"));
}

#[test]
fn exit_status_and_signals_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    for isa in ["x86_64", "aarch64"] {
        let out = unimig(
            dir.path(),
            &["run", "--isa", isa, "./prog", "exit", "77"],
            b"",
        );
        assert_eq!(out.status.code(), Some(77), "{isa}");
        let out = unimig(dir.path(), &["run", "--isa", isa, "./prog", "die"], b"");
        assert_eq!(
            out.status.signal(),
            Some(libc_sigterm()),
            "{isa}: {:?}",
            out.status
        );
    }
}

fn libc_sigterm() -> i32 {
    15
}

#[test]
fn split_writes_two_runnable_executables() {
    let dir = tempfile::tempdir().unwrap();
    let app = build(dir.path());
    let out = unimig(dir.path(), &["split", "prog", "-o", "out/p"], b"");
    // The output directory must exist.
    assert!(!out.status.success());
    fs::create_dir(dir.path().join("out")).unwrap();
    let out = unimig(dir.path(), &["split", "prog", "-o", "out/p"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Default prefix: APP.
    let out = unimig(dir.path(), &["split", "prog"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for prefix in [dir.path().join("out/p"), app.clone()] {
        let x86 = PathBuf::from(format!("{}.x86_64", prefix.display()));
        let a64 = PathBuf::from(format!("{}.aarch64", prefix.display()));
        for f in [&x86, &a64] {
            assert_eq!(
                fs::metadata(f).unwrap().permissions().mode() & 0o777,
                0o755,
                "{}",
                f.display()
            );
        }
        let x86_data = fs::read(&x86).unwrap();
        assert!(
            unimig_common::fat::embedded_section(&x86_data, ".unimig.image.aarch64")
                .unwrap()
                .is_none()
        );
        assert_eq!(
            unimig_common::fat::elf_machine(&fs::read(&a64).unwrap()),
            Some(183)
        );
        let native = run_with_stdin(Command::new(&x86), b"abc");
        let mut q = Command::new("qemu-aarch64");
        q.arg("-0").arg(&x86).arg(&a64);
        let emulated = run_with_stdin(q, b"abc");
        assert_eq!(native.status.code(), Some(3));
        assert_same(&native, &emulated);
    }
}

#[test]
fn errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    for isa in ["x86_64", "aarch64"] {
        let out = unimig(dir.path(), &["run", "--isa", isa, "./missing"], b"");
        assert_eq!(out.status.code(), Some(127));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("unimig: error: ./missing"), "{err}");
    }
    // An x86-64 object is not a fat executable.
    let out = unimig(
        dir.path(),
        &["run", "--isa", "aarch64", "prog.x86_64.o"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("prog.x86_64.o is not a unimig fat executable"),
        "{err}"
    );
    let out = unimig(dir.path(), &["split", "prog.x86_64.o"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.path().join("prog.x86_64.o.aarch64").exists());
    // qemu missing.
    let mut cmd = Command::new(UNIMIG);
    cmd.current_dir(dir.path())
        .env("UNIMIG_QEMU", "/nonexistent/qemu-aarch64")
        .args(["run", "--isa", "aarch64", "./prog"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("qemu-aarch64"));
    // Unknown ISA: a usage error.
    let out = unimig(dir.path(), &["run", "--isa", "mips", "./prog"], b"");
    assert_eq!(out.status.code(), Some(2));
}
