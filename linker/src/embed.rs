//! Pass 5: embed the AArch64 image in the x86-64 one and write the output atomically.
//!
//! `llvm-objcopy --add-section .unimig.image.aarch64=<aarch64 image> --set-section-flags
//! .unimig.image.aarch64=readonly` (a non-allocated `SHT_PROGBITS` section) writes a temporary
//! file in the output's directory, which gets mode 0755 and is renamed over the output. On any
//! failure the temporary file is removed and the output path is left untouched.

use anyhow::{bail, Context, Result};
use std::fs;
use std::path::Path;
use std::process::Command;
use unimig_common::fat::{elf_machine, IMAGE_SECTION};
use unimig_common::output::write_executable;

pub fn write_fat(objcopy: &Path, host: &Path, image: &Path, output: &Path) -> Result<()> {
    let bytes = fs::read(image).with_context(|| format!("reading {}", image.display()))?;
    if elf_machine(&bytes) != Some(object::elf::EM_AARCH64) {
        bail!(
            "the aarch64 image {} is not an AArch64 ELF file",
            image.display()
        );
    }
    write_executable(output, |tmp| embed(objcopy, host, image, tmp))
        .with_context(|| format!("writing output {}", output.display()))
}

/// Runs llvm-objcopy: `host` plus section [`IMAGE_SECTION`] holding `image`, written to `out`.
fn embed(objcopy: &Path, host: &Path, image: &Path, out: &Path) -> Result<()> {
    let mut section = std::ffi::OsString::from(format!("{IMAGE_SECTION}="));
    section.push(image);
    let result = Command::new(objcopy)
        .arg("--add-section")
        .arg(section)
        .arg("--set-section-flags")
        .arg(format!("{IMAGE_SECTION}=readonly"))
        .arg(host)
        .arg(out)
        .output()
        .with_context(|| format!("running {}", objcopy.display()))?;
    if !result.status.success() {
        bail!(
            "embedding the aarch64 image with {} failed: {}",
            objcopy.display(),
            String::from_utf8_lossy(&result.stderr).trim()
        );
    }
    Ok(())
}

/// Removes the symbol table and other non-allocated sections from `image` in place (`-s`):
/// done after the check, which needs the symbols.
pub fn strip_all(objcopy: &Path, image: &Path) -> Result<()> {
    let result = Command::new(objcopy)
        .arg("--strip-all")
        .arg(image)
        .output()
        .with_context(|| format!("running {}", objcopy.display()))?;
    if !result.status.success() {
        bail!(
            "stripping {} with {} failed: {}",
            image.display(),
            objcopy.display(),
            String::from_utf8_lossy(&result.stderr).trim()
        );
    }
    Ok(())
}
