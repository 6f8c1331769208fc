//! Writing an executable output without ever exposing a partial one: the content goes to a
//! temporary file in the destination's directory, gets mode 0755 and is renamed over the
//! destination. A device such as `/dev/null` is written to in place instead: renaming over it
//! (as root) would replace the device node.

use anyhow::{anyhow, bail, Context, Result};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Creates executable `dest` by letting `fill` write the file whose path it is given (a
/// temporary file next to `dest`, or in the temporary directory when `dest` is a device). On
/// failure `dest` is untouched and the temporary file is removed.
pub fn write_executable(dest: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if dest.is_dir() {
        bail!("cannot write {}: is a directory", dest.display());
    }
    if fs::metadata(dest).is_ok_and(|m| !m.is_file()) {
        let scratch = tempfile::NamedTempFile::new()?.into_temp_path();
        fill(&scratch)?;
        let mut from = fs::File::open(&scratch)?;
        let mut to = fs::OpenOptions::new()
            .write(true)
            .open(dest)
            .with_context(|| format!("cannot write {}", dest.display()))?;
        std::io::copy(&mut from, &mut to)
            .with_context(|| format!("cannot write {}", dest.display()))?;
        return Ok(());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_leaves_the_destination_alone() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("app");
        fs::write(&dest, "old").unwrap();
        let err = write_executable(&dest, |tmp| {
            fs::write(tmp, "partial")?;
            bail!("boom")
        });
        assert!(err.is_err());
        assert_eq!(fs::read_to_string(&dest).unwrap(), "old");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temporary file left"
        );
    }

    #[test]
    fn success_replaces_with_an_executable() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("app");
        write_executable(&dest, |tmp| Ok(fs::write(tmp, "new")?)).unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "new");
        assert_eq!(
            fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }
}
