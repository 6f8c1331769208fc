/*
 * Deterministic allocator over the fixed heap arena [UNIMIG_HEAP_BASE, +UNIMIG_HEAP_SIZE).
 *
 * Replaces musl's malloc completely: this object defines every global symbol of musl's
 * malloc-family archive members (lite_malloc.lo, mallocng's malloc/free/realloc/aligned_alloc/
 * malloc_usable_size, calloc.lo, libc_calloc.lo, free.lo, realloc.lo, memalign.lo,
 * posix_memalign.lo, replaced.lo, sbrk.lo), so none of them is linked: musl's own internal
 * allocations (__libc_malloc & co., used by atexit, locales, timezone names, posix_spawn file
 * actions, sem_open, aio, ...) come from this arena too, and nothing calls brk.
 * The public names are weak, so a program that brings its own complete malloc still links
 * (its memory then comes from mmap(), which is deterministic as well).
 *
 * Design (dlmalloc-like, no randomisation, so the same call sequence gives the same
 * addresses on both ISAs, natively and under qemu, whatever ASLR does):
 *  - chunks with boundary tags: 16-byte header {prev_size, size|PINUSE}, user memory at
 *    chunk+16 (16-byte aligned), the next chunk's prev_size word is usable while in use;
 *    minimum chunk 32 bytes (a 24-byte request takes exactly 32);
 *  - 62 exact-size bins for chunks < 1 KiB (O(1)), 128 size-sorted bins above (4 per power of
 *    two; first fit in a sorted bin = best fit in that bin), a bitmap of non-empty bins;
 *  - free coalesces with both neighbours; the free space at the end ("top") grows by mapping
 *    more of the arena (MAP_FIXED_NOREPLACE, MAP_NORESERVE, UNIMIG_HEAP_COMMIT_STEP at a time);
 *  - freeing a chunk >= 8 MiB replaces its interior pages with fresh ones (returns memory;
 *    smaller free chunks keep their pages for reuse);
 *  - calloc skips clearing memory that was never touched (the unused end of the arena);
 *  - one futex lock; fork-safe through __malloc_atfork.
 */
#include "rt_internal.h"
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct chunk {
	size_t prev_size;      /* size of the previous chunk, valid only while it is free */
	size_t head;           /* size of this chunk | PINUSE (previous chunk in use) */
	struct chunk *fd, *bk; /* bin links, free chunks only */
} chunk;

#define PINUSE ((size_t)1)
#define SZ_MASK (~(size_t)15)
#define HDR ((size_t)16)
#define MINCHUNK ((size_t)32)
#define NSMALL 64
#define NBINS 192
#define RELEASE_MIN ((size_t)8 << 20)
#define MAX_REQ (UNIMIG_HEAP_SIZE / 2)
#define HEAP_END (UNIMIG_HEAP_BASE + UNIMIG_HEAP_SIZE)

static volatile int heap_lock;
static chunk *bins[NBINS];
static uint64_t binmap[NBINS / 64];
static uintptr_t top;        /* the top chunk (free space up to commit_end); 0 = not set up */
static uintptr_t commit_end; /* end of the mapped part of the arena */
static uintptr_t fresh;      /* the allocator never wrote at or above this address */

#define CH(a) ((chunk *)(uintptr_t)(a))

static inline size_t csize(const chunk *c) { return c->head & SZ_MASK; }
static inline chunk *next_chunk(const chunk *c) { return CH((uintptr_t)c + csize(c)); }
static inline void *mem_of(chunk *c) { return (char *)c + HDR; }

static size_t req2size(size_t n)
{
	if (n > MAX_REQ) return 0;
	size_t s = (n + 8 + 15) & ~(size_t)15;
	return s < MINCHUNK ? MINCHUNK : s;
}

static unsigned bin_index(size_t s)
{
	if (s < NSMALL * 16) return (unsigned)(s >> 4);
	unsigned e = 63 - (unsigned)__builtin_clzl(s);
	unsigned i = NSMALL + (e - 10) * 4 + (unsigned)((s >> (e - 2)) & 3);
	return i < NBINS ? i : NBINS - 1;
}

