/* unimig runtime, x86-64: the migration-point entry, the resume jump, a raw system call.
 * ISA-specific section names keep these ISA-private in ld.unimig's layout (nobody holds
 * their addresses; their code differs). Offsets follow struct unimig_regs (migrate.h):
 * rbx 0, rbp 8, r12 16, r13 24, r14 32, r15 40, sp 48, pc 56. */

/* void __unimig_migration_point(void): called by instrumented code when
 * __unimig_migrate_requested is set. Captures the caller's callee-saved registers, its stack
 * pointer after the call returns (entry rsp + 8) and the return address, then calls
 * unimig_rt_migration_point(&regs). The C handler preserves callee-saved registers itself. */
	.section .text.unimig_rt_migrate_x86_64,"ax",@progbits
	.globl __unimig_migration_point
	.type __unimig_migration_point,@function
	.p2align 4
__unimig_migration_point:
	.cfi_startproc
	sub $72, %rsp            /* 64 bytes of regs + 8: rsp 16-aligned for the call */
	.cfi_def_cfa_offset 80
	mov %rbx, 0(%rsp)
	mov %rbp, 8(%rsp)
	mov %r12, 16(%rsp)
	mov %r13, 24(%rsp)
	mov %r14, 32(%rsp)
	mov %r15, 40(%rsp)
	lea 80(%rsp), %rax
	mov %rax, 48(%rsp)
	mov 72(%rsp), %rax
	mov %rax, 56(%rsp)
	mov %rsp, %rdi
	call unimig_rt_migration_point
	add $72, %rsp
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
	.size __unimig_migration_point, . - __unimig_migration_point

/* _Noreturn void unimig_rt_resume(const struct unimig_regs *r): load exactly the captured
 * registers and continue at r->pc with r->sp: a return from __unimig_migration_point. */
	.globl unimig_rt_resume
	.hidden unimig_rt_resume
	.type unimig_rt_resume,@function
	.p2align 4
unimig_rt_resume:
	mov 0(%rdi), %rbx
	mov 8(%rdi), %rbp
	mov 16(%rdi), %r12
	mov 24(%rdi), %r13
	mov 32(%rdi), %r14
	mov 40(%rdi), %r15
	mov 48(%rdi), %rsp
	xor %eax, %eax
	jmp *56(%rdi)
	.size unimig_rt_resume, . - unimig_rt_resume

/* long unimig_rt_raw_syscall(long nr, long a, long b, long c, long d, long e): the kernel's
 * result (negative errno on failure); no errno, no thread pointer use. A sixth system call
 * argument, where one exists, is 0. */
	.globl unimig_rt_raw_syscall
	.hidden unimig_rt_raw_syscall
	.type unimig_rt_raw_syscall,@function
	.p2align 4
unimig_rt_raw_syscall:
	mov %rdi, %rax
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	mov %r8, %r10
	mov %r9, %r8
	xor %r9d, %r9d           /* sixth argument 0 (mmap's offset) */
	syscall
	ret
	.size unimig_rt_raw_syscall, . - unimig_rt_raw_syscall

	.section .note.GNU-stack,"",@progbits
