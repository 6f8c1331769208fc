//! Helpers shared by the integration tests: clang-19 front end, tools, sample C files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use unimig_llvm_pass::{Isa, OptLevel};

pub fn tool(name: &str) -> String {
    let prefix = std::env::var("LLVM_SYS_191_PREFIX").unwrap_or_else(|_| "/usr/lib/llvm-19".into());
    let p = Path::new(&prefix).join("bin").join(name);
    if p.exists() {
        p.to_string_lossy().into_owned()
    } else {
        format!("{name}-19")
    }
}

/// musl headers for an ISA: Debian's musl-dev (both ISAs are installed by scripts/setup.sh).
pub fn musl_include(isa: Isa) -> PathBuf {
    let deb = PathBuf::from(format!("/usr/include/{}-linux-musl", isa.name()));
    if deb.exists() {
        return deb;
    }
    let stage = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../build/stage/lib/unimig/sysroots")
        .join(format!("{}-linux-musl", isa.name()))
        .join("include");
    stage
}

pub fn musl_lib(isa: Isa) -> PathBuf {
    PathBuf::from(format!("/usr/lib/{}-linux-musl", isa.name()))
}

pub fn opt_flag(level: OptLevel) -> &'static str {
    match level {
        OptLevel::O0 => "-O0",
        OptLevel::O1 => "-O1",
        OptLevel::O2 => "-O2",
        OptLevel::O3 => "-O3",
        OptLevel::Os => "-Os",
        OptLevel::Oz => "-Oz",
    }
}

/// The front end unimig-cc runs: clang-19 for one ISA, no LLVM passes, bitcode out.
pub fn frontend(src: &Path, isa: Isa, level: OptLevel) -> Vec<u8> {
    frontend_with(src, isa, level, &[])
}

/// [`frontend`] with `extra` flags after the level (e.g. `-gline-tables-only`).
pub fn frontend_with(src: &Path, isa: Isa, level: OptLevel, extra: &[&str]) -> Vec<u8> {
    let out = tempfile::Builder::new().suffix(".bc").tempfile().unwrap();
    let mut cmd = Command::new(tool("clang"));
    cmd.arg(format!("--target={}-linux-musl", isa.name()))
        .args([
            "-fsigned-char",
            "-ffp-contract=off",
            "-ffunction-sections",
            "-fdata-sections",
        ])
        .args([
            "-fno-common",
            "-fno-pic",
            "-fno-pie",
            "-nostdlibinc",
            "-isystem",
        ])
        .arg(musl_include(isa))
        .arg(opt_flag(level))
        .args(extra)
        .args(["-Xclang", "-disable-llvm-passes", "-emit-llvm", "-c", "-o"])
        .arg(out.path())
        .arg(src);
    let st = cmd.output().expect("running clang-19");
    assert!(
        st.status.success(),
        "clang failed on {}: {}",
        src.display(),
        String::from_utf8_lossy(&st.stderr)
    );
    std::fs::read(out.path()).unwrap()
}

pub fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c")
}

/// The sample C files under tests/c.
pub fn c_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(c_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    v.sort();
    v
}

pub fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// xorshift64*: small, deterministic.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}
