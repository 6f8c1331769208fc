//! zlib: `./configure --static && make && make test` (also with the test programs' AArch64
//! halves through zlib's own QEMU_RUN hook), then example/minigzip/infcover on both ISAs.

use std::fs;
use unimig_tests::*;

#[test]
fn zlib() {
    let timer = Timer::start("pkg-zlib");
    let pkg = super::build_package("zlib", "zlib.sh", &timer);
    let src = &pkg.src;

    // example: its own checks, writing a .gz file; output and file identical on both ISAs.
    let mut written = Vec::new();
    for isa in Isa::ALL {
        let dir = pkg.tmp.path().join(format!("example-{}", isa.name()));
        fs::create_dir_all(&dir).unwrap();
        let out = run_on(
            isa,
            &src.join("example"),
            &RunSpec::new(&["test.gz"]).cwd(&dir),
        );
        assert_success(&format!("example on {}", isa.name()), &out);
        assert!(String::from_utf8_lossy(&out.stdout).contains("zlib version 1.2.13"));
        written.push((out, fs::read(dir.join("test.gz")).unwrap()));
    }
    assert_same_output("example", &written[0].0, &written[1].0);
    assert_same_bytes(
        "example's test.gz",
        &written[0].1,
        &written[1].1,
        "x86_64",
        "aarch64",
    );

    // minigzip: compressed bytes identical across ISAs at several levels; each ISA
    // decompresses the other's output back to the input.
    let mut input = Vec::new();
    for f in ["deflate.c", "inflate.c", "trees.c", "zlib.h"] {
        input.extend(fs::read(src.join(f)).unwrap());
    }
    input.extend(super::test_data(300_000));
    // A compressor migrated mid-run, 12 times from either ISA, on a large input: the
    // compressed bytes are the native run's.
    let mut large = Vec::new();
    for _ in 0..6 {
        large.extend_from_slice(&input);
    }
    assert_migrates(
        "minigzip -9 on a large input",
        &src.join("minigzip"),
        &RunSpec::new(&["-9"]).stdin(large),
        12,
    );

    for prog in ["minigzip", "minigzip64"] {
        let app = src.join(prog);
        for level in ["-1", "-6", "-9", "-h"] {
            let what = format!("{prog} {level}");
            let gz = run_both_same(&what, &app, &RunSpec::new(&[level]).stdin(input.clone()));
            assert_success(&what, &gz);
            // Huffman-only (-h) does not look for repeated strings.
            let limit = if level == "-h" {
                input.len() * 9 / 10
            } else {
                input.len() / 2
            };
            assert!(
                gz.stdout.len() < limit,
                "{what}: poor compression ({} bytes)",
                gz.stdout.len()
            );
            for isa in Isa::ALL {
                let back = run_on(isa, &app, &RunSpec::new(&["-d"]).stdin(gz.stdout.clone()));
                assert_success(&format!("{what} | {prog} -d on {}", isa.name()), &back);
                assert_same_bytes(
                    &format!("{what} round trip on {}", isa.name()),
                    &back.stdout,
                    &input,
                    "output",
                    "input",
                );
            }
        }
        // Corrupt input: same error and exit status on both ISAs.
        let mut bad = run_on(
            Isa::X86_64,
            &app,
            &RunSpec::new(&["-9"]).stdin(input.clone()),
        )
        .stdout;
        let mid = bad.len() / 2;
        bad[mid..mid + 16].copy_from_slice(b"corrupted block!");
        let out = run_both_same(
            &format!("{prog} -d on corrupt data"),
            &app,
            &RunSpec::new(&["-d"]).stdin(bad),
        );
        assert!(
            !out.status.success(),
            "{prog} -d should reject corrupt data"
        );
    }

    // infcover: zlib's inflate coverage test (memory high-water marks, error paths).
    let out = run_both_same("infcover", &src.join("infcover"), &RunSpec::default());
    assert_success("infcover", &out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("inflate built-in memory routines"));
}
