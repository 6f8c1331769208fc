/*
 * musl_private.h -- EVERYTHING the unimig runtime knows about musl's private internals.
 *
 * The runtime replaces musl's static TLS set-up (__init_tls and the other symbols of
 * src/env/__init_tls.c), so it must write musl's private thread descriptor (struct pthread,
 * src/internal/pthread_impl.h) and the private global `__libc` (src/internal/libc.h) exactly as
 * musl 1.2.3 lays them out on x86-64 and AArch64. Those layouts are NOT ABI and change between
 * musl releases. They are mirrored here and nowhere else; three checks keep a musl upgrade from
 * silently corrupting memory:
 *   1. compile time: _Static_asserts below pin the 1.2.3 sizes and offsets of the mirror;
 *   2. start-up: __init_tls refuses to run unless __libc_version is "1.2.3";
 *   3. start-up: unimig_musl_selfcheck() asks musl's own compiled code (pthread_self,
 *      __errno_location, __h_errno_location, uselocale, __tls_get_addr) where it thinks the
 *      fields are (self, TP offset/struct size, errno_val, stack, h_errno_val, locale, dtv,
 *      __libc.auxv/page_size/global_locale) and compares with the mirror; any mismatch is
 *      fatal.
 * Other musl internals used (all hidden symbols of libc.a, reachable in a static link):
 *   __set_thread_area, __sysinfo, __default_stacksize, __libc_version, __vm_wait (weak),
 *   __thread_list_lock semantics (clone's CLONE_CHILD_CLEARTID target, see mmap.c).
 */
#ifndef UNIMIG_MUSL_PRIVATE_H
#define UNIMIG_MUSL_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <locale.h>
#include <netdb.h>
#include <pthread.h>
#include <errno.h>

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "unimig runtime: only x86-64 and AArch64 are supported"
#endif

#define UNIMIG_MUSL_VERSION "1.2.3"

/* struct pthread of musl 1.2.3 (src/internal/pthread_impl.h). x86-64 uses TLS variant II
 * (no TLS_ABOVE_TP): dtv and canary in part 1. AArch64 uses variant I (TLS_ABOVE_TP):
 * canary and dtv at the end. Neither defines CANARY_PAD. */
struct unimig_musl_pthread {
	struct unimig_musl_pthread *self;
#ifdef __x86_64__
	uintptr_t *dtv;
#endif
	struct unimig_musl_pthread *prev, *next;
	uintptr_t sysinfo;
#ifdef __x86_64__
	uintptr_t canary;
#endif
	int tid;
	int errno_val;
	volatile int detach_state;
	volatile int cancel;
	volatile unsigned char canceldisable, cancelasync;
	unsigned char tsd_used:1;
	unsigned char dlerror_flag:1;
	unsigned char *map_base;
	size_t map_size;
	void *stack;
	size_t stack_size;
	size_t guard_size;
	void *result;
	void *cancelbuf;
	void **tsd;
	struct {
		volatile void *volatile head;
		long off;
		volatile void *volatile pending;
	} robust_list;
	int h_errno_val;
	volatile int timer_id;
	locale_t locale;
	volatile int killlock[1];
	char *dlerror_buf;
	void *stdio_locks;
#ifdef __aarch64__
	uintptr_t canary;
	uintptr_t *dtv;
#endif
};

/* musl's DT_JOINABLE (enum in pthread_impl.h) */
#define UNIMIG_MUSL_DT_JOINABLE 2
/* DEFAULT_STACK_MAX in pthread_impl.h */
#define UNIMIG_MUSL_DEFAULT_STACK_MAX (8u << 20)

/* struct tls_module and struct __libc (src/internal/libc.h) */
struct unimig_musl_tls_module {
	struct unimig_musl_tls_module *next;
	void *image;
	size_t len, size, align, offset;
};

struct unimig_musl_libc {
	char can_do_threads;
	char threaded;
	char secure;
	volatile signed char need_locks;
	int threads_minus_1;
	size_t *auxv;
	struct unimig_musl_tls_module *tls_head;
	size_t tls_size, tls_align, tls_cnt;
	size_t page_size;
	struct { const void *cat[6]; } global_locale;
};

