//! Instrumentation: migration points and stackmapped call sites.
//!
//! Per defined function, in this order (every step depends only on the IR, so the x86-64 and
//! AArch64 modules, identical after the target-neutral middle end, are instrumented
//! identically):
//!
//! 1. **Eligibility.** Functions using `va_start`/`va_copy` (ISA-specific `va_list`), calling a
//!    `returns_twice` function (setjmp), with `invoke`/`callbr`, `musttail` calls, calls
//!    carrying their own operand bundles, `naked`, the runtime's own `__unimig_*` functions, or
//!    holding a value of a type the pass cannot split into canonical pieces are skipped whole
//!    and reported ([`SkipReason`]). Inline asm calls are left as they are (no stackmap) and
//!    reported; the rest of the function is instrumented.
//!
//!    **Shadow stack** ([`crate::shadow`], when [`Options::shadow_stack`] is on): next,
//!    address-taken locals move to the shadow stack, before liveness, so a saved shadow
//!    pointer that stays live is a recorded value (a frame of fixed-size locals keeps none: its
//!    base is read back from the pointer where it is used). Skipped functions get it too
//!    (except with `invoke`).
//! 2. **Migration points.** At entry (after the entry block's static allocas, which are hoisted
//!    to its top) an inline poll `if (load atomic volatile __unimig_migrate_requested != 0)
//!    __unimig_migration_point();`, branch-weighted as unlikely. A function that no loop
//!    relies on ([`Instrumenter::iterations_call_a_poll`]) polls lower, where its calls are
//!    ([`crate::poll_site`]): a path that returns without calling needs no poll. On every
//!    retreating edge of a depth-first search (every loop back-edge, irreducible loops
//!    included) a new block polls the flag the same way. With
//!    [`crate::Options::loop_poll_period`] above one (the default is one) the block first
//!    decrements a per-function counter and polls only when it reaches zero, resetting it to
//!    the period; the counter is an SSA variable built with pruned SSA
//!    construction (phis at the iterated dominance frontier of its definitions, where it is
//!    live), so it costs a register, not memory traffic. A back-edge whose every
//!    iteration calls a function of the module that polls at entry gets no poll
//!    ([`Instrumenter::iterations_call_a_poll`]), and neither does a short loop: innermost,
//!    without calls, at most [`crate::Options::short_loop_limit`] iterations per entry
//!    (ScalarEvolution's constant maximum trip count, or the size of a fixed-size local or
//!    global array the loop steps through on every iteration: `cxx/shim.cpp`; found before
//!    the shadow stack moves the locals). The call is
//!    `preserve_allcc` ([`crate::MIGRATION_POINT_CALLING_CONVENTION`]): the cold call forces
//!    nothing on the hot path, and the innermost frame's record may name any register it
//!    preserves.
//! 3. **Live-value legalisation.** Stackmap locations must have the same size on both ISAs and
//!    must be where the code after the call reads the value. LLVM spills deopt operands of
//!    types illegal for the target (i1/i8/i16 on AArch64, i1 on x86-64, i128, <2 x float> on
//!    x86-64, ...) to a fresh slot while the code keeps using a register copy, and sizes a
//!    floating-point value's location by whatever register class it ended up in (16 bytes for
//!    a float that met vector code on x86-64). So every value live across a call whose type is
//!    not *canonical* (i32, i64, ptr, or a 128-bit vector of i8/i16/i32/i64/float/double) is
//!    rewritten: right after its definition it is converted into canonical *pieces* (small
//!    integers zero-extended to i32, wide ones cut into i64s, floating point bitcast to an
//!    integer of its size, aggregates and other vectors element by element), the block is
//!    split there (so the code generator cannot fold the conversion back), and every use reads
//!    a value rebuilt from the pieces right before it. Pieces sort by the canonical number of
//!    the value they come from, so an argument the two front ends pass differently (__int128:
//!    two i64 on x86-64, one i128 on AArch64; a pair of floats: <2 x float> or [2 x float])
//!    still gives the same list.
//! 4. **Statepoints.** Every call to a non-intrinsic function, direct or indirect, except a
//!    direct call to a library function ([`crate::Options::library_functions`]: a library
//!    frame blocks migration anyway) and a sibling call that both back ends emit as a jump
//!    ([`crate::sibcall`]: it leaves no frame of its caller; returns are first copied into
//!    the blocks of calls that reach a shared return block), becomes `llvm.experimental.gc.statepoint(id, 0, callee,
//!    args..., 0, 0) ["deopt"(live...)]` plus a `gc.result` for its value; the function gets
//!    `gc "statepoint-example"`. `live` is every SSA value live across the call
//!    ([`crate::liveness`]), in canonical order ([`crate::cfg`]). The record names *a*
//!    location of each value; the code after the call may read another copy (a double kept in
//!    d8 while the record lists its bit pattern in x19, a spill slot while the record lists a
//!    reload): the machine-level check ([`crate::unsafe_sites`]) finds those sites and marks
//!    them unsafe, or gives them fixups when the copy is a constant, an address or the thread
//!    pointer. With [`crate::Options::relocate_live_values`] the live values are relocated
//!    `"gc-live"` operands instead (8-byte GC pointers: integers zero-extended, pointers cast,
//!    128-bit vectors as two halves; every live value becomes a variable, reloaded into the
//!    gc-live list before each call and stored from its `gc.relocate` after it, then promoted
//!    back to SSA), so the code after the call reads exactly what the statepoint defines at the
//!    recorded location. That is the right design, but LLVM 19 miscompiles it (relocated values
//!    in callee-saved registers: jansson's test suite crashes natively; in stack slots on
//!    AArch64: a division by zero in `isAArch64FrameOffsetLegal`), so it is off. `id` is
//!    [`crate::ids::call_site_id`] of the call's index among the function's converted calls in
//!    canonical order. Argument attributes (signext, byval, sret, ...) of the call and of a
//!    direct callee's declaration move to the statepoint's arguments, the calling convention
//!    to the statepoint. A statepoint in a small block gets an empty `convergent` inline asm
//!    before it, so LLVM's tail duplication never copies its call (one ID at two return
//!    addresses; `Instrumenter::keep_block_single`).
//!
//! **Variadic callees.** LLVM's statepoint lowering always lowers the wrapped call as
//! non-variadic (and its verifier refuses non-void variadic callees). On AArch64 (AAPCS64,
//! Linux) variadic and fixed arguments are passed alike, so the call is made through the
//! non-variadic type of its actual arguments. On x86-64 the SysV ABI also wants `%al` = an
//! upper bound on the vector registers used, so the statepoint calls a two-instruction thunk
//! `__unimig_vacall_<n>` (`movb $n, %al; jmpq *%r10`, emitted as module asm in a comdat
//! section) with the real callee in the `nest` register `%r10`; the thunk leaves no frame, so
//! the record's return address is still the caller's.

use std::collections::{HashMap, HashSet};

use crate::cfg::{self, FnIr, ValueId};
use crate::ids::call_site_id;
use crate::liveness::Liveness;
use crate::llvm::{self, cstr, llvm_sys, Builder, Module, EMPTY};
use crate::poll_site::{self, PollSite};
use crate::shadow::Shadow;
use crate::srcloc;
use crate::{
    CallSite, Isa, Options, Report, Skip, SkipReason, JMPBUF_REGISTER_FN, MIGRATABLE_SETJMPS,
    MIGRATE_FLAG, MIGRATION_POINT_CALLING_CONVENTION, MIGRATION_POINT_FN, VACALL_THUNK_PREFIX,
};
use anyhow::{bail, Result};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMIntPredicate, LLVMLinkage, LLVMOpcode, LLVMTypeKind};

const GC_STRATEGY: &str = "statepoint-example";

/// Instruments every defined function of the module; see the module documentation.
pub(crate) fn instrument_module(module: &Module, isa: Isa, opts: &Options) -> Result<Report> {
    let mut ins = Instrumenter::new(module, isa, opts);
    let defined: Vec<LLVMValueRef> = module
        .functions()
        .into_iter()
        .filter(|&f| unsafe { LLVMIsDeclaration(f) } == 0)
        .collect();
    for &f in &defined {
        unsafe { llvm::unimig_remove_unreachable_blocks(f) };
    }
    // Known before any function changes, so a loop may rely on a callee defined after it.
    // With sunk entry polls, only a function that some loop relies on polls in its entry
    // block; the others poll where their calls are ([`crate::poll_site`]).
    let relied_on = opts
        .sink_entry_polls
        .then(|| ins.callees_of_every_loop_iteration(&defined));
    ins.entry_polled = defined
        .iter()
        .copied()
        .filter(|&f| ins.will_poll_at_entry(f))
        .filter(|f| relied_on.as_ref().is_none_or(|r| r.contains(f)))
        .collect();
    for &f in &defined {
        ins.function(f)?;
    }
    ins.finish();
    Ok(ins.report)
}

struct Instrumenter<'a> {
    m: LLVMModuleRef,
    ctx: LLVMContextRef,
    isa: Isa,
    opts: &'a Options,
    salt: String,
    b: Builder,
    report: Report,
    i32: LLVMTypeRef,
    i64: LLVMTypeRef,
    ptr: LLVMTypeRef,
    flag: Option<LLVMValueRef>,
    mp_fn: Option<LLVMValueRef>,
    /// The module's functions that poll at entry ([`Self::will_poll_at_entry`]): a loop
    /// calling one of them on every iteration needs no poll of its own
    /// ([`Self::iterations_call_a_poll`]).
    entry_polled: HashSet<LLVMValueRef>,
    thunks_used: Vec<u32>,
    /// Pieces made by legalisation in the current function: piece -> (source value, index).
    piece_source: HashMap<LLVMValueRef, (LLVMValueRef, u32)>,
    /// The shadow-stack rewriter, when [`Options::shadow_stack`] is on.
    shadow: Option<Shadow>,
}

/// Why a type has no canonical pieces.
type PieceError = String;

impl<'a> Instrumenter<'a> {
    fn new(module: &Module, isa: Isa, opts: &'a Options) -> Self {
        let ctx = module.ctx();
        let salt = opts
            .id_salt
            .clone()
            .unwrap_or_else(|| module.source_filename());
        unsafe {
            Instrumenter {
                m: module.m,
                ctx,
                isa,
                opts,
                salt,
                b: Builder::new(ctx),
                report: Report::default(),
                i32: LLVMInt32TypeInContext(ctx),
                i64: LLVMInt64TypeInContext(ctx),
                ptr: LLVMPointerTypeInContext(ctx, 0),
                flag: None,
                mp_fn: None,
                entry_polled: HashSet::new(),
                thunks_used: Vec::new(),
                piece_source: HashMap::new(),
                shadow: opts.shadow_stack().then(|| Shadow::new(module.m, isa)),
            }
        }
    }

