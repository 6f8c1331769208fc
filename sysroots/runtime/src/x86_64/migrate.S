/* unimig runtime, x86-64: the migration-point entry, the resume jump, a raw system call.
 * ISA-specific section names keep these ISA-private in ld.unimig's layout (nobody holds
 * their addresses; their code differs). Offsets follow struct unimig_regs (migrate.h):
 * rbx 0, rbp 8, r12 16, r13 24, r14 32, r15 40, sp 48, pc 56, rax 64, rcx 72, rdx 80,
 * rsi 88, rdi 96, r8 104, r9 112, r10 120, r11 128, xmm0..15 (low 64 bits) 136..256. */

/* void __unimig_migration_point(void), called with LLVM's preserve_all convention by
 * instrumented code when __unimig_migrate_requested is set: every register but r11 survives
 * it, so the caller keeps its values in whatever registers it likes across this cold call
 * (with the C convention, a loop that polls had to keep them in callee-saved registers, saved
 * and restored on every call of the function). Captures all of them, the caller's stack
 * pointer after the call returns (entry rsp + 8) and the return address into a struct
 * unimig_regs, keeps whole xmm registers aside (the C handler may use them), calls
 * unimig_rt_migration_point(&regs) and restores what the C convention does not preserve;
 * before the due point it only counts the point.
 * Frame: regs at 0 (264 bytes), xmm0..15 at 264 (256 bytes); 520 + the return address keeps
 * rsp 16-aligned for the call. */
	.section .text.unimig_rt_migrate_x86_64,"ax",@progbits
	.globl __unimig_migration_point
	.type __unimig_migration_point,@function
	.p2align 4
__unimig_migration_point:
	.cfi_startproc
	/* Before the due point (point.c, unimig_rt_due) only count: r11 and the flags are all
	 * preserve_all lets a callee clobber. */
	mov unimig_rt_points(%rip), %r11
	inc %r11
	cmp unimig_rt_due(%rip), %r11
	jae 1f
	mov %r11, unimig_rt_points(%rip)
	ret
	/* A point at a refused site being backed off from (point.c, unimig_rt_skip: 4096 slots
	 * of {return address, points left}, slot ((address >> 2) ^ (address >> 14)) & 4095):
	 * count it and skip it. */
1:	push %rax
	.cfi_adjust_cfa_offset 8
	mov 8(%rsp), %r11               /* the return address */
	mov %r11, %rax
	shr $2, %r11
	shr $14, %rax
	xor %rax, %r11
	and $4095, %r11d
	shl $4, %r11d
	lea unimig_rt_skip(%rip), %rax
	add %rax, %r11                  /* its slot */
	mov 8(%rsp), %rax
	cmp (%r11), %rax
	jne 2f
	cmpq $0, 8(%r11)
	je 2f
	decq 8(%r11)
	incq unimig_rt_points(%rip)
	pop %rax
	.cfi_adjust_cfa_offset -8
	ret
	.cfi_adjust_cfa_offset 8
