//! Where the unimig installation, its sysroots and the LLVM tools it drives live.
//!
//! Installation layout (the same for `make build`'s stage directory `build/stage` and for
//! `make install PREFIX=...`):
//!
//! ```text
//! PREFIX/bin/unimig-cc, PREFIX/bin/ld.unimig, PREFIX/bin/unimig
//! PREFIX/lib/unimig/sysroots/<triple>/include     C headers (musl)
//! PREFIX/lib/unimig/sysroots/<triple>/lib         crt1.o crti.o crtn.o libc.a libm.a ... libgcc.a
//! ```
//!
//! The prefix is found from the running executable (`PREFIX/bin/tool`), or from the
//! `UNIMIG_PREFIX` environment variable, which tests and developers may set.

use crate::Isa;
use anyhow::{bail, Result};
use std::env;
use std::path::{Path, PathBuf};

/// The message every tool prints when something `make setup` installs is missing.
pub const SETUP_HINT: &str =
    "run `make setup && make build` in the unimig source tree (or `make install`)";

/// The installation a tool runs from.
#[derive(Clone, Debug)]
pub struct Installation {
    prefix: PathBuf,
}

impl Installation {
    /// Finds the installation from `UNIMIG_PREFIX` or the running executable's location.
    pub fn locate() -> Result<Installation> {
        if let Some(prefix) = env::var_os("UNIMIG_PREFIX") {
            return Ok(Installation {
                prefix: PathBuf::from(prefix),
            });
        }
        let exe = env::current_exe()?;
        let exe = exe.canonicalize().unwrap_or(exe);
        // PREFIX/bin/<tool>
        let prefix = exe
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        Ok(Installation { prefix })
    }

    pub fn at(prefix: impl Into<PathBuf>) -> Installation {
        Installation {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    pub fn bin_dir(&self) -> PathBuf {
        self.prefix.join("bin")
    }

    /// Path of one of unimig's own executables in this installation.
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bin_dir().join(name)
    }

    /// The sysroot directory for `isa`, without checking that it exists.
    pub fn sysroot_dir(&self, isa: Isa) -> PathBuf {
        self.prefix.join("lib/unimig/sysroots").join(isa.triple())
    }

    /// The sysroot for `isa`, checked to contain what a link needs.
    pub fn sysroot(&self, isa: Isa) -> Result<Sysroot> {
        let root = self.sysroot_dir(isa);
        let sysroot = Sysroot { isa, root };
        for needed in [
            sysroot.include_dir(),
            sysroot.lib_dir().join("libc.a"),
            sysroot.lib_dir().join("crt1.o"),
        ] {
            if !needed.exists() {
                bail!(
                    "the {} sysroot is missing or incomplete ({} not found); {}",
                    isa.triple(),
                    needed.display(),
                    SETUP_HINT
                );
            }
        }
        Ok(sysroot)
    }
}

/// One ISA's sysroot: headers, start files and static libraries.
#[derive(Clone, Debug)]
pub struct Sysroot {
    pub isa: Isa,
    pub root: PathBuf,
}

impl Sysroot {
    pub fn include_dir(&self) -> PathBuf {
        self.root.join("include")
    }
    pub fn lib_dir(&self) -> PathBuf {
        self.root.join("lib")
    }
    /// A file in the library directory (`crt1.o`, `libc.a`, ...).
    pub fn lib(&self, name: &str) -> PathBuf {
        self.lib_dir().join(name)
    }
}

/// An LLVM-19 tool, looked up as `NAME-19` on PATH, then in `/usr/lib/llvm-19/bin`, and
/// overridable with an environment variable (`UNIMIG_CLANG`, `UNIMIG_LLD`, ...).
#[derive(Clone, Copy, Debug)]
pub enum LlvmTool {
    Clang,
    Lld,
    Objcopy,
    Ar,
    Readelf,
}

impl LlvmTool {
    fn names(self) -> (&'static str, &'static str, &'static str) {
        // (name on PATH, name in /usr/lib/llvm-19/bin, override variable)
        match self {
            LlvmTool::Clang => ("clang-19", "clang", "UNIMIG_CLANG"),
            LlvmTool::Lld => ("ld.lld-19", "ld.lld", "UNIMIG_LLD"),
            LlvmTool::Objcopy => ("llvm-objcopy-19", "llvm-objcopy", "UNIMIG_OBJCOPY"),
            LlvmTool::Ar => ("llvm-ar-19", "llvm-ar", "UNIMIG_AR"),
            LlvmTool::Readelf => ("llvm-readelf-19", "llvm-readelf", "UNIMIG_READELF"),
        }
    }

    /// Finds the tool, or explains how to install it.
    pub fn path(self) -> Result<PathBuf> {
        let (on_path, in_llvm_dir, var) = self.names();
        if let Some(p) = env::var_os(var) {
            return Ok(PathBuf::from(p));
        }
        if let Some(p) = find_on_path(on_path) {
            return Ok(p);
        }
        let fallback = Path::new("/usr/lib/llvm-19/bin").join(in_llvm_dir);
        if fallback.exists() {
            return Ok(fallback);
        }
        bail!("{on_path} not found (unimig needs LLVM 19); {SETUP_HINT}")
    }
}

/// `qemu-aarch64`, which runs AArch64 images on this x86-64 host.
pub fn qemu_aarch64() -> Result<PathBuf> {
    if let Some(p) = env::var_os("UNIMIG_QEMU") {
        return Ok(PathBuf::from(p));
    }
    for name in ["qemu-aarch64", "qemu-aarch64-static"] {
        if let Some(p) = find_on_path(name) {
            return Ok(p);
        }
    }
    bail!("qemu-aarch64 not found (it runs AArch64 images on this host); {SETUP_HINT}")
}

/// Looks `name` up in `PATH`, like a shell would.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
