//! Classification of the (response-file-expanded) command line into a typed [`Invocation`]:
//! what to produce ([`Mode`]), which arguments are inputs, and where every other argument goes
//! (both compiles, the host compile only, the link step, nowhere, or refused). The per-option
//! facts live in [`crate::options`]; this module walks the command line with them, tracks `-x`,
//! decides the mode like clang does and applies the mode-dependent checks.

use crate::options::{self, DepFlag, ModeFlag, Role};
use anyhow::{anyhow, bail, Result};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use unimig_common::Isa;

/// What the driver produces, decided from the arguments with clang's precedence:
/// queries, then `-E`/`-M`/`-MM`, `-fsyntax-only`, `-S`, `-c`, and linking otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `--version`, `-print-*`, `-dumpmachine`, `-v` without inputs, ...
    Query,
    /// `-E`, or `-M`/`-MM` without `-MD`/`-MMD`.
    Preprocess,
    /// `-fsyntax-only`
    SyntaxOnly,
    /// `-S`: host (x86-64) assembly only, or host IR with `-emit-llvm`.
    Assembly,
    /// `-c`: one fat object per C input.
    Object,
    /// No output-kind flag: compile the C inputs to fat objects and link a fat executable.
    Link,
}

/// The classified command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    pub mode: Mode,
    /// Every argument in command-line order.
    pub args: Vec<Arg>,
    /// `-v`: show the commands run and pass `-v` to clang.
    pub verbose: bool,
    /// `-###`: show the commands without running them.
    pub dry_run: bool,
}

/// One argument as the user wrote it (one token, or two when the value is separate), and what
/// it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub tokens: Vec<OsString>,
    pub kind: Kind,
}

/// What an argument is, i.e. where unimig-cc sends it.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Input(Input),
    Output(OsString),
    /// `-x LANG`: already applied to the inputs after it.
    Language,
    Mode(ModeFlag),
    Query,
    Verbose,
    DryRun,
    /// Both compiles.
    Compile,
    /// The host compile only.
    HostCompile,
    /// Dependency-file options: the host compile only.
    Dependency(DepFlag),
    /// Both compiles and the link step.
    CompileAndLink,
    /// The link step only.
    Link,
    /// The link step only; clang counts it as an input (`-l`, `-Wl,`, ...).
    LinkInput,
    EmitLlvm,
    /// unimig's own options: read by unimig-cc (`pipeline_flags`), never given to clang.
    Unimig,
    /// Accepted and ignored.
    Dropped,
    /// `--`: the arguments after it are inputs.
    EndOfOptions,
    /// Refused (outside query mode) with this message.
    Rejected(String),
}

