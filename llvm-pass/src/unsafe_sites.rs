//! Call sites whose frames cannot be migrated: code generation left a value live across the
//! statepoint that its stackmap record does not list (found by the machine pass in
//! `cxx/statepoint_check.cpp`, see [`crate::pipeline`]).
//!
//! Each ISA's object carries the union of both ISAs' such sites in the non-allocated section
//! [`SECTION`] (docs/formats.md), so the transformer can refuse a frame stopped at one of them
//! on either side; the runtime then retries at the next migration point.
//!
//! A site whose unlisted values are all link-time or per-thread constants (a symbol's address
//! or page, an immediate, the thread pointer) is not unsafe: code generation writes
//! [`FIXUP_SECTION`] into that ISA's object instead (`cxx/fixup_section.cpp`), and the
//! transformer recreates those values in the destination frame.

use std::collections::BTreeSet;

/// The section listing unsafe record IDs: u64 little-endian each, no header, so the linker's
/// concatenation of every object's section is again a list.
pub const SECTION: &str = ".unimig.unsafe_sites";

/// Each ISA's own fixups (written by code generation, not by this crate): see docs/formats.md.
pub const FIXUP_SECTION: &str = ".unimig.fixups";

/// A statepoint with values live across it that its record does not list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The statepoint's (stackmap record's) ID.
    pub id: u64,
    pub function: String,
    /// What is live and not listed: a register with the opcode of its last definition before
    /// the call in the same block (`x20=ADRP`, `rbx=MOV64ri`, `x19=live-in` when defined in an
    /// earlier block), or a spill slot by frame index (`slot#3`).
    pub live: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "record {:#x} in {}: live across the call but not in the record: {}",
            self.id,
            self.function,
            self.live.join(" ")
        )
    }
}

/// A statepoint whose unlisted live values all got fixups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fixed {
    /// The statepoint's (stackmap record's) ID.
    pub id: u64,
    pub function: String,
    /// Each value as `place=recipe`: `x26=page:__unimig_migrate_requested`, `rbx=const:64`,
    /// `x24=tp`, `slot#2=addr:table+8`.
    pub fixups: Vec<String>,
}

/// Parses the check's report: one line per statepoint, `id \t function \t item item ...`.
pub fn parse_report(text: &str) -> Vec<Violation> {
    lines(text)
        .map(|(id, function, live)| Violation { id, function, live })
        .collect()
}

/// Parses the check's list of statepoints with fixups (same line format as [`parse_report`]).
pub fn parse_fixed(text: &str) -> Vec<Fixed> {
    lines(text)
        .map(|(id, function, fixups)| Fixed {
            id,
            function,
            fixups,
        })
        .collect()
}

fn lines(text: &str) -> impl Iterator<Item = (u64, String, Vec<String>)> + '_ {
    text.lines().filter_map(|line| {
        let mut fields = line.splitn(3, '\t');
        let id = fields.next()?.parse().ok()?;
        let function = fields.next()?.to_string();
        let items = fields
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        Some((id, function, items))
    })
}

/// The record IDs of both ISAs' violations, ascending and without repeats.
pub fn union(x86_64: &[Violation], aarch64: &[Violation]) -> Vec<u64> {
    let ids: BTreeSet<u64> = x86_64.iter().chain(aarch64).map(|v| v.id).collect();
    ids.into_iter().collect()
}

/// The contents of [`SECTION`] for `ids`.
pub fn section_bytes(ids: &[u64]) -> Vec<u8> {
    ids.iter().flat_map(|id| id.to_le_bytes()).collect()
}

/// The IDs in a [`SECTION`]'s contents (a trailing partial word is ignored).
pub fn read_section(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_become_violations() {
        let text = "42\tf\tx20=ADRP slot#3\n7\tg\trbx=live-in\n";
        let v = parse_report(text);
        assert_eq!(
            v,
            vec![
                Violation {
                    id: 42,
                    function: "f".into(),
                    live: vec!["x20=ADRP".into(), "slot#3".into()]
                },
                Violation {
                    id: 7,
                    function: "g".into(),
                    live: vec!["rbx=live-in".into()]
                },
            ]
        );
        assert!(parse_report("").is_empty());
        let f = parse_fixed("5\th\tx24=tp slot#2=const:64\n");
        assert_eq!(
            f,
            vec![Fixed {
                id: 5,
                function: "h".into(),
                fixups: vec!["x24=tp".into(), "slot#2=const:64".into()]
            }]
        );
    }

    #[test]
    fn stackmap_options_yield_to_the_users() {
        use crate::pipeline::{stackmap_llvm_options, STACKMAP_LLVM_OPTIONS};
        let user = vec!["-disable-lsr=false".to_string(), "-x=1".to_string()];
        let all = stackmap_llvm_options(&user);
        assert_eq!(all.len(), STACKMAP_LLVM_OPTIONS.len() + 1);
        assert!(!all.contains(&"-disable-lsr".to_string()));
        assert_eq!(&all[all.len() - 2..], &user[..]);
    }

    #[test]
    fn the_section_is_the_sorted_union_in_little_endian() {
        let v = |id| Violation {
            id,
            function: String::new(),
            live: Vec::new(),
        };
        let ids = union(&[v(9), v(1)], &[v(1), v(0x0102_0304_0506_0708)]);
        assert_eq!(ids, vec![1, 9, 0x0102_0304_0506_0708]);
        let bytes = section_bytes(&ids);
        assert_eq!(bytes.len(), 24);
        assert_eq!(&bytes[16..], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(read_section(&bytes), ids);
    }
}
