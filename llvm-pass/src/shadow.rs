//! The shadow stack: address-taken locals move off the machine stack.
//!
//! A local whose address the program can observe (an `alloca` that survived the middle end:
//! arrays, structs passed by pointer, VLAs, `alloca()`) would otherwise live in the machine
//! frame, whose layout each ISA's code generator chooses for itself, so its address differs
//! between x86-64 and AArch64 and a pointer to it cannot survive a migration. Here every such
//! local moves to a per-thread *shadow stack* at a fixed address (the runtime's
//! `sysroots/runtime/src/shadow.c`), in a frame whose layout this module computes from IR types
//! alone. The two ISAs' modules are identical after the target-neutral middle end, so the
//! frames are too (same offsets, same size); [`crate::compile_pair`] checks it and leaves a
//! function whose frames still differ uninstrumented on both ISAs.
//!
//! **The pointer.** `__unimig_shadow_sp` is a thread-local `ptr` (initial-exec, upgraded to
//! local-exec in these static images) defined by the runtime; it points at the lowest byte in
//! use, the stack grows down, and it is always 16-byte aligned. Per function:
//!
//! ```text
//! entry:   %sp0   = load ptr @__unimig_shadow_sp
//!          %frame = %sp0 - SIZE                       ; rounded down to ALIGN if ALIGN > 16
//!          store %frame, @__unimig_shadow_sp
//!          ... each use of a static alloca: gep i8, (load @__unimig_shadow_sp), OFFSET
//! ret:     store (load @__unimig_shadow_sp) + SIZE, @__unimig_shadow_sp
//! ```
//!
//! A frame of static slots (no VLA, `alloca()`, stacksave or setjmp, alignment at most 16) is,
//! wherever the function's code runs, exactly where the pointer points: every callee restores
//! the pointer before it returns. So each use of a slot reads the pointer right there (one
//! `mov %fs:-8` on x86-64) instead of keeping `%frame` live across calls; derived addresses
//! (`&local.field`, which the middle end computes once in the entry block) are first copied
//! next to their uses by [`crate::sink`]. Measured on Lua (x86-64): `%frame` kept live across
//! calls cost `luaV_execute` a callee-saved register and the benchmark script 3% (1.090 of
//! plain; re-read 1.059, without any shadow stack 1.055). The thread-local's address is
//! computed at each access too ([`Shadow::sp_addr`]). Other frames keep the saved pointer (or
//! `%frame`) as an SSA value, which the liveness analysis lists in every stackmap record like
//! any other value; since the shadow stack has the same address on both ISAs it needs no
//! fix-up. A signal handler that
//! interrupts the prologue carves its own frame below whatever the pointer holds and restores
//! it, so the sequence needs no atomicity.
//!
//! **Layout.** Static allocas (constant size, in the entry block) in instruction order, each at
//! the next offset aligned to its `align`, raised to at least 16 ([`slot_align`]: the ISAs'
//! front ends disagree on smaller alignments), size = the type's allocation size times the count;
//! the frame size is the total rounded up to 16, its alignment the largest slot alignment (at
//! least 16). No slot sharing by lifetime: lifetime markers of moved allocas are deleted.
//!
//! **Dynamic allocas** (VLAs, `alloca()`, allocas outside the entry block) take `n` bytes
//! rounded up to 16 from the pointer where they execute; `llvm.stacksave` becomes a load of the
//! pointer and `llvm.stackrestore` a store, so clang's scope-exit restores of VLAs work on the
//! shadow stack; the return restores everything.
//!
//! **`returns_twice` calls** (setjmp): the pointer is loaded before the call and stored back
//! after it. When `longjmp` returns there a second time, the frames it skipped never restored
//! the pointer; this puts it back to where it was when setjmp was called (the saved value is
//! unchanged since, so it survives in a callee-saved register or spill slot as `longjmp`
//! requires). Without it a loop around setjmp would leak shadow stack on every `longjmp`.
//!
//! **What stays on the machine stack:** `va_list` objects (their type is ISA-specific: 24
//! bytes on x86-64, 32 on AArch64, and only `va_arg` reads them); locals that are only
//! written, never read or passed on ([`is_write_only`]: unobservable); and x86-64 `byval`
//! argument copies, made by the call sequence in the outgoing-argument area. AArch64 passes
//! aggregates over 16 bytes as a pointer to a caller-made copy, an alloca that is on the shadow
//! stack, so a function that passes such a structure by value has a slot on AArch64 that
//! x86-64 has not: its frames differ and [`crate::compile_pair`] leaves it uninstrumented on
//! both ISAs (a known gap; a callee's view of such an argument is ISA-specific either way).
//! Functions
//! with `invoke` (C++-style unwinding: no `ret` on the unwind path to restore the pointer) are
//! left alone.

