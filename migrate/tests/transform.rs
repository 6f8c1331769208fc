//! The transformation on real stacks: programs built with the staged unimig-cc, stacks captured
//! from native x86-64 runs (tests/support), moved to AArch64 and back.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use unimig_common::Isa;
use unimig_migrate::image::Value;
use unimig_migrate::{
    describe_with, transform_with, Checkpoint, FrameFault, FrameInfo, Image, ImageError, Options,
    Stop, TransformError,
};

struct Program {
    x86: Image,
    a64: Image,
    main: u64,
    bytes: Vec<u8>,
}

fn load(exe: &Path) -> Program {
    let bytes = std::fs::read(exe).unwrap();
    let x86 = Image::from_executable(&bytes, Isa::X86_64).unwrap();
    let a64 = Image::from_executable(&bytes, Isa::Aarch64).unwrap();
    let main = x86.function_address("main").unwrap();
    assert_eq!(a64.function_address("main"), Some(main), "main differs");
    Program {
        x86,
        a64,
        main,
        bytes,
    }
}

/// Stop at `main`: the images of today are entered by musl, not from `__unimig_main_return`.
fn at_main(p: &Program) -> Options {
    Options {
        stop: Stop::Function(p.main),
        require_image_id: false,
        allow_unsafe_sites: false,
    }
}

/// [`at_main`] for the round-trip tests, which compare record values only: some of their
/// frames stop at unsafe sites (recurse.c's `probe`, see docs/migration.md "Known gap").
fn at_main_comparing_records(p: &Program) -> Options {
    Options {
        allow_unsafe_sites: true,
        ..at_main(p)
    }
}

/// x86-64 -> AArch64 -> x86-64, through the file format each time; checks that both
/// directions keep every frame and every live value. Returns the frames of the original and
/// the number of x86-64 stack slots compared byte for byte.
fn round_trip(p: &Program, c0: &Checkpoint<'_>) -> (Vec<FrameInfo>, usize) {
    let opts = at_main_comparing_records(p);
    let f0 = describe_with(&p.x86, c0, &opts).unwrap();
    let b1 = transform_with(&p.x86, &p.a64, c0, &opts)
        .unwrap()
        .to_bytes();
    let c1 = Checkpoint::parse(&b1).unwrap();
    assert_eq!(c1.header.isa, u32::from(object::elf::EM_AARCH64));
    let f1 = describe_with(&p.a64, &c1, &opts).unwrap();
    assert_eq!(f1.len(), f0.len());
    for (a, b) in f0.iter().zip(&f1) {
        assert_eq!(
            (&a.function, a.record_id, &a.live_values),
            (&b.function, b.record_id, &b.live_values),
            "frame #{} on AArch64",
            a.index
        );
    }
    let top = f0.last().unwrap().cfa;
    assert_eq!(f1.last().unwrap().cfa, top);
    // Above main's CFA (musl's frames, argv) nothing changes; below, only the new frames.
    let (m0, m1) = (memory(c0), memory(&c1));
    assert_eq!(
        m0.range(top..).collect::<Vec<_>>(),
        m1.range(top..).collect::<Vec<_>>()
    );
    assert_eq!(m1.range(..top).next().map(|b| *b.0), Some(f1[0].sp));

    let b2 = transform_with(&p.a64, &p.x86, &c1, &opts)
        .unwrap()
        .to_bytes();
    let c2 = Checkpoint::parse(&b2).unwrap();
    assert_eq!(describe_with(&p.x86, &c2, &opts).unwrap(), f0);
    let slots = assert_same_slots(&p.x86, c0, &c2, &f0);
    (f0, slots)
}

/// The bytes of a checkpoint's DATA records, by address.
fn memory(c: &Checkpoint<'_>) -> BTreeMap<u64, u8> {
    let mut m = BTreeMap::new();
    for (addr, bytes) in c.records.iter().filter_map(|r| r.as_data()) {
        for (i, &v) in bytes.iter().enumerate() {
            m.insert(addr + i as u64, v);
        }
    }
    m
}

