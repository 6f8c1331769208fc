//! Pass 3: classify the inputs and derive each ISA's list of lld inputs.
//!
//! * A fat object (x86-64 relocatable with [`OBJECT_SECTION`]): the x86-64 link takes the file
//!   itself, the AArch64 link the object extracted from the section into the work directory.
//! * An archive: the x86-64 link takes it as is; the AArch64 link takes an archive derived from
//!   it in the work directory, one member per host member (same names, same order), each the
//!   AArch64 object from that member's section, built with `llvm-ar rcs`. The layout's linker
//!   scripts name archive members by name, so when member names repeat (`ar q` of two `x.o`)
//!   both links get work-directory archives with the repeats renamed (`x.o`, `x~2.o`).
//! * A sysroot file (`crt1.o`, `libc.a`, ...): each ISA's own sysroot copy.
//! * Anything else is refused, naming the file (and archive member): a plain x86-64 object was
//!   not compiled with unimig-cc; shared libraries, executables, bitcode (LTO) and linker
//!   scripts cannot be linked into an image.

use crate::substitute::{Input, Plan};
use anyhow::{anyhow, bail, Context, Result};
use object::elf;
use object::read::archive::ArchiveFile;
use object::read::elf::FileHeader;
use object::Endianness;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use unimig_common::fat::{embedded_section, OBJECT_SECTION};
use unimig_common::toolchain::{Sysroot, SETUP_HINT};

/// The lld inputs of both links, in command-line order.
#[derive(Debug, Default)]
pub struct Prepared {
    pub x86_64: Vec<OsString>,
    pub aarch64: Vec<OsString>,
    /// Work-directory paths of derived AArch64 inputs and the user's file each stands for, so
    /// lld's AArch64 diagnostics name the user's files.
    pub renames: Vec<(String, String)>,
    /// Each distinct input file once, in command-line order: what the layout planner calls an
    /// input (the same file for both ISAs, whatever path each link uses).
    pub files: Vec<PreparedFile>,
}

/// One input file as both links see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedFile {
    /// How the user named it (a sysroot file: its name, `libc.a`).
    pub shown: String,
    /// The path each link gets: [x86-64, AArch64] (lld prints and matches these).
    pub paths: [String; 2],
    pub archive: bool,
    /// From unimig's sysroots (libc, libgcc, start files) rather than the user.
    pub sysroot: bool,
}

impl Prepared {
    fn add_file(&mut self, file: PreparedFile) {
        if !self.files.iter().any(|f| f.paths[0] == file.paths[0]) {
            self.files.push(file);
        }
    }
}

fn is_archive(path: &Path) -> bool {
    let mut magic = [0u8; 8];
    fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && file_kind(&magic) == FileKind::Archive
}

/// What a file holds.
#[derive(Debug, PartialEq, Eq)]
enum FileKind {
    Elf,
    Archive,
    ThinArchive,
    Bitcode,
    Other,
}

fn file_kind(data: &[u8]) -> FileKind {
    if data.starts_with(b"\x7fELF") {
        FileKind::Elf
    } else if data.starts_with(b"!<arch>\n") {
        FileKind::Archive
    } else if data.starts_with(b"!<thin>\n") {
        FileKind::ThinArchive
    } else if data.starts_with(b"BC\xc0\xde") || data.starts_with(&[0xde, 0xc0, 0x17, 0x0b]) {
        FileKind::Bitcode
    } else {
        FileKind::Other
    }
}

/// Returns the AArch64 object inside fat object `data`, or explains why `data` is not one.
/// `name` is how the file is named in messages (`a.o`, `libx.a(b.o)`).
pub fn aarch64_half<'a>(data: &'a [u8], name: &str) -> Result<&'a [u8]> {
    match file_kind(data) {
        FileKind::Elf => {}
        FileKind::Bitcode => {
            bail!("{name}: LLVM bitcode: LTO is not supported by unimig (compile without -flto)")
        }
        _ => bail!("{name}: not an ELF object"),
    }
    let header = elf::FileHeader64::<Endianness>::parse(data)
        .map_err(|_| anyhow!("{name}: not a 64-bit ELF file; unimig links x86-64 fat objects"))?;
    let endian = header.endian().map_err(|e| anyhow!("{name}: {e}"))?;
    let machine = header.e_machine(endian);
    match header.e_type(endian) {
        elf::ET_REL => {}
        elf::ET_DYN => {
            bail!("{name}: a shared library: images are static; shared libraries are not supported")
        }
        elf::ET_EXEC => bail!("{name}: an executable, not an object file"),
        other => bail!("{name}: unexpected ELF file type {other}"),
    }
    if machine == elf::EM_AARCH64 {
        bail!("{name}: an AArch64 object, not a fat object; compile the source with unimig-cc");
    }
    if machine != elf::EM_X86_64 {
        bail!("{name}: an object for ELF machine {machine}, not x86-64; compile the source with unimig-cc");
    }
    let inner = embedded_section(data, OBJECT_SECTION)
        .with_context(|| name.to_string())?
        .ok_or_else(|| {
            anyhow!(
                "{name}: has no AArch64 half (no {OBJECT_SECTION} section): it was not compiled \
                 with unimig-cc; compile it with unimig-cc"
            )
        })?;
    let inner_ok = elf::FileHeader64::<Endianness>::parse(inner)
        .ok()
        .and_then(|h| h.endian().ok().map(|e| (h.e_machine(e), h.e_type(e))))
        == Some((elf::EM_AARCH64, elf::ET_REL));
    if !inner_ok {
        bail!("{name}: section {OBJECT_SECTION} does not hold an AArch64 relocatable object");
    }
    Ok(inner)
}

