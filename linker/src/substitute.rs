//! Pass 2: substitute unimig's system for the host's.
//!
//! clang describes a link against the host system (glibc or gcc-cross start files, `-L` paths
//! under /usr/lib, `-lgcc_s`, a dynamic linker). A unimig image is a static musl image for two
//! ISAs, so this pass turns the recognised argv into a [`Plan`]:
//!
//! * start files: `crt1.o`/`Scrt1.o`/`rcrt1.o` become the sysroot's `crt1.o`, `crti.o` and
//!   `crtn.o` the sysroot's, `crtbegin*.o`/`crtend*.o`/`crtfastmath.o` are dropped (musl's C
//!   start-up does not use them). No start files in the argv (`-nostartfiles`): none added.
//! * libraries: `-lc -lm -lpthread -ldl -lrt -lutil -lxnet -lresolv -lcrypt -lgcc` are the
//!   sysroot's (each ISA its own); `-lgcc_eh`/`-lgcc_s` are dropped; any other `-lfoo` is
//!   `libfoo.a` from a user `-L` directory (images are static).
//! * `-L` directories of the host system are dropped, the user's kept.
//! * dynamic-linking options are dropped; `-shared`, `.so` inputs, LTO plugins, linker scripts
//!   and partial links are refused.
//! * `-z relro`/`-z norelro`/`-z now`/`-z lazy` are dropped: the images are always linked
//!   `-z norelro` (see [`crate::lld`]).

use crate::args::Arg;
use anyhow::{anyhow, bail, Result};
use std::path::{Component, Path, PathBuf};

/// One input of the link, in command-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A user file, positional or found through `-l`: classified in pass 3.
    File(PathBuf),
    /// A file in each ISA's sysroot `lib/` directory (`crt1.o`, `libc.a`, ...).
    Sysroot(String),
    /// A position-sensitive lld option (`--start-group`, `--whole-archive`, ...).
    Marker(&'static str),
}

/// What both lld runs are asked to do, before the inputs are looked at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub output: PathBuf,
    pub inputs: Vec<Input>,
    /// Options both lld runs get, as argv words.
    pub options: Vec<String>,
    /// `-Map FILE`: the x86-64 map goes to FILE, the AArch64 one to `FILE.aarch64`.
    pub map: Option<PathBuf>,
    /// Options that were dropped, as written (recorded with `UNIMIG_KEEP_TEMPS`).
    pub dropped: Vec<String>,
}

/// What pass 2 needs to know about the machine.
pub struct System<'a> {
    /// `lib/` directories of unimig's sysroots: never searched as user directories.
    pub sysroot_lib_dirs: Vec<PathBuf>,
    /// Whether a file is a fat object (so a user's own `crt1.o` built by unimig-cc is kept).
    pub is_fat_object: &'a dyn Fn(&Path) -> bool,
}

/// Libraries every sysroot provides; `-lNAME` always means the sysroot's `libNAME.a`.
pub const SYSTEM_LIBS: &[&str] = &[
    "c", "m", "pthread", "dl", "rt", "util", "xnet", "resolv", "crypt", "gcc",
];
/// Host libraries with no counterpart in a static musl image.
const DROPPED_LIBS: &[&str] = &["gcc_eh", "gcc_s"];
/// Directories (and everything under them) that belong to the host system.
const SYSTEM_DIRS: &[&str] = &[
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/usr/aarch64-linux-gnu",
    "/usr/x86_64-linux-gnu",
    "/usr/aarch64-linux-musl",
    "/usr/x86_64-linux-musl",
];

/// What a start file becomes.
#[derive(Debug, PartialEq, Eq)]
enum StartFile {
    Sysroot(&'static str),
    Dropped,
}

/// Recognises the host's start files by name.
fn start_file(name: &str) -> Option<StartFile> {
    match name {
        "crt1.o" | "Scrt1.o" | "rcrt1.o" | "gcrt1.o" | "Mcrt1.o" => {
            Some(StartFile::Sysroot("crt1.o"))
        }
        "crti.o" => Some(StartFile::Sysroot("crti.o")),
        "crtn.o" => Some(StartFile::Sysroot("crtn.o")),
        _ if name.ends_with(".o")
            && (name.starts_with("crtbegin")
                || name.starts_with("crtend")
                || name.starts_with("crtfastmath")
                || name.starts_with("crtprec")
                || name.starts_with("clang_rt.crtbegin")
                || name.starts_with("clang_rt.crtend")) =>
        {
            Some(StartFile::Dropped)
        }
        _ => None,
    }
}

/// Removes `.` and `..` components without touching the file system (`/usr/lib/gcc/x/12/../../../../lib64`
/// is `/usr/lib64`).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

impl System<'_> {
    /// Whether `dir` belongs to the host system or to unimig's sysroots.
    pub fn is_system_dir(&self, dir: &Path) -> bool {
        let dir = normalize(dir);
        // `-L=/usr/lib` is relative to the (host) sysroot.
        dir.to_string_lossy().starts_with('=')
            || SYSTEM_DIRS.iter().any(|s| dir.starts_with(s))
            || self
                .sysroot_lib_dirs
                .iter()
                .any(|s| dir.starts_with(normalize(s)))
    }
}

