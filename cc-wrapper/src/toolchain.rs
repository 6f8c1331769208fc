//! The tools unimig-cc drives, and the flags that make the two compiles of a file agree.

use anyhow::{bail, Result};
use std::ffi::OsString;
use std::path::PathBuf;
use unimig_common::toolchain::{Installation, LlvmTool, Sysroot, SETUP_HINT};
use unimig_common::Isa;

/// clang, the installation (sysroots, `ld.unimig`), found once per run.
pub struct Toolchain {
    pub clang: PathBuf,
    installation: Installation,
}

impl Toolchain {
    pub fn locate() -> Result<Toolchain> {
        Ok(Toolchain {
            clang: LlvmTool::Clang.path()?,
            installation: Installation::locate()?,
        })
    }

    /// The sysroot for `isa`; its absence is an error that says to run `make setup`.
    pub fn sysroot(&self, isa: Isa) -> Result<Sysroot> {
        self.installation.sysroot(isa)
    }

    /// `PREFIX/bin/ld.unimig`, which links both ISAs and writes the fat executable.
    pub fn linker(&self) -> Result<PathBuf> {
        let path = self.installation.tool("ld.unimig");
        if !path.is_file() {
            bail!(
                "the unimig linker {} was not found; {SETUP_HINT}",
                path.display()
            );
        }
        Ok(path)
    }
}

/// Flags before the user's. `-fsigned-char` is a default the user may override with
/// `-funsigned-char`, which then applies to both ISAs alike (they must agree, not be signed).
pub fn leading_flags(isa: Isa) -> Vec<OsString> {
    vec![
        format!("--target={}", isa.triple()).into(),
        "-fsigned-char".into(),
    ]
}

/// Flags after the user's, so they win over any contrary flag (clang takes the last one):
/// these are what the linker and the migration rely on (docs/formats.md).
/// * `-ffp-contract=off`: no FMA contraction, so floating-point results match bit for bit;
/// * `-ffunction-sections -fdata-sections -fno-common`: one section per function and variable,
///   the unit the linker gives the same address on both ISAs;
/// * `-fno-pic -fno-pie`: images are static and non-PIE;
/// * `-nostdlibinc -isystem SYSROOT/include`: musl's headers for this ISA, never the host's;
/// * AArch64 only, `-mno-global-merge`: LLVM's GlobalMerge pass (on by default at -O1 and
///   above for AArch64 alone) folds a file's static variables into one `_MergedGlobals` blob,
///   which would stop them being separate sections placed at the same address as on x86-64.
pub fn trailing_flags(sysroot: &Sysroot) -> Vec<OsString> {
    let mut flags: Vec<OsString> = [
        "-ffp-contract=off",
        "-ffunction-sections",
        "-fdata-sections",
        "-fno-common",
        "-fno-pic",
        "-fno-pie",
        "-nostdlibinc",
        "-isystem",
    ]
    .map(OsString::from)
    .into();
    flags.push(sysroot.include_dir().into());
    if sysroot.isa == Isa::Aarch64 {
        flags.push("-mno-global-merge".into());
    }
    flags
}
