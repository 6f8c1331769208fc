//! Helpers for the integration tests: fat objects made by hand (clang-19 for both ISAs +
//! llvm-objcopy-19, as unimig-cc does), the stage directory from `make build`, and running a
//! fat executable natively and under qemu-aarch64.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const FLAGS: &[&str] = &[
    "-nostdlibinc",
    "-fsigned-char",
    "-ffp-contract=off",
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-common",
    "-fno-pic",
    "-fno-pie",
    "-O2",
];

/// `build/stage`, which `make build` fills; a test that needs it fails without it.
pub fn stage() -> PathBuf {
    let stage = Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/stage");
    let libc = stage.join("lib/unimig/sysroots/aarch64-linux-musl/lib/libc.a");
    assert!(
        libc.exists(),
        "{} not found: run `make build` in the unimig source tree first",
        libc.display()
    );
    stage.canonicalize().unwrap()
}

pub fn sysroot(isa: &str) -> PathBuf {
    stage()
        .join("lib/unimig/sysroots")
        .join(format!("{isa}-linux-musl"))
}

fn check(what: &str, out: Output) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Compiles `src` (named `name`.c in `dir`) into the fat object `dir/name.o`.
pub fn fat_object(dir: &Path, name: &str, src: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    fs::write(&c, src).unwrap();
    let mut halves = Vec::new();
    for isa in ["x86_64", "aarch64"] {
        let out = dir.join(format!("{name}.{isa}.o"));
        let include = sysroot(isa).join("include");
        let status = Command::new("clang-19")
            .arg(format!("--target={isa}-linux-musl"))
            .args(FLAGS)
            .arg("-isystem")
            .arg(&include)
            .arg("-c")
            .arg(&c)
            .arg("-o")
            .arg(&out)
            .output()
            .expect("clang-19 not found: run `make setup`");
        check("clang-19", status);
        halves.push(out);
    }
    let fat = dir.join(format!("{name}.o"));
    let out = Command::new("llvm-objcopy-19")
        .arg(format!(
            "--add-section=.unimig.aarch64={}",
            halves[1].display()
        ))
        .args(["--set-section-flags", ".unimig.aarch64=exclude,readonly"])
        .arg(&halves[0])
        .arg(&fat)
        .output()
        .unwrap();
    check("llvm-objcopy-19", out);
    fat
}

/// The plain x86-64 object of `name` (made by [`fat_object`]).
pub fn host_object(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.x86_64.o"))
}

/// `ar rcs` (GNU ar) of `members`.
pub fn archive(path: &Path, members: &[&Path], mode: &str) -> PathBuf {
    let _ = fs::remove_file(path);
    let out = Command::new("ar")
        .arg(mode)
        .arg(path)
        .args(members)
        .output()
        .unwrap();
    check("ar", out);
    path.to_path_buf()
}

/// Runs `cmd` with `stdin`, returns the output.
pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Writes the AArch64 image embedded in fat executable `exe` to `exe.a64` and returns it.
pub fn extract_image(exe: &Path) -> PathBuf {
    let data = fs::read(exe).unwrap();
    let image = unimig_common::fat::aarch64_image(&data).expect("a fat executable");
    let path = exe.with_extension("a64");
    fs::write(&path, image).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Runs fat executable `exe` natively and its AArch64 image under qemu-aarch64; returns both.
pub fn run_both(exe: &Path, args: &[&str], stdin: &[u8]) -> (Output, Output) {
    let mut native = Command::new(exe);
    native.args(args);
    let native = run_with_stdin(native, stdin);
    let mut qemu = Command::new("qemu-aarch64");
    qemu.arg(extract_image(exe)).args(args);
    (native, run_with_stdin(qemu, stdin))
}

/// Asserts that both ISAs printed the same bytes and exited the same way.
pub fn assert_same(native: &Output, aarch64: &Output) {
    assert_eq!(
        String::from_utf8_lossy(&native.stdout),
        String::from_utf8_lossy(&aarch64.stdout),
        "stdout differs between x86-64 and aarch64"
    );
    assert_eq!(native.stdout, aarch64.stdout);
    assert_eq!(
        native.status.code(),
        aarch64.status.code(),
        "exit status differs"
    );
}
