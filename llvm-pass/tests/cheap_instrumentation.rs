//! What keeps the instrumentation cheap, on tests/c/tails.c: sibling calls (src/sibcall.rs)
//! stay plain calls and both back ends emit them as jumps (checked in the objects), identically
//! on both ISAs, while calls the back ends would not turn into jumps stay statepoints; a shadow
//! frame whose locals are used on one path only is made on that path (src/shadow.rs,
//! `FrameRegion`), one used in a loop at entry; a loop that calls a polling function on every
//! iteration has no poll of its own; an entry poll goes where the function's calls are
//! (entry_polls.c); the migration point is a preserve_all call; a poll loads the flag into a
//! register. (run.rs runs
//! the sample natively on both ISAs against plain clang; tests/tests/migration.rs migrates a
//! program built on the same shapes.)

mod common;

use std::process::Command;

use unimig_llvm_pass::*;

fn sample() -> std::path::PathBuf {
    common::c_dir().join("tails.c")
}

fn compile_both(opts: &Options) -> PairOutput {
    compile_file(&sample(), opts)
}

fn compile_file(src: &std::path::Path, opts: &Options) -> PairOutput {
    let x = common::frontend(src, Isa::X86_64, OptLevel::O2);
    let a = common::frontend(src, Isa::Aarch64, OptLevel::O2);
    compile_pair(&x, &a, opts).unwrap()
}

/// Callees of `function`'s stackmapped call sites, migration points aside.
fn stackmapped_callees(report: &Report, function: &str) -> Vec<String> {
    report
        .call_sites
        .iter()
        .filter(|c| c.function == function && !c.migration_point)
        .filter_map(|c| c.callee.clone())
        .collect()
}

/// `(mnemonic, target)` of each relocated instruction in `object`'s disassembly, e.g.
/// `("jmp", "op_add")` (a static function's relocation names its section, `.text.op_add`).
fn relocated_instructions(object: &[u8]) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_temp(dir.path(), "x.o", object);
    let text = common::run(
        Command::new(common::tool("llvm-objdump"))
            .args(["-d", "-r", "--no-show-raw-insn"])
            .arg(&path),
    );
    let mut out = Vec::new();
    let mut mnemonic = String::new();
    for l in text.lines() {
        let Some((_, rest)) = l.split_once(':') else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let Some(first) = words.next() else { continue };
        if first.starts_with("R_") {
            // "  0000000000000015:  R_X86_64_PLT32  .text.op_add-0x4", after its instruction.
            let target = words.next().unwrap_or_default();
            let target = target.split(['-', '+']).next().unwrap_or_default();
            let target = target.strip_prefix(".text.").unwrap_or(target);
            out.push((mnemonic.clone(), target.to_string()));
        } else {
            mnemonic = first.to_string();
        }
    }
    out
}

#[test]
fn tail_calls_stay_jumps_on_both_isas() {
    let pair = compile_both(&Options::default());
    let (x, a) = (&pair.x86_64.report, &pair.aarch64.report);
    // dispatch's three calls (calls_many's is not one).
    assert!(x.sibling_calls >= 3, "{}", x.sibling_calls);
    assert_eq!(x.sibling_calls, a.sibling_calls);
    assert_eq!(x.sibling_calls_folded, a.sibling_calls_folded);
    // The switch's arms branch to one return block: their returns are folded into the arms.
    assert!(x.sibling_calls_folded >= 2, "{}", x.sibling_calls_folded);
    for r in [x, a] {
        assert!(
            stackmapped_callees(r, "dispatch").is_empty(),
            "{:?}",
            r.call_sites
        );
        // Nine arguments do not fit in registers: a statepoint.
        assert_eq!(stackmapped_callees(r, "calls_many"), ["many"]);
    }
    let xb = relocated_instructions(&pair.x86_64.object);
    let ab = relocated_instructions(&pair.aarch64.object);
    for op in ["op_add", "op_mul", "op_sub"] {
        assert!(
            xb.contains(&("jmp".into(), op.into())),
            "x86-64 {op}: {xb:?}"
        );
        assert!(
            !xb.iter().any(|(m, t)| m.starts_with("call") && t == op),
            "{xb:?}"
        );
        assert!(
            ab.contains(&("b".into(), op.into())),
            "AArch64 {op}: {ab:?}"
        );
        assert!(!ab.contains(&("bl".into(), op.into())), "{ab:?}");
    }
    assert!(
        xb.iter().any(|(m, t)| m.starts_with("call") && t == "many"),
        "{xb:?}"
    );
    assert!(ab.contains(&("bl".into(), "many".into())), "{ab:?}");
}

#[test]
fn without_sibling_calls_every_call_is_stackmapped() {
    let opts = Options {
        sibling_calls: false,
        ..Options::default()
    };
    let pair = compile_both(&opts);
    for r in [&pair.x86_64.report, &pair.aarch64.report] {
        assert_eq!(r.sibling_calls, 0);
        let mut callees = stackmapped_callees(r, "dispatch");
        callees.sort();
        assert_eq!(callees, ["op_add", "op_mul", "op_sub"]);
    }
}

