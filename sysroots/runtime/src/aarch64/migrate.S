/* unimig runtime, AArch64: the migration-point entry, the resume jump, a raw system call.
 * ISA-specific section names keep these ISA-private in ld.unimig's layout (nobody holds
 * their addresses; their code differs). Offsets follow struct unimig_regs (migrate.h):
 * x19..x29 0..80, sp 88, pc 96, d8..d15 104..160, x0..x18 168..312, d16..d31 320..440. */

/* void __unimig_migration_point(void), called with LLVM's preserve_all convention by
 * instrumented code when __unimig_migrate_requested is set: x9-x15, x19-x29 and v8-v31 (whole)
 * survive it, so the caller may keep values there across this cold call instead of in
 * callee-saved registers saved and restored on every call of the function. Captures the
 * registers, the caller's stack pointer (entry sp) and the return address (x30) into a
 * struct unimig_regs, keeps q8..q31 aside whole (the C handler preserves only d8..d15's low
 * halves), calls unimig_rt_migration_point(&regs) and restores them and x0..x15; before the
 * due point it only counts the point.
 * Frame: the frame record at 0, regs at 16 (448 bytes), q8..q31 at 464 (384 bytes). */
	.section .text.unimig_rt_migrate_aarch64,"ax",%progbits
	.globl __unimig_migration_point
	.type __unimig_migration_point,%function
	.p2align 4
__unimig_migration_point:
	.cfi_startproc
	/* Before the due point (point.c, unimig_rt_due) only count: x16, x17 and the flags are
	 * all preserve_all lets a callee clobber. */
	adrp x16, unimig_rt_points
	ldr x17, [x16, :lo12:unimig_rt_points]
	add x17, x17, #1
	adrp x16, unimig_rt_due
	ldr x16, [x16, :lo12:unimig_rt_due]
	cmp x17, x16
	b.hs 1f
	adrp x16, unimig_rt_points
	str x17, [x16, :lo12:unimig_rt_points]
	ret
	/* A point at a refused site being backed off from (point.c, unimig_rt_skip: 4096 slots
	 * of {return address, points left}, slot ((address >> 2) ^ (address >> 14)) & 4095):
	 * count it and skip it. */
