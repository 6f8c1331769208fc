/*
 * Thread-local storage at fixed addresses, identical on x86-64 and AArch64.
 *
 * This object replaces the whole of musl's src/env/__init_tls.c: it defines every global
 * symbol of that archive member (__init_tls, __init_tp, __copy_tls, __thread_list_lock), so
 * with libunimig_rt.a placed before libc.a the linker resolves every reference to them here and
 * never extracts musl's member: no duplicate definitions, and no dependence on which of
 * musl's members happens to be loaded first (musl's __init_tls is only a weak alias; if its
 * member were extracted first for __copy_tls, a strong __init_tls in a later archive member
 * would never be pulled in).
 *
 * Layout (A = PT_TLS p_align, BA = max(A, 16), S = p_memsz rounded up to A, GAP = max(16, A);
 * mem = start of the libc.tls_size bytes musl hands to __copy_tls):
 *
 *   mem                      dtv[0] = module count, dtv[1] = TLS block address
 *   D = roundup(mem + PRE + S, BA), PRE = 32 + GAP
 *   B = D - S                the TLS block: .tdata image, then zeroed .tbss
 *   D                        struct pthread (musl's thread descriptor), the same on both ISAs
 *   x86-64  (variant II): thread pointer = D. musl's own convention, and the ABI: %fs:0 is the
 *                         descriptor's self pointer, %fs:0x28 its canary, %fs:8 its dtv.
 *   AArch64 (variant I):  thread pointer TP = B - GAP. 16-byte TCB at TP: TP[0] = dtv,
 *                         TP[1] = D (the patched musl's __pthread_self() reads TP+8); TP[-1] =
 *                         dtv (musl's TLSDESC convention, for completeness).
 *
 * These are exactly the thread-pointer offsets lld uses for local-exec TLS on each ISA
 * (x86-64: B + off - roundup(p_memsz, A) from TP; AArch64: TP + GAP + off), so a TLS variable's
 * address is B + (its offset in the segment) on both, and D, hence pthread_self(), &errno and
 * &h_errno, is the same on both. D is 16-byte aligned (musl aligns x86-64's thread pointer too;
 * the AArch64 descriptor's atomics need it); B is then A-aligned, and equals D - S.
 * libc.tls_size = PRE + S + BA-1 + UNIMIG_TCB_RESERVE rounded to 16 depends only on the PT_TLS
 * segment, so it is the same on both ISAs and so are thread stack mappings.
 *
 * Main thread: mem = UNIMIG_TLS_MAIN_BLOCK - PRE, mapped MAP_FIXED_NOREPLACE; its block is at
 * UNIMIG_TLS_MAIN_BLOCK when A >= 16 (else up to 15 bytes later, to align D).
 * Other threads: musl's pthread_create calls __copy_tls on the top of the stack mapping it
 * got from __mmap, which the runtime serves deterministically from UNIMIG_MMAP_BASE (mmap.c),
 * and computes the new thread pointer as new descriptor + (own TP - own descriptor), a
 * constant of the layout (the patched TP_ADJ on AArch64, TP_ADJ(p) = p on x86-64).
 */
#include "rt_internal.h"
#include "musl_private.h"
#include "migrate.h"
#include <elf.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

typedef struct unimig_musl_pthread td_t;
_Static_assert(sizeof(td_t) <= UNIMIG_TCB_RESERVE, "UNIMIG_TCB_RESERVE too small");

/* Link anchor: `ld.lld -u unimig_rt_version` forces this object in. With the runtime archive
 * before libc.a that changes nothing; with it after libc.a (wrong order: musl's TLS set-up,
 * mmap and malloc would silently win) the link fails with duplicate __copy_tls/__init_tp. */
const char unimig_rt_version[] = "unimig-rt 1 (musl " UNIMIG_MUSL_VERSION ")";

/* musl: the thread-list lock, also the CLONE_CHILD_CLEARTID word of every thread. */
volatile int __thread_list_lock;

static struct unimig_musl_tls_module main_tls;
static size_t tls_a;    /* p_align (>= 1) */
static size_t tls_ba;   /* descriptor alignment: max(p_align, 16) */
static size_t tls_gap;  /* AArch64: TLS block offset from the thread pointer, max(16, p_align) */
static td_t *main_td;   /* the main thread's descriptor (same address on both ISAs) */

/* Used only while the real TLS area is being mapped, so that errno (written by musl's
 * syscall() on failure) has somewhere to go. */