2:	pop %rax
	.cfi_adjust_cfa_offset -8
	sub $520, %rsp
	.cfi_def_cfa_offset 528
	mov %r11, 128(%rsp)
	mov %rbx, 0(%rsp)
	mov %rbp, 8(%rsp)
	mov %r12, 16(%rsp)
	mov %r13, 24(%rsp)
	mov %r14, 32(%rsp)
	mov %r15, 40(%rsp)
	lea 528(%rsp), %r11
	mov %r11, 48(%rsp)
	mov 520(%rsp), %r11
	mov %r11, 56(%rsp)
	mov %rax, 64(%rsp)
	mov %rcx, 72(%rsp)
	mov %rdx, 80(%rsp)
	mov %rsi, 88(%rsp)
	mov %rdi, 96(%rsp)
	mov %r8, 104(%rsp)
	mov %r9, 112(%rsp)
	mov %r10, 120(%rsp)
	movq %xmm0, 136(%rsp)
	movq %xmm1, 144(%rsp)
	movq %xmm2, 152(%rsp)
	movq %xmm3, 160(%rsp)
	movq %xmm4, 168(%rsp)
	movq %xmm5, 176(%rsp)
	movq %xmm6, 184(%rsp)
	movq %xmm7, 192(%rsp)
	movq %xmm8, 200(%rsp)
	movq %xmm9, 208(%rsp)
	movq %xmm10, 216(%rsp)
	movq %xmm11, 224(%rsp)
	movq %xmm12, 232(%rsp)
	movq %xmm13, 240(%rsp)
	movq %xmm14, 248(%rsp)
	movq %xmm15, 256(%rsp)
	movups %xmm0, 264(%rsp)
	movups %xmm1, 280(%rsp)
	movups %xmm2, 296(%rsp)
	movups %xmm3, 312(%rsp)
	movups %xmm4, 328(%rsp)
	movups %xmm5, 344(%rsp)
	movups %xmm6, 360(%rsp)
	movups %xmm7, 376(%rsp)
	movups %xmm8, 392(%rsp)
	movups %xmm9, 408(%rsp)
	movups %xmm10, 424(%rsp)
	movups %xmm11, 440(%rsp)
	movups %xmm12, 456(%rsp)
	movups %xmm13, 472(%rsp)
	movups %xmm14, 488(%rsp)
	movups %xmm15, 504(%rsp)
	mov %rsp, %rdi
	call unimig_rt_migration_point
	movups 264(%rsp), %xmm0
	movups 280(%rsp), %xmm1
	movups 296(%rsp), %xmm2
	movups 312(%rsp), %xmm3
	movups 328(%rsp), %xmm4
	movups 344(%rsp), %xmm5
	movups 360(%rsp), %xmm6
	movups 376(%rsp), %xmm7
	movups 392(%rsp), %xmm8
	movups 408(%rsp), %xmm9
	movups 424(%rsp), %xmm10
	movups 440(%rsp), %xmm11
	movups 456(%rsp), %xmm12
	movups 472(%rsp), %xmm13
	movups 488(%rsp), %xmm14
	movups 504(%rsp), %xmm15
	mov 64(%rsp), %rax
	mov 72(%rsp), %rcx
	mov 80(%rsp), %rdx
	mov 88(%rsp), %rsi
	mov 96(%rsp), %rdi
	mov 104(%rsp), %r8
	mov 112(%rsp), %r9
	mov 120(%rsp), %r10
	add $520, %rsp
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
	.size __unimig_migration_point, . - __unimig_migration_point

/* _Noreturn void unimig_rt_resume(const struct unimig_regs *r): load the captured registers
 * (r11 is the base: preserve_all does not keep it) and continue at r->pc with r->sp: a return
 * from __unimig_migration_point. */
	.globl unimig_rt_resume
	.hidden unimig_rt_resume
	.type unimig_rt_resume,@function
	.p2align 4
unimig_rt_resume:
	mov %rdi, %r11
	movq 136(%r11), %xmm0
	movq 144(%r11), %xmm1
	movq 152(%r11), %xmm2
	movq 160(%r11), %xmm3
	movq 168(%r11), %xmm4
	movq 176(%r11), %xmm5
	movq 184(%r11), %xmm6
	movq 192(%r11), %xmm7
	movq 200(%r11), %xmm8
	movq 208(%r11), %xmm9
	movq 216(%r11), %xmm10
	movq 224(%r11), %xmm11
	movq 232(%r11), %xmm12
	movq 240(%r11), %xmm13
	movq 248(%r11), %xmm14
	movq 256(%r11), %xmm15
	mov 0(%r11), %rbx
	mov 8(%r11), %rbp
	mov 16(%r11), %r12
	mov 24(%r11), %r13
	mov 32(%r11), %r14
	mov 40(%r11), %r15
	mov 64(%r11), %rax
	mov 72(%r11), %rcx
	mov 80(%r11), %rdx
	mov 88(%r11), %rsi
	mov 96(%r11), %rdi
	mov 104(%r11), %r8
	mov 112(%r11), %r9
	mov 120(%r11), %r10
	mov 48(%r11), %rsp
	jmp *56(%r11)
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