use crate::llvm::{self, llvm_sys, Builder, EMPTY};
use crate::srcloc;
use crate::{Hazard, HazardKind, Isa, ShadowFrame};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::target::{LLVMABISizeOfType, LLVMGetModuleDataLayout};
use llvm_sys::{LLVMOpcode, LLVMThreadLocalMode, LLVMTypeKind};

/// The runtime's thread-local shadow stack pointer.
pub const SHADOW_SP: &str = "__unimig_shadow_sp";
/// The shadow stack pointer's alignment, kept by every frame and dynamic allocation.
pub const STACK_ALIGN: u64 = 16;

/// Rewrites functions of one module onto the shadow stack.
pub(crate) struct Shadow {
    m: LLVMModuleRef,
    isa: Isa,
    b: Builder,
    i64: LLVMTypeRef,
    i8: LLVMTypeRef,
    ptr: LLVMTypeRef,
    sp_global: Option<LLVMValueRef>,
}

/// One static slot: the alloca it replaces and its place in the frame.
struct Slot {
    alloca: LLVMValueRef,
    offset: u64,
}

fn align_up(x: u64, a: u64) -> u64 {
    x.div_ceil(a) * a
}

impl Shadow {
    pub(crate) fn new(m: LLVMModuleRef, isa: Isa) -> Self {
        unsafe {
            let ctx = LLVMGetModuleContext(m);
            Shadow {
                m,
                isa,
                b: Builder::new(ctx),
                i64: LLVMInt64TypeInContext(ctx),
                i8: LLVMInt8TypeInContext(ctx),
                ptr: LLVMPointerTypeInContext(ctx, 0),
                sp_global: None,
            }
        }
    }

    /// `@__unimig_shadow_sp`, declared on first use.
    fn sp_global(&mut self) -> LLVMValueRef {
        if let Some(g) = self.sp_global {
            return g;
        }
        let name = llvm::cstr(SHADOW_SP);
        unsafe {
            let mut g = LLVMGetNamedGlobal(self.m, name.as_ptr());
            if g.is_null() {
                g = LLVMAddGlobal(self.m, self.ptr, name.as_ptr());
                LLVMSetAlignment(g, 8);
                LLVMSetThreadLocal(g, 1);
                LLVMSetThreadLocalMode(g, LLVMThreadLocalMode::LLVMInitialExecTLSModel);
                // Images are static: dso_local lets the code generator use local-exec.
                llvm::unimig_set_dso_local(g);
            }
            self.sp_global = Some(g);
            g
        }
    }

    /// The address of the current thread's `__unimig_shadow_sp`, computed afresh at each load
    /// and store (at the builder's position), so that it is never a value live across a call:
    /// neither a recorded value kept in a callee-saved register for the record alone nor an
    /// unrecorded copy that makes the call site unsafe.
    ///
    /// x86-64: `llvm.threadlocal.address`, which each access folds into `%fs:offset`.
    /// AArch64: the same local-exec sequence (`mrs tpidr_el0` and two `add`s of the variable's
    /// offset) as a volatile inline asm at each access. From `llvm.threadlocal.address` the
    /// code generator emits it once per function and keeps the address in a callee-saved
    /// register across calls, where no record names it: Lua's AArch64 unsafe sites went from
    /// 53 to 733 that way, 52 with the asm.
    fn sp_addr(&mut self) -> LLVMValueRef {
        let g = self.sp_global();
        if self.isa == Isa::Aarch64 {
            return self.aarch64_tls_address();
        }
        let f = llvm::intrinsic_decl(self.m, "llvm.threadlocal.address", &[self.ptr]);
        unsafe {
            let mut args = [g];
            LLVMBuildCall2(
                self.b.0,
                llvm::global_value_type(f),
                f,
                args.as_mut_ptr(),
                1,
                c"unimig.ssp.addr".as_ptr(),
            )
        }
    }