    fn finish(&mut self) {
        if self.thunks_used.is_empty() {
            return;
        }
        self.thunks_used.sort();
        let mut asm = String::new();
        for n in &self.thunks_used {
            let name = format!("{VACALL_THUNK_PREFIX}{n}");
            asm.push_str(&format!(
                "\t.pushsection .text.{name},\"axG\",@progbits,{name},comdat\n\
                 \t.globl {name}\n\t.hidden {name}\n\t.type {name},@function\n\
                 \t.p2align 4\n{name}:\n\tmovb ${n}, %al\n\tjmpq *%r10\n\
                 \t.size {name}, .-{name}\n\t.popsection\n"
            ));
        }
        unsafe { LLVMAppendModuleInlineAsm(self.m, asm.as_ptr() as *const _, asm.len()) };
    }

    /// Records that `f` is left uninstrumented, at the construct `at` if there is one (for the
    /// diagnostic's location), else at the function's definition.
    fn skip(&mut self, f: LLVMValueRef, reason: SkipReason, at: Option<LLVMValueRef>) {
        let loc = match at {
            Some(i) => srcloc::of_instruction_or_function(i, f),
            None => srcloc::of_function(f),
        };
        self.report.skipped.push(Skip {
            function: llvm::value_name(f),
            reason,
            loc,
        });
    }

    fn function(&mut self, f: LLVMValueRef) -> Result<()> {
        let name = llvm::value_name(f);
        if self.opts.skip_functions.contains(&name) {
            self.skip(f, SkipReason::IsaDivergent, None);
            return Ok(());
        }
        if name.starts_with("__unimig_") {
            self.skip(
                f,
                SkipReason::NotInstrumentable("unimig runtime function".into()),
                None,
            );
            return Ok(());
        }
        if llvm::fn_has_enum_attr(f, "naked") {
            self.skip(
                f,
                SkipReason::NotInstrumentable("naked function".into()),
                None,
            );
            return Ok(());
        }
        unsafe { llvm::unimig_remove_unreachable_blocks(f) };
        if let Some((reason, at)) = self.ineligible(f) {
            // Not migratable, but its locals still get ISA-independent addresses (and a
            // setjmp caller must reset the shadow pointer after longjmp), except with invoke:
            // the unwind path has no return to restore the pointer at.
            if reason != SkipReason::Invoke {
                self.shadow_stack(f);
            }
            self.skip(f, reason, at);
            return Ok(());
        }
        self.report.instrumented_functions += 1;
        self.piece_source.clear();
        self.hoist_static_allocas(f);
        // Short loops are found before the shadow stack moves locals: a loop bounded by the
        // local array it walks is recognised by the array's alloca.
        let short_loops = if self.opts.migration_points.loops() && self.opts.short_loop_limit > 0 {
            llvm::short_loop_headers(f, self.opts.short_loop_limit)
        } else {
            Vec::new()
        };
        // Addresses derived from locals (`&local.field`, made once in the entry block by the
        // middle end) are recomputed next to their uses first, so the shadow stack re-reads a
        // frame's base there rather than keeping the derived addresses live across calls.
        if self.opts.stackmaps && self.opts.sink_cheap_values {
            self.report.sunk_uses += crate::sink::sink_cheap_values(f, &self.b);
        }
        // Before liveness and statepoints, so a saved shadow pointer that must stay live is a
        // recorded value.
        self.shadow_stack(f);
        if self.opts.stackmaps && self.sibling_calls_in(f) {
            self.report.sibling_calls_folded += crate::sibcall::fold_returns(f);
        }
        let polls_at_entry = self.opts.migration_points.entry() && !self.is_leaf(f);
        debug_assert!(
            polls_at_entry || !self.entry_polled.contains(&f),
            "{name}: loops rely on an entry poll it does not get"
        );
        if polls_at_entry {
            self.entry_poll(f);
        }
        if self.opts.migration_points.loops() {
            self.backedge_polls(f, &short_loops);
        }
        if self.opts.stackmaps {
            self.register_jmpbufs(f);
            if self.opts.sink_cheap_values {
                self.report.sunk_uses += crate::sink::sink_cheap_values(f, &self.b);
            }
            self.legalize_live_values(f)?;
            self.statepoints(f)?;
        }
        Ok(())
    }

    /// Whether `f` calls nothing that becomes a statepoint (only intrinsics and library
    /// functions). Such a function gets no entry poll: without loops it runs for a bounded
    /// time and returns to a caller that polls (at its own loops and entry), and its loops
    /// poll at their back-edges. An entry poll would make it a non-leaf: the cold call into the
    /// runtime needs the arguments kept in callee-saved registers on every path (measured:
    /// `lua_pushnumber` from 5 instructions to 16).
    fn is_leaf(&self, f: LLVMValueRef) -> bool {
        llvm::blocks(f)
            .into_iter()
            .flat_map(llvm::instructions)
            .all(|i| !self.is_candidate_call(i))
    }

    /// Moves `f`'s locals to the shadow stack, if that is on ([`crate::shadow`]).
    fn shadow_stack(&mut self, f: LLVMValueRef) {
        let sizes = self
            .opts
            .shadow_slot_sizes
            .get(&llvm::value_name(f))
            .map(Vec::as_slice);
        let hazards = &mut self.report.hazards;
        if let Some(frame) = self
            .shadow
            .as_mut()
            .and_then(|s| s.function(f, sizes, hazards))
        {
            self.report.shadow_frames.push(frame);
        }
    }

    /// Is this a call the pass turns into a statepoint?
    fn is_candidate_call(&self, i: LLVMValueRef) -> bool {
        if !llvm::is_call(i) {
            return false;
        }
        let callee = unsafe { LLVMGetCalledValue(i) };
        if unsafe { !LLVMIsAInlineAsm(callee).is_null() } {
            return false;
        }
        match llvm::direct_callee(i) {
            Some(f) if self.is_migratable_setjmp(f) => true,
            Some(f) => {
                llvm::intrinsic_id(f) == 0
                    && !(unsafe { LLVMIsDeclaration(f) } != 0
                        && self.opts.library_functions.contains(&llvm::value_name(f)))
            }
            None => true,
        }
    }

    /// Whether `call` stays a plain call because it is a sibling call ([`crate::sibcall`]):
    /// not a statepoint, but still a call for [`Self::is_leaf`] (a chain of tail calls can
    /// recurse, so its functions keep their entry polls).
    fn keeps_sibling_call(&self, f: LLVMValueRef, call: LLVMValueRef) -> bool {
        self.sibling_calls_in(f) && crate::sibcall::is_sibling_call(call)
    }

    fn sibling_calls_in(&self, f: LLVMValueRef) -> bool {
        self.opts.sibling_calls && !self.opts.no_sibling_calls.contains(&llvm::value_name(f))
    }

    /// Is `callee` a `setjmp` whose callers stay migratable ([`MIGRATABLE_SETJMPS`])? Only
    /// with stackmaps: its call becomes a statepoint whose record describes the frame that a
    /// `longjmp` returns to, and the call registers its `jmp_buf` ([`Self::register_jmpbufs`]).
    fn is_migratable_setjmp(&self, callee: LLVMValueRef) -> bool {
        self.opts.stackmaps
            && llvm::fn_has_enum_attr(callee, "returns_twice")
            && MIGRATABLE_SETJMPS.contains(&llvm::value_name(callee).as_str())
    }

    /// Calls [`JMPBUF_REGISTER_FN`] with the `jmp_buf` right before every migratable `setjmp`
    /// call, so the runtime's registry names every buffer a later `longjmp` may use (the
    /// transformation rewrites the registered buffers whose frame is still on the stack).
    fn register_jmpbufs(&mut self, f: LLVMValueRef) {
        let mut calls = Vec::new();
        for bb in llvm::blocks(f) {
            for i in llvm::instructions(bb) {
                if llvm::is_call(i)
                    && llvm::direct_callee(i).is_some_and(|c| self.is_migratable_setjmp(c))
                {
                    calls.push(i);
                }
            }
        }
        if calls.is_empty() {
            return;
        }
        let name = cstr(JMPBUF_REGISTER_FN);
        unsafe {
            let mut params = [self.ptr];
            let ty = LLVMFunctionType(LLVMVoidTypeInContext(self.ctx), params.as_mut_ptr(), 1, 0);
            let mut reg = LLVMGetNamedFunction(self.m, name.as_ptr());
            if reg.is_null() {
                reg = LLVMAddFunction(self.m, name.as_ptr(), ty);
                llvm::unimig_set_dso_local(reg);
                let a = LLVMCreateEnumAttribute(self.ctx, llvm::enum_attr_kind("nounwind"), 0);
                LLVMAddAttributeAtIndex(reg, llvm_sys::LLVMAttributeFunctionIndex, a);
            }
            for call in calls {
                self.b.before(call);
                let mut args = [LLVMGetOperand(call, 0)];
                let r = LLVMBuildCall2(self.b.0, ty, reg, args.as_mut_ptr(), 1, EMPTY);
                let loc = llvm_sys::debuginfo::LLVMInstructionGetDebugLoc(call);
                if !loc.is_null() {
                    llvm_sys::debuginfo::LLVMInstructionSetDebugLoc(r, loc);
                }
            }
        }
    }

    /// Whether [`Self::function`] will give `f` an entry poll: instrumented (not skipped, not
    /// ineligible) and not a leaf.
    fn will_poll_at_entry(&self, f: LLVMValueRef) -> bool {
        let name = llvm::value_name(f);
        self.opts.migration_points.entry()
            && !self.opts.skip_functions.contains(&name)
            && !name.starts_with("__unimig_")
            && !llvm::fn_has_enum_attr(f, "naked")
            && self.ineligibility(f).is_ok()
            && !self.is_leaf(f)
    }

    /// [`Self::ineligibility`]'s reason, if any; otherwise the inline asm calls left without a
    /// stackmap are reported one by one (they do not disqualify).
    fn ineligible(&mut self, f: LLVMValueRef) -> Option<(SkipReason, Option<LLVMValueRef>)> {
        let fname = llvm::value_name(f);
        let asm_calls = match self.ineligibility(f) {
            Ok(calls) => calls,
            Err(reason) => return Some(reason),
        };
        for i in asm_calls {
            self.report.skipped.push(Skip {
                function: fname.clone(),
                reason: SkipReason::InlineAsm,
                loc: srcloc::of_instruction_or_function(i, f),
            });
        }
        None
    }

