//! Writing output files atomically: a temporary file in the same directory, mode 0755, renamed
//! over the destination, so nothing half-written is ever left at the destination.

use anyhow::{anyhow, Context, Result};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Creates executable `dest` by letting `fill` write the temporary file whose path it gets.
pub fn write_executable(dest: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = dest
        .file_name()
        .ok_or_else(|| anyhow!("bad output path {}", dest.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create {}", dest.display()))?
        .into_temp_path();
    fill(&tmp)?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot set the mode of {}", tmp.display()))?;
    tmp.persist(dest)
        .map_err(|e| anyhow!("cannot write {}: {}", dest.display(), e.error))?;
    Ok(())
}