/// Whether a file name names a shared library (`libfoo.so`, `libfoo.so.1.2`).
fn is_shared_library_name(name: &str) -> bool {
    name.ends_with(".so") || name.contains(".so.")
}

/// Runs pass 2.
pub fn plan(args: &[Arg], system: &System) -> Result<Plan> {
    let mut plan = Plan {
        output: PathBuf::from("a.out"),
        ..Plan::default()
    };

    if let Some((text, reason)) = args.iter().find_map(|a| match a {
        Arg::Reject { text, reason } => Some((text, reason)),
        _ => None,
    }) {
        bail!("{text}: {reason}");
    }

    let (mut user_dirs, mut system_dirs) = (Vec::new(), Vec::new());
    for arg in args {
        if let Arg::LibDir(dir) = arg {
            let dir = PathBuf::from(dir);
            if system.is_system_dir(&dir) {
                plan.dropped.push(format!("-L{}", dir.display()));
                system_dirs.push(dir);
            } else {
                user_dirs.push(dir);
            }
        }
    }

    for arg in args {
        match arg {
            Arg::Input(path) => {
                if let Some(input) = substitute_file(Path::new(path), system, &mut plan.dropped)? {
                    plan.inputs.push(input);
                }
            }
            Arg::Lib(name) => {
                if let Some(input) = resolve_library(name, &user_dirs, &system_dirs)? {
                    plan.inputs.push(input);
                } else {
                    plan.dropped.push(format!("-l{name}"));
                }
            }
            Arg::Marker(marker) => match marker.lld_spelling() {
                Some(spelling) => plan.inputs.push(Input::Marker(spelling)),
                None => plan.dropped.push(format!("{marker:?}")),
            },
            Arg::Output(path) => plan.output = PathBuf::from(path),
            Arg::Map(path) => plan.map = Some(PathBuf::from(path)),
            Arg::Emulation(emulation) => check_emulation(emulation)?,
            Arg::Pass(words) => plan.options.extend(words.iter().cloned()),
            Arg::Z(keyword) => match keyword.as_str() {
                "relro" | "norelro" | "now" | "lazy" => plan.dropped.push(format!("-z {keyword}")),
                // Renames .text.hot/.text.unlikely output sections: the layout has one .text.
                "keep-text-section-prefix" | "nokeep-text-section-prefix" => {
                    plan.dropped.push(format!("-z {keyword}"))
                }
                _ => plan.options.extend(["-z".to_string(), keyword.clone()]),
            },
            Arg::Drop(text) => plan.dropped.push(text.clone()),
            Arg::LibDir(_) | Arg::Version | Arg::VersionThenLink | Arg::Help => {}
            Arg::Reject { .. } => unreachable!("handled above"),
        }
    }
    if !plan.inputs.iter().any(|i| matches!(i, Input::File(_))) {
        bail!("no input files");
    }
    link_runtime(&mut plan);
    Ok(plan)
}

/// The unimig runtime's archive in each sysroot (sysroots/runtime).
pub const RUNTIME_ARCHIVE: &str = "libunimig_rt.a";
/// A symbol only the runtime defines: `-u` on it pulls the runtime in first, so a libc object it
/// replaces (TLS set-up, malloc, mmap) that came in anyway is a duplicate-symbol error instead of
/// silently winning.
const RUNTIME_ANCHOR: &str = "unimig_rt_version";

/// Every image that links libc also links the unimig runtime, which places TLS, the heap and
/// anonymous mappings at fixed addresses identical on both ISAs. It must come before libc.a:
/// lld resolves a symbol to the first archive that defines it, and the runtime replaces musl's
/// `__init_tls`, malloc and mmap families.
fn link_runtime(plan: &mut Plan) {
    let libc = Input::Sysroot("libc.a".to_string());
    if let Some(at) = plan.inputs.iter().position(|i| *i == libc) {
        plan.inputs
            .insert(at, Input::Sysroot(RUNTIME_ARCHIVE.to_string()));
        plan.options
            .extend(["-u".to_string(), RUNTIME_ANCHOR.to_string()]);
    }
}

