//! Measures how target-neutral the middle end is: for each C file given, runs clang-19's front
//! end for both ISAs, then the middle end in each [`MiddleEnd`] mode, and counts functions whose
//! sequence of non-intrinsic call sites (callee names in canonical order) differs between the
//! x86-64 and AArch64 modules. Also reports instrumented call-site/live-value mismatches.
//!
//! cargo run --release --example neutral_middle_end -- [-O2] [-I dir]... file.c...

use std::collections::BTreeMap;
use std::process::Command;

use unimig_llvm_pass::analysis::analyze;
use unimig_llvm_pass::*;

fn frontend(src: &str, isa: Isa, opt: &str, includes: &[String]) -> Option<Vec<u8>> {
    let out = std::env::temp_dir().join(format!("unimig-neutral-{}.bc", std::process::id()));
    let st = Command::new("clang-19")
        .arg(format!("--target={}-linux-musl", isa.name()))
        .args([
            "-fsigned-char",
            "-ffp-contract=off",
            "-ffunction-sections",
            "-fdata-sections",
        ])
        .args([
            "-fno-common",
            "-fno-pic",
            "-fno-pie",
            "-nostdlibinc",
            "-isystem",
        ])
        .arg(format!("/usr/include/{}-linux-musl", isa.name()))
        .args(includes.iter().flat_map(|i| ["-I".to_string(), i.clone()]))
        .arg(opt)
        .args(["-Xclang", "-disable-llvm-passes", "-emit-llvm", "-c", "-o"])
        .arg(&out)
        .arg(src)
        .output()
        .ok()?;
    if !st.status.success() {
        eprintln!(
            "{src}: front end failed: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        return None;
    }
    let bytes = std::fs::read(&out).ok();
    let _ = std::fs::remove_file(&out);
    bytes
}

type Calls = BTreeMap<String, Vec<String>>;

fn call_sequences(ir: &str) -> Calls {
    let mut out = Calls::new();
    for fa in analyze(ir.as_bytes()).unwrap() {
        let seq = fa
            .callees
            .iter()
            .filter(|c| !c.as_deref().is_some_and(|n| n.starts_with("llvm.")))
            .map(|c| c.clone().unwrap_or_else(|| "(indirect)".into()))
            .collect();
        out.insert(fa.name, seq);
    }
    out
}

fn main() {
    let mut opt = "-O2".to_string();
    let mut includes = Vec::new();
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a.starts_with("-O") {
            opt = a;
        } else if a == "-I" {
            includes.push(args.next().unwrap());
        } else {
            files.push(a);
        }
    }
    let level = OptLevel::parse(&opt).expect("opt level");
    let modes = [
        MiddleEnd::SharedCostModel,
        MiddleEnd::Neutral,
        MiddleEnd::NeutralNoTriple,
        MiddleEnd::TargetAware,
    ];
    let mut differing = [0usize; 4];
    let mut functions = 0usize;
    let mut total_calls = [0usize; 4];
    let mut summary_mismatch = 0usize;
    for f in &files {
        let Some(x86) = frontend(f, Isa::X86_64, &opt, &includes) else {
            continue;
        };
        let Some(a64) = frontend(f, Isa::Aarch64, &opt, &includes) else {
            continue;
        };
        for (m, mode) in modes.iter().enumerate() {
            let o = Options {
                opt_level: level,
                middle_end: *mode,
                ..Options::default()
            };
            let cx = call_sequences(&optimized_ir(&x86, Isa::X86_64, &o, false).unwrap());
            let ca = call_sequences(&optimized_ir(&a64, Isa::Aarch64, &o, false).unwrap());
            if m == 0 {
                functions += cx.len();
            }
            total_calls[m] += cx.values().map(Vec::len).sum::<usize>();
            for (name, seq) in &cx {
                if ca.get(name) != Some(seq) {
                    differing[m] += 1;
                    eprintln!("{f}: {mode:?}: {name} differs");
                }
            }
            for name in ca.keys() {
                if !cx.contains_key(name) {
                    differing[m] += 1;
                    eprintln!("{f}: {mode:?}: {name} only on aarch64");
                }
            }
            if *mode == MiddleEnd::SharedCostModel {
                let pair = compile_pair(&x86, &a64, &o).unwrap();
                for s in &pair.x86_64.report.skipped {
                    if s.reason == SkipReason::IsaDivergent {
                        eprintln!("{f}: {} left uninstrumented: {}", s.function, s.reason);
                    }
                }
                let (ox, oa) = (pair.x86_64, pair.aarch64);
                let sx = stackmap_summary(&ox.object).unwrap();
                let sa = stackmap_summary(&oa.object).unwrap();
                if std::env::var_os("NEUTRAL_DUMP").is_some() {
                    for (r, isa) in [(&ox.report, "x86_64"), (&oa.report, "aarch64")] {
                        let lines: Vec<String> = r
                            .call_sites
                            .iter()
                            .map(|c| {
                                format!("{} {} {:?} {}", c.function, c.index, c.callee, c.num_live)
                            })
                            .collect();
                        std::fs::write(format!("/tmp/nsites.{isa}"), lines.join("\n")).unwrap();
                    }
                }
                let bad = sx.iter().zip(&sa).filter(|(a, b)| a != b).count()
                    + sx.len().abs_diff(sa.len());
                if bad > 0 {
                    eprintln!(
                        "{f}: {bad} stackmap records differ between the ISAs ({} vs {} records)",
                        sx.len(),
                        sa.len()
                    );
                    if let Some((a, b)) = sx.iter().zip(&sa).find(|(a, b)| a != b) {
                        eprintln!("  first: x86-64 {a:?}\n         aarch64 {b:?}");
                    }
                }
                summary_mismatch += bad;
            }
        }
    }
    println!("{} files, {functions} functions, {opt}", files.len());
    for (m, mode) in modes.iter().enumerate() {
        println!(
            "{mode:?}: {} functions with differing call sequences; {} call sites (x86-64)",
            differing[m], total_calls[m]
        );
    }
    println!("stackmap records differing between ISAs (SharedCostModel, instrumented): {summary_mismatch}");
}