    /// AArch64's local-exec address of `__unimig_shadow_sp` (the TLS offset of a static
    /// image's variable fits in 24 bits, as LLVM's default `-aarch64-tls-size=24` assumes).
    fn aarch64_tls_address(&mut self) -> LLVMValueRef {
        let code = format!(
            "mrs $0, tpidr_el0\n\
             add $0, $0, :tprel_hi12:{SHADOW_SP}\n\
             add $0, $0, :tprel_lo12_nc:{SHADOW_SP}"
        );
        llvm::build_inline_asm(
            &self.b,
            &code,
            "=r",
            self.ptr,
            &[],
            true,
            c"unimig.ssp.addr",
        )
    }

    fn load_sp(&mut self) -> LLVMValueRef {
        let g = self.sp_addr();
        unsafe {
            let v = LLVMBuildLoad2(self.b.0, self.ptr, g, c"unimig.ssp".as_ptr());
            LLVMSetAlignment(v, 8);
            v
        }
    }

    fn store_sp(&mut self, v: LLVMValueRef) {
        let g = self.sp_addr();
        unsafe {
            let s = LLVMBuildStore(self.b.0, v, g);
            LLVMSetAlignment(s, 8);
        }
    }

    /// `p - bytes`, rounded down to `align` when that is above the stack's own alignment.
    fn carve(&mut self, p: LLVMValueRef, bytes: LLVMValueRef, align: u64) -> LLVMValueRef {
        unsafe {
            let neg = LLVMBuildNeg(self.b.0, bytes, EMPTY);
            let mut idx = [neg];
            let mut q = LLVMBuildGEP2(self.b.0, self.i8, p, idx.as_mut_ptr(), 1, EMPTY);
            if align > STACK_ALIGN {
                let f = llvm::intrinsic_decl(self.m, "llvm.ptrmask", &[self.ptr, self.i64]);
                let mut args = [q, LLVMConstInt(self.i64, !(align - 1), 0)];
                q = LLVMBuildCall2(
                    self.b.0,
                    llvm::global_value_type(f),
                    f,
                    args.as_mut_ptr(),
                    2,
                    EMPTY,
                );
            }
            q
        }
    }

    fn gep(&self, base: LLVMValueRef, offset: u64, name: &str) -> LLVMValueRef {
        let name = llvm::cstr(name);
        unsafe {
            let mut idx = [LLVMConstInt(self.i64, offset, 0)];
            LLVMBuildInBoundsGEP2(self.b.0, self.i8, base, idx.as_mut_ptr(), 1, name.as_ptr())
        }
    }

