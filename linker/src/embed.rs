//! Pass 5: embed the AArch64 image in the x86-64 one and write the output atomically.
//!
//! `llvm-objcopy --add-section .unimig.image.aarch64=<aarch64 image> --set-section-flags
//! .unimig.image.aarch64=readonly` (a non-allocated `SHT_PROGBITS` section) writes a temporary
//! file in the output's directory, which gets mode 0755 and is renamed over the output. On any
//! failure the temporary file is removed and the output path is left untouched.

use anyhow::{anyhow, bail, Context, Result};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use unimig_common::fat::{elf_machine, IMAGE_SECTION};

pub fn write_fat(objcopy: &Path, host: &Path, image: &Path, output: &Path) -> Result<()> {
    let bytes = fs::read(image).with_context(|| format!("reading {}", image.display()))?;
    if elf_machine(&bytes) != Some(object::elf::EM_AARCH64) {
        bail!(
            "the aarch64 image {} is not an AArch64 ELF file",
            image.display()
        );
    }
    if output.is_dir() {
        bail!("cannot write output {}: is a directory", output.display());
    }
    // A device such as /dev/null is written to, never replaced (renaming over it as root would
    // remove the device node).
    if fs::metadata(output).is_ok_and(|m| !m.is_file()) {
        let staged = image.with_file_name("fat.exe");
        embed(objcopy, host, image, &staged)?;
        let mut from = fs::File::open(&staged)?;
        let mut to = fs::OpenOptions::new()
            .write(true)
            .open(output)
            .with_context(|| format!("cannot write output {}", output.display()))?;
        std::io::copy(&mut from, &mut to)
            .with_context(|| format!("cannot write output {}", output.display()))?;
        return Ok(());
    }
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = output
        .file_name()
        .ok_or_else(|| anyhow!("bad output path {}", output.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create output {}", output.display()))?
        .into_temp_path();
    embed(objcopy, host, image, &tmp)?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("chmod {}", tmp.display()))?;
    tmp.persist(output)
        .map_err(|e| anyhow!("cannot write output {}: {}", output.display(), e.error))?;
    Ok(())
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
