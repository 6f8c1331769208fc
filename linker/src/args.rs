//! Pass 1: the GNU-ld style command line as a typed, ordered list of [`Arg`]s.
//!
//! `ld.unimig` is reached from clang (`-fuse-ld=unimig`, `--ld-path=`) and from unimig-cc, so it
//! sees what clang gives a GNU linker. This pass only *recognises* options: it expands `@file`
//! response files, knows which options take a value (separate `-o out`, joined `-oout`,
//! `--opt=val`) and tags each one with what later passes do with it. Inputs and the
//! position-sensitive markers (`--start-group`, `--whole-archive`, `-Bstatic`, ...) keep their
//! order. Deciding what an option *means* for a unimig image is pass 2 ([`crate::substitute`]).

use anyhow::{bail, Context, Result};
use std::fs;

/// A position-sensitive option that stays where it was among the inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    StartGroup,
    EndGroup,
    WholeArchive,
    NoWholeArchive,
    PushState,
    PopState,
    StartLib,
    EndLib,
    /// `-Bstatic` / `-Bdynamic` and their aliases (`-static`, `-dn`, `-dy`, ...).
    Bstatic,
    Bdynamic,
    AsNeeded,
    NoAsNeeded,
}

impl Marker {
    /// The spelling lld understands, for the markers that reach lld.
    pub fn lld_spelling(self) -> Option<&'static str> {
        Some(match self {
            Marker::StartGroup => "--start-group",
            Marker::EndGroup => "--end-group",
            Marker::WholeArchive => "--whole-archive",
            Marker::NoWholeArchive => "--no-whole-archive",
            Marker::PushState => "--push-state",
            Marker::PopState => "--pop-state",
            Marker::StartLib => "--start-lib",
            Marker::EndLib => "--end-lib",
            // Images are always static and libraries are resolved by ld.unimig itself, so the
            // link-mode and as-needed switches have nothing left to act on.
            Marker::Bstatic | Marker::Bdynamic | Marker::AsNeeded | Marker::NoAsNeeded => {
                return None
            }
        })
    }
}

/// One recognised command-line item. `text` fields keep the spelling the user wrote, for
/// diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A positional input file.
    Input(String),
    /// `-lNAME`; `-l:FILE` is kept as `:FILE`.
    Lib(String),
    /// `-L DIR`.
    LibDir(String),
    /// `-o FILE`.
    Output(String),
    /// `-m EMULATION`.
    Emulation(String),
    /// `-Map FILE`.
    Map(String),
    Marker(Marker),
    /// An option both lld runs get, as argv words (`["-e", "start"]`, `["--gc-sections"]`).
    Pass(Vec<String>),
    /// A dynamic-linking or host-system option that means nothing for a static image.
    Drop(String),
    /// `-z KEYWORD`: kept apart because ld.unimig sets `-z norelro` itself.
    Z(String),
    /// An option ld.unimig refuses, with the reason.
    Reject {
        text: String,
        reason: &'static str,
    },
    /// `--version`: print versions and exit.
    Version,
    /// `-v` / `-V`: print versions, then link if there are inputs.
    VersionThenLink,
    Help,
}

/// Whether (and how) an option takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val {
    /// No value.
    Flag,
    /// A value: `--opt=v`, `--opt v`, and for one-letter options `-ov` / `-o v`.
    Sep,
    /// An optional value, only in the joined form `--opt=v` (`--build-id[=style]`).
    Eq,
}

/// What pass 1 turns an option into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    Output,
    LibDir,
    Lib,
    Emulation,
    Map,
    Z,
    Marker(Marker),
    Pass,
    Drop,
    Reject(&'static str),
    Version,
    VersionThenLink,
    Help,
}

struct Spec {
    /// Names without leading dashes; GNU ld accepts `-name` and `--name` for long options.
    names: &'static [&'static str],
    val: Val,
    act: Act,
}

const fn spec(names: &'static [&'static str], val: Val, act: Act) -> Spec {
    Spec { names, val, act }
}

const SHARED: &str = "images are static; shared libraries are not supported";
const LTO: &str = "LTO is not supported by unimig (compile without -flto)";
const SCRIPT: &str = "linker scripts are not supported: ld.unimig lays out both images itself";
const ADDRESSES: &str =
    "ld.unimig places every section itself, at the same address on both ISAs (docs/formats.md)";
