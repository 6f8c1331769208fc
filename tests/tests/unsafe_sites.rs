//! `.unimig.unsafe_sites` survives the link: a program whose loops keep values live across
//! calls outside the stackmap records (the check in llvm-pass/cxx/statepoint_check.cpp finds
//! them) links into two images that both carry the same non-allocated list of record IDs, each
//! a record of both images' `.llvm_stackmaps`; the program still runs identically on both ISAs.
//!
//! unimig-cc turns off the code-generator transformations that make such sites (loop strength
//! reduction, MachineLICM, constant hoisting: `STACKMAP_LLVM_OPTIONS` in
//! llvm-pass/src/pipeline.rs), and FP values and second copies no longer make them either, so
//! the test turns those transformations back on with `-mllvm` (a user's option overrides the
//! driver's) to get unsafe sites it can follow through the link.

use object::{Object, ObjectSection};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use unimig_common::stackmap;
use unimig_tests::*;

const SECTION: &str = ".unimig.unsafe_sites";

const LOOPS: &str = r#"
extern int table[64];
void step(int);
int sum_table(int n) {
    int s = 0;
    for (int i = 0; i < n; i++) { step(i); s += table[i & 63]; }
    return s;
}
double wave(double x);
/* Doubles live across a call, and constants MachineLICM hoists out of the loop. */
double waves(int n) {
    double a = 0.5, b = 1.5, c = 2.5;
    for (int i = 0; i < n; i++) { double w = wave(a); a = a * 0.9 + w; b += w * c; c = c * 1.01 - w; }
    return a + b + c;
}
long mix(long n) {
    long s = 0;
    for (long i = 0; i < n; i++) { step((int)i); s ^= i * 0x123456789abcdefL + 0x7edcba9876543210L; }
    return s;
}
"#;

const MAIN: &str = r#"
#include <stdio.h>
int table[64];
int steps;
void step(int i) { steps++; table[i & 63] += i; }
int sum_table(int n);
long mix(long n);
double waves(int n);
double wave(double x) { return x * 0.5 + 0.25; }
int main(int argc, char **argv) {
    (void)argv;
    printf("%d %ld %d %.6f\n", sum_table(300 * argc), mix(300 * argc), steps, waves(50 * argc));
    return 0;
}
"#;

/// The IDs in `image`'s `.unimig.unsafe_sites` (which must not be allocated), and its
/// stackmap record IDs.
fn lists(image: &Path) -> (Vec<u64>, BTreeSet<u64>) {
    let data = fs::read(image).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let section = file
        .section_by_name(SECTION)
        .unwrap_or_else(|| panic!("{} has no {SECTION}", image.display()));
    assert_eq!(section.address(), 0, "{SECTION} is allocated");
    let ids = section
        .data()
        .unwrap()
        .chunks_exact(8)
        .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
        .collect();
    let maps = file.section_by_name(stackmap::SECTION).unwrap();
    let maps = stackmap::parse_all(maps.data().unwrap()).unwrap();
    let records = stackmap::shapes(&maps).iter().map(|r| r.id).collect();
    (ids, records)
}

#[test]
fn unsafe_sites_reach_both_images() {
    let _t = Timer::start("unsafe_sites");
    let tmp = temp_dir("unsafe_sites");
    let flags = [
        "-O2",
        "-funimig-points=all",
        "-funimig-stackmaps",
        "-mllvm",
        "-disable-lsr=false",
        "-mllvm",
        "-disable-machine-licm=false",
        "-mllvm",
        "-disable-constant-hoisting=false",
    ];
    let mut objects = Vec::new();
    for (name, text) in [("loops", LOOPS), ("main", MAIN)] {
        let src = tmp.path().join(format!("{name}.c"));
        fs::write(&src, text).unwrap();
        let obj = tmp.path().join(format!("{name}.o"));
        check(
            command(cc())
                .args(flags)
                .arg("-c")
                .arg(&src)
                .arg("-o")
                .arg(&obj),
        );
        objects.push(obj);
    }
    let app = tmp.path().join("app");
    check(command(cc()).args(flags).args(&objects).arg("-o").arg(&app));
    let prefix = tmp.path().join("img");
    check(
        command(tool("unimig"))
            .arg("split")
            .arg(&app)
            .arg("-o")
            .arg(&prefix),
    );
    let [x86, a64] = ["x86_64", "aarch64"].map(|isa| lists(&tmp.path().join(format!("img.{isa}"))));

    assert!(!x86.0.is_empty(), "no unsafe sites in the x86-64 image");
    // Both objects carry the union of both ISAs' sites, so the images list the same IDs.
    assert_eq!(x86.0, a64.0, "the ISAs' lists differ");
    for id in &x86.0 {
        assert!(
            x86.1.contains(id) && a64.1.contains(id),
            "{id:#x} is not a record of both images"
        );
    }
    // The fat executable (the x86-64 image) carries the list too.
    assert_eq!(lists(&app).0, x86.0);

    let out = run_both_same("unsafe sites program", &app, &RunSpec::new::<&str>(&[]));
    assert!(!out.stdout.is_empty(), "{}", show_output(&out));
}