    /// `f`'s inline asm calls, or why `f` cannot be instrumented, with the instruction that
    /// makes it so (`None`: a parameter's type).
    fn ineligibility(
        &self,
        f: LLVMValueRef,
    ) -> std::result::Result<Vec<LLVMValueRef>, (SkipReason, Option<LLVMValueRef>)> {
        let mut asm_calls = Vec::new();
        for p in llvm::params(f) {
            if let Err(e) = self.check_pieces(llvm::type_of(p)) {
                return Err((SkipReason::UnsupportedLiveType(e), None));
            }
        }
        for bb in llvm::blocks(f) {
            for i in llvm::instructions(bb) {
                match llvm::opcode(i) {
                    LLVMOpcode::LLVMInvoke => return Err((SkipReason::Invoke, Some(i))),
                    LLVMOpcode::LLVMCallBr => return Err((SkipReason::AsmGoto, Some(i))),
                    LLVMOpcode::LLVMCall => {}
                    _ => {
                        if llvm::is_first_class_value(i) {
                            if let Err(e) = self.check_pieces(llvm::type_of(i)) {
                                return Err((SkipReason::UnsupportedLiveType(e), Some(i)));
                            }
                        }
                        continue;
                    }
                }
                if llvm::is_first_class_value(i) {
                    if let Err(e) = self.check_pieces(llvm::type_of(i)) {
                        return Err((SkipReason::UnsupportedLiveType(e), Some(i)));
                    }
                }
                let callee = unsafe { LLVMGetCalledValue(i) };
                if unsafe { !LLVMIsAInlineAsm(callee).is_null() } {
                    asm_calls.push(i);
                    continue;
                }
                let direct = llvm::direct_callee(i);
                if let Some(c) = direct {
                    let cname = llvm::value_name(c);
                    if cname.starts_with("llvm.va_start") || cname.starts_with("llvm.va_copy") {
                        return Err((SkipReason::VaStart, Some(i)));
                    }
                    if llvm::fn_has_enum_attr(c, "returns_twice") {
                        if self.is_migratable_setjmp(c) {
                            continue;
                        }
                        return Err((SkipReason::ReturnsTwice(cname), Some(i)));
                    }
                    if llvm::intrinsic_id(c) != 0 {
                        continue;
                    }
                }
                if llvm::call_has_enum_attr(i, "returns_twice") {
                    let cname = direct
                        .map(llvm::value_name)
                        .unwrap_or_else(|| "(indirect)".into());
                    return Err((SkipReason::ReturnsTwice(cname), Some(i)));
                }
                if unsafe { LLVMGetTailCallKind(i) }
                    == llvm_sys::LLVMTailCallKind::LLVMTailCallKindMustTail
                {
                    return Err((SkipReason::MustTail, Some(i)));
                }
                if unsafe { LLVMGetNumOperandBundles(i) } > 0 {
                    return Err((SkipReason::OperandBundles, Some(i)));
                }
            }
        }
        Ok(asm_calls)
    }

    /// Moves the entry block's constant-size allocas to its top (keeping their order), so that
    /// splitting the entry block after them keeps them static.
    fn hoist_static_allocas(&mut self, f: LLVMValueRef) {
        let entry = unsafe { LLVMGetEntryBasicBlock(f) };
        let insts = llvm::instructions(entry);
        let Some(&first) = insts.first() else { return };
        let mut anchor: Option<LLVMValueRef> = None; // last hoisted alloca
        let mut seen_non_alloca = false;
        for i in insts {
            let is_static_alloca = llvm::opcode(i) == LLVMOpcode::LLVMAlloca
                && unsafe { LLVMIsConstant(LLVMGetOperand(i, 0)) } != 0;
            if !is_static_alloca {
                seen_non_alloca = true;
                continue;
            }
            if seen_non_alloca {
                let before = match anchor {
                    Some(a) => unsafe { LLVMGetNextInstruction(a) },
                    None => first,
                };
                if before != i {
                    unsafe { llvm::unimig_move_before(i, before) };
                }
            }
            anchor = Some(i);
        }
    }

    /// First instruction of the entry block that is not a static alloca.
    fn after_allocas(&self, f: LLVMValueRef) -> LLVMValueRef {
        let entry = unsafe { LLVMGetEntryBasicBlock(f) };
        for i in llvm::instructions(entry) {
            let is_static_alloca = llvm::opcode(i) == LLVMOpcode::LLVMAlloca
                && unsafe { LLVMIsConstant(LLVMGetOperand(i, 0)) } != 0;
            if !is_static_alloca {
                return i;
            }
        }
        unreachable!("a block ends in a terminator")
    }

    fn flag(&mut self) -> LLVMValueRef {
        if let Some(g) = self.flag {
            return g;
        }
        let name = cstr(MIGRATE_FLAG);
        unsafe {
            let mut g = LLVMGetNamedGlobal(self.m, name.as_ptr());
            if g.is_null() {
                g = LLVMAddGlobal(self.m, self.i32, name.as_ptr());
                LLVMSetAlignment(g, 4);
                if self.opts.define_flag_weak {
                    LLVMSetInitializer(g, LLVMConstInt(self.i32, 0, 0));
                    LLVMSetLinkage(g, LLVMLinkage::LLVMWeakAnyLinkage);
                    let comdat = llvm_sys::comdat::LLVMGetOrInsertComdat(self.m, name.as_ptr());
                    llvm_sys::comdat::LLVMSetComdat(g, comdat);
                }
                llvm::unimig_set_dso_local(g);
            }
            self.flag = Some(g);
            g
        }
    }

    fn mp_fn(&mut self) -> LLVMValueRef {
        if let Some(f) = self.mp_fn {
            return f;
        }
        let name = cstr(MIGRATION_POINT_FN);
        unsafe {
            let mut f = LLVMGetNamedFunction(self.m, name.as_ptr());
            if f.is_null() {
                let ty =
                    LLVMFunctionType(LLVMVoidTypeInContext(self.ctx), std::ptr::null_mut(), 0, 0);
                f = LLVMAddFunction(self.m, name.as_ptr(), ty);
                llvm::unimig_set_dso_local(f);
                if self.opts.define_migration_point_weak {
                    self.define_weak_no_op(f, &name);
                }
            }
            // Every register survives the cold call (the runtime's stub saves them all), so a
            // function that polls keeps its values where it likes: with the C convention a
            // poll in a loop made the whole function save and restore callee-saved registers
            // (Lua's script: 5% more instructions).
            if self.opts.poll_preserves_all {
                LLVMSetFunctionCallConv(f, MIGRATION_POINT_CALLING_CONVENTION);
            }
            self.mp_fn = Some(f);
            f
        }
    }

    /// Gives `f` (`void f(void)`, named `name`) the body `ret void`, weak in a comdat of its
    /// name: every object that calls it carries one copy, the linker keeps one, and a strong
    /// definition (the runtime's) wins. It is not instrumented (a `__unimig_` function).
    fn define_weak_no_op(&self, f: LLVMValueRef, name: &std::ffi::CStr) {
        unsafe {
            let entry = LLVMAppendBasicBlockInContext(self.ctx, f, c"entry".as_ptr());
            let b = Builder::new(self.ctx);
            b.at_end(entry);
            LLVMBuildRetVoid(b.0);
            LLVMSetLinkage(f, LLVMLinkage::LLVMWeakAnyLinkage);
            let comdat = llvm_sys::comdat::LLVMGetOrInsertComdat(self.m, name.as_ptr());
            llvm_sys::comdat::LLVMSetComdat(f, comdat);
            for attr in ["nounwind", "noinline"] {
                let a = LLVMCreateEnumAttribute(self.ctx, llvm::enum_attr_kind(attr), 0);
                LLVMAddAttributeAtIndex(f, llvm_sys::LLVMAttributeFunctionIndex, a);
            }
        }
    }

    /// At the builder's position: `load atomic volatile monotonic` of the flag, `!= 0`. An
    /// aligned 32-bit atomic load, as for a flag another thread or a signal handler sets;
    /// volatile too, so nothing merges, hoists or drops it. Atomic loads are not folded into
    /// the compare: x86-64 polls with `movl flag(%rip), %eax; testl %eax, %eax; jne` rather
    /// than `cmpl $0, flag(%rip); jne`, whose immediate next to a RIP-relative operand neither
    /// micro- nor macro-fuses (three micro-ops instead of two). Measured: a 7-instruction loop
    /// shaped like bzip2's move-to-front search, hand-written, 28.7-31.0 ms -> 25.8 ms (20.5
    /// without a poll; medians of 9 runs); the benchmark's geomean 1.032 -> 1.025 in two runs
    /// (README). It costs a scratch register per poll, which moved x86-64's register
    /// allocation in a few functions (Lua's unsafe sites 137 -> 159, the added ones all in
    /// lstrlib.c's `match`). AArch64 code is the same either way (`ldr`, `cbnz`).
    ///
    /// Every poll names the global itself. (Loop polls used to read it through a per-function
    /// copy of its address, an empty inline asm the code generator cannot see through, so that
    /// a hoisted `adrp`/`lea` would not sit in a callee-saved register outside the records.
    /// The machine check now records how to recreate such an address (`.unimig.fixups`), and
    /// the copy cost a callee-saved register in every function with a loop: recurse.c's
    /// `ack` saved and restored one more; Lua's unsafe sites went from 163 to 131 without it.)
    fn build_flag_test(&mut self) -> LLVMValueRef {
        let g = self.flag();
        unsafe {
            let v = LLVMBuildLoad2(self.b.0, self.i32, g, c"unimig.flag".as_ptr());
            LLVMSetOrdering(v, llvm_sys::LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic);
            LLVMSetVolatile(v, 1);
            LLVMSetAlignment(v, 4);
            LLVMBuildICmp(
                self.b.0,
                LLVMIntPredicate::LLVMIntNE,
                v,
                LLVMConstInt(self.i32, 0, 0),
                c"unimig.requested".as_ptr(),
            )
        }
    }

    fn new_block(
        &self,
        f: LLVMValueRef,
        before: LLVMBasicBlockRef,
        name: &str,
    ) -> LLVMBasicBlockRef {
        let c = cstr(name);
        unsafe {
            if before.is_null() {
                LLVMAppendBasicBlockInContext(self.ctx, f, c.as_ptr())
            } else {
                LLVMInsertBasicBlockInContext(self.ctx, before, c.as_ptr())
            }
        }
    }

    /// A block `call __unimig_migration_point(); br cont`.
    fn mp_block(
        &mut self,
        f: LLVMValueRef,
        before: LLVMBasicBlockRef,
        cont: LLVMBasicBlockRef,
    ) -> LLVMBasicBlockRef {
        let bb = self.new_block(f, before, "unimig.mp");
        let mp = self.mp_fn();
        unsafe {
            self.b.at_end(bb);
            let ty = llvm::global_value_type(mp);
            let c = LLVMBuildCall2(self.b.0, ty, mp, std::ptr::null_mut(), 0, EMPTY);
            LLVMSetInstructionCallConv(c, LLVMGetFunctionCallConv(mp));
            LLVMBuildBr(self.b.0, cont);
        }
        bb
    }

