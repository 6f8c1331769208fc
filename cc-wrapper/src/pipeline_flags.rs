//! The settings of the in-process back end (`unimig_llvm_pass`, see `pipeline.rs`) from the
//! command line: what clang's driver would have turned into back-end settings had clang run
//! the back end itself, and unimig's own `-funimig-*` options.
//!
//! The front end runs with `-Xclang -disable-llvm-passes`, so whatever it encodes in the IR
//! reaches our back end as it would reach clang's: debug info (`-g*`, its DWARF version and
//! kind), `-f[no-]omit-frame-pointer` (`"frame-pointer"`), `-fstack-protector*` (`ssp*`),
//! `-fno-builtin*`/`-ffreestanding` (`"no-builtins"`, which also turns off library-call
//! simplification in the middle end), `-fno-inline*` (`noinline`), `-fno-jump-tables`,
//! `-ffast-math` and friends, `-fwrapv`, `-fno-strict-aliasing`, `-Wframe-larger-than=`, ...
//!
//! What clang keeps in its back-end options instead is read here:
//! * the optimisation level: the last `-O` option (`-O0`..`-O3`, `-Os`, `-Oz`; `-O` and `-Og`
//!   are `-O1`, `-Ofast` and `-O4` or more are `-O3`; default `-O0`);
//! * `-f[no-]vectorize` (= `-f[no-]tree-vectorize`), `-f[no-]slp-vectorize`
//!   (= `-f[no-]tree-slp-vectorize`), `-f[no-]unroll-loops`; without them, clang's defaults for
//!   the level ([`unimig_llvm_pass::Options::loop_options`]);
//! * `-mllvm OPTION`, given to our LLVM too (and still to the front ends, which check it).
//!
//! Not honoured, because clang applies them only in parts of its back end the pipeline does not
//! reproduce (they are still accepted, as clang accepts them): `-gz` (compressed debug
//! sections), `-fdebug-types-section`, `-fstack-size-section`, `-fno-zero-initialized-in-bss`,
//! `-femulated-tls`, `-fbasic-block-sections=`, `-fsplit-machine-functions`, `-fveclib=`,
//! `-fmerge-functions`, profile use (`-fprofile-use`, `-fprofile-sample-use`: clang applies
//! profiles in its middle end), and `-Wa,`/`-Xassembler` (there is no assembler run; LLVM
//! writes the objects).
//!
//! unimig's own options, never given to clang:
//! * `-funimig-points=none|entry|loops|all`: migration points (polls of the migration flag) at
//!   function entries (of functions that make stackmapped calls: a leaf returns to a caller
//!   that polls), loop back-edges, or both. Default `none`.
//! * `-funimig-poll-period=N`: a loop polls every N-th back-edge (default 1, every one).
//! * `-funimig-short-loop-limit=N`: an innermost loop without calls that iterates at most N
//!   times per entry does not poll (default 1024; 0: every loop polls).
//! * `-funimig-middle-end=shared|neutral`: the middle end's cost model, x86-64's for both ISAs
//!   (default) or none (no vectorisation; for measurements and tests of code shapes it makes).
//! * `-funimig-stackmaps` / `-fno-unimig-stackmaps`: every call site a stackmapped
//!   statepoint. Default off.
//!
//! * `-W[no-][error=]unimig[-NAME]`: the compatibility warnings (`compat.rs`), which also
//!   follow `-w`, `-Werror` and `-Wno-error`.
//!
//! With instrumentation on and a warning enabled, the front ends get `-gline-tables-only` for
//! the warnings' locations unless the user asked for debug information (the last `-g` option is
//! not `-g0`/`-ggdb0`); the back end then strips it before code generation, so the objects are
//! the same as without it (`Settings::line_tables`).
//!
//! The defaults are off while the runtime lacks `__unimig_migration_point`; when the options
//! turn instrumentation on, each object defines it weakly as a function that returns at once
//! (and the flag `__unimig_migrate_requested` weakly as 0), so programs link and run now and
//! the runtime's strong definitions take over once it has them.

use crate::args::{Invocation, Kind};
use crate::compat::{Flag, Policy};
use anyhow::{bail, Result};
use std::ffi::OsString;
use unimig_llvm_pass::{MiddleEnd, MigrationPoints, OptLevel, Options};