static td_t boot_td __attribute__((aligned(64)));
#ifdef __aarch64__
static uintptr_t boot_tcb[2] __attribute__((aligned(16)));
#endif

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }
static uintptr_t round_up(uintptr_t x, size_t a) { return (x + a - 1) & ~(uintptr_t)(a - 1); }

static size_t tls_pre(void)
{
	return 32 + tls_gap;
}

/* The thread pointer of the thread whose descriptor is td. */
static uintptr_t tp_of(td_t *td)
{
#ifdef __x86_64__
	return (uintptr_t)td;
#else
	return (uintptr_t)td - main_tls.size - tls_gap;
#endif
}

void *__copy_tls(unsigned char *mem)
{
	uintptr_t *dtv = (uintptr_t *)round_up((uintptr_t)mem, sizeof(uintptr_t));
	td_t *td = (td_t *)round_up((uintptr_t)mem + tls_pre() + main_tls.size, tls_ba);
	unsigned char *block = (unsigned char *)td - main_tls.size;

	if (__libc.tls_cnt) {
		memcpy(block, main_tls.image, main_tls.len);
		memset(block + main_tls.len, 0, main_tls.size - main_tls.len);
	}
	memset(td, 0, sizeof *td);
	/* A new thread's shadow stack (shadow.c; nothing for the main thread's own TLS). */
	unimig_rt_shadow_thread(block, td);
	dtv[0] = __libc.tls_cnt;
	dtv[1] = (uintptr_t)block;
	td->dtv = dtv;
#ifdef __aarch64__
	/* TCB words; with p_align < 8 the thread pointer is not 8-byte aligned (memcpy: no
	 * misaligned uintptr_t accesses in C; the patched musl's plain ldr copes either way) */
	unsigned char *tcb = (unsigned char *)tp_of(td);
	memcpy(tcb - sizeof dtv, &dtv, sizeof dtv);
	memcpy(tcb, &dtv, sizeof dtv);
	memcpy(tcb + UNIMIG_MUSL_TP_DESC_PTR, &td, sizeof td);
#endif
	return td;
}

int __init_tp(void *p)
{
	td_t *td = p;
	td->self = td;
	int r = __set_thread_area((void *)tp_of(td));
	if (r < 0) return -1;
	if (!r) __libc.can_do_threads = 1;
	td->detach_state = UNIMIG_MUSL_DT_JOINABLE;
	td->tid = (int)unimig_rt_sys(SYS_set_tid_address, (long)&__thread_list_lock, 0, 0, 0, 0);
	td->locale = (locale_t)&__libc.global_locale;
	td->robust_list.head = &td->robust_list.head;
	td->sysinfo = __sysinfo;
	td->next = td->prev = td;
	return 0;
}