static unsigned next_bin(unsigned i)
{
	while (i < NBINS) {
		uint64_t m = binmap[i / 64] & (~(uint64_t)0 << (i % 64));
		if (m) return (i & ~63u) + (unsigned)__builtin_ctzll(m);
		i = (i & ~63u) + 64;
	}
	return NBINS;
}

static void bin_insert(chunk *c)
{
	size_t s = csize(c);
	unsigned i = bin_index(s);
	chunk *prev = 0, *cur = bins[i];
	if (i >= NSMALL)
		while (cur && csize(cur) < s) {
			prev = cur;
			cur = cur->fd;
		}
	c->fd = cur;
	c->bk = prev;
	if (cur) cur->bk = c;
	if (prev) prev->fd = c; else bins[i] = c;
	binmap[i / 64] |= (uint64_t)1 << (i % 64);
}

static void bin_unlink(chunk *c)
{
	unsigned i = bin_index(csize(c));
	if (c->bk) c->bk->fd = c->fd; else bins[i] = c->fd;
	if (c->fd) c->fd->bk = c->bk;
	if (!bins[i]) binmap[i / 64] &= ~((uint64_t)1 << (i % 64));
}

/* Map more of the arena so that the top chunk holds at least `need` bytes. */
static int grow(size_t need)
{
	if (!top) top = commit_end = fresh = UNIMIG_HEAP_BASE;
	if (need > HEAP_END - top) return 0;
	uintptr_t want = top + need;
	uintptr_t ne = (want + UNIMIG_HEAP_COMMIT_STEP - 1) & ~(UNIMIG_HEAP_COMMIT_STEP - 1);
	if (ne > HEAP_END) ne = HEAP_END;
	if (ne <= commit_end) return 1;
	long r = unimig_rt_map_fixed(commit_end, ne - commit_end);
	if (r == -EEXIST)
		unimig_rt_fatal_hex("foreign mapping inside the unimig heap arena at ", commit_end);
	if (r < 0) return 0;
	size_t pin = top == commit_end ? PINUSE : (CH(top)->head & PINUSE);
	commit_end = ne;
	CH(top)->head = (commit_end - top) | pin;
	return 1;
}

static void set_top(uintptr_t t)
{
	top = t;
	CH(top)->head = (commit_end - top) | PINUSE;
	if (top + HDR > fresh) fresh = top + HDR;
}

/* A chunk of exactly s bytes (s >= MINCHUNK, multiple of 16), marked in use, or 0.
 * *zeroed tells whether its user memory was never written. */
static chunk *alloc_locked(size_t s, int *zeroed)
{
	unsigned i = bin_index(s);
	chunk *c = 0;
	*zeroed = 0;
	if (i < NSMALL && bins[i]) {
		c = bins[i];
	} else {
		for (i = next_bin(i); i < NBINS && !c; i = next_bin(i + 1))
			for (chunk *k = bins[i]; k; k = k->fd)
				if (csize(k) >= s) {
					c = k;
					break;
				}
	}
	if (c) {
		bin_unlink(c);
		size_t cs = csize(c);
		if (cs - s >= MINCHUNK) {
			c->head = s | PINUSE;
			chunk *r = CH((uintptr_t)c + s);
			r->head = (cs - s) | PINUSE;
			next_chunk(r)->prev_size = cs - s;
			bin_insert(r);
		} else {
			next_chunk(c)->head |= PINUSE;
		}
		return c;
	}
	if (!top || commit_end - top < s + MINCHUNK) {
		if (s > MAX_REQ || !grow(s + MINCHUNK)) return 0;
	}
	c = CH(top);
	*zeroed = top + HDR >= fresh;
	c->head = s | (c->head & PINUSE);
	set_top(top + s);
	return c;
}

