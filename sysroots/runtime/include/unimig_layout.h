/*
 * unimig_layout.h -- the fixed address map of every unimig image.
 *
 * Every address a program can observe must be identical on x86-64 and AArch64, so the runtime
 * never lets the kernel, qemu or ASLR choose where thread-local storage, heap memory or
 * mmap'd memory lives. Everything sits in one window at 32 TiB:
 *
 *   0x2000_0000_0000 +1 GiB    CTL     runtime control data (mmap-region extent table, ...)
 *   0x2000_4000_0000 +1 GiB    TLS     main thread: TLS block + thread descriptor
 *                                      (the main thread's TLS block starts at
 *                                       UNIMIG_TLS_MAIN_BLOCK = 0x2000_4010_0000)
 *   0x2010_0000_0000 +64 GiB   MSTACK  machine stacks: the main thread's stack, with argv,
 *                                      envp and auxv right above it (first 4 GiB)
 *   0x2020_0000_0000 +64 GiB   SSTACK  shadow stacks: 64 MiB per thread, slot 0 the main thread's
 *   0x2100_0000_0000 +1 TiB    MMAP    mmap() without MAP_FIXED, thread stacks + thread TLS
 *   0x2200_0000_0000 +1 TiB    HEAP    malloc arena
 *   0x2300_0000_0000           end of the unimig window
 *
 * Why there: a static non-PIE image is loaded at ~0x200000 (its brk just above); natively the
 * kernel's mmap base and stack are at 0x7exx..0x7fff_xxxx_xxxx; under qemu-aarch64 (7.2, on an
 * x86-64 host) the guest's own kernel-chosen mappings start at 0x55_0000_0000 and grow up, and
 * the qemu host process lives at 0x55xx_xxxx_xxxx-0x56xx_xxxx_xxxx (PIE) and 0x7fxx_...
 * 32-35 TiB is far from all of them, below the 47-bit user limit on both.
 *
 * Nothing is reserved up front: qemu-user 7.2 spends ~6.5 ms and ~6 MB of host memory per GiB
 * of guest mapping (even PROT_NONE), so the runtime maps each piece with MAP_FIXED_NOREPLACE
 * when it is first needed (heap in UNIMIG_HEAP_COMMIT_STEP pieces, mmap region per request,
 * TLS at start-up) and fails loudly if anything else already occupies it.
 *
 * The runtime assumes 4 KiB pages (checked at start-up against AT_PAGESZ).
 */
#ifndef UNIMIG_LAYOUT_H
#define UNIMIG_LAYOUT_H

#define UNIMIG_PAGE_SIZE        0x1000UL

#define UNIMIG_AREA_BASE        0x200000000000UL
#define UNIMIG_AREA_END         0x230000000000UL

#define UNIMIG_CTL_BASE         0x200000000000UL
#define UNIMIG_CTL_SIZE         0x000040000000UL
/* mmap-region free-extent table (16 bytes per extent), committed 64 KiB at a time */
#define UNIMIG_CTL_MMAP_TABLE   UNIMIG_CTL_BASE
#define UNIMIG_CTL_MMAP_TABLE_SIZE 0x10000000UL

#define UNIMIG_TLS_BASE         0x200040000000UL
#define UNIMIG_TLS_SIZE         0x000040000000UL
/* Address of the main thread's TLS block (first byte of .tdata), the same on both ISAs. If the
 * PT_TLS alignment is below 16, the block starts up to 15 bytes later, so that the thread
 * descriptor right after it is 16-byte aligned (see "Thread layout" below). */
#define UNIMIG_TLS_MAIN_BLOCK   (UNIMIG_TLS_BASE + 0x100000UL)
/* Largest PT_TLS alignment the runtime accepts. */
#define UNIMIG_TLS_MAX_ALIGN    0x10000UL
/* Bytes reserved per thread for musl's struct pthread (200 in musl 1.2.3 on both ISAs). */
#define UNIMIG_TCB_RESERVE      256UL

