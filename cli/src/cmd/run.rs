//! `unimig run [--isa x86_64|aarch64] APP [ARGS...]`
//!
//! * x86_64: execs APP itself (argv[0] = APP as given), so stdin/stdout/stderr, the exit status
//!   and death by a signal pass through unchanged.
//! * aarch64: copies the embedded AArch64 image into a memfd (no file on disk) and execs
//!   `qemu-aarch64 -0 APP /proc/self/fd/N ARGS...`. qemu 7.2 opens the image through that path;
//!   the guest program sees APP as its argv[0]. The memfd stays open (as fd N) in the guest.
//!   When qemu's guest dies by a signal, qemu kills itself with the same signal, so the status
//!   passes through as well.
//!
//! APP is a path; a bare name that is not a file in the current directory is looked up on PATH.
//! Exit status when the program cannot be started: 127 (APP or qemu-aarch64 not found or not
//! executable), 1 (APP is not a fat executable, or the image could not be prepared).

use crate::fatexe::FatExe;
use crate::supervise::{self, control::Exit, spawn, spawn::Launcher, transfer::Transfer};
use crate::Failure;
use anyhow::anyhow;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use unimig_common::toolchain::{find_on_path, qemu_aarch64};
use unimig_common::Isa;

/// Exit status when the program cannot be started.
pub const CANNOT_START: u8 = 127;

#[derive(clap::Args)]
pub struct Args {
    /// ISA to run the program on
    #[arg(long, default_value = "x86_64", value_name = "x86_64|aarch64")]
    isa: Isa,
    /// Migrate to the other ISA when the program reaches its N-th migration point (counted
    /// from the start, across ISAs), for each N: a list ping-pongs
    #[arg(long, value_name = "N[,N...]")]
    migrate_at: Option<String>,
    /// Write a JSON report of the migrations (timings, sizes, failures) to FILE
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Count the migration points the program reaches (the report's "points"; slower: every
    /// poll calls the runtime)
    #[arg(long)]
    count_points: bool,
    /// The fat executable, then the arguments for the program, passed verbatim (even
    /// `--help`: everything after APP belongs to the program)
    #[arg(
        value_name = "APP [ARGS]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<OsString>,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let mut command = args.command.into_iter();
    let app = command.next().expect("clap requires APP");
    let path = locate(&app)?;
    let migrate_at = parse_points(args.migrate_at.as_deref())?;
    let launch = Launch {
        path,
        arg0: app,
        args: command.collect(),
    };
    let options = supervise::Options {
        isa: args.isa,
        migrate_at,
        report: args.report,
        count_points: args.count_points,
        restore_from: None,
    };
    exit_like(launch.supervise(options)?)
}

/// `--migrate-at N[,N...]`: positive, strictly increasing.
pub fn parse_points(list: Option<&str>) -> Result<Vec<u64>, Failure> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let mut points = Vec::new();
    for item in list.split(',') {
        let n: u64 = item
            .trim()
            .parse()
            .map_err(|_| usage(format!("--migrate-at: {item:?} is not a point number")))?;
        if n == 0 || points.last().is_some_and(|&last| n <= last) {
            return Err(usage(format!(
                "--migrate-at: points must be positive and increasing (got {list})"
            )));
        }
        points.push(n);
    }
    Ok(points)
}

fn usage(message: String) -> Failure {
    Failure::with_code(2, anyhow!(message))
}

/// A program to start under the supervisor.
pub struct Launch {
    pub path: PathBuf,
    pub arg0: OsString,
    pub args: Vec<OsString>,
}

impl Launch {
    /// Prepares both ISAs (the AArch64 image in a memfd, qemu) and supervises the program.
    pub fn supervise(self, options: supervise::Options) -> Result<Exit, Failure> {
        let fat = FatExe::read(&self.path).map_err(|e| Failure::with_code(CANNOT_START, e))?;
        // Kept for the supervisor's lifetime (the images borrow it).
        let data: &'static [u8] = Box::leak(fat.data.into_boxed_slice());
        let mut launcher = Launcher {
            path: self.path.clone(),
            arg0: self.arg0,
            args: self.args,
            environment: spawn::current_environment(),
            aarch64: None,
        };
        // The AArch64 side is needed to start there or to migrate there; without qemu an
        // x86-64 run still works (a migration request then fails with qemu's error).
        // Not a fat executable: status 1 (127 is for a program that cannot be started).
        let image = unimig_common::fat::aarch64_image(data).map_err(|e| {
            Failure::with_code(
                1,
                e.context(format!(
                    "{} is not a unimig fat executable",
                    self.path.display()
                )),
            )
        })?;
        match qemu_aarch64() {
            Ok(qemu) => launcher = launcher.with_aarch64(image, qemu)?,
            Err(e) if options.isa == Isa::Aarch64 || !options.migrate_at.is_empty() => {
                return Err(Failure::with_code(CANNOT_START, e))
            }
            Err(_) => {}
        }
        let transfer = Transfer::new(data);
        supervise::supervise(launcher, transfer, options).map_err(|e| {
            let code = if e.downcast_ref::<supervise::StartFailed>().is_some() {
                CANNOT_START
            } else {
                1
            };
            Failure::with_code(code, e)
        })
    }
}

/// Ends this process the way the program ended: its exit status, or death by its signal.
pub fn exit_like(exit: Exit) -> Result<(), Failure> {
    match exit {
        Exit::Code(code) => std::process::exit(code),
        Exit::Signal(signal) => {
            // SAFETY: restoring the default disposition and signalling ourselves.
            unsafe {
                libc::signal(signal, libc::SIG_DFL);
                libc::kill(libc::getpid(), signal);
            }
            std::process::exit(128 + signal)
        }
    }
}

/// The file APP names: itself if it has a `/` or exists here, else the PATH entry.
pub fn locate(app: &OsString) -> Result<PathBuf, Failure> {
    let path = Path::new(app);
    if app.to_string_lossy().contains('/') || path.exists() {
        if !path.exists() {
            return Err(Failure::with_code(
                CANNOT_START,
                anyhow!("{}: no such file", path.display()),
            ));
        }
        // A bare name found here: run it as ./name, not via PATH.
        return Ok(if path.components().count() == 1 {
            Path::new(".").join(path)
        } else {
            path.to_path_buf()
        });
    }
    find_on_path(&app.to_string_lossy()).ok_or_else(|| {
        Failure::with_code(
            CANNOT_START,
            anyhow!(
                "{}: no such file (not in the current directory or on PATH)",
                path.display()
            ),
        )
    })
}