    /// The function's entry poll: in its entry block if a loop relies on it
    /// ([`Self::entry_polled`]), else where its calls are ([`crate::poll_site`]).
    fn entry_poll(&mut self, f: LLVMValueRef) {
        let site = if self.opts.sink_entry_polls && !self.entry_polled.contains(&f) {
            let ir = FnIr::read(f);
            let call_blocks: Vec<usize> = (0..ir.block_refs.len())
                .filter(|&b| {
                    llvm::instructions(ir.block_refs[b])
                        .into_iter()
                        .any(|i| self.is_candidate_call(i))
                })
                .collect();
            let idom = cfg::idoms(&ir.cfg);
            poll_site::entry_poll_site(&ir.cfg, &idom, &call_blocks).map(|b| ir.block_refs[b])
        } else {
            PollSite::Entry
        };
        match site {
            PollSite::Entry => self.poll_before(f, self.after_allocas(f)),
            PollSite::Block(b) => self.poll_before(f, llvm::first_non_phi(b)),
            // A block of its own on the edge, split by the poll: the header's phis take their
            // values from the join after the poll, so a constant a phi receives is not made
            // before the runtime call (x86-64 kept doubles.c's `1.0` in xmm1 across it: a
            // 16-byte register the fixups cannot restore, so an unsafe site).
            PollSite::Edge(from, to) => unsafe {
                let edge = llvm::unimig_split_edges(from, to, c"unimig.poll".as_ptr());
                self.poll_before(f, LLVMGetBasicBlockTerminator(edge))
            },
        }
        if site != PollSite::Entry {
            self.report.entry_polls_sunk += 1;
        }
        self.report.entry_polls += 1;
    }

    /// At the end of the builder's block: `br (flag != 0), mp, cont`, weighted as unlikely.
    fn branch_if_requested(&mut self, mp: LLVMBasicBlockRef, cont: LLVMBasicBlockRef) {
        let requested = self.build_flag_test();
        let br = unsafe { LLVMBuildCondBr(self.b.0, requested, mp, cont) };
        llvm::set_branch_weights(self.ctx, br, 1, 1 << 20);
    }

    /// A poll right before `at`: its block is split there, the first half tests the flag.
    fn poll_before(&mut self, f: LLVMValueRef, at: LLVMValueRef) {
        let block = unsafe { LLVMGetInstructionParent(at) };
        let cont = unsafe { llvm::unimig_split_block_before(at) };
        unsafe {
            // Replace the split's `br cont` with the poll.
            LLVMInstructionEraseFromParent(LLVMGetBasicBlockTerminator(block));
        }
        let mp = self.mp_block(f, cont, cont);
        self.b.at_end(block);
        self.branch_if_requested(mp, cont);
    }

    /// A poll on the back-edge `latch -> header`: a new block on it tests the flag.
    fn backedge_poll(
        &mut self,
        f: LLVMValueRef,
        latch: LLVMBasicBlockRef,
        header: LLVMBasicBlockRef,
    ) {
        let p = unsafe { llvm::unimig_split_edges(latch, header, c"unimig.backedge".as_ptr()) };
        unsafe { LLVMInstructionEraseFromParent(LLVMGetBasicBlockTerminator(p)) };
        let mp = self.mp_block(f, header, header);
        self.b.at_end(p);
        self.branch_if_requested(mp, header);
        copy_phi_entries(header, p, mp);
    }

    /// Whether every iteration around the back-edge `latch -> header` calls a function that
    /// polls at entry: some block on the dominator-tree path from `latch` up to `header` (so on
    /// every path from the header to the latch) makes such a call, so the back-edge needs no
    /// poll of its own: the loop cannot run long without reaching one. (A loop calling itself
    /// recursively, `fib` turned into a loop around one of its two calls, kept a counter and
    /// the flag's address in callee-saved registers for nothing.) Irreducible loops, whose
    /// header does not dominate the latch, keep their polls.
    fn iterations_call_a_poll(
        &mut self,
        ir: &FnIr,
        idom: &[Option<usize>],
        latch: usize,
        header: usize,
    ) -> bool {
        let calls_a_poll = callees_of_every_iteration(ir, idom, latch, header)
            .iter()
            .any(|c| self.entry_polled.contains(c));
        if calls_a_poll {
            self.report.backedge_polls_elided += 1;
        }
        calls_a_poll
    }

    /// The functions that some back-edge's every iteration calls ([`callees_of_every_iteration`])
    /// in the module's `defined` functions, when loops poll: the functions whose entry polls
    /// [`Self::iterations_call_a_poll`] may rely on.
    fn callees_of_every_loop_iteration(&self, defined: &[LLVMValueRef]) -> HashSet<LLVMValueRef> {
        let mut out = HashSet::new();
        if !self.opts.migration_points.loops() {
            return out;
        }
        for &f in defined {
            let ir = FnIr::read(f);
            let edges = ir.cfg.retreating_edges();
            if edges.is_empty() {
                continue;
            }
            let idom = cfg::idoms(&ir.cfg);
            for (latch, header) in edges {
                out.extend(callees_of_every_iteration(&ir, &idom, latch, header));
            }
        }
        out
    }

    /// Polls on `f`'s back-edges, except those into the headers of `short` loops
    /// ([`llvm::short_loop_headers`]).
    fn backedge_polls(&mut self, f: LLVMValueRef, short: &[LLVMBasicBlockRef]) {
        let ir = FnIr::read(f);
        let edges = ir.cfg.retreating_edges();
        if edges.is_empty() {
            return;
        }
        let idom = cfg::idoms(&ir.cfg);
        let (short_edges, edges): (Vec<_>, Vec<_>) = edges
            .into_iter()
            .partition(|&(_, header)| short.contains(&ir.block_refs[header]));
        self.report.short_loop_backedges += short_edges.len();
        let edges: Vec<(usize, usize)> = edges
            .into_iter()
            .filter(|&(latch, header)| !self.iterations_call_a_poll(&ir, &idom, latch, header))
            .collect();
        if edges.is_empty() {
            return;
        }
        let period = self.opts.loop_poll_period.max(1);
        // Per counting edge: (decrement block, its `sub`, check block).
        let mut counting: Vec<(LLVMBasicBlockRef, LLVMValueRef, LLVMBasicBlockRef)> = Vec::new();
        let mut resets: Vec<LLVMBasicBlockRef> = Vec::new();
        for &(u, h) in &edges {
            let (ub, hb) = (ir.block_refs[u], ir.block_refs[h]);
            self.report.backedge_polls += 1;
            if period == 1 {
                self.backedge_poll(f, ub, hb);
                continue;
            }
            let p = unsafe { llvm::unimig_split_edges(ub, hb, c"unimig.backedge".as_ptr()) };
            unsafe { LLVMInstructionEraseFromParent(LLVMGetBasicBlockTerminator(p)) };
            let check = self.new_block(f, hb, "unimig.poll");
            let mp = self.mp_block(f, hb, hb);
            // p: %c1 = sub %c, 1 (operand patched after SSA construction); br (c1 == 0)
            self.b.at_end(p);
            // A placeholder operand the builder cannot constant-fold; replaced (and erased)
            // by the SSA construction.
            let placeholder = unsafe { LLVMBuildPhi(self.b.0, self.i32, c"unimig.tmp".as_ptr()) };
            let dec = unsafe {
                LLVMBuildSub(
                    self.b.0,
                    placeholder,
                    LLVMConstInt(self.i32, 1, 0),
                    c"unimig.count".as_ptr(),
                )
            };
            let zero = unsafe {
                LLVMBuildICmp(
                    self.b.0,
                    LLVMIntPredicate::LLVMIntEQ,
                    dec,
                    LLVMConstInt(self.i32, 0, 0),
                    EMPTY,
                )
            };
            let br = unsafe { LLVMBuildCondBr(self.b.0, zero, check, hb) };
            llvm::set_branch_weights(self.ctx, br, 1, period.saturating_sub(1).max(1));
            self.b.at_end(check);
            self.branch_if_requested(mp, hb);
            copy_phi_entries(hb, p, check);
            copy_phi_entries(hb, p, mp);
            counting.push((p, dec, check));
            resets.push(check);
        }
        if !counting.is_empty() {
            self.build_counter_ssa(f, period, &counting, &resets);
        }
    }

    /// SSA construction for the per-function poll counter. Definitions: function entry
    /// (`period`), each decrement block (`%dec`, at its end), each check block (`period`, at its
    /// start; its migration-point block inherits it). Uses: the `sub` of each decrement block.
    fn build_counter_ssa(
        &mut self,
        f: LLVMValueRef,
        period: u32,
        counting: &[(LLVMBasicBlockRef, LLVMValueRef, LLVMBasicBlockRef)],
        resets: &[LLVMBasicBlockRef],
    ) {
        let ir = FnIr::read(f);
        let cfg = &ir.cfg;
        let n = cfg.blocks.len();
        let bidx: HashMap<LLVMBasicBlockRef, usize> = ir
            .block_refs
            .iter()
            .enumerate()
            .map(|(i, &b)| (b, i))
            .collect();
        let period_c = unsafe { LLVMConstInt(self.i32, period as u64, 0) };
        // def_at_start: value defined at block start (reset blocks; entry).
        // def_at_end: value the block's end carries (decrement blocks).
        let mut def_start: HashMap<usize, LLVMValueRef> = HashMap::new();
        let mut def_end: HashMap<usize, LLVMValueRef> = HashMap::new();
        let mut use_block: HashMap<usize, LLVMValueRef> = HashMap::new(); // block -> sub inst
        def_start.insert(0, period_c);
        for &(p, dec, _) in counting {
            let b = bidx[&p];
            def_end.insert(b, dec);
            use_block.insert(b, dec);
        }
        for &r in resets {
            def_start.insert(bidx[&r], period_c);
        }
        // Liveness of the variable: live-in at blocks from which a use is reachable before a
        // definition.
        let preds = cfg.preds();
        let mut live_in = vec![false; n];
        let mut work: Vec<usize> = use_block.keys().copied().collect();
        for &b in &work {
            live_in[b] = true;
        }
        while let Some(b) = work.pop() {
            for &p in &preds[b] {
                // The variable is live-out of p; live-in at p unless p defines it.
                if def_end.contains_key(&p) || def_start.contains_key(&p) {
                    continue;
                }
                if !live_in[p] {
                    live_in[p] = true;
                    work.push(p);
                }
            }
        }
        let idom = cfg::idoms(cfg);
        let df = cfg::dominance_frontiers(cfg, &idom);
        // Iterated dominance frontier of definition blocks, pruned by liveness.
        let mut has_phi = vec![false; n];
        let mut work: Vec<usize> = def_start.keys().chain(def_end.keys()).copied().collect();
        let mut queued: HashSet<usize> = work.iter().copied().collect();
        while let Some(b) = work.pop() {
            for &d in &df[b] {
                if !has_phi[d] && live_in[d] {
                    has_phi[d] = true;
                    if queued.insert(d) {
                        work.push(d);
                    }
                }
            }
        }
        let mut phis: HashMap<usize, LLVMValueRef> = HashMap::new();
        for b in 0..n {
            if has_phi[b] && idom[b].is_some() {
                unsafe {
                    let first = LLVMGetFirstInstruction(ir.block_refs[b]);
                    self.b.before_with_debug_records(first);
                    phis.insert(
                        b,
                        LLVMBuildPhi(self.b.0, self.i32, c"unimig.counter".as_ptr()),
                    );
                }
            }
        }
        // Renaming along the dominator tree.
        let mut children = vec![Vec::new(); n];
        for (b, d) in idom.iter().enumerate().skip(1) {
            if let Some(p) = *d {
                children[p].push(b);
            }
        }
        let mut stack: Vec<(usize, LLVMValueRef)> = vec![(0, period_c)];
        while let Some((b, incoming)) = stack.pop() {
            let mut cur = incoming;
            if let Some(&phi) = phis.get(&b) {
                cur = phi;
            }
            if let Some(&v) = def_start.get(&b) {
                cur = v;
            }
            if let Some(&sub) = use_block.get(&b) {
                unsafe {
                    let placeholder = LLVMGetOperand(sub, 0);
                    LLVMSetOperand(sub, 0, cur);
                    LLVMInstructionEraseFromParent(placeholder);
                }
            }
            if let Some(&v) = def_end.get(&b) {
                cur = v;
            }
            for &s in &cfg.blocks[b].succs {
                if let Some(&phi) = phis.get(&s) {
                    let mut v = [cur];
                    let mut bb = [ir.block_refs[b]];
                    unsafe { LLVMAddIncoming(phi, v.as_mut_ptr(), bb.as_mut_ptr(), 1) };
                }
            }
            for &c in children[b].iter().rev() {
                stack.push((c, cur));
            }
        }
        // Unreachable predecessors of phi blocks still need entries.
        for (b, d) in idom.iter().enumerate() {
            if d.is_some() {
                continue;
            }
            for &s in &cfg.blocks[b].succs {
                if let Some(&phi) = phis.get(&s) {
                    let mut v = [period_c];
                    let mut bb = [ir.block_refs[b]];
                    unsafe { LLVMAddIncoming(phi, v.as_mut_ptr(), bb.as_mut_ptr(), 1) };
                }
            }
        }
    }