/// Every `[sp + offset]` location of every frame holds the same bytes in both checkpoints;
/// returns how many locations were compared.
fn assert_same_slots(
    img: &Image,
    a: &Checkpoint<'_>,
    b: &Checkpoint<'_>,
    frames: &[FrameInfo],
) -> usize {
    let (ma, mb) = (memory(a), memory(b));
    let mut slots = 0;
    for f in frames {
        let site = img.site_at(f.return_address).unwrap();
        for l in &site.locations {
            if let Value::Indirect(7, off) = l.value {
                let at = f.sp.wrapping_add_signed(off.into());
                for k in 0..u64::from(l.size) {
                    assert_eq!(ma.get(&(at + k)), mb.get(&(at + k)), "byte {:#x}", at + k);
                }
                slots += 1;
            }
        }
    }
    slots
}

fn functions(frames: &[FrameInfo]) -> Vec<&str> {
    frames.iter().map(|f| f.function.as_str()).collect()
}

#[test]
fn recursion_with_doubles_round_trips() {
    let dir = unimig_tests::temp_dir("migrate-recurse");
    let exe = support::build("recurse", dir.path());
    let p = load(&exe);
    let c0 = support::capture_x86_64(&exe, &[]);
    let (frames, _) = round_trip(&p, &c0);
    let names = functions(&frames);
    assert_eq!(names.len(), 153, "{names:?}");
    assert_eq!(names[0], "probe");
    assert!(names[1..152].iter().all(|n| *n == "walk"), "{names:?}");
    assert_eq!(names[152], "main");
    // walk(n, x, y) keeps x = 1.5^(150-n) and y = 2 + 0.25 (150-n) live across its call (n >= 1,
    // frame index n + 1). They are in stack slots on x86-64 and in d8-d15 on AArch64, so the
    // AArch64 leg of the round trip moved them between the two.
    let (mut x, mut y) = (1.0f64, 2.0f64);
    for n in (1..=150usize).rev() {
        let f = &frames[n + 1];
        assert!(
            f.live_values.contains(&x.to_bits()) && f.live_values.contains(&y.to_bits()),
            "walk({n}) frame lacks x = {x} or y = {y}: {:x?}",
            f.live_values
        );
        (x, y) = (x * 1.5, y + 0.25);
    }
}

#[test]
fn callee_saved_integers_and_function_pointers_round_trip() {
    let dir = unimig_tests::temp_dir("migrate-many");
    let exe = support::build("many", dir.path());
    let p = load(&exe);
    let c0 = support::capture_x86_64(&exe, &[]);
    let (frames, slots) = round_trip(&p, &c0);
    assert!(slots >= 10, "only {slots} stack slots compared");
    // stop_here sets the flag; the next poll is at the entry of f (add or mul) in level(0).
    let names = functions(&frames);
    assert!(["add", "mul"].contains(&names[0]), "{names:?}");
    assert_eq!(names[1..8], ["level"; 7], "{names:?}");
    assert_eq!(names[8..], ["main"], "{names:?}");
    let add = p.x86.function_address("add").unwrap();
    let mul = p.x86.function_address("mul").unwrap();
    for f in frames.iter().filter(|f| f.function == "level") {
        // seed = 3: a..j = 33 39 51 57 69 87 93 111 (the optimiser folds some into sums).
        let found = [33u64, 39, 51, 57, 69, 87, 93, 111]
            .iter()
            .filter(|v| f.live_values.contains(v))
            .count();
        assert!(found >= 2, "level frame values {:?}", f.live_values);
        let depth = f.index as u64 - 1;
        assert!(
            f.live_values.contains(&depth),
            "depth {depth} not in {:?}",
            f.live_values
        );
        // level(0) is inside f, so only g is still needed; the others call level with both live.
        let pointers = [add, mul]
            .iter()
            .filter(|v| f.live_values.contains(v))
            .count();
        assert!(
            pointers == if f.index == 1 { 1 } else { 2 },
            "function pointers missing from {:x?}",
            f.live_values
        );
    }
}

