//! The machine-level check of statepoint live values (`cxx/statepoint_check.cpp`): it finds
//! values code generation keeps live across a call outside the stackmap record, reports them
//! by record ID on the ISA where they occur, and changes no object.

mod common;

use std::collections::BTreeSet;

use unimig_llvm_pass::pipeline::compile_without_check;
use unimig_llvm_pass::stackmap::stackmap_summary;
use unimig_llvm_pass::*;

fn unsafe_c() -> std::path::PathBuf {
    common::c_dir().join("unsafe.c")
}

#[test]
fn values_hoisted_out_of_a_loop_around_a_call_are_reported() {
    let src = unsafe_c();
    let x = common::frontend(&src, Isa::X86_64, OptLevel::O2);
    let a = common::frontend(&src, Isa::Aarch64, OptLevel::O2);
    let pair = compile_pair(&x, &a, &Options::default()).unwrap();
    for (isa, out) in [("x86_64", &pair.x86_64), ("aarch64", &pair.aarch64)] {
        let records: BTreeSet<u64> = stackmap_summary(&out.object)
            .unwrap()
            .iter()
            .map(|r| r.0)
            .collect();
        for v in &out.violations {
            assert!(records.contains(&v.id), "{isa}: {v} is not a record");
            assert!(!v.live.is_empty(), "{isa}: {v}");
        }
        let functions: BTreeSet<&str> = out.violations.iter().map(|v| &*v.function).collect();
        // `once` keeps nothing but its deopt operands across its call.
        assert!(!functions.contains("once"), "{isa}: {functions:?}");
        assert!(functions.contains("sum_table"), "{isa}: {functions:?}");
    }
    // AArch64 materialises `table`'s address (adrp + add) once, before the loop.
    assert!(
        pair.aarch64
            .violations
            .iter()
            .any(|v| v.function == "sum_table"
                && v.live.iter().any(|l| l.ends_with("=live-in")
                    || l.contains("ADRP")
                    || l.contains("MOVaddr"))),
        "{:#?}",
        pair.aarch64.violations
    );
    let union = pair.unsafe_sites();
    let mut want: Vec<u64> = pair.x86_64.violations.iter().map(|v| v.id).collect();
    want.extend(pair.aarch64.violations.iter().map(|v| v.id));
    want.sort();
    want.dedup();
    assert_eq!(union, want);
}

#[test]
fn without_stackmaps_nothing_is_checked() {
    let src = unsafe_c();
    let opts = Options {
        stackmaps: false,
        ..Options::default()
    };
    for isa in Isa::ALL {
        let bc = common::frontend(&src, isa, OptLevel::O2);
        let out = compile_with_report(&bc, isa, &opts).unwrap();
        assert!(out.violations.is_empty(), "{isa}: {:?}", out.violations);
    }
}

#[test]
fn the_check_leaves_objects_byte_identical() {
    for src in common::c_files() {
        for level in [OptLevel::O0, OptLevel::O2, OptLevel::Oz] {
            for stackmaps in [false, true] {
                let opts = Options {
                    opt_level: level,
                    stackmaps,
                    ..Options::default()
                };
                for isa in Isa::ALL {
                    let what = format!("{} {level:?} stackmaps {stackmaps} {isa}", src.display());
                    let bc = common::frontend(&src, isa, level);
                    let checked =
                        compile(&bc, isa, &opts).unwrap_or_else(|e| panic!("{what}: {e:#}"));
                    let plain = compile_without_check(&bc, isa, &opts).unwrap();
                    assert_same_code(&checked, &plain, &what);
                }
            }
        }
    }
}

/// The check adds `.unimig.fixups` (and its relocations, and the symbols they name) and changes
/// nothing else: without fixups the objects are identical, with them every other section's bytes
/// are.
fn assert_same_code(checked: &[u8], plain: &[u8], what: &str) {
    use object::{Object, ObjectSection};
    let checked_file = object::File::parse(checked).unwrap();
    if checked_file
        .section_by_name(unsafe_sites::FIXUP_SECTION)
        .is_none()
    {
        assert!(checked == plain, "{what}: the objects differ");
        return;
    }
    let plain_file = object::File::parse(plain).unwrap();
    // Section groups hold section indices, which the new sections shift, and
    // relocation sections hold symbol indices, which the new section's symbol shifts:
    // relocations are compared by what they say.
    let skip = |name: &str| {
        name.contains(".unimig.fixups")
            || name.ends_with("tab")
            || name == ".group"
            || name.starts_with(".rela")
    };
    let relocs = |s: &object::Section<'_, '_>| -> Vec<String> {
        s.relocations()
            .map(|(off, r)| format!("{off} {:?} {}", r.flags(), r.addend()))
            .collect()
    };
    for s in plain_file.sections() {
        let name = s.name().unwrap();
        if skip(name) {
            continue;
        }
        let c = checked_file
            .section_by_name(name)
            .unwrap_or_else(|| panic!("{what}: {name} missing"));
        assert_eq!(
            c.data().unwrap(),
            s.data().unwrap(),
            "{what}: {name} differs"
        );
        assert_eq!(
            relocs(&c),
            relocs(&s),
            "{what}: {name}'s relocations differ"
        );
    }
}

#[test]
fn hoisted_constants_get_fixups_instead_of_making_the_site_unsafe() {
    use object::{Object, ObjectSection};
    let src = unsafe_c();
    let x = common::frontend(&src, Isa::X86_64, OptLevel::O2);
    let a = common::frontend(&src, Isa::Aarch64, OptLevel::O2);
    let pair = compile_pair(&x, &a, &Options::default()).unwrap();
    let out = &pair.aarch64;
    // sum_table's loop keeps `table`'s address (ADRP+ADD) in a callee-saved register across
    // its calls: a fixup, not a violation. (The poll flag's address no longer needs one: the
    // pass makes it a recorded SSA value.)
    let sum: Vec<_> = out
        .fixed
        .iter()
        .filter(|f| f.function == "sum_table")
        .collect();
    assert!(!sum.is_empty(), "{:#?} {:#?}", out.fixed, out.violations);
    let items: Vec<&str> = sum.iter().flat_map(|f| &f.fixups).map(|s| &**s).collect();
    assert!(
        items.iter().any(|i| i.ends_with("=addr:table")),
        "{items:?}"
    );
    let unsafe_ids = pair.unsafe_sites();
    for f in &out.fixed {
        assert!(
            !unsafe_ids.contains(&f.id),
            "{:#x} both fixed and unsafe",
            f.id
        );
    }
    // The section: 32 bytes per fixup, symbol values as relocations.
    let obj = object::File::parse(&*out.object).unwrap();
    let sec = obj.section_by_name(unsafe_sites::FIXUP_SECTION).unwrap();
    let count: usize = out.fixed.iter().map(|f| f.fixups.len()).sum();
    assert_eq!(sec.size() as usize, 32 * count);
    let relocs = sec.relocations().count();
    let symbolic = items
        .iter()
        .filter(|i| i.contains("=page:") || i.contains("=addr:"))
        .count();
    assert!(relocs >= symbolic && relocs > 0, "{relocs} relocations");
}
