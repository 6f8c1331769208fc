//! Stackmaps survive the link: a program compiled with `-funimig-points=all
//! -funimig-stackmaps` (recursion, calls through a function pointer) links into two images that
//! both carry `.llvm_stackmaps`, readable by `llvm-readobj-19 --stackmap`, with the same record
//! IDs and location sizes on both ISAs; the program runs identically on both.

use object::{Object, ObjectSection};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use unimig_common::stackmap;
use unimig_tests::*;

const PROGRAM: &str = r#"
#include <stdio.h>
static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static int twice(int x) { return 2 * x; }
static int thrice(int x) { return 3 * x; }
int (*ops[2])(int) = { twice, thrice };
int main(int argc, char **argv) {
    (void)argv;
    int s = 0;
    for (int i = 0; i < 12; i++) s += ops[(i + argc) & 1](fib(i));
    printf("result %d\n", s);
    return s & 7;
}
"#;

fn readobj() -> &'static str {
    if Path::new("/usr/lib/llvm-19/bin/llvm-readobj").is_file() {
        "/usr/lib/llvm-19/bin/llvm-readobj"
    } else {
        "llvm-readobj-19"
    }
}

/// The record IDs `llvm-readobj --stackmap` lists for `image`.
fn readobj_ids(image: &Path) -> BTreeSet<u64> {
    let out = check(command(readobj()).arg("--stackmap").arg(image));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("LLVM StackMap Version: 3"), "{text}");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Record ID: "))
        .map(|l| l.split(',').next().unwrap().trim().parse().unwrap())
        .collect()
}

/// The records of `image`'s `.llvm_stackmaps`, read with unimig's reader.
fn shapes(image: &Path) -> Vec<stackmap::RecordShape> {
    let data = fs::read(image).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let section = file
        .section_by_name(stackmap::SECTION)
        .unwrap_or_else(|| panic!("{} has no {}", image.display(), stackmap::SECTION));
    let maps = stackmap::parse_all(section.data().unwrap()).unwrap();
    stackmap::shapes(&maps)
}

#[test]
fn stackmaps_are_kept_and_agree_across_isas() {
    let _t = Timer::start("stackmaps");
    let tmp = temp_dir("stackmaps");
    let src = tmp.path().join("points.c");
    fs::write(&src, PROGRAM).unwrap();
    let app = tmp.path().join("points");
    check(
        command(cc())
            .args(["-O2", "-funimig-points=all", "-funimig-stackmaps"])
            .arg(&src)
            .arg("-o")
            .arg(&app),
    );
    let prefix = tmp.path().join("img");
    check(
        command(tool("unimig"))
            .arg("split")
            .arg(&app)
            .arg("-o")
            .arg(&prefix),
    );
    let images = ["x86_64", "aarch64"].map(|isa| tmp.path().join(format!("img.{isa}")));

    let ids = images.each_ref().map(|i| readobj_ids(i));
    assert!(
        !ids[0].is_empty(),
        "no stackmap records in {}",
        images[0].display()
    );
    assert_eq!(
        ids[0], ids[1],
        "llvm-readobj's record IDs differ between the ISAs"
    );

    let shapes = images.each_ref().map(|i| shapes(i));
    let all: [BTreeSet<u64>; 2] = shapes.each_ref().map(|s| s.iter().map(|r| r.id).collect());
    assert_eq!(all[0], all[1]);
    assert!(ids[0].is_subset(&all[0]));
    assert_eq!(
        stackmap::compare_shapes(&shapes[0], &shapes[1]),
        vec![],
        "the ISAs' stackmap records differ"
    );
    // Function addresses are shared: the same on both ISAs.
    let funcs = shapes.each_ref().map(|s| {
        s.iter()
            .map(|r| (r.id, r.function))
            .collect::<BTreeSet<_>>()
    });
    assert_eq!(funcs[0], funcs[1]);

    let out = run_both_same("stackmap program", &app, &RunSpec::new::<&str>(&[]));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("result "),
        "{}",
        show_output(&out)
    );
}
