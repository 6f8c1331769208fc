//! Runtime-placed addresses through the real toolchain: a program built by `unimig-cc` prints
//! the addresses the unimig runtime fixes (sysroots/runtime, `unimig_layout.h`): the thread
//! descriptor (`pthread_self()`, `&errno`, `&h_errno`) of the main thread and of a second
//! thread, a TLS variable, `argv`, `argv[i]`, `environ`, `environ[0]`, `getauxval(AT_RANDOM)`
//! and the main thread's stack bounds. The native run and `unimig run --isa aarch64` must print
//! the same stdout (and exit status), twice each (ASLR must not matter). The address of a local
//! in main may differ per ISA (frame layouts differ): it goes to stderr, and is only checked to
//! lie in the main stack, the same in both runs of one ISA.
//!
//! The environment is cleared to a single variable (PATH, which `unimig run` needs to find
//! qemu-aarch64): qemu-user 7.2 hands the environment to the guest in reverse order, so with
//! more than one variable `environ[i]` would differ between the ISAs.

use std::fs;
use std::path::Path;
use std::process::Output;
use unimig_tests::*;

const PROGRAM: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unimig_layout.h>

extern char **environ;
static __thread long tls_var = 7;

#define IN(p, R) (UNIMIG_IN_REGION((uintptr_t)(p), UNIMIG_##R##_BASE, UNIMIG_##R##_SIZE) ? "ok" : "OUTSIDE")

static void descriptor(const char *who, int main_thread)
{
    printf("%s: pthread_self=%p %s &errno=%p %s &h_errno=%p %s &tls_var=%p tls_var=%ld\n", who,
           (void *)pthread_self(), main_thread ? IN(pthread_self(), TLS) : IN(pthread_self(), MMAP),
           (void *)&errno, main_thread ? IN(&errno, TLS) : IN(&errno, MMAP),
           (void *)&h_errno, main_thread ? IN(&h_errno, TLS) : IN(&h_errno, MMAP),
           (void *)&tls_var, tls_var);
}

static void *thread_main(void *arg)
{
    tls_var = 8;
    errno = 0;
    descriptor(arg, 0);
    return 0;
}

int main(int argc, char **argv)
{
    int local = argc;
    fprintf(stderr, "local %p\n", (void *)&local);
    descriptor("main", 1);
    pthread_t t;
    if (pthread_create(&t, 0, thread_main, "thread") || pthread_join(t, 0))
        return 99;
    printf("argc=%d argv=%p %s (expected %#lx) environ=%p %s\n", argc, (void *)argv, IN(argv, MSTACK),
           UNIMIG_MAIN_ARGS + sizeof(long), (void *)environ, IN(environ, MSTACK));
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%p %s%s%s\n", i, (void *)argv[i], IN(argv[i], MSTACK),
               i ? " " : "", i ? argv[i] : "");
    for (int i = 0; environ[i]; i++)
        printf("environ[%d]=%p %s\n", i, (void *)environ[i], IN(environ[i], MSTACK));
    printf("AT_RANDOM=%p %s\n", (void *)getauxval(AT_RANDOM), IN(getauxval(AT_RANDOM), MSTACK));
    pthread_attr_t a;
    void *lo;
    size_t size;
    pthread_getattr_np(pthread_self(), &a);
    pthread_attr_getstack(&a, &lo, &size);
    printf("main stack top %p (expected %#lx) %s\n", (void *)((char *)lo + size),
           UNIMIG_MAIN_STACK_TOP, IN(lo, MSTACK));
    return argc;
}
"#;

fn hex_after(text: &str, key: &str) -> u64 {
    let start = text
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in {text:?}"))
        + key.len();
    let word: String = text[start..]
        .trim_start_matches("0x")
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    u64::from_str_radix(&word, 16)
        .unwrap_or_else(|_| panic!("bad address after {key:?} in {text:?}"))
}

fn run_isa(isa: Isa, app: &Path, args: &[&str]) -> Output {
    let mut cmd = isa_command(isa, app, &RunSpec::new(args));
    cmd.env_clear().env("PATH", path_with_stage());
    run_with_input(&mut cmd, b"", RUN_TIMEOUT)
}

#[test]
fn runtime_fixed_addresses_are_identical_on_both_isas() {
    let _t = Timer::start("runtime-addresses");
    let tmp = temp_dir("rt-addr");
    let src = tmp.path().join("addrs.c");
    fs::write(&src, PROGRAM).unwrap();
    let app = tmp.path().join("addrs");
    check(command(cc()).arg("-O2").arg(&src).arg("-o").arg(&app));
    assert_layout_checked(&app);

    let args = ["one", "two words", ""];
    let runs: Vec<(Isa, Output)> = [Isa::X86_64, Isa::X86_64, Isa::Aarch64, Isa::Aarch64]
        .into_iter()
        .map(|isa| (isa, run_isa(isa, &app, &args)))
        .collect();
    let (_, first) = &runs[0];
    let stdout = String::from_utf8_lossy(&first.stdout).to_string();
    assert_eq!(
        first.status.code(),
        Some(args.len() as i32 + 1),
        "native run failed:\n{}",
        show_output(first)
    );
    assert!(
        !stdout.contains("OUTSIDE"),
        "an address lies outside its documented region:\n{stdout}"
    );
    for key in [
        "main: pthread_self=",
        "thread: pthread_self=",
        "argv=",
        "argv[1]=",
        "environ=",
        "environ[0]=",
    ] {
        assert!(stdout.contains(key), "{key} missing from:\n{stdout}");
    }
    assert_eq!(
        hex_after(&stdout, "argc=4 argv="),
        hex_after(&stdout, "(expected "),
        "argv is not at UNIMIG_MAIN_ARGS + 8:\n{stdout}"
    );
    for (i, (isa, out)) in runs.iter().enumerate() {
        let what = format!("run {} ({})", i + 1, isa.name());
        assert_same_output_stdout(&what, first, out);
    }

    // stderr: the local in main, inside the main stack, the same in both runs of one ISA.
    let top = hex_after(&stdout, "main stack top ");
    for pair in runs.chunks(2) {
        let (isa, a) = &pair[0];
        let (_, b) = &pair[1];
        assert_eq!(
            a.stderr,
            b.stderr,
            "{}: the address of a local in main differs between runs",
            isa.name()
        );
        let local = hex_after(&String::from_utf8_lossy(&a.stderr), "local ");
        assert!(
            local < top && local >= top - 0x10000,
            "{}: local in main at {local:#x}, main stack top {top:#x}",
            isa.name()
        );
    }
}

/// stdout and exit status identical (stderr may differ: the stack address in main).
fn assert_same_output_stdout(what: &str, a: &Output, b: &Output) {
    assert_eq!(
        a.status.code(),
        b.status.code(),
        "{what}: exit status differs:\n{}\n---\n{}",
        show_output(a),
        show_output(b)
    );
    assert_same_bytes(
        &format!("{what}: stdout"),
        &a.stdout,
        &b.stdout,
        "run 1 (x86_64)",
        what,
    );
}