/// Whether `path` is a fat object (used to tell a user's own `crt1.o` from the system's).
pub fn is_fat_object(path: &Path) -> bool {
    fs::read(path).is_ok_and(|data| aarch64_half(&data, "").is_ok())
}

/// Runs pass 3: writes derived AArch64 inputs under `work` and returns both input lists.
pub fn prepare(
    plan: &Plan,
    x86: &Sysroot,
    a64: &Sysroot,
    ar: &Path,
    work: &Path,
) -> Result<Prepared> {
    let mut out = Prepared::default();
    let mut derived: HashMap<PathBuf, Derived> = HashMap::new();
    for (index, input) in plan.inputs.iter().enumerate() {
        match input {
            Input::Marker(m) => {
                out.x86_64.push(m.into());
                out.aarch64.push(m.into());
            }
            Input::Sysroot(name) => {
                out.add_file(PreparedFile {
                    shown: name.clone(),
                    paths: [x86.lib(name), a64.lib(name)].map(|p| p.display().to_string()),
                    archive: name.ends_with(".a"),
                    sysroot: true,
                });
                for (sysroot, list) in [(x86, &mut out.x86_64), (a64, &mut out.aarch64)] {
                    let path = sysroot.lib(name);
                    if !path.is_file() {
                        bail!(
                            "the {} sysroot has no {name} ({} not found); {SETUP_HINT}",
                            sysroot.isa.triple(),
                            path.display()
                        );
                    }
                    list.push(path.into());
                }
            }
            Input::File(path) => {
                let key = path.canonicalize().unwrap_or_else(|_| path.clone());
                let derived_paths = match derived.get(&key) {
                    Some(d) => d.clone(),
                    None => {
                        let dir = work.join("aarch64").join(format!("in{index}"));
                        let d = derive(path, &dir, ar)
                            .context("preparing the aarch64-linux-musl inputs")?;
                        for p in std::iter::once(&d.aarch64).chain(&d.host) {
                            out.renames
                                .push((p.display().to_string(), path.display().to_string()));
                        }
                        derived.insert(key, d.clone());
                        d
                    }
                };
                let host_path = derived_paths.host.clone().unwrap_or_else(|| path.clone());
                let a64_path = derived_paths.aarch64;
                out.add_file(PreparedFile {
                    shown: path.display().to_string(),
                    paths: [
                        host_path.display().to_string(),
                        a64_path.display().to_string(),
                    ],
                    archive: is_archive(&a64_path),
                    sysroot: false,
                });
                out.x86_64.push(host_path.into());
                out.aarch64.push(a64_path.into());
            }
        }
    }
    // Longest first, so no work path is replaced inside a longer one.
    out.renames
        .sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    Ok(out)
}

/// What pass 3 made of a user file in the work directory.
#[derive(Clone, Debug)]
struct Derived {
    /// The AArch64 counterpart.
    aarch64: PathBuf,
    /// A copy of a host archive whose member names repeat (or cannot be file names), with the
    /// members renamed as in the AArch64 archive: the layout's linker scripts name archive
    /// members by name, so each must be unique.
    host: Option<PathBuf>,
}

/// Writes the AArch64 counterpart of user file `path` into `dir` (and a host copy if needed).
fn derive(path: &Path, dir: &Path, ar: &Path) -> Result<Derived> {
    let shown = path.display().to_string();
    let data = fs::read(path).map_err(|e| anyhow!("cannot open {shown}: {e}"))?;
    let base = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "input".into());
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let target = dir.join(&base);
    let mut host = None;
    match file_kind(&data) {
        FileKind::Archive => {
            if derive_archive(&data, &shown, dir, &target, ar, false)? {
                let host_dir = dir.join("host");
                fs::create_dir_all(&host_dir)
                    .with_context(|| format!("creating {}", host_dir.display()))?;
                let host_target = host_dir.join(&base);
                derive_archive(&data, &shown, &host_dir, &host_target, ar, true)?;
                host = Some(host_target);
            }
        }
        FileKind::ThinArchive => {
            bail!("{shown}: thin archives are not supported; create it with `ar rcs` (no T)")
        }
        FileKind::Other => {
            let text = data
                .iter()
                .take(512)
                .all(|b| b.is_ascii() && (*b >= b' ' || b"\t\r\n\x0c".contains(b)));
            if text {
                bail!(
                    "{shown}: not an ELF object or archive (a linker script?); ld.unimig links only fat \
                     objects and archives made by unimig-cc"
                );
            }
            bail!("{shown}: unknown file type; ld.unimig links only fat objects and archives made by unimig-cc");
        }
        FileKind::Elf | FileKind::Bitcode => {
            let inner = aarch64_half(&data, &shown)?;
            fs::write(&target, inner).with_context(|| format!("writing {}", target.display()))?;
        }
    }
    Ok(Derived {
        aarch64: target,
        host,
    })
}

