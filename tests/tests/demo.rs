//! The built-in example of `make demo` (examples/demo/demo.c: recursion, heap list, function
//! pointers, a thread-local counter alone in `.tbss`, libm, a file written and read back) gives
//! identical output and files on both ISAs, with the expected results.

use std::fs;
use unimig_tests::*;

#[test]
fn demo_example_runs_identically_on_both_isas() {
    let _t = Timer::start("demo");
    let tmp = temp_dir("demo");
    let app = tmp.path().join("demo");
    check(
        command(cc())
            .args(["-O2", "-Wall", "-o"])
            .arg(&app)
            .arg(source_root().join("examples/demo/demo.c"))
            .arg("-lm"),
    );
    let dirs: Vec<_> = Isa::ALL
        .iter()
        .map(|isa| {
            let dir = tmp.path().join(isa.name());
            fs::create_dir(&dir).unwrap();
            dir
        })
        .collect();
    let spec = RunSpec::new(&["9", "demo.out"]);
    let x86 = run_on(Isa::X86_64, &app, &spec.clone().cwd(&dirs[0]));
    let a64 = run_on(Isa::Aarch64, &app, &spec.clone().cwd(&dirs[1]));
    assert_layout_checked(&app);
    assert_same_output("demo", &x86, &a64);
    assert_success("demo", &x86);
    let text = String::from_utf8_lossy(&x86.stdout);
    assert!(text.starts_with("queens(9) = 352 (8394 calls)\n"), "{text}");
    assert!(text.contains("char is signed"), "{text}");
    assert_same_file(
        "demo.out",
        &dirs[0].join("demo.out"),
        &dirs[1].join("demo.out"),
    );
}
