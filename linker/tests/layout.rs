//! The cross-ISA layout: everything a program can observe has the same address in the x86-64
//! and the AArch64 image. Programs print their own addresses natively and under qemu-aarch64
//! and must print the same; the images are checked symbol by symbol; what cannot be laid out
//! identically is refused by name. Needs `make build` (for the sysroots in build/stage).

mod common;

use common::*;
use object::{Object, ObjectSection};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use unimig_common::layout::{compare, compare_fat, Image};
use unimig_common::Isa;

const LD: &str = env!("CARGO_BIN_EXE_ld-unimig");

fn ld() -> Command {
    let mut cmd = Command::new(LD);
    cmd.env("UNIMIG_PREFIX", stage())
        .env_remove("UNIMIG_KEEP_TEMPS");
    cmd
}

/// What clang gives a linker for `-static -o out inputs` (host paths; ld.unimig substitutes).
fn argv(out: &Path, inputs: &[&Path]) -> Vec<String> {
    let mut argv: Vec<String> = ["-static", "-o"].map(String::from).into();
    argv.push(out.display().to_string());
    argv.push("/lib/x86_64-linux-gnu/crt1.o".into());
    argv.push("/lib/x86_64-linux-gnu/crti.o".into());
    argv.extend(inputs.iter().map(|p| p.display().to_string()));
    argv.extend(["--start-group", "-lgcc", "-lc", "--end-group"].map(String::from));
    argv.push("/lib/x86_64-linux-gnu/crtn.o".into());
    argv
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn link(out: &Path, inputs: &[&Path], extra: &[&str]) -> Output {
    ld().args(argv(out, inputs)).args(extra).output().unwrap()
}

fn link_ok(out: &Path, inputs: &[&Path], extra: &[&str]) {
    let result = link(out, inputs, extra);
    assert!(
        result.status.success(),
        "link failed: {}\n{}",
        result.status,
        stderr(&result)
    );
}

/// Links the address program into `dir/app`.
fn address_app(dir: &Path) -> PathBuf {
    let [main, lib, archive] = address_program(dir);
    let app = dir.join("app");
    link_ok(&app, &[&main, &lib, &archive], &[]);
    app
}

/// The address of each `name address` line the address program printed.
fn printed(out: &Output) -> Vec<(String, u64)> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, addr) = l.rsplit_once(' ')?;
            let addr = u64::from_str_radix(addr.strip_prefix("0x")?, 16).ok()?;
            Some((name.trim().to_string(), addr))
        })
        .collect()
}

#[test]
fn program_visible_addresses_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    let app = address_app(dir.path());
    let (native, a64) = run_both(&app, &[], b"");
    assert_eq!(native.status.code(), Some(0), "{}", stderr(&native));
    assert_same(&native, &a64);
    let text = String::from_utf8_lossy(&native.stdout);
    assert!(
        text.contains("values 91 14 15 2 hello, unimig 1 2 3"),
        "{text}"
    );
    let addrs = printed(&native);
    assert_eq!(addrs.len(), 41, "{text}");
    // Everything printed lies where it belongs: thread-locals in the runtime's TLS region, heap
    // blocks in its arena (sysroots/runtime/include/unimig_layout.h), the rest in the image
    // (functions, data, literals, libc's FILEs).
    const TLS: std::ops::Range<u64> = 0x2000_4000_0000..0x2000_8000_0000;
    const HEAP: std::ops::Range<u64> = 0x2200_0000_0000..0x2300_0000_0000;
    for (name, addr) in &addrs {
        let region = if name.starts_with("tls ") {
            TLS
        } else if name.starts_with("heap ") {
            HEAP
        } else {
            0x40_0000..0x1000_0000
        };
        assert!(
            region.contains(addr),
            "{name} at {addr:#x} is outside {region:#x?}:\n{text}"
        );
    }
    // Literals with equal text in different files are different objects (no merging across
    // files), on both ISAs alike.
    let at = |n: &str| addrs.iter().find(|(k, _)| k == n).unwrap().1;
    assert_ne!(at("literal"), at("lib literal"));
    assert_eq!(at("lib literal"), at("lib_names[1]"));
    assert_eq!(at("table.local"), at("twice"));
    assert_ne!(at("twice"), at("lib static fn"));

    let report = compare_fat(&fs::read(&app).unwrap()).unwrap();
    assert!(report.ok(), "{:#?}", report.problems);
    assert!(
        report.functions > 50 && report.objects > 20,
        "{}",
        report.summary()
    );
}