static void free_locked(chunk *c)
{
	uintptr_t orig = (uintptr_t)c;
	size_t osz = csize(c), s = osz;
	chunk *n = next_chunk(c);

	if (!(c->head & PINUSE)) {
		size_t ps = c->prev_size;
		c = CH((uintptr_t)c - ps);
		bin_unlink(c);
		s += ps;
	}
	if ((uintptr_t)n == top) {
		set_top((uintptr_t)c);
	} else {
		if (!(next_chunk(n)->head & PINUSE)) {
			bin_unlink(n);
			s += csize(n);
		}
		c->head = s | PINUSE;
		chunk *nn = CH((uintptr_t)c + s);
		nn->prev_size = s;
		nn->head &= ~PINUSE;
		bin_insert(c);
	}
	if (osz >= RELEASE_MIN) {
		uintptr_t lo = rt_page_up(orig + MINCHUNK), hi = rt_page_down(orig + osz);
		if (hi > lo) unimig_rt_discard(lo, hi - lo);
	}
}

/* Give the tail of in-use chunk c beyond s bytes back, if it is big enough to be a chunk. */
static void shrink_locked(chunk *c, size_t s)
{
	size_t cs = csize(c);
	if (cs - s < MINCHUNK) return;
	c->head = s | (c->head & PINUSE);
	chunk *r = CH((uintptr_t)c + s);
	r->head = (cs - s) | PINUSE;
	free_locked(r);
}

static chunk *checked_chunk(void *p, const char *who)
{
	uintptr_t a = (uintptr_t)p;
	chunk *c = CH(a - HDR);
	if ((a & 15) || a < UNIMIG_HEAP_BASE + HDR || a >= top || csize(c) < MINCHUNK ||
	    csize(c) > top - (uintptr_t)c || !(next_chunk(c)->head & PINUSE))
		unimig_rt_fatal_hex(who, a);
	return c;
}

static void *rt_malloc(size_t n)
{
	size_t s = req2size(n);
	int z;
	if (!s) goto nomem;
	unimig_rt_lock(&heap_lock);
	chunk *c = alloc_locked(s, &z);
	unimig_rt_unlock(&heap_lock);
	if (c) return mem_of(c);
nomem:
	errno = ENOMEM;
	return 0;
}

static void rt_free(void *p)
{
	if (!p) return;
	unimig_rt_lock(&heap_lock);
	free_locked(checked_chunk(p, "free(): invalid pointer or double free: "));
	unimig_rt_unlock(&heap_lock);
}

static void *rt_calloc(size_t m, size_t n)
{
	size_t total, s;
	int z;
	if (__builtin_mul_overflow(m, n, &total) || !(s = req2size(total))) {
		errno = ENOMEM;
		return 0;
	}
	unimig_rt_lock(&heap_lock);
	chunk *c = alloc_locked(s, &z);
	unimig_rt_unlock(&heap_lock);
	if (!c) {
		errno = ENOMEM;
		return 0;
	}
	if (!z) memset(mem_of(c), 0, total);
	return mem_of(c);
}

static void *rt_realloc(void *p, size_t n)
{
	if (!p) return rt_malloc(n);
	size_t s = req2size(n);
	if (!s) {
		errno = ENOMEM;
		return 0;
	}
	unimig_rt_lock(&heap_lock);
	chunk *c = checked_chunk(p, "realloc(): invalid pointer: ");
	size_t cs = csize(c);
	if (s <= cs) {
		shrink_locked(c, s);
		unimig_rt_unlock(&heap_lock);
		return p;
	}
	chunk *nx = next_chunk(c);
	if ((uintptr_t)nx == top) {
		if (commit_end - top >= s - cs + MINCHUNK || grow(s - cs + MINCHUNK)) {
			c->head = s | (c->head & PINUSE);
			set_top((uintptr_t)c + s);
			unimig_rt_unlock(&heap_lock);
			return p;
		}
	} else if (!(next_chunk(nx)->head & PINUSE) && cs + csize(nx) >= s) {
		bin_unlink(nx);
		c->head = (cs + csize(nx)) | (c->head & PINUSE);
		next_chunk(c)->head |= PINUSE;
		shrink_locked(c, s);
		unimig_rt_unlock(&heap_lock);
		return p;
	}
	unimig_rt_unlock(&heap_lock);
	void *q = rt_malloc(n);
	if (!q) return 0;
	memcpy(q, p, cs - 8);
	rt_free(p);
	return q;
}

