//! `unimig restore DIR [--isa ISA] [--migrate-at N,...] [--report FILE]`: resumes the program
//! checkpointed in DIR (by `unimig checkpoint`), on the ISA it stopped on or on ISA (the
//! checkpoint is transformed first), in the foreground like `unimig run`.

use super::run::{exit_like, Launch};
use crate::checkpoint_dir::{APP, CHECKPOINT};
use crate::supervise;
use crate::Failure;
use anyhow::Context;
use std::path::PathBuf;
use unimig_common::Isa;

#[derive(clap::Args)]
pub struct Args {
    /// A directory written by `unimig checkpoint`
    dir: PathBuf,
    /// ISA to resume on (default: the one the checkpoint was taken on)
    #[arg(long, value_name = "x86_64|aarch64")]
    isa: Option<Isa>,
    /// As for `unimig run`: migration points (counted from the program's start) to migrate at
    #[arg(long, value_name = "N[,N...]")]
    migrate_at: Option<String>,
    /// As for `unimig run`
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let app = args.dir.join(APP);
    let file = args.dir.join(CHECKPOINT);
    let data = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let ckpt = unimig_migrate::Checkpoint::parse(&data)
        .with_context(|| format!("{} is not a usable checkpoint", file.display()))?;
    let from = supervise::transfer::checkpoint_isa(&ckpt)?;
    let isa = args.isa.unwrap_or(from);
    let launch = Launch {
        path: app.clone(),
        arg0: app.clone().into_os_string(),
        args: Vec::new(),
    };
    // The destination's checkpoint: the file itself, or its transformation to `isa`.
    let resume = if isa == from {
        file
    } else {
        let fat: &'static [u8] = Box::leak(
            std::fs::read(&app)
                .with_context(|| format!("reading {}", app.display()))?
                .into_boxed_slice(),
        );
        let transfer = supervise::transfer::Transfer::new(fat);
        let out = std::env::temp_dir().join(format!("unimig-restore-{}.ckpt", std::process::id()));
        transfer.convert(&file, isa, &out)?;
        out
    };
    let options = supervise::Options {
        isa,
        migrate_at: super::run::parse_points(args.migrate_at.as_deref())?,
        report: args.report,
        count_points: false,
        restore_from: Some(resume),
    };
    exit_like(launch.supervise(options)?)
}
