//! Where a function's entry poll goes (`poll_site.rs`): hand-written CFGs with the expected
//! site, and a property test over random CFGs: the site is on every path from the entry to
//! every call, and on no cycle (so it runs at most once per call of the function).

mod common;

use common::Rng;
use unimig_llvm_pass::cfg::{idoms, Block, Cfg};
use unimig_llvm_pass::poll_site::{entry_poll_site, PollSite};

fn cfg(succs: &[&[usize]]) -> Cfg {
    Cfg {
        blocks: succs
            .iter()
            .map(|s| Block {
                succs: s.to_vec(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn site(succs: &[&[usize]], calls: &[usize]) -> PollSite {
    let g = cfg(succs);
    entry_poll_site(&g, &idoms(&g), calls)
}

#[test]
fn a_function_without_calls_polls_at_entry() {
    assert_eq!(site(&[&[1], &[]], &[]), PollSite::Entry);
}

#[test]
fn a_call_on_one_branch_takes_the_poll_into_that_branch() {
    // 0 -> {1 (call), 2}; 1 -> 2.
    assert_eq!(site(&[&[1, 2], &[2], &[]], &[1]), PollSite::Block(1));
    // A block after a loop: 0 -> 1 (loop) -> 2 (call) -> 3.
    assert_eq!(site(&[&[1], &[1, 2], &[3], &[]], &[2]), PollSite::Block(2));
}

#[test]
fn calls_on_both_branches_poll_where_the_branches_part() {
    // 0 -> {1 (call), 2 (call)} -> 3.
    assert_eq!(site(&[&[1, 2], &[3], &[3], &[]], &[1, 2]), PollSite::Entry);
    // 0 -> 1 -> {2 (call), 3 (call)} -> 4.
    assert_eq!(
        site(&[&[1, 4], &[2, 3], &[4], &[4], &[]], &[2, 3]),
        PollSite::Block(1)
    );
}

#[test]
fn a_call_in_a_loop_polls_on_the_edge_into_the_loop() {
    // recurse.c's `ack` after the middle end: 0 -> {1 (return), 2 (loop header)};
    // 2 -> {3, 4 (call)}; 4 -> 3; 3 -> {1, 2}.
    assert_eq!(
        site(&[&[1, 2], &[], &[3, 4], &[1, 2], &[3]], &[4]),
        PollSite::Edge(0, 2)
    );
    // Nested loops, the call in the inner one: the edge into the outer header.
    // 0 -> 1 (outer header) -> 2 (inner header, call) -> {2, 3}; 3 -> {1, 4}.
    assert_eq!(
        site(&[&[1], &[2], &[2, 3], &[1, 4], &[]], &[2]),
        PollSite::Edge(0, 1)
    );
}

#[test]
fn a_loop_entered_from_two_places_polls_above_both() {
    // 0 -> {1, 2} -> 3 (header, call) -> {3, 4}.
    assert_eq!(
        site(&[&[1, 2], &[3], &[3], &[3, 4], &[]], &[3]),
        PollSite::Entry
    );
    // The same below a block that is not the entry: 0 -> {5, 6}; 6 -> {1, 2} -> 3 -> {3, 4}.
    assert_eq!(
        site(&[&[5, 6], &[3], &[3], &[3, 4], &[], &[], &[1, 2]], &[3]),
        PollSite::Block(6)
    );
}

#[test]
fn an_irreducible_cycle_polls_above_it() {
    // 0 -> {1, 2}; 1 <-> 2, the call in 1: the cycle has two entries and no header.
    assert_eq!(site(&[&[1, 2], &[2, 3], &[1], &[]], &[1]), PollSite::Entry);
}

/// A random CFG of 1 to 12 blocks, every block reachable from block 0.
fn random_cfg(rng: &mut Rng) -> Vec<Vec<usize>> {
    let n = 1 + rng.below(12);
    let mut succs = vec![Vec::new(); n];
    for b in 1..n {
        let p = rng.below(b);
        succs[p].push(b);
    }
    for s in succs.iter_mut() {
        while s.len() < 3 && rng.chance(30) {
            s.push(rng.below(n));
        }
    }
    succs
}

/// Blocks reachable from block 0 without taking the edges `cut` says to skip.
fn reachable(succs: &[Vec<usize>], cut: impl Fn(usize, usize) -> bool) -> Vec<bool> {
    let mut seen = vec![false; succs.len()];
    seen[0] = true;
    let mut todo = vec![0];
    while let Some(b) = todo.pop() {
        for &s in &succs[b] {
            if !cut(b, s) && !std::mem::replace(&mut seen[s], true) {
                todo.push(s);
            }
        }
    }
    seen
}

#[test]
fn random_cfgs_poll_once_before_every_call() {
    let mut rng = Rng(0x51f1_5eed_0dd5_eed5);
    let mut seen = [0usize; 3];
    for case in 0..3000 {
        let succs = random_cfg(&mut rng);
        let calls: Vec<usize> = (0..succs.len()).filter(|_| rng.chance(25)).collect();
        let refs: Vec<&[usize]> = succs.iter().map(Vec::as_slice).collect();
        let g = cfg(&refs);
        let got = entry_poll_site(&g, &idoms(&g), &calls);
        let ctx = format!("case {case}: {succs:?}, calls {calls:?}: {got:?}");
        match got {
            PollSite::Entry => seen[0] += 1,
            PollSite::Block(b) => {
                seen[1] += 1;
                assert!(b != 0 && !g.in_cycle(b), "{ctx}");
                // No call but `b`'s own is reachable without passing through `b`.
                let r = reachable(&succs, |from, _| from == b);
                assert!(calls.iter().all(|&c| c == b || !r[c]), "{ctx}");
            }
            PollSite::Edge(from, to) => {
                seen[2] += 1;
                assert!(succs[from].contains(&to), "{ctx}");
                assert!(!g.reaches(to, from), "{ctx}: the edge is on a cycle");
                let r = reachable(&succs, |a, b| (a, b) == (from, to));
                assert!(calls.iter().all(|&c| !r[c]), "{ctx}");
            }
        }
    }
    // Every kind of site came up, so the checks above ran.
    assert!(seen.iter().all(|&n| n > 100), "{seen:?}");
}
