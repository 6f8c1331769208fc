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
use crate::Failure;
use anyhow::{anyhow, Context};
use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use unimig_common::toolchain::{find_on_path, qemu_aarch64};
use unimig_common::Isa;

/// What to run.
struct Program {
    isa: Isa,
    app: OsString,
    args: Vec<OsString>,
}

/// Exit status when the program cannot be started.
pub const CANNOT_START: u8 = 127;

#[derive(clap::Args)]
pub struct Args {
    /// ISA to run the program on
    #[arg(long, default_value = "x86_64", value_name = "x86_64|aarch64")]
    isa: Isa,
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
    let args = Program {
        isa: args.isa,
        app,
        args: command.collect(),
    };
    let path = locate(&args.app)?;
    let err = match args.isa {
        Isa::X86_64 => Command::new(&path).arg0(&args.app).args(&args.args).exec(),
        Isa::Aarch64 => {
            let mut fat = FatExe::read(&path).map_err(|e| Failure::with_code(CANNOT_START, e))?;
            fat.path = PathBuf::from(&args.app);
            let image = fat.aarch64_image()?;
            let qemu = qemu_aarch64().map_err(|e| Failure::with_code(CANNOT_START, e))?;
            let memfd = image_memfd(image)?;
            let mut argv: Vec<OsString> = vec![qemu.clone().into(), "-0".into(), args.app.clone()];
            argv.push(format!("/proc/self/fd/{}", memfd.as_raw_fd()).into());
            argv.extend(args.args.iter().cloned());
            // qemu-user 7.2 hands its environment to the guest in reverse order; give it ours
            // reversed so the program sees `environ` in the order it would natively (the order
            // is observable, and the runtime copies it to a fixed address).
            let mut environment: Vec<OsString> = std::env::vars_os()
                .map(|(key, value)| {
                    let mut entry = key;
                    entry.push("=");
                    entry.push(value);
                    entry
                })
                .collect();
            environment.reverse();
            let err = execve(&qemu, &argv, &environment);
            return Err(Failure::with_code(
                CANNOT_START,
                anyhow!(err).context(format!("cannot execute {}", qemu.display())),
            ));
        }
    };
    Err(Failure::with_code(
        CANNOT_START,
        anyhow!(err).context(format!("cannot execute {}", path.display())),
    ))
}

/// The file APP names: itself if it has a `/` or exists here, else the PATH entry.
fn locate(app: &OsString) -> Result<PathBuf, Failure> {
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

/// `execve(2)` with exactly this argv and environment, in this order (std's `Command` sorts the
/// environment by name). Returns only on failure.
fn execve(program: &Path, argv: &[OsString], environment: &[OsString]) -> std::io::Error {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |s: &std::ffi::OsStr| CString::new(s.as_bytes());
    let (Ok(program), Ok(argv), Ok(environment)) = (
        c(program.as_os_str()),
        argv.iter().map(|a| c(a)).collect::<Result<Vec<_>, _>>(),
        environment
            .iter()
            .map(|e| c(e))
            .collect::<Result<Vec<_>, _>>(),
    ) else {
        return std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL byte in an argument");
    };
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = environment.iter().map(|e| e.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    // SAFETY: NUL-terminated strings and NULL-terminated arrays that outlive the call; execve
    // returns only on failure.
    unsafe { libc::execve(program.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
    std::io::Error::last_os_error()
}

/// A memfd holding `image`, inherited across exec (no `MFD_CLOEXEC`).
fn image_memfd(image: &[u8]) -> Result<File, Failure> {
    // SAFETY: memfd_create takes a NUL-terminated name and flags; it returns a new fd or -1.
    let fd = unsafe { libc::memfd_create(c"unimig-aarch64".as_ptr(), 0) };
    if fd < 0 {
        return Err(anyhow!(std::io::Error::last_os_error())
            .context("memfd_create")
            .into());
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    let mut file = unsafe { File::from_raw_fd(fd) };
    file.write_all(image)
        .context("writing the aarch64 image to a memfd")?;
    Ok(file)
}