/*
 * Thread layout (every thread, both ISAs; A = PT_TLS p_align, S = p_memsz rounded up to A):
 *
 *   B        TLS block (.tdata image, then zeroed .tbss); a TLS variable is at B + its offset
 *   B + S    struct pthread (musl's thread descriptor, x86-64 field order on both ISAs), 16-byte
 *            aligned: pthread_self(), &errno (= pthread_self() + 52), &h_errno are identical
 *   x86-64   thread pointer = B + S = the descriptor: %fs:0 self pointer, %fs:8 dtv,
 *            %fs:0x28 stack-protector canary (the ABI compilers rely on)
 *   AArch64  thread pointer = B - max(16, A): TCB {TP+0: dtv, TP+8: descriptor pointer}
 *            (musl is patched to find its descriptor through TP+8), and TP-8: dtv (musl's
 *            TLSDESC convention)
 */

#define UNIMIG_MSTACK_BASE      0x201000000000UL
#define UNIMIG_MSTACK_SIZE      0x001000000000UL

/*
 * The main thread's machine stack and its arguments: the first 4 GiB of MSTACK.
 *
 *   UNIMIG_MAIN_ARGS (= the top of the main stack), identical on both ISAs and in every run:
 *     long argc;
 *     char *argv[argc + 1];          argv == UNIMIG_MAIN_ARGS + 8
 *     char *envp[envc + 1];          environ == argv + argc + 1
 *     size_t auxv[2 * UNIMIG_MAIN_AUXV_SLOTS];   copied auxv, AT_NULL-terminated, zero-padded
 *     the argv strings, then the environment strings (contiguous, in order, as the kernel
 *     lays them out), then the auxv data (AT_RANDOM bytes, AT_EXECFN, AT_PLATFORM strings)
 *   So argv, environ and (for the same argument and environment strings) every argv[i] and
 *   environ[i] are at the same address on both ISAs.
 *
 *   [TOP - size, TOP)                 the main stack: main, constructors, atexit handlers
 *   [TOP - size - guard, TOP - size)  PROT_NONE guard
 *   size = RLIMIT_STACK's soft limit at start-up, rounded up to pages and clamped to
 *   [UNIMIG_MAIN_STACK_MIN, UNIMIG_MAIN_STACK_MAX]; unlimited or unknown: UNIMIG_MAIN_STACK_MAX
 *   or UNIMIG_MAIN_STACK_DEFAULT respectively. It does not grow. The stack pointer in main is
 *   ISA-dependent (frame layouts differ) but always inside this range.
 */
#define UNIMIG_MAIN_STACK_TOP     (UNIMIG_MSTACK_BASE + 0x80000000UL)
#define UNIMIG_MAIN_ARGS          UNIMIG_MAIN_STACK_TOP
#define UNIMIG_MAIN_ARGS_MAX      0x80000000UL
#define UNIMIG_MAIN_AUXV_SLOTS    64
#define UNIMIG_MAIN_STACK_DEFAULT 0x800000UL
#define UNIMIG_MAIN_STACK_MIN     0x20000UL
#define UNIMIG_MAIN_STACK_MAX     0x40000000UL
#define UNIMIG_MAIN_STACK_GUARD   0x100000UL
#define UNIMIG_SSTACK_BASE      0x202000000000UL
#define UNIMIG_SSTACK_SIZE      0x001000000000UL
/*
 * Shadow stacks (src/shadow.c): address-taken locals of instrumented code, one stack per
 * thread. Slot i = [BASE + i * SLOT_SIZE, + SLOT_SIZE): its lowest GUARD bytes unmapped, the
 * rest mapped MAP_NORESERVE; the thread-local pointer __unimig_shadow_sp starts at the slot's
 * top and grows down, 16-byte aligned. Slot 0 is the main thread's (mapped at start-up);
 * other threads get the next free slot when created (at most SIZE / SLOT_SIZE = 1024).
 */
#define UNIMIG_SSTACK_SLOT_SIZE 0x4000000UL
#define UNIMIG_SSTACK_GUARD     0x100000UL
#define UNIMIG_SSTACK_MAIN_TOP  (UNIMIG_SSTACK_BASE + UNIMIG_SSTACK_SLOT_SIZE)

#define UNIMIG_MMAP_BASE        0x210000000000UL
#define UNIMIG_MMAP_SIZE        0x010000000000UL

#define UNIMIG_HEAP_BASE        0x220000000000UL
#define UNIMIG_HEAP_SIZE        0x010000000000UL
/* The heap is mapped (MAP_NORESERVE, so only touched pages cost memory) in steps of this. */
#define UNIMIG_HEAP_COMMIT_STEP 0x2000000UL

#define UNIMIG_IN_REGION(p, base, size) \
	((unsigned long)(p) >= (base) && (unsigned long)(p) - (base) < (size))

#endif
