/*
 * unimig runtime test: prints every address the runtime decides (TLS, thread TLS, heap,
 * mmap) plus checks; the output must be byte-identical on x86-64 and AArch64, natively and
 * under qemu, and across runs with ASLR. Addresses are also checked against the documented
 * regions of unimig_layout.h, so identical-but-wrong fails too. Things that legitimately
 * differ between ISAs (the stack pointer in main: frame layouts differ) go to stderr only.
 * Run it as `env -i A=1 B=2 rt_test ARGS` with the same argv[0] on every run (run-tests.sh
 * does): argv, environ and their strings are printed and must be identical too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <malloc.h>
#include <netdb.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include "unimig_layout.h"

extern char **environ;

static __thread int tls_init = 42;
/* x86-64's ABI aligns arrays of >= 16 bytes to 16, AArch64's does not: without the explicit
 * alignment the two PT_TLS layouts differ (a job for the unimig linker, not the runtime). */
static __thread long tls_arr[4] __attribute__((aligned(16))) = { 1, 2, 3, 4 };
static __thread char tls_zero[100] __attribute__((aligned(16)));
static __thread long tls_zero_l;
static __thread double tls_al64 __attribute__((aligned(64))) = 2.5;

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
	printf("FAIL line %d: %s: ", __LINE__, #cond); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define IN(p, R) UNIMIG_IN_REGION((uintptr_t)(p), UNIMIG_##R##_BASE, UNIMIG_##R##_SIZE)

static void check_tls_values(const char *who)
{
	CHECK(tls_init == 42, "%s tls_init=%d", who, tls_init);
	for (int i = 0; i < 4; i++) CHECK(tls_arr[i] == i + 1, "%s tls_arr[%d]", who, i);
	for (int i = 0; i < 100; i++) CHECK(tls_zero[i] == 0, "%s tls_zero[%d]", who, i);
	CHECK(tls_zero_l == 0, "%s tls_zero_l", who);
	CHECK(tls_al64 == 2.5, "%s tls_al64", who);
	CHECK(((uintptr_t)&tls_al64 & 63) == 0, "%s tls_al64 alignment", who);
}

static void print_tls(const char *who)
{
	printf("%s: &tls_init=%p &tls_arr=%p &tls_zero=%p &tls_zero_l=%p &tls_al64=%p\n", who,
		(void *)&tls_init, (void *)tls_arr, (void *)tls_zero, (void *)&tls_zero_l,
		(void *)&tls_al64);
	/* The thread descriptor, and errno and h_errno inside it, sit right after the TLS block on
	 * both ISAs (unimig_layout.h, "Thread layout"). */
	printf("%s: pthread_self=%p &errno=%p &h_errno=%p\n", who, (void *)pthread_self(),
		(void *)&errno, (void *)&h_errno);
	uintptr_t self = (uintptr_t)pthread_self();
	CHECK((self & 15) == 0, "%s: descriptor misaligned", who);
	CHECK(self >= (uintptr_t)(&tls_al64 + 1) && self >= (uintptr_t)(tls_zero + 100) &&
		self >= (uintptr_t)(&tls_zero_l + 1) && self - (uintptr_t)tls_arr < 4096,
		"%s: descriptor %p not right after the TLS block", who, (void *)self);
	CHECK((uintptr_t)&errno == self + 52, "%s: &errno is not pthread_self() + 52", who);
	CHECK((uintptr_t)&h_errno == self + 160, "%s: &h_errno is not pthread_self() + 160", who);
}

/* musl's canary (set by __init_ssp from AT_RANDOM, copied by pthread_create) lives in the
 * descriptor at +0x28: on x86-64 that is %fs:0x28, where compiled code reads it. */
extern uintptr_t __stack_chk_guard;
static void check_canary(const char *who)
{
	uintptr_t c = *(uintptr_t *)((char *)pthread_self() + 0x28);
	CHECK(c == __stack_chk_guard && c != 0, "%s: descriptor canary %#lx, __stack_chk_guard %#lx",
		who, (unsigned long)c, (unsigned long)__stack_chk_guard);
#ifdef __x86_64__
	uintptr_t fs28;
	__asm__ volatile ("mov %%fs:0x28, %0" : "=r"(fs28));
	CHECK(fs28 == c, "%s: %%fs:0x28 is not the descriptor's canary", who);
#endif
}

/* With -fstack-protector-strong (run-tests.sh), this has a canary: checked on x86-64 through
 * %fs:0x28 (the descriptor's canary field), on AArch64 through __stack_chk_guard. */
static __attribute__((noinline)) int canary_user(const char *s)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%s", s);
	return (int)strlen(buf);
}

