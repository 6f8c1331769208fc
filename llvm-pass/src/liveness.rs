//! SSA liveness over a [`Cfg`].
//!
//! A value is *live across* a call when it is defined before the call and used after it on some
//! path (a phi use counts as a use at the end of the incoming edge's predecessor). The analysis
//! is the classic backward data-flow problem on blocks, solved to a fixed point:
//!
//! ```text
//! live_out(B) = ∪ over successors S: live_in(S) ∪ phi_uses(S, from B)
//! live_in(B)  = upward_exposed(B) ∪ (live_out(B) − defs(B))
//! ```
//!
//! where phis define their values at the top of their block and their operands are not uses
//! of the block itself. Per-instruction sets then come from a backward walk of each block.
//! [`brute_force_live_after`] checks the same property by exploring paths, for tests.

use crate::cfg::{Cfg, ValueId};

/// A fixed-size bit set over canonical value numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BitSet(Vec<u64>);

impl BitSet {
    pub fn new(n: u32) -> Self {
        BitSet(vec![0; (n as usize).div_ceil(64)])
    }
    pub fn insert(&mut self, v: ValueId) -> bool {
        let (w, b) = ((v / 64) as usize, v % 64);
        let old = self.0[w];
        self.0[w] |= 1 << b;
        old != self.0[w]
    }
    pub fn remove(&mut self, v: ValueId) {
        let (w, b) = ((v / 64) as usize, v % 64);
        self.0[w] &= !(1 << b);
    }
    pub fn contains(&self, v: ValueId) -> bool {
        let (w, b) = ((v / 64) as usize, v % 64);
        self.0[w] & (1 << b) != 0
    }
    /// self |= other; returns whether anything changed.
    pub fn union_with(&mut self, other: &BitSet) -> bool {
        let mut changed = false;
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            let n = *a | *b;
            changed |= n != *a;
            *a = n;
        }
        changed
    }
    /// Members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = ValueId> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &word)| {
            (0..64)
                .filter(move |b| word & (1u64 << b) != 0)
                .map(move |b| (w * 64 + b) as ValueId)
        })
    }
    pub fn to_vec(&self) -> Vec<ValueId> {
        self.iter().collect()
    }
}

/// Block-level liveness of a function.
pub struct Liveness {
    pub live_in: Vec<BitSet>,
    pub live_out: Vec<BitSet>,
}

impl Liveness {
    pub fn compute(cfg: &Cfg) -> Liveness {
        let n = cfg.blocks.len();
        let nv = cfg.num_values;
        let mut ue = vec![BitSet::new(nv); n];
        let mut defs = vec![BitSet::new(nv); n];
        // phi_uses[s] = list of (pred, value) uses on edges into s.
        for (b, blk) in cfg.blocks.iter().enumerate() {
            for inst in &blk.insts {
                if inst.phi.is_none() {
                    for &u in &inst.uses {
                        if !defs[b].contains(u) {
                            ue[b].insert(u);
                        }
                    }
                }
                if inst.defines {
                    defs[b].insert(inst.id);
                }
            }
        }
        let mut live_in = vec![BitSet::new(nv); n];
        let mut live_out = vec![BitSet::new(nv); n];
        // Process blocks in postorder (reverse of RPO), unreachable ones too, until stable.
        let mut order: Vec<usize> = cfg.reverse_postorder();
        order.reverse();
        let mut seen = vec![false; n];
        for &b in &order {
            seen[b] = true;
        }
        order.extend((0..n).filter(|&b| !seen[b]));
        let mut changed = true;
        while changed {
            changed = false;
            for &b in &order {
                let mut out = BitSet::new(nv);
                for &s in &cfg.blocks[b].succs {
                    out.union_with(&live_in[s]);
                    for inst in &cfg.blocks[s].insts {
                        let Some(inc) = &inst.phi else { break };
                        for &(p, v) in inc {
                            if p == b {
                                if let Some(v) = v {
                                    out.insert(v);
                                }
                            }
                        }
                    }
                }
                let mut inn = out.clone();
                for d in defs[b].iter() {
                    inn.remove(d);
                }
                inn.union_with(&ue[b]);
                if out != live_out[b] {
                    live_out[b] = out;
                    changed = true;
                }
                if inn != live_in[b] {
                    live_in[b] = inn;
                    changed = true;
                }
            }
        }
        Liveness { live_in, live_out }
    }

