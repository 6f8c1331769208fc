//! Sibling calls: calls in tail position that stay plain calls, because both code generators
//! turn them into jumps.
//!
//! A statepoint is never a tail call, so a `return g(x);` that plain clang emits as `jmp g`
//! becomes `call g; ret` with a frame around it once it is stackmapped (Lua 5.4 lost 160 of
//! its 228 tail jumps, 206 are back; its script went from 6.45 G to 6.38 G instructions
//! with stackmaps, plain clang: 6.10 G). A call that is emitted as a jump leaves no
//! frame of its caller on the stack, so it needs no record: the callee returns straight to the
//! caller's caller, whose call site has one. Such a call is kept plain when it is one that the
//! x86-64 and AArch64 back ends both surely emit as a jump (their sibling-call rules, LLVM 19
//! `X86TargetLowering::IsEligibleForTailCallOptimization` and
//! `AArch64TargetLowering::isEligibleForTailCallOptimization`), judged conservatively from
//! the IR: a direct call in tail position, marked `tail`, the C (or fast) calling convention
//! on both sides, every argument a scalar passed in a register, no argument or return
//! attribute that changes the ABI.
//!
//! If the two ISAs' IR still judged a call differently (an aggregate argument lowered to
//! scalars on one ISA only), their call-site lists differ and the coordinator redoes the
//! function with every call stackmapped ([`crate::Options::no_sibling_calls`]). If a back end
//! still emitted a call, its caller's frame has no record and a migration waits until it has
//! returned (the transformer refuses frames without one): slower to migrate, never wrong.

use crate::llvm::{self, llvm_sys};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMOpcode, LLVMTypeKind};

/// Integer and floating-point argument registers that both ISAs have for the C calling
/// convention (x86-64: 6 and 8, AArch64: 8 and 8).
const INT_ARG_REGS: usize = 6;
const FP_ARG_REGS: usize = 8;
/// LLVM's `CallingConv::C` and `CallingConv::Fast` (which the middle end gives internal
/// functions): the same argument registers and callee-saved registers on both ISAs, so the
/// back ends accept a sibling call between them.
const C_LIKE_CALLING_CONVENTIONS: [u32; 2] = [0, 8];

fn c_like(cc: u32) -> bool {
    C_LIKE_CALLING_CONVENTIONS.contains(&cc)
}

/// Parameter attributes that pass an argument in memory or in a special register, or make the
/// caller and callee disagree about the stack: any of them and the back ends may refuse.
const ABI_PARAM_ATTRS: [&str; 9] = [
    "byval",
    "sret",
    "inalloca",
    "preallocated",
    "nest",
    "inreg",
    "swiftself",
    "swifterror",
    "swiftasync",
];

/// Return attributes that the back ends require to be equal on the call and its caller
/// (`attributesPermitTailCall`).
const RETURN_ATTRS: [&str; 3] = ["zeroext", "signext", "inreg"];

/// Whether `call` is a sibling call that both back ends emit as a jump (module comment).
pub fn is_sibling_call(call: LLVMValueRef) -> bool {
    unsafe { in_tail_position(call) && could_be_sibling_call(call) }
}

/// Makes calls that reach a return only through a branch to a shared return block (`return
/// f(x);` in several arms of a switch: each arm's call feeds the block's phi) sibling calls:
/// the return is copied into the call's block, as CodeGenPrepare does for plain clang's tail
/// calls. Only for calls that pass every other test of [`is_sibling_call`]. Returns how many.
pub fn fold_returns(f: LLVMValueRef) -> usize {
    // All candidates first: folding the last branch to a return block deletes that block, so
    // a walk over a list of blocks taken before would reach it afterwards.
    let mut folds = Vec::new();
    for bb in llvm::blocks(f) {
        unsafe {
            let br = LLVMGetBasicBlockTerminator(bb);
            if br.is_null()
                || LLVMGetInstructionOpcode(br) != LLVMOpcode::LLVMBr
                || LLVMIsConditional(br) != 0
            {
                continue;
            }
            let call = LLVMGetPreviousInstruction(br);
            if call.is_null() || !llvm::is_call(call) || !could_be_sibling_call(call) {
                continue;
            }
            let target = LLVMGetSuccessor(br, 0);
            if returns_call_result(target, bb, call) {
                folds.push((bb, target));
            }
        }
    }
    for &(bb, target) in &folds {
        unsafe { llvm::unimig_fold_return_into(bb, target) };
    }
    folds.len()
}

