/*
 * mmap/munmap/mremap served from the fixed region [UNIMIG_MMAP_BASE, +UNIMIG_MMAP_SIZE).
 *
 * This object defines every global symbol of musl's mmap.lo, munmap.lo, mremap.lo and
 * __unmapself.lo (mmap, mmap64, __mmap, munmap, __munmap, mremap, __mremap, __unmapself, and a
 * weak __vm_wait), so programs AND musl's internal callers (pthread_create's stacks, which also
 * hold thread TLS; pthread_join; the locale/timezone/catalogue file maps through __map_file;
 * sem_open) all get these.
 *
 * Policy:
 *  - A request without MAP_FIXED/MAP_FIXED_NOREPLACE, anonymous or file-backed, private or
 *    shared, gets the first fit (page granularity, lowest address) in the region, or the hint
 *    address if it lies in the region and is free; it is mapped there with
 *    MAP_FIXED_NOREPLACE. So the same sequence of calls gives the same addresses on both ISAs.
 *    (File mappings are placed too, not passed through: their addresses are observable.)
 *  - MAP_FIXED / MAP_FIXED_NOREPLACE requests go to the kernel unchanged; if they land in the
 *    region the range is marked used. MAP_GROWSDOWN, MAP_HUGETLB (and x86-64's MAP_32BIT) go to
 *    the kernel unchanged: those addresses are kernel-chosen (documented gap).
 *  - munmap: kernel munmap, then the range (if in the region) is free again.
 *  - mremap: shrink in place; grow in place when the following pages are free; otherwise move
 *    (MREMAP_MAYMOVE) to a first-fit address with MREMAP_FIXED.
 *  - Detached threads: musl's __unmapself unmaps the exiting thread's own stack with a raw
 *    syscall, invisible to us. Ours records the mapping lock-free and exits; the next mmap or
 *    munmap unmaps it once the kernel has cleared __thread_list_lock (clone's
 *    CLONE_CHILD_CLEARTID word, held by the dying thread until it is gone).
 * Bookkeeping: a sorted array of free extents in UNIMIG_CTL_MMAP_TABLE.
 */
#include "rt_internal.h"
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#undef mmap64 /* musl's <sys/mman.h> makes it a macro for mmap */

#define RBASE UNIMIG_MMAP_BASE
#define REND  (UNIMIG_MMAP_BASE + UNIMIG_MMAP_SIZE)
#define TABLE_STEP 0x10000UL

struct ext { uintptr_t lo, hi; };

static volatile int mm_lock;
static struct ext *const ext = (struct ext *)UNIMIG_CTL_MMAP_TABLE;
static size_t next_n, ext_cap;

extern volatile int __thread_list_lock;

/* musl's __vm_wait (vmlock.lo) when linked; otherwise this no-op, as in musl's mmap.c. */
__attribute__((__weak__)) void __vm_wait(void) {}

static void table_init(void)
{
	if (ext_cap) return;
	if (unimig_rt_map_fixed(UNIMIG_CTL_MMAP_TABLE, TABLE_STEP) < 0)
		unimig_rt_fatal_hex("cannot map the runtime control region at ", UNIMIG_CTL_MMAP_TABLE);
	ext_cap = TABLE_STEP / sizeof(struct ext);
	ext[0].lo = RBASE;
	ext[0].hi = REND;
	next_n = 1;
}

static void table_reserve(size_t need)
{
	while (need > ext_cap) {
		uintptr_t at = UNIMIG_CTL_MMAP_TABLE + ext_cap * sizeof(struct ext);
		if (at + TABLE_STEP > UNIMIG_CTL_MMAP_TABLE + UNIMIG_CTL_MMAP_TABLE_SIZE)
			unimig_rt_fatal("mmap region too fragmented", 0);
		if (unimig_rt_map_fixed(at, TABLE_STEP) < 0)
			unimig_rt_fatal_hex("cannot map the runtime control region at ", at);
		ext_cap += TABLE_STEP / sizeof(struct ext);
	}
}

/* index of the first extent with hi > a */
static size_t find(uintptr_t a)
{
	size_t l = 0, r = next_n;
	while (l < r) {
		size_t m = (l + r) / 2;
		if (ext[m].hi > a) r = m; else l = m + 1;
	}
	return l;
}

static int is_free(uintptr_t a, uintptr_t b)
{
	size_t i = find(a);
	return i < next_n && ext[i].lo <= a && b <= ext[i].hi;
}

static uintptr_t first_fit(size_t len)
{
	for (size_t i = 0; i < next_n; i++)
		if (ext[i].hi - ext[i].lo >= len) return ext[i].lo;
	return 0;
}

static int clip(uintptr_t *a, uintptr_t *b)
{
	if (*a < RBASE) *a = RBASE;
	if (*b > REND) *b = REND;
	return *a < *b;
}

