//! A function's control-flow graph and SSA def/use structure, abstracted from LLVM so that
//! liveness and dominance are plain, testable Rust.
//!
//! **Canonical numbering.** Every function argument and every instruction gets a number:
//! arguments `0..num_args` in order, then instructions in the function's block order and each
//! block's instruction order. Call sites are indexed and live values ordered by this numbering;
//! it depends only on the IR, so two structurally identical modules (the x86-64 and AArch64
//! modules after the target-neutral middle end) number identically.

use std::collections::HashMap;

use crate::llvm::{self, llvm_sys::prelude::*};

/// A value number in the canonical numbering.
pub type ValueId = u32;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inst {
    /// Canonical number of this instruction.
    pub id: ValueId,
    /// Whether the instruction defines an SSA value that can be live (non-void, non-token).
    pub defines: bool,
    /// Non-phi operands that are tracked values (arguments or value-defining instructions).
    pub uses: Vec<ValueId>,
    /// For a phi: (predecessor block index, incoming value if it is a tracked value).
    pub phi: Option<Vec<(usize, Option<ValueId>)>>,
    /// Whether this is a call (any callee: the analysis does not care which).
    pub is_call: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Block {
    pub insts: Vec<Inst>,
    /// Successor block indices in terminator order (duplicates kept, as in the IR).
    pub succs: Vec<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cfg {
    pub num_args: u32,
    /// Which arguments are tracked values (first-class types).
    pub arg_defines: Vec<bool>,
    pub blocks: Vec<Block>,
    /// Total number of canonical numbers (arguments + instructions).
    pub num_values: u32,
}

impl Cfg {
    pub fn preds(&self) -> Vec<Vec<usize>> {
        let mut preds = vec![Vec::new(); self.blocks.len()];
        for (b, blk) in self.blocks.iter().enumerate() {
            for &s in &blk.succs {
                if !preds[s].contains(&b) {
                    preds[s].push(b);
                }
            }
        }
        preds
    }

    /// Whether a path of at least one edge leads from block `from` to block `to`.
    pub fn reaches(&self, from: usize, to: usize) -> bool {
        let mut seen = vec![false; self.blocks.len()];
        let mut todo: Vec<usize> = self.blocks[from].succs.clone();
        while let Some(x) = todo.pop() {
            if x == to {
                return true;
            }
            if !std::mem::replace(&mut seen[x], true) {
                todo.extend_from_slice(&self.blocks[x].succs);
            }
        }
        false
    }

    /// Whether block `b` can reach itself (lies in a loop, reducible or not).
    pub fn in_cycle(&self, b: usize) -> bool {
        self.reaches(b, b)
    }

    /// Reverse postorder of the blocks reachable from block 0 (successors visited in order).
    pub fn reverse_postorder(&self) -> Vec<usize> {
        let n = self.blocks.len();
        let mut seen = vec![false; n];
        let mut post = Vec::with_capacity(n);
        if n == 0 {
            return post;
        }
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        seen[0] = true;
        while let Some(&mut (b, ref mut next)) = stack.last_mut() {
            if let Some(&s) = self.blocks[b].succs.get(*next) {
                *next += 1;
                if !seen[s] {
                    seen[s] = true;
                    stack.push((s, 0));
                }
            } else {
                post.push(b);
                stack.pop();
            }
        }
        post.reverse();
        post
    }

    /// Retreating edges of a depth-first search from block 0 (successors in order): edges to a
    /// block still on the DFS stack. Every cycle contains one, reducible or not; in a reducible
    /// CFG they are exactly the loop back-edges. Deduplicated, in discovery order.
    pub fn retreating_edges(&self) -> Vec<(usize, usize)> {
        let n = self.blocks.len();
        let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
        let mut out = Vec::new();
        if n == 0 {
            return out;
        }
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        state[0] = 1;
        while let Some(&mut (b, ref mut next)) = stack.last_mut() {
            if let Some(&s) = self.blocks[b].succs.get(*next) {
                *next += 1;
                match state[s] {
                    0 => {
                        state[s] = 1;
                        stack.push((s, 0));
                    }
                    1 if !out.contains(&(b, s)) => out.push((b, s)),
                    _ => {}
                }
            } else {
                state[b] = 2;
                stack.pop();
            }
        }
        out
    }
}

/// Immediate dominators (Cooper, Harvey and Kennedy's iterative algorithm) of the blocks
/// reachable from block 0; `None` for unreachable blocks, `Some(0)` for block 0 itself.
pub fn idoms(cfg: &Cfg) -> Vec<Option<usize>> {
    let n = cfg.blocks.len();
    let rpo = cfg.reverse_postorder();
    let mut order = vec![usize::MAX; n];
    for (i, &b) in rpo.iter().enumerate() {
        order[b] = i;
    }
    let preds = cfg.preds();
    let mut idom: Vec<Option<usize>> = vec![None; n];
    if n == 0 {
        return idom;
    }
    idom[0] = Some(0);
    let intersect = |idom: &Vec<Option<usize>>, mut a: usize, mut b: usize| {
        while a != b {
            while order[a] > order[b] {
                a = idom[a].unwrap();
            }
            while order[b] > order[a] {
                b = idom[b].unwrap();
            }
        }
        a
    };
    let mut changed = true;
    while changed {
        changed = false;
        for &b in rpo.iter().skip(1) {
            let mut new: Option<usize> = None;
            for &p in &preds[b] {
                if idom[p].is_none() {
                    continue;
                }
                new = Some(match new {
                    None => p,
                    Some(x) => intersect(&idom, p, x),
                });
            }
            if new.is_some() && idom[b] != new {
                idom[b] = new;
                changed = true;
            }
        }
    }
    idom
}

/// The nearest block that dominates both `a` and `b` (both reachable).
pub fn nearest_common_dominator(idom: &[Option<usize>], mut a: usize, b: usize) -> usize {
    while !dominates(idom, a, b) {
        match idom[a] {
            Some(p) if p != a => a = p,
            _ => break,
        }
    }
    a
}

/// Does block `a` dominate block `b` (both reachable)?
pub fn dominates(idom: &[Option<usize>], a: usize, mut b: usize) -> bool {
    loop {
        if a == b {
            return true;
        }
        match idom[b] {
            Some(p) if p != b => b = p,
            _ => return false,
        }
    }
}

/// Dominance frontiers of reachable blocks.
pub fn dominance_frontiers(cfg: &Cfg, idom: &[Option<usize>]) -> Vec<Vec<usize>> {
    let n = cfg.blocks.len();
    let preds = cfg.preds();
    let mut df = vec![Vec::new(); n];
    for b in 0..n {
        let Some(ib) = idom[b] else { continue };
        let reachable_preds: Vec<usize> = preds[b]
            .iter()
            .copied()
            .filter(|&p| idom[p].is_some())
            .collect();
        if reachable_preds.len() < 2 {
            continue;
        }
        for p in reachable_preds {
            let mut runner = p;
            while runner != ib {
                if !df[runner].contains(&b) {
                    df[runner].push(b);
                }
                match idom[runner] {
                    Some(r) if r != runner => runner = r,
                    _ => break,
                }
            }
        }
    }
    df
}

/// A constant-size alloca in the entry block: a frame object at a fixed offset, not a value.
/// Such allocas are not tracked: their address is the frame's, their contents are memory
/// (moved to the shadow stack by a later pass), and ABI lowering creates different ones per
/// ISA (e.g. AArch64's caller-side copy of a struct passed by value, where x86-64 uses
/// `byval`), which would otherwise make the live-value lists differ.
pub(crate) fn is_static_alloca(i: LLVMValueRef, entry: Option<LLVMBasicBlockRef>) -> bool {
    use crate::llvm::llvm_sys::core::*;
    llvm::is_instruction(i)
        && llvm::opcode(i) == llvm::llvm_sys::LLVMOpcode::LLVMAlloca
        && unsafe { LLVMIsConstant(LLVMGetOperand(i, 0)) != 0 }
        && Some(unsafe { LLVMGetInstructionParent(i) }) == entry
}

/// Calls whose operands are not uses for liveness: intrinsics the code generator drops
/// (debug info, lifetime markers, assumptions, scope declarations, probes).
pub(crate) fn is_non_semantic_call(i: LLVMValueRef) -> bool {
    if !llvm::is_call(i) {
        return false;
    }
    let Some(f) = llvm::direct_callee(i) else {
        return false;
    };
    if llvm::intrinsic_id(f) == 0 {
        return false;
    }
    let name = llvm::value_name(f);
    const PREFIXES: [&str; 7] = [
        "llvm.dbg.",
        "llvm.lifetime.",
        "llvm.assume",
        "llvm.experimental.noalias.scope.decl",
        "llvm.pseudoprobe",
        "llvm.invariant.",
        "llvm.donothing",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A [`Cfg`] read from an LLVM function, with the maps back to LLVM values.
pub(crate) struct FnIr {
    pub cfg: Cfg,
    pub block_refs: Vec<LLVMBasicBlockRef>,
    /// LLVM value for each canonical number.
    pub values: Vec<LLVMValueRef>,
    pub index: HashMap<LLVMValueRef, ValueId>,
}

impl FnIr {
    pub(crate) fn read(f: LLVMValueRef) -> FnIr {
        let block_refs = llvm::blocks(f);
        let block_index: HashMap<LLVMBasicBlockRef, usize> = block_refs
            .iter()
            .enumerate()
            .map(|(i, &b)| (b, i))
            .collect();
        let params = llvm::params(f);
        let mut values = Vec::new();
        let mut index = HashMap::new();
        let mut arg_defines = Vec::new();
        for &p in &params {
            index.insert(p, values.len() as ValueId);
            values.push(p);
            arg_defines.push(llvm::is_first_class_value(p));
        }
        let insts: Vec<Vec<LLVMValueRef>> =
            block_refs.iter().map(|&b| llvm::instructions(b)).collect();
        for list in &insts {
            for &i in list {
                let id = values.len() as ValueId;
                index.insert(i, id);
                values.push(i);
            }
        }
        let entry = block_refs.first().copied();
        let defines_value = |i: LLVMValueRef| -> bool {
            llvm::is_first_class_value(i) && !is_static_alloca(i, entry)
        };
        let tracked = |v: LLVMValueRef| -> Option<ValueId> {
            let id = *index.get(&v)?;
            let defines = if llvm::is_argument(v) {
                arg_defines[id as usize]
            } else {
                defines_value(v)
            };
            defines.then_some(id)
        };
        let mut blocks = Vec::with_capacity(block_refs.len());
        for (b, list) in insts.iter().enumerate() {
            let mut out = Vec::with_capacity(list.len());
            for &i in list {
                let id = index[&i];
                let op = llvm::opcode(i);
                let mut inst = Inst {
                    id,
                    defines: defines_value(i),
                    is_call: op == llvm::llvm_sys::LLVMOpcode::LLVMCall,
                    ..Inst::default()
                };
                if op == llvm::llvm_sys::LLVMOpcode::LLVMPHI {
                    let n = unsafe { llvm::llvm_sys::core::LLVMCountIncoming(i) };
                    let mut inc = Vec::with_capacity(n as usize);
                    for k in 0..n {
                        let (v, bb) = unsafe {
                            (
                                llvm::llvm_sys::core::LLVMGetIncomingValue(i, k),
                                llvm::llvm_sys::core::LLVMGetIncomingBlock(i, k),
                            )
                        };
                        inc.push((block_index[&bb], tracked(v)));
                    }
                    inst.phi = Some(inc);
                } else if !is_non_semantic_call(i) {
                    for v in llvm::operands(i) {
                        if v.is_null() {
                            continue;
                        }
                        if let Some(u) = tracked(v) {
                            if !inst.uses.contains(&u) {
                                inst.uses.push(u);
                            }
                        }
                    }
                }
                out.push(inst);
            }
            let succs = llvm::successors(block_refs[b])
                .into_iter()
                .map(|s| block_index[&s])
                .collect();
            blocks.push(Block { insts: out, succs });
        }
        FnIr {
            cfg: Cfg {
                num_args: params.len() as u32,
                arg_defines,
                blocks,
                num_values: values.len() as u32,
            },
            block_refs,
            values,
            index,
        }
    }
}
