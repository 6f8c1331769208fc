//! End-to-end tests of ld.unimig: fat objects made by hand, linked directly and through
//! `clang-19 -fuse-ld=unimig`, run natively and under qemu-aarch64 with identical results.
//! Needs `make build` (for the sysroots in build/stage).

mod common;

use common::*;
use object::{Object, ObjectSection};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LD: &str = env!("CARGO_BIN_EXE_ld-unimig");

const MAIN: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int lib_add(int, int);
long lib_sum(const char *);
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(int argc, char **argv) {
    int v[] = {5, 3, 9, 1, 7};
    qsort(v, 5, sizeof v[0], cmp);
    for (int i = 0; i < 5; i++) printf("%d ", v[i]);
    printf("\nargs:");
    for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
    char line[256];
    long total = 0;
    while (fgets(line, sizeof line, stdin)) total += lib_sum(line);
    char *s = malloc(64);
    snprintf(s, 64, "%.6f %Lf", 1.0 / 3.0, (long double)2.5);
    printf("\nstdin sum %ld, add %d, %s, len %zu\n", total, lib_add(40, 2), s, strlen(s));
    free(s);
    return argc + 10;
}
"#;

const LIB_ADD: &str = "int lib_add(int a, int b) { return a + b; }\n";
const LIB_SUM: &str =
    "long lib_sum(const char *s) { long t = 0; while (*s) t += (unsigned char)*s++; return t; }\n";

fn ld() -> Command {
    let mut cmd = Command::new(LD);
    cmd.env("UNIMIG_PREFIX", stage())
        .env_remove("UNIMIG_KEEP_TEMPS");
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "link failed: {}\n{}",
        out.status,
        stderr(&out)
    );
    out
}

/// The argv `clang-19 -### -fuse-ld=lld -static` gives a linker, around `inputs`.
fn clang_like_argv(output: &Path, inputs: &[&str]) -> Vec<String> {
    let mut argv: Vec<String> = [
        "--hash-style=gnu",
        "--build-id",
        "--eh-frame-hdr",
        "-m",
        "elf_x86_64",
        "-static",
        "-o",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    argv.push(output.display().to_string());
    for s in [
        "/lib/x86_64-linux-gnu/crt1.o",
        "/lib/x86_64-linux-gnu/crti.o",
        "/usr/lib/gcc/x86_64-linux-gnu/12/crtbeginT.o",
        "-L/usr/lib/gcc/x86_64-linux-gnu/12",
        "-L/lib/x86_64-linux-gnu",
        "-L/usr/lib",
    ] {
        argv.push(s.to_string());
    }
    argv.extend(inputs.iter().map(|s| s.to_string()));
    for s in [
        "--start-group",
        "-lgcc",
        "-lgcc_eh",
        "-lc",
        "--end-group",
        "/usr/lib/gcc/x86_64-linux-gnu/12/crtend.o",
        "/lib/x86_64-linux-gnu/crtn.o",
    ] {
        argv.push(s.to_string());
    }
    argv
}

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let p = Project { dir };
        fat_object(p.path(), "main", MAIN);
        fat_object(p.path(), "add", LIB_ADD);
        fat_object(p.path(), "sum", LIB_SUM);
        p
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.file(name).display().to_string()
    }
}

fn assert_runs_identically(exe: &Path) {
    let (native, a64) = run_both(exe, &["one", "-two", "--three=3"], b"hello\nworld\n");
    let text = String::from_utf8_lossy(&native.stdout);
    assert!(text.contains("1 3 5 7 9"), "{text}");
    assert!(text.contains("args: [one] [-two] [--three=3]"), "{text}");
    assert!(text.contains("add 42, 0.333333 2.500000"), "{text}");
    assert_eq!(native.status.code(), Some(14));
    assert_same(&native, &a64);
}

fn assert_fat_executable(exe: &Path) {
    let data = fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    assert_eq!(file.architecture(), object::Architecture::X86_64);
    assert_eq!(
        file.kind(),
        object::ObjectKind::Executable,
        "static non-PIE"
    );
    let section = file
        .section_by_name(".unimig.image.aarch64")
        .expect("image section");
    assert_eq!(section.kind(), object::SectionKind::Other, "not allocated");
    let image = unimig_common::fat::aarch64_image(&data).unwrap();
    let inner = object::File::parse(image).unwrap();
    assert_eq!(inner.architecture(), object::Architecture::Aarch64);
    assert_eq!(inner.kind(), object::ObjectKind::Executable);
    assert_eq!(
        fs::metadata(exe).unwrap().permissions().mode() & 0o777,
        0o755
    );
}