    // ---- canonical pieces -------------------------------------------------------------------

    fn is_canonical(&self, t: LLVMTypeRef) -> bool {
        unsafe {
            match llvm::type_kind(t) {
                LLVMTypeKind::LLVMIntegerTypeKind => matches!(LLVMGetIntTypeWidth(t), 32 | 64),
                LLVMTypeKind::LLVMPointerTypeKind => LLVMGetPointerAddressSpace(t) == 0,
                // Scalar floating point travels as integers: the code generator may keep a
                // float in a vector register class (x86-64 VR128 when it meets vector code:
                // 16-byte spill slots; AArch64 can widen too), so its record size would depend
                // on the ISA. In a general-purpose register it is 4 or 8 bytes on both, and
                // on x86-64 (no callee-saved XMM registers) it can stay in a callee-saved
                // register instead of a stack slot.
                LLVMTypeKind::LLVMVectorTypeKind => {
                    let e = LLVMGetElementType(t);
                    let n = LLVMGetVectorSize(t);
                    match llvm::type_kind(e) {
                        LLVMTypeKind::LLVMIntegerTypeKind => {
                            matches!(
                                (LLVMGetIntTypeWidth(e), n),
                                (8, 16) | (16, 8) | (32, 4) | (64, 2)
                            )
                        }
                        LLVMTypeKind::LLVMFloatTypeKind => n == 4,
                        LLVMTypeKind::LLVMDoubleTypeKind => n == 2,
                        _ => false,
                    }
                }
                _ => false,
            }
        }
    }

    /// Size in bytes of a canonical type.
    fn canonical_size(&self, t: LLVMTypeRef) -> u16 {
        match llvm::type_kind(t) {
            LLVMTypeKind::LLVMIntegerTypeKind => (unsafe { LLVMGetIntTypeWidth(t) } / 8) as u16,
            LLVMTypeKind::LLVMPointerTypeKind => 8,
            _ => 16,
        }
    }

    /// Can `v` be a deopt operand as it is?
    fn is_canonical_value(&self, v: LLVMValueRef) -> bool {
        self.is_canonical(llvm::type_of(v))
    }

    fn is_fp_kind(t: LLVMTypeRef) -> bool {
        matches!(
            llvm::type_kind(t),
            LLVMTypeKind::LLVMHalfTypeKind
                | LLVMTypeKind::LLVMBFloatTypeKind
                | LLVMTypeKind::LLVMFloatTypeKind
                | LLVMTypeKind::LLVMDoubleTypeKind
                | LLVMTypeKind::LLVMFP128TypeKind
                | LLVMTypeKind::LLVMX86_FP80TypeKind
        )
    }

    /// Emits the pieces of a live value.
    fn value_pieces(&self, v: LLVMValueRef, out: &mut Vec<LLVMValueRef>) {
        self.pieces(v, out);
    }

    /// Rebuilds a live value from [`Self::value_pieces`].
    fn value_restore(&self, v: LLVMValueRef, pieces: &[LLVMValueRef]) -> LLVMValueRef {
        self.restore(llvm::type_of(v), &mut pieces.iter())
    }

    /// Can values of type `t` be split into canonical pieces?
    fn check_pieces(&self, t: LLVMTypeRef) -> std::result::Result<(), PieceError> {
        if self.is_canonical(t) {
            return Ok(());
        }
        unsafe {
            match llvm::type_kind(t) {
                LLVMTypeKind::LLVMIntegerTypeKind
                | LLVMTypeKind::LLVMHalfTypeKind
                | LLVMTypeKind::LLVMBFloatTypeKind
                | LLVMTypeKind::LLVMFloatTypeKind
                | LLVMTypeKind::LLVMDoubleTypeKind
                | LLVMTypeKind::LLVMFP128TypeKind
                | LLVMTypeKind::LLVMX86_FP80TypeKind => Ok(()),
                LLVMTypeKind::LLVMVectorTypeKind => {
                    let e = LLVMGetElementType(t);
                    match llvm::type_kind(e) {
                        LLVMTypeKind::LLVMPointerTypeKind if LLVMGetPointerAddressSpace(e) == 0 => {
                            Ok(())
                        }
                        LLVMTypeKind::LLVMIntegerTypeKind
                        | LLVMTypeKind::LLVMHalfTypeKind
                        | LLVMTypeKind::LLVMBFloatTypeKind
                        | LLVMTypeKind::LLVMFloatTypeKind
                        | LLVMTypeKind::LLVMDoubleTypeKind => Ok(()),
                        _ => Err(llvm::type_to_string(t)),
                    }
                }
                LLVMTypeKind::LLVMStructTypeKind => {
                    if LLVMIsOpaqueStruct(t) != 0 {
                        return Err(llvm::type_to_string(t));
                    }
                    for k in 0..LLVMCountStructElementTypes(t) {
                        self.check_pieces(LLVMStructGetTypeAtIndex(t, k))?;
                    }
                    Ok(())
                }
                LLVMTypeKind::LLVMArrayTypeKind => {
                    if LLVMGetArrayLength2(t) > 64 {
                        return Err(llvm::type_to_string(t));
                    }
                    self.check_pieces(LLVMGetElementType(t))
                }
                LLVMTypeKind::LLVMVoidTypeKind
                | LLVMTypeKind::LLVMLabelTypeKind
                | LLVMTypeKind::LLVMMetadataTypeKind
                | LLVMTypeKind::LLVMTokenTypeKind => Ok(()),
                _ => Err(llvm::type_to_string(t)),
            }
        }
    }

    fn int_ty(&self, bits: u32) -> LLVMTypeRef {
        unsafe { LLVMIntTypeInContext(self.ctx, bits) }
    }

    /// Size in bits of a scalar or vector type (fixed size), for bitcasts to an integer.
    fn bits_of(&self, t: LLVMTypeRef) -> u32 {
        unsafe {
            match llvm::type_kind(t) {
                LLVMTypeKind::LLVMIntegerTypeKind => LLVMGetIntTypeWidth(t),
                LLVMTypeKind::LLVMHalfTypeKind | LLVMTypeKind::LLVMBFloatTypeKind => 16,
                LLVMTypeKind::LLVMFloatTypeKind => 32,
                LLVMTypeKind::LLVMDoubleTypeKind => 64,
                LLVMTypeKind::LLVMX86_FP80TypeKind => 80,
                LLVMTypeKind::LLVMFP128TypeKind => 128,
                LLVMTypeKind::LLVMPointerTypeKind => 64,
                LLVMTypeKind::LLVMVectorTypeKind => {
                    LLVMGetVectorSize(t) * self.bits_of(LLVMGetElementType(t))
                }
                _ => unreachable!("bits_of {}", llvm::type_to_string(t)),
            }
        }
    }

    /// Emits, at the builder's position, the canonical pieces of `v`.
    fn pieces(&self, v: LLVMValueRef, out: &mut Vec<LLVMValueRef>) {
        let t = llvm::type_of(v);
        if self.is_canonical(t) {
            out.push(v);
            return;
        }
        let b = self.b.0;
        unsafe {
            match llvm::type_kind(t) {
                LLVMTypeKind::LLVMIntegerTypeKind => {
                    let w = LLVMGetIntTypeWidth(t);
                    if w < 32 {
                        out.push(LLVMBuildZExt(b, v, self.i32, c"unimig.piece".as_ptr()));
                    } else if w < 64 {
                        out.push(LLVMBuildZExt(b, v, self.i64, c"unimig.piece".as_ptr()));
                    } else {
                        let total = w.div_ceil(64) * 64;
                        let wide = if total == w {
                            v
                        } else {
                            LLVMBuildZExt(b, v, self.int_ty(total), EMPTY)
                        };
                        for k in 0..total / 64 {
                            let shifted = if k == 0 {
                                wide
                            } else {
                                LLVMBuildLShr(
                                    b,
                                    wide,
                                    LLVMConstInt(self.int_ty(total), 64 * k as u64, 0),
                                    EMPTY,
                                )
                            };
                            out.push(LLVMBuildTrunc(
                                b,
                                shifted,
                                self.i64,
                                c"unimig.piece".as_ptr(),
                            ));
                        }
                    }
                }
                LLVMTypeKind::LLVMStructTypeKind | LLVMTypeKind::LLVMArrayTypeKind => {
                    let n = if llvm::type_kind(t) == LLVMTypeKind::LLVMStructTypeKind {
                        LLVMCountStructElementTypes(t) as u64
                    } else {
                        LLVMGetArrayLength2(t)
                    };
                    for k in 0..n {
                        let e = LLVMBuildExtractValue(b, v, k as u32, EMPTY);
                        self.pieces(e, out);
                    }
                }
                LLVMTypeKind::LLVMVectorTypeKind => {
                    // Not a canonical 128-bit vector: element by element, so that an ABI's
                    // <2 x float> and another's [2 x float] give the same pieces.
                    // Floating-point lanes travel as integers, like scalars (see `is_canonical`).
                    let et = LLVMGetElementType(t);
                    for k in 0..LLVMGetVectorSize(t) {
                        let mut e = LLVMBuildExtractElement(
                            b,
                            v,
                            LLVMConstInt(self.i32, k as u64, 0),
                            EMPTY,
                        );
                        if Self::is_fp_kind(et) {
                            e = LLVMBuildBitCast(b, e, self.int_ty(self.bits_of(et)), EMPTY);
                        }
                        self.pieces(e, out);
                    }
                }
                _ => {
                    // Floating point: as an integer of its size.
                    let bits = self.bits_of(t);
                    let as_int = LLVMBuildBitCast(b, v, self.int_ty(bits), EMPTY);
                    self.pieces(as_int, out);
                }
            }
        }
    }

