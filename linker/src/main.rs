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
//! 4. [`lld`] (probe): link both images with ld.lld-19, concurrently, in lld's own layout,
//!    with a map; report lld's diagnostics (undefined symbols, ...) if either fails.
//! 5. [`survey`]: read from the maps and, with `object`, from the inputs which input sections
//!    survived on each ISA, their sizes, alignments, flags and symbols.
//! 6. [`layout`]: match the two ISAs' input sections and give every program-visible one the
//!    same address on both (slots of the larger size, traps as padding); the rest is
//!    ISA-private.
//! 7. [`script`]: write one linker script per ISA that places each input section there.
//! 8. [`lld`] (final): link both images with their scripts.
//! 9. [`verify`]: check the images with `object` (symbols, data bytes, TLS, headers); any
//!    difference is an error naming the symbol and both addresses, and nothing is written.
//! 10. [`embed`]: put the AArch64 image into the x86-64 one; write the output atomically.
//!
//! `UNIMIG_KEEP_TEMPS=1` keeps the work directory: the probe and final images, maps, linker
//! scripts and `plan.txt` (argv, plan, lld command lines, the layout and image sizes).

mod args;
mod embed;
mod inputs;
mod layout;
mod lld;
mod script;
mod substitute;
mod survey;
mod symbols;
mod verify;

use anyhow::{Context, Result};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use unimig_common::diag;
use unimig_common::toolchain::{Installation, LlvmTool};
pub use unimig_common::Isa;

pub const TOOL: &str = "ld.unimig";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<lld::LinkFailed>() || err.is::<verify::Mismatch>() => {
            ExitCode::from(1)
        }
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
    let lists = [&prepared.x86_64, &prepared.aarch64];

    // Pass 4.
    let probe_script = lld::probe_script_path(work.path());
    std::fs::write(&probe_script, script::PROBE)
        .with_context(|| format!("writing {}", probe_script.display()))?;
    let probes =
        [0, 1].map(|i| lld::job(Isa::ALL[i], lld::Kind::Probe, &plan, lists[i], work.path()));
    if work.kept() {
        let jobs: Vec<_> = probes.iter().map(|j| (j, "probe link")).collect();
        work.record(&argv, &plan, &lld_path, &jobs);
    }
    lld::run_both(&lld_path, &probes[0], &probes[1], &prepared.renames, true)?;

    // Pass 5.
    let mut live = Vec::new();
    for (i, isa) in Isa::ALL.into_iter().enumerate() {
        let map_path = lld::probe_map(work.path(), isa);
        let map = std::fs::read_to_string(&map_path)
            .with_context(|| format!("reading lld's map {}", map_path.display()))?;
        let names = survey::FileNames::new(&prepared.files, i);
        let mut sections = survey::parse_map(&map, &names)?;
        survey::complete(&mut sections, &prepared.files, i)
            .with_context(|| format!("reading the {} inputs", isa.triple()))?;
        live.push(sections);
    }
    let live = [live[0].as_slice(), live[1].as_slice()];

    // Pass 6.
    let layout = layout::plan(live);
    let outputs = script::outputs(live);
    for warning in verify::plan_warnings(&layout, live, &prepared.files)
        .into_iter()
        .chain(script::unshared_user_sections(
            &outputs,
            live,
            &prepared.files,
        ))
    {
        diag::warning(TOOL, warning);
    }

    // Pass 7.
    let image_id = symbols::image_id(&prepared.files, &layout)?;
    let runtime_symbols = symbols::script_lines(&layout, image_id);
    for (i, isa) in Isa::ALL.into_iter().enumerate() {
        let mut text = script::render(
            &layout,
            &outputs,
            i,
            live[i],
            &prepared.files,
            isa.triple(),
            image_id,
        )?;
        text.push_str(&runtime_symbols);
        let path = lld::script_path(work.path(), isa);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let finals =
        [0, 1].map(|i| lld::job(Isa::ALL[i], lld::Kind::Final, &plan, lists[i], work.path()));
    if work.kept() {
        let mut jobs: Vec<_> = probes.iter().map(|j| (j, "probe link")).collect();
        jobs.extend(finals.iter().map(|j| (j, "final link")));
        work.record(&argv, &plan, &lld_path, &jobs);
        work.append(&layout::describe(&layout, live, &prepared.files));
    }

    // Pass 8.
    lld::run_both(&lld_path, &finals[0], &finals[1], &prepared.renames, false)?;

    // Pass 9.
    let report = verify::check(
        [&finals[0].output, &finals[1].output],
        &layout,
        live,
        &prepared.files,
    )?;
    if work.kept() {
        work.append(&sizes_note(&probes, &report));
    }

    // Pass 10.
    if plan.options.iter().any(|o| lld::is_strip_all(o)) {
        for job in &finals {
            embed::strip_all(&objcopy, &job.output)?;
        }
    }
    embed::write_fat(&objcopy, &finals[0].output, &finals[1].output, &plan.output).with_context(
        || {
            format!(
                "embedding the aarch64-linux-musl image into {}",
                plan.output.display()
            )
        },
    )?;
    Ok(())
}

