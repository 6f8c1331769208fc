//! `unimig migrate PID [--to ISA]`: asks the supervisor `PID` (a `unimig run`) to move its
//! program to the other ISA (or to ISA) at the next migration point, waits, and prints what
//! happened with the measured downtime.

use crate::supervise::requests::{self, Kind};
use crate::Failure;
use anyhow::anyhow;
use unimig_common::Isa;

#[derive(clap::Args)]
pub struct Args {
    /// The pid of a `unimig run` process
    pid: u32,
    /// Destination ISA (default: the other one)
    #[arg(long, value_name = "x86_64|aarch64")]
    to: Option<Isa>,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let answer = requests::send(args.pid, &Kind::Migrate { to: args.to })?;
    report(args.pid, &answer)
}

/// Prints an `ok ...` answer; turns `error ...` into a failure.
pub fn report(pid: u32, answer: &str) -> Result<(), Failure> {
    match answer.split_once(' ') {
        Some(("ok", text)) => {
            let ms = |us: &str| us.parse::<f64>().unwrap_or(f64::NAN) / 1000.0;
            let text = match text.split_once(" downtime_us=") {
                Some((what, down)) => match what.split_once(" response_us=") {
                    Some((what, resp)) => format!(
                        "{what}; response {:.2} ms, downtime {:.1} ms",
                        ms(resp),
                        ms(down)
                    ),
                    None => format!("{what}; downtime {:.1} ms", ms(down)),
                },
                None => text.to_string(),
            };
            println!("{pid}: {text}");
            Ok(())
        }
        Some(("error", text)) => Err(anyhow!("{pid}: {text}").into()),
        _ => Err(anyhow!("{pid}: unexpected answer {answer:?}").into()),
    }
}
