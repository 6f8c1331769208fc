//! `ld.unimig`: links a fat executable — a static x86-64 executable that carries the static
//! AArch64 executable of the same program in section `.unimig.image.aarch64`.
//!
//! It takes the GNU-ld style argv clang gives a linker (`clang-19 -fuse-ld=unimig`,
//! `--ld-path=`, unimig-cc's link step) and runs as a sequence of passes, one module each:
//!
//! 1. [`args`]: recognise the argv (response files, options with values, order of inputs).
//! 2. [`substitute`]: replace the host system (start files, libraries, `-L` paths, dynamic
//!    options) by unimig's sysroots; refuse what a static image cannot be.
//! 3. [`inputs`]: classify the inputs with `object`; extract the AArch64 halves of fat
//!    objects and derive AArch64 archives in a work directory.
//! 4. [`lld`]: link both images with ld.lld-19, concurrently; report lld's diagnostics.
//! 5. [`embed`]: put the AArch64 image into the x86-64 one; write the output atomically.
//!
//! `UNIMIG_KEEP_TEMPS=1` keeps the work directory (with the plan and lld command lines).

mod args;
mod embed;
mod inputs;
mod lld;
mod substitute;

use anyhow::{Context, Result};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use unimig_common::toolchain::{Installation, LlvmTool};
use unimig_common::{diag, Isa};

const TOOL: &str = "ld.unimig";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<lld::LinkFailed>() => ExitCode::from(1),
        Err(err) => {
            diag::error(TOOL, diag::chain(&err));
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<()> {
    let argv: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| {
            a.into_string()
                .map_err(|a| anyhow::anyhow!("argument {a:?} is not valid UTF-8"))
        })
        .collect::<Result<_>>()?;

    // Pass 1.
    let args = args::parse(&argv)?;
    if args.contains(&args::Arg::Help) {
        print!("{}", HELP);
        return Ok(());
    }
    if args.contains(&args::Arg::Version) {
        return print_version();
    }
    if args.contains(&args::Arg::VersionThenLink) {
        print_version()?;
        let has_inputs = args
            .iter()
            .any(|a| matches!(a, args::Arg::Input(_) | args::Arg::Lib(_)));
        if !has_inputs {
            return Ok(());
        }
    }

    let install = Installation::locate()?;
    let x86 = install.sysroot(Isa::X86_64)?;
    let a64 = install.sysroot(Isa::Aarch64)?;
    let lld_path = LlvmTool::Lld.path()?;
    let ar = LlvmTool::Ar.path()?;
    let objcopy = LlvmTool::Objcopy.path()?;

    // Pass 2.
    let system = substitute::System {
        sysroot_lib_dirs: vec![x86.lib_dir(), a64.lib_dir()],
        is_fat_object: &inputs::is_fat_object,
    };
    let mut plan = substitute::plan(&args, &system)?;
    // lld writes into a pipe here; keep its colours when the user would have seen them.
    if std::io::stderr().is_terminal()
        && !plan.options.iter().any(|o| o.contains("color-diagnostics"))
    {
        plan.options.push("--color-diagnostics".into());
    }

    let work = WorkDir::create()?;

    // Pass 3.
    let prepared = inputs::prepare(&plan, &x86, &a64, &ar, work.path())?;

    // Pass 4.
    let host_job = lld::job(Isa::X86_64, &plan, &prepared.x86_64, work.path());
    let a64_job = lld::job(Isa::Aarch64, &plan, &prepared.aarch64, work.path());
    if work.kept() {
        work.record(&argv, &plan, &lld_path, [&host_job, &a64_job]);
    }
    lld::run_both(&lld_path, &host_job, &a64_job, &prepared.renames)?;

    // Pass 5.
    embed::write_fat(&objcopy, &host_job.output, &a64_job.output, &plan.output).with_context(
        || {
            format!(
                "embedding the aarch64-linux-musl image into {}",
                plan.output.display()
            )
        },
    )?;
    Ok(())
}

/// `--version`, `-v`: ld.unimig's line, then lld's (libtool and configure scripts probe it).
fn print_version() -> Result<()> {
    println!(
        "ld.unimig (unimig {}): links static x86-64 + AArch64 fat images with LLD",
        env!("CARGO_PKG_VERSION")
    );
    let lld = LlvmTool::Lld.path()?;
    let out = Command::new(&lld)
        .arg("--version")
        .output()
        .with_context(|| format!("running {}", lld.display()))?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}

/// The work directory: removed at the end unless `UNIMIG_KEEP_TEMPS` is set.
enum WorkDir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl WorkDir {
    fn create() -> Result<WorkDir> {
        let dir = tempfile::Builder::new()
            .prefix("ld.unimig-")
            .tempdir()
            .context("creating a work directory")?;
        let keep = std::env::var_os("UNIMIG_KEEP_TEMPS").is_some_and(|v| !v.is_empty() && v != "0");
        Ok(if keep {
            let path = dir.keep();
            eprintln!(
                "{TOOL}: note: keeping temporary files in {}",
                path.display()
            );
            WorkDir::Kept(path)
        } else {
            WorkDir::Temp(dir)
        })
    }

    fn path(&self) -> &Path {
        match self {
            WorkDir::Temp(d) => d.path(),
            WorkDir::Kept(p) => p,
        }
    }

    fn kept(&self) -> bool {
        matches!(self, WorkDir::Kept(_))
    }

    /// Writes `plan.txt`: the argv, the plan and both lld command lines (best effort).
    fn record(&self, argv: &[String], plan: &substitute::Plan, lld: &Path, jobs: [&lld::Job; 2]) {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "argv: {}\n\nplan: {plan:#?}\n",
            shell_words::join(argv)
        );
        for job in jobs {
            let words: Vec<String> = std::iter::once(lld.as_os_str())
                .chain(job.argv.iter().map(OsString::as_os_str))
                .map(|w| w.to_string_lossy().into_owned())
                .collect();
            let _ = writeln!(text, "{}: {}\n", job.isa.triple(), shell_words::join(words));
        }
        let _ = std::fs::write(self.path().join("plan.txt"), text);
    }
}

const HELP: &str = "\
Usage: ld.unimig [GNU ld options] FILES...

Links fat objects (from unimig-cc) into a fat executable: a static x86-64 executable carrying
the static AArch64 executable in section .unimig.image.aarch64. Both images are linked by
ld.lld-19 against unimig's musl sysroots; host start files, system libraries and -L paths are
replaced by the sysroots', dynamic-linking options are ignored.

Reached through `clang-19 -fuse-ld=unimig` (ld.unimig on PATH) or unimig-cc.

Not supported: -shared and .so inputs (images are static), LTO (-plugin), linker scripts (-T),
partial links (-r), objects not compiled with unimig-cc.

Environment: UNIMIG_PREFIX (installation), UNIMIG_KEEP_TEMPS=1 (keep the work directory),
UNIMIG_LLD / UNIMIG_AR / UNIMIG_OBJCOPY (tool overrides).
";
