/* unimig runtime, AArch64: switch to the main thread's machine stack, run the constructors,
 * call main with the stack pointer exactly at the stack top, exit with its result.
 *
 * _Noreturn void unimig_rt_start_on_stack(uintptr_t sp, int (*main)(int, char **, char **),
 *                                         int argc, char **argv);
 * sp (x0) = UNIMIG_MAIN_STACK_TOP. docs/migration.md section 5: main's CFA is that address
 * and its return address the global label __unimig_main_return, on both ISAs, so the stack
 * transformer knows where every main stack ends. After main returns nothing may depend on a
 * callee-saved register: a migrated main restores whatever the transformer put in its save
 * slots. The CFI says "no return address" (x30 undefined) and x29 is 0: unwinders stop here.
 * The section name is ISA-specific so that ld.unimig keeps it ISA-private: the label's
 * offset inside differs between the ISAs. */
	.section .text.unimig_rt_start_aarch64,"ax",%progbits
	.globl unimig_rt_start_on_stack
	.hidden unimig_rt_start_on_stack
	.globl __unimig_main_return
	.type unimig_rt_start_on_stack,%function
	.p2align 4
unimig_rt_start_on_stack:
	.cfi_startproc
	.cfi_undefined x30
	mov sp, x0
	mov x29, xzr
	mov x19, x1              /* main, argc, argv survive the constructors in callee-saved */
	sxtw x20, w2
	mov x21, x3
	bl __libc_start_init     /* musl's: _init, then .init_array */
	mov w0, w20
	mov x1, x21
	add x2, x21, x20, lsl #3
	add x2, x2, #8           /* envp = argv + argc + 1 */
	blr x19
__unimig_main_return:
	bl exit                  /* main's result is already in w0 */
	brk #0
	.cfi_endproc
	.size unimig_rt_start_on_stack, . - unimig_rt_start_on_stack

	.section .note.GNU-stack,"",%progbits