    /// Moves `f`'s allocas to the shadow stack; returns the frame it laid out, or `None` if the
    /// function needed nothing (no allocas, stack save/restore or returns_twice calls).
    ///
    /// `sizes`: the (x86-64, AArch64) sizes of the static slots when the ISAs' types differ
    /// ([`crate::Options::shadow_slot_sizes`]); each slot takes the larger one, and a slot whose
    /// sizes differ adds a hazard to `hazards`.
    pub(crate) fn function(
        &mut self,
        f: LLVMValueRef,
        sizes: Option<&[(u64, u64)]>,
        hazards: &mut Vec<Hazard>,
    ) -> Option<ShadowFrame> {
        let td = unsafe { LLVMGetModuleDataLayout(self.m) };
        let entry = unsafe { LLVMGetEntryBasicBlock(f) };
        let mut slots: Vec<Slot> = Vec::new();
        let mut dynamic: Vec<LLVMValueRef> = Vec::new();
        let mut saves: Vec<LLVMValueRef> = Vec::new();
        let mut twice: Vec<LLVMValueRef> = Vec::new();
        let mut rets: Vec<LLVMValueRef> = Vec::new();
        let (mut size, mut align) = (0u64, STACK_ALIGN);
        let mut frame = ShadowFrame {
            function: llvm::value_name(f),
            ..ShadowFrame::default()
        };
        for bb in llvm::blocks(f) {
            for i in llvm::instructions(bb) {
                match llvm::opcode(i) {
                    LLVMOpcode::LLVMAlloca => {
                        let ty = unsafe { LLVMGetAllocatedType(i) };
                        if is_va_list(ty) {
                            continue;
                        }
                        let count = unsafe { LLVMGetOperand(i, 0) };
                        let is_const = unsafe { !LLVMIsAConstantInt(count).is_null() };
                        if bb != entry || !is_const {
                            dynamic.push(i);
                            continue;
                        }
                        let n = unsafe { LLVMConstIntGetZExtValue(count) };
                        let mut bytes = unsafe { LLVMABISizeOfType(td, ty) } * n;
                        if is_write_only(i) {
                            continue;
                        }
                        if let Some(&(x86_64, aarch64)) =
                            sizes.and_then(|s| s.get(frame.slots.len()))
                        {
                            bytes = bytes.max(x86_64).max(aarch64);
                            if x86_64 != aarch64 {
                                hazards.push(Hazard {
                                    function: frame.function.clone(),
                                    kind: HazardKind::IsaSizedLocal { x86_64, aarch64 },
                                    loc: srcloc::of_instruction_or_function(i, f),
                                });
                            }
                        }
                        let a = slot_align(u64::from(unsafe { LLVMGetAlignment(i) }));
                        let offset = align_up(size, a);
                        size = offset + bytes;
                        align = align.max(a);
                        frame.slots.push((offset, bytes));
                        slots.push(Slot { alloca: i, offset });
                    }
                    LLVMOpcode::LLVMRet => rets.push(i),
                    LLVMOpcode::LLVMCall => {
                        let name = llvm::direct_callee(i).map(llvm::value_name);
                        let name = name.as_deref().unwrap_or("");
                        if name.starts_with("llvm.stacksave")
                            || name.starts_with("llvm.stackrestore")
                        {
                            saves.push(i);
                        } else if llvm::call_has_enum_attr(i, "returns_twice")
                            || llvm::direct_callee(i)
                                .is_some_and(|c| llvm::fn_has_enum_attr(c, "returns_twice"))
                        {
                            twice.push(i);
                        }
                    }
                    _ => {}
                }
            }
        }
        if slots.is_empty() && dynamic.is_empty() && saves.is_empty() && twice.is_empty() {
            return None;
        }
        size = align_up(size, STACK_ALIGN);
        frame.size = size;
        frame.align = align;
        frame.dynamic = dynamic.len() as u32;

        // A frame of static slots only is made where it is needed ([`FrameRegion`]); anything
        // else (dynamic allocas, stacksave, setjmp) gets it at the top of the entry block (after
        // any allocas that stay).
        let region = (dynamic.is_empty() && saves.is_empty() && twice.is_empty())
            .then(|| FrameRegion::of(f, &slots))
            .flatten();
        let first = match &region {
            Some(r) => llvm::instructions(r.home)
                .into_iter()
                .find(|&i| llvm::opcode(i) != LLVMOpcode::LLVMPHI),
            None => llvm::instructions(entry)
                .into_iter()
                .find(|&i| llvm::opcode(i) != LLVMOpcode::LLVMAlloca),
        }
        .expect("a block ends in a terminator");
        self.b.before(first);
        // A function with only returns_twice calls needs no saved pointer of its own.
        let restores = size > 0 || !dynamic.is_empty() || !saves.is_empty();
        let sp0 = restores.then(|| self.load_sp());
        let base = if let (true, Some(sp0)) = (size > 0, sp0) {
            let bytes = unsafe { LLVMConstInt(self.i64, size, 0) };
            let base = self.carve(sp0, bytes, align);
            unsafe { LLVMSetValueName2(base, c"unimig.frame".as_ptr(), 12) };
            self.store_sp(base);
            Some(base)
        } else {
            None
        };
        // A frame of static slots aligned to at most 16 is, wherever its code runs, exactly
        // where the shadow stack pointer points: callees restore the pointer before they
        // return. So its base is read from the pointer where it is used instead of being kept
        // across calls (a recorded live value, and a callee-saved register lost to the code).
        let reread =
            dynamic.is_empty() && saves.is_empty() && twice.is_empty() && align <= STACK_ALIGN;
        for s in &slots {
            self.replace_static(s, base.expect("slots imply a frame"), reread);
        }
        for &d in &dynamic {
            self.replace_dynamic(d);
        }
        for &s in &saves {
            self.replace_save_restore(s);
        }
        for &c in &twice {
            self.around_returns_twice(c);
        }
        // Epilogue: with an alignment of at most 16 the saved pointer is the frame's end (the
        // pointer's value there plus the size, or %frame + size); otherwise %sp0 itself. At
        // every return (of the frame's region), and on every edge leaving the region.
        // A musttail call must stay right before its `ret`: restore before the call (the
        // callee cannot use the caller's locals anyway).
        let restore_points: Vec<LLVMValueRef> = match &region {
            Some(r) => {
                frame.shrink_wrapped = true;
                let mut at: Vec<LLVMValueRef> =
                    rets.iter().copied().filter(|&i| r.contains(i)).collect();
                for &(from, to) in &r.exits {
                    let mid =
                        unsafe { llvm::unimig_split_edges(from, to, c"unimig.ssp.exit".as_ptr()) };
                    at.push(unsafe { LLVMGetBasicBlockTerminator(mid) });
                }
                at
            }
            None => rets,
        };
        for &r in restore_points.iter().filter(|_| restores) {
            let prev = unsafe { LLVMGetPreviousInstruction(r) };
            let musttail = !prev.is_null()
                && llvm::is_call(prev)
                && unsafe { LLVMGetTailCallKind(prev) }
                    == llvm_sys::LLVMTailCallKind::LLVMTailCallKindMustTail;
            self.b.before(if musttail { prev } else { r });
            let restored = match (base, sp0) {
                (Some(_), _) if reread => {
                    let here = self.load_sp();
                    self.gep(here, size, "unimig.ssp.restore")
                }
                (Some(b), _) if align <= STACK_ALIGN => self.gep(b, size, "unimig.ssp.restore"),
                (_, Some(sp0)) => sp0,
                _ => unreachable!("restores implies a saved pointer"),
            };
            self.store_sp(restored);
        }
        Some(frame)
    }