/// The back end's settings for one unimig-cc run.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub options: Options,
    /// `-mllvm` values, in order.
    pub llvm_args: Vec<String>,
    /// What becomes of the compatibility warnings.
    pub warnings: Policy,
    /// Give the front ends `-gline-tables-only` (and have the back end strip it), so that the
    /// warnings have locations.
    pub line_tables: bool,
}

/// Reads the settings from the invocation's compile options; fails on a bad `-funimig-*`
/// option.
pub fn settings(invocation: &Invocation) -> Result<Settings> {
    let mut options = Options {
        opt_level: OptLevel::O0,
        migration_points: MigrationPoints::None,
        stackmaps: false,
        ..Options::default()
    };
    let mut llvm_args = Vec::new();
    let mut warnings = Policy::default();
    let mut user_debug_info = false;
    for arg in &invocation.args {
        let tokens: Vec<String> = arg.tokens.iter().map(lossy).collect();
        match (&arg.kind, tokens.as_slice()) {
            (Kind::Unimig, [flag]) if flag.starts_with("-W") => {
                warnings.unimig_option(flag).map_err(|flag| {
                    let known: Vec<String> = Flag::ALL
                        .iter()
                        .map(|f| format!("-W{}", f.name()))
                        .collect();
                    anyhow::anyhow!(
                        "unknown unimig warning option '{flag}' (unimig-cc knows -Wunimig, {})",
                        known.join(", ")
                    )
                })?
            }
            (Kind::Unimig, [flag]) => unimig_option(&mut options, flag)?,
            (Kind::Compile | Kind::CompileAndLink, [mllvm, value]) if mllvm == "-mllvm" => {
                llvm_args.push(value.clone())
            }
            (Kind::Compile | Kind::CompileAndLink, [flag]) => {
                clang_option(&mut options, flag);
                warnings.clang_option(flag);
                if let Some(on) = debug_info_option(flag) {
                    user_debug_info = on;
                }
            }
            _ => {}
        }
    }
    let line_tables = options.instruments() && warnings.any_enabled() && !user_debug_info;
    options.strip_debug_info = line_tables;
    Ok(Settings {
        options,
        llvm_args,
        warnings,
        line_tables,
    })
}

/// Whether `flag` turns the front end's debug information on (`Some(true)`), off
/// (`Some(false)`), or says nothing about it (`None`: `-gz`, `-gcolumn-info`, ...).
fn debug_info_option(flag: &str) -> Option<bool> {
    let rest = flag.strip_prefix("-g")?;
    match rest {
        "0" | "gdb0" => Some(false),
        ""
        | "1"
        | "2"
        | "3"
        | "gdb"
        | "gdb1"
        | "gdb2"
        | "gdb3"
        | "dwarf"
        | "line-tables-only"
        | "mlt"
        | "line-directives-only"
        | "full"
        | "lldb"
        | "sce"
        | "dbx"
        | "codeview" => Some(true),
        _ if rest.starts_with("dwarf-") => Some(true),
        _ => None,
    }
}

fn lossy(token: &OsString) -> String {
    token.to_string_lossy().into_owned()
}

/// Applies one of clang's options that its back end reads; others are ignored.
fn clang_option(options: &mut Options, flag: &str) {
    if flag.starts_with("-O") {
        if let Some(level) = OptLevel::parse(flag) {
            options.opt_level = level;
        }
        return;
    }
    let (field, value) = match flag {
        "-fvectorize" | "-ftree-vectorize" => (&mut options.vectorize_loops, true),
        "-fno-vectorize" | "-fno-tree-vectorize" => (&mut options.vectorize_loops, false),
        "-fslp-vectorize" | "-ftree-slp-vectorize" => (&mut options.vectorize_slp, true),
        "-fno-slp-vectorize" | "-fno-tree-slp-vectorize" => (&mut options.vectorize_slp, false),
        "-funroll-loops" => (&mut options.unroll_loops, true),
        "-fno-unroll-loops" => (&mut options.unroll_loops, false),
        _ => return,
    };
    *field = Some(value);
}