/// An input file (`-` is standard input).
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub path: OsString,
    /// The `-x` language in effect for it, if any (otherwise its extension decides).
    pub language: Option<OsString>,
    pub kind: InputKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InputKind {
    /// C source (`.c`), preprocessed C (`.i`), or `-x c` / `-x cpp-output`: compiled twice.
    C,
    /// A source language unimig cannot compile for both ISAs.
    Unsupported(Unsupported),
    /// Anything else: objects, archives, linker scripts; given to the link step.
    Linker,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Unsupported {
    Assembly,
    Cxx,
    ObjectiveC,
    Header,
    LlvmIr,
    Other(String),
}

impl Unsupported {
    pub fn message(&self) -> String {
        match self {
            Unsupported::Assembly => {
                "assembly sources are not supported (unimig must compile every function for both ISAs)".into()
            }
            Unsupported::Cxx => "C++ sources are not supported (unimig compiles C only)".into(),
            Unsupported::ObjectiveC => "Objective-C sources are not supported (unimig compiles C only)".into(),
            Unsupported::Header => {
                "precompiled headers are not supported (a PCH is specific to one ISA)".into()
            }
            Unsupported::LlvmIr => {
                "LLVM IR inputs are not supported (unimig compiles C source for both ISAs)".into()
            }
            Unsupported::Other(what) => format!("'{what}' inputs are not supported (unimig compiles C only)"),
        }
    }
}

impl Input {
    fn new(path: OsString, language: Option<OsString>) -> Input {
        let kind = match &language {
            Some(language) => kind_of_language(&language.to_string_lossy()),
            None if path == "-" => InputKind::C,
            None => kind_of_extension(&path),
        };
        Input {
            path,
            language,
            kind,
        }
    }

    pub fn is_stdin(&self) -> bool {
        self.path == "-"
    }

    /// The path as an argument for clang: one that starts with `-` (possible after `--`) is
    /// written `./-name` so clang cannot read it as an option.
    pub fn clang_path(&self) -> OsString {
        if !self.is_stdin() && self.path.as_bytes().starts_with(b"-") {
            let mut path = OsString::from("./");
            path.push(&self.path);
            path
        } else {
            self.path.clone()
        }
    }

    /// The arguments that make clang read this input as the user meant (`-x LANG path`).
    pub fn clang_args(&self) -> Vec<OsString> {
        let mut args = Vec::new();
        if let Some(language) = &self.language {
            args.push("-x".into());
            args.push(language.clone());
        }
        args.push(self.clang_path());
        args
    }

    /// The name clang derives outputs from: `dir/foo.c` -> `foo`, standard input -> `-`.
    pub fn stem(&self) -> OsString {
        let path = Path::new(&self.path);
        path.file_stem().unwrap_or(path.as_os_str()).to_os_string()
    }
}

fn kind_of_language(language: &str) -> InputKind {
    use Unsupported::*;
    InputKind::Unsupported(match language {
        "c" | "cpp-output" => return InputKind::C,
        "c-header" | "c-header-cpp-output" => Header,
        "assembler" | "assembler-with-cpp" => Assembly,
        "ir" => LlvmIr,
        l if l.starts_with("c++") => Cxx,
        l if l.starts_with("objective-c") => ObjectiveC,
        other => Other(other.to_string()),
    })
}

fn kind_of_extension(path: &OsStr) -> InputKind {
    use Unsupported::*;
    let extension = Path::new(path)
        .extension()
        .map(|e| e.to_string_lossy().into_owned());
    InputKind::Unsupported(match extension.as_deref().unwrap_or("") {
        "c" | "i" => return InputKind::C,
        "h" => Header,
        "s" | "S" | "sx" | "asm" => Assembly,
        "C" | "cc" | "cp" | "cpp" | "CPP" | "cxx" | "c++" | "ii" | "hh" | "hpp" | "hxx" | "H"
        | "hp" | "tcc" | "ixx" | "cppm" | "ccm" | "cxxm" | "c++m" => Cxx,
        "m" | "mi" | "M" | "mm" | "mii" => ObjectiveC,
        "ll" | "bc" => LlvmIr,
        ext @ ("cu" | "cuh" | "hip" | "cl" | "clcpp" | "f" | "for" | "f90" | "f95" | "f03"
        | "f08" | "F" | "F90") => Other(format!(".{ext}")),
        _ => return InputKind::Linker,
    })
}

impl Invocation {
    /// Classifies `argv` (without the program name, response files already expanded).
    pub fn parse(argv: Vec<OsString>) -> Result<Invocation> {
        let args = classify(argv)?;
        let mut invocation = Invocation {
            mode: Mode::Link,
            verbose: args.iter().any(|a| a.kind == Kind::Verbose),
            dry_run: args.iter().any(|a| a.kind == Kind::DryRun),
            args,
        };
        invocation.mode = invocation.decide_mode();
        invocation.enforce_policy()?;
        Ok(invocation)
    }

    fn has_mode_flag(&self, flag: ModeFlag) -> bool {
        self.args.iter().any(|a| a.kind == Kind::Mode(flag))
    }

    fn decide_mode(&self) -> Mode {
        let has_inputs = self.inputs().next().is_some();
        if self.args.iter().any(|a| a.kind == Kind::Query) || (self.verbose && !has_inputs) {
            Mode::Query
        } else if self.has_mode_flag(ModeFlag::Preprocess)
            || self.has_mode_flag(ModeFlag::DependenciesOnly)
        {
            Mode::Preprocess
        } else if self.has_mode_flag(ModeFlag::SyntaxOnly) {
            Mode::SyntaxOnly
        } else if self.has_mode_flag(ModeFlag::Assembly) {
            Mode::Assembly
        } else if self.has_mode_flag(ModeFlag::Object) {
            Mode::Object
        } else {
            Mode::Link
        }
    }

    /// The checks that depend on the mode. Queries are answered whatever else is on the line;
    /// every other mode refuses what cannot give identical results on both ISAs. The modes
    /// that generate code also refuse inputs that are not C.
    fn enforce_policy(&self) -> Result<()> {
        if self.mode == Mode::Query {
            return Ok(());
        }
        if let Some(message) = self.args.iter().find_map(|a| match &a.kind {
            Kind::Rejected(message) => Some(message),
            _ => None,
        }) {
            bail!("{message}");
        }
        crate::pipeline_flags::settings(self)?;
        if !matches!(self.mode, Mode::Assembly | Mode::Object | Mode::Link) {
            return Ok(());
        }
        for input in self.inputs() {
            if let InputKind::Unsupported(what) = &input.kind {
                bail!("{}: {}", input.path.to_string_lossy(), what.message());
            }
        }
        if self.mode == Mode::Assembly {
            return Ok(());
        }
        if self.args.iter().any(|a| a.kind == Kind::EmitLlvm) {
            bail!("'-emit-llvm' is only supported with -S: unimig objects must hold machine code for both ISAs");
        }
        if self.inputs().next().is_none() && !self.args.iter().any(|a| a.kind == Kind::LinkInput) {
            bail!("no input files");
        }
        if self.inputs().any(|i| i.is_stdin() && i.language.is_none()) {
            bail!("-E or -x required when input is from standard input");
        }
        if self.mode == Mode::Object && self.output().is_some() && self.c_inputs().count() > 1 {
            bail!("cannot specify -o when generating multiple output files");
        }
        Ok(())
    }

    pub fn inputs(&self) -> impl Iterator<Item = &Input> {
        self.args.iter().filter_map(|a| match &a.kind {
            Kind::Input(input) => Some(input),
            _ => None,
        })
    }

    /// The inputs that are compiled for both ISAs.
    pub fn c_inputs(&self) -> impl Iterator<Item = &Input> {
        self.inputs().filter(|i| i.kind == InputKind::C)
    }

    /// The `-o` value (the last one wins, as in clang).
    pub fn output(&self) -> Option<&OsStr> {
        self.args.iter().rev().find_map(|a| match &a.kind {
            Kind::Output(path) => Some(path.as_os_str()),
            _ => None,
        })
    }

    /// The user's flags for compiling C for `isa`, in command-line order: the same for both
    /// ISAs except the host-only ones. Dependency options are not included (see `deps`).
    pub fn compile_flags(&self, isa: Isa) -> Vec<OsString> {
        self.tokens_of(|kind| match kind {
            Kind::Compile | Kind::CompileAndLink => true,
            Kind::HostCompile => isa == Isa::HOST,
            _ => false,
        })
    }

    /// The dependency-file options, in command-line order.
    pub fn dependency_args(&self) -> impl Iterator<Item = (&DepFlag, &[OsString])> {
        self.args.iter().filter_map(|a| match &a.kind {
            Kind::Dependency(flag) => Some((flag, a.tokens.as_slice())),
            _ => None,
        })
    }

    /// The arguments for a single host clang run that does the whole job (modes other than
    /// `-c` and linking): everything the user wrote, minus what unimig drops.
    pub fn passthrough_args(&self) -> Vec<OsString> {
        if self.mode == Mode::Query {
            return self
                .args
                .iter()
                .filter(|a| a.kind != Kind::Unimig)
                .flat_map(|a| a.tokens.iter().cloned())
                .collect();
        }
        let mut out = Vec::new();
        for arg in &self.args {
            match &arg.kind {
                Kind::Dropped | Kind::Unimig | Kind::EndOfOptions => {}
                Kind::Input(input) => out.push(input.clang_path()),
                _ => out.extend(arg.tokens.iter().cloned()),
            }
        }
        out
    }

    fn tokens_of(&self, wanted: impl Fn(&Kind) -> bool) -> Vec<OsString> {
        self.args
            .iter()
            .filter(|a| wanted(&a.kind))
            .flat_map(|a| a.tokens.iter().cloned())
            .collect()
    }

    /// The options clang counts as linker inputs (`-lm`, `-Wl,...`), as written.
    pub fn linker_input_options(&self) -> impl Iterator<Item = &Arg> {
        self.args.iter().filter(|a| a.kind == Kind::LinkInput)
    }

    /// Whether the user silenced clang's unused-argument warnings.
    pub fn unused_argument_warnings_disabled(&self) -> bool {
        self.args.iter().any(|a| {
            a.kind == Kind::Compile
                && a.tokens
                    .iter()
                    .any(|t| t == "-w" || t == "-Wno-unused-command-line-argument")
        })
    }
}

/// Walks the command line: inputs (with the `-x` language in effect), options with their
/// values, and `--`, after which everything is an input.
fn classify(argv: Vec<OsString>) -> Result<Vec<Arg>> {
    let mut args = Vec::new();
    let mut language: Option<OsString> = None;
    let mut options_ended = false;
    let mut argv = argv.into_iter();
    while let Some(token) = argv.next() {
        let bytes = token.as_bytes();
        let arg = if options_ended || bytes == b"-" || !bytes.starts_with(b"-") {
            let input = Input::new(token.clone(), language.clone());
            Arg {
                tokens: vec![token],
                kind: Kind::Input(input),
            }
        } else if bytes == b"--" {
            options_ended = true;
            Arg {
                tokens: vec![token],
                kind: Kind::EndOfOptions,
            }
        } else {
            classify_option(token, &mut argv, &mut language)?
        };
        args.push(arg);
    }
    Ok(args)
}

/// Classifies the option `token`, taking its value from `rest` when it is separate, and
/// updating `language` for `-x`. Options the table does not know go to both compiles.
fn classify_option(
    token: OsString,
    rest: &mut impl Iterator<Item = OsString>,
    language: &mut Option<OsString>,
) -> Result<Arg> {
    let Some((spec, joined)) = options::lookup(token.as_bytes()) else {
        return Ok(Arg {
            tokens: vec![token],
            kind: Kind::Compile,
        });
    };
    let flag = token.to_string_lossy().into_owned();
    let mut tokens = vec![token.clone()];
    let value = if options::takes_next_argument(spec, joined) {
        let next = rest
            .next()
            .ok_or_else(|| anyhow!("argument to '{}' is missing (expected 1 value)", spec.name))?;
        tokens.push(next.clone());
        next
    } else {
        OsStr::from_bytes(joined.unwrap_or_default()).to_os_string()
    };
    let kind = match spec.role {
        Role::Compile => Kind::Compile,
        Role::HostCompile => Kind::HostCompile,
        Role::CompileAndLink => Kind::CompileAndLink,
        Role::Link => Kind::Link,
        Role::LinkInput => Kind::LinkInput,
        Role::Dependency(flag) => Kind::Dependency(flag),
        Role::Output => Kind::Output(value),
        Role::Language => {
            *language = (value != "none").then_some(value);
            Kind::Language
        }
        Role::Mode(flag) => Kind::Mode(flag),
        Role::Query => Kind::Query,
        Role::Verbose => Kind::Verbose,
        Role::DryRun => Kind::DryRun,
        Role::EmitLlvm => Kind::EmitLlvm,
        Role::Unimig => Kind::Unimig,
        Role::Dropped => Kind::Dropped,
        Role::Rejected(refusal) => Kind::Rejected(refusal.message(&flag)),
        Role::PreprocessorPassthrough => classify_wp(&value),
        Role::FrontendPassthrough => classify_xclang(&value),
    };
    Ok(Arg { tokens, kind })
}

/// `-Wp,a,b,...` hands its comma-separated parts to the preprocessor. Clang's driver reads
/// `-Wp,-MD,file` and `-Wp,-MMD,file` as `-MD -MF file`; any other `-M` option there is a
/// dependency option too. Everything else is an ordinary compile option.
fn classify_wp(value: &OsStr) -> Kind {
    let parts: Vec<&[u8]> = value.as_bytes().split(|&b| b == b',').collect();
    match parts.as_slice() {
        [b"-MD" | b"-MMD", _file] => Kind::Dependency(DepFlag::GenerateInto),
        [first, ..] if first.starts_with(b"-M") => Kind::Dependency(DepFlag::Other),
        _ => Kind::Compile,
    }
}

/// `-Xclang X` reaches the front end directly, so a target-selecting `-cc1` option there would
/// bypass the ISA policy.
fn classify_xclang(value: &OsStr) -> Kind {
    let value = value.to_string_lossy();
    if options::TARGET_SELECTING_CC1_OPTIONS.contains(&value.as_ref()) {
        Kind::Rejected(options::Refusal::IsaSpecific.message(&format!("-Xclang {value}")))
    } else {
        Kind::Compile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Invocation> {
        Invocation::parse(args.iter().map(OsString::from).collect())
    }

    fn ok(args: &[&str]) -> Invocation {
        parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn err(args: &[&str]) -> String {
        match parse(args) {
            Ok(inv) => panic!("{args:?} was accepted: {inv:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn strings(tokens: Vec<OsString>) -> Vec<String> {
        tokens
            .into_iter()
            .map(|t| t.into_string().unwrap())
            .collect()
    }

    fn input_paths(inv: &Invocation) -> Vec<String> {
        inv.inputs()
            .map(|i| i.path.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn modes_follow_clang_precedence() {
        assert_eq!(ok(&["--version"]).mode, Mode::Query);
        assert_eq!(ok(&["-v"]).mode, Mode::Query);
        assert_eq!(ok(&["-print-prog-name=ld"]).mode, Mode::Query);
        assert_eq!(ok(&["-dumpmachine", "-c", "a.c"]).mode, Mode::Query);
        assert_eq!(ok(&["-E", "-c", "a.c"]).mode, Mode::Preprocess);
        assert_eq!(ok(&["-M", "a.c"]).mode, Mode::Preprocess);
        assert_eq!(ok(&["-MM", "a.c"]).mode, Mode::Preprocess);
        assert_eq!(ok(&["-MD", "-c", "a.c"]).mode, Mode::Object);
        assert_eq!(ok(&["-fsyntax-only", "a.c"]).mode, Mode::SyntaxOnly);
        assert_eq!(ok(&["-S", "-c", "a.c"]).mode, Mode::Assembly);
        assert_eq!(ok(&["-c", "a.c"]).mode, Mode::Object);
        assert_eq!(ok(&["a.c", "-o", "app"]).mode, Mode::Link);
        let verbose = ok(&["-v", "-c", "a.c"]);
        assert_eq!((verbose.mode, verbose.verbose), (Mode::Object, true));
    }

    #[test]
    fn separate_and_joined_values() {
        let inv = ok(&[
            "-c",
            "-I",
            "inc",
            "-Iinc2",
            "-D",
            "X=1",
            "-DY",
            "-include",
            "cfg.h",
            "-o",
            "out.o",
            "-isystem",
            "sys",
            "-Xclang",
            "-fno-builtin",
            "-mllvm",
            "-x86-asm-syntax=intel",
            "src.c",
        ]);
        assert_eq!(input_paths(&inv), ["src.c"]);
        assert_eq!(inv.output(), Some(OsStr::new("out.o")));
        assert_eq!(
            strings(inv.compile_flags(Isa::Aarch64)),
            [
                "-I",
                "inc",
                "-Iinc2",
                "-D",
                "X=1",
                "-DY",
                "-include",
                "cfg.h",
                "-isystem",
                "sys",
                "-Xclang",
                "-fno-builtin",
                "-mllvm",
                "-x86-asm-syntax=intel"
            ]
        );
        let joined = ok(&["-c", "-ofoo.o", "-xc", "file.txt"]);
        assert_eq!(joined.output(), Some(OsStr::new("foo.o")));
        assert_eq!(joined.c_inputs().count(), 1);
    }

    #[test]
    fn a_value_that_looks_like_an_input_is_not_one() {
        // The values of -o, -MF, -x, -include are never inputs, even when they end in .c.
        let inv = ok(&[
            "-c", "-MD", "-MF", "x.c", "-include", "y.c", "-o", "z.c", "real.c",
        ]);
        assert_eq!(input_paths(&inv), ["real.c"]);
        assert_eq!(
            err(&["-c", "a.c", "-o"]),
            "argument to '-o' is missing (expected 1 value)"
        );
    }

    #[test]
    fn language_applies_to_the_inputs_after_it() {
        let inv = ok(&[
            "-c", "a.txt", "-x", "c", "b.txt", "-", "-x", "none", "c.txt", "d.c",
        ]);
        let kinds: Vec<_> = inv
            .inputs()
            .map(|i| (i.path.to_str().unwrap(), i.kind.clone()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("a.txt", InputKind::Linker),
                ("b.txt", InputKind::C),
                ("-", InputKind::C),
                ("c.txt", InputKind::Linker),
                ("d.c", InputKind::C)
            ]
        );
        let b = inv.inputs().nth(1).unwrap();
        assert_eq!(strings(b.clang_args()), ["-x", "c", "b.txt"]);
        assert!(err(&["-c", "-x", "c++", "a.c"]).contains("C++ sources are not supported"));
        // Preprocessing is host-only, so any language passes through to clang.
        assert_eq!(ok(&["-E", "-x", "c++", "a.c"]).mode, Mode::Preprocess);
    }

    #[test]
    fn output_with_multiple_objects_is_refused() {
        assert_eq!(
            err(&["-c", "a.c", "b.c", "-o", "x.o"]),
            "cannot specify -o when generating multiple output files"
        );
        // One C input plus an object: a single output, as in clang.
        ok(&["-c", "a.c", "b.o", "-o", "x.o"]);
        // Linking many sources into one output is fine.
        ok(&["a.c", "b.c", "-o", "app"]);
    }

    #[test]
    fn dependency_options_go_to_the_host_compile_only() {
        let inv = ok(&[
            "-c",
            "-MD",
            "-MF",
            "a.d",
            "-MTa.o",
            "-MP",
            "-Wp,-MMD,b.d",
            "-Wp,-DX",
            "-O2",
            "a.c",
        ]);
        let deps: Vec<_> = inv
            .dependency_args()
            .map(|(f, t)| (*f, strings(t.to_vec())))
            .collect();
        assert_eq!(
            deps,
            [
                (DepFlag::Generate, vec!["-MD".to_string()]),
                (DepFlag::File, vec!["-MF".into(), "a.d".into()]),
                (DepFlag::Target, vec!["-MTa.o".into()]),
                (DepFlag::Other, vec!["-MP".into()]),
                (DepFlag::GenerateInto, vec!["-Wp,-MMD,b.d".into()]),
            ]
        );
        assert_eq!(strings(inv.compile_flags(Isa::X86_64)), ["-Wp,-DX", "-O2"]);
        assert_eq!(strings(inv.compile_flags(Isa::Aarch64)), ["-Wp,-DX", "-O2"]);
    }

    #[test]
    fn host_only_and_link_flags_are_routed() {
        let inv = ok(&[
            "a.c",
            "-fcf-protection",
            "-pthread",
            "-lm",
            "-L",
            "lib",
            "-Wl,--gc-sections",
            "-s",
        ]);
        assert_eq!(
            strings(inv.compile_flags(Isa::X86_64)),
            ["-fcf-protection", "-pthread"]
        );
        assert_eq!(strings(inv.compile_flags(Isa::Aarch64)), ["-pthread"]);
    }

    #[test]
    fn pic_and_pie_are_dropped() {
        let inv = ok(&["-c", "-fPIC", "-fpie", "-DPIC", "a.c"]);
        assert_eq!(strings(inv.compile_flags(Isa::Aarch64)), ["-DPIC"]);
        let link = ok(&["a.o", "-pie", "-static-pie", "-fuse-ld=lld", "-o", "app"]);
        assert_eq!(strings(link.passthrough_args()), ["a.o", "-o", "app"]);
    }

    #[test]
    fn rejected_flags() {
        assert_eq!(
            err(&["-c", "-mavx2", "a.c"]),
            "'-mavx2' selects ISA-specific code generation; unimig compiles every file for x86_64 and \
             aarch64 with identical flags"
        );
        for flags in [
            &["-march=native"][..],
            &["-mtune=generic"],
            &["-m32"],
            &["-msse4.2"],
            &["-target", "aarch64-linux-gnu"],
            &["--target=x86_64-linux-gnu"],
            &["-arch", "arm64"],
            &["-Xclang", "-target-feature"],
            &["-Xarch_arm64", "-O2"],
        ] {
            let args: Vec<&str> = ["-c"]
                .iter()
                .chain(flags)
                .chain(&["a.c"])
                .copied()
                .collect();
            assert!(err(&args).contains("ISA-specific"), "{args:?}");
        }
        assert_eq!(
            err(&["a.o", "-shared"]),
            "-shared: unimig images are static; shared libraries are not supported"
        );
        assert!(err(&["-c", "-flto=thin", "a.c"]).contains("link-time optimisation"));
        assert!(err(&["-c", "-fsanitize=address", "a.c"]).contains("runtime"));
        assert!(err(&["--sysroot=/x", "a.c"]).contains("sysroot"));
        assert!(err(&["-c", "-emit-llvm", "a.c"]).contains("-emit-llvm"));
        assert!(err(&["-c", "start.S"]).contains("start.S: assembly sources are not supported"));
        assert!(err(&["x.cpp", "-o", "x"]).contains("C++"));
        // Queries are answered whatever else the command line says.
        assert_eq!(ok(&["-march=native", "--version"]).mode, Mode::Query);
        // ISA-neutral -m flags pass.
        ok(&["-c", "-mno-omit-leaf-frame-pointer", "-m64", "a.c"]);
        ok(&["-S", "-emit-llvm", "a.c"]);
    }

    #[test]
    fn inputs_are_required_where_unimig_compiles() {
        assert_eq!(err(&["-c"]), "no input files");
        assert_eq!(err(&["-O2"]), "no input files");
        // As in clang, linker options are inputs: `cc -Wl,--version` runs the linker.
        assert_eq!(ok(&["-Wl,--version"]).mode, Mode::Link);
        ok(&["-c", "-lm"]);
        assert_eq!(
            err(&["-c", "-"]),
            "-E or -x required when input is from standard input"
        );
        ok(&["-c", "-x", "c", "-"]);
        ok(&["-E", "-"]);
    }

    #[test]
    fn arguments_after_double_dash_are_inputs() {
        let inv = ok(&["-c", "--", "-weird.c"]);
        assert_eq!(input_paths(&inv), ["-weird.c"]);
        assert_eq!(
            strings(inv.c_inputs().next().unwrap().clang_args()),
            ["./-weird.c"]
        );
    }

    #[test]
    fn stems_name_outputs_like_clang() {
        let inv = ok(&["-c", "dir/foo.c", "-x", "c", "-", "noext"]);
        let stems: Vec<_> = inv
            .inputs()
            .map(|i| i.stem().into_string().unwrap())
            .collect();
        assert_eq!(stems, ["foo", "-", "noext"]);
    }
}