static void mark_used(uintptr_t a, uintptr_t b)
{
	if (!clip(&a, &b)) return;
	size_t i = find(a);
	while (i < next_n && ext[i].lo < b) {
		uintptr_t lo = ext[i].lo, hi = ext[i].hi;
		if (lo < a && hi > b) {
			table_reserve(next_n + 1);
			memmove(ext + i + 2, ext + i + 1, (next_n - i - 1) * sizeof *ext);
			ext[i].hi = a;
			ext[i + 1].lo = b;
			ext[i + 1].hi = hi;
			next_n++;
			return;
		} else if (lo < a) {
			ext[i].hi = a;
			i++;
		} else if (hi > b) {
			ext[i].lo = b;
			return;
		} else {
			memmove(ext + i, ext + i + 1, (next_n - i - 1) * sizeof *ext);
			next_n--;
		}
	}
}

static void mark_free(uintptr_t a, uintptr_t b)
{
	if (!clip(&a, &b)) return;
	size_t i = 0, j;
	/* first extent with hi >= a (touching or overlapping) */
	{
		size_t l = 0, r = next_n;
		while (l < r) {
			size_t m = (l + r) / 2;
			if (ext[m].hi >= a) r = m; else l = m + 1;
		}
		i = l;
	}
	for (j = i; j < next_n && ext[j].lo <= b; j++) {
		if (ext[j].lo < a) a = ext[j].lo;
		if (ext[j].hi > b) b = ext[j].hi;
	}
	if (j == i) {
		table_reserve(next_n + 1);
		memmove(ext + i + 1, ext + i, (next_n - i) * sizeof *ext);
		next_n++;
	} else if (j > i + 1) {
		memmove(ext + i + 1, ext + j, (next_n - j) * sizeof *ext);
		next_n -= j - i - 1;
	}
	ext[i].lo = a;
	ext[i].hi = b;
}

/* ---- detached threads' stacks (see __unmapself below) ---- */
#define NZOMBIE 64
static struct zombie {
	volatile int state;   /* 0 empty, 1 being written, 2 waiting for the thread to exit */
	int tid;
	uintptr_t base;
	size_t size;
} zombies[NZOMBIE];
static volatile int nzombies;

static void reap_zombies(void)
{
	if (!__atomic_load_n(&nzombies, __ATOMIC_ACQUIRE)) return;
	for (int i = 0; i < NZOMBIE; i++) {
		struct zombie *z = &zombies[i];
		if (__atomic_load_n(&z->state, __ATOMIC_ACQUIRE) != 2) continue;
		if (__atomic_load_n(&__thread_list_lock, __ATOMIC_ACQUIRE) == z->tid) continue;
		if (unimig_rt_sys(SYS_munmap, (long)z->base, (long)z->size, 0, 0, 0) == 0)
			mark_free(z->base, rt_page_up(z->base + z->size));
		__atomic_store_n(&z->state, 0, __ATOMIC_RELEASE);
		__atomic_fetch_sub(&nzombies, 1, __ATOMIC_RELEASE);
	}
}

/* Called by musl's pthread_exit for a detached thread, on the stack being released, with all
 * signals blocked and the thread-list lock held (the kernel releases it when the thread is
 * gone). Must not take locks. */
_Noreturn void __unmapself(void *base, size_t size)
{
	int tid = (int)unimig_rt_sys(SYS_gettid, 0, 0, 0, 0, 0);
	for (int i = 0; i < NZOMBIE; i++) {
		int zero = 0;
		if (__atomic_compare_exchange_n(&zombies[i].state, &zero, 1, 0,
				__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			zombies[i].tid = tid;
			zombies[i].base = (uintptr_t)base;
			zombies[i].size = size;
			__atomic_store_n(&zombies[i].state, 2, __ATOMIC_RELEASE);
			__atomic_fetch_add(&nzombies, 1, __ATOMIC_RELEASE);
			break;
		}
	}
	/* (All slots busy: the mapping stays allocated -- a leak, never a crash.) */
	for (;;) unimig_rt_sys(SYS_exit, 0, 0, 0, 0, 0);
}

/* ---- public entry points ---- */

static void *fail(long err)
{
	errno = (int)-err;
	return MAP_FAILED;
}

static int passthrough_flags(int flags)
{
	int f = MAP_GROWSDOWN | MAP_HUGETLB;
#ifdef MAP_32BIT
	f |= MAP_32BIT;
#endif
	return flags & f;
}

void *__mmap(void *start, size_t len, int prot, int flags, int fd, off_t off)
{
	long r;
	if (off & (UNIMIG_PAGE_SIZE - 1)) return fail(-EINVAL);
	if (len >= PTRDIFF_MAX) return fail(-ENOMEM);

	if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) || passthrough_flags(flags)) {
		if (flags & MAP_FIXED) __vm_wait();
		r = unimig_rt_sys_mmap((uintptr_t)start, len, prot, flags, fd, off);
		if (r < 0) return fail(r);
		if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && len) {
			unimig_rt_lock(&mm_lock);
			table_init();
			mark_used((uintptr_t)r, rt_page_up((uintptr_t)r + len));
			unimig_rt_unlock(&mm_lock);
		}
		return (void *)r;
	}
	if (!len) return fail(-EINVAL);

	size_t plen = rt_page_up(len);
	uintptr_t at, hint = (uintptr_t)start;
	unimig_rt_lock(&mm_lock);
	table_init();
	reap_zombies();
	if (hint && !(hint & (UNIMIG_PAGE_SIZE - 1)) && hint >= RBASE && hint < REND &&
	    plen <= REND - hint && is_free(hint, hint + plen))
		at = hint;
	else
		at = first_fit(plen);
	if (!at) {
		unimig_rt_unlock(&mm_lock);
		return fail(-ENOMEM);
	}
	r = unimig_rt_sys_mmap(at, len, prot, flags | MAP_FIXED_NOREPLACE, fd, off);
	if (r >= 0 && (uintptr_t)r != at) {
		unimig_rt_sys(SYS_munmap, r, (long)len, 0, 0, 0);
		unimig_rt_fatal("the kernel does not support MAP_FIXED_NOREPLACE", 0);
	}
	if (r == -EEXIST)
		unimig_rt_fatal_hex("foreign mapping inside the unimig mmap region near ", at);
	if (r >= 0) mark_used(at, at + plen);
	unimig_rt_unlock(&mm_lock);
	if (r == -EPERM && (flags & MAP_ANONYMOUS)) r = -ENOMEM;  /* as musl does */
	if (r < 0) return fail(r);
	return (void *)r;
}