    /// For every instruction of block `b`, the values live right after it, excluding the
    /// value the instruction itself defines (so for a call: the values live across it).
    /// Phis get the set live after the whole phi group.
    pub fn live_after_each(&self, cfg: &Cfg, b: usize) -> Vec<BitSet> {
        let blk = &cfg.blocks[b];
        let mut out = vec![BitSet::new(cfg.num_values); blk.insts.len()];
        let mut live = self.live_out[b].clone();
        let first_non_phi = blk
            .insts
            .iter()
            .position(|i| i.phi.is_none())
            .unwrap_or(blk.insts.len());
        for k in (first_non_phi..blk.insts.len()).rev() {
            let inst = &blk.insts[k];
            let mut after = live.clone();
            after.remove(inst.id);
            out[k] = after;
            if inst.defines {
                live.remove(inst.id);
            }
            for &u in &inst.uses {
                live.insert(u);
            }
        }
        for (k, slot) in out.iter_mut().enumerate().take(first_non_phi) {
            let mut s = live.clone();
            s.remove(blk.insts[k].id);
            *slot = s;
        }
        out
    }

    /// Values live across each call: (block, position, live values in canonical order).
    pub fn live_across_calls(&self, cfg: &Cfg) -> Vec<(usize, usize, Vec<ValueId>)> {
        let mut out = Vec::new();
        for b in 0..cfg.blocks.len() {
            if !cfg.blocks[b].insts.iter().any(|i| i.is_call) {
                continue;
            }
            let after = self.live_after_each(cfg, b);
            for (k, inst) in cfg.blocks[b].insts.iter().enumerate() {
                if inst.is_call {
                    out.push((b, k, after[k].to_vec()));
                }
            }
        }
        out
    }
}

/// Values live right after instruction `k` of block `b` (excluding its own def), found by
/// exploring every path from that point: a value is live if some path reaches a use of it
/// (a non-phi operand, or a phi operand on the edge taken) before reaching its definition.
/// Quadratic and simple: the reference the data-flow analysis is tested against.
pub fn brute_force_live_after(cfg: &Cfg, b: usize, k: usize) -> Vec<ValueId> {
    let own = cfg.blocks[b].insts[k].id;
    let mut live = Vec::new();
    for v in 0..cfg.num_values {
        if v == own {
            continue;
        }
        if reaches_use(cfg, v, b, k + 1) {
            live.push(v);
        }
    }
    live
}

/// Is there a path from (block b, position start) to a use of v that does not pass v's def?
fn reaches_use(cfg: &Cfg, v: ValueId, b: usize, start: usize) -> bool {
    let n = cfg.blocks.len();
    // A block entered from an edge is scanned from its first non-phi (phis were handled on the
    // edge). `visited` records blocks entered that way.
    let mut visited = vec![false; n];
    let mut work: Vec<(usize, usize)> = vec![(b, start)];
    while let Some((blk, from)) = work.pop() {
        let insts = &cfg.blocks[blk].insts;
        let mut killed = false;
        for inst in insts.iter().skip(from) {
            if inst.phi.is_some() {
                // Only reachable when starting inside a phi group: phis read on edges.
                if inst.defines && inst.id == v {
                    killed = true;
                    break;
                }
                continue;
            }
            if inst.uses.contains(&v) {
                return true;
            }
            if inst.defines && inst.id == v {
                killed = true;
                break;
            }
        }
        if killed {
            continue;
        }
        for &s in &cfg.blocks[blk].succs {
            for inst in &cfg.blocks[s].insts {
                let Some(inc) = &inst.phi else { break };
                if inc.iter().any(|&(p, val)| p == blk && val == Some(v)) {
                    return true;
                }
            }
            // v defined by a phi of s: the path ends there.
            let phi_defines_v = cfg.blocks[s]
                .insts
                .iter()
                .take_while(|i| i.phi.is_some())
                .any(|i| i.defines && i.id == v);
            if phi_defines_v || visited[s] {
                continue;
            }
            visited[s] = true;
            let first = cfg.blocks[s]
                .insts
                .iter()
                .position(|i| i.phi.is_none())
                .unwrap_or(0);
            work.push((s, first));
        }
    }
    false
}
