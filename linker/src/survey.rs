//! Pass 5: what the probe links kept, per ISA.
//!
//! The probe links ([`crate::lld::Kind::Probe`]) are ordinary links of each ISA with the same
//! inputs, options and section garbage collection as the final ones, plus `-O0` (so lld keeps
//! every string-literal section as its own input section) and `-Map`. lld's map lists every
//! input section that survived, in output order, as
//!
//! ```text
//!              VMA              LMA     Size Align Out     In      Symbol
//!           2001f0           2001f0      e60    16 .rodata
//!           2001f0           2001f0       c8     1         a.o:(.rodata.str1.1)
//!           202aa2           202aa2       93     1         /s/libc.a(printf.o):(.text.printf)
//!           202aa2           202aa2       93     1                 printf
//! ```
//!
//! (output sections at column 0 of the last field, input sections at 8, their symbols at 16).
//! This pass reads it into [`LiveSection`]s, naming each input section by [`InputId`] — the
//! input file as the *user* gave it (so an AArch64 object extracted into the work directory
//! and its fat original are the same input) and the archive member — and completes each with
//! what only the input file knows, read with `object`: ELF type and flags, whether relocations
//! apply to it, and a hash of its bytes.

use crate::inputs::PreparedFile;
use anyhow::{anyhow, bail, Context, Result};
use object::read::archive::ArchiveFile;
use object::read::elf::ElfFile64;
use object::{Endianness, Object, ObjectSection, SectionFlags};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// An input of both links: a file of [`crate::inputs::Prepared::files`] and, for an archive,
/// the member.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InputId {
    pub file: usize,
    pub member: Option<String>,
}

/// An input section that survived a probe link.
#[derive(Clone, Debug, Default)]
pub struct LiveSection {
    /// `None` for lld's own sections (`<internal>`).
    pub input: Option<InputId>,
    pub name: String,
    /// The output section lld put it in (`.text`, `.rodata`, `.eh_frame`, ...).
    pub out: String,
    pub addr: u64,
    pub size: u64,
    pub align: u64,
    /// Symbols defined in it, with their offsets, in map order.
    pub symbols: Vec<(String, u64)>,
    /// How many live sections of the same input have the same name (lld's file patterns
    /// cannot tell them apart).
    pub same_name: usize,
    /// From the input file: `sh_type`, `sh_flags`, relocations, contents.
    pub sh_type: u32,
    pub flags: u64,
    pub relocated: bool,
    pub hash: Option<u64>,
}

impl LiveSection {
    pub fn has_flag(&self, flag: u32) -> bool {
        self.flags & u64::from(flag) != 0
    }
}

/// The lld file names of one ISA's link, mapped back to [`PreparedFile`] indices.
pub struct FileNames {
    by_path: HashMap<String, usize>,
    archives: Vec<bool>,
}

impl FileNames {
    pub fn new(files: &[PreparedFile], isa_index: usize) -> FileNames {
        FileNames {
            by_path: files
                .iter()
                .enumerate()
                .map(|(i, f)| (f.paths[isa_index].clone(), i))
                .collect(),
            archives: files.iter().map(|f| f.archive).collect(),
        }
    }

    /// The input that lld names `text` (`a.o`, `/x/libc.a(printf.o)`), if it is one of ours.
    pub fn resolve(&self, text: &str) -> Option<InputId> {
        if let Some(&file) = self.by_path.get(text) {
            if !self.archives[file] {
                return Some(InputId { file, member: None });
            }
        }
        let body = text.strip_suffix(')')?;
        // The archive path may itself contain '(': try each split.
        for (pos, _) in body.match_indices('(') {
            if let Some(&file) = self.by_path.get(&body[..pos]) {
                if self.archives[file] {
                    return Some(InputId {
                        file,
                        member: Some(body[pos + 1..].to_string()),
                    });
                }
            }
        }
        None
    }
}

