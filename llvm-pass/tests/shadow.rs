//! The shadow stack (src/shadow.rs) at the IR level: for the sample programs, both ISAs' modules
//! get the same shadow frames (slots, offsets, sizes) at every optimisation level, the layout is
//! deterministic, the instrumented IR passes the verifier with no alloca left but the ones
//! documented to stay, and the saved frame pointer is a recorded live value.

mod common;

use std::path::PathBuf;

use unimig_llvm_pass::*;

const LEVELS: [OptLevel; 5] = [
    OptLevel::O0,
    OptLevel::O1,
    OptLevel::O2,
    OptLevel::O3,
    OptLevel::Os,
];

fn sample() -> PathBuf {
    common::c_dir().join("../c-shadow/locals.c")
}

fn frames(src: &std::path::Path, isa: Isa, level: OptLevel) -> Vec<ShadowFrame> {
    let bc = common::frontend(src, isa, level);
    let opts = Options {
        opt_level: level,
        ..Options::default()
    };
    compile_with_report(&bc, isa, &opts)
        .unwrap()
        .report
        .shadow_frames
}

#[test]
fn frames_are_identical_across_isas_and_deterministic() {
    let src = sample();
    for level in LEVELS {
        let x = frames(&src, Isa::X86_64, level);
        let a = frames(&src, Isa::Aarch64, level);
        assert_eq!(x, a, "{level:?}: shadow frames differ between the ISAs");
        assert_eq!(
            x,
            frames(&src, Isa::X86_64, level),
            "{level:?}: not deterministic"
        );
        // The locals the sample prints are all there: leaf's buffer (37 bytes), its struct, its
        // long; the 64-aligned array.
        let leaf = x
            .iter()
            .find(|f| f.function == "leaf")
            .expect("leaf has a frame");
        assert!(leaf.slots.iter().any(|s| s.1 == 37), "{level:?}: {leaf:?}");
        let aligned = x.iter().find(|f| f.function == "aligned").unwrap();
        assert_eq!(aligned.align, 64, "{level:?}");
        for f in &x {
            assert_eq!(f.size % 16, 0, "{level:?}: {f:?}");
            assert!(
                f.slots.iter().all(|&(o, s)| o % 16 == 0 && o + s <= f.size),
                "{f:?}"
            );
        }
        // vla(argc + 4): its arrays are dynamic.
        let vla = x.iter().find(|f| f.function == "vla").unwrap();
        assert!(vla.dynamic >= 2, "{level:?}: {vla:?}");
    }
}

#[test]
fn every_sample_gets_the_same_frames_through_compile_pair() {
    let mut files = common::c_files();
    files.push(sample());
    for src in files {
        for level in LEVELS {
            let x = common::frontend(&src, Isa::X86_64, level);
            let a = common::frontend(&src, Isa::Aarch64, level);
            let opts = Options {
                opt_level: level,
                ..Options::default()
            };
            let pair = compile_pair(&x, &a, &opts).unwrap();
            let what = format!("{} {level:?}", src.display());
            assert_eq!(
                pair.x86_64.report.shadow_frames, pair.aarch64.report.shadow_frames,
                "{what}"
            );
            if src == sample() {
                let divergent: Vec<_> = pair
                    .x86_64
                    .report
                    .skipped
                    .iter()
                    .filter(|s| s.reason == SkipReason::IsaDivergent)
                    .collect();
                assert!(divergent.is_empty(), "{what}: {divergent:?}");
            }
        }
    }
}

/// The body of `@name` in textual IR.
fn body<'a>(ir: &'a str, name: &str) -> &'a str {
    let start = ir
        .lines()
        .position(|l| l.starts_with("define") && l.contains(&format!("@{name}(")))
        .unwrap_or_else(|| panic!("no function {name}"));
    let text: Vec<&str> = ir.lines().collect();
    let from = text[..start].iter().map(|l| l.len() + 1).sum::<usize>();
    let len = ir[from..].find("\n}\n").unwrap();
    &ir[from..from + len]
}

#[test]
fn allocas_leave_the_machine_stack_and_the_frame_is_recorded() {
    let src = sample();
    for level in LEVELS {
        for isa in Isa::ALL {
            let bc = common::frontend(&src, isa, level);
            let opts = Options {
                opt_level: level,
                ..Options::default()
            };
            // optimized_ir runs the verifier after instrumenting.
            let ir = optimized_ir(&bc, isa, &opts, true).unwrap();
            let what = format!("{level:?} {}", isa.name());
            let decl = ir
                .lines()
                .find(|l| l.starts_with("@__unimig_shadow_sp = "))
                .unwrap_or_else(|| panic!("{what}: no shadow pointer"));
            assert!(
                decl.contains("thread_local(initialexec) global ptr"),
                "{decl}"
            );
            // x86-64 addresses the pointer with llvm.threadlocal.address, AArch64 with an
            // inline asm of the local-exec sequence (shadow.rs `sp_addr`).
            let access = match isa {
                Isa::X86_64 => "@__unimig_shadow_sp",
                Isa::Aarch64 => ":tprel_lo12_nc:__unimig_shadow_sp",
            };
            for f in ["leaf", "rec", "vla", "aligned", "main"] {
                let b = body(&ir, f);
                assert!(b.contains(access), "{what}: {f}");
                // What may stay: -O0's write-only scalar slots (the return value, VLA sizes
                // for the debugger), never an object the program takes the address of.
                for l in b.lines().filter(|l| l.contains(" alloca ")) {
                    let scalar = l.contains("alloca i64,") || l.contains("alloca i32,");
                    assert!(level == OptLevel::O0 && scalar, "{what}: {f} keeps {l}");
                }
            }
            // setjmp: the pointer is put back after the call.
            let j = body(&ir, "jumper");
            let after = &j[j.find("@setjmp").unwrap()..];
            assert!(after.contains("store ptr %unimig.ssp"), "{what}:\n{j}");
            // rec's frame (static slots) is read from the shadow pointer where its local is
            // used (`&here` after the recursive call), so no record carries it; vla's frame
            // (VLAs) restores the pointer it saved at entry when it returns, so that saved
            // pointer is live across its calls and in their deopt lists.
            let in_a_deopt_list = |f: &str| {
                body(&ir, f).lines().any(|l| {
                    l.split_once("\"deopt\"(")
                        .is_some_and(|(_, list)| list.contains("ptr %unimig.ssp"))
                })
            };
            assert!(!in_a_deopt_list("rec"), "{what}:\n{}", body(&ir, "rec"));
            assert!(in_a_deopt_list("vla"), "{what}:\n{}", body(&ir, "vla"));
            // The 64-aligned frame is rounded down with llvm.ptrmask.
            assert!(body(&ir, "aligned").contains("@llvm.ptrmask"), "{what}");
        }
    }
}

#[test]
fn off_without_stackmaps_unless_asked() {
    let bc = common::frontend(&sample(), Isa::X86_64, OptLevel::O2);
    let off = Options {
        stackmaps: false,
        ..Options::default()
    };
    let r = compile_with_report(&bc, Isa::X86_64, &off).unwrap().report;
    assert!(r.shadow_frames.is_empty());
    let on = Options {
        shadow_stack: Some(true),
        ..off
    };
    let r = compile_with_report(&bc, Isa::X86_64, &on).unwrap().report;
    assert!(r.shadow_frames.iter().any(|f| f.function == "leaf"));
    assert!(r.call_sites.is_empty(), "no stackmaps were asked for");
}