static void *thread_main(void *arg)
{
	const char *name = arg;
	/* musl's own stacks come from mmap; a caller-provided one here from malloc */
	int user = !strcmp(name, "thread-userstack");
#define IN_T(p) (user ? IN(p, HEAP) : IN(p, MMAP))
	check_tls_values(name);
	print_tls(name);
	CHECK(IN_T(&tls_init) && IN_T(&tls_zero_l) && IN_T(&tls_al64),
		"%s TLS outside the mmap region", name);
	CHECK(IN_T(pthread_self()) && IN_T(&errno) && IN_T(&h_errno),
		"%s TCB outside the mmap region", name);
	int local;
	CHECK(IN_T(&local), "%s stack outside the mmap region", name);
	CHECK(canary_user(name) == (int)strlen(name), "canary_user in %s", name);
	check_canary(name);
	tls_init = 7;
	tls_zero_l = 99;
	void *p = malloc(100);
	CHECK(IN(p, HEAP), "thread malloc");
	free(p);
	return 0;
}

static volatile int detached_done;
static void *detached_main(void *arg)
{
	(void)arg;
	tls_zero_l = 5;
	__atomic_fetch_add(&detached_done, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* Pattern positions: the first and last 64 bytes and every 4096th byte in between. */
static size_t nextpos(size_t i, size_t n)
{
	if (i + 1 < 64 || i + 1 + 64 >= n) return i + 1;
	size_t m = (i / 4096 + 1) * 4096;
	return m < n - 64 ? m : n - 64;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i = nextpos(i, n)) p[i] = (unsigned char)(seed + i * 31);
}

/* check the pattern fill(p, n, seed) wrote, below `keep` only */
static int verify_prefix(const unsigned char *p, size_t n, size_t keep, unsigned seed)
{
	for (size_t i = 0; i < n && i < keep; i = nextpos(i, n))
		if (p[i] != (unsigned char)(seed + i * 31)) return 0;
	return 1;
}

static int verify(const unsigned char *p, size_t n, unsigned seed)
{
	return verify_prefix(p, n, n, seed);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define NSLOT 2048
static struct { unsigned char *p; size_t n; unsigned seed; } slot[NSLOT];

static uint64_t fnv(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) { h ^= (v >> (8 * i)) & 255; h *= 0x100000001b3ull; }
	return h;
}

static size_t rand_size(void)
{
	uint64_t r = rnd() % 1000;
	if (r < 700) return rnd() % 256;
	if (r < 950) return rnd() % 8192;
	if (r < 998) return rnd() % (256 << 10);
	return rnd() % (6 << 20);
}

static void stress(int iters)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uintptr_t maxend = 0;
	for (int it = 0; it < iters; it++) {
		int i = (int)(rnd() % NSLOT);
		if (slot[i].p) {
			if (!verify(slot[i].p, slot[i].n, slot[i].seed)) {
				CHECK(0, "stress: corrupted block %p size %zu (iter %d)", (void *)slot[i].p, slot[i].n, it);
				return;
			}
			if (rnd() % 4 == 0) {
				size_t n = rand_size();
				unsigned char *q = realloc(slot[i].p, n);
				CHECK(q || !n, "stress realloc failed");
				size_t keep = n < slot[i].n ? n : slot[i].n;
				if (!verify_prefix(q, slot[i].n, keep, slot[i].seed)) CHECK(0, "stress: realloc lost data");
				slot[i].p = q;
				slot[i].n = n;
				slot[i].seed = (unsigned)rnd();
				fill(q, n, slot[i].seed);
				h = fnv(h, (uintptr_t)q);
			} else {
				free(slot[i].p);
				slot[i].p = 0;
			}
		} else {
			size_t n = rand_size();
			unsigned char *p;
			uint64_t kind = rnd() % 10;
			if (kind == 0) {
				p = calloc(1, n);
				for (size_t k = 0; k < n; k += 97)
					if (p[k]) { CHECK(0, "stress: calloc not zero"); break; }
			} else if (kind == 1) {
				size_t al = (size_t)16 << (rnd() % 9);
				p = aligned_alloc(al, n);
				CHECK(((uintptr_t)p & (al - 1)) == 0, "stress: aligned_alloc(%zu)", al);
			} else {
				p = malloc(n);
			}
			CHECK(p != 0, "stress: allocation of %zu failed", n);
			CHECK(((uintptr_t)p & 15) == 0, "stress: misaligned %p", (void *)p);
			CHECK(IN(p, HEAP), "stress: %p outside heap", (void *)p);
			CHECK(malloc_usable_size(p) >= n, "stress: usable size");
			slot[i].p = p;
			slot[i].n = n;
			slot[i].seed = (unsigned)rnd();
			fill(p, n, slot[i].seed);
			h = fnv(h, (uintptr_t)p);
			if ((uintptr_t)p + n > maxend) maxend = (uintptr_t)p + n;
		}
	}
	for (int i = 0; i < NSLOT; i++) {
		if (slot[i].p && !verify(slot[i].p, slot[i].n, slot[i].seed))
			CHECK(0, "stress: final verify");
		free(slot[i].p);
		slot[i].p = 0;
	}
	printf("stress: %d ops, address hash %016llx, highest end %p\n", iters,
		(unsigned long long)h, (void *)maxend);
}