static void *rt_aligned_alloc(size_t al, size_t n)
{
	int z;
	if (al & (al - 1)) {
		errno = EINVAL;
		return 0;
	}
	if (al <= 16) return rt_malloc(n);
	size_t s = req2size(n);
	if (!s || al > MAX_REQ || s + al + MINCHUNK > MAX_REQ) {
		errno = ENOMEM;
		return 0;
	}
	unimig_rt_lock(&heap_lock);
	chunk *c = alloc_locked(s + al + MINCHUNK, &z);
	if (!c) {
		unimig_rt_unlock(&heap_lock);
		errno = ENOMEM;
		return 0;
	}
	uintptr_t m = ((uintptr_t)c + HDR + al - 1) & ~(uintptr_t)(al - 1);
	size_t lead = m - HDR - (uintptr_t)c;
	if (lead && lead < MINCHUNK) {
		m += al;
		lead += al;
	}
	if (lead) {
		chunk *a = CH(m - HDR);
		a->head = (csize(c) - lead) | PINUSE;
		c->head = lead | (c->head & PINUSE);
		free_locked(c);
		c = a;
	}
	shrink_locked(c, s);
	unimig_rt_unlock(&heap_lock);
	return mem_of(c);
}

static int rt_posix_memalign(void **res, size_t al, size_t n)
{
	if (al < sizeof(void *) || (al & (al - 1))) return EINVAL;
	int saved = errno;
	void *p = rt_aligned_alloc(al, n);
	int e = errno;
	errno = saved;
	if (!p) return e;
	*res = p;
	return 0;
}

static size_t rt_usable_size(void *p)
{
	return p ? csize(CH((uintptr_t)p - HDR)) - 8 : 0;
}

void unimig_rt_heap_atfork(int who)
{
	if (who < 0) unimig_rt_lock(&heap_lock);
	else if (who == 0) unimig_rt_unlock(&heap_lock);
	else heap_lock = 0;
}

/* sbrk: musl's only ever fails for a non-zero increment (its brk() always fails), but
 * sbrk(0) reports the kernel's program break, which ASLR moves. Ours reports the heap's
 * high-water mark instead: deterministic, and it grows with use as a break would. */
__attribute__((__weak__)) void *sbrk(intptr_t inc)
{
	if (inc) {
		errno = ENOMEM;
		return (void *)-1;
	}
	uintptr_t f = __atomic_load_n(&fresh, __ATOMIC_RELAXED);
	return (void *)(f ? f : UNIMIG_HEAP_BASE);
}

/* ---- names ---- */
#define WEAK __attribute__((__weak__))
WEAK void *malloc(size_t n) { return rt_malloc(n); }
WEAK void free(void *p) { rt_free(p); }
WEAK void *calloc(size_t m, size_t n) { return rt_calloc(m, n); }
WEAK void *realloc(void *p, size_t n) { return rt_realloc(p, n); }
WEAK void *aligned_alloc(size_t al, size_t n) { return rt_aligned_alloc(al, n); }
WEAK void *memalign(size_t al, size_t n) { return rt_aligned_alloc(al, n); }
WEAK int posix_memalign(void **res, size_t al, size_t n) { return rt_posix_memalign(res, al, n); }
WEAK size_t malloc_usable_size(void *p) { return rt_usable_size(p); }

/* musl's internal allocator entry points (it keeps its own allocations away from a replaced
 * malloc; here they simply are the unimig allocator). */
void *__libc_malloc(size_t n) { return rt_malloc(n); }
void __libc_free(void *p) { rt_free(p); }
void *__libc_calloc(size_t m, size_t n) { return rt_calloc(m, n); }
void *__libc_realloc(void *p, size_t n) { return rt_realloc(p, n); }
/* replaced.lo: only musl's own calloc/aligned_alloc read these; defined so it is never linked */
int __malloc_replaced = 1;
int __aligned_alloc_replaced = 1;
