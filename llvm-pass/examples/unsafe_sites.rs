//! Runs the pipeline with stackmaps on pairs of front-end bitcode files and prints the
//! statepoint check's violations (the measurement of docs/formats.md, `.unimig.unsafe_sites`).
//!
//! ```text
//! UNIMIG_KEEP_TEMPS=1 unimig-cc -O2 -funimig-points=all -funimig-stackmaps -c x.c   # keeps N-x.{x86_64,aarch64}.bc
//! cargo run --release -p unimig-llvm-pass --example unsafe_sites -- [-mllvm OPT]... \
//!     [--library-functions NAMES] A.x86_64.bc...
//! ```
//! With `--ir DIR`, also writes each ISA's instrumented IR to `DIR/X.<isa>.ll` (to look at the
//! machine code before prologue insertion with `llc-19 -stop-before=prologepilog`).
//! Each `X.x86_64.bc` argument is paired with `X.aarch64.bc`. Prints one line per violating
//! statepoint (`isa  record  function  live...`), one per statepoint whose unlisted values all
//! got fixups (`isa  record  function  fixed  place=recipe...`), and a summary: statepoints,
//! violating statepoints per ISA, record IDs in the union (the unsafe sites), and statepoints
//! with fixups per ISA.
use anyhow::{Context, Result};
use unimig_llvm_pass::{compile_pair, optimized_ir, set_llvm_options, Isa, Options};

fn main() -> Result<()> {
    let mut llvm_args = Vec::new();
    let mut inputs = Vec::new();
    let mut ir_dir = None;
    let mut library = std::collections::BTreeSet::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-mllvm" {
            llvm_args.push(args.next().context("-mllvm needs a value")?);
        } else if arg == "--library-functions" {
            // One name per line (e.g. `llvm-nm-19 --defined-only -j libc.a`): direct calls
            // to them stay plain calls, as unimig-cc compiles them.
            let file = args.next().context("--library-functions needs a file")?;
            library = std::fs::read_to_string(&file)?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.ends_with(':'))
                .map(String::from)
                .collect();
        } else if arg == "--ir" {
            ir_dir = Some(std::path::PathBuf::from(
                args.next().context("--ir needs a value")?,
            ));
        } else {
            inputs.push(arg);
        }
    }
    // The code-generation options unimig-cc sets with stackmaps, so the figures are its own.
    set_llvm_options(&unimig_llvm_pass::pipeline::stackmap_llvm_options(
        &llvm_args,
    ))?;
    let opts = Options {
        library_functions: std::sync::Arc::new(library),
        ..Options::default()
    };
    let (mut sites, mut bad_x, mut bad_a, mut union) = (0, 0, 0, 0);
    let (mut fixed_x, mut fixed_a) = (0, 0);
    for x86 in &inputs {
        let a64 = x86.replace(".x86_64.bc", ".aarch64.bc");
        let pair = compile_pair(&std::fs::read(x86)?, &std::fs::read(&a64)?, &opts)
            .with_context(|| x86.clone())?;
        if let Some(dir) = &ir_dir {
            let stem = std::path::Path::new(x86).file_name().unwrap_or_default();
            let stem = stem.to_string_lossy().replace(".x86_64.bc", "");
            for (isa, file) in [(Isa::X86_64, x86), (Isa::Aarch64, &a64)] {
                let ir = optimized_ir(&std::fs::read(file)?, isa, &opts, true)?;
                std::fs::write(dir.join(format!("{stem}.{isa}.ll")), ir)?;
            }
        }
        sites += pair.x86_64.report.call_sites.len();
        for (isa, out) in [("x86_64", &pair.x86_64), ("aarch64", &pair.aarch64)] {
            for v in &out.violations {
                println!("{isa}\t{:#x}\t{}\t{}", v.id, v.function, v.live.join(" "));
            }
            for f in &out.fixed {
                let fixups = f.fixups.join(" ");
                println!("{isa}\t{:#x}\t{}\tfixed\t{fixups}", f.id, f.function);
            }
        }
        fixed_x += pair.x86_64.fixed.len();
        fixed_a += pair.aarch64.fixed.len();
        bad_x += pair.x86_64.violations.len();
        bad_a += pair.aarch64.violations.len();
        union += pair.unsafe_sites().len();
    }
    println!(
        "statepoints {sites}: violating x86_64 {bad_x}, aarch64 {bad_a}, union {union} ({:.2}%); \
         with fixups x86_64 {fixed_x}, aarch64 {fixed_a}",
        100.0 * union as f64 / sites.max(1) as f64
    );
    Ok(())
}
