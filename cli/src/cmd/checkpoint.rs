//! `unimig checkpoint PID -o DIR [--leave-running]`: asks the supervisor `PID` to write a
//! checkpoint of its program into DIR at the next migration point (docs/migration.md); the
//! program stops there unless --leave-running. `unimig restore DIR` resumes it.

use crate::supervise::requests::{self, Kind};
use crate::Failure;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The pid of a `unimig run` process
    pid: u32,
    /// Directory to write the checkpoint into (created if needed)
    #[arg(short = 'o', value_name = "DIR")]
    output: PathBuf,
    /// Keep the program running after the checkpoint is written
    #[arg(long)]
    leave_running: bool,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let dir = std::path::absolute(&args.output).unwrap_or(args.output);
    let answer = requests::send(
        args.pid,
        &Kind::Checkpoint {
            dir,
            leave_running: args.leave_running,
        },
    )?;
    super::migrate::report(args.pid, &answer)
}