    /// Each use of a static alloca gets its own `gep %frame, offset`, right before the use (in
    /// the incoming block for a phi), so that only `%frame` is live across calls; with
    /// `reread`, `%frame` there is a load of the shadow pointer made right before the use too,
    /// so nothing is.
    fn replace_static(&mut self, s: &Slot, base: LLVMValueRef, reread: bool) {
        let name = llvm::value_name(s.alloca);
        for (user, k) in uses_of(s.alloca) {
            unsafe {
                if is_lifetime_marker(user) {
                    LLVMInstructionEraseFromParent(user);
                    continue;
                }
                if llvm::opcode(user) == LLVMOpcode::LLVMPHI {
                    let from = LLVMGetIncomingBlock(user, k);
                    self.b.before(LLVMGetBasicBlockTerminator(from));
                } else {
                    self.b.before(user);
                }
                let here = if reread { self.load_sp() } else { base };
                let g = self.gep(here, s.offset, &name);
                LLVMSetOperand(user, k, g);
            }
        }
        // What is left are metadata uses (debug info): point them at one address in the entry.
        self.b.before(unsafe { LLVMGetNextInstruction(base) });
        let g = self.gep(base, s.offset, &name);
        unsafe {
            LLVMReplaceAllUsesWith(s.alloca, g);
            LLVMInstructionEraseFromParent(s.alloca);
        }
    }