/// `block` holds only a return, of nothing, of `call`, or of a phi (its only user) whose
/// value coming from `pred` is `call`.
unsafe fn returns_call_result(
    block: LLVMBasicBlockRef,
    pred: LLVMBasicBlockRef,
    call: LLVMValueRef,
) -> bool {
    let ret = LLVMGetBasicBlockTerminator(block);
    if LLVMGetInstructionOpcode(ret) != LLVMOpcode::LLVMRet {
        return false;
    }
    let first = LLVMGetFirstInstruction(block);
    if LLVMGetNumOperands(ret) == 0 {
        return first == ret;
    }
    let phi = LLVMGetOperand(ret, 0);
    if phi == call {
        return first == ret;
    }
    if phi != first || LLVMGetNextInstruction(phi) != ret || LLVMIsAPHINode(phi).is_null() {
        return false;
    }
    let single_use = {
        let u = LLVMGetFirstUse(phi);
        !u.is_null() && LLVMGetNextUse(u).is_null()
    };
    single_use
        && (0..LLVMCountIncoming(phi))
            .any(|i| LLVMGetIncomingBlock(phi, i) == pred && LLVMGetIncomingValue(phi, i) == call)
}

/// Every test of [`is_sibling_call`] but the position.
unsafe fn could_be_sibling_call(call: LLVMValueRef) -> bool {
    if LLVMIsTailCall(call) == 0 || !c_like(LLVMGetInstructionCallConv(call)) {
        return false;
    }
    let caller = LLVMGetBasicBlockParent(LLVMGetInstructionParent(call));
    caller_allows(caller)
        && callee_allows(call)
        && arguments_in_registers(call)
        && return_attrs_agree(call, caller)
}

/// The next instruction returns the call's result, or nothing.
unsafe fn in_tail_position(call: LLVMValueRef) -> bool {
    let next = LLVMGetNextInstruction(call);
    if next.is_null() || LLVMGetInstructionOpcode(next) != LLVMOpcode::LLVMRet {
        return false;
    }
    match LLVMGetNumOperands(next) {
        0 => true,
        _ => LLVMGetOperand(next, 0) == call,
    }
}

unsafe fn caller_allows(caller: LLVMValueRef) -> bool {
    if !c_like(LLVMGetFunctionCallConv(caller))
        || LLVMIsFunctionVarArg(LLVMGlobalGetValueType(caller)) != 0
        || string_attr(caller, "disable-tail-calls") == Some("true".into())
        || llvm::fn_has_enum_attr(caller, "alignstack")
    {
        return false;
    }
    // x86-64 refuses callers with an sret result; AArch64 callers with byval or inreg
    // parameters (their incoming stack area or registers are special).
    (1..=LLVMCountParams(caller)).all(|i| !has_any(&llvm::fn_attrs(caller, i), &ABI_PARAM_ATTRS))
}

unsafe fn callee_allows(call: LLVMValueRef) -> bool {
    let ty = LLVMGetCalledFunctionType(call);
    if LLVMIsFunctionVarArg(ty) != 0 {
        return false;
    }
    match llvm::direct_callee(call) {
        // AArch64 never tail-calls an undefined weak function (the linker may turn the call
        // into a no-op); intrinsics are not calls; a returns_twice callee is setjmp.
        Some(f) => {
            LLVMGetLinkage(f) != llvm_sys::LLVMLinkage::LLVMExternalWeakLinkage
                && llvm::intrinsic_id(f) == 0
                && !llvm::fn_has_enum_attr(f, "returns_twice")
                && c_like(LLVMGetFunctionCallConv(f))
        }
        // Through a pointer: AArch64's register allocator runs out of registers for the jump
        // target in a function whose statepoints keep values in registers (LLVM 19, jansson's
        // `dump_indent` returning `dump(" ", 1, data)`), so it stays a statepoint.
        None => false,
    }
}

