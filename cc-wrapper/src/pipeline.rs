//! The in-process back end: both ISAs' front-end bitcode through `unimig_llvm_pass::compile_pair`
//! (target-neutral middle end, address-stable literals, optional instrumentation, code
//! generation; the two ISAs in two threads), giving the two objects.
//!
//! LLVM's errors name the step and the ISA: `unimig-cc: error: FILE: code generation for
//! aarch64: ...`, exit status 1, and nothing is written (no object, an old one removed, the
//! scratch directory gone). LLVM's fatal errors (`LLVM ERROR: ...`) end the process from inside
//! LLVM; [`setup`] installs a hook that reports them the same way, removes what
//! [`remove_on_fatal_error`] registered and exits with 1 first. LLVM's warnings are printed as
//! `unimig-cc: warning: FILE: ...`, the host's only (the aarch64 ones repeat them).

use crate::compat;
use crate::exec::{ExitWith, TOOL};
use crate::pipeline_flags::Settings;
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use unimig_common::diag;
use unimig_llvm_pass::Report;

/// What the fatal-error hook needs: the input being compiled and what to remove.
#[derive(Default)]
struct FatalState {
    input: Option<String>,
    /// Directories and files to remove (files only if regular: `-o /dev/null` stays).
    paths: Vec<PathBuf>,
}

static FATAL_STATE: Mutex<FatalState> = Mutex::new(FatalState {
    input: None,
    paths: Vec::new(),
});

fn state() -> MutexGuard<'static, FatalState> {
    FATAL_STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sets LLVM up for this run (once, before the first compile): the user's `-mllvm` options and
/// the fatal-error hook.
pub fn setup(settings: &Settings) -> Result<()> {
    unimig_llvm_pass::on_fatal_error(|message| {
        let state = state();
        let input = state.input.as_deref().unwrap_or("<unknown>");
        diag::error(TOOL, format_args!("{input}: {message}"));
        for path in &state.paths {
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.is_dir() => drop(std::fs::remove_dir_all(path)),
                Ok(m) if m.is_file() => drop(std::fs::remove_file(path)),
                _ => {}
            }
        }
        // Not `exit`: other threads may still be inside LLVM, whose static destructors
        // `exit` would run under them.
        // SAFETY: _exit has no preconditions.
        unsafe { libc::_exit(1) }
    });
    if settings.options.stackmaps {
        // Fewer values live across calls outside the stackmap records.
        let args = unimig_llvm_pass::pipeline::stackmap_llvm_options(&settings.llvm_args);
        unimig_llvm_pass::set_llvm_options(&args)
    } else {
        unimig_llvm_pass::set_llvm_options(&settings.llvm_args)
    }
}

/// Registers `path` (a scratch directory, or a stale output) for removal on a fatal error.
pub fn remove_on_fatal_error(path: &Path) {
    state().paths.push(path.to_path_buf());
}

/// Undoes [`remove_on_fatal_error`].
pub fn keep_on_fatal_error(path: &Path) {
    state().paths.retain(|p| p != path);
}

/// The two objects from the two ISAs' bitcode of `input` (its name for messages), and the
/// record IDs of call sites whose frames cannot migrate (both ISAs' union, see
/// `unimig_llvm_pass::unsafe_sites`).
pub fn compile_pair(
    input: &str,
    x86_64: &[u8],
    aarch64: &[u8],
    settings: &Settings,
) -> Result<(Vec<u8>, Vec<u8>, Vec<u64>)> {
    state().input = Some(input.to_string());
    let result = unimig_llvm_pass::compile_pair(x86_64, aarch64, &settings.options);
    state().input = None;
    let pair = result?;
    // The host's, as for the front ends: the aarch64 ones repeat them (with other numbers).
    for warning in &pair.x86_64.warnings {
        diag::warning(TOOL, format_args!("{input}: {warning}"));
    }
    if settings.options.instruments() {
        report_compatibility(input, [&pair.x86_64.report, &pair.aarch64.report], settings)?;
    }
    let unsafe_sites = pair.unsafe_sites();
    Ok((pair.x86_64.object, pair.aarch64.object, unsafe_sites))
}

/// Prints the compatibility diagnostics (`compat.rs`); fails, as clang does after printing its
/// errors (exit status 1, no output), when the policy made any of them an error.
fn report_compatibility(input: &str, reports: [&Report; 2], settings: &Settings) -> Result<()> {
    let mut errors = 0;
    for d in compat::diagnostics(reports) {
        if let Some((severity, text)) = compat::render(&d, &settings.warnings, input) {
            eprintln!("{text}");
            errors += usize::from(severity == compat::Severity::Error);
        }
    }
    if errors > 0 {
        return Err(ExitWith(1).into());
    }
    Ok(())
}