/// Symbols of both images, each checked in place: the two static `twice` functions are told
/// apart by file, and the padding after a function is the ISA's trap instruction.
#[test]
fn symbols_slots_and_padding() {
    let dir = tempfile::tempdir().unwrap();
    let app = address_app(dir.path());
    let fat = fs::read(&app).unwrap();
    let inner = unimig_common::fat::aarch64_image(&fat).unwrap();
    let x = Image::parse(Isa::X86_64, &fat).unwrap();
    let a = Image::parse(Isa::Aarch64, inner).unwrap();
    let find = |img: &Image, name: &str, file: Option<&str>| {
        img.symbols
            .iter()
            .find(|s| s.name == name && s.file.as_deref() == file)
            .unwrap_or_else(|| panic!("{name} {file:?} missing"))
            .clone()
    };
    for (name, file) in [
        ("main", None),
        ("twice", Some("addr_main.c")),
        ("twice", Some("addr_lib.c")),
        ("calls", Some("addr_more.c")),
        ("static_buf", Some("addr_main.c")),
        ("printf", None),
        ("qsort", None),
        ("__stdout_FILE", Some("stdout.c")),
        ("lib_names", None),
    ] {
        let (sx, sa) = (find(&x, name, file), find(&a, name, file));
        assert_eq!(sx.addr, sa.addr, "{name} {file:?}");
        assert!(sx.shared && sa.shared, "{name} {file:?} should be shared");
    }
    assert_ne!(
        find(&x, "twice", Some("addr_main.c")).addr,
        find(&x, "twice", Some("addr_lib.c")).addr
    );
    // The shared .text: same place, same size; after `main`'s code, up to the next symbol,
    // only traps.
    let text_x = x.section(".text").unwrap();
    let text_a = a.section(".text").unwrap();
    assert_eq!((text_x.addr, text_x.size), (text_a.addr, text_a.size));
    for (img, data, trap) in [
        (&x, &fat[..], &[0xccu8][..]),
        (&a, inner, &[0u8, 0, 0, 0][..]),
    ] {
        let main = find(img, "main", None);
        let next = img
            .symbols
            .iter()
            .filter(|s| s.section == ".text" && s.addr > main.addr)
            .map(|s| s.addr)
            .min()
            .unwrap();
        let file = object::File::parse(data).unwrap();
        let section = file.section_by_name(".text").unwrap();
        let bytes = section.data().unwrap();
        let pad = &bytes[(main.addr + main.size - section.address()) as usize
            ..(next - section.address()) as usize];
        assert!(
            pad.chunks(trap.len()).all(|c| c == &trap[..c.len()]),
            "{:?}: padding after main is {pad:02x?}",
            img.isa
        );
    }
}

#[test]
fn thread_locals_have_the_same_layout() {
    let dir = tempfile::tempdir().unwrap();
    let obj = fat_object(
        dir.path(),
        "tls",
        r#"
#include <stdio.h>
__thread int counter = 5;
__thread char buf[100];
static __thread double scale = 2.5;
__attribute__((aligned(64))) __thread char wide[10];
int main(void) {
    counter++; buf[3] = 'x'; scale *= 2; wide[1] = 3;
    printf("%d %c %g %d\n", counter, buf[3], scale, wide[1]);
    return 0;
}
"#,
    );
    let app = dir.path().join("tls");
    link_ok(&app, &[&obj], &[]);
    let (native, a64) = run_both(&app, &[], b"");
    assert_eq!(String::from_utf8_lossy(&native.stdout), "6 x 5 3\n");
    assert_same(&native, &a64);
    // compare() checks PT_TLS (address, sizes, alignment) and each TLS symbol's offset.
    let report = compare_fat(&fs::read(&app).unwrap()).unwrap();
    assert!(report.ok(), "{:#?}", report.problems);
    let fat = fs::read(&app).unwrap();
    let file = object::File::parse(&*fat).unwrap();
    let tdata = file.section_by_name(".tdata").unwrap();
    assert_eq!(tdata.align(), 64);
}

/// An object whose initial bytes differ between the ISAs cannot share a slot: the link fails,
/// naming it with both addresses, and writes nothing.
#[test]
fn differing_object_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let obj = fat_object(
        dir.path(),
        "odd",
        r#"
#ifdef __aarch64__
int odd_value = 1;
#else
int odd_value = 2;
#endif
int main(void) { return odd_value; }
"#,
    );
    let app = dir.path().join("odd");
    let out = link(&app, &[&obj], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains("symbol odd_value"))
        .unwrap_or_else(|| panic!("odd_value not named:\n{err}"));
    assert!(
        line.starts_with("ld.unimig: error: layout mismatch: symbol odd_value: x86_64 0x")
            && line.contains(", aarch64 0x")
            && line.contains("contents differ"),
        "{line}"
    );
    assert!(!app.exists(), "no output on a mismatch");
}

