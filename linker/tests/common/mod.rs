//! Helpers for the integration tests: fat objects made by hand (clang-19 for both ISAs +
//! llvm-objcopy-19, as unimig-cc does), the stage directory from `make build`, and running a
//! fat executable natively and under qemu-aarch64.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const FLAGS: &[&str] = &[
    "-nostdlibinc",
    "-fsigned-char",
    "-ffp-contract=off",
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-common",
    "-fno-pic",
    "-fno-pie",
    "-O2",
];

/// Flags one ISA needs besides [`FLAGS`]: AArch64's GlobalMerge pass would merge a file's
/// static variables into one section, which the linker cannot lay out like x86-64's.
pub fn isa_flags(isa: &str) -> &'static [&'static str] {
    match isa {
        "aarch64" => &["-mno-global-merge"],
        _ => &[],
    }
}

/// `build/stage`, which `make build` fills; a test that needs it fails without it.
pub fn stage() -> PathBuf {
    let stage = Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/stage");
    let libc = stage.join("lib/unimig/sysroots/aarch64-linux-musl/lib/libc.a");
    assert!(
        libc.exists(),
        "{} not found: run `make build` in the unimig source tree first",
        libc.display()
    );
    stage.canonicalize().unwrap()
}

pub fn sysroot(isa: &str) -> PathBuf {
    stage()
        .join("lib/unimig/sysroots")
        .join(format!("{isa}-linux-musl"))
}

fn check(what: &str, out: Output) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Compiles `src` (named `name`.c in `dir`) into the fat object `dir/name.o`.
pub fn fat_object(dir: &Path, name: &str, src: &str) -> PathBuf {
    fat_object_with(dir, name, src, [&[], &[]])
}

/// [`fat_object`] with `extra` flags for the x86-64 and the AArch64 compile.
pub fn fat_object_with(dir: &Path, name: &str, src: &str, extra: [&[&str]; 2]) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    fs::write(&c, src).unwrap();
    let mut halves = Vec::new();
    for (k, isa) in ["x86_64", "aarch64"].into_iter().enumerate() {
        let out = dir.join(format!("{name}.{isa}.o"));
        let include = sysroot(isa).join("include");
        let status = Command::new("clang-19")
            .arg(format!("--target={isa}-linux-musl"))
            .args(FLAGS)
            .args(isa_flags(isa))
            .args(extra[k])
            .arg("-isystem")
            .arg(&include)
            .arg("-c")
            .arg(&c)
            .arg("-o")
            .arg(&out)
            .output()
            .expect("clang-19 not found: run `make setup`");
        check("clang-19", status);
        halves.push(out);
    }
    let fat = dir.join(format!("{name}.o"));
    let out = Command::new("llvm-objcopy-19")
        .arg(format!(
            "--add-section=.unimig.aarch64={}",
            halves[1].display()
        ))
        .args(["--set-section-flags", ".unimig.aarch64=exclude,readonly"])
        .arg(&halves[0])
        .arg(&fat)
        .output()
        .unwrap();
    check("llvm-objcopy-19", out);
    fat
}

/// The plain x86-64 object of `name` (made by [`fat_object`]).
pub fn host_object(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.x86_64.o"))
}

/// `ar rcs` (GNU ar) of `members`.
pub fn archive(path: &Path, members: &[&Path], mode: &str) -> PathBuf {
    let _ = fs::remove_file(path);
    let out = Command::new("ar")
        .arg(mode)
        .arg(path)
        .args(members)
        .output()
        .unwrap();
    check("ar", out);
    path.to_path_buf()
}