const ICF: &str = "identical code folding would fold different functions on each ISA, so their \
                   addresses would differ; only --icf=none is accepted";
const RELOCATABLE: &str =
    "partial links (-r) are not supported; link fat objects into an executable";
const FORMAT: &str = "only ELF inputs are supported";

use Act::*;
use Val::*;

/// The options ld.unimig knows. Anything else is passed to lld unchanged (as one word).
#[rustfmt::skip]
const OPTIONS: &[Spec] = &[
    // Output, inputs, search paths, emulation.
    spec(&["o", "output"], Sep, Output),
    spec(&["L", "library-path"], Sep, LibDir),
    spec(&["l", "library"], Sep, Lib),
    spec(&["m"], Sep, Emulation),
    spec(&["Map"], Sep, Map),
    spec(&["z"], Sep, Z),
    // Position-sensitive markers.
    spec(&["start-group", "("], Flag, Marker(Marker::StartGroup)),
    spec(&["end-group", ")"], Flag, Marker(Marker::EndGroup)),
    spec(&["whole-archive"], Flag, Marker(Marker::WholeArchive)),
    spec(&["no-whole-archive"], Flag, Marker(Marker::NoWholeArchive)),
    spec(&["push-state"], Flag, Marker(Marker::PushState)),
    spec(&["pop-state"], Flag, Marker(Marker::PopState)),
    spec(&["start-lib"], Flag, Marker(Marker::StartLib)),
    spec(&["end-lib"], Flag, Marker(Marker::EndLib)),
    spec(&["Bstatic", "static", "dn", "non_shared"], Flag, Marker(Marker::Bstatic)),
    spec(&["Bdynamic", "dy", "call_shared"], Flag, Marker(Marker::Bdynamic)),
    spec(&["as-needed"], Flag, Marker(Marker::AsNeeded)),
    spec(&["no-as-needed"], Flag, Marker(Marker::NoAsNeeded)),
    // Options both images get, with a value.
    spec(&["e", "entry"], Sep, Pass),
    spec(&["u", "undefined"], Sep, Pass),
    spec(&["y", "trace-symbol"], Sep, Pass),
    spec(&["defsym"], Sep, Pass),
    spec(&["wrap"], Sep, Pass),
    spec(&["init"], Sep, Pass),
    spec(&["fini"], Sep, Pass),
    spec(&["O"], Sep, Pass),
    spec(&["mllvm"], Sep, Pass),
    spec(&["error-limit"], Sep, Pass),
    spec(&["threads"], Sep, Pass),
    spec(&["sort-section"], Sep, Pass),
    spec(&["icf"], Sep, Reject(ICF)),
    spec(&["exclude-libs"], Sep, Pass),
    spec(&["retain-symbols-file"], Sep, Pass),
    spec(&["undefined-glob"], Sep, Pass),
    spec(&["require-defined"], Sep, Pass),
    spec(&["image-base"], Sep, Reject(ADDRESSES)),
    spec(&["Ttext", "Tdata", "Tbss", "Ttext-segment"], Sep, Reject(ADDRESSES)),
    spec(&["section-start"], Sep, Reject(ADDRESSES)),
    spec(&["build-id"], Eq, Pass),
    spec(&["compress-debug-sections"], Eq, Pass),
    spec(&["color-diagnostics"], Eq, Pass),
    spec(&["unresolved-symbols"], Sep, Pass),
    spec(&["warn-unresolved-symbols", "error-unresolved-symbols"], Flag, Pass),
    // Options both images get, without a value.
    spec(&["gc-sections", "no-gc-sections", "print-gc-sections", "no-print-gc-sections"], Flag, Pass),
    spec(&["s", "strip-all", "S", "strip-debug", "x", "discard-all", "X", "discard-locals"], Flag, Pass),
    spec(&["t", "trace", "M", "print-map", "cref", "verbose", "stats"], Flag, Pass),
    spec(&["eh-frame-hdr", "no-eh-frame-hdr"], Flag, Pass),
    spec(&["fatal-warnings", "no-fatal-warnings", "warn-common", "no-warn-mismatch"], Flag, Pass),
    spec(&["allow-multiple-definition", "no-undefined", "no-allow-shlib-undefined"], Flag, Pass),
    spec(&["q", "emit-relocs", "N", "omagic", "n", "nmagic", "no-omagic"], Flag, Pass),
    spec(&["demangle", "no-demangle", "print-memory-usage", "relax", "no-relax"], Flag, Pass),
    spec(&["no-rosegment", "rosegment", "nostdlib", "enable-non-contiguous-regions"], Flag, Pass),
    spec(&["d", "dc", "dp"], Flag, Pass),
    // Dynamic-linking and host-system options: nothing to do in a static image.
    spec(&["dynamic-linker", "I"], Sep, Drop),
    spec(&["hash-style"], Sep, Drop),
    spec(&["rpath", "R", "rpath-link"], Sep, Drop),
    spec(&["sysroot"], Sep, Drop),
    spec(&["soname", "h"], Sep, Drop),
    spec(&["version-script", "dynamic-list", "export-dynamic-symbol"], Sep, Drop),
    spec(&["audit", "auxiliary", "f", "filter", "F"], Sep, Drop),
    spec(&["dependency-file"], Sep, Drop),
    spec(&["pie", "pic-executable", "no-pie", "no-pic-executable", "no-dynamic-linker"], Flag, Drop),
    spec(&["E", "export-dynamic", "no-export-dynamic"], Flag, Drop),
    spec(&["enable-new-dtags", "disable-new-dtags", "add-needed", "no-add-needed"], Flag, Drop),
    spec(&["copy-dt-needed-entries", "no-copy-dt-needed-entries", "Bsymbolic", "Bsymbolic-functions"], Flag, Drop),
    spec(&["fix-cortex-a53-843419", "g"], Flag, Drop),
    // Refused.
    spec(&["shared", "Bshareable"], Flag, Reject(SHARED)),
    spec(&["plugin", "plugin-opt"], Sep, Reject(LTO)),
    spec(&["lto-O", "lto-partitions", "thinlto-jobs"], Sep, Reject(LTO)),
    spec(&["T", "script", "dT", "default-script"], Sep, Reject(SCRIPT)),
    spec(&["r", "relocatable", "i"], Flag, Reject(RELOCATABLE)),
    spec(&["b", "format"], Sep, Reject(FORMAT)),
    // Information.
    spec(&["version"], Flag, Version),
    spec(&["v", "V"], Flag, VersionThenLink),
    spec(&["help"], Flag, Help),
];