    /// `alloca T, n` where it executes: `n * sizeof(T)` bytes, rounded up to 16, below the
    /// pointer.
    fn replace_dynamic(&mut self, a: LLVMValueRef) {
        let td = unsafe { LLVMGetModuleDataLayout(self.m) };
        for (user, _) in uses_of(a) {
            if is_lifetime_marker(user) {
                unsafe { LLVMInstructionEraseFromParent(user) };
            }
        }
        unsafe {
            let ty = LLVMGetAllocatedType(a);
            let elem = LLVMABISizeOfType(td, ty);
            let align = u64::from(LLVMGetAlignment(a)).max(1);
            self.b.before(a);
            let count = LLVMBuildZExtOrBitCast(self.b.0, LLVMGetOperand(a, 0), self.i64, EMPTY);
            let bytes = LLVMBuildMul(self.b.0, count, LLVMConstInt(self.i64, elem, 0), EMPTY);
            let rounded = LLVMBuildAnd(
                self.b.0,
                LLVMBuildAdd(
                    self.b.0,
                    bytes,
                    LLVMConstInt(self.i64, STACK_ALIGN - 1, 0),
                    EMPTY,
                ),
                LLVMConstInt(self.i64, !(STACK_ALIGN - 1), 0),
                EMPTY,
            );
            let cur = self.load_sp();
            let p = self.carve(cur, rounded, align);
            self.store_sp(p);
            let name = llvm::value_name(a);
            LLVMReplaceAllUsesWith(a, p);
            LLVMInstructionEraseFromParent(a);
            let c = llvm::cstr(&name);
            LLVMSetValueName2(p, c.as_ptr(), name.len());
        }
    }

    fn replace_save_restore(&mut self, call: LLVMValueRef) {
        let save = llvm::direct_callee(call)
            .map(llvm::value_name)
            .is_some_and(|n| n.starts_with("llvm.stacksave"));
        self.b.before(call);
        unsafe {
            if save {
                let v = self.load_sp();
                LLVMReplaceAllUsesWith(call, v);
            } else {
                let p = LLVMGetOperand(call, 0);
                self.store_sp(p);
            }
            LLVMInstructionEraseFromParent(call);
        }
    }

    fn around_returns_twice(&mut self, call: LLVMValueRef) {
        self.b.before(call);
        let saved = self.load_sp();
        unsafe {
            let next = LLVMGetNextInstruction(call);
            self.b.before(next);
        }
        self.store_sp(saved);
    }
}

/// Where a frame of static slots lives: from the top of `home` for as long as control stays
/// in the blocks `home` dominates. `home` is the nearest common dominator of the slots' uses,
/// moved up to its immediate dominator while it lies in a loop (a frame made on every
/// iteration costs more than one made at entry; on Lua's `doREPL` it also left 27 more call
/// sites unsafe). A path can only enter the region through `home` (any other way in would
/// reach a dominated block without passing `home`), and never enters `home` again from inside
/// (it is in no loop); so the frame is made at the top of `home` and given back at every
/// return in the region and on every edge leaving it. Made at entry instead, a frame whose
/// locals are used on a rare path (Lua's `luaV_tonumber_`: a string to convert) cost every
/// call the thread-local pointer loaded and stored twice and the saved pointer kept in a
/// callee-saved register (Lua's script: 2% of all instructions). `None` when the home is the
/// entry block.
struct FrameRegion {
    home: LLVMBasicBlockRef,
    blocks: Vec<LLVMBasicBlockRef>,
    /// Edges (from a block in the region, to a block outside).
    exits: Vec<(LLVMBasicBlockRef, LLVMBasicBlockRef)>,
}

impl FrameRegion {
    fn of(f: LLVMValueRef, slots: &[Slot]) -> Option<FrameRegion> {
        let ir = crate::cfg::FnIr::read(f);
        let (refs, cfg) = (&ir.block_refs, &ir.cfg);
        let index = |b: LLVMBasicBlockRef| refs.iter().position(|&r| r == b);
        let idom = crate::cfg::idoms(cfg);
        // Blocks that use a slot (a phi uses it at the end of the incoming block).
        let mut users = Vec::new();
        for s in slots {
            for (user, k) in uses_of(s.alloca) {
                if is_lifetime_marker(user) {
                    continue;
                }
                let b = unsafe {
                    if llvm::opcode(user) == LLVMOpcode::LLVMPHI {
                        LLVMGetIncomingBlock(user, k)
                    } else {
                        LLVMGetInstructionParent(user)
                    }
                };
                users.push(index(b)?);
            }
        }
        let mut home = users.iter().fold(*users.first()?, |a, &b| {
            crate::cfg::nearest_common_dominator(&idom, a, b)
        });
        while home != 0 && cfg.in_cycle(home) {
            home = idom[home]?;
        }
        if home == 0 {
            return None;
        }
        let inside: Vec<bool> = (0..refs.len())
            .map(|b| idom[b].is_some() && crate::cfg::dominates(&idom, home, b))
            .collect();
        let mut exits = Vec::new();
        for (b, blk) in cfg.blocks.iter().enumerate().filter(|&(b, _)| inside[b]) {
            for &t in &blk.succs {
                if !inside[t] && !exits.contains(&(refs[b], refs[t])) {
                    exits.push((refs[b], refs[t]));
                }
            }
        }
        Some(FrameRegion {
            home: refs[home],
            blocks: (0..refs.len())
                .filter(|&b| inside[b])
                .map(|b| refs[b])
                .collect(),
            exits,
        })
    }

