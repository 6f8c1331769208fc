//! The private temporary directory that holds per-ISA objects and fat objects on their way to
//! the output or the linker. It is removed when unimig-cc exits; with `UNIMIG_KEEP_TEMPS=1` it
//! is kept for debugging (with the bitcode, see `compile.rs`) and its path printed. A fatal LLVM
//! error, which ends the process without unwinding, removes it too (`pipeline.rs`).

use anyhow::{Context, Result};
use std::path::Path;
use tempfile::TempDir;

pub struct Scratch {
    dir: Option<TempDir>,
    keep: bool,
}

impl Scratch {
    pub fn new() -> Result<Scratch> {
        let dir = tempfile::Builder::new()
            .prefix("unimig-cc-")
            .tempdir()
            .context("creating a temporary directory")?;
        let keep = std::env::var_os("UNIMIG_KEEP_TEMPS").is_some_and(|v| !v.is_empty() && v != "0");
        if !keep {
            crate::pipeline::remove_on_fatal_error(dir.path());
        }
        Ok(Scratch {
            dir: Some(dir),
            keep,
        })
    }

    /// Whether the directory is kept (`UNIMIG_KEEP_TEMPS`).
    pub fn kept(&self) -> bool {
        self.keep
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
        if let Some(dir) = &self.dir {
            crate::pipeline::keep_on_fatal_error(dir.path());
        }
        if let (true, Some(dir)) = (self.keep, self.dir.take()) {
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