/* two threads hammering the allocator at once (addresses depend on scheduling: not printed) */
static void *mt_stress(void *arg)
{
	uint64_t x = (uintptr_t)arg;
	void *mine[256] = { 0 };
	for (int it = 0; it < 40000; it++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		int i = (int)(x % 256);
		if (mine[i]) {
			if (*(uint64_t *)mine[i] != (uintptr_t)mine[i] * 3) {
				CHECK(0, "mt stress corrupted");
				return 0;
			}
			free(mine[i]);
			mine[i] = 0;
		} else {
			size_t n = 8 + x % 2000;
			mine[i] = malloc(n);
			*(uint64_t *)mine[i] = (uintptr_t)mine[i] * 3;
		}
	}
	for (int i = 0; i < 256; i++) free(mine[i]);
	return 0;
}

static void noop(void) {}

/* argv, environ, auxv strings: fixed addresses, kernel-like layout (unimig_layout.h). */
static __attribute__((noinline)) void check_args(int argc, char **argv, char **envp)
{
	size_t envc = 0;
	while (environ[envc]) envc++;
	printf("argc=%d argv=%p environ=%p envp=%p\n", argc, (void *)argv, (void *)environ,
		(void *)envp);
	CHECK((uintptr_t)argv == UNIMIG_MAIN_ARGS + sizeof(long), "argv at %p", (void *)argv);
	CHECK(*((long *)argv - 1) == argc, "argc word before argv");
	CHECK(environ == argv + argc + 1 && envp == environ, "environ follows argv");
	CHECK(argv[argc] == 0, "argv[argc] == NULL");
	char *expect = (char *)(environ + envc + 1) + 2 * sizeof(size_t) * UNIMIG_MAIN_AUXV_SLOTS;
	CHECK(argc == 0 || argv[0] == expect, "argv[0] right after the fixed-size auxv");
	for (int i = 0; i < argc; i++) {
		printf("argv[%d]=%p \"%s\"\n", i, (void *)argv[i], argv[i]);
		CHECK(IN(argv[i], MSTACK) && argv[i] == expect, "argv[%d] contiguous", i);
		expect = argv[i] + strlen(argv[i]) + 1;
	}
	for (size_t i = 0; i < envc; i++) {
		printf("environ[%zu]=%p \"%s\"\n", i, (void *)environ[i], environ[i]);
		CHECK(IN(environ[i], MSTACK) && environ[i] == expect, "environ[%zu] contiguous", i);
		expect = environ[i] + strlen(environ[i]) + 1;
	}
	CHECK(!strcmp(getenv("A") ? getenv("A") : "", "1"), "getenv(A)");
	/* auxv: the array follows environ; AT_RANDOM's bytes come first after the strings */
	size_t *auxv = (size_t *)(environ + envc + 1);
	void *rnd16 = (void *)getauxval(AT_RANDOM);
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	printf("AT_RANDOM=%p AT_EXECFN=%p\n", rnd16, (void *)execfn);
	CHECK(rnd16 == (void *)(((uintptr_t)expect + 15) & ~(uintptr_t)15), "AT_RANDOM after the strings");
	CHECK(execfn == (char *)rnd16 + 16, "AT_EXECFN after AT_RANDOM");
	int seen_phdr = 0;
	for (size_t i = 0; auxv[i]; i += 2) if (auxv[i] == AT_PHDR) seen_phdr = 1;
	CHECK(seen_phdr && getauxval(AT_PHDR) != 0, "auxv copied");
	extern char *__progname, *__progname_full;
	CHECK(argc == 0 || __progname_full == argv[0], "__progname_full moved");
	CHECK(IN(__progname, MSTACK), "__progname moved");
	printf("__progname=\"%s\" at argv[0]+%ld\n", __progname, argc ? (long)(__progname - argv[0]) : -1L);
}

