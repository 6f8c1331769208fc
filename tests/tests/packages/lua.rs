//! Lua 5.4 (Debian's lua5.4, pristine upstream tarball): `make linux` and `make test` with the
//! upstream Makefile, then Lua scripts (tests/packages/lua/*.lua: language, library,
//! coroutines, CPU-bound work, errors caught by pcall, stdin and files, an uncaught error) run
//! by both ISAs' `lua`, and two of them migrated mid-run in both directions.

use std::fs;
use unimig_tests::*;

#[test]
fn lua() {
    let timer = Timer::start("pkg-lua");
    let pkg = super::build_package("lua5.4", "lua.sh", &timer);
    let lua = pkg.src.join("src/lua");
    let luac = pkg.src.join("src/luac");
    assert_layout_checked(&lua);
    assert_layout_checked(&luac);
    let scripts = tests_dir().join("packages/lua");

    // Scripts run from a copy, by relative path, so messages name them the same way.
    let dirs: Vec<_> = Isa::ALL
        .iter()
        .map(|isa| {
            let dir = pkg.tmp.path().join(format!("scripts-{}", isa.name()));
            copy_tree(&scripts, &dir);
            dir
        })
        .collect();
    let both = |what: &str, spec: &RunSpec, prog: &std::path::Path| {
        let x86 = run_on(Isa::X86_64, prog, &spec.clone().cwd(&dirs[0]));
        let a64 = run_on(Isa::Aarch64, prog, &spec.clone().cwd(&dirs[1]));
        assert_same_output(what, &x86, &a64);
        x86
    };

    // Migration mid-run, 24 requests spread over the run, from each ISA. Lua runs every chunk,
    // pcall and coroutine resume under luaD_rawrunprotected, which calls setjmp: its jmp_buf is
    // live at every point, so each migration rewrites it (migrate/src/jmpbuf.rs), and in
    // protected.lua errors longjmp into frames rebuilt on the other ISA all along. Measured:
    // compute.lua 19 of 24 (a few points fall at luaV_execute's last unsafe site), protected.lua
    // 24 of 24 with 2 live jmp_bufs each.
    //
    // The points stop at 24/28 of the counted total, not near its end: after the script, main
    // calls lua_close outside any protected call (no jmp_buf live; measured 4 frames, the last
    // ~1% of points), and the total moves between runs (compute.lua 14.7 M to 15.4 M: Lua
    // seeds its string hash with time(), which changes table layouts and GC work), so a point
    // at 24/25 of one run's total fell into another run's lua_close (CI, session 6).
    for (script, min) in [("compute.lua", 12), ("protected.lua", 18)] {
        let spec = RunSpec::new(&[script]).cwd(&dirs[0]);
        let native = run_on(Isa::X86_64, &lua, &spec);
        assert_success(script, &native);
        let counted = run_supervised(&lua, &spec, Isa::X86_64, &[]);
        let total = counted.report["points"].as_u64().expect("points counted");
        let points: Vec<u64> = (1..=24).map(|i| i * total / 28).collect();
        for start in Isa::ALL {
            let what = format!("lua {script} from {}", start.name());
            let run = run_supervised(&lua, &spec, start, &points);
            assert_same_output(&what, &native, &run.out);
            let moves = run.report["migrations"].as_array().expect("migrations");
            assert!(moves.len() >= min, "{what}: {:#}", run.report);
            let with_jmp_bufs = moves
                .iter()
                .filter(|m| m["jmp_bufs"].as_u64().unwrap_or(0) >= 1)
                .count();
            assert_eq!(with_jmp_bufs, moves.len(), "{what}: {:#}", run.report);
        }
    }

    for script in ["basics.lua", "coroutines.lua", "compute.lua"] {
        let out = both(script, &RunSpec::new(&[script]), &lua);
        assert_success(script, &out);
        assert!(
            out.stdout.len() > 300,
            "{script}: too little output\n{}",
            show_output(&out)
        );
    }

    let out = both("protected.lua", &RunSpec::new(&["protected.lua"]), &lua);
    assert_expected(
        "protected.lua",
        &out,
        b"pcall rounds\t750\t60750\t243324989\nxpcall tracebacks\t400\n\
          coroutines\t300\t1275,5050,11325,20100,20100,2550,10100,22650,40200,40200,3825,15150\n\
          coroutine sum\t8680410\n",
        b"",
        0,
    );

    // An uncaught error: message and traceback on stderr, exit status 1.
    let out = both("error.lua", &RunSpec::new(&["error.lua"]), &lua);
    assert_eq!(
        out.status.code(),
        Some(1),
        "lua error.lua should exit 1\n{}",
        show_output(&out)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error.lua:2: attempt to index a nil value (field 'missing')"),
        "{err}"
    );
    assert!(err.contains("stack traceback:"), "{err}");

    // stdin, a written and re-read file, the exit status from os.exit.
    let text: String = fs::read_to_string(pkg.src.join("doc/readme.html")).unwrap()
        + &fs::read_to_string(pkg.src.join("doc/manual.html")).unwrap();
    let out = both(
        "wordfreq.lua",
        &RunSpec::new(&["wordfreq.lua", "out.tsv"]).stdin(text),
        &lua,
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("reread\t100\t"),
        "{}",
        show_output(&out)
    );
    assert_eq!(out.stderr, b"wordfreq: done\n");
    assert_same_file(
        "out.tsv",
        &dirs[0].join("out.tsv"),
        &dirs[1].join("out.tsv"),
    );

    // The script on stdin and -e chunks; options after the script name belong to the script.
    let out = both(
        "lua -",
        &RunSpec::new(&["-e", "x = 6", "-", "-v", "--isa"])
            .stdin("print(x * 7, #arg, arg[1], arg[2])"),
        &lua,
    );
    assert_expected("lua -", &out, b"42\t2\t-v\t--isa\n", b"", 0);

    // luac: bytecode listing (addresses of function prototypes blanked: heap addresses are
    // not compared here), and bytecode compiled on one ISA runs on the other.
    let x86 = run_on(
        Isa::X86_64,
        &luac,
        &RunSpec::new(&["-l", "-l", "-p", "coroutines.lua"]).cwd(&dirs[0]),
    );
    let a64 = run_on(
        Isa::Aarch64,
        &luac,
        &RunSpec::new(&["-l", "-l", "-p", "coroutines.lua"]).cwd(&dirs[1]),
    );
    assert_success("luac -l", &x86);
    let (mut x86, mut a64) = (x86, a64);
    x86.stdout = blank_hex(&x86.stdout);
    a64.stdout = blank_hex(&a64.stdout);
    assert_same_output("luac -l -l -p", &x86, &a64);
    for isa in Isa::ALL {
        let dir = &dirs[if isa == Isa::X86_64 { 0 } else { 1 }];
        let out = run_on(
            isa,
            &luac,
            &RunSpec::new(&["-s", "-o", "compute.luac", "compute.lua"]).cwd(dir),
        );
        assert_success(&format!("luac on {}", isa.name()), &out);
    }
    assert_same_file(
        "compute.luac",
        &dirs[0].join("compute.luac"),
        &dirs[1].join("compute.luac"),
    );
    let x86_bytecode = run_on(
        Isa::Aarch64,
        &lua,
        &RunSpec::new(&["compute.luac"]).cwd(&dirs[0]),
    );
    let native_source = run_on(
        Isa::X86_64,
        &lua,
        &RunSpec::new(&["compute.lua"]).cwd(&dirs[0]),
    );
    assert_same_output(
        "bytecode from x86_64 luac run by aarch64 lua",
        &native_source,
        &x86_bytecode,
    );
}

/// Replaces every `0x` followed by hex digits with `0x?`.
fn blank_hex(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(b"0x") {
            out.extend_from_slice(b"0x?");
            i += 2;
            while i < data.len() && data[i].is_ascii_hexdigit() {
                i += 1;
            }
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}
