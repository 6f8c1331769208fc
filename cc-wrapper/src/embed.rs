//! Making the fat object: the host object with the aarch64 object embedded as the section
//! `.unimig.aarch64` (docs/formats.md), done by llvm-objcopy. The section is `SHF_EXCLUDE`, so
//! any ordinary link drops it, and 8-byte aligned, so a reader can parse the embedded ELF file
//! in place. (llvm-objcopy applies `--set-section-alignment` before `--add-section`, hence a
//! second, in-place run for the alignment.)

use crate::compile::IsaObjects;
use crate::exec;
use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use unimig_common::fat::OBJECT_SECTION;

/// Writes the fat object `out` from `objects`.
pub fn embed(
    objcopy: &Path,
    objects: &IsaObjects,
    out: &Path,
    verbose: bool,
    dry_run: bool,
) -> Result<()> {
    let mut add_section = OsString::from(format!("{OBJECT_SECTION}="));
    add_section.push(&objects.aarch64);
    let mut add = Command::new(objcopy);
    add.arg("--add-section")
        .arg(add_section)
        .arg("--set-section-flags")
        .arg(format!("{OBJECT_SECTION}=exclude,readonly"))
        .arg(&objects.host)
        .arg(out);
    let mut align = Command::new(objcopy);
    align
        .arg("--set-section-alignment")
        .arg(format!("{OBJECT_SECTION}=8"))
        .arg(out);
    for mut cmd in [add, align] {
        if verbose || dry_run {
            exec::show(&cmd);
        }
        if !dry_run {
            run(&mut cmd, objcopy)?;
        }
    }
    Ok(())
}

fn run(cmd: &mut Command, objcopy: &Path) -> Result<()> {
    let tool = objcopy
        .file_name()
        .unwrap_or(objcopy.as_os_str())
        .to_string_lossy();
    let step = || format!("embedding the aarch64 object ({tool})");
    let result = cmd.output().with_context(step)?;
    if !result.status.success() {
        let stderr = String::from_utf8_lossy(&result.stderr);
        bail!("{}: {} ({})", step(), stderr.trim(), result.status);
    }
    Ok(())
}