void __init_tls(size_t *aux)
{
	unsigned char *p;
	size_t n, base = 0;
	Elf64_Phdr *ph, *tls_ph = 0;

	/* 1. A provisional thread pointer, so that a failing syscall can store errno. */
	boot_td.self = &boot_td;
#ifdef __x86_64__
	void *boot_tp = &boot_td;
#else
	boot_tcb[UNIMIG_MUSL_TP_DESC_PTR / sizeof(uintptr_t)] = (uintptr_t)&boot_td;
	void *boot_tp = boot_tcb;
#endif
	if (__set_thread_area(boot_tp) < 0)
		unimig_rt_fatal("cannot set the thread pointer", 0);

	/* 2. Refuse a musl whose private layout we have not checked. */
	if (strcmp(__libc_version, UNIMIG_MUSL_VERSION))
		unimig_rt_fatal("built for musl " UNIMIG_MUSL_VERSION ", linked with musl ",
			__libc_version);
	if (aux[AT_PAGESZ] != UNIMIG_PAGE_SIZE)
		unimig_rt_fatal_hex("unsupported page size ", aux[AT_PAGESZ]);

	/* 3. Program headers: PT_TLS and PT_GNU_STACK, as musl's static_init_tls does. */
	for (p = (void *)aux[AT_PHDR], n = aux[AT_PHNUM]; n; n--, p += aux[AT_PHENT]) {
		ph = (void *)p;
		if (ph->p_type == PT_PHDR)
			base = aux[AT_PHDR] - ph->p_vaddr;
		if (ph->p_type == PT_TLS)
			tls_ph = ph;
		if (ph->p_type == PT_GNU_STACK && ph->p_memsz > __default_stacksize)
			__default_stacksize = ph->p_memsz < UNIMIG_MUSL_DEFAULT_STACK_MAX ?
				ph->p_memsz : UNIMIG_MUSL_DEFAULT_STACK_MAX;
	}

	tls_a = 1;
	if (tls_ph) {
		tls_a = tls_ph->p_align ? tls_ph->p_align : 1;
		if (tls_a & (tls_a - 1))
			unimig_rt_fatal_hex("PT_TLS alignment is not a power of two: ", tls_a);
		if (tls_a > UNIMIG_TLS_MAX_ALIGN)
			unimig_rt_fatal_hex("PT_TLS alignment too large: ", tls_a);
		if (tls_ph->p_vaddr & (tls_a - 1))
			unimig_rt_fatal_hex("PT_TLS segment misaligned at ", tls_ph->p_vaddr);
		main_tls.image = (void *)(base + tls_ph->p_vaddr);
		main_tls.len = tls_ph->p_filesz;
		main_tls.size = round_up(tls_ph->p_memsz, tls_a);
		main_tls.align = tls_a;
		__libc.tls_cnt = 1;
		__libc.tls_head = &main_tls;
	}
	tls_ba = max_sz(tls_a, 16);
	tls_gap = max_sz(16, tls_a);
#ifdef __x86_64__
	main_tls.offset = main_tls.size;             /* block starts at TP - offset */
#else
	main_tls.offset = tls_gap;                   /* block starts at TP + offset */
#endif
	__libc.tls_align = tls_ba;
	__libc.tls_size = round_up(tls_pre() + main_tls.size + (tls_ba - 1) + UNIMIG_TCB_RESERVE, 16);

	/* 4. The main thread's TLS area, placed so that its block is at UNIMIG_TLS_MAIN_BLOCK. */
	uintptr_t mem = UNIMIG_TLS_MAIN_BLOCK - tls_pre();
	uintptr_t lo = rt_page_down(mem), hi = rt_page_up(mem + __libc.tls_size);
	if (hi - UNIMIG_TLS_BASE > UNIMIG_TLS_SIZE)
		unimig_rt_fatal_hex("TLS segment too large: ", tls_ph ? tls_ph->p_memsz : 0);
	long r = unimig_rt_map_fixed(lo, hi - lo);
	if (r < 0)
		unimig_rt_fatal_hex("cannot map the TLS region (address range taken?) at ", lo);

	td_t *td = __copy_tls((unsigned char *)mem);
	if (td->dtv[1] - UNIMIG_TLS_MAIN_BLOCK >= 16 || (tls_a >= 16 && td->dtv[1] != UNIMIG_TLS_MAIN_BLOCK))
		unimig_rt_fatal("internal error: TLS block misplaced", 0);
	if (__init_tp(td) < 0)
		unimig_rt_fatal("cannot set the thread pointer", 0);
	main_td = td;

	/* 5. Does musl's compiled code agree with our idea of its private structures? */
	const char *bad = unimig_musl_selfcheck(td, (void *)td->dtv[1], aux);
	if (bad)
		unimig_rt_fatal("musl private layout mismatch: ", bad);
	/* 6. The start-up hook the patched __libc_start_main calls next must be ours, not musl's
	 * weak default (this reference also links start.o whenever tls.o is). */
	int (*volatile hook)(unimig_musl_stage2_fn *, int (*)(int, char **, char **), int, char **) =
		__unimig_start_main;
	if (hook != unimig_rt_start_main)
		unimig_rt_fatal("musl's default start-up hook is linked instead of the runtime's", 0);
}

/* After a restore copied the source's TLS area and .bss (restore.c): this file's state and the
 * descriptor are the source's, at the same addresses (the layout depends only on PT_TLS, equal
 * on both ISAs). Per ISA or per process, so redone here: the module offset (TP-relative, per
 * ISA), the AArch64 TCB words (zero when the source was x86-64), the thread id. The thread
 * pointer itself was set by this process's own __init_tls, to the same address. */
void unimig_rt_tls_after_restore(void)
{
	td_t *td = main_td;
#ifdef __x86_64__
	main_tls.offset = main_tls.size;
#else
	main_tls.offset = tls_gap;
	unsigned char *tcb = (unsigned char *)tp_of(td);
	memcpy(tcb - sizeof td->dtv, &td->dtv, sizeof td->dtv);
	memcpy(tcb, &td->dtv, sizeof td->dtv);
	memcpy(tcb + UNIMIG_MUSL_TP_DESC_PTR, &td, sizeof td);
#endif
	td->tid = (int)unimig_rt_raw_syscall(SYS_gettid, 0, 0, 0, 0, 0);
	td->sysinfo = __sysinfo;
}