/// `-m EMULATION`: the host image is x86-64; anything else means clang targeted another ISA.
fn check_emulation(emulation: &str) -> Result<()> {
    match emulation {
        "elf_x86_64" | "aarch64linux" | "aarch64elf" => Ok(()),
        other => bail!(
            "-m {other}: unsupported emulation; unimig links x86-64 + AArch64 images \
             (use --target=x86_64-linux-musl or unimig-cc)"
        ),
    }
}

/// A positional input: start files and system libraries by name, `.so` refused, the rest kept.
fn substitute_file(
    path: &Path,
    system: &System,
    dropped: &mut Vec<String>,
) -> Result<Option<Input>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(start) = start_file(&name) {
        if !(system.is_fat_object)(path) {
            return Ok(match start {
                StartFile::Sysroot(file) => Some(Input::Sysroot(file.to_string())),
                StartFile::Dropped => {
                    dropped.push(path.display().to_string());
                    None
                }
            });
        }
    }
    if is_shared_library_name(&name) {
        bail!(
            "{}: {}",
            path.display(),
            "images are static; shared libraries are not supported"
        );
    }
    // compiler-rt's builtins stand in for libgcc (clang --rtlib=compiler-rt).
    if name.starts_with("libclang_rt.builtins") && name.ends_with(".a") {
        return Ok(Some(Input::Sysroot("libgcc.a".to_string())));
    }
    let in_system_dir = path.parent().is_some_and(|dir| system.is_system_dir(dir));
    if in_system_dir {
        if let Some(lib) = name.strip_prefix("lib").and_then(|n| n.strip_suffix(".a")) {
            if DROPPED_LIBS.contains(&lib) {
                dropped.push(path.display().to_string());
                return Ok(None);
            }
            if SYSTEM_LIBS.contains(&lib) {
                return Ok(Some(Input::Sysroot(name)));
            }
        }
    }
    Ok(Some(Input::File(path.to_path_buf())))
}

