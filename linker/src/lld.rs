//! Passes 4 and 8: link each ISA's image with ld.lld-19, both at once, and report lld's
//! diagnostics. Each ISA is linked twice: a *probe* link, whose map tells the layout planner
//! what survives, then the *final* link, laid out by the planner's linker script.
//!
//! Both links of both ISAs get the same options, in this order:
//!
//! ```text
//! ld.lld-19 -m <emulation> -static -z norelro --gc-sections <user options> -O0
//!           probe: -T <work>/probe.ld -Map <work>/<isa>.probe.map -o <work>/<isa>.probe
//!           final: -T <work>/<isa>.ld [-Map <map>] -o <work>/<isa>.exe
//!           <inputs in command-line order>
//! ```
//!
//! * `-O0` (after the user's options, so it wins): lld does not merge `SHF_MERGE` sections, so
//!   each object's string literals stay one input section the script can place. The cost is
//!   the lost de-duplication of equal literals across objects (and no tail merging).
//! * probe `-T <work>/probe.ld`: lld's default layout (the script only `INSERT`s) with
//!   `.llvm_stackmaps` kept against `--gc-sections`, as the final scripts keep it, so the same
//!   input sections survive in both links.
//! * `-s`/`--strip-all` is not given to lld: the final images are checked by their symbols
//!   first, then stripped (see [`crate::embed`]).
//! * `-static`: images are static, non-PIE.
//! * `--gc-sections` on both: the layout planner (next step) must plan and link with the same
//!   section garbage collection on both ISAs, or unplanned orphans land at different addresses.
//!   A user's `--no-gc-sections` comes later and wins, for both ISAs alike.
//! * `-z norelro`: musl's static start-up never write-protects RELRO, so it protects nothing in
//!   these images, while it forces `.got`/`.data.rel.ro` next to each other — a constraint the
//!   cross-ISA layout would have to honour. The user's `-z relro`/`-z now` are dropped in pass 2.
//! * `-Map FILE`: the x86-64 image's map is `FILE` (it describes the file the user runs), the
//!   AArch64 image's is `FILE.aarch64`.
//!
//! Diagnostics: the x86-64 link's output is printed as lld wrote it. The AArch64 link's output,
//! with work-directory paths replaced by the user's file names, is printed only when it differs
//! (so an undefined symbol is reported once, in lld's usual words), followed by
//! `ld.unimig: note: while linking the aarch64-linux-musl image`.

use crate::substitute::Plan;
use anyhow::{Context, Result};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use unimig_common::Isa;

/// Raised when lld failed; its diagnostics have been printed already.
#[derive(Debug)]
pub struct LinkFailed;

impl std::fmt::Display for LinkFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("linking failed")
    }
}

impl std::error::Error for LinkFailed {}

/// One ISA's lld run.
#[derive(Debug)]
pub struct Job {
    pub isa: Isa,
    pub argv: Vec<OsString>,
    pub output: PathBuf,
}

/// Which of the two links of an ISA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Default layout, with a map for the planner.
    Probe,
    /// Laid out by the script `<work>/<isa>.ld`.
    Final,
}

/// Whether `option` asks lld to remove the symbol table.
pub fn is_strip_all(option: &str) -> bool {
    option == "-s" || option == "--strip-all"
}

/// The probe link's map.
pub fn probe_map(work: &Path, isa: Isa) -> PathBuf {
    work.join(format!("{}.probe.map", isa.name()))
}

/// The probe links' linker script ([`crate::script::PROBE`]), for both ISAs.
pub fn probe_script_path(work: &Path) -> PathBuf {
    work.join("probe.ld")
}

/// The final link's linker script.
pub fn script_path(work: &Path, isa: Isa) -> PathBuf {
    work.join(format!("{}.ld", isa.name()))
}

/// Where the map of `isa`'s image goes, given the user's `-Map FILE`.
pub fn map_path(map: &Path, isa: Isa) -> PathBuf {
    match isa {
        Isa::X86_64 => map.to_path_buf(),
        Isa::Aarch64 => {
            let mut name = map.as_os_str().to_os_string();
            name.push(".aarch64");
            PathBuf::from(name)
        }
    }
}