/// An object whose *size* differs (its C type differs between the ISAs, as musl's `struct
/// stat` does) keeps one address, in the larger slot, with a warning.
#[test]
fn object_of_different_sizes_shares_its_address() {
    let dir = tempfile::tempdir().unwrap();
    let obj = fat_object(
        dir.path(),
        "st",
        r#"
#include <stdio.h>
#include <sys/stat.h>
static struct stat st;
int table[2] = {1, 2};
int main(void) {
    printf("%p %p %d\n", (void *)&st, (void *)table, stat("/", &st) == 0 && S_ISDIR(st.st_mode));
    return 0;
}
"#,
    );
    let app = dir.path().join("st");
    let out = link(&app, &[&obj], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("ld.unimig: warning: ")
            && err.contains("st.o: st has 144 bytes on x86-64 but 128 on AArch64"),
        "{err}"
    );
    let (native, a64) = run_both(&app, &[], b"");
    assert!(String::from_utf8_lossy(&native.stdout).ends_with(" 1\n"));
    assert_same(&native, &a64);
    let report = compare_fat(&fs::read(&app).unwrap()).unwrap();
    assert!(report.ok(), "{:#?}", report.problems);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.subject == "object st [st.c]"),
        "{:#?}",
        report.warnings
    );
}

/// Label addresses (computed goto) in read-only data: the table has one address, each ISA's
/// copy holds its own code addresses.
#[test]
fn label_tables_keep_their_address() {
    let dir = tempfile::tempdir().unwrap();
    let obj = fat_object(
        dir.path(),
        "goto",
        r#"
#include <stdio.h>
int run(int op, int x) {
    static const void *const table[] = { &&add, &&sub, &&done };
    goto *table[op];
add: x += 10; goto *table[2];
sub: x -= 3; goto *table[2];
done: return x;
}
int main(int argc, char **argv) { (void)argv; printf("%d %d\n", run(0, argc), run(1, argc)); return 0; }
"#,
    );
    let app = dir.path().join("goto");
    link_ok(&app, &[&obj], &[]);
    let (native, a64) = run_both(&app, &[], b"");
    assert_eq!(String::from_utf8_lossy(&native.stdout), "11 -2\n");
    assert_same(&native, &a64);
    let report = compare_fat(&fs::read(&app).unwrap()).unwrap();
    assert!(report.ok(), "{:#?}", report.problems);
    assert!(report.code_words >= 3, "{}", report.summary());
}

#[test]
fn differing_string_literals_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let obj = fat_object(
        dir.path(),
        "lit",
        r#"
#include <stdio.h>
#ifdef __aarch64__
#define NAME "arm"
#else
#define NAME "x86-64"
#endif
int main(void) { puts(NAME); return 0; }
"#,
    );
    let out = link(&dir.path().join("lit"), &[&obj], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("layout mismatch: string literals") && err.contains("lit.o(.rodata.str1.1)"),
        "{err}"
    );
}

/// AArch64's GlobalMerge pass (at -Os) merges a file's statics into one section: refused, with
/// the flag that avoids it.
#[test]
fn merged_globals_are_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let src = r#"
static int a, b;
static long c;
int bump(int x) { a += x; b += a; c += b; return a + b + (int)c; }
int main(void) { return bump(1) + bump(2); }
"#;
    let obj = fat_object_with(
        dir.path(),
        "merged",
        src,
        [&["-Os"], &["-Os", "-mglobal-merge"]],
    );
    let out = link(&dir.path().join("merged"), &[&obj], &[]);
    assert!(!out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("layout mismatch: symbol a [merged.c]"),
        "{err}"
    );
    assert!(err.contains("-mno-global-merge"), "{err}");
    // With the flag (what the sysroots and unimig-cc use) it links.
    let obj = fat_object_with(dir.path(), "merged", src, [&["-Os"], &["-Os"]]);
    link_ok(&dir.path().join("merged"), &[&obj], &[]);
}

/// `-s`: the images are checked with their symbols, then stripped.
#[test]
fn strip_all_after_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let [main, lib, archive] = address_program(dir.path());
    let full = dir.path().join("full");
    let stripped = dir.path().join("stripped");
    link_ok(&full, &[&main, &lib, &archive], &[]);
    link_ok(&stripped, &[&main, &lib, &archive], &["-s"]);
    let fat = fs::read(&stripped).unwrap();
    let file = object::File::parse(&*fat).unwrap();
    assert!(file.symbols().next().is_none(), "symbols left");
    let (native, a64) = run_both(&stripped, &[], b"");
    assert_same(&native, &a64);
    let (full_native, _) = run_both(&full, &[], b"");
    assert_eq!(
        full_native.stdout, native.stdout,
        "-s must not move anything"
    );
    let report = compare_fat(&fat).unwrap();
    assert!(
        report.ok() && !report.symbols_checked,
        "{}",
        report.summary()
    );
}

