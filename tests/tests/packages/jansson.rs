//! jansson: an autotools + libtool library (`autoreconf -fi`, `./configure --disable-shared`,
//! `make`, `make check`, and `make check` again with the AArch64 halves of the test programs).
//! Then every test of its suites runs here on both ISAs: same stdout, stderr and exit status,
//! equal to the suite's expected files.

use std::fs;
use std::path::Path;
use unimig_tests::*;

fn read_if(path: &Path) -> Option<Vec<u8>> {
    fs::read(path).ok()
}

/// KEY=VALUE lines of a suite's `env` file (`export` lines are shell syntax only).
fn env_file(dir: &Path) -> Vec<(String, String)> {
    let Some(text) = read_if(&dir.join("env")) else {
        return Vec::new();
    };
    String::from_utf8(text)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("export ") && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("bad env line {l:?} in {}", dir.display()));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn sorted_dirs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

#[test]
fn jansson() {
    let timer = Timer::start("pkg-jansson");
    let pkg = super::build_package("jansson", "jansson.sh", &timer);
    let test_dir = pkg.src.join("test");
    let json_process = test_dir.join("bin/json_process");
    let suites = test_dir.join("suites");
    let mut ran = 0;

    // API tests: C programs that exit non-zero on failure.
    let mut api: Vec<_> = fs::read_dir(suites.join("api"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .map(|p| p.with_extension(""))
        .collect();
    api.sort();
    assert!(api.len() >= 15, "api tests missing");
    for prog in &api {
        let name = prog.file_name().unwrap().to_string_lossy().into_owned();
        let out = run_both_same(&name, prog, &RunSpec::default().cwd(&test_dir));
        assert_success(&name, &out);
        ran += 1;
    }

    // Data-driven suites: json_process --env reads the input on stdin; its configuration comes
    // from the environment (as in the suites' run scripts).
    for (suite, expected, sort_keys, variants) in [
        ("valid", "output", true, &["normal", "strip"][..]),
        ("invalid", "error", false, &["normal", "strip"][..]),
        ("invalid-unicode", "error", false, &["normal"][..]),
        ("encoding-flags", "output", false, &["normal"][..]),
    ] {
        for case in sorted_dirs(&suites.join(suite)) {
            let name = format!("{suite}/{}", case.file_name().unwrap().to_string_lossy());
            for variant in variants {
                if *variant == "strip" && case.join("nostrip").exists() {
                    continue;
                }
                let mut spec =
                    RunSpec::new(&["--env"]).stdin(fs::read(case.join("input")).unwrap());
                if suite == "encoding-flags" {
                    for (k, v) in env_file(&case) {
                        spec = spec.env(k, v);
                    }
                } else {
                    spec = spec.env("STRIP", if *variant == "strip" { "1" } else { "0" });
                }
                if sort_keys {
                    spec = spec.env("JSON_SORT_KEYS", "1");
                }
                let what = format!("json_process {name} ({variant})");
                let out = run_both_same(&what, &json_process, &spec);
                let want = read_if(&case.join(format!("{expected}.{variant}")))
                    .or_else(|| read_if(&case.join(expected)))
                    .unwrap_or_else(|| panic!("{name}: no {expected} file"));
                let got = if expected == "output" {
                    &out.stdout
                } else {
                    &out.stderr
                };
                assert_same_bytes(&what, got, &want, "json_process", expected);
                ran += 1;
            }
        }
    }
    assert!(ran > 150, "only {ran} jansson tests ran");
    eprintln!("jansson: {ran} tests identical on both ISAs");
}
