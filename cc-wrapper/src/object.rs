//! `-c`: one fat object per C input, named like clang names objects (`-o X` with one input,
//! otherwise `STEM.o` in the current directory; `-o -` writes to standard output).
//!
//! Inputs are compiled one after another (`make -j` provides the parallelism between files;
//! the two ISAs of one file run at the same time). Like clang, a failing input does not stop
//! the others; the exit status is the first failure's.

use crate::args::{Input, InputKind, Invocation};
use crate::compile::{self, Compiler};
use crate::exec::{self, FirstFailure};
use crate::output::{self, Destination};
use crate::toolchain::Toolchain;
use anyhow::{Context, Result};
use std::ffi::OsString;
use unimig_common::diag;

pub fn run(invocation: &Invocation) -> Result<i32> {
    warn_about_linker_inputs(invocation);
    if invocation.c_inputs().next().is_none() {
        return Ok(0);
    }
    let toolchain = Toolchain::locate()?;
    let compiler = Compiler::new(invocation, &toolchain)?;
    let mut status = FirstFailure::default();
    for (index, input) in invocation.c_inputs().enumerate() {
        let dest = destination(invocation, input);
        status.check(build(&compiler, input, index, &dest, invocation.dry_run));
    }
    Ok(status.code())
}

fn build(
    compiler: &Compiler,
    input: &Input,
    index: usize,
    dest: &Destination,
    dry_run: bool,
) -> Result<()> {
    // A fatal LLVM error ends the process at once; it removes a stale object as failures do.
    let stale = match dest {
        Destination::File(path) if !dry_run => Some(path.as_path()),
        _ => None,
    };
    if let Some(path) = stale {
        crate::pipeline::remove_on_fatal_error(path);
    }
    let fat = compiler.fat_object(input, index);
    if let Some(path) = stale {
        crate::pipeline::keep_on_fatal_error(path);
    }
    let fat = match fat {
        Ok(fat) => fat,
        Err(error) => {
            if !dry_run {
                output::remove_stale(dest);
            }
            return Err(error);
        }
    };
    if dry_run {
        return Ok(());
    }
    crate::interrupt::check()?;
    // The fat object inherits the permissions clang gave the host object (the user's umask).
    output::install(&fat, dest, &fat).with_context(|| compile::display_name(input))
}

/// Where the object for `input` goes.
pub fn destination(invocation: &Invocation, input: &Input) -> Destination {
    match invocation.output() {
        Some(output) => Destination::from_arg(output),
        None => {
            let mut name: OsString = input.stem();
            name.push(".o");
            Destination::File(name.into())
        }
    }
}

/// Clang warns that objects, libraries and linker options given with `-c` are unused; so do we.
fn warn_about_linker_inputs(invocation: &Invocation) {
    if invocation.unused_argument_warnings_disabled() {
        return;
    }
    let files = invocation
        .inputs()
        .filter(|i| i.kind == InputKind::Linker)
        .map(|i| i.path.clone());
    let options = invocation
        .linker_input_options()
        .map(|a| a.tokens.join(" ".as_ref()));
    for unused in files.chain(options) {
        diag::warning(
            exec::TOOL,
            format_args!(
                "{}: 'linker' input unused [-Wunused-command-line-argument]",
                unused.to_string_lossy()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destinations(args: &[&str]) -> Vec<Destination> {
        let invocation = Invocation::parse(args.iter().map(OsString::from).collect()).unwrap();
        invocation
            .c_inputs()
            .map(|input| destination(&invocation, input))
            .collect()
    }

    #[test]
    fn objects_are_named_like_clang() {
        let file = |p: &str| Destination::File(p.into());
        assert_eq!(
            destinations(&["-c", "src/foo.c", "bar.i"]),
            [file("foo.o"), file("bar.o")]
        );
        assert_eq!(
            destinations(&["-c", "src/foo.c", "-o", "out/x.o"]),
            [file("out/x.o")]
        );
        assert_eq!(
            destinations(&["-c", "foo.c", "-o", "-"]),
            [Destination::Stdout]
        );
        assert_eq!(destinations(&["-c", "-x", "c", "-"]), [file("-.o")]);
    }
}