/// Parses lld's map (`-Map`) into the input sections it lists, with their symbols.
pub fn parse_map(text: &str, names: &FileNames) -> Result<Vec<LiveSection>> {
    let mut out: Vec<LiveSection> = Vec::new();
    let mut output_section = String::new();
    let mut current: Option<usize> = None;
    for (number, line) in text.lines().enumerate() {
        if number == 0 || line.trim().is_empty() {
            continue; // the column titles
        }
        let bad = || anyhow!("unexpected line {} in lld's map: {line:?}", number + 1);
        let mut fields = line.split_whitespace();
        let mut next_num = |radix| {
            fields
                .next()
                .and_then(|f| u64::from_str_radix(f, radix).ok())
                .ok_or_else(bad)
        };
        let vma = next_num(16)?;
        let _lma = next_num(16)?;
        let size = next_num(16)?;
        let align = next_num(10)?;
        // The last field starts one space after the alignment column.
        let rest = nth_field_rest(line, 4).ok_or_else(bad)?;
        let indent = rest.len() - rest.trim_start_matches(' ').len();
        let body = rest.trim();
        match indent {
            0 => {
                output_section = body.to_string();
                current = None;
            }
            8 => {
                current = None;
                let Some((input, name)) = split_input_section(body, names) else {
                    continue; // a linker-script command
                };
                out.push(LiveSection {
                    input,
                    name,
                    out: output_section.clone(),
                    addr: vma,
                    size,
                    align,
                    ..LiveSection::default()
                });
                current = Some(out.len() - 1);
            }
            16 => {
                if let Some(i) = current {
                    let offset = vma.wrapping_sub(out[i].addr);
                    out[i].symbols.push((body.to_string(), offset));
                }
            }
            _ => return Err(bad()),
        }
    }
    // Same-named sections of one input.
    let mut counts: HashMap<(&Option<InputId>, &str), usize> = HashMap::new();
    for s in &out {
        *counts.entry((&s.input, s.name.as_str())).or_default() += 1;
    }
    let counts: Vec<usize> = out
        .iter()
        .map(|s| counts[&(&s.input, s.name.as_str())])
        .collect();
    for (s, n) in out.iter_mut().zip(counts) {
        s.same_name = n;
    }
    Ok(out)
}

/// The rest of `line` after its first `n` whitespace-separated fields and one separator.
fn nth_field_rest(line: &str, n: usize) -> Option<&str> {
    let mut rest = line;
    for _ in 0..n {
        rest = rest.trim_start();
        let end = rest.find(' ')?;
        rest = &rest[end..];
    }
    rest.strip_prefix(' ')
}

/// Splits `file:(section)` (lld's spelling of an input section), resolving the file.
fn split_input_section(body: &str, names: &FileNames) -> Option<(Option<InputId>, String)> {
    let inner = body.strip_suffix(')')?;
    let mut first = None;
    for (pos, _) in inner.match_indices(":(") {
        let name = inner[pos + 2..].to_string();
        if let Some(input) = names.resolve(&inner[..pos]) {
            return Some((Some(input), name));
        }
        first.get_or_insert(name);
    }
    first.map(|name| (None, name))
}

/// Whether lld put a section of this output section into a region the planner lays out.
pub fn is_planned_output(out: &str) -> bool {
    matches!(
        out,
        ".text" | ".rodata" | ".data" | ".data.rel.ro" | ".tdata" | ".tbss" | ".bss"
    )
}

/// Reads the ELF facts of each planned live section from its input file.
pub fn complete(
    sections: &mut [LiveSection],
    files: &[PreparedFile],
    isa_index: usize,
) -> Result<()> {
    // Group by input so that each file and member is parsed once.
    let mut by_input: HashMap<InputId, Vec<usize>> = HashMap::new();
    for (i, s) in sections.iter().enumerate() {
        if let Some(input) = &s.input {
            if s.same_name == 1 || !is_planned_output(&s.out) {
                by_input.entry(input.clone()).or_default().push(i);
            }
        }
    }
    let mut by_file: HashMap<usize, Vec<(InputId, Vec<usize>)>> = HashMap::new();
    for (input, list) in by_input {
        by_file.entry(input.file).or_default().push((input, list));
    }
    for (file, inputs) in by_file {
        let path = &files[file].paths[isa_index];
        let data = std::fs::read(path).with_context(|| format!("reading {path}"))?;
        if files[file].archive {
            let archive = ArchiveFile::parse(&*data)
                .map_err(|e| anyhow!("{path}: malformed archive: {e}"))?;
            let mut members: HashMap<String, Vec<&[u8]>> = HashMap::new();
            for member in archive.members() {
                let member = member.map_err(|e| anyhow!("{path}: malformed archive: {e}"))?;
                let name = String::from_utf8_lossy(member.name()).into_owned();
                let bytes = member
                    .data(&*data)
                    .map_err(|e| anyhow!("{path}({name}): {e}"))?;
                members.entry(name).or_default().push(bytes);
            }
            for (input, list) in inputs {
                let member = input.member.as_deref().unwrap_or_default();
                let Some(objects) = members.get(member) else {
                    bail!("{path}: lld's map names member {member}, which the archive lacks");
                };
                for bytes in objects {
                    fill(sections, &list, bytes, &format!("{path}({member})"))?;
                }
            }
        } else {
            for (_, list) in inputs {
                fill(sections, &list, &data, path)?;
            }
        }
    }
    Ok(())
}

