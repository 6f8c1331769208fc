//! Putting a finished file at its final path without ever exposing a partial one: it is written
//! to a temporary file in the destination's directory and renamed over the destination.
//! Special files (`-o /dev/null`, a FIFO) are written in place instead, as clang does: renaming
//! over `/dev/null` would replace the device.

use anyhow::{anyhow, Context, Result};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where a result goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Destination {
    File(PathBuf),
    /// `-o -`
    Stdout,
}

impl Destination {
    pub fn from_arg(arg: &std::ffi::OsStr) -> Destination {
        if arg == "-" {
            Destination::Stdout
        } else {
            Destination::File(arg.into())
        }
    }
}

/// After a failed compile, removes an old regular file at `dest`, as clang does: a stale object
/// left in place would look up to date to make.
pub fn remove_stale(dest: &Destination) {
    if let Destination::File(path) = dest {
        if fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
            let _ = fs::remove_file(path);
        }
    }
}

/// Copies `built` to `dest`, atomically for regular files, with the permissions of
/// `permissions_from` (a file clang created, so the user's umask applies).
pub fn install(built: &Path, dest: &Destination, permissions_from: &Path) -> Result<()> {
    let dest = match dest {
        Destination::Stdout => {
            let mut stdout = io::stdout().lock();
            io::copy(&mut File::open(built)?, &mut stdout).context("writing to standard output")?;
            return stdout.flush().context("writing to standard output");
        }
        Destination::File(path) => path,
    };
    let unable =
        |e: &dyn std::fmt::Display| anyhow!("unable to open output file '{}': {e}", dest.display());
    if fs::metadata(dest).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let mut out = fs::OpenOptions::new()
            .write(true)
            .open(dest)
            .map_err(|e| unable(&e))?;
        io::copy(&mut File::open(built)?, &mut out).map_err(|e| unable(&e))?;
        return Ok(());
    }
    let dir = match dest.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // Checked first so a missing directory reads like clang's message, not the temporary file's.
    fs::metadata(dir).map_err(|e| unable(&e))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| unable(&e))?;
    io::copy(&mut File::open(built)?, temp.as_file_mut()).map_err(|e| unable(&e))?;
    let permissions = fs::metadata(permissions_from)?.permissions();
    temp.as_file()
        .set_permissions(permissions)
        .map_err(|e| unable(&e))?;
    temp.persist(dest).map_err(|e| unable(&e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    #[test]
    fn replaces_the_destination_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let built = dir.path().join("built");
        fs::write(&built, b"new").unwrap();
        fs::set_permissions(&built, fs::Permissions::from_mode(0o640)).unwrap();
        let dest = dir.path().join("out.o");
        fs::write(&dest, b"old").unwrap();
        install(&built, &Destination::File(dest.clone()), &built).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn writes_special_files_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let built = dir.path().join("built");
        fs::write(&built, b"x").unwrap();
        install(&built, &Destination::File("/dev/null".into()), &built).unwrap();
        assert!(fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
    }

    #[test]
    fn a_missing_directory_is_reported_like_clang() {
        let dir = tempfile::tempdir().unwrap();
        let built = dir.path().join("built");
        fs::write(&built, b"x").unwrap();
        let dest = dir.path().join("missing/out.o");
        let err = install(&built, &Destination::File(dest.clone()), &built).unwrap_err();
        assert!(err
            .to_string()
            .starts_with(&format!("unable to open output file '{}'", dest.display())));
    }
}
