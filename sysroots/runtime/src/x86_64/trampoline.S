/* unimig runtime, x86-64: switch to the main thread's machine stack and call musl's stage 2.
 *
 * _Noreturn void unimig_rt_start_on_stack(uintptr_t sp, stage2_fn *stage2,
 *                                         int (*main)(int, char **, char **), int argc,
 *                                         char **argv);
 * sp (rdi) is 16-byte aligned; stage2 (rsi) is called as stage2(main, argc, argv) with the
 * stack pointer at sp, a zero frame pointer, and a return-address rule of "undefined", so
 * unwinders and debuggers see this as the outermost frame. stage2 ends in exit(). */
	.section .text.unimig_rt_start_on_stack,"ax",@progbits
	.globl unimig_rt_start_on_stack
	.hidden unimig_rt_start_on_stack
	.type unimig_rt_start_on_stack,@function
	.p2align 4
unimig_rt_start_on_stack:
	.cfi_startproc
	.cfi_undefined rip
	mov %rdi, %rsp
	xor %ebp, %ebp
	mov %rsi, %rax
	mov %rdx, %rdi
	mov %ecx, %esi
	mov %r8, %rdx
	call *%rax
	ud2
	.cfi_endproc
	.size unimig_rt_start_on_stack, . - unimig_rt_start_on_stack

	.section .note.GNU-stack,"",@progbits