#[test]
fn refuses_a_frame_without_a_record() {
    let dir = unimig_tests::temp_dir("migrate-qsort");
    let exe = support::build("qsort", dir.path());
    let p = load(&exe);
    let c0 = support::capture_x86_64(&exe, &[]);
    let err = transform_with(&p.x86, &p.a64, &c0, &at_main(&p)).unwrap_err();
    match &err {
        TransformError::Frame(e) => {
            assert_eq!(e.fault, FrameFault::NoRecord, "{err}");
            assert_eq!(e.frame.index, 1, "{err}");
            assert_eq!(e.frame.record, None);
        }
        other => panic!("expected a frame refusal, got {other}"),
    }
    let msg = err.to_string();
    eprintln!("refusal: {msg}");
    assert!(msg.starts_with("x86_64 frame #1 ("), "{msg}");
    assert!(msg.contains("no stackmap record"), "{msg}");
}

#[test]
fn refuses_truncated_input() {
    let dir = unimig_tests::temp_dir("migrate-trunc");
    let exe = support::build("many", dir.path());
    let p = load(&exe);
    let c0 = support::capture_x86_64(&exe, &[]);
    // A stack cut short: the outer frames' slots are missing.
    let mut short = c0.clone();
    let (addr, bytes) = short.records[1].as_data().unwrap();
    short.records[1] = unimig_migrate::Record::data(addr, &bytes[..64]);
    let err = transform_with(&p.x86, &p.a64, &short, &at_main(&p)).unwrap_err();
    assert!(
        matches!(&err, TransformError::Frame(e) if matches!(e.fault, FrameFault::Memory { .. })),
        "{err}"
    );
    // A file cut short.
    let bytes = c0.to_bytes();
    assert!(matches!(
        Checkpoint::parse(&bytes[..bytes.len() - 1]),
        Err(unimig_migrate::CheckpointError::Truncated { .. })
    ));
    // A checkpoint of the wrong ISA.
    let err = transform_with(&p.a64, &p.x86, &c0, &at_main(&p)).unwrap_err();
    assert!(
        matches!(
            err,
            TransformError::Checkpoint(unimig_migrate::CheckpointError::WrongIsa { .. })
        ),
        "{err}"
    );
}

/// The contract's own mode (stop at `__unimig_main_return`, image ids checked): on images
/// whose runtime defines the two symbols it must give the same frames as stopping at `main`;
/// on older images it must refuse by naming the missing symbol.
#[test]
fn contract_mode_needs_the_runtime_symbols() {
    let dir = unimig_tests::temp_dir("migrate-contract");
    let exe = support::build("recurse", dir.path());
    let p = load(&exe);
    let c0 = support::capture_x86_64(&exe, &["5"]);
    let has = support::symbol(&p.bytes, "__unimig_image_id").is_some()
        && support::symbol(&p.bytes, "__unimig_main_return").is_some();
    let contract = Options {
        allow_unsafe_sites: true, // recurse.c's probe frame: see at_main_comparing_records
        ..Options::default()
    };
    let got = transform_with(&p.x86, &p.a64, &c0, &contract);
    if has {
        let c1 = got.unwrap();
        let f0 = describe_with(&p.x86, &c0, &at_main(&p)).unwrap();
        let f1 = unimig_migrate::describe(&p.a64, &c1).unwrap();
        assert_eq!(
            f1.last().unwrap().cfa,
            unimig_migrate::UNIMIG_MAIN_STACK_TOP
        );
        assert_eq!(functions(&f0), functions(&f1));
    } else {
        let err = got.unwrap_err();
        assert!(
            matches!(err, TransformError::Image(ImageError::MissingSymbol { .. })),
            "{err}"
        );
        assert!(err.to_string().contains("__unimig_"), "{err}");
    }
}