/// The lld command line (without the program) that links `isa`'s image from `inputs`.
pub fn job(isa: Isa, kind: Kind, plan: &Plan, inputs: &[OsString], work: &Path) -> Job {
    let output = match kind {
        Kind::Probe => work.join(format!("{}.probe", isa.name())),
        Kind::Final => work.join(format!("{}.exe", isa.name())),
    };
    let mut argv: Vec<OsString> = [
        "-m",
        isa.lld_emulation(),
        "-static",
        "-z",
        "norelro",
        "--gc-sections",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    argv.extend(
        plan.options
            .iter()
            .filter(|o| !is_strip_all(o))
            .map(OsString::from),
    );
    argv.push("-O0".into());
    match kind {
        Kind::Probe => {
            argv.push("-T".into());
            argv.push(probe_script_path(work).into());
            argv.push("-Map".into());
            argv.push(probe_map(work, isa).into());
        }
        Kind::Final => {
            argv.push("-T".into());
            argv.push(script_path(work, isa).into());
            if let Some(map) = &plan.map {
                argv.push("-Map".into());
                argv.push(map_path(map, isa).into());
            }
        }
    }
    argv.push("-o".into());
    argv.push(output.clone().into());
    argv.extend(inputs.iter().cloned());
    Job { isa, argv, output }
}

/// Runs both jobs concurrently and prints their diagnostics. Fails with [`LinkFailed`] if
/// either link failed. With `quiet`, diagnostics are printed only on failure (the probe links:
/// their warnings come again from the final links).
pub fn run_both(
    lld: &Path,
    host: &Job,
    aarch64: &Job,
    renames: &[(String, String)],
    quiet: bool,
) -> Result<()> {
    let (host_out, a64_out) = std::thread::scope(|s| {
        let a64 = s.spawn(|| run(lld, aarch64));
        let host = run(lld, host);
        (host, a64.join().expect("lld thread panicked"))
    });
    let host_out = host_out?;
    let a64_out = a64_out?;
    if quiet && host_out.status.success() && a64_out.status.success() {
        return Ok(());
    }

    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let rename = |mut s: String| {
        for (from, to) in renames {
            s = s.replace(from, to);
        }
        s.replace(&aarch64.output.display().to_string(), "<aarch64 image>")
    };
    // The host link reads a work-directory copy of an archive whose member names repeat.
    let (h_stdout, h_stderr) = (
        rename(text(&host_out.stdout)),
        rename(text(&host_out.stderr)),
    );
    let (a_stdout, a_stderr) = (rename(text(&a64_out.stdout)), rename(text(&a64_out.stderr)));

    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    // Best effort: a closed stdout/stderr must not hide the exit status.
    let _ = stdout.write_all(h_stdout.as_bytes());
    let _ = stderr.write_all(h_stderr.as_bytes());
    if a_stdout != h_stdout {
        let _ = stdout.write_all(a_stdout.as_bytes());
    }
    let _ = stdout.flush();
    let a64_shown = a_stderr != h_stderr && !a_stderr.is_empty();
    if a64_shown {
        let _ = stderr.write_all(a_stderr.as_bytes());
    }
    let a64_failed = !a64_out.status.success();
    if a64_shown || (a64_failed && host_out.status.success()) {
        let _ = writeln!(
            stderr,
            "ld.unimig: note: while linking the {} image",
            Isa::Aarch64.triple()
        );
    }
    if host_out.status.success() && !a64_failed {
        Ok(())
    } else {
        Err(LinkFailed.into())
    }
}

fn run(lld: &Path, job: &Job) -> Result<Output> {
    Command::new(lld).args(&job.argv).output().with_context(|| {
        format!(
            "linking the {} image: running {}",
            job.isa.triple(),
            lld.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines() {
        let plan = Plan {
            output: "app".into(),
            options: vec!["-e".into(), "start".into(), "-s".into()],
            map: Some("app.map".into()),
            ..Plan::default()
        };
        let inputs: Vec<OsString> = vec!["x.o".into()];
        let job = job(Isa::Aarch64, Kind::Final, &plan, &inputs, Path::new("/w"));
        let argv: Vec<String> = job
            .argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            argv,
            [
                "-m",
                "aarch64linux",
                "-static",
                "-z",
                "norelro",
                "--gc-sections",
                "-e",
                "start",
                "-O0",
                "-T",
                "/w/aarch64.ld",
                "-Map",
                "app.map.aarch64",
                "-o",
                "/w/aarch64.exe",
                "x.o"
            ]
        );
        let probe = super::job(Isa::X86_64, Kind::Probe, &plan, &inputs, Path::new("/w"));
        let argv: Vec<String> = probe
            .argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(argv.ends_with(&[
            "-O0".to_string(),
            "-T".into(),
            "/w/probe.ld".into(),
            "-Map".into(),
            "/w/x86_64.probe.map".into(),
            "-o".into(),
            "/w/x86_64.probe".into(),
            "x.o".into()
        ]));
        assert!(!argv.contains(&"-s".to_string()));
        assert_eq!(map_path(Path::new("m"), Isa::X86_64), PathBuf::from("m"));
    }
}
