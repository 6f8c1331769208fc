//! `unimig run --isa aarch64` really runs the AArch64 half (the probe prints uname's machine),
//! passes arguments through untouched (also ones that look like unimig's own options), and
//! propagates stdin and the exit status.

use std::fs;
use unimig_tests::*;

const PRINT_ARGS: &str = "#include <stdio.h>\nint main(int argc, char **argv) {\n  \
    for (int i = 1; i < argc; i++) printf(\"[%s]\", argv[i]);\n  puts(\"\");\n  return argc;\n}\n";

/// Arguments after APP belong to the program, even ones unimig itself understands.
#[test]
fn arguments_after_app_are_passed_verbatim() {
    let _t = Timer::start("run-isa-args");
    let tmp = temp_dir("args");
    fs::write(tmp.path().join("args.c"), PRINT_ARGS).unwrap();
    let app = tmp.path().join("args");
    check(
        command(cc())
            .arg(tmp.path().join("args.c"))
            .arg("-o")
            .arg(&app),
    );
    let cases: [&[&str]; 9] = [
        &["--help"],
        &["-h"],
        &["--isa", "x86_64"],
        &["--", "x"],
        &["-V", "--version"],
        &["run", "--isa", "aarch64"],
        &["a", "--", "--help"],
        &[""],
        &["two words", "*", "$HOME"],
    ];
    for args in cases {
        let expected: String = args.iter().map(|a| format!("[{a}]")).collect::<String>() + "\n";
        let (x86, a64) = run_both_isas(&app, args, b"");
        let what = format!("args {args:?}");
        let code = args.len() as i32 + 1;
        assert_expected(
            &format!("{what} natively"),
            &x86,
            expected.as_bytes(),
            b"",
            code,
        );
        assert_expected(
            &format!("{what} via unimig run --isa aarch64"),
            &a64,
            expected.as_bytes(),
            b"",
            code,
        );
    }
}

#[test]
fn aarch64_half_runs_as_aarch64_with_same_c_semantics() {
    let _t = Timer::start("run-isa-probe");
    let tmp = temp_dir("probe");
    let app = tmp.path().join("probe");
    check(
        command(cc())
            .arg("-O2")
            .arg(project_dir("isa-probe").join("probe.c"))
            .arg("-o")
            .arg(&app),
    );

    let args = ["-x", "--isa", "x86_64", "--", "last word"];
    let (x86, a64) = run_both_isas(&app, &args, b"");
    let common =
        "char is signed, CHAR_MIN -128\nsizeof long 8, pointer 8\nargc 6, last arg last word\n";
    assert_expected(
        "probe natively",
        &x86,
        format!("machine x86_64\n{common}").as_bytes(),
        b"",
        0,
    );
    assert_expected(
        "probe on aarch64",
        &a64,
        format!("machine aarch64\n{common}").as_bytes(),
        b"",
        0,
    );
}

#[test]
fn stdin_and_exit_status_pass_through() {
    let _t = Timer::start("run-isa-stdin-exit");
    let tmp = temp_dir("cat");
    let src = tmp.path().join("rev.c");
    fs::write(
        &src,
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\
         int main(int argc, char **argv) {\n\
           char line[4096]; long n = 0;\n\
           while (fgets(line, sizeof line, stdin)) { size_t k = strlen(line);\n\
             while (k--) putchar(line[k]); n++; }\n\
           fprintf(stderr, \"%ld lines\\n\", n);\n\
           return argc > 1 ? atoi(argv[1]) : 0; }\n",
    )
    .unwrap();
    let app = tmp.path().join("rev");
    check(command(cc()).arg("-O1").arg(&src).arg("-o").arg(&app));
    let input: Vec<u8> = (0..20000)
        .map(|i| format!("line {i} {}\n", "x".repeat(i % 70)))
        .collect::<String>()
        .into();
    for code in ["0", "1", "42", "255"] {
        let (x86, a64) = run_both_isas(&app, &[code], &input);
        assert_same_output(&format!("rev {code}"), &x86, &a64);
        assert_eq!(
            x86.status.code(),
            Some(code.parse().unwrap()),
            "exit status of rev {code}"
        );
        assert_eq!(x86.stdout.len(), input.len(), "rev should echo every byte");
        assert_eq!(x86.stderr, b"20000 lines\n");
    }
}

/// The environment reaches the program in the order it was given, on both ISAs (qemu-user
/// reverses it unless `unimig run` compensates). Started through `env -i` because std's
/// `Command` sorts variables it sets.
#[test]
fn environment_order_passes_through() {
    let _t = Timer::start("run-isa-env");
    let tmp = temp_dir("env");
    let src = "#include <stdio.h>\nextern char **environ;\n\
               int main(void) { for (char **e = environ; *e; e++) puts(*e); return 0; }\n";
    fs::write(tmp.path().join("env.c"), src).unwrap();
    let app = tmp.path().join("env");
    check(
        command(cc())
            .arg(tmp.path().join("env.c"))
            .arg("-o")
            .arg(&app),
    );
    let vars = ["ZED=1", "ALPHA=2", "MIDDLE=3", "BETA=4"];
    let path = format!("PATH={}", path_with_stage().to_string_lossy());
    let prefix = format!("UNIMIG_PREFIX={}", prefix().display());
    let expected: String = [path.as_str(), prefix.as_str()]
        .iter()
        .chain(vars.iter())
        .map(|v| format!("{v}\n"))
        .collect();
    let mut native = std::process::Command::new("env");
    native
        .arg("-i")
        .arg(&path)
        .arg(&prefix)
        .args(vars)
        .arg(&app);
    let mut aarch64 = std::process::Command::new("env");
    aarch64
        .arg("-i")
        .arg(&path)
        .arg(&prefix)
        .args(vars)
        .arg(tool("unimig"))
        .args(["run", "--isa", "aarch64"])
        .arg(&app);
    for (what, mut cmd) in [
        ("natively", native),
        ("via unimig run --isa aarch64", aarch64),
    ] {
        let out = run(&mut cmd);
        assert_expected(what, &out, expected.as_bytes(), b"", 0);
    }
}
