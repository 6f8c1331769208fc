/* Internal helpers shared by the unimig runtime's objects (not installed). */
#ifndef UNIMIG_RT_INTERNAL_H
#define UNIMIG_RT_INTERNAL_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include "unimig_layout.h"

#define RT_HIDDEN __attribute__((__visibility__("hidden")))

/* Write "unimig runtime: <msg>[<detail>]\n" to stderr and exit with status 127. Safe to call
 * once any thread pointer (even the bootstrap one) is installed. */
_Noreturn void unimig_rt_fatal(const char *msg, const char *detail) RT_HIDDEN;
/* Same, with a hexadecimal number appended. */
_Noreturn void unimig_rt_fatal_hex(const char *msg, uintptr_t value) RT_HIDDEN;

/* Raw mmap through musl's syscall(): returns the address or a negative errno; errno itself is
 * preserved. */
long unimig_rt_sys_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, long off) RT_HIDDEN;
long unimig_rt_sys(long nr, long a, long b, long c, long d, long e) RT_HIDDEN;

/* Map [addr, addr+len) read-write, anonymous, MAP_NORESERVE, at exactly addr, refusing to
 * replace anything (MAP_FIXED_NOREPLACE). Returns 0 or a negative errno. */
long unimig_rt_map_fixed(uintptr_t addr, size_t len) RT_HIDDEN;
/* Replace [addr, addr+len) (page aligned, ours) with fresh zero pages, returning the old
 * pages' memory to the system. Used by free() for big blocks. */
void unimig_rt_discard(uintptr_t addr, size_t len) RT_HIDDEN;

/* A small futex lock (0 free, 1 locked, 2 locked with waiters). */
void unimig_rt_lock(volatile int *l) RT_HIDDEN;
void unimig_rt_unlock(volatile int *l) RT_HIDDEN;

/* start.c's implementation of musl's __unimig_start_main hook (the same function). */
_Noreturn int unimig_rt_start_main(int (*stage2)(int (*)(int, char **, char **), int, char **),
	int (*main)(int, char **, char **), int argc, char **argv) RT_HIDDEN;

/* Shadow stacks (shadow.c). init: map the main thread's and point its __unimig_shadow_sp at
 * it (start-up, before constructors). thread: give a new thread (TLS block `block`, descriptor
 * `td`, from __copy_tls) a stack; a no-op before init. extent: [lo, hi) covering every shadow
 * stack slot in use (lo = hi = 0 before init); the unmapped guard at the bottom of each slot
 * but the first lies inside it. */
void unimig_rt_shadow_init(void);
void unimig_rt_shadow_thread(unsigned char *block, void *td) RT_HIDDEN;
void unimig_rt_shadow_extent(uintptr_t *lo, uintptr_t *hi);

/* The jmp_buf registry (jmpbuf.c; its layout is read by migrate/src/jmpbuf.rs). Weak: only
 * images that call setjmp from instrumented code link jmpbuf.o. */
#define UNIMIG_JMPBUFS_MAX   1024
/* sizeof(__jmp_buf): 22 words on both ISAs (sysroots/musl-patches/0004). */
#define UNIMIG_JMP_BUF_BYTES 176
struct unimig_jmpbufs {
	uint64_t count;
	uint64_t dropped_key; /* 0: nothing dropped (or what was has returned) */
	struct {
		uint64_t buf;
		uint64_t key;
	} entries[UNIMIG_JMPBUFS_MAX];
};
extern struct unimig_jmpbufs __unimig_jmpbufs __attribute__((weak));

/* Fork hooks of the two allocators (called from __malloc_atfork). */
void unimig_rt_heap_atfork(int who) RT_HIDDEN;
void unimig_rt_mmap_atfork(int who) RT_HIDDEN;

static inline uintptr_t rt_page_up(uintptr_t x)
{
	return (x + UNIMIG_PAGE_SIZE - 1) & ~(UNIMIG_PAGE_SIZE - 1);
}
static inline uintptr_t rt_page_down(uintptr_t x)
{
	return x & ~(UNIMIG_PAGE_SIZE - 1);
}

#endif