    /// Emits, at the builder's position, a value of type `t` rebuilt from `pieces` (consumed
    /// from the front).
    fn restore(
        &self,
        t: LLVMTypeRef,
        pieces: &mut std::slice::Iter<'_, LLVMValueRef>,
    ) -> LLVMValueRef {
        if self.is_canonical(t) {
            return *pieces.next().expect("piece count matches type");
        }
        let b = self.b.0;
        unsafe {
            match llvm::type_kind(t) {
                LLVMTypeKind::LLVMIntegerTypeKind => {
                    let w = LLVMGetIntTypeWidth(t);
                    if w < 64 {
                        let p = *pieces.next().unwrap();
                        LLVMBuildTrunc(b, p, t, c"unimig.restore".as_ptr())
                    } else {
                        let total = w.div_ceil(64) * 64;
                        let tt = self.int_ty(total);
                        let mut acc = LLVMBuildZExt(b, *pieces.next().unwrap(), tt, EMPTY);
                        for k in 1..total / 64 {
                            let p = LLVMBuildZExt(b, *pieces.next().unwrap(), tt, EMPTY);
                            let s = LLVMBuildShl(b, p, LLVMConstInt(tt, 64 * k as u64, 0), EMPTY);
                            acc = LLVMBuildOr(b, acc, s, EMPTY);
                        }
                        if total == w {
                            acc
                        } else {
                            LLVMBuildTrunc(b, acc, t, c"unimig.restore".as_ptr())
                        }
                    }
                }
                LLVMTypeKind::LLVMStructTypeKind | LLVMTypeKind::LLVMArrayTypeKind => {
                    let is_struct = llvm::type_kind(t) == LLVMTypeKind::LLVMStructTypeKind;
                    let n = if is_struct {
                        LLVMCountStructElementTypes(t) as u64
                    } else {
                        LLVMGetArrayLength2(t)
                    };
                    let mut acc = LLVMGetPoison(t);
                    for k in 0..n {
                        let et = if is_struct {
                            LLVMStructGetTypeAtIndex(t, k as u32)
                        } else {
                            LLVMGetElementType(t)
                        };
                        let e = self.restore(et, pieces);
                        acc = LLVMBuildInsertValue(b, acc, e, k as u32, EMPTY);
                    }
                    acc
                }
                LLVMTypeKind::LLVMVectorTypeKind => {
                    let et = LLVMGetElementType(t);
                    let mut acc = LLVMGetPoison(t);
                    for k in 0..LLVMGetVectorSize(t) {
                        let e = if Self::is_fp_kind(et) {
                            let i = self.restore(self.int_ty(self.bits_of(et)), pieces);
                            self.fp_from_bits(i, et)
                        } else {
                            self.restore(et, pieces)
                        };
                        acc = LLVMBuildInsertElement(
                            b,
                            acc,
                            e,
                            LLVMConstInt(self.i32, k as u64, 0),
                            EMPTY,
                        );
                    }
                    acc
                }
                _ => {
                    let bits = self.bits_of(t);
                    let as_int = self.restore(self.int_ty(bits), pieces);
                    self.fp_from_bits(as_int, t)
                }
            }
        }
    }

    /// At the builder's position: the float or double whose bit pattern is `bits`, moved from
    /// the integer register by an inline asm `movq`/`movd` (x86-64) or `fmov` (AArch64).
    ///
    /// A plain bitcast is a copy the code generator sees through (on AArch64 it is a
    /// cross-class COPY; x86-64's moves are marked as bitcasts): it would read the original
    /// floating-point value instead, kept alive across the call in d8-d15 or a spill slot the
    /// stackmap record does not list, and the site would be unsafe. The asm is the same one
    /// instruction a bitcast between register files costs. Other floating-point types (half,
    /// fp128, x86_fp80) keep the bitcast.
    fn fp_from_bits(&self, bits: LLVMValueRef, t: LLVMTypeRef) -> LLVMValueRef {
        let b = self.b.0;
        let kind = llvm::type_kind(t);
        let (code, constraints) = match (self.isa, kind) {
            (Isa::X86_64, LLVMTypeKind::LLVMDoubleTypeKind) => ("movq $1, $0", "=x,r"),
            (Isa::X86_64, LLVMTypeKind::LLVMFloatTypeKind) => ("movd $1, $0", "=x,r"),
            (Isa::Aarch64, LLVMTypeKind::LLVMDoubleTypeKind) => ("fmov ${0:d}, ${1:x}", "=w,r"),
            (Isa::Aarch64, LLVMTypeKind::LLVMFloatTypeKind) => ("fmov ${0:s}, ${1:w}", "=w,r"),
            _ => return unsafe { LLVMBuildBitCast(b, bits, t, c"unimig.restore".as_ptr()) },
        };
        let call = llvm::build_inline_asm(
            &self.b,
            code,
            constraints,
            t,
            &[bits],
            false,
            c"unimig.restore",
        );
        unsafe {
            // Neither memory nor side effects (`memory(none)` is the value 0), so the code
            // generator schedules it like the move it is; no IR pass runs after this one that
            // could merge two of them across a call.
            for (attr, value) in [("nounwind", 0), ("memory", 0)] {
                let a = LLVMCreateEnumAttribute(self.ctx, llvm::enum_attr_kind(attr), value);
                LLVMAddCallSiteAttribute(call, llvm_sys::LLVMAttributeFunctionIndex, a);
            }
            call
        }
    }

    /// Candidate calls and the values live across each, from a fresh read of the function.
    fn calls_and_live(&self, f: LLVMValueRef) -> (FnIr, Vec<(LLVMValueRef, Vec<ValueId>)>) {
        let ir = FnIr::read(f);
        let live = Liveness::compute(&ir.cfg);
        let mut out = Vec::new();
        for (b, k, vals) in live.live_across_calls(&ir.cfg) {
            let id = ir.cfg.blocks[b].insts[k].id;
            let call = ir.values[id as usize];
            if self.is_candidate_call(call) && !self.keeps_sibling_call(f, call) {
                out.push((call, vals));
            }
        }
        (ir, out)
    }

    fn legalize_live_values(&mut self, f: LLVMValueRef) -> Result<()> {
        let (ir, calls) = self.calls_and_live(f);
        let mut todo: Vec<ValueId> = Vec::new();
        for (_, vals) in &calls {
            for &v in vals {
                let val = ir.values[v as usize];
                if !self.is_canonical_value(val) && !todo.contains(&v) {
                    todo.push(v);
                }
            }
        }
        todo.sort();
        for v in todo {
            let val = ir.values[v as usize];
            self.legalize_value(f, val)?;
            self.report.legalized_values += 1;
        }
        Ok(())
    }

    fn legalize_value(&mut self, f: LLVMValueRef, v: LLVMValueRef) -> Result<()> {
        // Where the pieces go, and where the block is split after them.
        let (insert_before, split_before): (LLVMValueRef, LLVMValueRef) = unsafe {
            if llvm::is_argument(v) {
                let first = self.after_allocas(f);
                (first, first)
            } else if llvm::opcode(v) == LLVMOpcode::LLVMPHI {
                let mut i = LLVMGetFirstInstruction(LLVMGetInstructionParent(v));
                while llvm::opcode(i) == LLVMOpcode::LLVMPHI {
                    i = LLVMGetNextInstruction(i);
                }
                (i, i)
            } else {
                let next = LLVMGetNextInstruction(v);
                if next.is_null() {
                    bail!(
                        "value {} defined by a terminator is live across a call",
                        llvm::value_to_string(v)
                    );
                }
                (next, next)
            }
        };
        // Existing uses, before the pieces add theirs.
        let uses = llvm::operand_uses(v);
        self.b.before(insert_before);
        let mut pieces = Vec::new();
        self.value_pieces(v, &mut pieces);
        for (i, &p) in pieces.iter().enumerate() {
            self.piece_source.insert(p, (v, i as u32));
        }
        // Split after the pieces.
        unsafe { llvm::unimig_split_block_before(split_before) };
        for (user, k) in uses {
            unsafe {
                if llvm::opcode(user) == LLVMOpcode::LLVMPHI {
                    let from = LLVMGetIncomingBlock(user, k);
                    self.b.before(LLVMGetBasicBlockTerminator(from));
                } else {
                    self.b.before(user);
                }
                let r = self.value_restore(v, &pieces);
                LLVMSetOperand(user, k, r);
            }
        }
        Ok(())
    }

    // ---- statepoints ------------------------------------------------------------------------

    /// The values `live` in canonical order: by the canonical number of the value a piece was
    /// split from (the value itself if it was not split), then by piece index. Ordering pieces
    /// by their source keeps lists aligned when the ISAs' front ends lower an argument
    /// differently (x86-64 passes __int128 as two i64 arguments, AArch64 as one i128 that is
    /// split into two pieces here).
    fn canonical_order(&self, ir: &FnIr, live: &[ValueId]) -> Vec<LLVMValueRef> {
        let mut keyed: Vec<((ValueId, u32), LLVMValueRef)> = live
            .iter()
            .map(|&v| {
                let val = ir.values[v as usize];
                let key = match self.piece_source.get(&val) {
                    Some(&(src, i)) => (ir.index.get(&src).copied().unwrap_or(v), i),
                    None => (v, 0),
                };
                (key, val)
            })
            .collect();
        keyed.sort_by_key(|&(k, _)| k);
        keyed.into_iter().map(|(_, v)| v).collect()
    }

