//! Pass 7b: the symbols ld.unimig defines for the runtime and the migration tools, the same
//! on both ISAs (docs/migration.md):
//!
//! - `__unimig_image_id`: an absolute symbol whose *value* identifies the program image, so a
//!   checkpoint of one program is never resumed in another. It hashes every input file of
//!   both links (contents, in link order) and the shared layout: the same inputs linked the
//!   same way give the same id, any change to code or data gives another.
//!   Its value does not fit small-code-model references, so the scripts also put it in an
//!   ISA-private read-only word, `__unimig_image_id_word`, which the runtime reads.
//! - `__unimig_data_begin` / `__unimig_data_end`: the shared writable range (`.data`,
//!   `.tdata`, `.tbss`, `.bss`), which a checkpoint copies; ISA-private writable data
//!   (`.got`, `.init_array`, ...) lies outside it.

use crate::inputs::PreparedFile;
use crate::layout::{Layout, Region};
use anyhow::{Context, Result};

/// A 64-bit FNV-1a-style hash over 8-byte words (bytewise FNV is too slow for libc.a-sized
/// inputs), with the length mixed in at the end of each piece so concatenations differ.
#[derive(Clone, Copy)]
struct Hasher(u64);

impl Hasher {
    fn new() -> Self {
        Hasher(0xcbf2_9ce4_8422_2325)
    }

    fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(0x0000_0100_0000_01b3);
        self.0 ^= self.0 >> 29;
    }

    fn bytes(&mut self, data: &[u8]) {
        let mut chunks = data.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.word(u64::from_le_bytes(tail));
        self.word(data.len() as u64);
    }
}

/// The image id of a link of `files` with `layout`.
pub fn image_id(files: &[PreparedFile], layout: &Layout) -> Result<u64> {
    let mut h = Hasher::new();
    for file in files {
        for path in &file.paths {
            let data =
                std::fs::read(path).with_context(|| format!("reading {path} for the image id"))?;
            h.bytes(&data);
        }
    }
    for region in &layout.regions {
        h.word(region.start);
        h.word(region.end);
        for slot in &region.slots {
            h.word(slot.addr);
            h.word(slot.size);
        }
    }
    Ok(h.0)
}

/// The shared writable range [begin, end): empty (at the private base) if the image has no
/// writable shared section.
pub fn shared_data_range(layout: &Layout) -> (u64, u64) {
    let writable = [Region::Data, Region::Tdata, Region::Tbss, Region::Bss];
    let mut range: Option<(u64, u64)> = None;
    for r in layout
        .regions
        .iter()
        .filter(|r| writable.contains(&r.region))
    {
        range = Some(match range {
            None => (r.start, r.end),
            Some((b, e)) => (b.min(r.start), e.max(r.end)),
        });
    }
    range.unwrap_or((layout.private_base, layout.private_base))
}

/// Script lines (top level, after `SECTIONS`) defining the symbols.
pub fn script_lines(layout: &Layout, id: u64) -> String {
    let (begin, end) = shared_data_range(layout);
    format!(
        "/* ld.unimig: runtime symbols (docs/migration.md) */\n\
         __unimig_image_id = {id:#x};\n\
         __unimig_data_begin = {begin:#x};\n\
         __unimig_data_end = {end:#x};\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::RegionPlan;

    fn region(region: Region, start: u64, end: u64) -> RegionPlan {
        RegionPlan {
            region,
            start,
            end,
            slots: Vec::new(),
        }
    }

    #[test]
    fn data_range_spans_the_writable_regions_only() {
        let layout = Layout {
            regions: vec![
                region(Region::Rodata, 0x400000, 0x401000),
                region(Region::Text, 0x410000, 0x420000),
                region(Region::Data, 0x430000, 0x430100),
                region(Region::Tbss, 0x430100, 0x430108),
                region(Region::Bss, 0x430140, 0x431000),
            ],
            private_base: 0x440000,
            ..Layout::default()
        };
        assert_eq!(shared_data_range(&layout), (0x430000, 0x431000));
        let text = script_lines(&layout, 0xabc);
        assert!(text.contains("__unimig_image_id = 0xabc;\n"), "{text}");
        assert!(text.contains("__unimig_data_begin = 0x430000;\n"), "{text}");
        assert!(text.contains("__unimig_data_end = 0x431000;\n"), "{text}");
    }

    #[test]
    fn no_writable_region_gives_an_empty_range() {
        let layout = Layout {
            regions: vec![region(Region::Text, 0x410000, 0x420000)],
            private_base: 0x440000,
            ..Layout::default()
        };
        assert_eq!(shared_data_range(&layout), (0x440000, 0x440000));
    }

    #[test]
    fn hash_depends_on_content_and_length() {
        let hash = |d: &[u8]| {
            let mut h = Hasher::new();
            h.bytes(d);
            h.0
        };
        assert_ne!(hash(b"abc"), hash(b"abd"));
        assert_ne!(hash(b"abc"), hash(b"abc\0"));
        assert_eq!(hash(b"unimig"), hash(b"unimig"));
    }
}
