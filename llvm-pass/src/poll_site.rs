//! Where a function's entry poll goes.
//!
//! A function without loops needs a migration point only on the paths that call something
//! (recursion is what could make it run long; the rest of it is straight-line code). A poll in
//! the entry block costs every call, and its cold call into the runtime keeps the code
//! generator from shrink-wrapping: a function whose common case returns at once saves and
//! restores callee-saved registers on every call. recurse.c's `ack(0, n)` is such a case:
//! 23 ms plain, 31 ms with the poll in its entry block (`perf stat`, x86-64).
//!
//! So the poll moves down to the nearest common dominator of the function's calls, but never
//! into a loop (a poll on every iteration costs more than one at entry): out of a loop it
//! goes onto the one edge that enters the loop's outermost header, or, when several edges
//! enter, up the dominator tree. Every path that reaches a call passes the poll first.

use crate::cfg::{nearest_common_dominator, Cfg};

/// A place for a poll; blocks are numbers of a [`Cfg`] or, once mapped, LLVM blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollSite<B = usize> {
    /// The entry block, after its static allocas.
    Entry,
    /// The top of a block (after its phis) that no loop contains.
    Block(B),
    /// A new block on the edge `(from, to)`: the only edge into the outermost loop header `to`
    /// from outside that loop.
    Edge(B, B),
}

impl<B: Copy> PollSite<B> {
    pub fn map<C>(self, f: impl Fn(B) -> C) -> PollSite<C> {
        match self {
            PollSite::Entry => PollSite::Entry,
            PollSite::Block(b) => PollSite::Block(f(b)),
            PollSite::Edge(from, to) => PollSite::Edge(f(from), f(to)),
        }
    }
}

/// The poll's site in a function whose calls are in `call_blocks` (reachable blocks).
pub fn entry_poll_site(cfg: &Cfg, idom: &[Option<usize>], call_blocks: &[usize]) -> PollSite {
    let Some(&first) = call_blocks.first() else {
        return PollSite::Entry;
    };
    let preds = cfg.preds();
    let mut site = call_blocks
        .iter()
        .fold(first, |a, &b| nearest_common_dominator(idom, a, b));
    loop {
        if site == 0 {
            return PollSite::Entry;
        }
        if !cfg.in_cycle(site) {
            return PollSite::Block(site);
        }
        // The outermost cycle through `site`, as its highest dominator that `site` reaches
        // again (`site` itself when no dominator does: an irreducible cycle).
        let mut header = site;
        let mut up = idom[site];
        while let Some(b) = up {
            if cfg.reaches(site, b) {
                header = b;
            }
            up = idom[b].filter(|&p| p != b);
        }
        // The first arrival at `header` comes over an edge from a block it does not dominate.
        // When there is one such edge, every call of the function passes it first, and it is
        // on no cycle: its source dominates `header`, so if `header` reached it, it would be
        // a higher dominator that `site` reaches again.
        let entering: Vec<usize> = preds[header]
            .iter()
            .copied()
            .filter(|&p| !crate::cfg::dominates(idom, header, p))
            .collect();
        match entering[..] {
            [from] => return PollSite::Edge(from, header),
            _ => match idom[header] {
                Some(up) if up != header => site = up,
                _ => return PollSite::Entry,
            },
        }
    }
}
