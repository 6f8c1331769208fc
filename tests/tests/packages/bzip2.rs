//! bzip2: upstream Makefile with `make CC=unimig-cc` and `make test` (natively and with the
//! AArch64 half), then bzip2 and bzip2recover compared across ISAs and with the reference
//! files shipped in the tarball.

use std::fs;
use unimig_tests::*;

#[test]
fn bzip2() {
    let timer = Timer::start("pkg-bzip2");
    let pkg = super::build_package("bzip2", "bzip2.sh", &timer);
    let src = &pkg.src;
    let bzip2 = src.join("bzip2");

    // The tarball's reference samples: sampleN.ref compressed at level -N is sampleN.bz2.
    for n in 1..=3 {
        let reference = fs::read(src.join(format!("sample{n}.ref"))).unwrap();
        let compressed = fs::read(src.join(format!("sample{n}.bz2"))).unwrap();
        let level = format!("-{n}");
        let out = run_both_same(
            &format!("bzip2 {level} sample{n}.ref"),
            &bzip2,
            &RunSpec::new(&[&level]).stdin(reference.clone()),
        );
        assert_success("bzip2", &out);
        assert_same_bytes(
            &format!("bzip2 {level}"),
            &out.stdout,
            &compressed,
            "output",
            &format!("sample{n}.bz2"),
        );
        for mode in ["-d", "-ds"] {
            let out = run_both_same(
                &format!("bzip2 {mode} sample{n}.bz2"),
                &bzip2,
                &RunSpec::new(&[mode]).stdin(compressed.clone()),
            );
            assert_success("bzip2 -d", &out);
            assert_same_bytes(
                &format!("bzip2 {mode}"),
                &out.stdout,
                &reference,
                "output",
                &format!("sample{n}.ref"),
            );
        }
    }

    // Larger data at -9 and -1: same bytes on both ISAs; each ISA decompresses it.
    let data = super::test_data(700_000);
    for level in ["-9", "-1"] {
        let out = run_both_same(
            &format!("bzip2 {level} (700 kB)"),
            &bzip2,
            &RunSpec::new(&[level]).stdin(data.clone()),
        );
        assert_success("bzip2", &out);
        for isa in Isa::ALL {
            let back = run_on(
                isa,
                &bzip2,
                &RunSpec::new(&["-d"]).stdin(out.stdout.clone()),
            );
            assert_success(&format!("bzip2 -d on {}", isa.name()), &back);
            assert_same_bytes(
                &format!("bzip2 {level} round trip on {}", isa.name()),
                &back.stdout,
                &data,
                "output",
                "input",
            );
        }
    }

    // Migrated mid-run, compressing and decompressing 1 MB: the output is the native one.
    // Most of bzip2's hot call sites are unsafe (README "Measured figures"), so only a few of
    // the 12 requested migrations happen (measured: 2 compressing, 3 decompressing).
    let large = super::test_data(1_000_000);
    let compressed = assert_migrates_at_least(
        "bzip2 -9 on 1 MB",
        &bzip2,
        &RunSpec::new(&["-9"]).stdin(large.clone()),
        12,
        1,
    );
    let back = assert_migrates_at_least(
        "bzip2 -d on 1 MB",
        &bzip2,
        &RunSpec::new(&["-d"]).stdin(compressed.stdout.clone()),
        12,
        1,
    );
    assert_same_bytes("bzip2 -d after -9", &back.stdout, &large, "output", "input");

    // Files, verbose mode, integrity test of a damaged file, help: same text and status.
    let mut damaged = fs::read(src.join("sample2.bz2")).unwrap();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0x55;
    for isa in Isa::ALL {
        let dir = pkg.tmp.path().join(format!("files-{}", isa.name()));
        fs::create_dir_all(&dir).unwrap();
        fs::copy(src.join("sample1.ref"), dir.join("a.txt")).unwrap();
        fs::write(dir.join("damaged.bz2"), &damaged).unwrap();
        fs::copy(src.join("sample3.bz2"), dir.join("s3.bz2")).unwrap();
    }
    let dir_of = |isa: Isa| pkg.tmp.path().join(format!("files-{}", isa.name()));
    let runs: [&[&str]; 5] = [
        &["-k", "-9", "a.txt"],
        &["-t", "-v", "a.txt.bz2", "s3.bz2"],
        &["-t", "damaged.bz2"],
        &["-d", "-c", "damaged.bz2"],
        &["--help"],
    ];
    for args in runs {
        let what = format!("bzip2 {}", args.join(" "));
        let x86 = run_on(
            Isa::X86_64,
            &bzip2,
            &RunSpec::new(args).cwd(dir_of(Isa::X86_64)),
        );
        let a64 = run_on(
            Isa::Aarch64,
            &bzip2,
            &RunSpec::new(args).cwd(dir_of(Isa::Aarch64)),
        );
        assert_same_output(&what, &x86, &a64);
    }
    assert_same_file(
        "a.txt.bz2",
        &dir_of(Isa::X86_64).join("a.txt.bz2"),
        &dir_of(Isa::Aarch64).join("a.txt.bz2"),
    );
    let tested = run_on(
        Isa::X86_64,
        &bzip2,
        &RunSpec::new(&["-t", "damaged.bz2"]).cwd(dir_of(Isa::X86_64)),
    );
    assert_eq!(
        tested.status.code(),
        Some(2),
        "bzip2 -t damaged.bz2 should exit 2\n{}",
        show_output(&tested)
    );

    // bzip2recover: same messages, status and block files on both ISAs. (With musl it stops
    // with "I/O error reading" after the first block, also when built by musl-gcc: a
    // glibc/musl difference, not unimig's; so only agreement is checked.)
    let recover = src.join("bzip2recover");
    let x86 = run_on(
        Isa::X86_64,
        &recover,
        &RunSpec::new(&["s3.bz2"]).cwd(dir_of(Isa::X86_64)),
    );
    let a64 = run_on(
        Isa::Aarch64,
        &recover,
        &RunSpec::new(&["s3.bz2"]).cwd(dir_of(Isa::Aarch64)),
    );
    assert_same_output("bzip2recover", &x86, &a64);
    let listing = |isa: Isa| {
        let mut names: Vec<String> = fs::read_dir(dir_of(isa))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("rec"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        listing(Isa::X86_64),
        listing(Isa::Aarch64),
        "bzip2recover wrote different files"
    );
    for name in listing(Isa::X86_64) {
        assert_same_file(
            &name,
            &dir_of(Isa::X86_64).join(&name),
            &dir_of(Isa::Aarch64).join(&name),
        );
    }
}