1:	adrp x16, unimig_rt_skip
	add x16, x16, :lo12:unimig_rt_skip
	lsr x17, x30, #2
	eor x17, x17, x30, lsr #14
	and x17, x17, #4095
	add x16, x16, x17, lsl #4
	ldr x17, [x16]
	cmp x17, x30
	b.ne 2f
	ldr x17, [x16, #8]
	cbz x17, 2f
	sub x17, x17, #1
	str x17, [x16, #8]
	adrp x16, unimig_rt_points
	ldr x17, [x16, :lo12:unimig_rt_points]
	add x17, x17, #1
	str x17, [x16, :lo12:unimig_rt_points]
	ret
2:	sub sp, sp, #848
	.cfi_def_cfa_offset 848
	stp x29, x30, [sp, #0]
	.cfi_offset x29, -848
	.cfi_offset x30, -840
	stp x0, x1, [sp, #184]
	stp x2, x3, [sp, #200]
	stp x4, x5, [sp, #216]
	stp x6, x7, [sp, #232]
	stp x8, x9, [sp, #248]
	stp x10, x11, [sp, #264]
	stp x12, x13, [sp, #280]
	stp x14, x15, [sp, #296]
	stp x16, x17, [sp, #312]
	str x18, [sp, #328]
	stp x19, x20, [sp, #16]
	stp x21, x22, [sp, #32]
	stp x23, x24, [sp, #48]
	stp x25, x26, [sp, #64]
	stp x27, x28, [sp, #80]
	add x16, sp, #848
	stp x29, x16, [sp, #96]
	str x30, [sp, #112]
	stp d8, d9, [sp, #120]
	stp d10, d11, [sp, #136]
	stp d12, d13, [sp, #152]
	stp d14, d15, [sp, #168]
	stp d16, d17, [sp, #336]
	stp d18, d19, [sp, #352]
	stp d20, d21, [sp, #368]
	stp d22, d23, [sp, #384]
	stp d24, d25, [sp, #400]
	stp d26, d27, [sp, #416]
	stp d28, d29, [sp, #432]
	stp d30, d31, [sp, #448]
	stp q8, q9, [sp, #464]
	stp q10, q11, [sp, #496]
	stp q12, q13, [sp, #528]
	stp q14, q15, [sp, #560]
	stp q16, q17, [sp, #592]
	stp q18, q19, [sp, #624]
	stp q20, q21, [sp, #656]
	stp q22, q23, [sp, #688]
	stp q24, q25, [sp, #720]
	stp q26, q27, [sp, #752]
	stp q28, q29, [sp, #784]
	stp q30, q31, [sp, #816]
	mov x29, sp
	add x0, sp, #16
	bl unimig_rt_migration_point
	ldp q8, q9, [sp, #464]
	ldp q10, q11, [sp, #496]
	ldp q12, q13, [sp, #528]
	ldp q14, q15, [sp, #560]
	ldp q16, q17, [sp, #592]
	ldp q18, q19, [sp, #624]
	ldp q20, q21, [sp, #656]
	ldp q22, q23, [sp, #688]
	ldp q24, q25, [sp, #720]
	ldp q26, q27, [sp, #752]
	ldp q28, q29, [sp, #784]
	ldp q30, q31, [sp, #816]
	ldp x0, x1, [sp, #184]
	ldp x2, x3, [sp, #200]
	ldp x4, x5, [sp, #216]
	ldp x6, x7, [sp, #232]
	ldp x8, x9, [sp, #248]
	ldp x10, x11, [sp, #264]
	ldp x12, x13, [sp, #280]
	ldp x14, x15, [sp, #296]
	ldp x29, x30, [sp, #0]
	add sp, sp, #848
	.cfi_def_cfa_offset 0
	ret
	.cfi_endproc
	.size __unimig_migration_point, . - __unimig_migration_point

/* _Noreturn void unimig_rt_resume(const struct unimig_regs *r): load the captured registers
 * (x16 is the base, x17 the new sp: preserve_all keeps neither) and continue at r->pc with
 * r->sp: a return from __unimig_migration_point. */
	.globl unimig_rt_resume
	.hidden unimig_rt_resume
	.type unimig_rt_resume,%function
	.p2align 4
unimig_rt_resume:
	mov x16, x0
	ldp d8, d9, [x16, #104]
	ldp d10, d11, [x16, #120]
	ldp d12, d13, [x16, #136]
	ldp d14, d15, [x16, #152]
	ldp d16, d17, [x16, #320]
	ldp d18, d19, [x16, #336]
	ldp d20, d21, [x16, #352]
	ldp d22, d23, [x16, #368]
	ldp d24, d25, [x16, #384]
	ldp d26, d27, [x16, #400]
	ldp d28, d29, [x16, #416]
	ldp d30, d31, [x16, #432]
	ldp x19, x20, [x16, #0]
	ldp x21, x22, [x16, #16]
	ldp x23, x24, [x16, #32]
	ldp x25, x26, [x16, #48]
	ldp x27, x28, [x16, #64]
	ldp x29, x17, [x16, #80]
	ldr x30, [x16, #96]
	ldp x0, x1, [x16, #168]
	ldp x2, x3, [x16, #184]
	ldp x4, x5, [x16, #200]
	ldp x6, x7, [x16, #216]
	ldp x8, x9, [x16, #232]
	ldp x10, x11, [x16, #248]
	ldp x12, x13, [x16, #264]
	ldp x14, x15, [x16, #280]
	mov sp, x17
	br x30
	.size unimig_rt_resume, . - unimig_rt_resume

/* long unimig_rt_raw_syscall(long nr, long a, long b, long c, long d, long e): the kernel's
 * result (negative errno on failure); no errno, no thread pointer use. A sixth system call
 * argument, where one exists, is 0. */
	.globl unimig_rt_raw_syscall
	.hidden unimig_rt_raw_syscall
	.type unimig_rt_raw_syscall,%function
	.p2align 4
unimig_rt_raw_syscall:
	mov x8, x0
	mov x0, x1
	mov x1, x2
	mov x2, x3
	mov x3, x4
	mov x4, x5
	mov x5, xzr              /* sixth argument 0 (mmap's offset) */
	svc #0
	ret
	.size unimig_rt_raw_syscall, . - unimig_rt_raw_syscall

	.section .note.GNU-stack,"",%progbits
