//! `unimig`: runs and takes apart fat executables built by unimig.
//!
//! One module per subcommand under [`cmd`]; each has an `Args` (clap) and a `run` function.
//!
//! Exit status: a subcommand's own (for `run` and `restore`, the program's; for `check`,
//! 1 when the images differ); 1 when unimig itself fails; 2 for usage errors (clap); 127 when
//! `unimig run` cannot start the program (APP or qemu-aarch64 not found or not executable).

mod checkpoint_dir;
mod cmd;
mod fatexe;
mod metadata;
mod supervise;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use unimig_common::diag;

const TOOL: &str = "unimig";

#[derive(Parser)]
#[command(
    name = "unimig",
    version,
    about = "Run and inspect unimig fat executables (x86-64 + AArch64)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a fat executable on one ISA (AArch64 under qemu-aarch64)
    Run(cmd::run::Args),
    /// Write APP's two images as plain executables PREFIX.x86_64 and PREFIX.aarch64
    Split(cmd::split::Args),
    /// Check that APP's two images give everything the program can observe the same address
    Check(cmd::check::Args),
    /// List APP's migration metadata per ISA: functions, call sites, live values (--json)
    Inspect(cmd::inspect::Args),
    /// Move the program of a running `unimig run` (PID) to the other ISA
    Migrate(cmd::migrate::Args),
    /// Write a checkpoint of the program of a running `unimig run` (PID) into a directory
    Checkpoint(cmd::checkpoint::Args),
    /// Resume a program from a checkpoint directory, on either ISA
    Restore(cmd::restore::Args),
}

/// A failure with the exit status it should produce.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn with_code(code: u8, error: anyhow::Error) -> Failure {
        Failure { code, error }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure { code: 1, error }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd::run::run(args),
        Command::Split(args) => cmd::split::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Inspect(args) => cmd::inspect::run(args),
        Command::Migrate(args) => cmd::migrate::run(args),
        Command::Checkpoint(args) => cmd::checkpoint::run(args),
        Command::Restore(args) => cmd::restore::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { code, error }) => {
            diag::error(TOOL, diag::chain(&error));
            ExitCode::from(code)
        }
    }
}
