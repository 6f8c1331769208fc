//! Constructs that do not stop instrumentation but behave differently on the two ISAs or after
//! a migration ([`HazardKind`]), found per function so unimig-cc can warn about them:
//!
//! * **x87 `long double`** (`x86_fp80`, only in the x86-64 module): AArch64's `long double` is
//!   IEEE quad (`fp128`). The program computes with different precision on each ISA, and the
//!   16 bytes of a `long double` in memory mean different things, so one stored before a
//!   migration is garbage after it. (A `long double` live across a call also makes the
//!   function's stackmaps differ between the ISAs, which [`crate::compile_pair`] reports
//!   separately as [`crate::SkipReason::IsaDivergent`].)
//! * **computed goto** (`indirectbr`): `&&label` is a code address, different on each ISA.
//!   Reading it from a static table where it is used is fine (each ISA reads its own table,
//!   see docs/formats.md), but a label address held in a variable across a migration point
//!   would jump into the wrong code on the other ISA.
//!
//! One hazard per function and kind, at its first located occurrence in block order.

use crate::llvm::{self, llvm_sys};
use crate::{srcloc, Hazard, HazardKind};
use llvm_sys::prelude::{LLVMTypeRef, LLVMValueRef};
use llvm_sys::{LLVMOpcode, LLVMTypeKind};

/// The hazards of every defined function of `functions`.
pub fn scan(functions: &[LLVMValueRef]) -> Vec<Hazard> {
    let mut out = Vec::new();
    for &f in functions {
        if unsafe { llvm_sys::core::LLVMIsDeclaration(f) } != 0 {
            continue;
        }
        // Per kind: the first occurrence with a location (at -O0 the first is often an
        // alloca, which has none), else the function's location.
        let mut found: Vec<(HazardKind, Option<crate::SourceLoc>)> = Vec::new();
        for bb in llvm::blocks(f) {
            for i in llvm::instructions(bb) {
                let kind = if llvm::opcode(i) == LLVMOpcode::LLVMIndirectBr {
                    HazardKind::ComputedGoto
                } else if uses_x86_fp80(i) {
                    HazardKind::LongDouble
                } else {
                    continue;
                };
                let loc = match kind {
                    HazardKind::ComputedGoto => goto_loc(i),
                    _ => srcloc::of_instruction(i),
                };
                match found.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, known @ None)) => *known = loc,
                    Some(_) => {}
                    None => found.push((kind, loc)),
                }
            }
        }
        for (kind, loc) in found {
            out.push(Hazard {
                function: llvm::value_name(f),
                kind,
                loc: loc.or_else(|| srcloc::of_function(f)),
            });
        }
    }
    out
}

/// Whether `t` is or contains `x86_fp80` (a struct or array of long doubles too).
fn contains_x86_fp80(t: LLVMTypeRef) -> bool {
    use llvm_sys::core::*;
    unsafe {
        match llvm::type_kind(t) {
            LLVMTypeKind::LLVMX86_FP80TypeKind => true,
            LLVMTypeKind::LLVMArrayTypeKind | LLVMTypeKind::LLVMVectorTypeKind => {
                contains_x86_fp80(LLVMGetElementType(t))
            }
            LLVMTypeKind::LLVMStructTypeKind => (0..LLVMCountStructElementTypes(t))
                .any(|k| contains_x86_fp80(LLVMStructGetTypeAtIndex(t, k))),
            _ => false,
        }
    }
}

/// Whether instruction `i` computes, loads, stores or allocates an `x86_fp80` value.
fn uses_x86_fp80(i: LLVMValueRef) -> bool {
    use llvm_sys::core::*;
    if contains_x86_fp80(llvm::type_of(i)) {
        return true;
    }
    if llvm::opcode(i) == LLVMOpcode::LLVMAlloca
        && contains_x86_fp80(unsafe { LLVMGetAllocatedType(i) })
    {
        return true;
    }
    llvm::operands(i)
        .into_iter()
        .any(|op| contains_x86_fp80(llvm::type_of(op)))
}

/// Where a computed goto is: the `indirectbr`'s own location, else (the optimiser merges the
/// `goto *` statements of a function into one `indirectbr` without a location) the first
/// located address it jumps to (a phi's incoming load of `table[i]`).
fn goto_loc(indirectbr: LLVMValueRef) -> Option<crate::SourceLoc> {
    use llvm_sys::core::*;
    if let Some(loc) = srcloc::of_instruction(indirectbr) {
        return Some(loc);
    }
    let address = unsafe { LLVMGetOperand(indirectbr, 0) };
    if !llvm::is_instruction(address) {
        return None;
    }
    if llvm::opcode(address) != LLVMOpcode::LLVMPHI {
        return srcloc::of_instruction(address);
    }
    (0..unsafe { LLVMCountIncoming(address) })
        .map(|k| unsafe { LLVMGetIncomingValue(address, k) })
        .filter(|&v| llvm::is_instruction(v))
        .find_map(srcloc::of_instruction)
}
