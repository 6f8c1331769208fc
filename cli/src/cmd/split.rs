//! `unimig split APP [-o PREFIX]`: writes `PREFIX.x86_64` (APP without the embedded image) and
//! `PREFIX.aarch64` (the embedded image), both plain static executables with mode 0755.
//! PREFIX defaults to APP.

use crate::fatexe::FatExe;
use crate::Failure;
use anyhow::{bail, Context};
use std::ffi::OsString;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use unimig_common::fat::IMAGE_SECTION;
use unimig_common::output::write_executable;
use unimig_common::toolchain::LlvmTool;
use unimig_common::Isa;

#[derive(clap::Args)]
pub struct Args {
    /// The fat executable
    app: PathBuf,
    /// Prefix of the outputs (default: APP)
    #[arg(short = 'o', long = "output", value_name = "PREFIX")]
    prefix: Option<PathBuf>,
}

/// `PREFIX.<isa>`.
fn output_path(prefix: &std::path::Path, isa: Isa) -> PathBuf {
    let mut name = OsString::from(prefix.as_os_str());
    name.push(".");
    name.push(isa.name());
    PathBuf::from(name)
}

pub fn run(args: Args) -> Result<(), Failure> {
    let fat = FatExe::read(&args.app)?;
    let image = fat.aarch64_image()?;
    let prefix = args.prefix.unwrap_or_else(|| args.app.clone());

    let a64 = output_path(&prefix, Isa::Aarch64);
    write_executable(&a64, |tmp| {
        fs::write(tmp, image).with_context(|| format!("writing {}", tmp.display()))
    })?;

    let objcopy = LlvmTool::Objcopy.path()?;
    let x86 = output_path(&prefix, Isa::X86_64);
    write_executable(&x86, |tmp| {
        let out = Command::new(&objcopy)
            .arg("--remove-section")
            .arg(IMAGE_SECTION)
            .arg(&args.app)
            .arg(tmp)
            .output()
            .with_context(|| format!("running {}", objcopy.display()))?;
        if !out.status.success() {
            bail!(
                "removing {IMAGE_SECTION} from {} failed: {}",
                args.app.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    })?;
    Ok(())
}
