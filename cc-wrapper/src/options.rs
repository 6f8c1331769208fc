//! The table of compiler options unimig-cc knows: how each takes its value and what unimig does
//! with it. This is the flag policy; the crate documentation (main.rs) explains it in prose.
//!
//! Matching follows clang's option parser: the longest option name that matches wins, so
//! `-MMD` is not `-M` + `MD`, `-iwithprefixbefore` is not `-iwithprefix`, and `-mllvm` is not an
//! ISA-specific `-m` flag. An option the table does not know is passed to both compiles
//! unchanged (that is how new warning and `-f` flags keep working).

/// How an option is followed by its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// A flag: the whole argument is the name (`-c`).
    None,
    /// The value is glued to the name (`-std=c99`, `-Wl,--gc-sections`).
    Joined,
    /// The value is the next argument (`-Xclang -ast-dump`).
    Separate,
    /// Either form (`-Ifoo` or `-I foo`).
    JoinedOrSeparate,
    /// Both: a glued part and the next argument (`-Xarch_arm64 -O2`).
    JoinedAndSeparate,
}

/// Which kind of output an option asks for (clang's "phase" options).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeFlag {
    /// `-E`
    Preprocess,
    /// `-M`, `-MM`: dependency list only, which implies `-E`.
    DependenciesOnly,
    /// `-fsyntax-only`
    SyntaxOnly,
    /// `-S`
    Assembly,
    /// `-c`
    Object,
}

/// The dependency-file options, which only the host compile gets so the `.d` file is written
/// once and names the real output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepFlag {
    /// `-MD`, `-MMD`: write a dependency file while compiling.
    Generate,
    /// `-Wp,-MD,file` (clang's driver reads it as `-MD -MF file`).
    GenerateInto,
    /// `-MF file`
    File,
    /// `-MT target`, `-MQ target`
    Target,
    /// `-MP`, `-MG`, `-MV`, `-MJ file`, other `-Wp,-M...`
    Other,
}

/// Why unimig refuses an option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    IsaSpecific,
    Shared,
    Lto,
    Sysroot,
    Runtime,
    SplitDwarf,
    PrecompiledHeader,
    LinkerChoice,
}

impl Refusal {
    /// The error message for `flag` (as the user wrote it).
    pub fn message(self, flag: &str) -> String {
        match self {
            Refusal::IsaSpecific => format!(
                "'{flag}' selects ISA-specific code generation; unimig compiles every file for x86_64 \
                 and aarch64 with identical flags"
            ),
            Refusal::Shared => format!("{flag}: unimig images are static; shared libraries are not supported"),
            Refusal::Lto => format!(
                "'{flag}': link-time optimisation is not supported; unimig objects must hold machine code \
                 for both ISAs"
            ),
            Refusal::Sysroot => {
                format!("'{flag}' is not supported: unimig compiles and links against its own musl sysroots")
            }
            Refusal::Runtime => format!(
                "'{flag}' needs a runtime library (sanitizer, profiling or OpenMP) that unimig's musl \
                 sysroots do not provide"
            ),
            Refusal::SplitDwarf => format!("'{flag}': split DWARF is not supported"),
            Refusal::PrecompiledHeader => {
                format!("'{flag}': precompiled headers are not supported (a PCH is specific to one ISA)")
            }
            Refusal::LinkerChoice => format!("'{flag}' is not supported: unimig always links with ld.unimig"),
        }
    }
}

/// What unimig does with an option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Given to both compiles (x86_64 and aarch64); not to the link step.
    Compile,
    /// Given to the host (x86_64) compile only.
    HostCompile,
    /// Given to both compiles and to the link step (`-pthread`, `-B`).
    CompileAndLink,
    /// Given to the link step only, in command-line order (`-L`, `-s`, `-static`).
    Link,
    /// Like `Link`, but clang counts it as an input (`-l`, `-Wl,`, `-Xlinker`, `-z`, `-e`):
    /// `cc -Wl,--version` runs the linker rather than failing with "no input files".
    LinkInput,
    /// Dependency-file options: host compile only.
    Dependency(DepFlag),
    /// `-o`
    Output,
    /// `-x`
    Language,
    /// `-c`, `-S`, `-E`, `-M`, `-MM`, `-fsyntax-only`
    Mode(ModeFlag),
    /// `--version`, `-print-*`, `-dumpmachine`, ...: answered by one host clang run.
    Query,
    /// `-v`
    Verbose,
    /// `-###`
    DryRun,
    /// `-emit-llvm`: fine with `-S` (host IR), refused where objects are made.
    EmitLlvm,
    /// `-Wp,...`: dependency options when it carries `-M...`, otherwise a compile option.
    PreprocessorPassthrough,
    /// `-Xclang X`: refused when X selects a target, otherwise a compile option.
    FrontendPassthrough,
    /// unimig's own options (`-funimig-points=`, ...): read by unimig-cc, never given to clang.
    Unimig,
    /// Accepted and ignored (see main.rs for why each one is safe).
    Dropped,
    /// Refused with a message.
    Rejected(Refusal),
}