/// The layout lands in plan.txt and the linker scripts with UNIMIG_KEEP_TEMPS.
#[test]
fn kept_plan_shows_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    let [main, lib, archive] = address_program(dir.path());
    let out = ld()
        .env("UNIMIG_KEEP_TEMPS", "1")
        .args(argv(&dir.path().join("app"), &[&main, &lib, &archive]))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let work = err
        .lines()
        .find_map(|l| l.strip_prefix("ld.unimig: note: keeping temporary files in "))
        .unwrap();
    let work = Path::new(work);
    let plan = fs::read_to_string(work.join("plan.txt")).unwrap();
    for needle in [
        "(probe link)",
        "(final link)",
        "\n.text 0x",
        "addr_main.o(.text.main)",
        "libmore.a(addr_more.o)(.text.more_fn)",
        "ISA-private input sections",
        "image sizes",
        "check: ",
    ] {
        assert!(
            plan.contains(needle),
            "{needle} missing in plan.txt:\n{plan}"
        );
    }
    let script = fs::read_to_string(work.join("aarch64.ld")).unwrap();
    assert!(
        script.contains(":addr_more.o\"(\".text.more_fn\")"),
        "{script}"
    );
    fs::remove_dir_all(work).unwrap();
}

/// Options that would move sections are refused.
#[test]
fn address_options_refused() {
    let dir = tempfile::tempdir().unwrap();
    let obj = fat_object(dir.path(), "m", "int main(void) { return 0; }\n");
    for opt in ["-Ttext=0x800000", "--image-base=0x800000", "--icf=all"] {
        let out = link(&dir.path().join("m"), &[&obj], &[opt]);
        assert!(!out.status.success(), "{opt}");
        assert!(
            stderr(&out).contains(opt.split('=').next().unwrap()),
            "{}",
            stderr(&out)
        );
    }
    link_ok(&dir.path().join("m"), &[&obj], &["--icf=none"]);
    let x = fs::read(dir.path().join("m")).unwrap();
    let a = unimig_common::fat::aarch64_image(&x).unwrap();
    let report = compare(
        &Image::parse(Isa::X86_64, &x).unwrap(),
        &Image::parse(Isa::Aarch64, a).unwrap(),
    );
    assert!(report.ok());
}

/// Two archive members called `x.o` with sections of the same names (lld's linker-script
/// patterns name members by name): laid out all the same, each at its own address.
#[test]
fn repeated_archive_member_names() {
    let dir = tempfile::tempdir().unwrap();
    for (sub, src) in [
        (
            "d1",
            "static int counter; int one(void) { return ++counter; }\n\
             const char *one_name(void) { return \"same text\"; }\n",
        ),
        (
            "d2",
            "static int counter = 10; int two(void) { return counter += 2; }\n\
             const char *two_name(void) { return \"same text\"; }\n",
        ),
    ] {
        fs::create_dir(dir.path().join(sub)).unwrap();
        fat_object(&dir.path().join(sub), "x", src);
    }
    let main = fat_object(
        dir.path(),
        "dupmain",
        r#"
#include <stdio.h>
int one(void); int two(void); const char *one_name(void); const char *two_name(void);
int main(void) {
    printf("%d %d %p %p %p %p\n", one(), two(), (void *)one, (void *)two,
           (void *)one_name(), (void *)two_name());
    return 0;
}
"#,
    );
    let lib = archive(
        &dir.path().join("libdup.a"),
        &[&dir.path().join("d1/x.o"), &dir.path().join("d2/x.o")],
        "qcs",
    );
    let app = dir.path().join("dup");
    link_ok(&app, &[&main, &lib], &[]);
    let (native, a64) = run_both(&app, &[], b"");
    assert!(String::from_utf8_lossy(&native.stdout).starts_with("1 12 0x"));
    assert_same(&native, &a64);
    let report = compare_fat(&fs::read(&app).unwrap()).unwrap();
    assert!(report.ok(), "{:#?}", report.problems);
    // Both statics called `counter` (files both called x.c) are shared, not ISA-private.
    assert!(
        !report
            .private_pairs
            .iter()
            .any(|(s, _)| s.name == "counter"),
        "{:?}",
        report.private_pairs
    );
    // lld's diagnostics name the user's archive, not the renamed work copy.
    fs::create_dir(dir.path().join("d3")).unwrap();
    fat_object(
        &dir.path().join("d3"),
        "x",
        "int missing_fn(void); int two(void) { return missing_fn(); }\n",
    );
    let bad = archive(
        &dir.path().join("libbad.a"),
        &[&dir.path().join("d1/x.o"), &dir.path().join("d3/x.o")],
        "qcs",
    );
    let out = link(&dir.path().join("dup2"), &[&main, &bad], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("undefined symbol: missing_fn"), "{err}");
    assert!(err.contains(&bad.display().to_string()), "{err}");
    assert!(
        !err.contains("ld.unimig-"),
        "work directory leaked into: {err}"
    );
}
