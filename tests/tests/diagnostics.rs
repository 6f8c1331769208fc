//! unimig-cc's compatibility diagnostics (cc-wrapper/src/compat.rs): with instrumentation on,
//! each construct the migration cannot handle gets a clang-style warning with its location and
//! flag; `-Werror` makes it an error (exit 1, no output file), `-Wno-...` silences it, and
//! without instrumentation nothing is printed.

use std::fs;
use std::path::Path;
use std::process::Output;
use unimig_tests::*;

const STOPS: &str =
    "is not migratable; a migration requested while it is on the stack waits until it returns";

/// One sample per construct: (file name, source, the exact diagnostics).
fn samples() -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "asm.c",
            "int f(int x) {\n  __asm__ volatile(\"\" ::: \"memory\");\n  return x + 1;\n}\n",
            "asm.c:2:3: warning: inline assembly in 'f' has no stackmap: a migration cannot \
             happen inside it or anything it calls; 'f' stays migratable elsewhere \
             [-Wunimig-inline-asm]\n"
                .to_string(),
        ),
        (
            "va.c",
            "#include <stdarg.h>\nint sum(int n, ...) {\n  va_list ap;\n  va_start(ap, n);\n  \
             int s = va_arg(ap, int);\n  va_end(ap);\n  return s + n;\n}\n",
            format!(
                "va.c:4:3: warning: 'sum' uses va_start (its va_list layout differs between the \
                 ISAs): 'sum' {STOPS} [-Wunimig-varargs]\n"
            ),
        ),
        (
            // sigsetjmp (saving the signal mask) keeps its own return address in the buffer:
            // its caller stays unmigratable. Plain setjmp needs no warning (see
            // plain_setjmp_is_migratable).
            "jmp.c",
            "#include <setjmp.h>\nstatic sigjmp_buf env;\nint g(int x) {\n  if (sigsetjmp(env, \
             1))\n    return -1;\n  return x;\n}\n",
            format!(
                "jmp.c:4:7: warning: 'g' calls 'sigsetjmp', which returns twice: 'g' {STOPS} \
                 [-Wunimig-setjmp]\n"
            ),
        ),
        (
            "ld.c",
            "long double third(long double x) {\n  return x / 3;\n}\n",
            "ld.c:2:10: warning: 'third' uses long double, which is 80-bit x87 on x86_64 and \
             128-bit IEEE on aarch64: results differ between the ISAs, and a long double in \
             memory is not converted when the program migrates [-Wunimig-long-double]\n"
                .to_string(),
        ),
        (
            "goto.c",
            "int run(const unsigned char *p) {\n  static const void *t[] = {&&inc, &&end};\n  \
             int n = 0;\n  goto *t[*p++];\ninc:\n  n++;\n  goto *t[*p++];\nend:\n  return n;\n}\n",
            "goto.c:4:9: warning: 'run' uses computed goto: label addresses differ between the \
             ISAs, so a label address held in a variable across a migration point jumps into \
             the wrong code after a migration [-Wunimig-computed-goto]\n"
                .to_string(),
        ),
        (
            // A va_list parameter: va_arg expands differently per ISA, so the two ISAs' call
            // sites differ (at -O0 the printf call's live values do).
            "div.c",
            "#include <stdarg.h>\n#include <stdio.h>\nint vsum(int n, va_list ap) {\n  int s = \
             0;\n  for (int i = 0; i < n; i++) {\n    int v = va_arg(ap, int);\n    s += v;\n    \
             printf(\"%d\\n\", v);\n  }\n  return s;\n}\n",
            format!(
                "div.c:3: warning: 'vsum' compiles to different call sites or live values on \
                 x86_64 and aarch64 (e.g. va_arg on a va_list parameter): 'vsum' {STOPS} \
                 [-Wunimig-isa-divergent]\n"
            ),
        ),
    ]
}

const INSTRUMENTED: [&str; 3] = ["-O0", "-funimig-points=all", "-funimig-stackmaps"];