/// One-letter options that also take their value joined (`-lfoo`, `-L/dir`, `-zrelro`).
const JOINABLE: &[&str] = &[
    "o", "L", "l", "m", "e", "u", "y", "z", "O", "T", "R", "I", "h", "f", "F", "b",
];

fn lookup(name: &str) -> Option<&'static Spec> {
    OPTIONS.iter().find(|s| s.names.contains(&name))
}

/// Parses `argv` (without the program name) into [`Arg`]s, expanding `@file` response files.
pub fn parse(argv: &[String]) -> Result<Vec<Arg>> {
    let words = expand_response_files(argv, 0)?;
    let mut out = Vec::new();
    let mut i = 0;
    let mut only_inputs = false;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        if only_inputs || !word.starts_with('-') || word == "-" {
            out.push(Arg::Input(word.clone()));
            continue;
        }
        if word == "--" {
            only_inputs = true;
            continue;
        }
        let (double, body) = match word.strip_prefix("--") {
            Some(body) => (true, body),
            None => (false, &word[1..]),
        };
        let (name, joined) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        // Exact long or one-letter name, possibly with `=value`.
        let found = match lookup(name) {
            Some(spec) if spec.val != Flag || joined.is_none() => {
                Some((spec, name, joined.map(str::to_string)))
            }
            _ => None,
        };
        // One-letter option with its value joined: `-lfoo`, `-L/usr/lib`, `-zrelro`.
        let found = found.or_else(|| {
            if double || body.len() < 2 {
                return None;
            }
            let (letter, rest) = body.split_at(1);
            if !JOINABLE.contains(&letter) {
                return None;
            }
            lookup(letter).map(|spec| (spec, letter, Some(rest.to_string())))
        });
        let Some((spec, name, value)) = found else {
            // Unknown to ld.unimig: lld gets it as written (and reports it if it is wrong).
            out.push(Arg::Pass(vec![word.clone()]));
            continue;
        };
        let value = match (spec.val, value) {
            (Sep, None) => {
                let Some(v) = words.get(i) else {
                    bail!("option {word} needs a value");
                };
                i += 1;
                Some(v.clone())
            }
            (_, v) => v,
        };
        out.push(make_arg(spec, name, word, value));
    }
    Ok(out)
}