    fn contains(&self, i: LLVMValueRef) -> bool {
        self.blocks
            .contains(&unsafe { LLVMGetInstructionParent(i) })
    }
}

/// A static slot's alignment: the alloca's, but at least 16. The ISAs' front ends align the
/// same local differently: clang gives local arrays of 16 bytes or more, and VLAs (which the
/// middle end may turn into fixed-size allocas), 16-byte alignment on x86-64 and their element
/// alignment on AArch64. Only alignments above 16 come from the program (`_Alignas`,
/// `aligned` attributes) and so agree; raising every slot to 16 makes the layouts agree
/// whatever each front end chose below that, at the cost of some padding.
fn slot_align(alloca_align: u64) -> u64 {
    alloca_align.max(STACK_ALIGN)
}

/// Is `a` a local the function only writes, never reading it nor passing its address on?
/// Nothing can observe such an object, so it stays on the machine stack: AArch64's -O0 code
/// keeps the pointer to a by-value aggregate parameter in one, for the debugger, which x86-64
/// (whose parameter is `byval`) has not, and both keep -O0 return-value slots.
fn is_write_only(a: LLVMValueRef) -> bool {
    only_written(a)
}

/// Are all uses of `p` writes through it (stores to it, memcpy/memset destinations, GEPs used
/// the same way) or lifetime markers?
fn only_written(p: LLVMValueRef) -> bool {
    uses_of(p)
        .into_iter()
        .all(|(user, k)| match llvm::opcode(user) {
            LLVMOpcode::LLVMStore => k == 1,
            LLVMOpcode::LLVMGetElementPtr => k == 0 && only_written(user),
            LLVMOpcode::LLVMCall => {
                let callee = llvm::direct_callee(user).map(llvm::value_name);
                match callee.as_deref() {
                    Some(n) if n.starts_with("llvm.lifetime.") => true,
                    Some(n) if n.starts_with("llvm.memcpy") || n.starts_with("llvm.memset") => {
                        k == 0
                    }
                    _ => false,
                }
            }
            _ => false,
        })
}

/// (user, operand index) of every instruction use of `v`.
fn uses_of(v: LLVMValueRef) -> Vec<(LLVMValueRef, u32)> {
    let mut out = Vec::new();
    unsafe {
        let mut u = LLVMGetFirstUse(v);
        while !u.is_null() {
            let user = LLVMGetUser(u);
            let n = LLVMGetNumOperands(user).max(0) as u32;
            for k in 0..n {
                if LLVMGetOperand(user, k) == v && !out.contains(&(user, k)) {
                    out.push((user, k));
                }
            }
            u = LLVMGetNextUse(u);
        }
    }
    out
}

fn is_lifetime_marker(i: LLVMValueRef) -> bool {
    llvm::is_call(i)
        && llvm::direct_callee(i)
            .map(llvm::value_name)
            .is_some_and(|n| n.starts_with("llvm.lifetime."))
}

/// Is `ty` (or the element type of an array of it) clang's `va_list` structure
/// (`struct.__va_list_tag` on x86-64, `struct.std::__va_list`/`struct.__va_list` on AArch64)?
fn is_va_list(mut ty: LLVMTypeRef) -> bool {
    unsafe {
        while llvm::type_kind(ty) == LLVMTypeKind::LLVMArrayTypeKind {
            ty = LLVMGetElementType(ty);
        }
        if llvm::type_kind(ty) != LLVMTypeKind::LLVMStructTypeKind {
            return false;
        }
        let name = LLVMGetStructName(ty);
        !name.is_null()
            && std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .contains("__va_list")
    }
}
