//! Ctrl-C and `kill` while compiling: the temporary files must still be removed.
//!
//! Once unimig-cc has temporary files (the `-c` and link modes), SIGINT, SIGTERM and SIGHUP
//! are only recorded. A Ctrl-C reaches the clang children too (same process group), so they
//! stop and unimig-cc unwinds normally, removing its files; then [`reraise`] ends unimig-cc by
//! the same signal, so `make` sees an interrupted compiler, not a failed one. The in-process
//! back end cannot be stopped half-way; a signal that arrives while it runs takes effect when it
//! returns (one file's code generation later). The handlers are installed after standard input
//! has been read, so an interrupted read still interrupts.

use std::sync::atomic::{AtomicI32, Ordering};

static RECEIVED: AtomicI32 = AtomicI32::new(0);

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn record(signal: libc::c_int) {
    RECEIVED.store(signal, Ordering::SeqCst);
}

/// From now on, the signals above are recorded instead of ending the process.
pub fn defer() {
    for signal in SIGNALS {
        // SAFETY: `record` only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(
                signal,
                record as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
}

/// The deferred signal, if one arrived.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// Fails once a deferred signal has arrived: called between steps, so nothing new starts and
/// no output appears after an interruption.
pub fn check() -> anyhow::Result<()> {
    match received() {
        Some(signal) => anyhow::bail!("interrupted by signal {signal}"),
        None => Ok(()),
    }
}

/// Ends the process by `signal`, with its default action (call once nothing is left to clean).
pub fn reraise(signal: i32) -> ! {
    // SAFETY: restoring the default action and raising a signal have no preconditions.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}
