//! Pass 3: classify the inputs and derive each ISA's list of lld inputs.
//!
//! * A fat object (x86-64 relocatable with [`OBJECT_SECTION`]): the x86-64 link takes the file
//!   itself, the AArch64 link the object extracted from the section into the work directory.
//! * An archive: the x86-64 link takes it as is; the AArch64 link takes an archive derived from
//!   it in the work directory, one member per host member (same names, same order), each the
//!   AArch64 object from that member's section, built with `llvm-ar rcs`.
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
    let mut derived: HashMap<PathBuf, PathBuf> = HashMap::new();
    for (index, input) in plan.inputs.iter().enumerate() {
        match input {
            Input::Marker(m) => {
                out.x86_64.push(m.into());
                out.aarch64.push(m.into());
            }
            Input::Sysroot(name) => {
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
                let a64_path = match derived.get(&key) {
                    Some(p) => p.clone(),
                    None => {
                        let dir = work.join("aarch64").join(format!("in{index}"));
                        let p = derive(path, &dir, ar)
                            .context("preparing the aarch64-linux-musl inputs")?;
                        out.renames
                            .push((p.display().to_string(), path.display().to_string()));
                        derived.insert(key, p.clone());
                        p
                    }
                };
                out.x86_64.push(path.into());
                out.aarch64.push(a64_path.into());
            }
        }
    }
    // Longest first, so no work path is replaced inside a longer one.
    out.renames
        .sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    Ok(out)
}

/// Writes the AArch64 counterpart of user file `path` into `dir` and returns its path.
fn derive(path: &Path, dir: &Path, ar: &Path) -> Result<PathBuf> {
    let shown = path.display().to_string();
    let data = fs::read(path).map_err(|e| anyhow!("cannot open {shown}: {e}"))?;
    let base = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "input".into());
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let target = dir.join(&base);
    match file_kind(&data) {
        FileKind::Archive => derive_archive(&data, &shown, dir, &target, ar)?,
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
    Ok(target)
}

/// Builds the AArch64 archive `target` from host archive `data` (named `shown`).
fn derive_archive(data: &[u8], shown: &str, dir: &Path, target: &Path, ar: &Path) -> Result<()> {
    let archive =
        ArchiveFile::parse(data).map_err(|e| anyhow!("{shown}: malformed archive: {e}"))?;
    let mut members = Vec::new();
    for (k, member) in archive.members().enumerate() {
        let member = member.map_err(|e| anyhow!("{shown}: malformed archive: {e}"))?;
        let raw_name = String::from_utf8_lossy(member.name()).into_owned();
        let what = format!("{shown}({raw_name})");
        let bytes = member.data(data).map_err(|e| anyhow!("{what}: {e}"))?;
        let content = match file_kind(bytes) {
            FileKind::Elf | FileKind::Bitcode => aarch64_half(bytes, &what)?,
            // lld ignores members that are not objects unless asked to load them all; keep
            // them so both archives have the same members.
            _ => bytes,
        };
        // Same member name as in the host archive (the layout planner matches members by
        // name); one directory per member, so duplicate names stay distinct.
        let safe =
            !raw_name.is_empty() && raw_name != "." && raw_name != ".." && !raw_name.contains('/');
        let name = if safe {
            raw_name
        } else {
            format!("member{k}.o")
        };
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
            "{shown}: building its AArch64 archive with {} failed: {}",
            ar.display(),
            String::from_utf8_lossy(&result.stderr).trim()
        );
    }
    Ok(())
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
