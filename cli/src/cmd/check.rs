//! `unimig check APP [--verbose]`: checks that APP's two images lay out everything the
//! program can observe identically (the contract in docs/formats.md, "Address map"):
//! shared sections, every symbol in them (local symbols too), the bytes of shared data,
//! `PT_TLS`, program headers in a loaded segment.
//!
//! Prints each difference, naming the symbol with both addresses, then one summary line;
//! exits 0 only when nothing differs. Objects at the same address whose *size* differs between
//! the ISAs (an ABI difference, not a layout one: musl's `struct stat`) are printed as warnings
//! and do not fail the check. `--verbose` also lists the symbols both images define
//! in ISA-private sections (not migratable: musl's assembly internals, for example).

use crate::fatexe::FatExe;
use crate::Failure;
use anyhow::anyhow;
use std::io::Write;
use std::path::PathBuf;
use unimig_common::layout::{compare, Image};
use unimig_common::Isa;

/// Exit status when the images differ.
pub const MISMATCH: u8 = 1;

#[derive(clap::Args)]
pub struct Args {
    /// The fat executable
    app: PathBuf,
    /// Also list symbols both images keep in ISA-private sections
    #[arg(short, long)]
    verbose: bool,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let fat = FatExe::read(&args.app)?;
    let image = fat.aarch64_image()?;
    let x = Image::parse(Isa::X86_64, &fat.data)?;
    let a = Image::parse(Isa::Aarch64, image)?;
    let report = compare(&x, &a);
    let app = args.app.display();
    // A closed stdout (`| head`) must not hide the exit status.
    let mut out = std::io::stdout().lock();
    for problem in &report.problems {
        let _ = writeln!(out, "{app}: mismatch: {problem}");
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "{app}: warning: {warning}");
    }
    if args.verbose {
        for (px, pa) in &report.private_pairs {
            let _ = writeln!(
                out,
                "{app}: ISA-private on both ISAs (not migratable): {}: x86_64 {:#x} ({}), aarch64 {:#x} ({})",
                px.display(),
                px.addr,
                px.section,
                pa.addr,
                pa.section
            );
        }
    }
    if report.ok() {
        let _ = writeln!(out, "{app}: OK: {}", report.summary());
        Ok(())
    } else {
        let _ = writeln!(
            out,
            "{app}: {} mismatches; {}",
            report.problems.len(),
            report.summary()
        );
        Err(Failure::with_code(
            MISMATCH,
            anyhow!(
                "{app}: the x86-64 and AArch64 images differ ({} mismatches)",
                report.problems.len()
            ),
        ))
    }
}
