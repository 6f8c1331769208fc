//! Address-stable constants (src/constants.rs): after the pipeline, string literals and other
//! private constants sit in sections of their own, with local symbols, named alike on both ISAs
//! (by content for the front end's numbered literals), and none is in a mergeable section.

mod common;

use object::{Object, ObjectSection, ObjectSymbol, SectionFlags};
use std::collections::BTreeSet;
use unimig_llvm_pass::*;

const SOURCE: &str = r#"
#include <stdio.h>
#include <string.h>
static const double coefficients[4] = {0.5, 1.5, 2.5, 3.5};
const double *table(void) { return coefficients; }
int main(int argc, char **argv) {
  const char str[] = "[\"A\", {\"B\": \"C\", \"e\": false}, 1, null, \"foo\"]";
#ifdef __x86_64__
  puts("only on x86-64");
#endif
  printf("%zu %s %p %f\n", strlen(str), "other literal", (void *)"x", table()[argc & 3]);
  return 0;
}
"#;

/// (name, alignment) of every allocated data section, and whether any is mergeable.
fn data_sections(object: &[u8]) -> (BTreeSet<String>, bool) {
    let file = object::File::parse(object).unwrap();
    let mut names = BTreeSet::new();
    let mut mergeable = false;
    for s in file.sections() {
        let name = s.name().unwrap();
        if !name.starts_with(".rodata") && !name.starts_with(".data") {
            continue;
        }
        if let SectionFlags::Elf { sh_flags } = s.flags() {
            mergeable |= sh_flags & u64::from(object::elf::SHF_MERGE) != 0
                && !name.starts_with(".rodata.cst");
        }
        names.insert(name.to_string());
    }
    (names, mergeable)
}

fn local_object_symbols(object: &[u8]) -> BTreeSet<String> {
    object::File::parse(object)
        .unwrap()
        .symbols()
        .filter(|s| s.is_local() && s.kind() == object::SymbolKind::Data)
        .map(|s| s.name().unwrap().to_string())
        .collect()
}

#[test]
fn literals_have_sections_and_symbols_of_their_own_named_alike() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::write_temp(dir.path(), "lit.c", SOURCE.as_bytes());
    for level in [OptLevel::O0, OptLevel::O2] {
        let x = common::frontend(&src, Isa::X86_64, level);
        let a = common::frontend(&src, Isa::Aarch64, level);
        let opts = Options {
            opt_level: level,
            migration_points: MigrationPoints::None,
            stackmaps: false,
            ..Options::default()
        };
        let pair = compile_pair(&x, &a, &opts).unwrap();
        let (sx, mx) = data_sections(&pair.x86_64.object);
        let (sa, ma) = data_sections(&pair.aarch64.object);
        assert!(!mx && !ma, "{level:?}: mergeable sections {sx:?} {sa:?}");
        // Everything but x86-64's own literal (and constant pools) is on both.
        let only_x86: Vec<_> = sx.difference(&sa).filter(|n| !n.contains(".cst")).collect();
        let only_a64: Vec<_> = sa.difference(&sx).filter(|n| !n.contains(".cst")).collect();
        assert_eq!(only_x86.len(), 1, "{level:?}: {only_x86:?}");
        assert!(only_x86[0].starts_with(".rodata..str."), "{only_x86:?}");
        assert!(only_a64.is_empty(), "{level:?}: {only_a64:?}");
        assert!(sx.iter().filter(|n| n.starts_with(".rodata..str.")).count() >= 3);
        // Each has a local symbol of its name, so the linker can match and check it.
        let (yx, ya) = (
            local_object_symbols(&pair.x86_64.object),
            local_object_symbols(&pair.aarch64.object),
        );
        for name in sx.intersection(&sa).filter(|n| !n.contains(".cst")) {
            let symbol = name.trim_start_matches(".rodata.");
            assert!(
                yx.contains(symbol) && ya.contains(symbol),
                "{level:?}: {symbol}"
            );
        }
    }
}