/// Image sizes for `plan.txt`: the probe links (lld's plain layout of each ISA) against the
/// laid-out images.
fn sizes_note(probes: &[lld::Job; 2], report: &unimig_common::layout::Report) -> String {
    let mut text =
        String::from("\nimage sizes (bytes: text = executable sections, data = the rest)\n");
    for (i, job) in probes.iter().enumerate() {
        let plain = std::fs::read(&job.output).ok().and_then(|d| {
            unimig_common::layout::Image::parse(job.isa, &d)
                .ok()
                .map(|img| img.sizes())
        });
        let laid = report.sizes[i];
        let _ = writeln!(
            text,
            "  {}: plain link (probe, -O0) text {} data {}; laid out: text {} (shared {} + private {}), data {} (shared {} + private {})",
            job.isa.name(),
            plain.map_or(0, |p| p.text()),
            plain.map_or(0, |p| p.data()),
            laid.text(),
            laid.shared_text,
            laid.private_text,
            laid.data(),
            laid.shared_data,
            laid.private_data
        );
    }
    let _ = writeln!(text, "check: {}", report.summary());
    text
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

    /// Writes `plan.txt`: the argv, the plan and the lld command lines (best effort).
    fn record(
        &self,
        argv: &[String],
        plan: &substitute::Plan,
        lld: &Path,
        jobs: &[(&lld::Job, &str)],
    ) {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "argv: {}\n\nplan: {plan:#?}\n",
            shell_words::join(argv)
        );
        for (job, what) in jobs {
            let words: Vec<String> = std::iter::once(lld.as_os_str())
                .chain(job.argv.iter().map(OsString::as_os_str))
                .map(|w| w.to_string_lossy().into_owned())
                .collect();
            let _ = writeln!(
                text,
                "{} ({what}): {}\n",
                job.isa.triple(),
                shell_words::join(words)
            );
        }
        let _ = std::fs::write(self.path().join("plan.txt"), text);
    }

    /// Appends `text` to `plan.txt` (best effort).
    fn append(&self, text: &str) {
        use std::io::Write as _;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .open(self.path().join("plan.txt"))
        {
            let _ = f.write_all(text.as_bytes());
        }
    }
}

const HELP: &str = "\
Usage: ld.unimig [GNU ld options] FILES...

Links fat objects (from unimig-cc) into a fat executable: a static x86-64 executable carrying
the static AArch64 executable in section .unimig.image.aarch64. Both images are linked by
ld.lld-19 against unimig's musl sysroots; host start files, system libraries and -L paths are
replaced by the sysroots', dynamic-linking options are ignored.

Everything the program can observe (functions, globals, statics, string literals, TLS offsets)
gets the same address in both images: each ISA is linked once to see what survives, then again
with a generated linker script; the results are checked symbol by symbol and byte by byte, and
a difference is an error naming the symbol (see docs/formats.md, \"Address map\", and
`unimig check`).

Reached through `clang-19 -fuse-ld=unimig` (ld.unimig on PATH) or unimig-cc.

Not supported: -shared and .so inputs (images are static), LTO (-plugin), linker scripts (-T),
partial links (-r), options that move sections (-Ttext, --image-base, --section-start, --icf),
objects not compiled with unimig-cc.

Environment: UNIMIG_PREFIX (installation), UNIMIG_KEEP_TEMPS=1 (keep the work directory: probe
and final images, maps, linker scripts, plan.txt with the layout and image sizes),
UNIMIG_LLD / UNIMIG_AR / UNIMIG_OBJCOPY (tool overrides).
";