#[test]
fn direct_link_runs_on_both_isas() {
    let p = Project::new();
    let app = p.file("app");
    ok(ld()
        .args(clang_like_argv(
            &app,
            &[&p.s("main.o"), &p.s("add.o"), &p.s("sum.o")],
        ))
        .output()
        .unwrap());
    assert_fat_executable(&app);
    assert_runs_identically(&app);
    // Nothing left behind next to the output.
    let names: Vec<String> = fs::read_dir(p.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn static_library_with_l_and_l_dir() {
    let p = Project::new();
    let libdir = p.file("lib");
    fs::create_dir(&libdir).unwrap();
    archive(
        &libdir.join("libmy.a"),
        &[&p.file("add.o"), &p.file("sum.o")],
        "rcs",
    );
    let app = p.file("app");
    let libflag = format!("-L{}", libdir.display());
    let mut argv = clang_like_argv(&app, &[&p.s("main.o"), "-lmy"]);
    argv.insert(8, libflag);
    ok(ld().args(argv).output().unwrap());
    assert_runs_identically(&app);
}

#[test]
fn through_clang_fuse_ld() {
    let p = Project::new();
    archive(
        &p.file("libmy.a"),
        &[&p.file("add.o"), &p.file("sum.o")],
        "rcs",
    );
    let bin = p.file("bin");
    fs::create_dir(&bin).unwrap();
    symlink(LD, bin.join("ld.unimig")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for target in [None, Some("--target=x86_64-linux-musl")] {
        let app = p.file("app");
        let _ = fs::remove_file(&app);
        let out = Command::new("clang-19")
            .env("PATH", &path)
            .env("UNIMIG_PREFIX", stage())
            .args(target)
            .args(["-fuse-ld=unimig", "-static"])
            .arg(p.file("main.o"))
            .arg(format!("-L{}", p.path().display()))
            .args(["-lmy", "-lm", "-o"])
            .arg(&app)
            .output()
            .unwrap();
        ok(out);
        assert_fat_executable(&app);
        assert_runs_identically(&app);
    }
    // Without -static clang asks for a dynamic PIE: the image is static all the same.
    let app = p.file("app2");
    let out = Command::new("clang-19")
        .env("PATH", &path)
        .env("UNIMIG_PREFIX", stage())
        .arg("-fuse-ld=unimig")
        .arg(p.file("main.o"))
        .arg(p.file("libmy.a"))
        .arg("-o")
        .arg(&app)
        .output()
        .unwrap();
    ok(out);
    assert_fat_executable(&app);
    assert_runs_identically(&app);
}

#[test]
fn archive_with_duplicate_member_names() {
    let p = Project::new();
    for (dir, src) in [
        ("d1", "int one(void) { return 1; }\n"),
        ("d2", "int two(void) { return 2; }\n"),
    ] {
        fs::create_dir(p.file(dir)).unwrap();
        fat_object(&p.file(dir), "x", src);
    }
    fat_object(
        p.path(),
        "dup",
        "int one(void); int two(void); int main(void) { return one() * 10 + two(); }\n",
    );
    // `ar q` appends, so both members are called x.o.
    let lib = archive(
        &p.file("libdup.a"),
        &[&p.file("d1/x.o"), &p.file("d2/x.o")],
        "qcs",
    );
    let app = p.file("app");
    ok(ld()
        .args(clang_like_argv(
            &app,
            &[&p.s("dup.o"), &lib.display().to_string()],
        ))
        .output()
        .unwrap());
    let (native, a64) = run_both(&app, &[], b"");
    assert_eq!(native.status.code(), Some(12));
    assert_same(&native, &a64);
}

/// Runs ld.unimig on `argv` (whose output is `app` in the project), asserts that it fails and
/// writes no output, and returns its diagnostics.
fn refused(argv: Vec<String>) -> String {
    let app = argv[argv.iter().position(|a| a == "-o").expect("-o in argv") + 1].clone();
    let out = ld().args(&argv).output().unwrap();
    assert!(
        !out.status.success(),
        "ld.unimig succeeded: {}",
        stderr(&out)
    );
    assert!(!Path::new(&app).exists(), "output written on failure");
    stderr(&out)
}

#[test]
fn undefined_symbol_fails_without_output() {
    let p = Project::new();
    let app = p.file("app");
    // main.o needs lib_add and lib_sum.
    let err = refused(clang_like_argv(&app, &[&p.s("main.o"), &p.s("add.o")]));
    assert!(err.contains("undefined symbol: lib_sum"), "{err}");
    // Reported once (both ISAs fail the same way), naming the user's file, not the work dir.
    assert_eq!(err.matches("undefined symbol: lib_sum").count(), 1, "{err}");
    assert!(err.contains("main.o"), "{err}");
    assert!(
        !err.contains("ld.unimig-"),
        "work directory leaked into: {err}"
    );
    assert!(!app.exists(), "no output on failure");
    // An existing output is left untouched.
    fs::write(&app, b"old").unwrap();
    let out = ld()
        .args(clang_like_argv(&app, &[&p.s("main.o"), &p.s("add.o")]))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(fs::read(&app).unwrap(), b"old");
}

#[test]
fn aarch64_only_failure_is_attributed() {
    let p = Project::new();
    fat_object(
        p.path(),
        "armonly",
        "#ifdef __aarch64__\nint only_on_arm(void);\nint main(void) { return only_on_arm(); }\n\
         #else\nint main(void) { return 0; }\n#endif\n",
    );
    let app = p.file("app");
    let err = refused(clang_like_argv(&app, &[&p.s("armonly.o")]));
    assert!(err.contains("undefined symbol: only_on_arm"), "{err}");
    assert!(
        err.contains("ld.unimig: note: while linking the aarch64-linux-musl image"),
        "{err}"
    );
    assert!(err.contains("armonly.o"), "{err}");
    assert!(!app.exists());
}

#[test]
fn plain_objects_are_refused_by_name() {
    let p = Project::new();
    let app = p.file("app");
    let plain = host_object(p.path(), "add");
    let err = refused(clang_like_argv(
        &app,
        &[&p.s("main.o"), &plain.display().to_string(), &p.s("sum.o")],
    ));
    assert!(err.starts_with("ld.unimig: error: "), "{err}");
    assert!(
        err.contains(&format!("{}: has no AArch64 half", plain.display())),
        "{err}"
    );
    assert!(err.contains("unimig-cc"), "{err}");
    assert!(!app.exists());

    // A plain member of an archive: named as archive(member).
    let lib = archive(&p.file("libplain.a"), &[&p.file("sum.o"), &plain], "rcs");
    let err = refused(clang_like_argv(
        &app,
        &[&p.s("main.o"), &lib.display().to_string()],
    ));
    assert!(
        err.contains("libplain.a(add.x86_64.o): has no AArch64 half"),
        "{err}"
    );
    assert!(!app.exists());
}

#[test]
fn shared_and_scripts_refused() {
    let p = Project::new();
    let app = p.file("app");
    let mut argv = clang_like_argv(&app, &[&p.s("main.o")]);
    argv.push("-shared".into());
    let err = stderr(&ld().args(&argv).output().unwrap());
    assert!(
        err.contains("images are static; shared libraries are not supported"),
        "{err}"
    );
    let script = p.file("libfoo.a");
    fs::write(&script, "/* GNU ld script */\nGROUP ( libfoo.so.1 )\n").unwrap();
    let err = refused(clang_like_argv(
        &app,
        &[&p.s("main.o"), &script.display().to_string()],
    ));
    assert!(
        err.contains("libfoo.a: not an ELF object or archive"),
        "{err}"
    );
    assert!(!app.exists());
}

#[test]
fn map_files_per_isa() {
    let p = Project::new();
    let app = p.file("app");
    let map = p.file("app.map");
    let mut argv = clang_like_argv(&app, &[&p.s("main.o"), &p.s("add.o"), &p.s("sum.o")]);
    argv.push(format!("-Map={}", map.display()));
    ok(ld().args(argv).output().unwrap());
    assert!(fs::read_to_string(&map).unwrap().contains("lib_add"));
    assert!(fs::read_to_string(p.file("app.map.aarch64"))
        .unwrap()
        .contains("lib_add"));
}

#[test]
fn version_mentions_lld() {
    for flag in ["--version", "-v"] {
        let out = ok(ld().arg(flag).output().unwrap());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("ld.unimig"), "{text}");
        // libtool's GNU-ld probe looks for "GNU" in `ld -v`: lld's line carries it.
        assert!(
            text.contains("LLD") && text.contains("compatible with GNU linkers"),
            "{text}"
        );
    }
}

#[test]
fn keep_temps_reports_the_work_dir() {
    let p = Project::new();
    let app = p.file("app");
    let out = ok(ld()
        .env("UNIMIG_KEEP_TEMPS", "1")
        .args(clang_like_argv(
            &app,
            &[&p.s("main.o"), &p.s("add.o"), &p.s("sum.o")],
        ))
        .output()
        .unwrap());
    let err = stderr(&out);
    let dir = err
        .lines()
        .find_map(|l| l.strip_prefix("ld.unimig: note: keeping temporary files in "))
        .unwrap_or_else(|| panic!("no note in {err}"));
    let dir = Path::new(dir);
    assert!(dir.join("plan.txt").exists() && dir.join("aarch64.exe").exists());
    fs::remove_dir_all(dir).unwrap();
}