#[test]
fn frames_are_made_where_their_locals_are_used() {
    let pair = compile_both(&Options::default());
    let frames = &pair.x86_64.report.shadow_frames;
    assert_eq!(frames, &pair.aarch64.report.shadow_frames);
    let frame = |name: &str| frames.iter().find(|f| f.function == name).unwrap();
    assert!(frame("rare_local").shrink_wrapped, "{frames:?}");
    assert!(!frame("loop_local").shrink_wrapped, "{frames:?}");
    // The rare path's frame is read back from the shadow pointer after fill returns: nothing
    // is live across the call, not even the frame.
    for r in [&pair.x86_64.report, &pair.aarch64.report] {
        let site = r
            .call_sites
            .iter()
            .find(|c| c.function == "rare_local" && c.callee.as_deref() == Some("fill"))
            .unwrap();
        assert_eq!(site.num_live, 0, "{site:?}");
    }
}

/// Migration-point sites of `function`.
fn polls(report: &Report, function: &str) -> usize {
    report
        .call_sites
        .iter()
        .filter(|c| c.function == function && c.migration_point)
        .count()
}

#[test]
fn loops_that_call_a_polling_function_have_no_poll_of_their_own() {
    let pair = compile_both(&Options::default());
    let (x, a) = (&pair.x86_64.report, &pair.aarch64.report);
    assert_eq!(x.backedge_polls_elided, a.backedge_polls_elided);
    assert!(x.backedge_polls_elided >= 1, "{}", x.backedge_polls_elided);
    for r in [x, a] {
        // main's loop calls dispatch (defined above it, polling at entry) every iteration:
        // main polls at entry only.
        assert_eq!(polls(r, "main"), 1, "{:?}", r.call_sites);
        // loop_local calls fill on every third iteration only: its loop keeps its poll.
        assert_eq!(polls(r, "loop_local"), 2, "{:?}", r.call_sites);
    }
}

/// `short_loops.c`: an innermost loop without calls and with a small constant maximum trip
/// count, or bounded by the fixed-size local table it walks, has no poll (its enclosing loop
/// has one); a loop with a run-time count, a constant count above the limit, a walk through a
/// table of unknown or too large a size, or a call keeps its poll. The same on both ISAs.
#[test]
fn short_loops_have_no_poll_of_their_own() {
    let src = common::c_dir().join("short_loops.c");
    let pair = compile_file(&src, &Options::default());
    let (x, a) = (&pair.x86_64.report, &pair.aarch64.report);
    assert_eq!(x.short_loop_backedges, a.short_loop_backedges);
    assert!(x.short_loop_backedges >= 1, "{}", x.short_loop_backedges);
    for r in [x, a] {
        // Leaves: no entry polls, so every poll here is a loop's.
        assert_eq!(polls(r, "sum_rows"), 1, "{:?}", r.call_sites);
        assert_eq!(polls(r, "unbounded"), 1, "{:?}", r.call_sites);
        assert_eq!(polls(r, "long_loop"), 1, "{:?}", r.call_sites);
        // An entry poll (puts is not a library function here, so its call is stackmapped)
        // and the loop's.
        assert_eq!(polls(r, "calls"), 2, "{:?}", r.call_sites);
        // The search within a local 256-byte table is short: the loop over the input polls.
        assert_eq!(polls(r, "search_local"), 1, "{:?}", r.call_sites);
    }
    // With the limit at 0 the row loop polls too.
    let every = compile_file(
        &src,
        &Options {
            short_loop_limit: 0,
            ..Options::default()
        },
    );
    let limited = [&pair.x86_64.report, &pair.aarch64.report];
    for (r, l) in [&every.x86_64.report, &every.aarch64.report]
        .into_iter()
        .zip(limited)
    {
        assert_eq!(r.short_loop_backedges, 0);
        assert_eq!(polls(r, "sum_rows"), 2, "{:?}", r.call_sites);
        assert!(polls(r, "search_local") > 1, "{:?}", r.call_sites);
        // The search in a table of unknown size, or one of 65536 bytes, is not short: it
        // polls as often with the limit as without.
        for f in ["search_given", "search_big"] {
            assert!(polls(r, f) > 1, "{f}: {:?}", r.call_sites);
            assert_eq!(polls(l, f), polls(r, f), "{f}: {:?}", l.call_sites);
        }
    }
}

/// The entry block of `function` in `ir` (up to its first blank line or label).
fn entry_block<'a>(ir: &'a str, function: &str) -> &'a str {
    let start = ir
        .find(&format!("@{function}("))
        .and_then(|i| ir[i..].find('{').map(|j| i + j + 1))
        .unwrap_or_else(|| panic!("no {function} in\n{ir}"));
    let body = &ir[start..];
    let end = body.find("\n\n").unwrap_or(body.len());
    &body[..end]
}

