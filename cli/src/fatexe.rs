//! Reading fat executables (see docs/formats.md).

use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use unimig_common::fat;

/// A fat executable read into memory.
pub struct FatExe {
    pub path: PathBuf,
    pub data: Vec<u8>,
}

impl FatExe {
    pub fn read(path: &Path) -> Result<FatExe> {
        let data = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(FatExe {
            path: path.to_path_buf(),
            data,
        })
    }

    /// The embedded AArch64 executable, checked.
    pub fn aarch64_image(&self) -> Result<&[u8]> {
        fat::aarch64_image(&self.data)
            .with_context(|| format!("{} is not a unimig fat executable", self.path.display()))
    }
}
