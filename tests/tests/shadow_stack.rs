//! The shadow stack end to end: a program printing the addresses of locals in nested calls
//! (arrays, structs, a 64-aligned array, VLAs and `alloca()`, recursion, a setjmp/longjmp loop)
//! prints the same on x86-64 and AArch64 (qemu) at -O0..-Os, every address inside the main
//! thread's shadow stack; no stackmap record has a Direct (machine-stack object) location; and
//! threads created and joined in rounds get their own shadow stacks, reused round after round,
//! with the same addresses on both ISAs.

use std::fs;
use unimig_tests::*;

const LOCALS: &str = include_str!("../../llvm-pass/tests/c-shadow/locals.c");

const THREADS: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <string.h>
__attribute__((noinline)) static long depth(int n, char *prev) {
  char buf[64]; memset(buf, n, sizeof buf);
  if (prev && prev[0] != n + 1) return -1;
  if (n == 0) return (long)buf[0];
  return depth(n - 1, buf) + buf[1];
}
static void *worker(void *arg) {
  int id = (int)(long)arg; char name[32];
  snprintf(name, sizeof name, "w%d", id);
  printf("thread %d local %p\n", id, (void *)name);
  return (void *)(depth(100 + id, 0) + (long)strlen(name));
}
int main(void) {
  int here; printf("main local %p\n", (void *)&here);
  long total = 0;
  for (int round = 0; round < 3; round++) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], 0, worker, (void *)(long)i);
    for (int i = 0; i < 4; i++) { void *r; pthread_join(t[i], &r); total += (long)r; }
  }
  printf("total %ld\n", total);
  return 0;
}
"#;

/// Addresses printed by the programs ("name 0x...").
fn addresses(stdout: &[u8]) -> Vec<u64> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last()?.strip_prefix("0x"))
        .map(|h| u64::from_str_radix(h, 16).unwrap())
        .collect()
}

const SSTACK_BASE: u64 = 0x2020_0000_0000;
const SLOT: u64 = 0x400_0000;

fn build(src: &std::path::Path, app: &std::path::Path, level: &str) {
    check(
        command(cc())
            .args([
                level,
                "-pthread",
                "-funimig-points=all",
                "-funimig-stackmaps",
            ])
            .arg(src)
            .arg("-o")
            .arg(app),
    );
}

#[test]
fn locals_have_the_same_addresses_on_both_isas() {
    let _t = Timer::start("shadow_stack locals");
    let tmp = temp_dir("shadow");
    let src = tmp.path().join("locals.c");
    fs::write(&src, LOCALS).unwrap();
    for level in ["-O0", "-O1", "-O2", "-O3", "-Os"] {
        let app = tmp.path().join("locals");
        build(&src, &app, level);
        let out = run_both_same(&format!("locals {level}"), &app, &RunSpec::new(&["x"]));
        let addrs = addresses(&out.stdout);
        assert!(addrs.len() > 20, "{}", show_output(&out));
        for a in addrs {
            assert!(
                (SSTACK_BASE..SSTACK_BASE + SLOT).contains(&a),
                "{level}: {a:#x} is not on the main shadow stack\n{}",
                show_output(&out)
            );
        }
        // No record locates a machine-stack object (Direct): nothing left to fix up.
        check(command(tool("unimig")).arg("split").arg(&app));
        for isa in ["x86_64", "aarch64"] {
            let image = tmp.path().join(format!("locals.{isa}"));
            let text = check(command("llvm-readobj-19").arg("--stackmap").arg(&image)).stdout;
            let text = String::from_utf8_lossy(&text);
            assert!(text.contains("Record ID"), "{level} {isa}");
            assert!(
                !text.contains("Direct"),
                "{level} {isa}: Direct location\n{text}"
            );
        }
    }
}

#[test]
fn threads_get_their_own_shadow_stacks() {
    let _t = Timer::start("shadow_stack threads");
    let tmp = temp_dir("shadow-threads");
    let src = tmp.path().join("threads.c");
    fs::write(&src, THREADS).unwrap();
    let app = tmp.path().join("threads");
    build(&src, &app, "-O2");
    let (x, a) = run_both_isas_spec(&app, &RunSpec::new::<&str>(&[]));
    // Thread output interleaves differently per run: compare sorted lines.
    let sorted = |o: &std::process::Output| {
        let mut l: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        l.sort();
        l
    };
    assert_success("threads x86-64", &x);
    assert_success("threads aarch64", &a);
    assert_eq!(
        sorted(&x),
        sorted(&a),
        "{}\n{}",
        show_output(&x),
        show_output(&a)
    );
    let lines = sorted(&x);
    for id in 0..4u64 {
        let mine: Vec<u64> = lines
            .iter()
            .filter(|l| l.starts_with(&format!("thread {id} ")))
            .flat_map(|l| addresses(l.as_bytes()))
            .collect();
        assert_eq!(mine.len(), 3, "{lines:?}");
        // The same slot in every round (reused after the join), not the main thread's.
        assert!(mine.iter().all(|&p| p == mine[0]), "{lines:?}");
        assert!(mine[0] >= SSTACK_BASE + SLOT && mine[0] < SSTACK_BASE + 64 * SLOT);
    }
}