    fn statepoints(&mut self, f: LLVMValueRef) -> Result<()> {
        if !self.opts.relocate_live_values {
            return self.deopt_statepoints(f);
        }
        let fname = llvm::value_name(f);
        let (ir, calls) = self.calls_and_live(f);
        // Also calls with nothing live across them are listed by live_across_calls; calls are
        // in canonical order (blocks in order, instructions in order).
        if calls.is_empty() {
            return Ok(());
        }
        let mp = self.mp_fn;
        // Every value live across some call becomes a variable (an entry-block slot, promoted
        // back to SSA at the end): stored at its definition, loaded at each use, and at each
        // call loaded into the statepoint's gc-live list and stored again from its
        // gc.relocate. So after a call the code reads exactly the value the statepoint
        // defines, at the location its record names (see the module documentation).
        let mut live_values: Vec<ValueId> =
            calls.iter().flat_map(|(_, l)| l.iter().copied()).collect();
        live_values.sort();
        live_values.dedup();
        // Value -> (slot, type). A value may be a call that becomes a statepoint (and is
        // erased) before the last use of this map, so its type is kept here.
        let mut slots: HashMap<LLVMValueRef, (LLVMValueRef, LLVMTypeRef)> = HashMap::new();
        for &v in &live_values {
            let val = ir.values[v as usize];
            if !self.is_canonical_value(val) {
                bail!(
                    "internal error: {fname}: non-canonical live value {} at a call",
                    llvm::value_to_string(val)
                );
            }
            let slot = self.make_variable(f, val)?;
            slots.insert(val, (slot, llvm::type_of(val)));
        }
        for (index, (call, live)) in calls.into_iter().enumerate() {
            let id = call_site_id(&self.salt, &fname, index as u32);
            let values = self.canonical_order(&ir, &live);
            // The gc-live list: each value's current content, as GC pointers.
            self.b.before(call);
            let mut gc_live: Vec<LLVMValueRef> = Vec::new();
            let mut parts: Vec<usize> = Vec::new();
            for &v in &values {
                let (slot, ty) = slots[&v];
                let cur = self.load_variable(slot, ty);
                let before = gc_live.len();
                self.to_gc_pointers(cur, &mut gc_live);
                parts.push(gc_live.len() - before);
            }
            let callee = llvm::direct_callee(call);
            self.report.call_sites.push(CallSite {
                id,
                function: fname.clone(),
                index: index as u32,
                callee: callee.map(llvm::value_name),
                num_live: gc_live.len(),
                live_sizes: vec![8; 2 * gc_live.len()],
                migration_point: callee.is_some() && callee == mp,
            });
            let next = unsafe { LLVMGetNextInstruction(call) };
            let (token, _) = self.make_statepoint(call, id, "gc-live", &gc_live);
            // After the call: every value from its relocation.
            self.b.before(next);
            let mut k = 0u32;
            for (&v, &n) in values.iter().zip(&parts) {
                let relocated: Vec<LLVMValueRef> = (k..k + n as u32)
                    .map(|i| self.gc_relocate(token, i))
                    .collect();
                k += n as u32;
                let (slot, ty) = slots[&v];
                let back = self.rebuild_from_gc_pointers(ty, &relocated);
                unsafe { LLVMBuildStore(self.b.0, back, slot) };
            }
        }
        let mut allocas: Vec<LLVMValueRef> = live_values
            .iter()
            .map(|&v| slots[&ir.values[v as usize]].0)
            .collect();
        unsafe { llvm::unimig_promote_allocas(f, allocas.as_mut_ptr(), allocas.len() as u32) };
        let gc = cstr(GC_STRATEGY);
        unsafe { LLVMSetGC(f, gc.as_ptr()) };
        Ok(())
    }

    /// The default form: live values as the statepoint's `deopt` operands (see the module
    /// documentation).
    fn deopt_statepoints(&mut self, f: LLVMValueRef) -> Result<()> {
        let fname = llvm::value_name(f);
        self.report.sibling_calls += llvm::blocks(f)
            .into_iter()
            .flat_map(llvm::instructions)
            .filter(|&i| self.is_candidate_call(i) && self.keeps_sibling_call(f, i))
            .count();
        let (ir, calls) = self.calls_and_live(f);
        // Also calls with nothing live across them are listed by live_across_calls; calls are
        // in canonical order (blocks in order, instructions in order).
        if calls.is_empty() {
            return Ok(());
        }
        let mp = self.mp_fn;
        // Calls already replaced by their statepoint's gc.result.
        let mut replaced: HashMap<LLVMValueRef, LLVMValueRef> = HashMap::new();
        for (index, (call, live)) in calls.into_iter().enumerate() {
            let id = call_site_id(&self.salt, &fname, index as u32);
            let deopt: Vec<LLVMValueRef> = self
                .canonical_order(&ir, &live)
                .into_iter()
                .map(|val| replaced.get(&val).copied().unwrap_or(val))
                .collect();
            for &d in &deopt {
                if !self.is_canonical_value(d) {
                    bail!(
                        "internal error: {fname}: non-canonical live value {} at a call",
                        llvm::value_to_string(d)
                    );
                }
            }
            let callee = llvm::direct_callee(call);
            self.report.call_sites.push(CallSite {
                id,
                function: fname.clone(),
                index: index as u32,
                callee: callee.map(llvm::value_name),
                num_live: deopt.len(),
                live_sizes: deopt
                    .iter()
                    .map(|&d| self.canonical_size(llvm::type_of(d)))
                    .collect(),
                migration_point: callee.is_some() && callee == mp,
            });
            if let (_, Some(result)) = self.make_statepoint(call, id, "deopt", &deopt) {
                replaced.insert(call, result);
            }
        }
        let gc = cstr(GC_STRATEGY);
        unsafe { LLVMSetGC(f, gc.as_ptr()) };
        Ok(())
    }

    /// Turns `v` into a variable: an entry-block slot, stored right after `v` is defined,
    /// every use of `v` reading the slot. Returns the slot.
    fn make_variable(&mut self, f: LLVMValueRef, v: LLVMValueRef) -> Result<LLVMValueRef> {
        let ty = llvm::type_of(v);
        let uses = llvm::operand_uses(v);
        unsafe {
            let entry = LLVMGetEntryBasicBlock(f);
            let first = LLVMGetFirstInstruction(entry);
            self.b.before(first);
            let slot = LLVMBuildAlloca(self.b.0, ty, c"unimig.var".as_ptr());
            let store_at = if llvm::is_argument(v) {
                self.after_allocas(f)
            } else if llvm::opcode(v) == LLVMOpcode::LLVMPHI {
                let mut i = LLVMGetFirstInstruction(LLVMGetInstructionParent(v));
                while llvm::opcode(i) == LLVMOpcode::LLVMPHI {
                    i = LLVMGetNextInstruction(i);
                }
                i
            } else {
                let next = LLVMGetNextInstruction(v);
                if next.is_null() {
                    bail!(
                        "value {} defined by a terminator is live across a call",
                        llvm::value_to_string(v)
                    );
                }
                next
            };
            self.b.before(store_at);
            LLVMBuildStore(self.b.0, v, slot);
            for (user, k) in uses {
                if llvm::opcode(user) == LLVMOpcode::LLVMPHI {
                    let from = LLVMGetIncomingBlock(user, k);
                    self.b.before(LLVMGetBasicBlockTerminator(from));
                } else {
                    self.b.before(user);
                }
                let cur = self.load_variable(slot, ty);
                LLVMSetOperand(user, k, cur);
            }
            Ok(slot)
        }
    }

    /// At the builder's position: the current value of the variable `slot` (of type `ty`).
    fn load_variable(&self, slot: LLVMValueRef, ty: LLVMTypeRef) -> LLVMValueRef {
        unsafe { LLVMBuildLoad2(self.b.0, ty, slot, EMPTY) }
    }

    fn gc_ptr_ty(&self) -> LLVMTypeRef {
        unsafe { LLVMPointerTypeInContext(self.ctx, 1) }
    }

    /// A canonical value as GC pointers (`ptr addrspace(1)`, what the statepoint-example
    /// strategy relocates): integers zero-extended to 64 bits, pointers cast, 128-bit vectors
    /// as two 64-bit halves. All are 8 bytes on both ISAs.
    fn to_gc_pointers(&self, v: LLVMValueRef, out: &mut Vec<LLVMValueRef>) {
        let t = llvm::type_of(v);
        let gp = self.gc_ptr_ty();
        unsafe {
            match llvm::type_kind(t) {
                LLVMTypeKind::LLVMIntegerTypeKind => {
                    let w = if LLVMGetIntTypeWidth(t) < 64 {
                        LLVMBuildZExt(self.b.0, v, self.i64, EMPTY)
                    } else {
                        v
                    };
                    out.push(LLVMBuildIntToPtr(self.b.0, w, gp, EMPTY));
                }
                LLVMTypeKind::LLVMPointerTypeKind => {
                    out.push(LLVMBuildAddrSpaceCast(self.b.0, v, gp, EMPTY));
                }
                _ => {
                    // A 128-bit vector: two i64 halves.
                    let v2 = LLVMVectorType(self.i64, 2);
                    let as2 = LLVMBuildBitCast(self.b.0, v, v2, EMPTY);
                    for i in 0..2 {
                        let e = LLVMBuildExtractElement(
                            self.b.0,
                            as2,
                            LLVMConstInt(self.i32, i, 0),
                            EMPTY,
                        );
                        out.push(LLVMBuildIntToPtr(self.b.0, e, gp, EMPTY));
                    }
                }
            }
        }
    }

    /// The inverse of [`Self::to_gc_pointers`] for a value of type `t`.
    fn rebuild_from_gc_pointers(&self, t: LLVMTypeRef, parts: &[LLVMValueRef]) -> LLVMValueRef {
        unsafe {
            match llvm::type_kind(t) {
                LLVMTypeKind::LLVMIntegerTypeKind => {
                    let w = LLVMBuildPtrToInt(self.b.0, parts[0], self.i64, EMPTY);
                    if LLVMGetIntTypeWidth(t) < 64 {
                        LLVMBuildTrunc(self.b.0, w, t, EMPTY)
                    } else {
                        w
                    }
                }
                LLVMTypeKind::LLVMPointerTypeKind => {
                    LLVMBuildAddrSpaceCast(self.b.0, parts[0], t, EMPTY)
                }
                _ => {
                    let v2 = LLVMVectorType(self.i64, 2);
                    let mut acc = LLVMGetUndef(v2);
                    for (i, &p) in parts.iter().enumerate() {
                        let e = LLVMBuildPtrToInt(self.b.0, p, self.i64, EMPTY);
                        acc = LLVMBuildInsertElement(
                            self.b.0,
                            acc,
                            e,
                            LLVMConstInt(self.i32, i as u64, 0),
                            EMPTY,
                        );
                    }
                    LLVMBuildBitCast(self.b.0, acc, t, EMPTY)
                }
            }
        }
    }

    /// `gc.relocate(token, i, i)`: the statepoint's i-th gc-live value after the call.
    fn gc_relocate(&self, token: LLVMValueRef, i: u32) -> LLVMValueRef {
        let gp = self.gc_ptr_ty();
        let decl = llvm::intrinsic_decl(self.m, "llvm.experimental.gc.relocate", &[gp]);
        let ty = llvm::global_value_type(decl);
        unsafe {
            let mut args = [
                token,
                LLVMConstInt(self.i32, i as u64, 0),
                LLVMConstInt(self.i32, i as u64, 0),
            ];
            LLVMBuildCall2(self.b.0, ty, decl, args.as_mut_ptr(), 3, EMPTY)
        }
    }

