/*
 * musl_private.h -- EVERYTHING the unimig runtime knows about musl's private internals.
 *
 * The runtime replaces musl's static TLS set-up (__init_tls and the other symbols of
 * src/env/__init_tls.c), so it must write musl's private thread descriptor (struct pthread,
 * src/internal/pthread_impl.h) and the private global `__libc` (src/internal/libc.h) exactly as
 * musl 1.2.3, patched by sysroots/musl-patches, lays them out on x86-64 and AArch64. Those
 * layouts are NOT ABI and change between musl releases. They are mirrored here and nowhere
 * else; four checks keep a musl upgrade (or an unpatched musl) from silently corrupting memory:
 *   0. link time: the runtime refers to __unimig_musl_patch, defined only by the patched musl
 *      (whose src/env/__unimig_musl.c also pins the struct pthread offsets at build time);
 *   1. compile time: _Static_asserts below pin the 1.2.3 sizes and offsets of the mirror;
 *   2. start-up: __init_tls refuses to run unless __libc_version is "1.2.3";
 *   3. start-up: unimig_musl_selfcheck() asks musl's own compiled code (pthread_self,
 *      __errno_location, __h_errno_location, uselocale, __tls_get_addr) where it thinks the
 *      fields are (self, TP offset/struct size, errno_val, stack, h_errno_val, locale, dtv,
 *      __libc.auxv/page_size/global_locale) and compares with the mirror; any mismatch is
 *      fatal.
 * Other musl internals used (all hidden symbols of libc.a, reachable in a static link):
 *   __set_thread_area, __sysinfo, __default_stacksize, __libc_version, __vm_wait (weak),
 *   __thread_list_lock semantics (clone's CLONE_CHILD_CLEARTID target, see mmap.c),
 *   __progname, __progname_full, __environ (moved by start.c), the patched
 *   __libc_start_main's call of __unimig_start_main.
 */
#ifndef UNIMIG_MUSL_PRIVATE_H
#define UNIMIG_MUSL_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <locale.h>
#include <netdb.h>
#include <pthread.h>
#include <errno.h>
#include <string.h>

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "unimig runtime: only x86-64 and AArch64 are supported"
#endif

#define UNIMIG_MUSL_VERSION "1.2.3"

/* struct pthread of musl 1.2.3 (src/internal/pthread_impl.h) as patched for unimig
 * (sysroots/musl-patches/0001-unimig-thread-descriptor.patch): the x86-64 (TLS variant II) field
 * order on BOTH ISAs, dtv and canary in part 1, so that every field is at the same offset. On
 * AArch64 the patched musl finds it through the word at thread pointer + 8 (TP_DESC_PTR). */
struct unimig_musl_pthread {
	struct unimig_musl_pthread *self;
	uintptr_t *dtv;
	struct unimig_musl_pthread *prev, *next;
	uintptr_t sysinfo;
	uintptr_t canary;
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
};

/* The patched AArch64 musl's TP_DESC_PTR: byte offset from the thread pointer of the word that
 * points to the descriptor. */
#define UNIMIG_MUSL_TP_DESC_PTR 8

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

/* Compile-time pins of the patched 1.2.3 layout (LP64; the patch's src/env/__unimig_musl.c pins
 * the same offsets in musl's own build). */
_Static_assert(sizeof(struct unimig_musl_pthread) == 200, "musl 1.2.3 struct pthread size");
_Static_assert(offsetof(struct unimig_musl_pthread, self) == 0, "pthread.self (%fs:0 ABI)");
_Static_assert(offsetof(struct unimig_musl_pthread, dtv) == 8, "pthread.dtv (%fs:8)");
_Static_assert(offsetof(struct unimig_musl_pthread, canary) == 0x28, "pthread.canary (%fs:0x28 ABI)");
_Static_assert(offsetof(struct unimig_musl_pthread, tid) == 48, "pthread.tid");
_Static_assert(offsetof(struct unimig_musl_pthread, errno_val) == 52, "pthread.errno_val");
_Static_assert(offsetof(struct unimig_musl_pthread, stack) == 88, "pthread.stack");
_Static_assert(offsetof(struct unimig_musl_pthread, h_errno_val) == 160, "pthread.h_errno_val");
_Static_assert(offsetof(struct unimig_musl_pthread, locale) == 168, "pthread.locale");
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
/* per machine (AT_HWCAP); restore.c keeps the destination's */
extern size_t __hwcap UNIMIG_HIDDEN;
/* musl's signal return trampoline (src/signal/<arch>/restore.s), the sa_restorer it installs */
void __restore_rt(void) UNIMIG_HIDDEN;
extern unsigned __default_stacksize UNIMIG_HIDDEN;
extern const char __libc_version[] UNIMIG_HIDDEN;
int __set_thread_area(void *) UNIMIG_HIDDEN;
void *__tls_get_addr(size_t *);
/* Defined only by a musl carrying sysroots/musl-patches (src/env/__unimig_musl.c): referring
 * to it makes linking the runtime with an unpatched libc.a fail. */
extern const char __unimig_musl_patch[] UNIMIG_HIDDEN;
#define UNIMIG_MUSL_PATCH "unimig-musl 1"
/* Set by musl's __init_libc (src/env/__libc_start_main.c, src/internal/libc.c) to point into
 * the kernel's initial stack; the runtime's start-up moves them (start.c). */
extern char *__progname, *__progname_full;
extern char **__environ;
/* The start-up hook the patched __libc_start_main calls (0002-unimig-start-hook.patch):
 * stage2 is musl's libc_start_main_stage2 (constructors, then exit(main(argc, argv, envp)),
 * with envp = argv + argc + 1). musl defines a weak default (stage2 directly); start.c's strong
 * definition replaces it, and tls.o refers to start.o (unimig_rt_start_main) so that start.o is
 * always linked: an archive member is not extracted to override a weak definition. */
typedef int unimig_musl_stage2_fn(int (*)(int, char **, char **), int, char **);
_Noreturn int __unimig_start_main(unimig_musl_stage2_fn *stage2,
	int (*main)(int, char **, char **), int argc, char **argv) UNIMIG_HIDDEN;

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
	if (strcmp(__unimig_musl_patch, UNIMIG_MUSL_PATCH))
		return "libc.a carries another version of the unimig musl patches";
	if (__libc.page_size != aux[6 /* AT_PAGESZ */])
		return "__libc.page_size disagrees (struct __libc)";
	for (i = 0; __libc.auxv[i] && __libc.auxv[i] != 3 /* AT_PHDR */; i += 2);
	if (__libc.auxv[i] != 3 || __libc.auxv[i + 1] != aux[3])
		return "__libc.auxv disagrees (struct __libc)";
	return 0;
}

#endif
