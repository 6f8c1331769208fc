//! `unimig inspect`: on a program built with `-funimig-points=all -funimig-stackmaps` it lists
//! both ISAs with the same record IDs and migration points; its JSON parses, and its numbers
//! (record IDs, return addresses, live-value counts and sizes, frame sizes) are those
//! `llvm-readobj-19 --stackmap` reads from each split image.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use unimig_tests::*;

const PROGRAM: &str = r#"
#include <stdio.h>
static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static double half(double x) { return x / 2; }
double (*op)(double) = half;
int main(int argc, char **argv) {
    (void)argv;
    int s = 0;
    double d = argc;
    for (int i = 0; i < 12; i++) { s += fib(i); d = op(d) + s; }
    printf("%d %.3f\n", s, d);
    return 0;
}
"#;

fn readobj() -> &'static str {
    if Path::new("/usr/lib/llvm-19/bin/llvm-readobj").is_file() {
        "/usr/lib/llvm-19/bin/llvm-readobj"
    } else {
        "llvm-readobj-19"
    }
}

/// What llvm-readobj says about one image: function address -> stack size, and per record
/// ID (return address, location sizes without the statepoint header).
struct Readobj {
    frames: BTreeMap<u64, u64>,
    records: BTreeMap<u64, (u64, Vec<u64>)>,
}

fn readobj_stackmaps(image: &Path) -> Readobj {
    let out = check(command(readobj()).arg("--stackmap").arg(image));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut functions: Vec<(u64, u64, u64)> = Vec::new(); // address, stack size, records
    let mut records: Vec<(u64, u64, Vec<u64>)> = Vec::new(); // id, offset, sizes
    let field = |l: &str, name: &str| -> u64 {
        let rest = &l[l.find(name).unwrap() + name.len()..];
        rest.split(',').next().unwrap().trim().parse().unwrap()
    };
    for line in text.lines().map(str::trim) {
        if line.starts_with("Function address:") {
            functions.push((
                field(line, "Function address:"),
                field(line, "stack size:"),
                field(line, "callsite record count:"),
            ));
        } else if line.starts_with("Record ID:") {
            records.push((
                field(line, "Record ID:"),
                field(line, "instruction offset:"),
                vec![],
            ));
        } else if line.starts_with('#') && line.contains("size:") {
            records.last_mut().unwrap().2.push(field(line, "size:"));
        }
    }
    let mut by_id = BTreeMap::new();
    let mut it = records.into_iter();
    for &(address, _, count) in &functions {
        for _ in 0..count {
            let (id, offset, sizes) = it.next().unwrap();
            by_id.insert(id, (address + offset, sizes[3..].to_vec()));
        }
    }
    Readobj {
        frames: functions.iter().map(|&(a, s, _)| (a, s)).collect(),
        records: by_id,
    }
}

#[test]
fn inspect_lists_both_isas_consistently_with_llvm_readobj() {
    let _t = Timer::start("inspect");
    let tmp = temp_dir("inspect");
    let src = tmp.path().join("prog.c");
    fs::write(&src, PROGRAM).unwrap();
    let app = tmp.path().join("prog");
    check(
        command(cc())
            .args(["-O2", "-funimig-points=all", "-funimig-stackmaps"])
            .arg(&src)
            .arg("-o")
            .arg(&app),
    );
    let out = check(
        command(tool("unimig"))
            .arg("inspect")
            .arg("--json")
            .arg(&app),
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("inspect --json is JSON");
    assert_eq!(json["format"], "unimig-inspect");
    assert_eq!(json["version"], 1);
    let images = json["images"].as_array().unwrap();
    let isas: Vec<&str> = images.iter().map(|i| i["isa"].as_str().unwrap()).collect();
    assert_eq!(isas, ["x86_64", "aarch64"]);

    let prefix = tmp.path().join("img");
    check(
        command(tool("unimig"))
            .arg("split")
            .arg(&app)
            .arg("-o")
            .arg(&prefix),
    );
    let mut ids_per_isa: Vec<BTreeSet<u64>> = Vec::new();
    let mut points_per_isa: Vec<BTreeSet<u64>> = Vec::new();
    for image in images {
        let isa = image["isa"].as_str().unwrap();
        let want = readobj_stackmaps(&tmp.path().join(format!("img.{isa}")));
        let sites = image["call_sites"].as_array().unwrap();
        let mut ids = BTreeSet::new();
        let mut points = BTreeSet::new();
        for c in sites {
            let id = c["id"].as_u64().unwrap();
            ids.insert(id);
            let (ret, sizes) = &want.records[&id];
            assert_eq!(c["return_address"].as_u64().unwrap(), *ret, "{isa} {id:#x}");
            let got: Vec<u64> = c["live"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["size"].as_u64().unwrap())
                .collect();
            assert_eq!(&got, sizes, "{isa} {id:#x}");
            if c["migration_point"].as_bool().unwrap() {
                points.insert(id);
            }
        }
        assert_eq!(ids, want.records.keys().copied().collect(), "{isa}");
        // fib and main poll at entry (main's loop calls fib, which polls, so the loop has no
        // poll of its own).
        assert!(points.len() >= 2, "{isa}: {points:?}");
        // Every instrumented function's frame size is readobj's.
        let functions = image["functions"].as_array().unwrap();
        let instrumented: BTreeMap<u64, u64> = functions
            .iter()
            .filter(|f| f["instrumented"].as_bool().unwrap())
            .map(|f| {
                (
                    f["address"].as_u64().unwrap(),
                    f["frame_size"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(instrumented, want.frames, "{isa}");
        let main = functions.iter().find(|f| f["name"] == "main").unwrap();
        assert_eq!(main["instrumented"], true);
        assert!(main["shadow_frame_size"].is_null());
        // The indirect call through `op` has no callee, the others name theirs.
        assert!(sites.iter().any(|c| c["callee"].is_null()), "{isa}");
        assert!(sites.iter().any(|c| c["callee"] == "fib"), "{isa}");
        ids_per_isa.push(ids);
        points_per_isa.push(points);
    }
    assert_eq!(ids_per_isa[0], ids_per_isa[1]);
    assert_eq!(points_per_isa[0], points_per_isa[1]);

    // The text form names both ISAs and the same IDs.
    let out = check(command(tool("unimig")).arg("inspect").arg(&app));
    let text = String::from_utf8_lossy(&out.stdout);
    for isa in ["x86_64", "aarch64"] {
        assert!(
            text.contains(&format!("{}: {isa}: ", app.display())),
            "{text}"
        );
    }
    for id in &ids_per_isa[0] {
        assert_eq!(
            text.matches(&format!("id {id:#018x} ")).count(),
            2,
            "{id:#x}\n{text}"
        );
    }
    assert!(text.contains("migration point; live:"), "{text}");
}

#[test]
fn inspect_refuses_what_is_not_a_fat_executable() {
    let tmp = temp_dir("inspect-bad");
    let plain = tmp.path().join("plain");
    fs::write(&plain, b"not an ELF file").unwrap();
    let out = run(command(tool("unimig")).arg("inspect").arg(&plain));
    assert_eq!(out.status.code(), Some(1), "{}", show_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("unimig: error: "));
}