/// Every argument a scalar in a register of both ISAs, with no ABI-changing attribute.
unsafe fn arguments_in_registers(call: LLVMValueRef) -> bool {
    let n = LLVMGetNumArgOperands(call);
    let (mut ints, mut fps) = (0, 0);
    for i in 0..n {
        let arg = LLVMGetOperand(call, i);
        match LLVMGetTypeKind(LLVMTypeOf(arg)) {
            LLVMTypeKind::LLVMIntegerTypeKind if LLVMGetIntTypeWidth(LLVMTypeOf(arg)) <= 64 => {
                ints += 1
            }
            LLVMTypeKind::LLVMPointerTypeKind => ints += 1,
            LLVMTypeKind::LLVMFloatTypeKind | LLVMTypeKind::LLVMDoubleTypeKind => fps += 1,
            _ => return false,
        }
        let mut attrs = llvm::call_site_attrs(call, i + 1);
        if let Some(f) = llvm::direct_callee(call) {
            attrs.extend(llvm::fn_attrs(f, i + 1));
        }
        if has_any(&attrs, &ABI_PARAM_ATTRS) {
            return false;
        }
    }
    ints <= INT_ARG_REGS && fps <= FP_ARG_REGS
}

/// The call returns the way its caller does: same extension attributes, and a scalar type.
unsafe fn return_attrs_agree(call: LLVMValueRef, caller: LLVMValueRef) -> bool {
    let ret = llvm_sys::LLVMAttributeReturnIndex;
    let returned = LLVMGetReturnType(LLVMGetCalledFunctionType(call));
    let scalar = match LLVMGetTypeKind(returned) {
        LLVMTypeKind::LLVMVoidTypeKind
        | LLVMTypeKind::LLVMPointerTypeKind
        | LLVMTypeKind::LLVMFloatTypeKind
        | LLVMTypeKind::LLVMDoubleTypeKind => true,
        LLVMTypeKind::LLVMIntegerTypeKind => LLVMGetIntTypeWidth(returned) <= 64,
        _ => false,
    };
    let mut on_call = llvm::call_site_attrs(call, ret);
    if let Some(f) = llvm::direct_callee(call) {
        on_call.extend(llvm::fn_attrs(f, ret));
    }
    let on_caller = llvm::fn_attrs(caller, ret);
    scalar
        && RETURN_ATTRS
            .iter()
            .all(|a| has_any(&on_call, &[a]) == has_any(&on_caller, &[a]))
}

fn has_any(attrs: &[LLVMAttributeRef], names: &[&str]) -> bool {
    let kinds: Vec<u32> = names.iter().map(|n| llvm::enum_attr_kind(n)).collect();
    attrs.iter().any(|&a| unsafe {
        LLVMIsEnumAttribute(a) != 0 && kinds.contains(&LLVMGetEnumAttributeKind(a))
            || LLVMIsTypeAttribute(a) != 0 && kinds.contains(&LLVMGetEnumAttributeKind(a))
    })
}

unsafe fn string_attr(f: LLVMValueRef, name: &str) -> Option<String> {
    let a = LLVMGetStringAttributeAtIndex(
        f,
        llvm_sys::LLVMAttributeFunctionIndex,
        name.as_ptr().cast(),
        name.len() as u32,
    );
    if a.is_null() {
        return None;
    }
    let mut len = 0;
    let p = LLVMGetStringAttributeValue(a, &mut len);
    Some(String::from_utf8_lossy(std::slice::from_raw_parts(p.cast(), len as usize)).into_owned())
}
