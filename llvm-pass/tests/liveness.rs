//! Liveness: hand-written IR with known answers, clang-generated IR at every -O level, and a
//! property test over random CFGs (loops, branches, switches, phis) against a brute-force
//! path-exploring checker.

mod common;

use common::Rng;
use unimig_llvm_pass::analysis::{analyze, FunctionAnalysis};
use unimig_llvm_pass::liveness::{brute_force_live_after, Liveness};
use unimig_llvm_pass::*;

fn one(ir: &str) -> FunctionAnalysis {
    let mut v = analyze(ir.as_bytes()).unwrap();
    assert_eq!(v.len(), 1);
    v.pop().unwrap()
}

/// The data-flow answer after every non-phi instruction equals the brute-force answer.
fn check_against_brute_force(fa: &FunctionAnalysis, what: &str) -> usize {
    let live = Liveness::compute(&fa.cfg);
    let mut checked = 0;
    for b in 0..fa.cfg.blocks.len() {
        let after = live.live_after_each(&fa.cfg, b);
        for (k, inst) in fa.cfg.blocks[b].insts.iter().enumerate() {
            if inst.phi.is_some() {
                continue;
            }
            let want = brute_force_live_after(&fa.cfg, b, k);
            assert_eq!(
                after[k].to_vec(),
                want,
                "{what}: function {} block {b} instruction {k}",
                fa.name
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn straight_line() {
    let fa = one(r#"
declare i32 @g(i32)
define i32 @f(i32 %a, i32 %b) {
  %x = add i32 %a, 1
  %r = call i32 @g(i32 %x)
  %y = add i32 %r, %b
  %r2 = call i32 @g(i32 %y)
  ret i32 %r2
}"#);
    // Across the first call: b (used later), not a (dead), not x (consumed by the call).
    assert_eq!(fa.live_names(), vec![vec!["b".to_string()], vec![]]);
}

#[test]
fn branches_and_phi_edge_uses() {
    let fa = one(r#"
declare i32 @g(i32)
define i32 @f(i32 %a, i32 %b, i1 %c) {
entry:
  %x = add i32 %a, 1
  %y = add i32 %a, 2
  %r = call i32 @g(i32 0)
  br i1 %c, label %left, label %right
left:
  br label %join
right:
  %z = mul i32 %b, 3
  br label %join
join:
  %p = phi i32 [ %x, %left ], [ %z, %right ]
  ret i32 %p
}"#);
    // x flows into the phi on the left edge: live. b is used on the right path: live.
    // y is never used. c is used by the branch.
    assert_eq!(fa.live_names(), vec![vec!["b", "c", "x"]]);
}

#[test]
fn loop_carried_values() {
    let fa = one(r#"
declare void @g(i32)
define i32 @f(i32 %n) {
entry:
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %i1, %loop ]
  %acc = phi i32 [ 0, %entry ], [ %acc1, %loop ]
  call void @g(i32 %i)
  %acc1 = add i32 %acc, %i
  %i1 = add i32 %i, 1
  %done = icmp eq i32 %i1, %n
  br i1 %done, label %exit, label %loop
exit:
  ret i32 %acc1
}"#);
    // Across the call: n (loop bound), i and acc (used after it in the same iteration).
    assert_eq!(fa.live_names(), vec![vec!["n", "i", "acc"]]);
}

#[test]
fn value_used_only_in_a_later_iteration() {
    let fa = one(r#"
declare void @g()
define i32 @f(i32 %n) {
entry:
  %k = add i32 %n, 7
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %i1, %body ]
  call void @g()
  %c = icmp slt i32 %i, %n
  br i1 %c, label %body, label %exit
body:
  %i1 = add i32 %i, %k
  br label %loop
exit:
  ret i32 %i
}"#);
    assert_eq!(fa.live_names(), vec![vec!["n", "k", "i"]]);
}

#[test]
fn static_allocas_and_lifetime_markers_are_not_values() {
    let fa = one(r#"
declare void @g(ptr)
declare void @llvm.lifetime.start.p0(i64, ptr)
declare void @llvm.lifetime.end.p0(i64, ptr)
define void @f(i32 %n) {
  %buf = alloca [16 x i8]
  %dyn = alloca i8, i32 %n
  call void @g(ptr %dyn)
  call void @llvm.lifetime.start.p0(i64 16, ptr %buf)
  call void @g(ptr %buf)
  call void @llvm.lifetime.end.p0(i64 16, ptr %buf)
  call void @g(ptr %dyn)
  ret void
}"#);
    // The static alloca is a frame object, never listed; the dynamic one is a value. The
    // lifetime markers' uses do not count; the marker calls themselves are calls too.
    let names = fa.live_names();
    assert_eq!(names[0], vec!["dyn"]);
    assert!(names.iter().all(|l| !l.contains(&"buf".to_string())));
}

#[test]
fn clang_ir_at_every_level_matches_brute_force() {
    for src in common::c_files() {
        for level in [
            OptLevel::O0,
            OptLevel::O1,
            OptLevel::O2,
            OptLevel::O3,
            OptLevel::Os,
            OptLevel::Oz,
        ] {
            for isa in Isa::ALL {
                let bc = common::frontend(&src, isa, level);
                let opts = Options {
                    opt_level: level,
                    ..Options::default()
                };
                let what = format!("{} {level:?} {}", src.display(), isa.name());
                // Both the optimised module and the instrumented one (with its new blocks,
                // counters and pieces).
                for instrumented in [false, true] {
                    let ir = optimized_ir(&bc, isa, &opts, instrumented).unwrap();
                    let mut n = 0;
                    for fa in analyze(ir.as_bytes()).unwrap() {
                        n += check_against_brute_force(&fa, &what);
                    }
                    assert!(n > 0, "{what}: nothing checked");
                }
            }
        }
    }
}

/// A random function: blocks with random successors (forward, backward, self loops, switches),
/// every block reachable, phis in blocks with several predecessors, and instructions whose
/// operands are chosen among the values that dominate them (so the IR is valid SSA).
fn random_function(rng: &mut Rng) -> String {
    let nblocks = 1 + rng.below(10);
    let nargs = 1 + rng.below(3);
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); nblocks];
    for b in 1..nblocks {
        let p = rng.below(b);
        if succs[p].len() < 3 {
            succs[p].push(b);
        } else {
            succs[b - 1].push(b);
        }
    }
    // Extra edges anywhere except to the entry block (LLVM forbids branching to it).
    if nblocks > 1 {
        for s in succs.iter_mut() {
            while s.len() < 3 && rng.chance(35) {
                s.push(1 + rng.below(nblocks - 1));
            }
        }
    }
    // The last block chain guarantees reachability only through pushes above; recompute
    // dominators with the library's own routine on a skeleton CFG.
    let skeleton = unimig_llvm_pass::cfg::Cfg {
        num_args: 0,
        arg_defines: vec![],
        blocks: succs
            .iter()
            .map(|s| unimig_llvm_pass::cfg::Block {
                insts: vec![],
                succs: s.clone(),
            })
            .collect(),
        num_values: 0,
    };
    let idom = unimig_llvm_pass::cfg::idoms(&skeleton);
    let preds = skeleton.preds();
    let rpo = skeleton.reverse_postorder();
    // Values defined in each block (names), generated in RPO so dominators come first.
    let mut defined: Vec<Vec<String>> = vec![Vec::new(); nblocks];
    let mut body: Vec<Vec<String>> = vec![Vec::new(); nblocks];
    let mut phis: Vec<Vec<String>> = vec![Vec::new(); nblocks]; // phi names
    let mut counter = 0;
    let args: Vec<String> = (0..nargs).map(|i| format!("a{i}")).collect();
    let dominators = |b: usize| {
        let mut v = Vec::new();
        let mut x = b;
        while let Some(p) = idom[x] {
            if p == x {
                break;
            }
            v.push(p);
            x = p;
        }
        v
    };
    for &b in &rpo {
        let mut avail: Vec<String> = args.clone();
        for d in dominators(b) {
            avail.extend(defined[d].iter().cloned());
        }
        if preds[b].len() >= 2 || (b != 0 && rng.chance(30)) {
            {
                for _ in 0..1 + rng.below(2) {
                    let name = format!("p{counter}");
                    counter += 1;
                    phis[b].push(name.clone());
                    defined[b].push(name.clone());
                    avail.push(name);
                }
            }
        }
        for _ in 0..rng.below(6) {
            let pick = |rng: &mut Rng, avail: &Vec<String>| avail[rng.below(avail.len())].clone();
            let name = format!("v{counter}");
            counter += 1;
            let line = match rng.below(4) {
                0 | 1 => format!(
                    "%{name} = add i32 %{}, %{}",
                    pick(rng, &avail),
                    pick(rng, &avail)
                ),
                2 => format!("%{name} = call i32 @ext(i32 %{})", pick(rng, &avail)),
                _ => {
                    body[b].push(format!("call void @sink(i32 %{})", pick(rng, &avail)));
                    format!("%{name} = call i32 @ext(i32 0)")
                }
            };
            body[b].push(line);
            defined[b].push(name.clone());
            avail.push(name);
        }
        // Terminator.
        let pick = |rng: &mut Rng| avail[rng.below(avail.len())].clone();
        let t = match succs[b].len() {
            0 => format!("ret i32 %{}", pick(rng)),
            1 => format!("br label %b{}", succs[b][0]),
            2 => {
                let c = format!("c{counter}");
                counter += 1;
                body[b].push(format!(
                    "%{c} = icmp slt i32 %{}, %{}",
                    pick(rng),
                    pick(rng)
                ));
                format!(
                    "br i1 %{c}, label %b{}, label %b{}",
                    succs[b][0], succs[b][1]
                )
            }
            _ => format!(
                "switch i32 %{}, label %b{} [ i32 1, label %b{}\n i32 2, label %b{} ]",
                pick(rng),
                succs[b][0],
                succs[b][1],
                succs[b][2]
            ),
        };
        body[b].push(t);
    }
    // Phi operands: per predecessor edge (one entry per edge, duplicates for a switch that
    // names the block twice), a value available at the end of the predecessor.
    let mut text = String::from("declare i32 @ext(i32)\ndeclare void @sink(i32)\n");
    let params: Vec<String> = args.iter().map(|a| format!("i32 %{a}")).collect();
    text += &format!("define i32 @f({}) {{\n", params.join(", "));
    for b in 0..nblocks {
        if idom[b].is_none() {
            continue; // unreachable blocks are not generated (nothing can branch to them)
        }
        text += &format!("b{b}:\n");
        for phi in &phis[b] {
            let mut entries = Vec::new();
            for p in 0..nblocks {
                if idom[p].is_none() {
                    continue;
                }
                let edges = succs[p].iter().filter(|&&s| s == b).count();
                if edges == 0 {
                    continue;
                }
                // Values of p itself are all defined before p's terminator. Several edges
                // from one block must carry the same value.
                let mut avail: Vec<String> = args.clone();
                avail.extend(defined[p].iter().cloned());
                for d in dominators(p) {
                    avail.extend(defined[d].iter().cloned());
                }
                let v = avail[rng.below(avail.len())].clone();
                for _ in 0..edges {
                    entries.push(format!("[ %{v}, %b{p} ]"));
                }
            }
            text += &format!("  %{phi} = phi i32 {}\n", entries.join(", "));
        }
        for line in &body[b] {
            text += &format!("  {line}\n");
        }
    }
    text += "}\n";
    text
}

#[test]
fn random_cfgs_match_brute_force() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0;
    for case in 0..400 {
        let text = random_function(&mut rng);
        let fa = analyze(text.as_bytes()).unwrap_or_else(|e| panic!("case {case}: {e}\n{text}"));
        for f in &fa {
            checked += check_against_brute_force(f, &format!("random case {case}:\n{text}"));
        }
    }
    assert!(checked > 2000, "only {checked} instructions checked");
}