/// One entry of the table.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub name: &'static str,
    pub value: Value,
    pub role: Role,
}

const fn spec(name: &'static str, value: Value, role: Role) -> Spec {
    Spec { name, value, role }
}

use DepFlag as D;
use ModeFlag as M;
use Refusal as R;
use Role::*;
use Value::{
    Joined as J, JoinedAndSeparate as JS, JoinedOrSeparate as JoS, None as N, Separate as S,
};

/// Every option unimig-cc classifies explicitly. Order does not matter (longest match wins).
pub const OPTIONS: &[Spec] = &[
    // Output kind and driver behaviour.
    spec("-c", N, Mode(M::Object)),
    spec("-S", N, Mode(M::Assembly)),
    spec("-E", N, Mode(M::Preprocess)),
    spec("-M", N, Mode(M::DependenciesOnly)),
    spec("-MM", N, Mode(M::DependenciesOnly)),
    spec("-fsyntax-only", N, Mode(M::SyntaxOnly)),
    spec("-o", JoS, Output),
    spec("-x", JoS, Language),
    spec("-v", N, Verbose),
    spec("-###", N, DryRun),
    spec("-emit-llvm", N, EmitLlvm),
    // Queries.
    spec("--version", N, Query),
    spec("-dumpmachine", N, Query),
    spec("-dumpversion", N, Query),
    spec("-print-", J, Query),
    spec("--print-", J, Query),
    spec("-help", N, Query),
    spec("--help", N, Query),
    spec("--help-hidden", N, Query),
    // Dependency files.
    spec("-MD", N, Dependency(D::Generate)),
    spec("-MMD", N, Dependency(D::Generate)),
    spec("-MF", JoS, Dependency(D::File)),
    spec("-MT", JoS, Dependency(D::Target)),
    spec("-MQ", JoS, Dependency(D::Target)),
    spec("-MP", N, Dependency(D::Other)),
    spec("-MG", N, Dependency(D::Other)),
    spec("-MV", N, Dependency(D::Other)),
    spec("-MJ", JoS, Dependency(D::Other)),
    spec("-Wp,", J, PreprocessorPassthrough),
    // Compile options whose value may be the next argument.
    spec("-I", JoS, Compile),
    spec("-D", JoS, Compile),
    spec("-U", JoS, Compile),
    spec("-A", JoS, Compile),
    spec("-F", JoS, Compile),
    spec("-include", JoS, Compile),
    spec("-imacros", JoS, Compile),
    spec("-isystem", JoS, Compile),
    spec("-isystem-after", JoS, Compile),
    spec("-cxx-isystem", JoS, Compile),
    spec("-idirafter", JoS, Compile),
    spec("-iquote", JoS, Compile),
    spec("-iprefix", JoS, Compile),
    spec("-iwithprefix", JoS, Compile),
    spec("-iwithprefixbefore", JoS, Compile),
    spec("-iframework", JoS, Compile),
    spec("-imultilib", JoS, Compile),
    spec("-ivfsoverlay", JoS, Compile),
    spec("-working-directory", JoS, Compile),
    spec("-Xclang", S, FrontendPassthrough),
    spec("-Xassembler", S, Compile),
    spec("-Xpreprocessor", S, Compile),
    spec("-Xanalyzer", S, Compile),
    spec("-Xflang", S, Compile),
    spec("-mllvm", S, Compile),
    spec("--param", S, Compile),
    spec("-aux-info", S, Compile),
    spec("-undef", N, Compile),
    // ISA-neutral -m flags (everything else under -m is refused below).
    spec("-momit-leaf-frame-pointer", N, Compile),
    spec("-mno-omit-leaf-frame-pointer", N, Compile),
    // Host compile only: the outputs would collide, or the feature exists on x86-64 only.
    spec("-save-temps", N, HostCompile),
    spec("-save-temps=", J, HostCompile),
    spec("-serialize-diagnostics", S, HostCompile),
    spec("--serialize-diagnostics", S, HostCompile),
    spec("-fcf-protection", N, HostCompile),
    spec("-fcf-protection=", J, HostCompile),
    // Link step.
    spec("-l", JoS, LinkInput),
    spec("-L", JoS, Link),
    spec("-Wl,", J, LinkInput),
    spec("-Xlinker", S, LinkInput),
    spec("--for-linker", S, LinkInput),
    spec("--for-linker=", J, LinkInput),
    spec("-u", JoS, Link),
    spec("-T", JoS, Link),
    spec("-Ttext", JoS, Link),
    spec("-Tdata", JoS, Link),
    spec("-Tbss", JoS, Link),
    spec("-z", JoS, LinkInput),
    spec("-e", S, LinkInput),
    spec("--entry=", J, Link),
    spec("-s", N, Link),
    spec("-r", N, Link),
    spec("-rdynamic", N, Link),
    spec("-static", N, Link),
    spec("-static-libgcc", N, Link),
    spec("-shared-libgcc", N, Link),
    spec("-nostdlib", N, Link),
    spec("-nostartfiles", N, Link),
    spec("-nodefaultlibs", N, Link),
    spec("-nolibc", N, Link),
    spec("-rtlib=", J, Link),
    spec("--rtlib=", J, Link),
    spec("--rtlib", S, Link),
    spec("-unwindlib=", J, Link),
    spec("--unwindlib=", J, Link),
    spec("-pthread", N, CompileAndLink),
    spec("-B", JoS, CompileAndLink),
    // unimig's own (pipeline_flags.rs checks the names and values).
    spec("-funimig-", J, Unimig),
    spec("-fno-unimig-", J, Unimig),
    // unimig's warning flags (compat.rs): clang would call them unknown.
    spec("-Wunimig", J, Unimig),
    spec("-Wno-unimig", J, Unimig),
    spec("-Werror=unimig", J, Unimig),
    spec("-Wno-error=unimig", J, Unimig),
    // Accepted and ignored.
    spec("-fPIC", N, Dropped),
    spec("-fpic", N, Dropped),
    spec("-fPIE", N, Dropped),
    spec("-fpie", N, Dropped),
    spec("-fno-PIC", N, Dropped),
    spec("-fno-pic", N, Dropped),
    spec("-fno-PIE", N, Dropped),
    spec("-fno-pie", N, Dropped),
    spec("-pie", N, Dropped),
    spec("-no-pie", N, Dropped),
    spec("-nopie", N, Dropped),
    spec("-static-pie", N, Dropped),
    spec("-m64", N, Dropped),
    spec("-fuse-ld=", J, Dropped),
    // Refused.
    spec("-m", J, Rejected(R::IsaSpecific)),
    spec("-arch", S, Rejected(R::IsaSpecific)),
    spec("-target", S, Rejected(R::IsaSpecific)),
    spec("--target=", J, Rejected(R::IsaSpecific)),
    spec("-Xarch_", JS, Rejected(R::IsaSpecific)),
    spec("-shared", N, Rejected(R::Shared)),
    spec("-flto", N, Rejected(R::Lto)),
    spec("-flto=", J, Rejected(R::Lto)),
    spec("-isysroot", JoS, Rejected(R::Sysroot)),
    spec("--sysroot", S, Rejected(R::Sysroot)),
    spec("--sysroot=", J, Rejected(R::Sysroot)),
    spec("-fsanitize=", J, Rejected(R::Runtime)),
    spec("-fopenmp", N, Rejected(R::Runtime)),
    spec("-fopenmp=", J, Rejected(R::Runtime)),
    spec("-fprofile-generate", N, Rejected(R::Runtime)),
    spec("-fprofile-generate=", J, Rejected(R::Runtime)),
    spec("-fprofile-instr-generate", N, Rejected(R::Runtime)),
    spec("-fprofile-instr-generate=", J, Rejected(R::Runtime)),
    spec("-fcs-profile-generate", N, Rejected(R::Runtime)),
    spec("-fcs-profile-generate=", J, Rejected(R::Runtime)),
    spec("-fprofile-arcs", N, Rejected(R::Runtime)),
    spec("--coverage", N, Rejected(R::Runtime)),
    spec("-pg", N, Rejected(R::Runtime)),
    spec("-gsplit-dwarf", N, Rejected(R::SplitDwarf)),
    spec("-gsplit-dwarf=", J, Rejected(R::SplitDwarf)),
    spec("-include-pch", S, Rejected(R::PrecompiledHeader)),
    spec("--ld-path=", J, Rejected(R::LinkerChoice)),
];

