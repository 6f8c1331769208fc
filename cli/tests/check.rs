//! `unimig check` on fat executables linked by the staged ld.unimig (`make build`): passes on
//! a laid-out program, fails naming the symbol (with both addresses) on a misaligned pair and
//! on a tampered data object.

#[path = "../../linker/tests/common/mod.rs"]
mod common;

use common::*;
use object::{Object, ObjectSection, ObjectSymbol};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNIMIG: &str = env!("CARGO_BIN_EXE_unimig");

fn checked(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The address program (see linker/tests/common) linked by the staged ld.unimig.
fn build(dir: &Path) -> PathBuf {
    let ld = stage().join("bin/ld.unimig");
    let [main, lib, archive] = address_program(dir);
    let app = dir.join("app");
    checked(
        Command::new("clang-19")
            .args(["--target=x86_64-linux-musl", "-static"])
            .arg(format!("--ld-path={}", ld.display()))
            .args([&main, &lib, &archive])
            .arg("-o")
            .arg(&app)
            .env("UNIMIG_PREFIX", stage())
            .output()
            .unwrap(),
        "link",
    );
    app
}

fn check(app: &Path) -> (Option<i32>, String) {
    let out = Command::new(UNIMIG).arg("check").arg(app).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `app` with its AArch64 image replaced by `image`.
fn with_image(app: &Path, image: &Path, out: &Path) {
    checked(
        Command::new("llvm-objcopy-19")
            .arg(format!(
                "--update-section=.unimig.image.aarch64={}",
                image.display()
            ))
            .arg(app)
            .arg(out)
            .output()
            .unwrap(),
        "llvm-objcopy-19",
    );
}

#[test]
fn check_passes_on_a_laid_out_program() {
    let dir = tempfile::tempdir().unwrap();
    let app = build(dir.path());
    // The program prints its addresses: the same under `unimig run` on both ISAs.
    let run = |isa: &str| {
        checked(
            Command::new(UNIMIG)
                .args(["run", "--isa", isa])
                .arg(&app)
                .output()
                .unwrap(),
            "unimig run",
        )
    };
    let (native, a64) = (run("x86_64"), run("aarch64"));
    assert!(String::from_utf8_lossy(&native.stdout).contains("\nmalloc           0x"));
    assert_same(&native, &a64);
    let (code, out) = check(&app);
    assert_eq!(code, Some(0), "{out}");
    let line = out.lines().last().unwrap();
    assert!(
        line.contains(": OK: ") && line.contains(" functions, "),
        "{line}"
    );
    assert!(
        line.contains("shared text ") && line.contains("ISA-private"),
        "{line}"
    );
    // --verbose lists what both ISAs keep apart (musl's _init, for one).
    let out = Command::new(UNIMIG)
        .args(["check", "--verbose"])
        .arg(&app)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("ISA-private on both ISAs"));
}

/// The x86-64 image of the laid-out program with an AArch64 image linked plainly by lld.
#[test]
fn check_fails_naming_the_symbol_on_a_misaligned_pair() {
    let dir = tempfile::tempdir().unwrap();
    let app = build(dir.path());
    let lib = sysroot("aarch64").join("lib");
    let plain = dir.path().join("plain.aarch64");
    checked(
        Command::new("ld.lld-19")
            .args(["-m", "aarch64linux", "-static", "--gc-sections", "-o"])
            .arg(&plain)
            .arg(lib.join("crt1.o"))
            .arg(lib.join("crti.o"))
            .arg(dir.path().join("addr_main.aarch64.o"))
            .arg(dir.path().join("addr_lib.aarch64.o"))
            .arg(dir.path().join("addr_more.aarch64.o"))
            .arg("--start-group")
            .arg(lib.join("libc.a"))
            .arg(lib.join("libgcc.a"))
            .arg("--end-group")
            .arg(lib.join("crtn.o"))
            .output()
            .unwrap(),
        "ld.lld-19",
    );
    let bad = dir.path().join("bad");
    with_image(&app, &plain, &bad);
    let (code, out) = check(&bad);
    assert_eq!(code, Some(1), "{out}");
    let main = out
        .lines()
        .find(|l| l.contains("mismatch: function main:"))
        .unwrap_or_else(|| panic!("main not named:\n{out}"));
    let re_ok = main.contains(": x86_64 0x") && main.contains(", aarch64 0x");
    assert!(re_ok, "{main}");
    assert!(
        out.contains("mismatch: function twice [addr_lib.c]:"),
        "{out}"
    );
    assert!(out.contains("mismatch: object global_init:"), "{out}");
    assert!(
        out.lines().last().unwrap().contains(" mismatches; "),
        "{out}"
    );
}

/// One changed byte in the AArch64 image's copy of `global_init` is found and named.
#[test]
fn check_names_a_tampered_object() {
    let dir = tempfile::tempdir().unwrap();
    let app = build(dir.path());
    let fat = fs::read(&app).unwrap();
    let mut image = unimig_common::fat::aarch64_image(&fat).unwrap().to_vec();
    let offset = {
        let file = object::File::parse(&*image).unwrap();
        let sym = file
            .symbols()
            .find(|s| s.name() == Ok("global_init"))
            .unwrap();
        let section = file.section_by_index(sym.section_index().unwrap()).unwrap();
        let (start, _) = section.file_range().unwrap();
        (start + sym.address() - section.address()) as usize
    };
    image[offset] ^= 0x55;
    let tampered = dir.path().join("tampered.aarch64");
    fs::write(&tampered, &image).unwrap();
    let bad = dir.path().join("bad");
    with_image(&app, &tampered, &bad);
    let (code, out) = check(&bad);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("mismatch: bytes of global_init: x86_64 0x"),
        "{out}"
    );
    assert_eq!(out.matches(": mismatch: ").count(), 1, "{out}");
}