/// `entry_polls.c`: a function polls below its entry block, where its calls are, unless a loop
/// relies on it polling on every call; identically on both ISAs. Without the option, every
/// non-leaf function polls in its entry block.
#[test]
fn entry_polls_go_where_the_calls_are() {
    let src = common::c_dir().join("entry_polls.c");
    let pair = compile_file(&src, &Options::default());
    let (x, a) = (&pair.x86_64.report, &pair.aarch64.report);
    assert_eq!(x.entry_polls, a.entry_polls);
    assert_eq!(x.entry_polls_sunk, a.entry_polls_sunk);
    // ack (onto the edge into its loop) and checked (into the branch that calls); fib's and
    // main's stay (main's calls are in its entry block).
    assert_eq!(x.entry_polls_sunk, 2, "{x:?}");
    for isa in [Isa::X86_64, Isa::Aarch64] {
        let ir = |opts: &Options| {
            let bc = common::frontend(&src, isa, OptLevel::O2);
            optimized_ir(&bc, isa, opts, true).unwrap()
        };
        let polls_first =
            |ir: &str, f: &str| entry_block(ir, f).contains("__unimig_migrate_requested");
        let sunk = ir(&Options::default());
        for (f, in_entry_block) in [("ack", false), ("checked", false), ("fib", true)] {
            assert_eq!(
                polls_first(&sunk, f),
                in_entry_block,
                "{isa:?}: {}",
                entry_block(&sunk, f)
            );
        }
        let at_entry = ir(&Options {
            sink_entry_polls: false,
            ..Options::default()
        });
        for f in ["ack", "checked", "fib"] {
            assert!(
                polls_first(&at_entry, f),
                "{isa:?}: {}",
                entry_block(&at_entry, f)
            );
        }
    }
}

/// `noreturn_tail.c`: the block after an entry poll holds a noreturn call and has two
/// predecessors (the poll's runtime call and its fall-through). LLVM's tail duplication, on in
/// every unimig compile, would copy the call into both; the block is kept whole, so every
/// record ID has one record (one return address) in each ISA's object.
///
/// With the marker limited to blocks of no instructions (none is marked), the first object
/// has an ID twice (this sample was chosen for that); the pipeline sees it and generates the
/// object again with every call block marked.
#[test]
fn call_blocks_are_not_tail_duplicated() {
    let src = common::c_dir().join("noreturn_tail.c");
    for limit in [Options::default().call_block_marker_limit, 0] {
        let opts = Options {
            call_block_marker_limit: limit,
            ..Options::default()
        };
        let pair = compile_file(&src, &opts);
        for out in [&pair.x86_64, &pair.aarch64] {
            let records = stackmap_summary(&out.object).unwrap();
            let mut ids: Vec<u64> = records.iter().map(|r| r.0).collect();
            assert!(ids.len() >= 3, "{records:?}");
            ids.dedup();
            assert_eq!(
                ids.len(),
                records.len(),
                "limit {limit}: an ID twice: {records:?}"
            );
        }
    }
}

#[test]
fn the_migration_point_preserves_all_registers() {
    let ir = |opts: &Options| {
        let bc = common::frontend(&sample(), Isa::Aarch64, OptLevel::O2);
        optimized_ir(&bc, Isa::Aarch64, opts, true).unwrap()
    };
    let on = ir(&Options::default());
    assert!(
        on.lines()
            .any(|l| l.contains("preserve_allcc void @__unimig_migration_point()")),
        "{on}"
    );
    assert!(
        on.contains("call preserve_allcc token"),
        "the statepoints take the convention"
    );
    let off = ir(&Options {
        poll_preserves_all: false,
        ..Options::default()
    });
    assert!(!off.contains("preserve_allcc"));
}

/// A poll loads the flag into a register and tests it there: on x86-64 `movl flag(%rip), %eax;
/// testl; jne`, not `cmpl $0, flag(%rip); jne` (three micro-ops instead of two, measured slower:
/// `build_flag_test` in src/instrument.rs). So every instruction that names the flag is a load
/// (AArch64: the `adrp` of its page and the `ldr`).
#[test]
fn polls_load_the_flag_into_a_register() {
    let pair = compile_both(&Options::default());
    let loads: [(Isa, &Output, &[&str]); 2] = [
        (Isa::X86_64, &pair.x86_64, &["movl", "mov"]),
        (Isa::Aarch64, &pair.aarch64, &["adrp", "ldr"]),
    ];
    for (isa, out, loads) in loads {
        let uses: Vec<String> = relocated_instructions(&out.object)
            .into_iter()
            .filter(|(_, target)| target == MIGRATE_FLAG)
            .map(|(mnemonic, _)| mnemonic)
            .collect();
        assert!(uses.len() >= 2, "polls in tails.c: {uses:?}");
        assert!(
            uses.iter().all(|m| loads.contains(&m.as_str())),
            "{isa:?}: {uses:?}"
        );
    }
}
