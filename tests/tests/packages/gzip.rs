//! gzip: a GNU autotools release (configure with gnulib's probes, `make`, `make check`, and
//! `make check` again with gzip's AArch64 half), then gzip compared across ISAs.

use std::fs;
use unimig_tests::*;

#[test]
fn gzip() {
    let timer = Timer::start("pkg-gzip");
    let pkg = super::build_package("gzip", "gzip.sh", &timer);
    let gzip = pkg.src.join("gzip");

    // Compressed bytes identical on both ISAs (-n: no name or time stamp in the header);
    // each ISA decompresses them.
    let mut input = fs::read(pkg.src.join("ChangeLog")).unwrap();
    input.extend(super::test_data(400_000));
    for level in ["-1", "-6", "-9", "--rsyncable"] {
        let what = format!("gzip -n {level}");
        let gz = run_both_same(
            &what,
            &gzip,
            &RunSpec::new(&["-n", level]).stdin(input.clone()),
        );
        assert_success(&what, &gz);
        for isa in Isa::ALL {
            let back = run_on(isa, &gzip, &RunSpec::new(&["-d"]).stdin(gz.stdout.clone()));
            assert_success(&format!("{what} | gzip -d on {}", isa.name()), &back);
            let label = format!("{what} round trip on {}", isa.name());
            assert_same_bytes(&label, &back.stdout, &input, "output", "input");
        }
    }

    // Files, listings, a damaged file, help and version: same output and status.
    let good = run_on(
        Isa::X86_64,
        &gzip,
        &RunSpec::new(&["-9"]).stdin(input.clone()),
    )
    .stdout;
    let mut damaged = good.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0xff;
    let dir_of = |isa: Isa| pkg.tmp.path().join(format!("files-{}", isa.name()));
    for isa in Isa::ALL {
        fs::create_dir_all(dir_of(isa)).unwrap();
        fs::write(dir_of(isa).join("data"), &input).unwrap();
        fs::write(dir_of(isa).join("good.gz"), &good).unwrap();
        fs::write(dir_of(isa).join("damaged.gz"), &damaged).unwrap();
    }
    let runs: [&[&str]; 7] = [
        &["-k", "-v", "-n", "data"],
        &["-l", "-v", "good.gz", "data.gz"],
        &["-t", "-v", "good.gz"],
        &["-t", "damaged.gz"],
        &["-d", "-c", "damaged.gz"],
        &["--help"],
        &["-V"],
    ];
    for args in runs {
        let what = format!("gzip {}", args.join(" "));
        let x86 = run_on(
            Isa::X86_64,
            &gzip,
            &RunSpec::new(args).cwd(dir_of(Isa::X86_64)),
        );
        let a64 = run_on(
            Isa::Aarch64,
            &gzip,
            &RunSpec::new(args).cwd(dir_of(Isa::Aarch64)),
        );
        assert_same_output(&what, &x86, &a64);
    }
    let x86_gz = dir_of(Isa::X86_64).join("data.gz");
    assert_same_file("data.gz", &x86_gz, &dir_of(Isa::Aarch64).join("data.gz"));
    let tested = run_on(
        Isa::X86_64,
        &gzip,
        &RunSpec::new(&["-t", "damaged.gz"]).cwd(dir_of(Isa::X86_64)),
    );
    assert_eq!(
        tested.status.code(),
        Some(1),
        "gzip -t damaged.gz should exit 1\n{}",
        show_output(&tested)
    );
}