/// `-lNAME` / `-l:FILE`: a sysroot library, dropped, or `libNAME.a` in a user directory.
fn resolve_library(
    name: &str,
    user_dirs: &[PathBuf],
    system_dirs: &[PathBuf],
) -> Result<Option<Input>> {
    let file = match name.strip_prefix(':') {
        Some(verbatim) => verbatim.to_string(),
        None => format!("lib{name}.a"),
    };
    if let Some(lib) = file.strip_prefix("lib").and_then(|n| n.strip_suffix(".a")) {
        if SYSTEM_LIBS.contains(&lib) {
            return Ok(Some(Input::Sysroot(file)));
        }
        if DROPPED_LIBS.contains(&lib) {
            return Ok(None);
        }
    }
    if name.starts_with(':') && is_shared_library_name(&file) {
        bail!("-l{name}: images are static; shared libraries are not supported");
    }
    if let Some(found) = user_dirs
        .iter()
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
    {
        return Ok(Some(Input::File(found)));
    }
    // Not found: explain the likely reason.
    let why = |detail: String| Err(anyhow!("unable to find library -l{name}: {detail}"));
    if !name.starts_with(':') {
        let so = format!("lib{name}.so");
        if let Some(found) = user_dirs.iter().map(|d| d.join(&so)).find(|p| p.exists()) {
            return why(format!(
                "only the shared library {} exists; images are static: build lib{name}.a with unimig-cc",
                found.display()
            ));
        }
    }
    if let Some(found) = system_dirs
        .iter()
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
    {
        return why(format!(
            "{} is the host system's copy, not built with unimig-cc; build the library with \
             unimig-cc and pass its directory with -L",
            normalize(&found).display()
        ));
    }
    let searched: Vec<String> = user_dirs.iter().map(|d| d.display().to_string()).collect();
    why(if searched.is_empty() {
        format!("no -L directory to search for {file}")
    } else {
        format!("searched for {file} in {}", searched.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args;
    use std::fs;

    const SYSROOT: &str = "/opt/unimig/lib/unimig/sysroots/x86_64-linux-musl/lib";

    fn plan_for(argv: &str) -> Result<Plan> {
        let words = shell_words::split(argv).unwrap();
        let args = args::parse(&words)?;
        let system = System {
            sysroot_lib_dirs: vec![PathBuf::from(SYSROOT)],
            is_fat_object: &|_| false,
        };
        plan(&args, &system)
    }

    fn sys(name: &str) -> Input {
        Input::Sysroot(name.to_string())
    }
    fn file(path: &str) -> Input {
        Input::File(PathBuf::from(path))
    }
    fn marker(m: &'static str) -> Input {
        Input::Marker(m)
    }

    /// `clang-19 -### -fuse-ld=lld -static a.o -o app` (default x86_64-linux-gnu target).
    const GNU_STATIC: &str = r#""--hash-style=gnu" "--build-id" "--eh-frame-hdr" "-m" "elf_x86_64" "-static" "-o" "app" "/lib/x86_64-linux-gnu/crt1.o" "/lib/x86_64-linux-gnu/crti.o" "/usr/lib/gcc/x86_64-linux-gnu/12/crtbeginT.o" "-L/usr/lib/gcc/x86_64-linux-gnu/12" "-L/usr/lib/gcc/x86_64-linux-gnu/12/../../../../lib64" "-L/lib/x86_64-linux-gnu" "-L/lib/../lib64" "-L/usr/lib/x86_64-linux-gnu" "-L/usr/lib/../lib64" "-L/lib" "-L/usr/lib" "a.o" "--start-group" "-lgcc" "-lgcc_eh" "-lc" "--end-group" "/usr/lib/gcc/x86_64-linux-gnu/12/crtend.o" "/lib/x86_64-linux-gnu/crtn.o""#;

    /// `clang-19 -### -fuse-ld=lld a.o -o app` (dynamic PIE by default).
    const GNU_DYNAMIC: &str = r#""--hash-style=gnu" "--build-id" "--eh-frame-hdr" "-m" "elf_x86_64" "-pie" "-dynamic-linker" "/lib64/ld-linux-x86-64.so.2" "-o" "app" "/lib/x86_64-linux-gnu/Scrt1.o" "/lib/x86_64-linux-gnu/crti.o" "/usr/lib/gcc/x86_64-linux-gnu/12/crtbeginS.o" "-L/usr/lib/gcc/x86_64-linux-gnu/12" "-L/usr/lib/gcc/x86_64-linux-gnu/12/../../../../lib64" "-L/lib/x86_64-linux-gnu" "-L/lib/../lib64" "-L/usr/lib/x86_64-linux-gnu" "-L/usr/lib/../lib64" "-L/lib" "-L/usr/lib" "a.o" "-lgcc" "--as-needed" "-lgcc_s" "--no-as-needed" "-lc" "-lgcc" "--as-needed" "-lgcc_s" "--no-as-needed" "/usr/lib/gcc/x86_64-linux-gnu/12/crtendS.o" "/lib/x86_64-linux-gnu/crtn.o""#;

    #[test]
    fn clang_gnu_static_argv() {
        let plan = plan_for(GNU_STATIC).unwrap();
        assert_eq!(plan.output, PathBuf::from("app"));
        assert_eq!(
            plan.inputs,
            vec![
                sys("crt1.o"),
                sys("crti.o"),
                file("a.o"),
                marker("--start-group"),
                sys("libgcc.a"),
                sys("libunimig_rt.a"),
                sys("libc.a"),
                marker("--end-group"),
                sys("crtn.o"),
            ]
        );
        assert_eq!(
            plan.options,
            vec!["--build-id", "--eh-frame-hdr", "-u", "unimig_rt_version"]
        );
        assert!(plan.dropped.iter().any(|d| d.contains("hash-style")));
        assert!(plan.dropped.iter().any(|d| d.contains("crtbeginT.o")));
        assert!(plan.dropped.iter().any(|d| d == "-L/usr/lib"));
    }

    #[test]
    fn clang_gnu_dynamic_argv_becomes_static() {
        let plan = plan_for(GNU_DYNAMIC).unwrap();
        assert_eq!(
            plan.inputs,
            vec![
                sys("crt1.o"),
                sys("crti.o"),
                file("a.o"),
                sys("libgcc.a"),
                sys("libunimig_rt.a"),
                sys("libc.a"),
                sys("libgcc.a"),
                sys("crtn.o")
            ]
        );
        assert!(plan
            .dropped
            .iter()
            .any(|d| d.contains("ld-linux-x86-64.so.2")));
        assert!(plan.dropped.iter().any(|d| d == "-pie"));
    }

    /// `clang-19 --target=x86_64-linux-musl -### -static a.o -o app -lm -L/foo`: the musl target
    /// on Debian still names the glibc start files, which are substituted all the same.
    #[test]
    fn clang_musl_target_argv_with_user_library() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("libfoo.a"), b"!<arch>\n").unwrap();
        let d = dir.path().display();
        let argv = format!(
            r#""--hash-style=gnu" "--build-id" "--eh-frame-hdr" "-m" "elf_x86_64" "-static" "-o" "app" "/lib/x86_64-linux-gnu/crt1.o" "/lib/x86_64-linux-gnu/crti.o" "/usr/lib/gcc/x86_64-linux-gnu/12/crtbeginT.o" "-L{d}" "-L/usr/lib/gcc/x86_64-linux-gnu/12" "-L/lib/x86_64-linux-gnu" "-L/usr/lib" "-L/usr/local/lib" "a.o" "-lfoo" "-lm" "-lpthread" "--start-group" "-lgcc" "-lgcc_eh" "-lc" "--end-group" "/usr/lib/gcc/x86_64-linux-gnu/12/crtend.o" "/lib/x86_64-linux-gnu/crtn.o""#
        );
        let plan = plan_for(&argv).unwrap();
        assert_eq!(
            plan.inputs,
            vec![
                sys("crt1.o"),
                sys("crti.o"),
                file("a.o"),
                Input::File(dir.path().join("libfoo.a")),
                sys("libm.a"),
                sys("libpthread.a"),
                marker("--start-group"),
                sys("libgcc.a"),
                sys("libunimig_rt.a"),
                sys("libc.a"),
                marker("--end-group"),
                sys("crtn.o"),
            ]
        );
        // /usr/local/lib is a user directory: kept (not in `dropped`).
        assert!(!plan.dropped.iter().any(|d| d.contains("/usr/local/lib")));
    }

    #[test]
    fn no_start_files_means_none_added() {
        let plan = plan_for(
            "-m elf_x86_64 -static -o app -L/usr/lib a.o --start-group -lgcc -lc --end-group",
        )
        .unwrap();
        assert_eq!(
            plan.inputs,
            vec![
                file("a.o"),
                marker("--start-group"),
                sys("libgcc.a"),
                sys("libunimig_rt.a"),
                sys("libc.a"),
                marker("--end-group")
            ]
        );
    }

    #[test]
    fn library_dirs_filtered() {
        let system = System {
            sysroot_lib_dirs: vec![PathBuf::from(SYSROOT)],
            is_fat_object: &|_| false,
        };
        for dir in [
            "/usr/lib",
            "/lib/x86_64-linux-gnu",
            "/usr/lib/gcc/x86_64-linux-gnu/12/../../../../lib64",
            "/usr/lib/gcc-cross/aarch64-linux-gnu/12",
            "/usr/aarch64-linux-gnu/lib",
            "/usr/lib/llvm-19/lib/clang/19/lib/linux",
            SYSROOT,
            "=/usr/lib",
        ] {
            assert!(
                system.is_system_dir(Path::new(dir)),
                "{dir} should be a system dir"
            );
        }
        for dir in [
            "/usr/local/lib",
            "/home/u/lib",
            "libs",
            "../build/.libs",
            "/usr/libfoo",
        ] {
            assert!(
                !system.is_system_dir(Path::new(dir)),
                "{dir} should be a user dir"
            );
        }
    }

    #[test]
    fn library_resolution() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        fs::write(b.join("libx.a"), b"").unwrap();
        fs::write(a.join("libx.a"), b"").unwrap();
        fs::write(a.join("liby.so"), b"").unwrap();
        let dirs = vec![a.clone(), b.clone()];
        // First directory wins.
        assert_eq!(
            resolve_library("x", &dirs, &[]).unwrap(),
            Some(Input::File(a.join("libx.a")))
        );
        assert_eq!(
            resolve_library(":libx.a", &dirs[1..], &[]).unwrap(),
            Some(Input::File(b.join("libx.a")))
        );
        // System libraries always come from the sysroot, even if a user directory has one.
        fs::write(a.join("libm.a"), b"").unwrap();
        assert_eq!(
            resolve_library("m", &dirs, &[]).unwrap(),
            Some(sys("libm.a"))
        );
        assert_eq!(resolve_library("gcc_s", &dirs, &[]).unwrap(), None);
        assert_eq!(resolve_library("gcc_eh", &dirs, &[]).unwrap(), None);
        // Only a .so: a static image cannot use it.
        let err = format!("{:#}", resolve_library("y", &dirs, &[]).unwrap_err());
        assert!(
            err.contains("unable to find library -ly") && err.contains("liby.so"),
            "{err}"
        );
        let err = format!("{:#}", resolve_library(":liby.so", &dirs, &[]).unwrap_err());
        assert!(err.contains("shared libraries are not supported"), "{err}");
        // Found only in a host system directory.
        let err = format!(
            "{:#}",
            resolve_library("x", &[], std::slice::from_ref(&b)).unwrap_err()
        );
        assert!(err.contains("host system's copy"), "{err}");
        let err = format!("{:#}", resolve_library("nothere", &dirs, &[]).unwrap_err());
        assert!(err.contains("unable to find library -lnothere"), "{err}");
    }

    #[test]
    fn refusals() {
        let err = plan_for("-shared a.o -o liba.so").unwrap_err().to_string();
        assert!(
            err.contains("-shared")
                && err.contains("images are static; shared libraries are not supported"),
            "{err}"
        );
        let err = plan_for("a.o /usr/lib/x86_64-linux-gnu/libz.so -o app")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("libz.so") && err.contains("shared libraries are not supported"),
            "{err}"
        );
        let err = plan_for("a.o libfoo.so.1 -o app").unwrap_err().to_string();
        assert!(err.contains("libfoo.so.1"), "{err}");
        let err = plan_for("-plugin /usr/lib/LLVMgold.so a.o")
            .unwrap_err()
            .to_string();
        assert!(err.contains("LTO"), "{err}");
        let err = plan_for("-plugin-opt=mcpu=x86-64 a.o")
            .unwrap_err()
            .to_string();
        assert!(err.contains("LTO"), "{err}");
        let err = plan_for("-m elf_i386 a.o").unwrap_err().to_string();
        assert!(err.contains("elf_i386"), "{err}");
        assert!(plan_for("-o app")
            .unwrap_err()
            .to_string()
            .contains("no input files"));
        assert!(plan_for("-r a.o -o b.o").is_err());
    }

    #[test]
    fn options_passed_and_dropped() {
        let plan =
            plan_for("a.o -e start -u extra --defsym=x=1 -z relro -z now -z noexecstack -Map app.map -s --wrap=malloc")
                .unwrap();
        assert_eq!(
            plan.options,
            vec![
                "-e",
                "start",
                "-u",
                "extra",
                "--defsym=x=1",
                "-z",
                "noexecstack",
                "-s",
                "--wrap=malloc"
            ]
        );
        assert_eq!(plan.map, Some(PathBuf::from("app.map")));
        assert_eq!(plan.output, PathBuf::from("a.out"));
    }

    #[test]
    fn whole_archive_and_system_paths() {
        let plan = plan_for(
            "--whole-archive x.a --no-whole-archive -Bstatic y.a /usr/lib/x86_64-linux-gnu/libc.a \
             /usr/lib/llvm-19/lib/clang/19/lib/linux/libclang_rt.builtins-x86_64.a \
             /opt/unimig/lib/unimig/sysroots/x86_64-linux-musl/lib/libm.a",
        )
        .unwrap();
        assert_eq!(
            plan.inputs,
            vec![
                marker("--whole-archive"),
                file("x.a"),
                marker("--no-whole-archive"),
                file("y.a"),
                sys("libunimig_rt.a"),
                sys("libc.a"),
                sys("libgcc.a"),
                sys("libm.a"),
            ]
        );
    }

    #[test]
    fn users_own_fat_start_file_is_kept() {
        let args = args::parse(&["crt1.o".to_string(), "a.o".to_string()]).unwrap();
        let system = System {
            sysroot_lib_dirs: vec![],
            is_fat_object: &|p: &Path| p == Path::new("crt1.o"),
        };
        assert_eq!(
            plan(&args, &system).unwrap().inputs,
            vec![file("crt1.o"), file("a.o")]
        );
    }

    #[test]
    fn normalize_paths() {
        assert_eq!(
            normalize(Path::new(
                "/usr/lib/gcc/x86_64-linux-gnu/12/../../../../lib64"
            )),
            PathBuf::from("/usr/lib64")
        );
        assert_eq!(
            normalize(Path::new("/lib/../lib64")),
            PathBuf::from("/lib64")
        );
        assert_eq!(normalize(Path::new("../a/./b")), PathBuf::from("../a/b"));
    }
}
