//! Starting the program on one ISA as a supervised child.
//!
//! `posix_spawn` rather than `std::process::Command`: the environment must reach the program
//! in exactly the order we give it (Command sorts it by name, and the order is observable),
//! and two descriptors must land at fixed high numbers so the program's own descriptors are
//! numbered as in an unsupervised run:
//!
//! * fd 1000 (`CTL_FD`): the child's end of the control socket (docs/migration.md, section 1);
//! * fd 1001 (`IMAGE_FD`, AArch64 only): a memfd with the AArch64 image, which qemu-aarch64
//!   opens through `/proc/self/fd/1001` (at a low number it would shift the program's first
//!   `open()` from 3 to 4).
//!
//! The child gets default dispositions for SIGINT and SIGQUIT (the supervisor ignores them: a
//! Ctrl-C reaches the whole process group, the program decides, the supervisor reports).

use anyhow::{anyhow, Context, Result};
use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use unimig_common::Isa;

pub const CTL_FD: i32 = 1000;
pub const IMAGE_FD: i32 = 1001;

/// What every child of one supervised program shares.
pub struct Launcher {
    /// The fat executable (its path, as the program's argv[0] shows it).
    pub path: PathBuf,
    pub arg0: OsString,
    pub args: Vec<OsString>,
    /// The environment the program sees, in order.
    pub environment: Vec<OsString>,
    /// The AArch64 image in a memfd, and qemu-aarch64, when that ISA is used.
    pub aarch64: Option<(File, PathBuf)>,
}

/// A started child: its pid and the supervisor's end of its control socket.
pub struct Spawned {
    pub pid: libc::pid_t,
    pub control: UnixStream,
}

impl Launcher {
    /// Prepares the AArch64 side (memfd + qemu) once.
    pub fn with_aarch64(mut self, image: &[u8], qemu: PathBuf) -> Result<Self> {
        self.aarch64 = Some((image_memfd(image)?, qemu));
        Ok(self)
    }

    /// Starts the program on `isa` with `extra` variables (`UNIMIG_*`) appended to its
    /// environment.
    pub fn spawn(&self, isa: Isa, extra: &[(String, String)]) -> Result<Spawned> {
        let (ours, theirs) = UnixStream::pair().context("creating the control socket")?;
        let mut environment = self.environment.clone();
        environment.extend(
            extra
                .iter()
                .map(|(k, v)| OsString::from(format!("{k}={v}"))),
        );
        let (program, argv, image_fd) = match isa {
            Isa::X86_64 => {
                let mut argv = vec![self.arg0.clone()];
                argv.extend(self.args.iter().cloned());
                (self.path.clone(), argv, None)
            }
            Isa::Aarch64 => {
                let (memfd, qemu) = self
                    .aarch64
                    .as_ref()
                    .ok_or_else(|| anyhow!("the AArch64 image was not prepared"))?;
                let mut argv: Vec<OsString> =
                    vec![qemu.clone().into(), "-0".into(), self.arg0.clone()];
                argv.push(format!("/proc/self/fd/{IMAGE_FD}").into());
                argv.extend(self.args.iter().cloned());
                // qemu-user 7.2 hands its environment to the guest in reverse order.
                environment.reverse();
                (qemu.clone(), argv, Some(memfd.as_raw_fd()))
            }
        };
        let pid = posix_spawn(&program, &argv, &environment, theirs.as_raw_fd(), image_fd)
            .with_context(|| format!("cannot execute {}", program.display()))?;
        drop(theirs);
        Ok(Spawned { pid, control: ours })
    }
}

/// The current environment, in order, as `KEY=VALUE` entries.
pub fn current_environment() -> Vec<OsString> {
    std::env::vars_os()
        .map(|(key, value)| {
            let mut entry = key;
            entry.push("=");
            entry.push(value);
            entry
        })
        .collect()
}

fn cstring(s: &std::ffi::OsStr) -> Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| anyhow!("NUL byte in {:?}", s))
}

fn check(r: libc::c_int, what: &str) -> Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(anyhow!(std::io::Error::from_raw_os_error(r)).context(what.to_string()))
    }
}

fn posix_spawn(
    program: &Path,
    argv: &[OsString],
    environment: &[OsString],
    control: i32,
    image: Option<i32>,
) -> Result<libc::pid_t> {
    let program = cstring(program.as_os_str())?;
    let argv: Vec<CString> = argv.iter().map(|a| cstring(a)).collect::<Result<_>>()?;
    let envp: Vec<CString> = environment
        .iter()
        .map(|e| cstring(e))
        .collect::<Result<_>>()?;
    let mut argv_ptrs: Vec<*mut libc::c_char> = argv.iter().map(|a| a.as_ptr() as *mut _).collect();
    argv_ptrs.push(std::ptr::null_mut());
    let mut env_ptrs: Vec<*mut libc::c_char> = envp.iter().map(|e| e.as_ptr() as *mut _).collect();
    env_ptrs.push(std::ptr::null_mut());
    // SAFETY: the attribute and file-action objects are initialised before use and destroyed
    // after; every pointer passed outlives the call; posix_spawn copies what it needs.
    unsafe {
        let mut actions: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        check(
            libc::posix_spawn_file_actions_init(&mut actions),
            "posix_spawn_file_actions_init",
        )?;
        check(
            libc::posix_spawnattr_init(&mut attr),
            "posix_spawnattr_init",
        )?;
        // dup2 onto the fixed numbers (dup2 clears close-on-exec on the copy).
        check(
            libc::posix_spawn_file_actions_adddup2(&mut actions, control, CTL_FD),
            "dup2 of the control socket",
        )?;
        if let Some(fd) = image {
            check(
                libc::posix_spawn_file_actions_adddup2(&mut actions, fd, IMAGE_FD),
                "dup2 of the image memfd",
            )?;
        }
        let mut defaults: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut defaults);
        libc::sigaddset(&mut defaults, libc::SIGINT);
        libc::sigaddset(&mut defaults, libc::SIGQUIT);
        libc::sigaddset(&mut defaults, libc::SIGPIPE);
        check(
            libc::posix_spawnattr_setsigdefault(&mut attr, &defaults),
            "posix_spawnattr_setsigdefault",
        )?;
        check(
            libc::posix_spawnattr_setflags(&mut attr, libc::POSIX_SPAWN_SETSIGDEF as _),
            "posix_spawnattr_setflags",
        )?;
        let mut pid: libc::pid_t = 0;
        let r = libc::posix_spawn(
            &mut pid,
            program.as_ptr(),
            &actions,
            &attr,
            argv_ptrs.as_ptr(),
            env_ptrs.as_ptr(),
        );
        libc::posix_spawn_file_actions_destroy(&mut actions);
        libc::posix_spawnattr_destroy(&mut attr);
        check(r, "posix_spawn")?;
        Ok(pid)
    }
}

/// A memfd holding `image`; close-on-exec (the child gets its dup at `IMAGE_FD`).
fn image_memfd(image: &[u8]) -> Result<File> {
    // SAFETY: memfd_create takes a NUL-terminated name and flags; it returns a new fd or -1.
    let fd = unsafe { libc::memfd_create(c"unimig-aarch64".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(anyhow!(std::io::Error::last_os_error()).context("memfd_create"));
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    let mut file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.write_all(image)
        .context("writing the aarch64 image to a memfd")?;
    Ok(file)
}