/// Prints the time to transform a 20-frame stack (goal: < 100 us) and fails only far above it.
#[test]
fn twenty_frames_are_fast() {
    let dir = unimig_tests::temp_dir("migrate-speed");
    let exe = support::build("recurse", dir.path());
    let p = load(&exe);
    let c0 = support::capture_x86_64(&exe, &["18"]);
    let opts = at_main_comparing_records(&p);
    assert_eq!(describe_with(&p.x86, &c0, &opts).unwrap().len(), 21);
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = std::time::Instant::now();
        let c1 = transform_with(&p.x86, &p.a64, &c0, &opts).unwrap();
        std::hint::black_box(c1);
        times.push(t.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    eprintln!(
        "transform of 21 frames, x86_64 -> aarch64: median {median:?}, min {:?}",
        times[0]
    );
    assert!(median.as_micros() < 2000, "median {median:?}");
}

/// Every record's address is a return address: the instruction before it is a call
/// (x86-64 `call`, AArch64 `bl`/`blr`), on both ISAs.
#[test]
fn record_addresses_are_return_addresses() {
    let dir = unimig_tests::temp_dir("migrate-ra");
    for prog in ["recurse", "many", "qsort"] {
        let exe = support::build(prog, dir.path());
        let p = load(&exe);
        let a64_path = dir.path().join(format!("{prog}.aarch64"));
        std::fs::write(
            &a64_path,
            unimig_common::fat::aarch64_image(&p.bytes).unwrap(),
        )
        .unwrap();
        for (img, path) in [(&p.x86, exe.as_path()), (&p.a64, a64_path.as_path())] {
            let out = Command::new("llvm-objdump-19")
                .args(["-d", "--no-show-raw-insn"])
                .arg(path)
                .output()
                .expect("running llvm-objdump-19");
            assert!(out.status.success());
            // address -> mnemonic, for every instruction of the image.
            let mut insns = BTreeMap::new();
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let Some((addr, rest)) = line.trim_start().split_once(':') else {
                    continue;
                };
                let (Ok(addr), Some(mnemonic)) = (
                    u64::from_str_radix(addr, 16),
                    rest.split_whitespace().next(),
                ) else {
                    continue;
                };
                insns.insert(addr, mnemonic.to_string());
            }
            assert!(!img.sites().is_empty());
            for s in img.sites() {
                assert!(
                    insns.contains_key(&s.address),
                    "{:#x} is not an instruction",
                    s.address
                );
                let (at, before) = insns.range(..s.address).next_back().unwrap();
                let is_call = match img.isa() {
                    Isa::X86_64 => before.starts_with("call"),
                    Isa::Aarch64 => before == "bl" || before == "blr",
                };
                assert!(
                    is_call,
                    "{prog} {}: record {:#x} at {:#x} follows `{before}` at {at:#x}",
                    img.isa(),
                    s.id,
                    s.address
                );
                assert!(s.frame.is_ok(), "{:?}", s.frame);
            }
        }
    }
}

/// The AArch64 image of `exe` rewritten by llvm-objcopy with `args`, parsed.
fn objcopied_a64(p: &Program, dir: &Path, args: &[&str]) -> Image {
    let a64 = unimig_common::fat::aarch64_image(&p.bytes).unwrap();
    let (input, output) = (dir.join("in.aarch64"), dir.join("out.aarch64"));
    std::fs::write(&input, a64).unwrap();
    let mut cmd = Command::new("llvm-objcopy-19");
    cmd.args(args).arg(&input).arg(&output);
    unimig_tests::check(&mut cmd);
    Image::parse(&std::fs::read(&output).unwrap()).unwrap()
}

/// Every little-endian u64 of the checkpoint's REGS and DATA records, 8-aligned.
fn words(c: &Checkpoint<'_>) -> Vec<u64> {
    c.records
        .iter()
        .flat_map(|r| r.payload.chunks_exact(8))
        .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
        .collect()
}