int __munmap(void *start, size_t len)
{
	__vm_wait();
	long r = unimig_rt_sys(SYS_munmap, (long)start, (long)len, 0, 0, 0);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	uintptr_t a = (uintptr_t)start;
	unimig_rt_lock(&mm_lock);
	table_init();
	if (len) mark_free(a, rt_page_up(a + len));
	reap_zombies();
	unimig_rt_unlock(&mm_lock);
	return 0;
}

static long sys_mremap(uintptr_t old, size_t oldlen, size_t newlen, int flags, uintptr_t new)
{
	return unimig_rt_sys(SYS_mremap, (long)old, (long)oldlen, (long)newlen, flags, (long)new);
}

void *__mremap(void *old_addr, size_t old_len, size_t new_len, int flags, ...)
{
	uintptr_t old = (uintptr_t)old_addr, new = 0;
	long r;

	if (new_len >= PTRDIFF_MAX) return fail(-ENOMEM);
	if (flags & MREMAP_FIXED) {
		va_list ap;
		__vm_wait();
		va_start(ap, flags);
		new = (uintptr_t)va_arg(ap, void *);
		va_end(ap);
	}

	unimig_rt_lock(&mm_lock);
	table_init();
	reap_zombies();
	size_t oplen = rt_page_up(old_len), nplen = rt_page_up(new_len);
	int keep_old = (flags & MREMAP_DONTUNMAP) || !old_len;

	if (flags & MREMAP_FIXED) {
		r = sys_mremap(old, old_len, new_len, flags, new);
	} else if (old_len && nplen <= oplen) {
		r = sys_mremap(old, old_len, new_len, flags & ~MREMAP_MAYMOVE & ~MREMAP_DONTUNMAP, 0);
		if (r >= 0) mark_free(old + nplen, old + oplen);
		goto out;
	} else {
		r = -ENOMEM;
		/* grow in place: in the region only if the following pages are ours to give */
		if (old_len && !(flags & MREMAP_DONTUNMAP) &&
		    (old < RBASE || old >= REND || is_free(old + oplen, old + nplen)))
			r = sys_mremap(old, old_len, new_len, 0, 0);
		if (r >= 0) {
			mark_used(old + oplen, old + nplen);
			goto out;
		}
		if (!(flags & MREMAP_MAYMOVE)) goto out;
		new = first_fit(nplen);
		if (!new) {
			r = -ENOMEM;
			goto out;
		}
		r = sys_mremap(old, old_len, new_len, flags | MREMAP_MAYMOVE | MREMAP_FIXED, new);
	}
	if (r >= 0) {
		if (!keep_old) mark_free(old, old + oplen);
		mark_used((uintptr_t)r, (uintptr_t)r + nplen);
	}
out:
	unimig_rt_unlock(&mm_lock);
	if (r < 0) return fail(r);
	return (void *)r;
}

void unimig_rt_mmap_atfork(int who)
{
	if (who < 0) unimig_rt_lock(&mm_lock);
	else if (who == 0) unimig_rt_unlock(&mm_lock);
	else mm_lock = 0;
}

/* The public names, weak as in musl (a program may define its own; libc keeps using ours). */
__attribute__((__weak__)) void *mmap(void *start, size_t len, int prot, int flags, int fd, off_t off)
{
	return __mmap(start, len, prot, flags, fd, off);
}
void *mmap64(void *start, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((__weak__, __alias__("mmap")));
__attribute__((__weak__)) int munmap(void *start, size_t len)
{
	return __munmap(start, len);
}
__attribute__((__weak__)) void *mremap(void *old_addr, size_t old_len, size_t new_len, int flags, ...)
{
	void *new = 0;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new = va_arg(ap, void *);
		va_end(ap);
	}
	return __mremap(old_addr, old_len, new_len, flags, new);
}