static __attribute__((noinline)) void check_main_stack(void *local)
{
	struct rlimit rl;
	size_t want = UNIMIG_MAIN_STACK_DEFAULT;
	if (getrlimit(RLIMIT_STACK, &rl) == 0)
		want = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= UNIMIG_MAIN_STACK_MAX ?
			UNIMIG_MAIN_STACK_MAX : rl.rlim_cur < UNIMIG_MAIN_STACK_MIN ?
			UNIMIG_MAIN_STACK_MIN : (rl.rlim_cur + 4095) & ~(size_t)4095;
	fprintf(stderr, "(not compared) &local in main %p\n", local);
	CHECK((uintptr_t)local < UNIMIG_MAIN_STACK_TOP && (uintptr_t)local >= UNIMIG_MAIN_STACK_TOP - 4096,
		"local in main %p not at the top of the main stack", local);
	pthread_attr_t at;
	void *addr;
	size_t size, guard;
	CHECK(pthread_getattr_np(pthread_self(), &at) == 0, "pthread_getattr_np");
	pthread_attr_getstack(&at, &addr, &size);
	pthread_attr_getguardsize(&at, &guard);
	printf("main stack: [%p, %p) guard %#zx (size %s)\n", addr, (void *)((char *)addr + size),
		guard, size == want ? "= RLIMIT_STACK, clamped" : "WRONG");
	CHECK((uintptr_t)addr + size == UNIMIG_MAIN_STACK_TOP && size == want, "main stack size %#zx", size);
	/* deep recursion well inside the stack works */
	volatile char big[256 << 10];
	big[0] = 1;
	big[sizeof big - 1] = 2;
	CHECK(big[0] + big[sizeof big - 1] == 3 && IN(big, MSTACK), "256 KiB local");
}

