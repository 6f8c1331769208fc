//! End-to-end tests of the `unimig-cc` binary on small C files, against the staged
//! installation (`make build` creates `build/stage`).

use object::elf::{EM_AARCH64, EM_X86_64, SHF_EXCLUDE};
use object::{Object, ObjectSection, ObjectSymbol, SectionFlags};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

const HELLO: &str = "#include <stdio.h>\nint counter = 3;\nint main(void) { printf(\"hello %d\\n\", counter); return 0; }\n";

/// The staged installation; the tests need its sysroots and must not pass without them.
fn stage() -> PathBuf {
    let stage = Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/stage");
    let sysroot = stage.join("lib/unimig/sysroots/aarch64-linux-musl/include/stdio.h");
    assert!(
        sysroot.exists(),
        "{} is missing: run `make build` in the unimig source tree before these tests",
        sysroot.display()
    );
    stage
}

/// A scratch directory with the given files.
fn project(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

fn cc(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_unimig-cc"));
    cmd.current_dir(dir)
        .env("UNIMIG_PREFIX", stage())
        .env_remove("UNIMIG_KEEP_TEMPS");
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    cc(dir).args(args).stdin(Stdio::null()).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "unimig-cc failed ({}):\n{}",
        output.status,
        stderr(output)
    );
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Checks that `data` is a fat object and returns the embedded AArch64 object.
#[track_caller]
fn check_fat_object(data: &[u8]) -> Vec<u8> {
    let host = object::File::parse(data).expect("the output is an ELF file");
    assert_eq!(host.kind(), object::ObjectKind::Relocatable);
    let machine = unimig_machine(data);
    assert_eq!(machine, EM_X86_64);
    let section = host
        .section_by_name(".unimig.aarch64")
        .expect("a .unimig.aarch64 section");
    match section.flags() {
        SectionFlags::Elf { sh_flags } => {
            assert_ne!(sh_flags & u64::from(SHF_EXCLUDE), 0, "SHF_EXCLUDE")
        }
        other => panic!("unexpected flags {other:?}"),
    }
    let inner = section.data().unwrap().to_vec();
    let aarch64 = object::File::parse(&inner[..]).expect("the section holds an ELF file");
    assert_eq!(aarch64.kind(), object::ObjectKind::Relocatable);
    assert_eq!(unimig_machine(&inner), EM_AARCH64);
    inner
}

fn unimig_machine(data: &[u8]) -> u16 {
    unimig_common::fat::elf_machine(data).expect("a 64-bit ELF file")
}

fn defines(data: &[u8], symbol: &str) -> bool {
    object::File::parse(data)
        .unwrap()
        .symbols()
        .any(|s| s.name() == Ok(symbol) && s.is_definition())
}

#[test]
fn compile_writes_a_fat_object() {
    let dir = project(&[("src/hello.c", HELLO)]);
    let output = run(dir.path(), &["-c", "-O2", "-Wall", "src/hello.c"]);
    assert_success(&output);
    // Named like clang: STEM.o in the current directory; nothing else left behind.
    assert_eq!(entries(dir.path()), ["hello.o", "src"]);
    let data = fs::read(dir.path().join("hello.o")).unwrap();
    let inner = check_fat_object(&data);
    assert!(defines(&data, "main") && defines(&inner, "main"));
    assert!(defines(&data, "counter") && defines(&inner, "counter"));
}

/// Every static variable gets its own section on both ISAs (the linker's unit of alignment).
/// At -O3 and -Oz LLVM's GlobalMerge pass (AArch64 only) would otherwise fold them into one
/// `.data..L_MergedGlobals` section.
#[test]
fn static_variables_keep_their_own_sections_on_both_isas() {
    let source = "static int a = 1, b = 2;\nint *pa(void) { return &a; }\nint f(int v) { a += v; b += a; return a * b; }\n";
    let dir = project(&[("statics.c", source)]);
    for level in ["-O3", "-Oz"] {
        assert_success(&run(dir.path(), &["-c", level, "statics.c"]));
        let data = fs::read(dir.path().join("statics.o")).unwrap();
        let inner = check_fat_object(&data);
        for (isa, bytes) in [("x86_64", &data[..]), ("aarch64", &inner[..])] {
            let file = object::File::parse(bytes).unwrap();
            for name in [".data.a", ".data.b"] {
                assert!(
                    file.section_by_name(name).is_some(),
                    "{isa} {level}: no {name} section"
                );
            }
            assert!(
                !file
                    .sections()
                    .any(|s| s.name().is_ok_and(|n| n.contains("MergedGlobals"))),
                "{isa} {level}: statics were merged"
            );
        }
    }
}

#[test]
fn output_option_and_multiple_inputs() {
    let dir = project(&[
        ("a.c", "int a(void) { return 1; }\n"),
        ("b.c", "int b(void) { return 2; }\n"),
    ]);
    let output = run(dir.path(), &["-c", "a.c", "-o", "missing/a.o"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output)
        .contains("unable to open output file 'missing/a.o': No such file or directory"));
    let output = run(dir.path(), &["-c", "a.c", "b.c", "-o", "y.o"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("cannot specify -o when generating multiple output files"));
    fs::create_dir(dir.path().join("out")).unwrap();
    assert_success(&run(dir.path(), &["-c", "a.c", "-o", "out/a.o"]));
    assert_success(&run(dir.path(), &["-c", "a.c", "b.c"]));
    for object in ["out/a.o", "a.o", "b.o"] {
        check_fat_object(&fs::read(dir.path().join(object)).unwrap());
    }
}

#[test]
fn object_to_stdout_and_to_dev_null() {
    let dir = project(&[("a.c", "int a;\n")]);
    let output = run(dir.path(), &["-c", "a.c", "-o", "-"]);
    assert_success(&output);
    check_fat_object(&output.stdout);
    assert_success(&run(dir.path(), &["-c", "a.c", "-o", "/dev/null"]));
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    assert_eq!(entries(dir.path()), ["a.c"]);
}

#[test]
fn source_from_stdin() {
    let dir = project(&[]);
    let mut child = cc(dir.path())
        .args(["-c", "-x", "c", "-", "-o", "stdin.o"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"int from_stdin(void) { return 42; }\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_success(&output);
    let data = fs::read(dir.path().join("stdin.o")).unwrap();
    let inner = check_fat_object(&data);
    assert!(defines(&data, "from_stdin") && defines(&inner, "from_stdin"));
}

#[test]
fn preprocessing_is_the_host_compile_s_view() {
    let source = "#include <stdio.h>\nint x = __x86_64__;\n#ifdef __CHAR_UNSIGNED__\n#error unsigned\n#endif\n";
    let dir = project(&[("p.c", source)]);
    let output = run(dir.path(), &["-E", "-DEXTRA=1", "p.c"]);
    assert_success(&output);
    // Exactly what clang prints with the host compile's flags (docs/formats.md).
    let include = stage().join("lib/unimig/sysroots/x86_64-linux-musl/include");
    let clang = Command::new("clang-19")
        .current_dir(dir.path())
        .args([
            "--target=x86_64-linux-musl",
            "-fsigned-char",
            "-E",
            "-DEXTRA=1",
            "p.c",
        ])
        .args([
            "-ffp-contract=off",
            "-ffunction-sections",
            "-fdata-sections",
            "-fno-common",
            "-fno-pic",
        ])
        .args(["-fno-pie", "-nostdlibinc", "-isystem"])
        .arg(&include)
        .output()
        .unwrap();
    assert_success(&clang);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&clang.stdout)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("int x = 1;"));
    assert!(
        text.contains(&format!("{}/stdio.h", include.display())),
        "musl's stdio.h is used"
    );
}

#[test]
fn dependency_file_names_the_real_target_once() {
    let dir = project(&[
        ("dep.c", "#include \"dep.h\"\nint d = D;\n"),
        ("dep.h", "#define D 4\n"),
    ]);
    fs::create_dir(dir.path().join("obj")).unwrap();
    assert_success(&run(
        dir.path(),
        &["-c", "-MD", "-MP", "dep.c", "-o", "obj/dep.o"],
    ));
    assert_eq!(entries(&dir.path().join("obj")), ["dep.d", "dep.o"]);
    let deps = fs::read_to_string(dir.path().join("obj/dep.d")).unwrap();
    assert!(deps.starts_with("obj/dep.o: dep.c"), "{deps}");
    assert_eq!(deps.matches("obj/dep.o").count(), 1, "{deps}");
    assert!(deps.contains("dep.h:"), "-MP adds a phony target: {deps}");
    // Without -o the names derive from the input, as with clang.
    assert_success(&run(dir.path(), &["-c", "-MMD", "dep.c"]));
    assert!(fs::read_to_string(dir.path().join("dep.d"))
        .unwrap()
        .starts_with("dep.o: dep.c"));
}

#[test]
fn a_syntax_error_gives_clang_s_diagnostic_and_no_output() {
    let dir = project(&[("bad.c", "int f(void) { return missing; }\n")]);
    let output = run(dir.path(), &["-c", "bad.c", "-o", "bad.o"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("bad.c:1:22: error: use of undeclared identifier 'missing'"),
        "{text}"
    );
    // Reported once (the aarch64 copy is dropped), and no unimig-cc message of its own.
    assert_eq!(text.matches("undeclared identifier").count(), 1, "{text}");
    assert!(!text.contains("unimig-cc"), "{text}");
    assert_eq!(entries(dir.path()), ["bad.c"]);
}

/// Like clang, a failed `-c` removes an old object at the output path, so make does not take
/// it for up to date.
#[test]
fn a_failed_compile_removes_a_stale_object() {
    let dir = project(&[
        ("bad.c", "int f(void) { return missing; }\n"),
        ("bad.o", "stale"),
    ]);
    let output = run(dir.path(), &["-c", "bad.c", "-o", "bad.o"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(entries(dir.path()), ["bad.c"]);
}

#[test]
fn an_aarch64_only_failure_is_reported_with_the_isa() {
    let dir = project(&[(
        "arm.c",
        "#ifdef __aarch64__\n#error not on arm\n#endif\nint a;\n",
    )]);
    let output = run(dir.path(), &["-c", "arm.c"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("error: not on arm"), "{text}");
    assert!(
        text.contains("unimig-cc: error: compiling arm.c for aarch64-linux-musl failed"),
        "{text}"
    );
    assert_eq!(entries(dir.path()), ["arm.c"]);
}

#[test]
fn refused_flags_and_inputs_say_why() {
    let dir = project(&[("a.c", "int a;\n"), ("start.S", "nop\n")]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["a.c", "-shared", "-o", "liba.so"],
            "-shared: unimig images are static",
        ),
        (
            &["-c", "-march=native", "a.c"],
            "'-march=native' selects ISA-specific code generation",
        ),
        (
            &["-c", "-flto", "a.c"],
            "'-flto': link-time optimisation is not supported",
        ),
        (
            &["-c", "start.S"],
            "start.S: assembly sources are not supported",
        ),
    ];
    for (args, message) in cases {
        let output = run(dir.path(), args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&output).contains(&format!("unimig-cc: error: {message}")),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(entries(dir.path()), ["a.c", "start.S"]);
}

#[test]
fn a_missing_sysroot_says_to_run_make_setup() {
    let dir = project(&[("a.c", "int a;\n")]);
    let output = cc(dir.path())
        .env("UNIMIG_PREFIX", "/nonexistent")
        .args(["-c", "a.c"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("make setup"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn response_files_are_expanded() {
    let dir = project(&[
        ("r.c", "int v = VALUE;\n"),
        ("args.rsp", "-E '-DVALUE=4 + 2'\n"),
    ]);
    let output = run(dir.path(), &["@args.rsp", "r.c"]);
    assert_success(&output);
    assert!(String::from_utf8_lossy(&output.stdout).contains("int v = 4 + 2;"));
}

#[test]
fn version_is_clang_s_with_a_unimig_line_last() {
    let output = run(Path::new("/"), &["--version"]);
    assert_success(&output);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.lines().next().unwrap().contains("clang version 19"),
        "{text}"
    );
    assert!(
        text.lines().last().unwrap().starts_with("unimig-cc "),
        "{text}"
    );
}

#[test]
fn verbose_and_dry_run_show_both_compiles() {
    let dir = project(&[("a.c", "int a;\n")]);
    let output = run(dir.path(), &["-###", "-c", "a.c"]);
    assert_success(&output);
    let text = stderr(&output);
    assert!(
        text.contains("\"--target=x86_64-linux-musl\"")
            && text.contains("\"--target=aarch64-linux-musl\"")
    );
    assert_eq!(entries(dir.path()), ["a.c"], "-### runs nothing");
}

#[test]
fn links_a_fat_executable() {
    let dir = project(&[("main.c", HELLO)]);
    let output = run(dir.path(), &["-O2", "main.c", "-o", "app"]);
    assert_success(&output);
    let run = Command::new(dir.path().join("app")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello 3\n");
    let data = fs::read(dir.path().join("app")).unwrap();
    let exe = object::File::parse(&data[..]).unwrap();
    assert!(exe.section_by_name(".unimig.image.aarch64").is_some());
}

#[test]
fn temporary_files_are_removed_unless_kept() {
    let dir = project(&[("a.c", "int a;\n"), ("bad.c", "int b = ;\n")]);
    let tmp = dir.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    let with_tmp = |args: &[&str], keep: bool| {
        let mut cmd = cc(dir.path());
        cmd.env("TMPDIR", &tmp).args(args);
        if keep {
            cmd.env("UNIMIG_KEEP_TEMPS", "1");
        }
        cmd.output().unwrap()
    };
    assert_success(&with_tmp(&["-c", "a.c"], false));
    assert!(!with_tmp(&["-c", "bad.c"], false).status.success());
    assert!(entries(&tmp).is_empty(), "left behind: {:?}", entries(&tmp));
    let kept = with_tmp(&["-c", "a.c"], true);
    assert_success(&kept);
    let kept_dirs = entries(&tmp);
    assert_eq!(kept_dirs.len(), 1);
    assert!(
        stderr(&kept).contains(&kept_dirs[0]),
        "the kept directory is named: {}",
        stderr(&kept)
    );
    let kept_files = entries(&tmp.join(&kept_dirs[0]));
    assert_eq!(
        kept_files,
        [
            "0-a.aarch64.bc",
            "0-a.aarch64.o",
            "0-a.o",
            "0-a.x86_64.bc",
            "0-a.x86_64.o"
        ]
    );
}

#[test]
fn the_linker_is_ld_unimig() {
    // libtool asks, finds a GNU-compatible linker without shared-library targets, and builds
    // static libraries only.
    let output = run(Path::new("/"), &["-print-prog-name=ld"]);
    assert_success(&output);
    let linker = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
    assert_eq!(linker.file_name().unwrap(), "ld.unimig");
    assert_eq!(
        linker.canonicalize().unwrap(),
        stage().join("bin/ld.unimig").canonicalize().unwrap()
    );
}

/// The sections of `object` whose names start with `prefix`, with their alignments.
fn sections(object: &[u8], prefix: &str) -> Vec<(String, u64)> {
    let file = object::File::parse(object).unwrap();
    let mut out: Vec<(String, u64)> = file
        .sections()
        .filter_map(|s| {
            let name = s.name().ok()?;
            name.starts_with(prefix)
                .then(|| (name.to_string(), s.align()))
        })
        .collect();
    out.sort();
    out
}

/// x86-64's front end aligns constant arrays of 16 bytes or more to 16, so a long array
/// initialiser used to land in `.rodata.str1.16` on x86-64 and among the other literals in
/// `.rodata.str1.1` on AArch64, and ld.unimig refused the image. Now every literal has a section
/// and a symbol of its own, with the same names on both ISAs, and the image links and checks.
#[test]
fn string_literals_get_their_own_sections_with_the_same_names() {
    let source = "#include <stdio.h>\n#include <string.h>\nint main(void) {\n  const char str[] = \"[\\\"A\\\", {\\\"B\\\": \\\"C\\\", \\\"e\\\": false}, 1, null, \\\"foo\\\"]\";\n  printf(\"%zu %s %p\\n\", strlen(str), \"other literal\", (void *)\"x\");\n  return 0;\n}\n";
    let dir = project(&[("l.c", source)]);
    for level in ["-O0", "-O2"] {
        assert_success(&run(dir.path(), &[level, "-c", "l.c"]));
        let data = fs::read(dir.path().join("l.o")).unwrap();
        let inner = check_fat_object(&data);
        let (x86, a64) = (sections(&data, ".rodata"), sections(&inner, ".rodata"));
        let names = |s: &[(String, u64)]| s.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&x86), names(&a64), "{level}");
        assert!(
            !x86.iter().any(|(n, _)| n.starts_with(".rodata.str")),
            "{level}: no mergeable literal sections: {x86:?}"
        );
        assert!(
            x86.iter().any(|(n, _)| n.starts_with(".rodata..str.")),
            "{x86:?}"
        );
        assert_success(&run(dir.path(), &[level, "l.c", "-o", "l"]));
        let check = Command::new(stage().join("bin/unimig"))
            .arg("check")
            .arg(dir.path().join("l"))
            .output()
            .unwrap();
        assert_success(&check);
        let native = Command::new(dir.path().join("l")).output().unwrap();
        let aarch64 = Command::new(stage().join("bin/unimig"))
            .args(["run", "--isa", "aarch64"])
            .arg(dir.path().join("l"))
            .output()
            .unwrap();
        assert_eq!(
            native.stdout, aarch64.stdout,
            "{level}: same output, same address"
        );
        assert!(String::from_utf8_lossy(&native.stdout).starts_with("45 other literal 0x"));
    }
}

#[test]
fn instrumentation_options_reach_the_pipeline() {
    let source = "#include <stdio.h>\nint work(int n) { int s = 0; for (int i = 0; i < n; i++) s += i % 7; return s; }\nint main(void) { printf(\"%d %f\\n\", work(1000), 0.5); return 0; }\n";
    let dir = project(&[("i.c", source)]);
    // Default: no instrumentation at all.
    assert_success(&run(dir.path(), &["-O2", "-c", "i.c"]));
    let plain = fs::read(dir.path().join("i.o")).unwrap();
    assert!(sections(&plain, ".llvm_stackmaps").is_empty());
    assert!(!object::File::parse(&plain[..])
        .unwrap()
        .symbols()
        .any(|s| s.name().is_ok_and(|n| n.starts_with("__unimig_"))));
    let instrumented = [
        "-O2",
        "-funimig-points=all",
        "-funimig-poll-period=4",
        "-funimig-stackmaps",
    ];
    assert_success(&run(
        dir.path(),
        &[&instrumented[..], &["-c", "i.c"]].concat(),
    ));
    let data = fs::read(dir.path().join("i.o")).unwrap();
    let inner = check_fat_object(&data);
    for object in [&data[..], &inner[..]] {
        assert_eq!(sections(object, ".llvm_stackmaps").len(), 1);
        // The migration point and the flag are defined weakly until the runtime has them.
        assert!(defines(object, "__unimig_migration_point"));
        assert!(defines(object, "__unimig_migrate_requested"));
    }
    // It links, runs the same on both ISAs, and the layout checks.
    let app = dir.path().join("app");
    let args = [&instrumented[..], &["i.c", "-o", "app"]].concat();
    assert_success(&run(dir.path(), &args));
    let check = Command::new(stage().join("bin/unimig"))
        .arg("check")
        .arg(&app)
        .output()
        .unwrap();
    assert_success(&check);
    let native = Command::new(&app).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&native.stdout), "2997 0.500000\n");
    // The options are unimig-cc's own: clang never sees them, and bad values are refused.
    assert_success(&run(dir.path(), &["-E", "-funimig-points=all", "i.c"]));
    let output = run(dir.path(), &["-c", "-funimig-points=most", "i.c"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(
            "unimig-cc: error: invalid value 'most' in '-funimig-points=most' (expected none, entry, loops or all)"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn verbose_shows_the_front_ends_and_the_back_end_settings() {
    let dir = project(&[("a.c", "int a;\n")]);
    let output = run(dir.path(), &["-###", "-O2", "-fno-vectorize", "-c", "a.c"]);
    assert_success(&output);
    let text = stderr(&output);
    assert_eq!(
        text.matches("\"-disable-llvm-passes\"").count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("in-process back end for x86_64 and aarch64: default<O2>, loop vectorizer off, SLP vectorizer on"),
        "{text}"
    );
}

/// An error in code generation (here the integrated assembler rejects an inline-asm statement,
/// which the front end passes through) names the input, the step and the ISA; nothing is left.
#[test]
fn a_back_end_error_names_the_step_and_the_isa() {
    let dir = project(&[
        (
            "asm.c",
            "int f(void) { __asm__(\"frobnicate\"); return 0; }\n",
        ),
        ("asm.o", "stale"),
    ]);
    let output = run(dir.path(), &["-c", "asm.c", "-o", "asm.o"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("unimig-cc: error: asm.c: code generation for x86_64: <inline asm>:1:2: invalid instruction mnemonic 'frobnicate'"),
        "{text}"
    );
    assert_eq!(entries(dir.path()), ["asm.c"]);
}

/// A fatal LLVM error (LLVM exits from inside) is reported the same way, and the stale object
/// and the temporary files are removed all the same. A global register variable the AArch64
/// back end does not allow is one (the front end accepts it).
#[test]
fn a_fatal_llvm_error_is_reported_and_cleaned_up() {
    let source = "#ifdef __aarch64__\nregister long v __asm__(\"x20\");\n#else\nregister long v __asm__(\"rsp\");\n#endif\nlong f(void) { return v; }\n";
    let dir = project(&[("fatal.c", source), ("fatal.o", "stale")]);
    let tmp = dir.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    let output = cc(dir.path())
        .env("TMPDIR", &tmp)
        .args(["-c", "fatal.c", "-o", "fatal.o"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("unimig-cc: error: fatal.c: code generation for aarch64: LLVM ERROR: Invalid register name \"x20\"."),
        "{text}"
    );
    assert_eq!(entries(dir.path()), ["fatal.c", "tmp"]);
    assert!(entries(&tmp).is_empty(), "left behind: {:?}", entries(&tmp));
}

/// What clang's back end takes from flags reaches ours: debug info, frame pointers, stack
/// protectors, `-fno-builtin` (no printf -> puts), `-mllvm`.
#[test]
fn back_end_flags_are_honoured() {
    let source = "#include <stdio.h>\n#include <string.h>\nint leaf(int a) { return a + 1; }\nint f(const char *s) { char buf[64]; strcpy(buf, s); printf(\"hello\\n\"); return leaf((int)strlen(buf)); }\n";
    let dir = project(&[("f.c", source)]);
    let build = |args: &[&str]| -> [Vec<u8>; 2] {
        assert_success(&run(dir.path(), &[args, &["-c", "f.c"]].concat()));
        let data = fs::read(dir.path().join("f.o")).unwrap();
        let inner = check_fat_object(&data);
        [data, inner]
    };
    let undefined = |object: &[u8], name: &str| {
        object::File::parse(object)
            .unwrap()
            .symbols()
            .any(|s| s.is_undefined() && s.name() == Ok(name))
    };
    for object in build(&["-O2"]) {
        assert!(undefined(&object, "puts") && sections(&object, ".debug_info").is_empty());
    }
    for object in build(&["-O2", "-fno-builtin"]) {
        assert!(undefined(&object, "printf") && !undefined(&object, "puts"));
    }
    for object in build(&["-O2", "-g"]) {
        assert_eq!(sections(&object, ".debug_info").len(), 1);
    }
    for object in build(&["-O2", "-fstack-protector-all"]) {
        assert!(undefined(&object, "__stack_chk_fail"));
    }
    let [x86, _] = build(&["-O2", "-fno-omit-frame-pointer"]);
    let leaf = |object: &[u8]| {
        let file = object::File::parse(object).unwrap();
        let section = file.section_by_name(".text.leaf").unwrap();
        section.data().unwrap().to_vec()
    };
    assert!(leaf(&x86).starts_with(&[0x55]), "push %rbp");
    let [x86, _] = build(&["-O2"]);
    assert!(!leaf(&x86).starts_with(&[0x55]));
    build(&["-O2", "-mllvm", "-inline-threshold=0"]);
    let output = run(dir.path(), &["-c", "-mllvm", "-no-such-option", "f.c"]);
    assert_eq!(output.status.code(), Some(1));
}