/// Completes sections `list` (all of one input) from object file `bytes`, by section name.
fn fill(sections: &mut [LiveSection], list: &[usize], bytes: &[u8], shown: &str) -> Result<()> {
    let Ok(object) = ElfFile64::<Endianness>::parse(bytes) else {
        return Ok(()); // not an object: a member lld did not load
    };
    let wanted: HashMap<&str, usize> = list
        .iter()
        .map(|&i| (sections[i].name.as_str(), i))
        .collect();
    let mut found: Vec<(usize, u32, u64, bool, Option<u64>)> = Vec::new();
    for section in object.sections() {
        let Ok(name) = section.name() else { continue };
        let Some(&i) = wanted.get(name) else { continue };
        let SectionFlags::Elf { sh_flags } = section.flags() else {
            continue;
        };
        let sh_type = {
            use object::read::elf::SectionHeader;
            section.elf_section_header().sh_type(object.endian())
        };
        let relocated = section.relocations().next().is_some();
        let hash = if sh_type == object::elf::SHT_NOBITS || !is_planned_output(&sections[i].out) {
            None
        } else {
            let data = section
                .data()
                .with_context(|| format!("{shown}: reading section {name}"))?;
            let mut h = DefaultHasher::new();
            data.hash(&mut h);
            Some(h.finish())
        };
        found.push((i, sh_type, sh_flags, relocated, hash));
    }
    for (i, sh_type, flags, relocated, hash) in found {
        let s = &mut sections[i];
        s.sh_type = sh_type;
        s.flags = flags;
        s.relocated = relocated;
        s.hash = hash;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<PreparedFile> {
        vec![
            PreparedFile {
                shown: "a.o".into(),
                paths: ["a.o".into(), "/w/a.o".into()],
                archive: false,
                sysroot: false,
            },
            PreparedFile {
                shown: "libc.a".into(),
                paths: ["/s/x/libc.a".into(), "/s/a/libc.a".into()],
                archive: true,
                sysroot: true,
            },
            PreparedFile {
                shown: "odd(name).a".into(),
                paths: ["odd(name).a".into(), "/w/odd(name).a".into()],
                archive: true,
                sysroot: false,
            },
        ]
    }

    const MAP: &str = "             VMA              LMA     Size Align Out     In      Symbol
          2001f0           2001f0      e60    16 .rodata
          2001f0           2001f0       c8     1         a.o:(.rodata.str1.1)
          2002b8           2002b8       18     4         /s/x/libc.a(stdout.o):(.rodata.stdout)
          2002b8           2002b8        8     1                 stdout
          201050           201050       2c     4 .eh_frame_hdr
          201050           201050       2c     4         <internal>:(.eh_frame_hdr)
          202100           202100     3c46    16 .text
          202140           202140        4    16         a.o:(.text.twice)
          202140           202140        4     1                 twice
          202150           202150        6    16         odd(name).a(m(1).o):(.text.f)
          202154           202154        0     1                 g
          202160           202160        6    16         a.o:(.text.x:(y))
";

    #[test]
    fn map_lines() {
        let names = FileNames::new(&files(), 0);
        let live = parse_map(MAP, &names).unwrap();
        assert_eq!(live.len(), 6);
        assert_eq!(
            live[0].input,
            Some(InputId {
                file: 0,
                member: None
            })
        );
        assert_eq!(
            (live[0].name.as_str(), live[0].size, live[0].align),
            (".rodata.str1.1", 0xc8, 1)
        );
        assert_eq!(live[0].out, ".rodata");
        assert_eq!(
            live[1].input,
            Some(InputId {
                file: 1,
                member: Some("stdout.o".into())
            })
        );
        assert_eq!(live[1].symbols, vec![("stdout".to_string(), 0)]);
        assert_eq!(
            (live[2].input.clone(), live[2].name.as_str()),
            (None, ".eh_frame_hdr")
        );
        assert_eq!(live[3].out, ".text");
        assert_eq!(
            live[4].input,
            Some(InputId {
                file: 2,
                member: Some("m(1).o".into())
            })
        );
        assert_eq!(live[4].symbols, vec![("g".to_string(), 4)]);
        assert_eq!(live[5].name, ".text.x:(y)");
        assert!(live.iter().all(|s| s.same_name == 1));
        // The AArch64 link names the work-directory copy: the same input.
        let names = FileNames::new(&files(), 1);
        assert_eq!(
            names.resolve("/w/a.o"),
            Some(InputId {
                file: 0,
                member: None
            })
        );
        assert_eq!(names.resolve("a.o"), None);
    }

    #[test]
    fn bad_map_is_an_error() {
        let names = FileNames::new(&files(), 0);
        assert!(parse_map("title\nnot a map line\n", &names).is_err());
    }
}
