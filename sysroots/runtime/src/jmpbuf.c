/*
 * The jmp_buf registry: which jmp_bufs a longjmp may still use, so that a migration can
 * rewrite them for the other ISA.
 *
 * A jmp_buf holds the callee-saved registers, stack pointer and return address of the frame
 * that called setjmp, in the layout of one ISA; after a migration that frame exists in the
 * other ISA's layout, so a longjmp through the old contents would crash. The LLVM pass
 * (llvm-pass/src/instrument.rs, register_jmpbufs) calls __unimig_jmpbuf_register with the
 * buffer right before every setjmp in instrumented code, and the stack transformation
 * (migrate/src/jmpbuf.rs) reads this registry from the checkpoint: each registered buffer whose
 * saved stack pointer and return address name a frame still on the stack is rewritten for the
 * destination, the rest are dropped.
 *
 * Entries are kept in registration order with a key: an address in the registering call's own
 * frame, just below the setjmp caller's stack pointer. The stack grows down, so an entry whose
 * key is below the current call's frame belongs to a frame that has returned (its jmp_buf can
 * no longer be longjmp'd to) and is dropped; this keeps the registry as deep as the nesting of
 * live setjmp callers, whatever the number of setjmp calls. The registry never reads a buffer
 * (it may be freed memory by now): that is the transformation's job, which checks every entry.
 *
 * Only the main thread's stack migrates, so only its registrations are kept. A registration
 * that does not fit is not silently lost: `dropped_key` remembers the highest key of the
 * dropped ones, and the transformation refuses to migrate until a registration from a frame
 * above it shows that frame has returned.
 *
 * The layout (rt_internal.h) is read by migrate/src/jmpbuf.rs: keep the two in step.
 */
#include "rt_internal.h"

struct unimig_jmpbufs __unimig_jmpbufs;

static int on_main_stack(uintptr_t a)
{
	return a >= UNIMIG_MSTACK_BASE && a < UNIMIG_MAIN_STACK_TOP;
}

/* noinline: the key must be an address in a frame of its own, below its caller's. */
__attribute__((noinline)) void __unimig_jmpbuf_register(void *buf)
{
	uintptr_t key = (uintptr_t)__builtin_frame_address(0);
	struct unimig_jmpbufs *r = &__unimig_jmpbufs;
	if (!on_main_stack(key))
		return;
	if (r->dropped_key && key > r->dropped_key)
		r->dropped_key = 0;
	uint64_t n = 0;
	for (uint64_t i = 0; i < r->count; i++) {
		/* Dead (a returned frame's), or this very buffer (registered again, at the end). */
		if (r->entries[i].key < key || r->entries[i].buf == (uintptr_t)buf)
			continue;
		r->entries[n++] = r->entries[i];
	}
	r->count = n;
	if (n == UNIMIG_JMPBUFS_MAX) {
		if (key > r->dropped_key)
			r->dropped_key = key;
		return;
	}
	r->entries[n].buf = (uintptr_t)buf;
	r->entries[n].key = key;
	r->count = n + 1;
}