/// Runs `cmd` with `stdin`, returns the output.
pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Writes the AArch64 image embedded in fat executable `exe` to `exe.a64` and returns it.
pub fn extract_image(exe: &Path) -> PathBuf {
    let data = fs::read(exe).unwrap();
    let image = unimig_common::fat::aarch64_image(&data).expect("a fat executable");
    let path = exe.with_extension("a64");
    fs::write(&path, image).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Runs fat executable `exe` natively and its AArch64 image under qemu-aarch64; returns both.
pub fn run_both(exe: &Path, args: &[&str], stdin: &[u8]) -> (Output, Output) {
    let mut native = Command::new(exe);
    native.args(args);
    let native = run_with_stdin(native, stdin);
    let mut qemu = Command::new("qemu-aarch64");
    qemu.arg(extract_image(exe)).args(args);
    (native, run_with_stdin(qemu, stdin))
}

/// Asserts that both ISAs printed the same bytes and exited the same way.
pub fn assert_same(native: &Output, aarch64: &Output) {
    assert_eq!(
        String::from_utf8_lossy(&native.stdout),
        String::from_utf8_lossy(&aarch64.stdout),
        "stdout differs between x86-64 and aarch64"
    );
    assert_eq!(native.stdout, aarch64.stdout);
    assert_eq!(
        native.status.code(),
        aarch64.status.code(),
        "exit status differs"
    );
}

/// A program that prints the addresses of everything it can observe: its own functions (static
/// ones of equal names in two files too), libc's, globals, statics, string literals (the same
/// text in three files), a table of function pointers, libc's `stdout`/`stderr`/`stdin`,
/// thread-locals (initialised and zero: placed by the runtime) and heap blocks of 24 B, 4 KB
/// and 8 MB (from the runtime's arena). The
/// three files: [`ADDR_MAIN`], [`ADDR_LIB`] and [`ADDR_MORE`] (meant for an archive).
pub const ADDR_MAIN: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct ops {
    int (*own)(int);
    int (*local)(int);
    int (*print)(const char *, ...);
    void *(*alloc)(size_t);
    void (*sort)(void *, size_t, size_t, int (*)(const void *, const void *));
};
int lib_twice(int);
int (*lib_static_fn(void))(int);
const char *lib_literal(void);
const char *lib_name(int);
extern int lib_counter;
extern const char *const lib_names[];
int more_fn(int);
const char *more_literal(void);
int global_init = 42;
int global_zero;
const int global_const[4] = {1, 2, 3, 4};
static int static_init = 7;
static char static_buf[100];
static int twice(int x) { return 2 * x + static_init; }
struct ops table = { lib_twice, twice, printf, malloc, qsort };
static const char *const local_names[] = { "alpha", "beta", "hello, unimig" };
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
_Thread_local int tls_init = 11;
_Thread_local long tls_zero;
#define P(name, ptr) printf("%-16s %p\n", name, (void *)(ptr))
int main(void) {
    static int local_static = 3;
    P("main", main); P("twice", twice); P("cmp", cmp); P("lib_twice", lib_twice);
    P("lib static fn", lib_static_fn()); P("more_fn", more_fn);
    P("printf", printf); P("malloc", malloc); P("qsort", qsort); P("memcpy", memcpy);
    P("strlen", strlen); P("snprintf", snprintf);
    P("global_init", &global_init); P("global_zero", &global_zero);
    P("global_const", global_const); P("static_init", &static_init);
    P("static_buf", static_buf); P("local_static", &local_static);
    P("lib_counter", &lib_counter); P("lib_names", lib_names);
    P("literal", "hello, unimig"); P("lib literal", lib_literal());
    P("more literal", more_literal()); P("local_names[2]", local_names[2]);
    P("lib_names[1]", lib_names[1]); P("lib_name(0)", lib_name(0)); P("other literal", "xyz");
    P("table", &table); P("table.own", table.own); P("table.local", table.local);
    P("table.print", table.print); P("table.alloc", table.alloc); P("table.sort", table.sort);
    P("stdout", stdout); P("stderr", stderr); P("stdin", stdin);
    P("tls init", &tls_init); P("tls zero", &tls_zero);
    P("heap 24B", malloc(24)); P("heap 4KB", malloc(4096)); P("heap 8MB", malloc(8 << 20));
    int v[] = {3, 1, 2};
    table.sort(v, 3, sizeof v[0], cmp);
    char buf[64];
    snprintf(buf, sizeof buf, "%d %d %d", v[0], v[1], v[2]);
    printf("values %d %d %d %d %s %s\n", twice(global_init), lib_twice(local_static),
           lib_static_fn()(5), more_fn(1), lib_name(1), buf);
    return 0;
}
"#;

/// Second file of the address program; its static `twice` has the name of [`ADDR_MAIN`]'s.
pub const ADDR_LIB: &str = r#"
static int twice(int x) { return 3 * x; }
int lib_counter = 5;
const char *const lib_names[] = { "one", "hello, unimig", "three" };
int lib_twice(int x) { return twice(x) + lib_counter; }
int (*lib_static_fn(void))(int) { return twice; }
const char *lib_literal(void) { return "hello, unimig"; }
const char *lib_name(int i) { return lib_names[i]; }
"#;

/// Third file of the address program.
pub const ADDR_MORE: &str = r#"
static int calls;
int more_fn(int x) { calls++; return x + calls; }
const char *more_literal(void) { return "hello, unimig"; }
"#;

/// Builds the address program's fat objects in `dir`, with `addr_more.o` in `libmore.a`:
/// returns (addr_main.o, addr_lib.o, libmore.a).
pub fn address_program(dir: &Path) -> [PathBuf; 3] {
    let main = fat_object(dir, "addr_main", ADDR_MAIN);
    let lib = fat_object(dir, "addr_lib", ADDR_LIB);
    let more = fat_object(dir, "addr_more", ADDR_MORE);
    let archive = archive(&dir.join("libmore.a"), &[&more], "rcs");
    [main, lib, archive]
}