int main(int argc, char **argv, char **envp)
{
	int local;
	printf("layout: tls main block %#lx, mmap %#lx, heap %#lx, main stack top %#lx\n",
		UNIMIG_TLS_MAIN_BLOCK, UNIMIG_MMAP_BASE, UNIMIG_HEAP_BASE, UNIMIG_MAIN_STACK_TOP);
	check_args(argc, argv, envp);
	check_main_stack(&local);
	CHECK(canary_user("main") == 4, "canary_user in main");
	check_canary("main");

	/* --- TLS, main thread --- */
	check_tls_values("main");
	print_tls("main");
	CHECK(IN(&tls_init, TLS) && IN(tls_arr, TLS) && IN(tls_zero, TLS) && IN(&tls_zero_l, TLS)
		&& IN(&tls_al64, TLS), "main TLS outside the TLS region");
	CHECK(IN(pthread_self(), TLS) && IN(&errno, TLS) && IN(&h_errno, TLS),
		"main TCB outside the TLS region");
	uintptr_t lo = (uintptr_t)&tls_init;
	if ((uintptr_t)tls_arr < lo) lo = (uintptr_t)tls_arr;
	if ((uintptr_t)&tls_al64 < lo) lo = (uintptr_t)&tls_al64;
	CHECK(lo >= UNIMIG_TLS_MAIN_BLOCK && lo < UNIMIG_TLS_MAIN_BLOCK + 64,
		"lowest .tdata variable at %#lx, block at %#lx", (unsigned long)lo, UNIMIG_TLS_MAIN_BLOCK);
	tls_init = 1000;

	/* --- TLS, other threads (joinable: stacks are reused deterministically) --- */
	for (int k = 0; k < 2; k++) {
		pthread_t t;
		char name[16];
		snprintf(name, sizeof name, "thread%d", k);
		CHECK(pthread_create(&t, 0, thread_main, name) == 0, "pthread_create");
		pthread_join(t, 0);
	}
	/* a thread on a caller-provided stack (musl puts its TLS and descriptor at the top of it:
	 * another alignment of __copy_tls's area) */
	{
		pthread_t t;
		pthread_attr_t sa;
		size_t ssz = 256 << 10;
		char *stk = aligned_alloc(4096, ssz);
		pthread_attr_init(&sa);
		pthread_attr_setstack(&sa, stk + 16, ssz - 16 - 4096 - 48); /* top 16- not 64-aligned */
		CHECK(pthread_create(&t, &sa, thread_main, "thread-userstack") == 0, "pthread_create user stack");
		pthread_join(t, 0);
		CHECK((uintptr_t)t > (uintptr_t)stk && (uintptr_t)t < (uintptr_t)stk + ssz, "user-stack descriptor");
		free(stk);
	}
	CHECK(tls_init == 1000 && tls_zero_l == 0, "main TLS changed by another thread");
	tls_init = 42;

	/* --- heap --- */
	size_t sizes[] = { 24, 4096, 8u << 20, 256u << 20 };
	void *blk[4];
	for (int i = 0; i < 4; i++) {
		blk[i] = malloc(sizes[i]);
		printf("malloc(%zu) = %p usable %zu\n", sizes[i], blk[i], malloc_usable_size(blk[i]));
		CHECK(blk[i] && IN(blk[i], HEAP) && ((uintptr_t)blk[i] & 15) == 0, "malloc(%zu)", sizes[i]);
		CHECK(malloc_usable_size(blk[i]) >= sizes[i], "usable size");
		fill(blk[i], sizes[i], (unsigned)i);
	}
	for (int i = 0; i < 4; i++) CHECK(verify(blk[i], sizes[i], (unsigned)i), "block %d", i);
	void *big2 = malloc((size_t)300 << 20);
	printf("malloc(300 MiB) = %p\n", big2);
	CHECK(big2 && IN(big2, HEAP), "300 MiB");
	memset(big2, 0x5a, (size_t)300 << 20);
	free(big2);
	for (int i = 3; i >= 0; i--) free(blk[i]);
	void *again = malloc(24);
	printf("malloc(24) after free = %p (reuse: %s)\n", again, again == blk[0] ? "yes" : "no");
	free(again);

	/* realloc growth, content preserved */
	unsigned char *r = malloc(16);
	fill(r, 16, 9);
	size_t cur = 16;
	for (size_t n = 32; n <= ((size_t)64 << 20); n *= 4) {
		unsigned char *q = realloc(r, n);
		CHECK(q && verify(q, cur, 9), "realloc to %zu", n);
		printf("realloc(%zu) = %p%s\n", n, (void *)q, q == r ? " (in place)" : "");
		r = q;
		fill(r, n, 9);
		cur = n;
	}
	r = realloc(r, 100);
	CHECK(r && verify_prefix(r, cur, 100, 9), "realloc shrink");
	printf("realloc shrink = %p\n", (void *)r);
	free(r);

	/* calloc zeroing, on recycled dirty memory and on fresh memory */
	unsigned char *d = malloc(8000);
	memset(d, 0xff, 8000);
	free(d);
	unsigned char *c = calloc(1000, 8);
	printf("calloc(1000, 8) = %p (recycled: %s)\n", (void *)c, c == d ? "yes" : "no");
	for (int i = 0; i < 8000; i++) if (c[i]) { CHECK(0, "calloc byte %d", i); break; }
	free(c);
	c = calloc(16, 4u << 20);
	printf("calloc(16, 4 MiB) = %p\n", (void *)c);
	for (size_t i = 0; i < (64u << 20); i += 4093) if (c[i]) { CHECK(0, "big calloc"); break; }
	free(c);
	volatile size_t huge = (size_t)1 << 40;
	void *volatile ov = calloc(huge, huge);
	CHECK(ov == 0 && errno == ENOMEM, "calloc overflow");
	ov = malloc(huge * 4);
	CHECK(ov == 0 && errno == ENOMEM, "malloc(4 TiB)");

	/* aligned allocation */
	size_t als[] = { 32, 64, 4096, 1 << 20 };
	for (int i = 0; i < 4; i++) {
		void *a = aligned_alloc(als[i], 1000);
		printf("aligned_alloc(%zu, 1000) = %p\n", als[i], a);
		CHECK(a && ((uintptr_t)a & (als[i] - 1)) == 0 && IN(a, HEAP), "aligned_alloc");
		free(a);
	}
	void *pm = 0;
	CHECK(posix_memalign(&pm, 256, 77) == 0 && ((uintptr_t)pm & 255) == 0, "posix_memalign");
	CHECK(posix_memalign(&pm, 24, 77) == EINVAL, "posix_memalign EINVAL");
	void *ma = memalign(128, 5);
	printf("posix_memalign(256) = %p memalign(128) = %p\n", pm, ma);
	free(pm);
	free(ma);
	volatile size_t al48 = 48;
	void *volatile a48 = aligned_alloc(al48, 10);
	CHECK(a48 == 0 && errno == EINVAL, "aligned_alloc EINVAL");

	/* musl-internal allocations (atexit with > 32 handlers uses __libc_calloc) */
	for (int i = 0; i < 40; i++) atexit(noop);
	char *sd = strdup("unimig");
	printf("strdup = %p\n", (void *)sd);
	CHECK(IN(sd, HEAP), "strdup");
	free(sd);

	/* --- mmap --- */
	char *m1 = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *m2 = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("mmap(4 KiB) = %p mmap(1 MiB) = %p\n", (void *)m1, (void *)m2);
	CHECK(m1 != MAP_FAILED && IN(m1, MMAP) && m2 != MAP_FAILED && IN(m2, MMAP), "mmap anon");
	m1[0] = 1;
	m2[(1 << 20) - 1] = 2;
	CHECK(munmap(m1, 4096) == 0, "munmap");
	char *m3 = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("mmap after munmap = %p (reuse: %s)\n", (void *)m3, m3 == m1 ? "yes" : "no");
	CHECK(m3 == m1, "first fit reuse");
	char *m4 = mremap(m2, 1 << 20, 4 << 20, MREMAP_MAYMOVE);
	printf("mremap(1 MiB -> 4 MiB) = %p%s\n", (void *)m4, m4 == m2 ? " (in place)" : "");
	CHECK(m4 != MAP_FAILED && IN(m4, MMAP) && m4[(1 << 20) - 1] == 2, "mremap grow");
	char *blocker = mmap(m4 + (4 << 20), 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(blocker == m4 + (4 << 20), "hint honoured in region");
	char *m5 = mremap(m4, 4 << 20, 8 << 20, MREMAP_MAYMOVE);
	printf("mremap(4 MiB -> 8 MiB) with a blocker = %p%s\n", (void *)m5, m5 == m4 ? " (in place)" : " (moved)");
	CHECK(m5 != MAP_FAILED && IN(m5, MMAP) && m5 != m4 && m5[(1 << 20) - 1] == 2, "mremap move");
	CHECK(mremap(m5, 8 << 20, 16 << 20, 0) == m5, "mremap grow in place without MAYMOVE");
	munmap(m5, 16 << 20);
	munmap(blocker, 4096);
	munmap(m3, 4096);
	int fd = open((const char *)getauxval(AT_EXECFN), O_RDONLY);
	char *fm = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	printf("file mmap = %p first bytes %02x %02x %02x %02x\n", (void *)fm,
		(unsigned char)fm[0], (unsigned char)fm[1], (unsigned char)fm[2], (unsigned char)fm[3]);
	CHECK(fm != MAP_FAILED && IN(fm, MMAP) && !memcmp(fm, "\177ELF", 4), "file mmap");
	munmap(fm, 4096);
	close(fd);
	char *fx = mmap((void *)0x300000000000ul, 4096, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	printf("MAP_FIXED_NOREPLACE outside the region = %p\n", (void *)fx);
	munmap(fx, 4096);
	printf("sbrk(0) = %p\n", sbrk(0));
	CHECK(IN(sbrk(0), HEAP), "sbrk(0)");
	CHECK(sbrk(4096) == (void *)-1 && errno == ENOMEM, "sbrk(4096) fails");

	/* --- deterministic stress --- */
	stress(60000);

	/* --- nondeterministic scheduling: check only --- */
	pthread_t a, b;
	pthread_create(&a, 0, mt_stress, (void *)0x1234567ul);
	pthread_create(&b, 0, mt_stress, (void *)0x7654321ul);
	pthread_join(a, 0);
	pthread_join(b, 0);
	/* detached threads: their stacks must be recycled, not leaked */
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	uintptr_t highest = 0;
	for (int i = 0; i < 150; i++) {
		pthread_t t;
		CHECK(pthread_create(&t, &at, detached_main, 0) == 0, "detached create");
		while (__atomic_load_n(&detached_done, __ATOMIC_SEQ_CST) != i + 1)
			sched_yield();
		nanosleep(&(struct timespec){ 0, 2000000 }, 0);
		if ((uintptr_t)t > highest) highest = (uintptr_t)t;
	}
	CHECK(highest < UNIMIG_MMAP_BASE + (64u << 20), "detached thread stacks leak: %#lx",
		(unsigned long)highest);
	pid_t pid = fork();
	if (!pid) {
		void *p = malloc(1000);
		_exit(p && IN(p, HEAP) ? 0 : 3);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork child");
	printf("threads, detached threads, fork: done\n");

	printf("RESULT: %s (%d failures)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