/// Member names for an archive's members: the host archive's, except that a repeated name
/// gets `~N` before its extension (`x.o`, `x~2.o`) and an unusable one becomes `memberK.o`.
fn member_names(raw: &[String]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    raw.iter()
        .enumerate()
        .map(|(k, name)| {
            let safe = !name.is_empty() && name != "." && name != ".." && !name.contains('/');
            let name = if safe {
                name.clone()
            } else {
                format!("member{k}.o")
            };
            let n = seen.entry(name.clone()).or_default();
            *n += 1;
            if *n == 1 {
                return name;
            }
            match name.rsplit_once('.') {
                Some((stem, ext)) if !stem.is_empty() => format!("{stem}~{n}.{ext}"),
                _ => format!("{name}~{n}"),
            }
        })
        .collect()
}

/// Builds archive `target` from host archive `data` (named `shown`): the AArch64 one, or with
/// `host` a copy of the host archive itself, members named by [`member_names`]. Returns
/// whether any name differs from the host archive's.
fn derive_archive(
    data: &[u8],
    shown: &str,
    dir: &Path,
    target: &Path,
    ar: &Path,
    host: bool,
) -> Result<bool> {
    let archive =
        ArchiveFile::parse(data).map_err(|e| anyhow!("{shown}: malformed archive: {e}"))?;
    let mut raw = Vec::new();
    let mut contents = Vec::new();
    for member in archive.members() {
        let member = member.map_err(|e| anyhow!("{shown}: malformed archive: {e}"))?;
        let raw_name = String::from_utf8_lossy(member.name()).into_owned();
        let what = format!("{shown}({raw_name})");
        let bytes = member.data(data).map_err(|e| anyhow!("{what}: {e}"))?;
        let content = match file_kind(bytes) {
            _ if host => bytes,
            FileKind::Elf | FileKind::Bitcode => aarch64_half(bytes, &what)?,
            // lld ignores members that are not objects unless asked to load them all; keep
            // them so both archives have the same members.
            _ => bytes,
        };
        raw.push(raw_name);
        contents.push(content);
    }
    let names = member_names(&raw);
    let renamed = names != raw;
    let mut members = Vec::new();
    for (k, (name, content)) in names.iter().zip(contents).enumerate() {
        // One directory per member (the names are unique, but stay safe).
        let member_dir = dir.join(format!("m{k}"));
        fs::create_dir_all(&member_dir)
            .with_context(|| format!("creating {}", member_dir.display()))?;
        let file = member_dir.join(name);
        fs::write(&file, content).with_context(|| format!("writing {}", file.display()))?;
        members.push(file);
    }
    // A response file keeps the command line short for archives with thousands of members.
    let rsp = dir.join("members.rsp");
    let list: Vec<String> = members.iter().map(|m| m.display().to_string()).collect();
    fs::write(&rsp, shell_words::join(&list))
        .with_context(|| format!("writing {}", rsp.display()))?;
    let result = Command::new(ar)
        .arg("rcs")
        .arg(target)
        .arg(format!("@{}", rsp.display()))
        .output()
        .with_context(|| format!("running {}", ar.display()))?;
    if !result.status.success() {
        bail!(
            "{shown}: building its {} archive with {} failed: {}",
            if host { "renamed host" } else { "AArch64" },
            ar.display(),
            String::from_utf8_lossy(&result.stderr).trim()
        );
    }
    Ok(renamed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(file_kind(b"\x7fELF\x02\x01"), FileKind::Elf);
        assert_eq!(file_kind(b"!<arch>\nxx"), FileKind::Archive);
        assert_eq!(file_kind(b"!<thin>\nxx"), FileKind::ThinArchive);
        assert_eq!(file_kind(b"BC\xc0\xde\x35"), FileKind::Bitcode);
        assert_eq!(
            file_kind(b"/* GNU ld script */\nGROUP ( libc.so.6 )"),
            FileKind::Other
        );
    }

    #[test]
    fn repeated_member_names_made_unique() {
        let raw: Vec<String> = ["x.o", "y.o", "x.o", "x.o", "", "a/b.o", "noext", "noext"]
            .map(String::from)
            .into();
        assert_eq!(
            member_names(&raw),
            [
                "x.o",
                "y.o",
                "x~2.o",
                "x~3.o",
                "member4.o",
                "member5.o",
                "noext",
                "noext~2"
            ]
        );
        let plain: Vec<String> = ["a.o", "b.o"].map(String::from).into();
        assert_eq!(member_names(&plain), plain);
    }

    #[test]
    fn non_objects_refused_by_name() {
        let err = aarch64_half(b"BC\xc0\xde\x35\x14", "x.o")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.o: LLVM bitcode"), "{err}");
        let err = aarch64_half(b"INPUT(-lfoo)", "libfoo.a")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("libfoo.a: not an ELF object"), "{err}");
    }
}