#[test]
fn fixups_recreate_constants_the_record_does_not_list() {
    use unimig_migrate::fixups::{Place, Recipe};
    let dir = unimig_tests::temp_dir("migrate-fixups");
    let exe = support::build("fixups", dir.path());
    let p = load(&exe);
    let c0 = support::capture_x86_64(&exe, &[]);
    let opts = at_main(&p);
    let frames = describe_with(&p.x86, &c0, &opts).unwrap();
    let sum = frames
        .iter()
        .find(|f| f.function == "sum_table")
        .expect("sum_table is on the stack");
    let fixups = p.a64.fixups(sum.record_id);
    assert!(!fixups.is_empty(), "no AArch64 fixups for sum_table's call");
    assert!(!p.a64.is_unsafe(sum.record_id) && !p.x86.is_unsafe(sum.record_id));
    // The linker resolved the symbol: table's address (or its page).
    let table = support::symbol(&p.bytes, "table").unwrap();
    let values: Vec<u64> = fixups.iter().map(|f| f.value(None, &[]).unwrap()).collect();
    for f in fixups {
        assert!(matches!(f.place, Place::Register(19..=28)), "{f:?}");
        match f.recipe {
            Recipe::Address(a) => assert_eq!(a, table, "{f:?}"),
            Recipe::Page(a) => assert_eq!(a, table & !0xfff, "{f:?}"),
            other => panic!("unexpected recipe {other:?}"),
        }
    }
    // The values reach the destination registers or save slots, and only through the fixups.
    let with = transform_with(&p.x86, &p.a64, &c0, &opts).unwrap();
    let without = objcopied_a64(&p, dir.path(), &["--remove-section=.unimig.fixups"]);
    assert!(without.fixups(sum.record_id).is_empty());
    let plain = transform_with(&p.x86, &without, &c0, &opts).unwrap();
    for v in values {
        assert!(words(&with).contains(&v), "{v:#x} not written");
        assert!(!words(&plain).contains(&v), "{v:#x} arrives without fixups");
    }
}

#[test]
fn refuses_a_frame_at_an_unsafe_site() {
    let dir = unimig_tests::temp_dir("migrate-unsafe");
    let exe = support::build("fixups", dir.path());
    let p = load(&exe);
    let c0 = support::capture_x86_64(&exe, &[]);
    let opts = at_main(&p);
    let frames = describe_with(&p.x86, &c0, &opts).unwrap();
    let sum = frames.iter().find(|f| f.function == "sum_table").unwrap();
    let ids = dir.path().join("ids");
    std::fs::write(&ids, sum.record_id.to_le_bytes()).unwrap();
    let section = format!(".unimig.unsafe_sites={}", ids.display());
    let listed = objcopied_a64(&p, dir.path(), &["--add-section", &section]);
    assert!(listed.is_unsafe(sum.record_id));
    let err = transform_with(&p.x86, &listed, &c0, &opts).unwrap_err();
    match &err {
        TransformError::Frame(e) => {
            assert_eq!(
                e.fault,
                FrameFault::UnsafeSite {
                    listed_in: Isa::Aarch64
                },
                "{err}"
            );
            assert_eq!(e.frame.index, sum.index);
            assert_eq!(e.frame.record, Some(sum.record_id));
        }
        other => panic!("expected a frame refusal, got {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("sum_table") && msg.contains("unsafe_sites"),
        "{msg}"
    );
    // The source image's list counts too: AArch64 (listing it) back to x86-64.
    let c1 = transform_with(&p.x86, &p.a64, &c0, &opts).unwrap();
    let err = transform_with(&listed, &p.x86, &c1, &opts).unwrap_err();
    match &err {
        TransformError::Frame(e) => assert_eq!(
            e.fault,
            FrameFault::UnsafeSite {
                listed_in: Isa::Aarch64
            },
            "{err}"
        ),
        other => panic!("expected a frame refusal, got {other}"),
    }
}
