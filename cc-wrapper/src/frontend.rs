//! clang-19's front end for both ISAs of one C input, at the same time (two child processes):
//! `clang [target defaults] [user flags] [forced flags] -emit-llvm -c -Xclang
//! -disable-llvm-passes INPUT -o -`. Each writes its bitcode to a pipe; the back end runs
//! in-process afterwards (`pipeline.rs`). `-disable-llvm-passes` leaves every LLVM pass to our
//! target-neutral middle end, while the IR still carries what the user's flags say (`-O` level
//! attributes such as `optnone`, debug info, frame pointers, stack protectors, ...).
//!
//! Diagnostics: the host front end's stderr is the terminal's (colours and tty detection work
//! as with plain clang). The aarch64 front end's stderr is captured: when both succeed it is
//! dropped (it repeats the host's warnings); when only aarch64 fails it is printed, followed by
//! our error naming the input and the ISA; when the host fails, its exit code is ours and
//! nothing else is printed.

use crate::args::{Input, Invocation};
use crate::compile::display_name;
use crate::deps;
use crate::exec::{self, ExitWith};
use crate::toolchain;
use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use unimig_common::toolchain::Sysroot;
use unimig_common::Isa;

/// The bitcode of one input for both ISAs.
pub struct Bitcode {
    pub host: Vec<u8>,
    pub aarch64: Vec<u8>,
}

/// What the front-end runs of one unimig-cc run share.
pub struct Frontend<'a> {
    pub invocation: &'a Invocation,
    pub clang: &'a Path,
    pub host_sysroot: &'a Sysroot,
    pub aarch64_sysroot: &'a Sysroot,
    /// Standard input, read once and fed to both runs of a `-` input.
    pub stdin: Option<&'a [u8]>,
    /// Add `-gline-tables-only` after the user's flags: locations for the compatibility
    /// warnings (`pipeline_flags::Settings::line_tables`; the back end strips them again).
    pub line_tables: bool,
}

impl Frontend<'_> {
    /// Runs both front ends on `input` (with `-###` only shows them; the bitcode is then empty).
    pub fn run(&self, input: &Input) -> Result<Bitcode> {
        let mut host = self.command(Isa::X86_64, input);
        let mut aarch64 = self.command(Isa::Aarch64, input);
        if self.invocation.verbose || self.invocation.dry_run {
            exec::show(&host);
            exec::show(&aarch64);
        }
        if self.invocation.dry_run {
            return Ok(Bitcode {
                host: Vec::new(),
                aarch64: Vec::new(),
            });
        }
        self.run_both(input, &mut host, &mut aarch64)
    }

    fn command(&self, isa: Isa, input: &Input) -> Command {
        let sysroot = match isa {
            Isa::X86_64 => self.host_sysroot,
            Isa::Aarch64 => self.aarch64_sysroot,
        };
        let mut cmd = Command::new(self.clang);
        cmd.args(toolchain::leading_flags(isa));
        if isa == Isa::Aarch64 && std::io::stderr().is_terminal() {
            // Its stderr is a pipe; keep the colours the host compile shows (a user's
            // -fno-color-diagnostics comes later and wins).
            cmd.arg("-fcolor-diagnostics");
        }
        cmd.args(self.invocation.compile_flags(isa));
        if self.line_tables {
            cmd.arg("-gline-tables-only");
        }
        if isa == Isa::HOST {
            cmd.args(deps::host_flags(self.invocation, input));
        }
        if self.invocation.verbose {
            cmd.arg("-v");
        }
        cmd.args(toolchain::trailing_flags(sysroot));
        cmd.args(["-emit-llvm", "-c", "-Xclang", "-disable-llvm-passes"])
            .args(input.clang_args())
            .args(["-o", "-"]);
        cmd
    }

    fn run_both(
        &self,
        input: &Input,
        host: &mut Command,
        aarch64: &mut Command,
    ) -> Result<Bitcode> {
        let stdin = if input.is_stdin() { self.stdin } else { None };
        let stdin_mode = || {
            if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            }
        };
        let clang = self.clang.display();
        let what = |isa: Isa| {
            format!(
                "{}: compiling for {}: running {clang}",
                display_name(input),
                isa.triple()
            )
        };
        let mut host_child = host
            .stdin(stdin_mode())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| what(Isa::X86_64))?;
        let aarch64_child = aarch64
            .stdin(stdin_mode())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut aarch64_child = match aarch64_child {
            Ok(child) => child,
            Err(err) => {
                stop(&mut host_child);
                return Err(err).with_context(|| what(Isa::Aarch64));
            }
        };
        let (host_result, aarch64_result) = std::thread::scope(|scope| {
            if let Some(data) = stdin {
                for child in [&mut host_child, &mut aarch64_child] {
                    let mut pipe = child.stdin.take().expect("stdin is piped");
                    // A compile that fails early closes its end; its own error says why.
                    scope.spawn(move || pipe.write_all(data));
                }
            }
            let read_all = |mut pipe: Box<dyn Read + Send>| {
                scope.spawn(move || {
                    let mut data = Vec::new();
                    pipe.read_to_end(&mut data).map(|_| data)
                })
            };
            let host_bitcode = read_all(Box::new(host_child.stdout.take().expect("piped")));
            let aarch64_bitcode = read_all(Box::new(aarch64_child.stdout.take().expect("piped")));
            let aarch64_stderr = read_all(Box::new(aarch64_child.stderr.take().expect("piped")));
            let host_status = host_child.wait();
            if !host_status.as_ref().is_ok_and(|s| s.success()) {
                // Its result no longer matters; the host's diagnostics are the ones to show.
                let _ = aarch64_child.kill();
            }
            let aarch64_status = aarch64_child.wait();
            let join = |h: std::thread::ScopedJoinHandle<'_, std::io::Result<Vec<u8>>>| {
                h.join().expect("a pipe reader does not panic")
            };
            let (host_bitcode, aarch64_bitcode, aarch64_stderr) = (
                join(host_bitcode),
                join(aarch64_bitcode),
                join(aarch64_stderr),
            );
            (
                host_status.and_then(|status| Ok((status, host_bitcode?))),
                aarch64_status.and_then(|status| Ok((status, aarch64_bitcode?, aarch64_stderr?))),
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
        let (host_status, host_bitcode) = host_result.with_context(|| what(Isa::X86_64))?;
        exec::check(host_status, || describe(Isa::X86_64))?;
        let (status, aarch64_bitcode, stderr) =
            aarch64_result.with_context(|| what(Isa::Aarch64))?;
        if status.success() {
            return Ok(Bitcode {
                host: host_bitcode,
                aarch64: aarch64_bitcode,
            });
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
            Err(other) => Err(other),
            Ok(()) => unreachable!("the status is not success"),
        }
    }
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
