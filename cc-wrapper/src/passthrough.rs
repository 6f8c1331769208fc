//! The modes that need one host clang run and nothing else: queries (`--version`,
//! `-print-*`, `-dumpmachine`, `-v` alone), `-E` and `-M`/`-MM`, `-fsyntax-only`, and `-S`.
//!
//! `-S` gives host (x86-64) assembly only, and `-S -emit-llvm` host IR: the aarch64 half
//! exists only inside fat objects, so a single `.s` file can hold one ISA.
//!
//! Preprocessing and syntax checks see the host compile's exact flags (target, musl headers,
//! forced flags), so what configure scripts learn from `-E` holds for the real compile.
//! Queries get only `--target=x86_64-linux-musl`, so `--version` works before `make setup`.

use crate::args::{Invocation, Kind, Mode};
use crate::exec;
use crate::toolchain::{self, Toolchain};
use anyhow::{Context, Result};
use std::io::Write;
use std::process::{Command, Stdio};
use unimig_common::Isa;

/// `-print-prog-name=ld` names the linker unimig-cc really uses, `ld.unimig`. libtool asks
/// this, then finds that the linker is GNU-compatible but supports no shared-library targets,
/// and so builds static libraries only, without `--disable-shared`.
fn asks_for_the_linker(invocation: &Invocation) -> bool {
    let query = |token: &std::ffi::OsString| {
        token == "-print-prog-name=ld" || token == "--print-prog-name=ld"
    };
    invocation
        .args
        .iter()
        .any(|a| a.kind == Kind::Query && a.tokens.iter().any(query))
}

/// The line `--version` adds after clang's text. It comes last because tools that scrape a
/// version number (meson, for one) take the first one they see, which must stay clang's.
fn version_line() -> String {
    format!(
        "unimig-cc {} (dual-ISA x86_64 + aarch64)",
        env!("CARGO_PKG_VERSION")
    )
}

pub fn run(invocation: &Invocation) -> Result<i32> {
    let toolchain = Toolchain::locate()?;
    if asks_for_the_linker(invocation) {
        if let Ok(linker) = toolchain.linker() {
            println!("{}", linker.display());
            return Ok(0);
        }
    }
    let mut cmd = Command::new(&toolchain.clang);
    if invocation.mode == Mode::Query {
        cmd.arg(format!("--target={}", Isa::HOST.triple()));
        cmd.args(invocation.passthrough_args());
    } else {
        let sysroot = toolchain.sysroot(Isa::HOST)?;
        cmd.args(toolchain::leading_flags(Isa::HOST));
        cmd.args(invocation.passthrough_args());
        cmd.args(toolchain::trailing_flags(&sysroot));
    }
    if invocation.verbose && invocation.mode != Mode::Query {
        exec::show(&cmd);
    }
    let what = || format!("{} ({})", toolchain.clang.display(), Isa::HOST.triple());
    let asks_version = invocation
        .args
        .iter()
        .any(|a| a.kind == Kind::Query && a.tokens[0] == "--version");
    if !asks_version {
        let status = cmd
            .status()
            .with_context(|| format!("running {}", toolchain.clang.display()))?;
        exec::check(status, what)?;
        return Ok(0);
    }
    let output = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", toolchain.clang.display()))?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&output.stdout)?;
    exec::check(output.status, what)?;
    writeln!(stdout, "{}", version_line())?;
    Ok(0)
}
