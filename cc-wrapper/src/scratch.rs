//! The private temporary directory that holds per-ISA objects and fat objects on their way to
//! the output or the linker. It is removed when unimig-cc exits; with `UNIMIG_KEEP_TEMPS=1` it
//! is kept for debugging and its path printed.

use anyhow::{Context, Result};
use std::path::Path;
use tempfile::TempDir;

pub struct Scratch {
    dir: Option<TempDir>,
}

impl Scratch {
    pub fn new() -> Result<Scratch> {
        let dir = tempfile::Builder::new()
            .prefix("unimig-cc-")
            .tempdir()
            .context("creating a temporary directory")?;
        Ok(Scratch { dir: Some(dir) })
    }

    pub fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("the scratch directory lives until drop")
            .path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let keep = std::env::var_os("UNIMIG_KEEP_TEMPS").is_some_and(|v| !v.is_empty() && v != "0");
        if let (true, Some(dir)) = (keep, self.dir.take()) {
            let path = dir.keep();
            unimig_common::diag::warning(
                crate::exec::TOOL,
                format_args!(
                    "UNIMIG_KEEP_TEMPS: temporary files kept in {}",
                    path.display()
                ),
            );
        }
    }
}
