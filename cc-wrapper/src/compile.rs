//! Compiling one C input into a fat object, in three steps:
//! 1. clang's front end for both ISAs at the same time, bitcode through pipes (`frontend.rs`);
//! 2. the in-process back end for both ISAs at the same time (`pipeline.rs`), giving the two
//!    objects in memory;
//! 3. the aarch64 object embedded in the host one (`embed.rs`), written to the scratch
//!    directory.
//!
//! With `UNIMIG_KEEP_TEMPS=1` the bitcode and the two objects are written there too.

use crate::args::{Input, Invocation};
use crate::frontend::Frontend;
use crate::pipeline_flags::{self, Settings};
use crate::scratch::Scratch;
use crate::toolchain::Toolchain;
use crate::{embed, interrupt, pipeline};
use anyhow::{Context, Result};
use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;
use unimig_common::toolchain::Sysroot;
use unimig_common::Isa;

/// What the compiles of one unimig-cc run share, including the scratch directory (removed
/// when the `Compiler` is dropped).
pub struct Compiler<'a> {
    invocation: &'a Invocation,
    toolchain: &'a Toolchain,
    host_sysroot: Sysroot,
    aarch64_sysroot: Sysroot,
    /// Standard input, read once and fed to both compiles of a `-` input.
    stdin: Option<Vec<u8>>,
    settings: Settings,
    scratch: Scratch,
}

impl<'a> Compiler<'a> {
    pub fn new(invocation: &'a Invocation, toolchain: &'a Toolchain) -> Result<Compiler<'a>> {
        let host_sysroot = toolchain.sysroot(Isa::X86_64)?;
        let aarch64_sysroot = toolchain.sysroot(Isa::Aarch64)?;
        let mut settings = pipeline_flags::settings(invocation)?;
        if settings.options.stackmaps && !invocation.dry_run {
            settings.options.library_functions =
                std::sync::Arc::new(crate::library_calls::library_functions(&host_sysroot)?);
        }
        if !invocation.dry_run {
            pipeline::setup(&settings)?;
        }
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
            settings,
            scratch: Scratch::new()?,
        })
    }

    /// Compiles `input` (the `index`th C input) for both ISAs and embeds the aarch64 object in
    /// the host one, giving a fat object in the scratch directory. With `-###` the front-end
    /// commands are only shown.
    pub fn fat_object(&self, input: &Input, index: usize) -> Result<PathBuf> {
        interrupt::check()?;
        let name = scratch_name(input, index);
        let dir = self.scratch.path();
        let frontend = Frontend {
            invocation: self.invocation,
            clang: &self.toolchain.clang,
            host_sysroot: &self.host_sysroot,
            aarch64_sysroot: &self.aarch64_sysroot,
            stdin: self.stdin.as_deref(),
            line_tables: self.settings.line_tables,
        };
        let bitcode = frontend.run(input)?;
        if self.invocation.verbose || self.invocation.dry_run {
            eprintln!(
                " (in-process back end for x86_64 and aarch64: {})",
                pipeline_flags::describe(&self.settings)
            );
        }
        let fat = dir.join(format!("{name}.o"));
        if self.invocation.dry_run {
            return Ok(fat);
        }
        let keep = |suffix: &str, data: &[u8]| -> Result<()> {
            if self.scratch.kept() {
                std::fs::write(dir.join(format!("{name}.{suffix}")), data)?;
            }
            Ok(())
        };
        keep("x86_64.bc", &bitcode.host)?;
        keep("aarch64.bc", &bitcode.aarch64)?;
        interrupt::check()?;
        let (host, aarch64, unsafe_sites) = pipeline::compile_pair(
            &display_name(input),
            &bitcode.host,
            &bitcode.aarch64,
            &self.settings,
        )
        .with_context(|| display_name(input))?;
        keep("x86_64.o", &host)?;
        keep("aarch64.o", &aarch64)?;
        interrupt::check()?;
        embed::write_fat_object(&host, &aarch64, &unsafe_sites, &fat)
            .with_context(|| display_name(input))?;
        Ok(fat)
    }
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