fn unimig_option(options: &mut Options, flag: &str) -> Result<()> {
    let invalid = |value: &str, expected: &str| -> Result<()> {
        bail!("invalid value '{value}' in '{flag}' (expected {expected})")
    };
    if let Some(value) = flag.strip_prefix("-funimig-points=") {
        match MigrationPoints::parse(value) {
            Some(points) => options.migration_points = points,
            None => invalid(value, "none, entry, loops or all")?,
        }
    } else if let Some(value) = flag.strip_prefix("-funimig-poll-period=") {
        match value.parse::<u32>() {
            Ok(period) if period > 0 => options.loop_poll_period = period,
            _ => invalid(value, "a positive integer")?,
        }
    } else if let Some(value) = flag.strip_prefix("-funimig-short-loop-limit=") {
        match value.parse::<u32>() {
            Ok(limit) => options.short_loop_limit = limit,
            _ => invalid(value, "a non-negative integer")?,
        }
    } else if let Some(value) = flag.strip_prefix("-funimig-middle-end=") {
        options.middle_end = match value {
            "shared" => MiddleEnd::SharedCostModel,
            "neutral" => MiddleEnd::Neutral,
            _ => return invalid(value, "shared or neutral"),
        };
    } else if flag == "-funimig-stackmaps" {
        options.stackmaps = true;
    } else if flag == "-fno-unimig-stackmaps" {
        options.stackmaps = false;
    } else {
        bail!(
            "unknown unimig option '{flag}' (unimig-cc knows -funimig-points=, \
             -funimig-poll-period=, -funimig-short-loop-limit=, -funimig-middle-end=, \
             -funimig-stackmaps, -fno-unimig-stackmaps)"
        );
    }
    Ok(())
}

