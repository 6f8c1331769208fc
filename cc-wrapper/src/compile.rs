//! Compiling one C input for both ISAs: two clang runs with identical user flags, at the same
//! time (two child processes), into a scratch directory.
//!
//! Diagnostics: the host compile's stderr is the terminal's (colours and tty detection work as
//! with plain clang). The aarch64 compile's stderr is captured: when both succeed it is
//! dropped (it repeats the host's warnings); when only aarch64 fails it is printed, followed by
//! our error naming the input and the ISA; when the host fails, its exit code is ours and
//! nothing else is printed.

use crate::args::{Input, Invocation};
use crate::exec::{self, ExitWith};
use crate::scratch::Scratch;
use crate::toolchain::Toolchain;
use crate::{deps, embed, interrupt, toolchain};
use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use unimig_common::toolchain::Sysroot;
use unimig_common::Isa;

/// The two objects compiled from one input.
pub struct IsaObjects {
    pub host: PathBuf,
    pub aarch64: PathBuf,
}

/// What the compiles of one unimig-cc run share, including the scratch directory (removed
/// when the `Compiler` is dropped).
pub struct Compiler<'a> {
    invocation: &'a Invocation,
    toolchain: &'a Toolchain,
    host_sysroot: Sysroot,
    aarch64_sysroot: Sysroot,
    /// Standard input, read once and fed to both compiles of a `-` input.
    stdin: Option<Vec<u8>>,
    scratch: Scratch,
}