/// The option `arg` is, with the value glued to it (if its form has one), or `None` for an
/// option the table does not know.
pub fn lookup(arg: &[u8]) -> Option<(&'static Spec, Option<&[u8]>)> {
    OPTIONS
        .iter()
        .filter_map(|spec| {
            let name = spec.name.as_bytes();
            let rest = arg.strip_prefix(name)?;
            let joined = match spec.value {
                Value::None | Value::Separate if rest.is_empty() => None,
                Value::None | Value::Separate => return Option::None,
                Value::Joined | Value::JoinedAndSeparate => Some(rest),
                Value::JoinedOrSeparate if rest.is_empty() => None,
                Value::JoinedOrSeparate => Some(rest),
            };
            Some((spec, joined))
        })
        .max_by_key(|(spec, _)| spec.name.len())
}

/// Whether `spec`, written as `arg`, takes the next argument as its value.
pub fn takes_next_argument(spec: &Spec, joined: Option<&[u8]>) -> bool {
    match spec.value {
        Value::Separate | Value::JoinedAndSeparate => true,
        Value::JoinedOrSeparate => joined.is_none(),
        Value::None | Value::Joined => false,
    }
}

/// Target-selecting `-cc1` options that `-Xclang` could smuggle past the ISA policy.
pub const TARGET_SELECTING_CC1_OPTIONS: &[&str] = &[
    "-triple",
    "-target-cpu",
    "-target-feature",
    "-target-abi",
    "-tune-cpu",
    "-aux-triple",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn role(arg: &str) -> Option<Role> {
        lookup(arg.as_bytes()).map(|(spec, _)| spec.role)
    }

    #[test]
    fn longest_name_wins() {
        assert_eq!(role("-MMD"), Some(Dependency(D::Generate)));
        assert_eq!(role("-MM"), Some(Mode(M::DependenciesOnly)));
        assert_eq!(role("-MFdeps.d"), Some(Dependency(D::File)));
        assert_eq!(role("-mllvm"), Some(Compile));
        assert_eq!(role("-mavx2"), Some(Rejected(R::IsaSpecific)));
        assert_eq!(role("-m64"), Some(Dropped));
        assert_eq!(role("-undef"), Some(Compile));
        assert_eq!(role("-usym"), Some(Link));
        assert_eq!(role("-lm"), Some(LinkInput));
        assert_eq!(role("-include-pch"), Some(Rejected(R::PrecompiledHeader)));
        assert_eq!(role("-includeconfig.h"), Some(Compile));
        assert_eq!(role("-static-pie"), Some(Dropped));
        assert_eq!(role("-static"), Some(Link));
        assert_eq!(role("-funimig-points=all"), Some(Unimig));
        assert_eq!(role("-Wno-unimig-inline-asm"), Some(Unimig));
        assert_eq!(role("-Werror=unimig"), Some(Unimig));
        assert_eq!(role("-fno-unimig-stackmaps"), Some(Unimig));
    }

    #[test]
    fn flags_do_not_match_longer_arguments() {
        // `-c` is a flag, so `-cfoo` is not `-c`; `-e` is separate-only, so `-emit-ast` is unknown.
        assert_eq!(role("-cfoo"), None);
        assert_eq!(role("-emit-ast"), None);
        assert_eq!(role("-fno-lto"), None);
        assert_eq!(role("-flto-jobs=2"), None);
        assert_eq!(role("-O2"), None);
    }

    #[test]
    fn joined_values_are_split_off() {
        let (spec, value) = lookup(b"-Iinclude").unwrap();
        assert_eq!((spec.name, value), ("-I", Some(&b"include"[..])));
        assert!(!takes_next_argument(spec, value));
        let (spec, value) = lookup(b"-I").unwrap();
        assert!(takes_next_argument(spec, value));
        let (spec, value) = lookup(b"-Xarch_arm64").unwrap();
        assert_eq!(value, Some(&b"arm64"[..]));
        assert!(takes_next_argument(spec, value));
    }

    #[test]
    fn every_name_is_unique() {
        let mut names: Vec<_> = OPTIONS
            .iter()
            .map(|s| (s.name, s.value == Value::None))
            .collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }
}
