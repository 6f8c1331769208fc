/*
 * Shadow stacks: where the address-taken locals of code compiled by unimig-cc live.
 *
 * The LLVM pass (llvm-pass/src/shadow.rs) moves every local whose address the program can see
 * off the machine stack, into a frame on a per-thread shadow stack that it lays out from IR
 * types, identically on both ISAs. Each function carves its frame below the thread-local
 * pointer __unimig_shadow_sp at entry and restores the pointer before returning; the pointer is
 * always 16-byte aligned and the stack grows down. This file owns the stacks themselves: fixed
 * slots in the SSTACK region, so a local's address is the same on x86-64 and AArch64 and a
 * pointer to it survives a migration unchanged.
 *
 * Slots (unimig_layout.h): slot i is [UNIMIG_SSTACK_BASE + i * SLOT, + SLOT); its lowest
 * UNIMIG_SSTACK_GUARD bytes stay unmapped (an overflow faults), the rest is mapped read-write,
 * MAP_NORESERVE (only touched pages cost memory) and the pointer starts at the slot's top.
 * Slot 0 is the main thread's, mapped by unimig_rt_shadow_init at start-up before any
 * constructor runs. Every other thread gets a slot when musl's pthread_create prepares its TLS
 * (tls.c's __copy_tls calls unimig_rt_shadow_thread in the creating thread), so the slot is
 * ready before the new thread runs a single instruction of the program.
 *
 * Slot reuse: a slot belongs to the thread descriptor address it was given to. musl places a
 * new thread's descriptor in memory it maps for the thread (deterministically, mmap.c), so a
 * descriptor address that comes back means the thread that had it is gone (its memory was
 * unmapped and mapped again): its slot is reused. A program that creates and joins threads in
 * a loop thus keeps using the same few slots, and the same slot order happens on both ISAs.
 */
#include "rt_internal.h"
#include "musl_private.h"
#include <pthread.h>

/* The pointer the instrumented code uses (declared by the pass as initial-exec; in these
 * static images the linker makes it local-exec). */
__thread void *__unimig_shadow_sp __attribute__((tls_model("initial-exec")));

#define SLOT   UNIMIG_SSTACK_SLOT_SIZE
#define NSLOTS (UNIMIG_SSTACK_SIZE / UNIMIG_SSTACK_SLOT_SIZE)

static volatile int slot_lock;
/* owner[i]: the thread descriptor slot i was last given to; nslots: slots mapped so far. */
static void *owner[NSLOTS];
static size_t nslots;

static uintptr_t slot_lo(size_t i) { return UNIMIG_SSTACK_BASE + i * SLOT + UNIMIG_SSTACK_GUARD; }
static uintptr_t slot_top(size_t i) { return UNIMIG_SSTACK_BASE + (i + 1) * SLOT; }

static void map_slot(size_t i)
{
	if (unimig_rt_map_fixed(slot_lo(i), slot_top(i) - slot_lo(i)) < 0)
		unimig_rt_fatal_hex("cannot map a shadow stack (address range taken?) at ", slot_lo(i));
}

void unimig_rt_shadow_init(void)
{
	if (nslots)
		return;
	map_slot(0);
	owner[0] = (void *)pthread_self();
	nslots = 1;
	__unimig_shadow_sp = (void *)slot_top(0);
}

void unimig_rt_shadow_extent(uintptr_t *lo, uintptr_t *hi)
{
	unimig_rt_lock(&slot_lock);
	*lo = nslots ? slot_lo(0) : 0;
	*hi = nslots ? slot_top(nslots - 1) : 0;
	unimig_rt_unlock(&slot_lock);
}

void unimig_rt_shadow_thread(unsigned char *block, void *td)
{
	if (!nslots)
		return; /* the main thread's own TLS, before unimig_rt_shadow_init */
	unimig_rt_lock(&slot_lock);
	size_t i;
	for (i = 1; i < nslots && owner[i] != td; i++)
		;
	if (i == nslots) {
		if (nslots == NSLOTS)
			unimig_rt_fatal_hex("too many threads for the shadow stacks: ", NSLOTS);
		map_slot(i);
		nslots++;
	}
	owner[i] = td;
	unimig_rt_unlock(&slot_lock);
	/* The new thread's copy of __unimig_shadow_sp: at the same offset in its TLS block as ours
	 * is in the calling thread's block (dtv[1]). */
	struct unimig_musl_pthread *self = (struct unimig_musl_pthread *)pthread_self();
	uintptr_t offset = (uintptr_t)&__unimig_shadow_sp - self->dtv[1];
	*(void **)(block + offset) = (void *)slot_top(i);
}