    /// At the builder's position, in a block of at most [`Options::call_block_marker_limit`]
    /// instructions: an empty `convergent` inline asm, so that the code generator never
    /// tail-duplicates the block (its `shouldTailDuplicate` refuses blocks with a convergent
    /// instruction). Tail duplication after register allocation copies a small block holding a
    /// call into its predecessors: one record ID at two return addresses, on one ISA and not
    /// the other (seen on AArch64 in Lua's llex.c). Marking the blocks with statepoints, rather
    /// than turning tail duplication off, keeps it for every other block: recurse.c's `ack`
    /// keeps its `dec; jne` copied behind the call instead of a `jmp` to it (with stackmaps and
    /// no polls 81.5 -> 75.7 ms, plain 74.6). Only small blocks are copied (at most 2 machine
    /// instructions at -O2, 4 at -O3); a larger block that still is gets caught after code
    /// generation (`pipeline.rs`, `generate`).
    fn keep_block_single(&mut self) {
        let block = unsafe { LLVMGetInsertBlock(self.b.0) };
        if llvm::instructions(block).len() > self.opts.call_block_marker_limit {
            return;
        }
        let marker = llvm::build_inline_asm(
            &self.b,
            "",
            "",
            unsafe { LLVMVoidTypeInContext(self.ctx) },
            &[],
            true,
            c"",
        );
        unsafe {
            let a = LLVMCreateEnumAttribute(self.ctx, llvm::enum_attr_kind("convergent"), 0);
            LLVMAddCallSiteAttribute(marker, llvm_sys::LLVMAttributeFunctionIndex, a);
        }
    }

    /// Replaces `call` by a statepoint whose gc-live list is `gc_live`; returns the statepoint
    /// (its token) and the gc.result standing for the call's value.
    fn make_statepoint(
        &mut self,
        call: LLVMValueRef,
        id: u64,
        tag: &str,
        live: &[LLVMValueRef],
    ) -> (LLVMValueRef, Option<LLVMValueRef>) {
        unsafe {
            let fty = LLVMGetCalledFunctionType(call);
            let ret = LLVMGetReturnType(fty);
            let nfixed = LLVMCountParamTypes(fty) as usize;
            let nargs = LLVMGetNumArgOperands(call) as usize;
            let args: Vec<LLVMValueRef> =
                (0..nargs as u32).map(|k| LLVMGetOperand(call, k)).collect();
            let callee = LLVMGetCalledValue(call);
            let vararg = LLVMIsFunctionVarArg(fty) != 0;
            // The type the statepoint calls through: the actual argument types, non-variadic.
            let mut arg_tys: Vec<LLVMTypeRef> = args.iter().map(|&a| llvm::type_of(a)).collect();
            let mut call_args = args.clone();
            let mut target = callee;
            let mut shift = 0usize; // statepoint call-arg index of the original argument 0
            if vararg && self.isa == Isa::X86_64 {
                let nvec = arg_tys
                    .iter()
                    .filter(|&&t| {
                        matches!(
                            llvm::type_kind(t),
                            LLVMTypeKind::LLVMFloatTypeKind
                                | LLVMTypeKind::LLVMDoubleTypeKind
                                | LLVMTypeKind::LLVMHalfTypeKind
                                | LLVMTypeKind::LLVMBFloatTypeKind
                                | LLVMTypeKind::LLVMFP128TypeKind
                                | LLVMTypeKind::LLVMVectorTypeKind
                        )
                    })
                    .count()
                    .min(8) as u32;
                target = self.vacall_thunk(nvec);
                arg_tys.insert(0, self.ptr);
                call_args.insert(0, callee);
                shift = 1;
            }
            let _ = nfixed;
            let target_fty = LLVMFunctionType(ret, arg_tys.as_mut_ptr(), arg_tys.len() as u32, 0);
            let sp_decl =
                llvm::intrinsic_decl(self.m, "llvm.experimental.gc.statepoint", &[self.ptr]);
            let sp_ty = llvm::global_value_type(sp_decl);
            let mut sp_args = vec![
                LLVMConstInt(self.i64, id, 0),
                LLVMConstInt(self.i32, 0, 0),
                target,
                LLVMConstInt(self.i32, call_args.len() as u64, 0),
                LLVMConstInt(self.i32, 0, 0),
            ];
            sp_args.extend(&call_args);
            sp_args.push(LLVMConstInt(self.i32, 0, 0)); // transition args
            sp_args.push(LLVMConstInt(self.i32, 0, 0)); // legacy deopt args
            let mut live_vals = live.to_vec();
            let bundle = LLVMCreateOperandBundle(
                tag.as_ptr() as *const _,
                tag.len(),
                live_vals.as_mut_ptr(),
                live_vals.len() as u32,
            );
            let mut bundles = [bundle];
            self.b.before(call);
            self.keep_block_single();
            let sp = LLVMBuildCallWithOperandBundles(
                self.b.0,
                sp_ty,
                sp_decl,
                sp_args.as_mut_ptr(),
                sp_args.len() as u32,
                bundles.as_mut_ptr(),
                1,
                c"unimig.sp".as_ptr(),
            );
            LLVMDisposeOperandBundle(bundle);
            LLVMSetInstructionCallConv(sp, LLVMGetInstructionCallConv(call));
            let loc = llvm_sys::debuginfo::LLVMInstructionGetDebugLoc(call);
            if !loc.is_null() {
                llvm_sys::debuginfo::LLVMInstructionSetDebugLoc(sp, loc);
            }
            // elementtype(<target fn type>) on the callee operand (statepoint param 2).
            let et =
                LLVMCreateTypeAttribute(self.ctx, llvm::enum_attr_kind("elementtype"), target_fty);
            LLVMAddCallSiteAttribute(sp, 3, et);
            // Argument attributes: the call's, then a direct callee's declaration's.
            let decl = llvm::direct_callee(call);
            // Attributes that describe the callee's return or allocation behaviour make no
            // sense on a statepoint argument (which returns a token) and fail verification.
            let dropped: Vec<u32> = ["returned", "allocalign", "allocptr"]
                .iter()
                .map(|n| llvm::enum_attr_kind(n))
                .collect();
            let keep = |a: LLVMAttributeRef| -> bool {
                !(LLVMIsEnumAttribute(a) != 0 && dropped.contains(&LLVMGetEnumAttributeKind(a)))
            };
            for k in 0..nargs {
                let sp_index = (5 + shift + k) as u32 + 1;
                let mut kinds: HashSet<u32> = HashSet::new();
                for a in llvm::call_site_attrs(call, k as u32 + 1) {
                    if !keep(a) {
                        continue;
                    }
                    if LLVMIsEnumAttribute(a) != 0 || LLVMIsTypeAttribute(a) != 0 {
                        kinds.insert(LLVMGetEnumAttributeKind(a));
                    }
                    LLVMAddCallSiteAttribute(sp, sp_index, a);
                }
                if let Some(d) = decl {
                    if k < LLVMCountParams(d) as usize {
                        for a in llvm::fn_attrs(d, k as u32 + 1) {
                            if !keep(a) {
                                continue;
                            }
                            let is_kinded =
                                LLVMIsEnumAttribute(a) != 0 || LLVMIsTypeAttribute(a) != 0;
                            if is_kinded && kinds.contains(&LLVMGetEnumAttributeKind(a)) {
                                continue;
                            }
                            LLVMAddCallSiteAttribute(sp, sp_index, a);
                        }
                    }
                }
            }
            if shift == 1 {
                let nest = LLVMCreateEnumAttribute(self.ctx, llvm::enum_attr_kind("nest"), 0);
                LLVMAddCallSiteAttribute(sp, 5 + 1, nest);
            }
            // returns_twice too: it makes the code generator keep every value that lives
            // across a setjmp where a longjmp finds it (no stack slot sharing, ...).
            for attr in ["noreturn", "nounwind", "cold", "returns_twice"] {
                if llvm::call_has_enum_attr(call, attr)
                    || decl.is_some_and(|d| llvm::fn_has_enum_attr(d, attr))
                {
                    let a = LLVMCreateEnumAttribute(self.ctx, llvm::enum_attr_kind(attr), 0);
                    LLVMAddCallSiteAttribute(sp, llvm_sys::LLVMAttributeFunctionIndex, a);
                }
            }
            if llvm::type_kind(ret) != LLVMTypeKind::LLVMVoidTypeKind {
                let gr_decl = llvm::intrinsic_decl(self.m, "llvm.experimental.gc.result", &[ret]);
                let gr_ty = llvm::global_value_type(gr_decl);
                let mut a = [sp];
                let r = LLVMBuildCall2(self.b.0, gr_ty, gr_decl, a.as_mut_ptr(), 1, EMPTY);
                if !loc.is_null() {
                    llvm_sys::debuginfo::LLVMInstructionSetDebugLoc(r, loc);
                }
                LLVMReplaceAllUsesWith(call, r);
                LLVMInstructionEraseFromParent(call);
                return (sp, Some(r));
            }
            LLVMInstructionEraseFromParent(call);
            (sp, None)
        }
    }

    fn vacall_thunk(&mut self, n: u32) -> LLVMValueRef {
        if !self.thunks_used.contains(&n) {
            self.thunks_used.push(n);
        }
        let name = cstr(&format!("{VACALL_THUNK_PREFIX}{n}"));
        unsafe {
            let f = LLVMGetNamedFunction(self.m, name.as_ptr());
            if !f.is_null() {
                return f;
            }
            let ty = LLVMFunctionType(LLVMVoidTypeInContext(self.ctx), std::ptr::null_mut(), 0, 0);
            let f = LLVMAddFunction(self.m, name.as_ptr(), ty);
            llvm::unimig_set_dso_local(f);
            f
        }
    }
}

/// Adds to each phi of `block` an entry for `new_pred` with the value it has for `pred`.
fn copy_phi_entries(
    block: LLVMBasicBlockRef,
    pred: LLVMBasicBlockRef,
    new_pred: LLVMBasicBlockRef,
) {
    for phi in llvm::instructions(block) {
        if llvm::opcode(phi) != LLVMOpcode::LLVMPHI {
            break;
        }
        unsafe {
            for k in 0..LLVMCountIncoming(phi) {
                if LLVMGetIncomingBlock(phi, k) == pred {
                    let mut v = [LLVMGetIncomingValue(phi, k)];
                    let mut b = [new_pred];
                    LLVMAddIncoming(phi, v.as_mut_ptr(), b.as_mut_ptr(), 1);
                    break;
                }
            }
        }
    }
}

/// The functions called directly in some block on the dominator-tree path from `latch` up to
/// `header`, so on every path from the header to the latch: every iteration around the
/// back-edge calls each of them. Empty for an irreducible loop, whose header does not
/// dominate the latch.
fn callees_of_every_iteration(
    ir: &FnIr,
    idom: &[Option<usize>],
    latch: usize,
    header: usize,
) -> Vec<LLVMValueRef> {
    if idom[latch].is_none() || !cfg::dominates(idom, header, latch) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut b = latch;
    loop {
        for i in llvm::instructions(ir.block_refs[b]) {
            if llvm::is_call(i) {
                out.extend(llvm::direct_callee(i));
            }
        }
        match idom[b] {
            Some(up) if b != header => b = up,
            _ => return out,
        }
    }
}