/* Compile-time pins of the 1.2.3 layout (values computed from musl 1.2.3's headers for LP64). */
_Static_assert(sizeof(struct unimig_musl_pthread) == 200, "musl 1.2.3 struct pthread size");
_Static_assert(offsetof(struct unimig_musl_pthread, self) == 0, "pthread.self");
#ifdef __x86_64__
_Static_assert(offsetof(struct unimig_musl_pthread, dtv) == 8, "pthread.dtv (x86-64 ABI)");
_Static_assert(offsetof(struct unimig_musl_pthread, canary) == 0x28, "pthread.canary (%fs:0x28 ABI)");
_Static_assert(offsetof(struct unimig_musl_pthread, tid) == 48, "pthread.tid");
_Static_assert(offsetof(struct unimig_musl_pthread, locale) == 168, "pthread.locale");
#else
_Static_assert(offsetof(struct unimig_musl_pthread, dtv) == 192, "pthread.dtv (end of struct)");
_Static_assert(offsetof(struct unimig_musl_pthread, canary) == 184, "pthread.canary");
_Static_assert(offsetof(struct unimig_musl_pthread, tid) == 32, "pthread.tid");
_Static_assert(offsetof(struct unimig_musl_pthread, locale) == 152, "pthread.locale");
#endif
_Static_assert(sizeof(struct unimig_musl_libc) == 104, "musl 1.2.3 struct __libc size");
_Static_assert(offsetof(struct unimig_musl_libc, auxv) == 8, "__libc.auxv");
_Static_assert(offsetof(struct unimig_musl_libc, tls_head) == 16, "__libc.tls_head");
_Static_assert(offsetof(struct unimig_musl_libc, page_size) == 48, "__libc.page_size");
_Static_assert(offsetof(struct unimig_musl_libc, global_locale) == 56, "__libc.global_locale");
_Static_assert(sizeof(struct unimig_musl_tls_module) == 48, "struct tls_module");

#define UNIMIG_HIDDEN __attribute__((__visibility__("hidden")))

/* musl private globals and functions (hidden in libc.a; a static link resolves them). */
extern struct unimig_musl_libc __libc UNIMIG_HIDDEN;
extern size_t __sysinfo UNIMIG_HIDDEN;
extern unsigned __default_stacksize UNIMIG_HIDDEN;
extern const char __libc_version[] UNIMIG_HIDDEN;
int __set_thread_area(void *) UNIMIG_HIDDEN;
void *__tls_get_addr(size_t *);

/* The value musl loads into the thread pointer for descriptor td (TP_ADJ). */
static inline void *unimig_musl_tp_adj(struct unimig_musl_pthread *td)
{
#ifdef __x86_64__
	return td;
#else
	return (char *)td + sizeof(struct unimig_musl_pthread);
#endif
}

/* Ask musl's compiled code where it expects the fields we wrote. Returns 0 or a description
 * of the first mismatch. Call with the real thread pointer installed. */
static inline const char *unimig_musl_selfcheck(struct unimig_musl_pthread *td,
	void *tls_block, const size_t *aux)
{
	/* Called through volatile pointers: clang treats these as memory(none) functions and
	 * would otherwise fold the calls or drop the temporary .stack store below. */
	pthread_t (*volatile self_fn)(void) = pthread_self;
	int *(*volatile errno_fn)(void) = __errno_location;
	int *(*volatile herrno_fn)(void) = __h_errno_location;
	size_t i;
	if ((void *)self_fn() != (void *)td)
		return "pthread_self() disagrees (struct pthread size / TP placement)";
	if ((void *)errno_fn() != (void *)&td->errno_val)
		return "__errno_location() disagrees (struct pthread.errno_val)";
	/* musl returns the global h_errno for a thread whose .stack is 0 (the main thread) */
	void *saved_stack = td->stack;
	td->stack = (void *)td;
	int *he = herrno_fn();
	td->stack = saved_stack;
	if ((void *)he != (void *)&td->h_errno_val)
		return "__h_errno_location() disagrees (struct pthread.stack/h_errno_val)";
	if (uselocale(0) != LC_GLOBAL_LOCALE)
		return "uselocale() disagrees (struct pthread.locale / __libc.global_locale)";
	if (__libc.tls_cnt && __tls_get_addr((size_t[]){ 1, 0 }) != tls_block)
		return "__tls_get_addr() disagrees (struct pthread.dtv)";
	if (__libc.page_size != aux[6 /* AT_PAGESZ */])
		return "__libc.page_size disagrees (struct __libc)";
	for (i = 0; __libc.auxv[i] && __libc.auxv[i] != 3 /* AT_PHDR */; i += 2);
	if (__libc.auxv[i] != 3 || __libc.auxv[i + 1] != aux[3])
		return "__libc.auxv disagrees (struct __libc)";
	return 0;
}

#endif
