//! Fixups the statepoint check gives instead of unsafe sites, with the code-generation options
//! unimig-cc sets when it compiles with stackmaps (`STACKMAP_LLVM_OPTIONS`: LLVM options are
//! process-wide, so these tests have their own binary).

mod common;

use unimig_llvm_pass::pipeline::stackmap_llvm_options;
use unimig_llvm_pass::stackmap::stackmap_summary;
use unimig_llvm_pass::*;

fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| set_llvm_options(&stackmap_llvm_options(&[])).unwrap());
}

/// `copies.c`: a second copy of a recorded value (an argument spilled at entry and reloaded
/// after the call while the record lists a register copy) gets a live-value fixup naming the
/// record location that holds the value; doubles live across calls are recorded where the code
/// reads them, and floating-point constants in callee-saved registers get constant fixups. No
/// site of either function is unsafe on either ISA.
#[test]
fn second_copies_and_doubles_get_fixups_instead_of_making_sites_unsafe() {
    init();
    let src = common::c_dir().join("copies.c");
    let x = common::frontend(&src, Isa::X86_64, OptLevel::O2);
    let a = common::frontend(&src, Isa::Aarch64, OptLevel::O2);
    let pair = compile_pair(&x, &a, &Options::default()).unwrap();
    for out in [&pair.x86_64, &pair.aarch64] {
        let bad: Vec<_> = out
            .violations
            .iter()
            .filter(|v| v.function == "digest" || v.function == "series")
            .collect();
        assert!(bad.is_empty(), "{bad:#?}");
    }
    for (isa, out) in [("x86_64", &pair.x86_64), ("aarch64", &pair.aarch64)] {
        let digest: Vec<&str> = out
            .fixed
            .iter()
            .filter(|f| f.function == "digest")
            .flat_map(|f| &f.fixups)
            .map(|s| &**s)
            .collect();
        // `slot#3=loc:3`: the slot gets the record's location 3 (its first live value).
        assert!(
            digest.iter().any(|i| i.contains("=loc:")),
            "{isa}: {:#?}",
            out.fixed
        );
        let records = stackmap_summary(&out.object).unwrap();
        for f in out.fixed.iter().filter(|f| f.function == "digest") {
            let (_, locations) = records
                .iter()
                .find(|r| r.0 == f.id)
                .map(|r| (r.0, r.1))
                .unwrap_or_else(|| panic!("{isa}: {:#x} is not a record", f.id));
            for item in &f.fixups {
                if let Some(k) = item.split("=loc:").nth(1) {
                    let k: usize = k.parse().unwrap();
                    // Past the three header constants, inside the record.
                    assert!(k >= 3 && k < locations, "{isa}: {item} of {locations}");
                }
            }
        }
    }
    // AArch64 keeps the loop's 1.0 in d8 across the calls (FMOV #1.0): a constant fixup with
    // its bit pattern.
    let one = f64::to_bits(1.0).to_string();
    assert!(
        pair.aarch64
            .fixed
            .iter()
            .filter(|f| f.function == "series")
            .flat_map(|f| &f.fixups)
            .any(|i| i.starts_with('d') && i.ends_with(&format!("=const:{one}"))),
        "{:#?}",
        pair.aarch64.fixed
    );
}
