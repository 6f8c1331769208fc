/* unimig runtime, AArch64: the migration-point entry, the resume jump, a raw system call.
 * ISA-specific section names keep these ISA-private in ld.unimig's layout (nobody holds
 * their addresses; their code differs). Offsets follow struct unimig_regs (migrate.h):
 * x19..x29 0..80, sp 88, pc 96, d8..d15 104..160. */

/* void __unimig_migration_point(void): called by instrumented code when
 * __unimig_migrate_requested is set. Captures the caller's callee-saved registers, its stack
 * pointer (entry sp) and the return address (x30), then calls
 * unimig_rt_migration_point(&regs). The C handler preserves callee-saved registers itself. */
	.section .text.unimig_rt_migrate_aarch64,"ax",%progbits
	.globl __unimig_migration_point
	.type __unimig_migration_point,%function
	.p2align 4
__unimig_migration_point:
	.cfi_startproc
	sub sp, sp, #192         /* 168 bytes of regs, then the frame record at 176 */
	.cfi_def_cfa_offset 192
	stp x29, x30, [sp, #176]
	.cfi_offset x29, -16
	.cfi_offset x30, -8
	stp x19, x20, [sp, #0]
	stp x21, x22, [sp, #16]
	stp x23, x24, [sp, #32]
	stp x25, x26, [sp, #48]
	stp x27, x28, [sp, #64]
	add x9, sp, #192
	stp x29, x9, [sp, #80]
	str x30, [sp, #96]
	stp d8, d9, [sp, #104]
	stp d10, d11, [sp, #120]
	stp d12, d13, [sp, #136]
	stp d14, d15, [sp, #152]
	add x29, sp, #176
	mov x0, sp
	bl unimig_rt_migration_point
	ldp x29, x30, [sp, #176]
	add sp, sp, #192
	.cfi_def_cfa_offset 0
	ret
	.cfi_endproc
	.size __unimig_migration_point, . - __unimig_migration_point

/* _Noreturn void unimig_rt_resume(const struct unimig_regs *r): load exactly the captured
 * registers and continue at r->pc with r->sp: a return from __unimig_migration_point. */
	.globl unimig_rt_resume
	.hidden unimig_rt_resume
	.type unimig_rt_resume,%function
	.p2align 4
unimig_rt_resume:
	ldp x19, x20, [x0, #0]
	ldp x21, x22, [x0, #16]
	ldp x23, x24, [x0, #32]
	ldp x25, x26, [x0, #48]
	ldp x27, x28, [x0, #64]
	ldp x29, x9, [x0, #80]
	ldr x30, [x0, #96]
	ldp d8, d9, [x0, #104]
	ldp d10, d11, [x0, #120]
	ldp d12, d13, [x0, #136]
	ldp d14, d15, [x0, #152]
	mov sp, x9
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
