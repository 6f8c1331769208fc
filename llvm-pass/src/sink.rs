//! Recomputing cheap values where they are used, so they are not live across calls.
//!
//! Every SSA value live across a stackmapped call is a `deopt` operand of its statepoint, which
//! makes the code generator keep it, as a value, in a callee-saved register or a stack slot
//! across the call. Plain code generation does not keep most such values: an address
//! `base + 16` computed in one block and used in others is sunk next to each use by
//! CodeGenPrepare and folded into the use's addressing mode (`[base + 16]`), so only `base`
//! lives across the call. A statepoint's use of the address prevents that sinking, and an
//! interpreter loop (Lua's `luaV_execute`: register addresses `base + 16 * A` around every
//! call) then keeps dozens of them: twice the code and four times the stack traffic.
//!
//! So, before liveness is computed, every *cheap* value (a `getelementptr` with constant
//! indices: one instruction at most, usually none once folded) that is used in another block,
//! or after a call in its own block, gets a copy right before each such use (at the end of the
//! incoming block for a phi), and the use reads the copy. The values they are computed from live across the calls instead; these
//! usually do anyway. The same IR goes to both ISAs, so both get the same copies.

use crate::llvm::{self, llvm_sys};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMOpcode;

/// Makes the copies in `f`; returns how many uses now read a copy.
pub(crate) fn sink_cheap_values(f: LLVMValueRef, b: &llvm::Builder) -> usize {
    // Later definitions first: a copy of a value reads the operand values, which are then
    // copied in turn (so a chain `base + 16 + 8` is recomputed whole next to the use).
    let mut candidates = Vec::new();
    for bb in llvm::blocks(f) {
        for i in llvm::instructions(bb) {
            if is_cheap(i) {
                candidates.push(i);
            }
        }
    }
    let mut rewritten = 0;
    for &v in candidates.iter().rev() {
        let home = unsafe { LLVMGetInstructionParent(v) };
        for (user, k) in llvm::operand_uses(v) {
            let at = if llvm::opcode(user) == LLVMOpcode::LLVMPHI {
                // The incoming block's end: the copy must dominate the edge, not the phi.
                let block = unsafe { LLVMGetIncomingBlock(user, k) };
                unsafe { LLVMGetBasicBlockTerminator(block) }
            } else {
                user
            };
            if !needs_copy(v, home, at) {
                continue;
            }
            b.before(at);
            let copy = unsafe { LLVMInstructionClone(v) };
            unsafe {
                LLVMInsertIntoBuilderWithName(b.0, copy, c"".as_ptr());
                LLVMSetOperand(user, k, copy);
            }
            rewritten += 1;
        }
    }
    rewritten
}

/// Whether a use of `v` (defined in `home`) at instruction `at` is separated from the
/// definition by a block boundary or a call.
fn needs_copy(v: LLVMValueRef, home: LLVMBasicBlockRef, at: LLVMValueRef) -> bool {
    if unsafe { LLVMGetInstructionParent(at) } != home {
        return true;
    }
    let mut i = unsafe { LLVMGetNextInstruction(v) };
    while !i.is_null() && i != at {
        if llvm::is_call(i) && !is_intrinsic_call(i) {
            return true;
        }
        i = unsafe { LLVMGetNextInstruction(i) };
    }
    false
}

fn is_intrinsic_call(i: LLVMValueRef) -> bool {
    llvm::direct_callee(i).is_some_and(|c| llvm::intrinsic_id(c) != 0)
}

fn is_constant(v: LLVMValueRef) -> bool {
    unsafe { LLVMIsConstant(v) != 0 }
}

/// An address at a constant offset from another: one `add` at most, usually folded into the
/// using instruction's addressing mode. (Integer operations with a constant and casts were
/// tried too: the loop counter's `add`, copied next to its phi, left the phi's register
/// live across the poll under a name the record does not list, so a site became unsafe.)
fn is_cheap(i: LLVMValueRef) -> bool {
    if llvm::opcode(i) != LLVMOpcode::LLVMGetElementPtr {
        return false;
    }
    let ops = llvm::operands(i);
    ops.len() >= 2 && ops[1..].iter().all(|&o| is_constant(o))
}
