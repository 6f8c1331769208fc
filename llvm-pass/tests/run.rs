//! Instrumented programs run correctly: every C file in tests/c is compiled through the
//! pipeline for both ISAs (with the migration flag set, so every poll calls the migration
//! point), linked statically against musl, and run natively (x86-64) and under qemu-aarch64;
//! the output must equal that of a plain `clang -O2` build. This exercises the statepoint
//! calling sequences (argument attributes, struct passing, variadic calls through the x86-64
//! thunk, returns) and the poll code.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use unimig_llvm_pass::*;

/// A stand-in for the unimig runtime: the request flag is always set and the migration point
/// counts its calls (printed at exit, so the count must match across ISAs too); the main
/// thread's shadow stack is a static array (the programs have no other threads).
const RUNTIME_STUB: &str = r#"
#include <stdio.h>
#include <stdlib.h>
static char shadow_stack[1 << 20] __attribute__((aligned(16)));
__thread void *__unimig_shadow_sp = shadow_stack + sizeof shadow_stack;
int __unimig_migrate_requested = 1;
static unsigned long calls;
static void report(void) { fprintf(stderr, "migration points: %lu\n", calls); }
/* Called with preserve_all (every register survives), as the runtime's stub is. */
__attribute__((preserve_all)) void __unimig_migration_point(void) {
  if (calls++ == 0) atexit(report);
}
void __unimig_jmpbuf_register(void *buf) { (void)buf; }
"#;

fn libgcc(isa: Isa) -> Option<PathBuf> {
    let p = match isa {
        Isa::X86_64 => PathBuf::from("/usr/lib/gcc/x86_64-linux-gnu/12/libgcc.a"),
        Isa::Aarch64 => PathBuf::from("/usr/lib/gcc-cross/aarch64-linux-gnu/12/libgcc.a"),
    };
    p.exists().then_some(p)
}

fn clang_object(src: &Path, isa: Isa, out: &Path) {
    let st = Command::new(common::tool("clang"))
        .arg(format!("--target={}-linux-musl", isa.name()))
        .args([
            "-O2",
            "-fsigned-char",
            "-ffp-contract=off",
            "-fno-pic",
            "-fno-pie",
            "-nostdlibinc",
            "-isystem",
        ])
        .arg(common::musl_include(isa))
        .arg("-c")
        .arg("-o")
        .arg(out)
        .arg(src)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

fn link(isa: Isa, objs: &[PathBuf], out: &Path) {
    let lib = common::musl_lib(isa);
    let mut cmd = Command::new(common::tool("ld.lld"));
    cmd.arg("-static").arg("-o").arg(out);
    cmd.arg(lib.join("crt1.o")).arg(lib.join("crti.o"));
    cmd.args(objs);
    cmd.arg(lib.join("libc.a"));
    if let Some(g) = libgcc(isa) {
        cmd.arg(g);
    }
    cmd.arg(lib.join("crtn.o"));
    common::run(&mut cmd);
}

fn exec(isa: Isa, exe: &Path, args: &[&str]) -> (String, String, i32) {
    let mut cmd = match isa {
        Isa::X86_64 => Command::new(exe),
        Isa::Aarch64 => {
            let mut c = Command::new("qemu-aarch64");
            c.arg(exe);
            c
        }
    };
    let out = cmd.args(args).output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn tools_present() -> bool {
    let ok = |c: &str| Command::new(c).arg("--version").output().is_ok();
    ok("qemu-aarch64")
        && common::musl_lib(Isa::X86_64).join("libc.a").exists()
        && common::musl_lib(Isa::Aarch64).join("libc.a").exists()
}

#[test]
fn instrumented_programs_match_plain_clang_on_both_isas() {
    if !tools_present() {
        panic!("qemu-aarch64 and musl-dev (both ISAs) are needed: run scripts/setup.sh");
    }
    let dir = tempfile::tempdir().unwrap();
    let stub_src = common::write_temp(dir.path(), "stub.c", RUNTIME_STUB.as_bytes());
    for level in [OptLevel::O0, OptLevel::O2, OptLevel::O3] {
        for period in [1, 64] {
            let opts = Options {
                opt_level: level,
                loop_poll_period: period,
                ..Options::default()
            };
            for src in common::c_files() {
                let stem = src.file_stem().unwrap().to_string_lossy().into_owned();
                // Reference: plain clang -O2, native.
                let ref_obj = dir.path().join(format!("{stem}.ref.o"));
                clang_object(&src, Isa::X86_64, &ref_obj);
                let ref_exe = dir.path().join(format!("{stem}.ref"));
                link(Isa::X86_64, &[ref_obj], &ref_exe);
                let args = ["a", "b"];
                let (want_out, _, want_code) = exec(Isa::X86_64, &ref_exe, &args);
                let mut mp_counts = Vec::new();
                for isa in Isa::ALL {
                    let what = format!("{stem} {level:?} period {period} {}", isa.name());
                    let bc = common::frontend(&src, isa, level);
                    let obj = compile(&bc, isa, &opts).unwrap_or_else(|e| panic!("{what}: {e:#}"));
                    let o =
                        common::write_temp(dir.path(), &format!("{stem}.{}.o", isa.name()), &obj);
                    let s = dir.path().join(format!("stub.{}.o", isa.name()));
                    clang_object(&stub_src, isa, &s);
                    let exe = dir.path().join(format!("{stem}.{}", isa.name()));
                    link(isa, &[o, s], &exe);
                    let (out, err, code) = exec(isa, &exe, &args);
                    assert_eq!(out, want_out, "{what}: stdout differs (stderr: {err})");
                    assert_eq!(code, want_code, "{what}: exit code");
                    let count = err
                        .lines()
                        .find_map(|l| l.strip_prefix("migration points: "))
                        .unwrap_or_else(|| panic!("{what}: no migration point was reached: {err}"))
                        .to_string();
                    mp_counts.push(count);
                }
                assert_eq!(
                    mp_counts[0], mp_counts[1],
                    "{stem} {level:?}: migration point counts differ"
                );
            }
        }
    }
}
