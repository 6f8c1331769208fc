//! Linking: every C input becomes a fat object in the scratch directory, kept in argument
//! order in place of the source, and clang links for the host with `ld.unimig` as its linker:
//!
//! `clang --target=x86_64-linux-musl -static --ld-path=PREFIX/bin/ld.unimig ARGS...`
//!
//! ARGS are the inputs and the link options (`-l`, `-L`, `-Wl,`, `-Xlinker`, `-o`, `-s`,
//! `-pthread`, `-rdynamic`, ...) in the order given; compile-only options are not repeated.
//! clang adds the start files and libraries; `ld.unimig` links both ISAs and writes the fat
//! executable (default `a.out`). unimig-cc does not touch the result.

use crate::args::{InputKind, Invocation, Kind};
use crate::compile::Compiler;
use crate::exec::{self, FirstFailure};
use crate::toolchain::Toolchain;
use anyhow::{Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use unimig_common::Isa;

pub fn run(invocation: &Invocation) -> Result<i32> {
    let toolchain = Toolchain::locate()?;
    let linker = toolchain.linker()?;
    let compiler = Compiler::new(invocation, &toolchain)?;

    // Compile everything first, reporting every failing input as clang does; link only if
    // all succeeded.
    let mut status = FirstFailure::default();
    let fat_objects: Vec<PathBuf> = invocation
        .c_inputs()
        .enumerate()
        .filter_map(|(index, input)| status.check(compiler.fat_object(input, index)))
        .collect();
    if status.code() != 0 {
        return Ok(status.code());
    }

    let mut cmd = link_command(invocation, &toolchain.clang, &linker, fat_objects);
    if invocation.verbose || invocation.dry_run {
        exec::show(&cmd);
    }
    if invocation.dry_run {
        // clang -### would complain that the fat objects do not exist.
        return Ok(0);
    }
    crate::interrupt::check()?;
    let status = cmd
        .status()
        .with_context(|| format!("linking: running {}", toolchain.clang.display()))?;
    exec::check(status, || {
        format!("{} (linking with ld.unimig)", toolchain.clang.display())
    })?;
    Ok(0)
}

/// `clang --target=x86_64-linux-musl -static --ld-path=LINKER ARGS...`: the inputs, with
/// `fat_objects` in place of the C sources, and the link options, in command-line order.
fn link_command(
    invocation: &Invocation,
    clang: &Path,
    linker: &Path,
    fat_objects: Vec<PathBuf>,
) -> Command {
    let mut cmd = Command::new(clang);
    let mut ld_path = OsString::from("--ld-path=");
    ld_path.push(linker);
    cmd.arg(format!("--target={}", Isa::HOST.triple()))
        .arg("-static")
        .arg(ld_path);
    let mut fat_objects = fat_objects.into_iter();
    for arg in &invocation.args {
        match &arg.kind {
            Kind::Input(input) if input.kind == InputKind::C => {
                cmd.arg(fat_objects.next().expect("one fat object per C input"));
            }
            Kind::Input(input) => {
                cmd.arg(input.clang_path());
            }
            Kind::Output(_)
            | Kind::Link
            | Kind::LinkInput
            | Kind::CompileAndLink
            | Kind::Verbose
            | Kind::DryRun => {
                cmd.args(&arg.tokens);
            }
            _ => {}
        }
    }
    cmd
}