/// Builds the [`Arg`] for option `name` (as matched, without dashes), written as `word`.
fn make_arg(spec: &Spec, name: &str, word: &str, value: Option<String>) -> Arg {
    let text = match &value {
        Some(v) if !word.ends_with(v.as_str()) => format!("{word} {v}"),
        _ => word.to_string(),
    };
    let v = value.clone().unwrap_or_default();
    match spec.act {
        Output => Arg::Output(v),
        LibDir => Arg::LibDir(v),
        Lib => Arg::Lib(v),
        Emulation => Arg::Emulation(v),
        Map => Arg::Map(v),
        Z => Arg::Z(v),
        Marker(m) => Arg::Marker(m),
        Pass => {
            // Canonical lld spelling: long options as `--name[=value]`, one-letter ones as
            // `-x value`, so both images see the same thing whatever form the user wrote.
            match (value, name.len()) {
                (None, 1) => Arg::Pass(vec![format!("-{name}")]),
                (None, _) => Arg::Pass(vec![format!("--{name}")]),
                (Some(v), 1) => Arg::Pass(vec![format!("-{name}"), v]),
                (Some(v), _) => Arg::Pass(vec![format!("--{name}={v}")]),
            }
        }
        Drop => Arg::Drop(text),
        // `--icf=none` is lld's default: nothing to refuse.
        Reject(ICF) if v == "none" => Arg::Drop(text),
        Reject(reason) => Arg::Reject { text, reason },
        Version => Arg::Version,
        VersionThenLink => Arg::VersionThenLink,
        Help => Arg::Help,
    }
}