/// One line for `-v`: what the back end will do.
pub fn describe(settings: &Settings) -> String {
    let o = &settings.options;
    let loops = o.loop_options();
    let on = |b: bool| if b { "on" } else { "off" };
    let mut line = format!(
        "{}, loop vectorizer {}, SLP vectorizer {}, unrolling {}, migration points {}",
        o.opt_level.pipeline(),
        on(loops.vectorize),
        on(loops.slp_vectorize),
        on(loops.unroll),
        o.migration_points.name(),
    );
    if o.migration_points.loops() {
        line.push_str(&format!(
            " (loops poll every {}; loops of at most {} iterations without calls do not)",
            o.loop_poll_period, o.short_loop_limit
        ));
    }
    line.push_str(&format!(", stackmaps {}", on(o.stackmaps)));
    for arg in &settings.llvm_args {
        line.push_str(&format!(", -mllvm {arg}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Settings> {
        let invocation = Invocation::parse(args.iter().map(OsString::from).collect())?;
        settings(&invocation)
    }

    fn ok(args: &[&str]) -> Options {
        parse(args)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .options
    }

    #[test]
    fn defaults_are_uninstrumented_o0() {
        let o = ok(&["-c", "a.c"]);
        assert_eq!(o.opt_level, OptLevel::O0);
        assert_eq!(o.migration_points, MigrationPoints::None);
        assert!(!o.stackmaps && !o.instruments());
        assert!(o.define_flag_weak && o.define_migration_point_weak);
    }

    #[test]
    fn the_last_optimisation_level_wins() {
        assert_eq!(ok(&["-c", "-O2", "a.c"]).opt_level, OptLevel::O2);
        assert_eq!(ok(&["-c", "-O3", "-Os", "a.c"]).opt_level, OptLevel::Os);
        assert_eq!(ok(&["-c", "-O", "a.c"]).opt_level, OptLevel::O1);
        assert_eq!(ok(&["-c", "-Og", "a.c"]).opt_level, OptLevel::O1);
        assert_eq!(ok(&["-c", "-Ofast", "a.c"]).opt_level, OptLevel::O3);
        assert_eq!(
            ok(&["-O2", "a.c", "-O0", "-o", "app"]).opt_level,
            OptLevel::O0
        );
    }

    #[test]
    fn loop_flags_override_the_level_s_defaults() {
        let o = ok(&["-c", "-O2", "-fno-vectorize", "-fno-unroll-loops", "a.c"]);
        let loops = o.loop_options();
        assert!(!loops.vectorize && loops.slp_vectorize && !loops.unroll);
        let o = ok(&["-c", "-O1", "-ftree-vectorize", "-funroll-loops", "a.c"]);
        let loops = o.loop_options();
        assert!(loops.vectorize && !loops.slp_vectorize && loops.unroll);
        let o = ok(&["-c", "-Oz", "-fno-tree-slp-vectorize", "a.c"]);
        assert!(!o.loop_options().slp_vectorize && !o.loop_options().vectorize);
    }

    #[test]
    fn unimig_options() {
        let o = ok(&[
            "-c",
            "-funimig-points=loops",
            "-funimig-poll-period=8",
            "-funimig-short-loop-limit=0",
            "-funimig-stackmaps",
            "a.c",
        ]);
        assert_eq!(o.migration_points, MigrationPoints::Loops);
        assert_eq!(o.loop_poll_period, 8);
        assert_eq!(o.short_loop_limit, 0);
        assert_eq!(ok(&["-c", "a.c"]).short_loop_limit, 1024);
        assert!(o.stackmaps);
        let o = ok(&["-c", "-funimig-stackmaps", "-fno-unimig-stackmaps", "a.c"]);
        assert!(!o.stackmaps);
        assert_eq!(ok(&["-c", "a.c"]).middle_end, MiddleEnd::SharedCostModel);
        let o = ok(&["-c", "-funimig-middle-end=neutral", "a.c"]);
        assert_eq!(o.middle_end, MiddleEnd::Neutral);
        let err = |args: &[&str]| parse(args).unwrap_err().to_string();
        assert_eq!(
            err(&["-c", "-funimig-points=some", "a.c"]),
            "invalid value 'some' in '-funimig-points=some' (expected none, entry, loops or all)"
        );
        assert!(err(&["-c", "-funimig-poll-period=0", "a.c"]).contains("positive integer"));
        assert!(err(&["-c", "-funimig-short-loop-limit=-1", "a.c"]).contains("non-negative"));
        assert!(err(&["-c", "-funimig-middle-end=x", "a.c"]).contains("shared or neutral"));
        assert!(err(&["-c", "-funimig-frob", "a.c"]).starts_with("unknown unimig option"));
    }

    #[test]
    fn line_tables_only_when_warnings_can_show_and_the_user_has_no_debug_info() {
        let s = |args: &[&str]| {
            let s = parse(args).unwrap();
            assert_eq!(s.line_tables, s.options.strip_debug_info);
            s.line_tables
        };
        assert!(!s(&["-c", "a.c"]));
        assert!(s(&["-c", "-funimig-stackmaps", "a.c"]));
        assert!(s(&["-c", "-funimig-points=entry", "-g0", "a.c"]));
        assert!(s(&["-c", "-funimig-points=entry", "-g", "-g0", "a.c"]));
        assert!(!s(&["-c", "-funimig-points=entry", "-g", "a.c"]));
        assert!(!s(&["-c", "-funimig-points=entry", "-gdwarf-4", "a.c"]));
        assert!(s(&["-c", "-funimig-points=entry", "-gz", "a.c"]));
        assert!(!s(&["-c", "-funimig-points=entry", "-w", "a.c"]));
        assert!(!s(&["-c", "-funimig-points=entry", "-Wno-unimig", "a.c"]));
        let err = parse(&["-c", "-Wunimig-frob", "a.c"])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("unknown unimig warning option '-Wunimig-frob'"),
            "{err}"
        );
    }

    #[test]
    fn mllvm_values_are_collected_and_unimig_options_stay_away_from_clang() {
        let args = [
            "-c",
            "-mllvm",
            "-inline-threshold=9",
            "-funimig-points=all",
            "a.c",
        ];
        let s = parse(&args).unwrap();
        assert_eq!(s.llvm_args, ["-inline-threshold=9"]);
        let invocation = Invocation::parse(args.iter().map(OsString::from).collect()).unwrap();
        let flags = invocation.compile_flags(unimig_common::Isa::X86_64);
        assert_eq!(flags, ["-mllvm", "-inline-threshold=9"]);
        let e = Invocation::parse(
            ["-E", "-funimig-points=all", "a.c"]
                .map(OsString::from)
                .into(),
        )
        .unwrap();
        assert_eq!(e.passthrough_args(), ["-E", "a.c"]);
    }
}