impl<'a> Compiler<'a> {
    pub fn new(invocation: &'a Invocation, toolchain: &'a Toolchain) -> Result<Compiler<'a>> {
        let host_sysroot = toolchain.sysroot(Isa::X86_64)?;
        let aarch64_sysroot = toolchain.sysroot(Isa::Aarch64)?;
        let stdin = if invocation.c_inputs().any(Input::is_stdin) && !invocation.dry_run {
            let mut data = Vec::new();
            std::io::stdin()
                .read_to_end(&mut data)
                .context("reading standard input")?;
            Some(data)
        } else {
            None
        };
        // From here on there are temporary files to remove if interrupted.
        interrupt::defer();
        Ok(Compiler {
            invocation,
            toolchain,
            host_sysroot,
            aarch64_sysroot,
            stdin,
            scratch: Scratch::new()?,
        })
    }

    /// Compiles `input` (the `index`th C input) for both ISAs and embeds the aarch64 object in
    /// the host one, giving a fat object in the scratch directory. With `-###` the commands are
    /// only shown.
    pub fn fat_object(&self, input: &Input, index: usize) -> Result<PathBuf> {
        let name = scratch_name(input, index);
        let objects = self.compile(input, &name)?;
        interrupt::check()?;
        let fat = self.scratch.path().join(format!("{name}.o"));
        let objcopy = self.toolchain.objcopy()?;
        embed::embed(
            &objcopy,
            &objects,
            &fat,
            self.invocation.verbose,
            self.invocation.dry_run,
        )
        .with_context(|| display_name(input))?;
        Ok(fat)
    }

    fn compile(&self, input: &Input, name: &str) -> Result<IsaObjects> {
        interrupt::check()?;
        let objects = IsaObjects {
            host: self.scratch.path().join(format!("{name}.x86_64.o")),
            aarch64: self.scratch.path().join(format!("{name}.aarch64.o")),
        };
        let mut host = self.command(Isa::X86_64, input, &objects.host);
        let mut aarch64 = self.command(Isa::Aarch64, input, &objects.aarch64);
        if self.invocation.verbose || self.invocation.dry_run {
            exec::show(&host);
            exec::show(&aarch64);
        }
        if !self.invocation.dry_run {
            self.run_both(input, &mut host, &mut aarch64)?;
        }
        Ok(objects)
    }

    /// `clang [target defaults] [user flags] [forced flags] -c INPUT -o OBJECT` for `isa`.
    fn command(&self, isa: Isa, input: &Input, object: &Path) -> Command {
        let sysroot = match isa {
            Isa::X86_64 => &self.host_sysroot,
            Isa::Aarch64 => &self.aarch64_sysroot,
        };
        let mut cmd = Command::new(&self.toolchain.clang);
        cmd.args(toolchain::leading_flags(isa));
        if isa == Isa::Aarch64 && std::io::stderr().is_terminal() {
            // Its stderr is a pipe; keep the colours the host compile shows (a user's
            // -fno-color-diagnostics comes later and wins).
            cmd.arg("-fcolor-diagnostics");
        }
        cmd.args(self.invocation.compile_flags(isa));
        if isa == Isa::HOST {
            cmd.args(deps::host_flags(self.invocation, input));
        }
        if self.invocation.verbose {
            cmd.arg("-v");
        }
        cmd.args(toolchain::trailing_flags(sysroot));
        cmd.arg("-c").args(input.clang_args()).arg("-o").arg(object);
        cmd
    }

    fn run_both(&self, input: &Input, host: &mut Command, aarch64: &mut Command) -> Result<()> {
        let stdin = if input.is_stdin() {
            self.stdin.as_deref()
        } else {
            None
        };
        let stdin_mode = || {
            if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            }
        };
        let clang = self.toolchain.clang.display();
        let what = |isa: Isa| {
            format!(
                "{}: compiling for {}: running {clang}",
                display_name(input),
                isa.triple()
            )
        };
        let mut host_child = host
            .stdin(stdin_mode())
            .spawn()
            .with_context(|| what(Isa::X86_64))?;
        let aarch64_child = aarch64.stdin(stdin_mode()).stderr(Stdio::piped()).spawn();
        let mut aarch64_child = match aarch64_child {
            Ok(child) => child,
            Err(err) => {
                stop(&mut host_child);
                return Err(err).with_context(|| what(Isa::Aarch64));
            }
        };
        let (host_status, aarch64_result) = std::thread::scope(|scope| {
            if let Some(data) = stdin {
                for child in [&mut host_child, &mut aarch64_child] {
                    let mut pipe = child.stdin.take().expect("stdin is piped");
                    // A compile that fails early closes its end; its own error says why.
                    scope.spawn(move || pipe.write_all(data));
                }
            }
            let mut aarch64_stderr = aarch64_child.stderr.take().expect("stderr is piped");
            let captured = scope.spawn(move || {
                let mut text = Vec::new();
                aarch64_stderr.read_to_end(&mut text).map(|_| text)
            });
            let host_status = host_child.wait();
            if !host_status.as_ref().is_ok_and(|s| s.success()) {
                // Its result no longer matters; the host's diagnostics are the ones to show.
                let _ = aarch64_child.kill();
            }
            let aarch64_status = aarch64_child.wait();
            let captured = captured.join().expect("the stderr reader does not panic");
            (
                host_status,
                aarch64_status.and_then(|status| Ok((status, captured?))),
            )
        });
        let describe = |isa: Isa| {
            format!(
                "{} ({}) compiling {}",
                clang,
                isa.triple(),
                display_name(input)
            )
        };
        exec::check(host_status.with_context(|| what(Isa::X86_64))?, || {
            describe(Isa::X86_64)
        })?;
        let (status, stderr) = aarch64_result.with_context(|| what(Isa::Aarch64))?;
        if status.success() {
            return Ok(());
        }
        std::io::stderr().write_all(&stderr)?;
        match exec::check(status, || describe(Isa::Aarch64)) {
            Err(err) if err.downcast_ref::<ExitWith>().is_some() => {
                bail!(
                    "compiling {} for {} failed",
                    display_name(input),
                    Isa::Aarch64.triple()
                )
            }
            other => other,
        }
    }
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// How an input is named in messages (clang calls standard input `<stdin>`).
pub fn display_name(input: &Input) -> String {
    if input.is_stdin() {
        "<stdin>".into()
    } else {
        input.path.to_string_lossy().into_owned()
    }
}

/// A file name for `input`'s intermediate files in the scratch directory: the stem (so
/// messages and `-v` output are readable) made unique by the input's position.
fn scratch_name(input: &Input, index: usize) -> String {
    let stem: OsString = input.stem();
    format!("{index}-{}", stem.to_string_lossy())
}