/// Replaces each `@file` word by the words of `file` (GNU quoting: whitespace separates,
/// quotes and backslashes escape), recursively.
fn expand_response_files(argv: &[String], depth: usize) -> Result<Vec<String>> {
    if depth > 16 {
        bail!("response files nest too deeply (a loop?)");
    }
    let mut out = Vec::with_capacity(argv.len());
    for word in argv {
        match word.strip_prefix('@') {
            Some(path) if !path.is_empty() => {
                let text = fs::read_to_string(path)
                    .with_context(|| format!("cannot read response file {path}"))?;
                let words = shell_words::split(&text)
                    .with_context(|| format!("malformed response file {path}"))?;
                out.extend(expand_response_files(&words, depth + 1)?);
            }
            _ => out.push(word.clone()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(words: &[&str]) -> Vec<Arg> {
        parse(&words.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn separate_and_joined_values() {
        assert_eq!(
            p(&[
                "-o",
                "app",
                "-oapp2",
                "--output=app3",
                "-L",
                "/d",
                "-L/e",
                "-lfoo",
                "-l",
                "bar",
                "-l:libz.a"
            ]),
            vec![
                Arg::Output("app".into()),
                Arg::Output("app2".into()),
                Arg::Output("app3".into()),
                Arg::LibDir("/d".into()),
                Arg::LibDir("/e".into()),
                Arg::Lib("foo".into()),
                Arg::Lib("bar".into()),
                Arg::Lib(":libz.a".into()),
            ]
        );
        assert_eq!(
            p(&["-m", "elf_x86_64", "-melf_x86_64"]),
            vec![Arg::Emulation("elf_x86_64".into()); 2]
        );
        assert_eq!(
            p(&[
                "-z",
                "relro",
                "-znow",
                "-Map",
                "m.txt",
                "-Map=n.txt",
                "--Map=o.txt"
            ]),
            vec![
                Arg::Z("relro".into()),
                Arg::Z("now".into()),
                Arg::Map("m.txt".into()),
                Arg::Map("n.txt".into()),
                Arg::Map("o.txt".into()),
            ]
        );
    }

    #[test]
    fn pass_options_are_canonical() {
        assert_eq!(
            p(&[
                "-e",
                "start",
                "--entry=go",
                "-uextra",
                "--defsym",
                "a=b",
                "--defsym=c=d",
                "-s",
                "-static"
            ]),
            vec![
                Arg::Pass(vec!["-e".into(), "start".into()]),
                Arg::Pass(vec!["--entry=go".into()]),
                Arg::Pass(vec!["-u".into(), "extra".into()]),
                Arg::Pass(vec!["--defsym=a=b".into()]),
                Arg::Pass(vec!["--defsym=c=d".into()]),
                Arg::Pass(vec!["-s".into()]),
                Arg::Marker(Marker::Bstatic),
            ]
        );
        // --build-id takes its value only joined: the next word is an input.
        assert_eq!(
            p(&["--build-id", "a.o", "--build-id=sha1"]),
            vec![
                Arg::Pass(vec!["--build-id".into()]),
                Arg::Input("a.o".into()),
                Arg::Pass(vec!["--build-id=sha1".into()]),
            ]
        );
        // Unknown options go to lld as written.
        assert_eq!(
            p(&["--frobnicate"]),
            vec![Arg::Pass(vec!["--frobnicate".into()])]
        );
    }

    #[test]
    fn dynamic_options_dropped_and_refusals() {
        let args = p(&[
            "-dynamic-linker",
            "/lib64/ld-linux-x86-64.so.2",
            "--hash-style=gnu",
            "-pie",
            "a.o",
        ]);
        assert_eq!(args.len(), 4);
        assert!(matches!(&args[0], Arg::Drop(t) if t.contains("ld-linux")));
        assert!(matches!(args[1], Arg::Drop(_)));
        assert!(matches!(args[2], Arg::Drop(_)));
        assert_eq!(args[3], Arg::Input("a.o".into()));
        assert!(matches!(&p(&["-shared"])[0], Arg::Reject { reason, .. } if *reason == SHARED));
        assert!(
            matches!(&p(&["-plugin", "/x/LLVMgold.so"])[0], Arg::Reject { reason, .. } if *reason == LTO)
        );
        assert!(
            matches!(&p(&["-plugin-opt=mcpu=x86-64"])[0], Arg::Reject { reason, .. } if *reason == LTO)
        );
        assert!(matches!(&p(&["-T", "x.ld"])[0], Arg::Reject { .. }));
    }

    #[test]
    fn layout_changing_options_refused() {
        for argv in [
            &["-Ttext", "0x1000"][..],
            &["-Ttext=0x1000"],
            &["--image-base=0x10000"],
            &["--section-start=.data=0x9000"],
            &["--icf=all"],
            &["--icf", "safe"],
        ] {
            let args = p(argv);
            assert!(matches!(&args[0], Arg::Reject { .. }), "{argv:?}: {args:?}");
        }
        assert!(matches!(&p(&["--icf=none"])[0], Arg::Drop(_)));
    }

    #[test]
    fn markers_keep_order() {
        assert_eq!(
            p(&[
                "a.o",
                "--start-group",
                "-lgcc",
                "-lc",
                "--end-group",
                "-(",
                "b.a",
                "-)",
                "--whole-archive",
                "x.a"
            ]),
            vec![
                Arg::Input("a.o".into()),
                Arg::Marker(Marker::StartGroup),
                Arg::Lib("gcc".into()),
                Arg::Lib("c".into()),
                Arg::Marker(Marker::EndGroup),
                Arg::Marker(Marker::StartGroup),
                Arg::Input("b.a".into()),
                Arg::Marker(Marker::EndGroup),
                Arg::Marker(Marker::WholeArchive),
                Arg::Input("x.a".into()),
            ]
        );
    }

    #[test]
    fn response_files() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner.rsp");
        fs::write(&inner, "-lm 'with space.o'\n").unwrap();
        let outer = dir.path().join("outer.rsp");
        fs::write(&outer, format!("-o app \"b c.o\" @{}\n", inner.display())).unwrap();
        assert_eq!(
            p(&["a.o", &format!("@{}", outer.display()), "-lc"]),
            vec![
                Arg::Input("a.o".into()),
                Arg::Output("app".into()),
                Arg::Input("b c.o".into()),
                Arg::Lib("m".into()),
                Arg::Input("with space.o".into()),
                Arg::Lib("c".into()),
            ]
        );
        assert!(parse(&["@/nonexistent/x.rsp".to_string()]).is_err());
    }

    #[test]
    fn missing_value_is_an_error() {
        assert!(parse(&["a.o".to_string(), "-o".to_string()]).is_err());
    }
}
