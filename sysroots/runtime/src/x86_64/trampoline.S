/* unimig runtime, x86-64: switch to the main thread's machine stack, run the constructors,
 * call main with the stack pointer exactly at the stack top, exit with its result.
 *
 * _Noreturn void unimig_rt_start_on_stack(uintptr_t sp, int (*main)(int, char **, char **),
 *                                         int argc, char **argv);
 * sp (rdi) = UNIMIG_MAIN_STACK_TOP. docs/migration.md section 5: main's CFA is that address
 * and its return address the global label __unimig_main_return, on both ISAs, so the stack
 * transformer knows where every main stack ends. After main returns nothing may depend on a
 * callee-saved register: a migrated main restores whatever the transformer put in its save
 * slots. The CFI says "no return address" (rip undefined): unwinders stop here.
 * The section name is ISA-specific so that ld.unimig keeps it ISA-private: the label's
 * offset inside differs between the ISAs. */
	.section .text.unimig_rt_start_x86_64,"ax",@progbits
	.globl unimig_rt_start_on_stack
	.hidden unimig_rt_start_on_stack
	.globl __unimig_main_return
	.type unimig_rt_start_on_stack,@function
	.p2align 4
unimig_rt_start_on_stack:
	.cfi_startproc
	.cfi_undefined rip
	mov %rdi, %rsp
	xor %ebp, %ebp
	mov %rsi, %r12           /* main, argc, argv survive the constructors in callee-saved */
	movslq %edx, %r13
	mov %rcx, %r14
	call __libc_start_init   /* musl's: _init, then .init_array */
	mov %r13d, %edi
	mov %r14, %rsi
	lea 8(%r14,%r13,8), %rdx /* envp = argv + argc + 1 */
	call *%r12
__unimig_main_return:
	mov %eax, %edi
	call exit
	ud2
	.cfi_endproc
	.size unimig_rt_start_on_stack, . - unimig_rt_start_on_stack

	.section .note.GNU-stack,"",@progbits