fn compile(dir: &Path, file: &str, flags: &[&str]) -> Output {
    run(command(cc())
        .current_dir(dir)
        .args(flags)
        .args(["-c", file, "-o", "out.o"]))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn each_construct_gets_its_warning() {
    let tmp = temp_dir("diagnostics");
    for (file, source, expected) in samples() {
        fs::write(tmp.path().join(file), source).unwrap();
        let out = compile(tmp.path(), file, &INSTRUMENTED);
        assert!(out.status.success(), "{file}: {}", show_output(&out));
        assert_eq!(stderr(&out), expected, "{file}");
        assert!(tmp.path().join("out.o").is_file());
        fs::remove_file(tmp.path().join("out.o")).unwrap();
        // Uninstrumented: nothing.
        let out = compile(tmp.path(), file, &["-O0"]);
        assert!(out.status.success(), "{file}: {}", show_output(&out));
        assert_eq!(stderr(&out), "", "{file}");
    }
}

/// A plain setjmp caller is instrumented (its jmp_bufs are rewritten on migration): no warning,
/// even with -Werror.
#[test]
fn plain_setjmp_is_migratable() {
    let tmp = temp_dir("diagnostics-setjmp");
    fs::write(
        tmp.path().join("sj.c"),
        "#include <setjmp.h>\nstatic jmp_buf env;\nint g(int x) {\n  if (setjmp(env))\n    \
         return -1;\n  return x;\n}\n",
    )
    .unwrap();
    let mut flags = INSTRUMENTED.to_vec();
    flags.push("-Werror");
    let out = compile(tmp.path(), "sj.c", &flags);
    assert!(out.status.success(), "{}", show_output(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn werror_fails_the_compile_and_wno_silences() {
    let tmp = temp_dir("diagnostics-werror");
    for (file, source, expected) in samples() {
        fs::write(tmp.path().join(file), source).unwrap();
        let flag = expected
            .rsplit("[-W")
            .next()
            .unwrap()
            .trim_end_matches("]\n");
        let as_error = expected
            .replacen(": warning: ", ": error: ", 1)
            .replace("[-W", "[-Werror,-W");
        for werror in ["-Werror".to_string(), format!("-Werror={flag}")] {
            let mut flags = INSTRUMENTED.to_vec();
            flags.push(&werror);
            let out = compile(tmp.path(), file, &flags);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{file} {werror}: {}",
                show_output(&out)
            );
            assert_eq!(stderr(&out), as_error, "{file} {werror}");
            assert!(
                !tmp.path().join("out.o").exists(),
                "{file} {werror}: output left"
            );
        }
        for quiet in [format!("-Wno-{flag}"), "-Wno-unimig".into(), "-w".into()] {
            let mut flags = INSTRUMENTED.to_vec();
            flags.extend(["-Werror", &quiet]);
            let out = compile(tmp.path(), file, &flags);
            assert!(
                out.status.success(),
                "{file} {quiet}: {}",
                show_output(&out)
            );
            assert_eq!(stderr(&out), "", "{file} {quiet}");
        }
        // -Wno-error= keeps it a warning under -Werror.
        let keep = format!("-Wno-error={flag}");
        let mut flags = INSTRUMENTED.to_vec();
        flags.extend(["-Werror", &keep]);
        let out = compile(tmp.path(), file, &flags);
        assert!(out.status.success(), "{file}: {}", show_output(&out));
        assert_eq!(stderr(&out), expected, "{file} {keep}");
    }
}

#[test]
fn user_debug_info_is_kept_and_line_tables_do_not_change_objects() {
    let tmp = temp_dir("diagnostics-debug");
    let (file, source, expected) = samples().swap_remove(1);
    fs::write(tmp.path().join(file), source).unwrap();
    // With -g the locations come from the user's debug information, which stays.
    let out = compile(tmp.path(), file, &[&INSTRUMENTED[..], &["-g"]].concat());
    assert_eq!(stderr(&out), expected);
    let debug = fs::read(tmp.path().join("out.o")).unwrap();
    assert!(has_section(&debug, ".debug_line"));
    // Without -g the line tables used for the warnings are gone again: the object is the one
    // the compile gives with the warnings off (then no line tables are requested at all).
    let out = compile(tmp.path(), file, &INSTRUMENTED);
    assert_eq!(stderr(&out), expected);
    let with_warnings = fs::read(tmp.path().join("out.o")).unwrap();
    assert!(!has_section(&with_warnings, ".debug_line"));
    let out = compile(
        tmp.path(),
        file,
        &[&INSTRUMENTED[..], &["-Wno-unimig"]].concat(),
    );
    assert!(out.status.success(), "{}", show_output(&out));
    let silent = fs::read(tmp.path().join("out.o")).unwrap();
    assert!(
        with_warnings == silent,
        "line tables changed the fat object"
    );
}

fn has_section(object: &[u8], name: &str) -> bool {
    use object::{Object, ObjectSection};
    let file = object::File::parse(object).unwrap();
    let found = file.sections().any(|s| s.name() == Ok(name));
    found
}
