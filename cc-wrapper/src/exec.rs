//! Running child processes: showing them like clang does (`-v`, `-###`), and turning how they
//! ended into unimig-cc's exit status.

use anyhow::{bail, Result};
use std::fmt;
use std::process::{Command, ExitStatus};

/// The program name used in unimig-cc's own diagnostics.
pub const TOOL: &str = "unimig-cc";

/// A child already reported its failure (clang printed its diagnostics): exit with this code
/// and print nothing more.
#[derive(Debug)]
pub struct ExitWith(pub i32);

impl fmt::Display for ExitWith {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "child process exited with status {}", self.0)
    }
}

impl std::error::Error for ExitWith {}

/// `cmd` as clang shows commands: every word double-quoted, one leading space.
pub fn quoted(cmd: &Command) -> String {
    let mut line = String::new();
    for word in std::iter::once(cmd.get_program()).chain(cmd.get_args()) {
        line.push_str(" \"");
        for c in word.to_string_lossy().chars() {
            if matches!(c, '"' | '\\' | '$') {
                line.push('\\');
            }
            line.push(c);
        }
        line.push('"');
    }
    line
}

/// Prints `cmd` to stderr (for `-v` and `-###`).
pub fn show(cmd: &Command) {
    eprintln!("{}", quoted(cmd));
}

/// Succeeds when `status` is success. A child that exited non-zero has already explained
/// itself, so its code is passed on silently ([`ExitWith`]); one killed by a signal has not,
/// so that becomes an error naming `what` ran.
pub fn check(status: ExitStatus, what: impl FnOnce() -> String) -> Result<()> {
    use std::os::unix::process::ExitStatusExt;
    if status.success() {
        return Ok(());
    }
    if let Some(code) = status.code() {
        return Err(ExitWith(code).into());
    }
    match status.signal() {
        Some(signal) => bail!("{} was terminated by signal {signal}", what()),
        None => bail!("{} failed ({status})", what()),
    }
}

/// Reports `err` the way unimig-cc exits on it: a child's failure passes its code on silently,
/// anything else is printed as `unimig-cc: error: ...` and gives 1.
pub fn report(err: &anyhow::Error) -> i32 {
    if let Some(ExitWith(code)) = err.downcast_ref::<ExitWith>() {
        return *code;
    }
    if crate::interrupt::received().is_some() {
        // The user interrupted us; a child killed by the same Ctrl-C is no news.
        return 1;
    }
    unimig_common::diag::error(TOOL, unimig_common::diag::chain(err));
    1
}

/// The exit status of a run that carries on after a failing input, as clang does: every
/// failure is reported when it happens, the first one's code is the run's.
#[derive(Default)]
pub struct FirstFailure(i32);

impl FirstFailure {
    /// The value of `result`, or `None` after reporting its error.
    pub fn check<T>(&mut self, result: Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                let code = report(&err);
                if self.0 == 0 {
                    self.0 = code;
                }
                None
            }
        }
    }

    /// 0 if nothing failed.
    pub fn code(&self) -> i32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_clang() {
        let mut cmd = Command::new("/usr/bin/clang-19");
        cmd.args(["-DX=\"a b\"", "-c"]);
        assert_eq!(quoted(&cmd), r#" "/usr/bin/clang-19" "-DX=\"a b\"" "-c""#);
    }
}
