//! `make install PREFIX=...` (scripts/install.sh): the installed tools find their sysroots from
//! their own location, with no UNIMIG_PREFIX, and build a program that runs on both ISAs.

use std::fs;
use std::process::Command;
use unimig_tests::*;

#[test]
fn installed_tree_builds_and_runs_without_environment() {
    let tmp = temp_dir("install");
    let prefix = tmp.path().join("opt/unimig");
    check(
        Command::new("bash")
            .arg(source_root().join("scripts/install.sh"))
            .arg(prefix_stage())
            .arg(&prefix),
    );
    for tool in ["unimig-cc", "ld.unimig", "unimig"] {
        assert!(
            prefix.join("bin").join(tool).is_file(),
            "{tool} not installed"
        );
    }
    let src = tmp.path().join("hello.c");
    fs::write(
        &src,
        "#include <stdio.h>\n#include <math.h>\nint main(int c, char **v) { printf(\"%s %.6f\\n\", v[c - 1], sqrt(2.0)); return 4; }\n",
    )
    .unwrap();
    let app = tmp.path().join("hello");
    // No UNIMIG_PREFIX and no stage on PATH: only the installed tree.
    let installed = |tool: &str| {
        let mut cmd = Command::new(prefix.join("bin").join(tool));
        cmd.env_remove("UNIMIG_PREFIX");
        cmd
    };
    check(
        installed("unimig-cc")
            .arg("-O2")
            .arg(&src)
            .arg("-o")
            .arg(&app)
            .arg("-lm"),
    );
    for isa in ["x86_64", "aarch64"] {
        let out = run(installed("unimig")
            .args(["run", "--isa", isa])
            .arg(&app)
            .arg("installed"));
        assert_expected(isa, &out, b"installed 1.414214\n", b"", 4);
    }
}

/// The stage this test run uses (the installation under test).
fn prefix_stage() -> std::path::PathBuf {
    bin_dir().parent().unwrap().to_path_buf()
}
