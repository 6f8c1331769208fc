//! libyaml: an autotools + libtool library (`autoreconf -fi`, `./configure --disable-shared`,
//! `make`, `make check` natively and with the AArch64 halves). Then its test and example
//! programs (scanner, parser, loader, emitter, dumper, the yaml-test-suite event parser and
//! emitter, the reformatters and deconstructors) run on both ISAs over the tarball's example
//! files and documents of this test's own, valid and invalid: same stdout, stderr and exit
//! status on both.

use std::fs;
use std::path::Path;
use unimig_tests::*;

/// Documents that exercise what the examples do not: several documents, block scalars, flow
/// collections, tags, anchors, Unicode and escapes, and errors at various points.
const DOCUMENTS: &[(&str, &str)] = &[
    (
        "multi.yaml",
        "%YAML 1.1\n---\na: 1\nb: [x, y, {z: 2}]\n...\n---\n- !!str 3\n- !custom {k: v}\n- ~\n",
    ),
    (
        "scalars.yaml",
        "literal: |\n  line one\n  line two\nfolded: >-\n  folded\n  text\nquoted: \"tab\\tnl\\n\\u00e9\\U0001F600\"\nsingle: 'it''s'\nplain: -12.5e3\n",
    ),
    (
        "anchors.yaml",
        "base: &b {x: 1, y: [1, 2, 3]}\nuse: *b\nmerge:\n  <<: *b\n  z: 3\n? complex key\n: complex value\n",
    ),
    (
        "unicode.yaml",
        "\u{feff}名前: テスト\nemoji: \"😀 ok\"\nlist:\n  - ä\n  - ö\n  - ü\n",
    ),
    ("bad-indent.yaml", "a:\n  b: 1\n c: 2\n"),
    ("bad-quote.yaml", "key: \"unterminated\n"),
    // Parses (an alias is an event), but does not load: the loader's error path.
    ("bad-alias.yaml", "a: *missing\n"),
    ("bad-flow.yaml", "[1, 2\n"),
];

fn yaml_inputs(pkg: &super::Package) -> (std::path::PathBuf, Vec<String>) {
    let dir = pkg.tmp.path().join("inputs");
    fs::create_dir_all(&dir).unwrap();
    for src in ["examples", "regression-inputs"] {
        for entry in fs::read_dir(pkg.src.join(src)).unwrap() {
            let path = entry.unwrap().path();
            fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    for (name, text) in DOCUMENTS {
        fs::write(dir.join(name), text).unwrap();
    }
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (dir, names)
}

#[test]
fn libyaml() {
    let timer = Timer::start("pkg-libyaml");
    let pkg = super::build_package("libyaml", "libyaml.sh", &timer);
    let bin = |name: &str| pkg.src.join("tests").join(name);
    let (dir, inputs) = yaml_inputs(&pkg);
    assert!(inputs.len() >= 15, "inputs missing: {inputs:?}");
    let mut ran = 0;

    // Programs that take file names (and print them): all inputs at once, and one by one.
    let file_programs: [(&str, &[&str]); 7] = [
        ("run-scanner", &[]),
        ("run-parser", &[]),
        ("run-loader", &[]),
        ("run-emitter", &[]),
        ("run-dumper", &[]),
        ("run-dumper", &["-c"]),
        ("run-dumper", &["-u"]),
    ];
    for (program, flags) in file_programs {
        let mut args: Vec<&str> = flags.to_vec();
        args.extend(inputs.iter().map(String::as_str));
        let what = format!("{program} {}", flags.join(" "));
        run_both_same(&what, &bin(program), &RunSpec::new(&args).cwd(&dir));
        ran += 1;
    }

    // Filters on standard input, and the yaml-test-suite pair: parser to event stream, event
    // stream back to YAML (in block and flow style).
    let filters = [
        "example-reformatter",
        "example-reformatter-alt",
        "example-deconstructor",
        "example-deconstructor-alt",
    ];
    for name in &inputs {
        let text = fs::read(dir.join(name)).unwrap();
        for program in filters {
            let spec = RunSpec::new::<&str>(&[]).stdin(text.clone());
            run_both_same(&format!("{program} < {name}"), &bin(program), &spec);
            ran += 1;
        }
        let events = run_both_same(
            &format!("run-parser-test-suite {name}"),
            &bin("run-parser-test-suite"),
            &RunSpec::new(&[name.as_str()]).cwd(&dir),
        );
        ran += 1;
        if !events.status.success() {
            continue;
        }
        for flow in ["keep", "on", "off"] {
            let spec = RunSpec::new(&["--flow", flow]).stdin(events.stdout.clone());
            let what = format!("run-emitter-test-suite --flow {flow} < events of {name}");
            let out = run_both_same(&what, &bin("run-emitter-test-suite"), &spec);
            assert_success(&what, &out);
            ran += 1;
        }
    }
    assert_failures_are_reported(&bin("run-parser-test-suite"), &dir);
    assert!(ran > 100, "only {ran} libyaml runs");
    eprintln!("libyaml: {ran} runs identical on both ISAs");
}

/// The syntactically invalid documents fail to parse (on both ISAs alike, checked above): the
/// comparison is not vacuous.
fn assert_failures_are_reported(parser: &Path, dir: &Path) {
    let syntax_errors = DOCUMENTS
        .iter()
        .filter(|(n, _)| n.starts_with("bad-") && *n != "bad-alias.yaml");
    for (name, _) in syntax_errors {
        let out = run_on(Isa::X86_64, parser, &RunSpec::new(&[*name]).cwd(dir));
        assert!(
            !out.status.success(),
            "run-parser-test-suite {name} should fail\n{}",
            show_output(&out)
        );
    }
}
