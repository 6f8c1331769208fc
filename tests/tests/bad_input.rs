//! Bad input: unimig-cc fails the way clang does (diagnostic with file:line, non-zero exit, no
//! output file), refuses what cannot work on both ISAs with a message naming the option, and
//! explains a missing installation with a pointer to `make setup`.
//!
//! Output-file behaviour follows clang-19 (measured): `clang -c bad.c -o bad.o` deletes an
//! existing bad.o (so make never sees a stale object as up to date), while a failed
//! compile-and-link `clang bad.c -o app` leaves an existing app untouched.

use std::fs;
use std::path::Path;
use std::process::Output;
use unimig_tests::*;

const SYNTAX_ERROR: &str = "int main(void)\n{\n  return 0\n}\n";
const GOOD: &str = "#include <stdio.h>\nint main(void) { puts(\"ok\"); return 0; }\n";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_failed(what: &str, out: &Output) {
    assert!(
        !out.status.success(),
        "{what}: should fail, but succeeded\n{}",
        show_output(out)
    );
    assert!(
        out.status.code().is_some(),
        "{what}: died from a signal ({})\n{}",
        out.status,
        show_output(out)
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn syntax_error_compile_only() {
    let _t = Timer::start("bad-input-syntax-c");
    let tmp = temp_dir("bad-c");
    let dir = tmp.path();
    write(dir, "bad.c", SYNTAX_ERROR);
    let out = run(command(cc())
        .args(["-O2", "-c", "bad.c", "-o", "bad.o"])
        .current_dir(dir));
    assert_failed("unimig-cc -c bad.c", &out);
    let err = stderr(&out);
    assert!(
        err.contains("bad.c:3:11: error: expected ';' after return statement"),
        "clang's diagnostic with file:line:col expected, got:\n{err}"
    );
    // One diagnostic per problem, as clang prints it: not once per ISA.
    assert_eq!(
        count(&err, "error: expected ';'"),
        1,
        "the diagnostic should appear once:\n{err}"
    );
    assert!(
        !dir.join("bad.o").exists(),
        "a failed compile must not leave bad.o"
    );

    // An existing output file is removed, as clang does.
    fs::write(dir.join("bad.o"), "stale").unwrap();
    let out = run(command(cc())
        .args(["-c", "bad.c", "-o", "bad.o"])
        .current_dir(dir));
    assert_failed("unimig-cc -c bad.c over an existing bad.o", &out);
    assert!(
        !dir.join("bad.o").exists(),
        "a failed compile must remove the stale bad.o (clang-19 does)"
    );

    // Without -o (bad.o derived from the source name).
    let out = run(command(cc()).args(["-c", "bad.c"]).current_dir(dir));
    assert_failed("unimig-cc -c bad.c (no -o)", &out);
    assert!(
        !dir.join("bad.o").exists(),
        "a failed compile must not leave bad.o"
    );
}

#[test]
fn syntax_error_compile_and_link() {
    let _t = Timer::start("bad-input-syntax-link");
    let tmp = temp_dir("bad-link");
    let dir = tmp.path();
    write(dir, "bad.c", SYNTAX_ERROR);
    let out = run(command(cc()).args(["bad.c", "-o", "app"]).current_dir(dir));
    assert_failed("unimig-cc bad.c -o app", &out);
    let err = stderr(&out);
    assert!(
        err.contains("bad.c:3:11: error:"),
        "clang's diagnostic expected, got:\n{err}"
    );
    assert_eq!(
        count(&err, "error: expected ';'"),
        1,
        "the diagnostic should appear once:\n{err}"
    );
    assert!(!dir.join("app").exists(), "no executable may be written");
    assert!(!dir.join("a.out").exists(), "no a.out may be written");

    fs::write(dir.join("app"), "old").unwrap();
    let out = run(command(cc()).args(["bad.c", "-o", "app"]).current_dir(dir));
    assert_failed("unimig-cc bad.c -o app over an existing app", &out);
    assert_eq!(
        fs::read(dir.join("app")).unwrap(),
        b"old",
        "clang-19 leaves an existing output alone here"
    );
}

#[test]
fn warnings_are_printed_once_and_do_not_fail() {
    let _t = Timer::start("bad-input-warning");
    let tmp = temp_dir("warn");
    let dir = tmp.path();
    write(
        dir,
        "w.c",
        "int main(void)\n{\n  int unused;\n  return 0;\n}\n",
    );
    let out = check(
        command(cc())
            .args(["-Wall", "-c", "w.c", "-o", "w.o"])
            .current_dir(dir),
    );
    let err = stderr(&out);
    assert!(
        err.contains("w.c:3:7: warning: unused variable 'unused'"),
        "warning expected, got:\n{err}"
    );
    assert_eq!(
        count(&err, "warning: unused variable"),
        1,
        "the warning should appear once:\n{err}"
    );
    assert!(dir.join("w.o").exists());
    // -Werror turns it into a failure without an object.
    let out = run(command(cc())
        .args(["-Wall", "-Werror", "-c", "w.c", "-o", "w2.o"])
        .current_dir(dir));
    assert_failed("unimig-cc -Werror", &out);
    assert!(!dir.join("w2.o").exists());
}

#[test]
fn missing_input_file() {
    let _t = Timer::start("bad-input-missing");
    let tmp = temp_dir("missing");
    let out = run(command(cc())
        .args(["-c", "nonexistent.c", "-o", "x.o"])
        .current_dir(tmp.path()));
    assert_failed("unimig-cc -c nonexistent.c", &out);
    assert!(
        stderr(&out).contains("nonexistent.c"),
        "the message should name the file:\n{}",
        stderr(&out)
    );
    assert!(!tmp.path().join("x.o").exists());
}

#[test]
fn shared_is_refused() {
    let _t = Timer::start("bad-input-shared");
    let tmp = temp_dir("shared");
    let dir = tmp.path();
    write(dir, "lib.c", "int f(int x) { return x + 1; }\n");
    let out = run(command(cc())
        .args(["-shared", "-fPIC", "lib.c", "-o", "libf.so"])
        .current_dir(dir));
    assert_failed("unimig-cc -shared", &out);
    let err = stderr(&out);
    assert!(
        err.contains("-shared"),
        "the error should name -shared:\n{err}"
    );
    assert!(err.contains("error"), "an error message expected:\n{err}");
    assert!(!dir.join("libf.so").exists(), "no output may be written");
}

#[test]
fn march_native_is_refused() {
    let _t = Timer::start("bad-input-march-native");
    let tmp = temp_dir("native");
    let dir = tmp.path();
    write(dir, "good.c", GOOD);
    for flag in ["-march=native", "-mcpu=native"] {
        let out = run(command(cc())
            .args(["-O2", flag, "-c", "good.c", "-o", "good.o"])
            .current_dir(dir));
        assert_failed(&format!("unimig-cc {flag}"), &out);
        let err = stderr(&out);
        assert!(err.contains(flag), "the error should name {flag}:\n{err}");
        assert!(
            !dir.join("good.o").exists(),
            "no output may be written for {flag}"
        );
    }
}

#[test]
fn empty_prefix_points_to_make_setup() {
    let _t = Timer::start("bad-input-empty-prefix");
    let tmp = temp_dir("prefix");
    let dir = tmp.path();
    let empty = dir.join("empty-prefix");
    fs::create_dir(&empty).unwrap();
    write(dir, "good.c", GOOD);
    for (what, args) in [
        ("compile", &["-c", "good.c", "-o", "good.o"][..]),
        ("compile and link", &["good.c", "-o", "good"][..]),
    ] {
        let out = run(command(cc())
            .args(args)
            .current_dir(dir)
            .env("UNIMIG_PREFIX", &empty));
        assert_failed(&format!("{what} with UNIMIG_PREFIX=<empty dir>"), &out);
        let err = stderr(&out);
        assert!(
            err.contains("make setup"),
            "{what}: the message should say to run `make setup`:\n{err}"
        );
    }
    assert!(
        !dir.join("good.o").exists() && !dir.join("good").exists(),
        "no output may be written"
    );
}
