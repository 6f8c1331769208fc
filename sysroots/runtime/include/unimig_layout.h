/*
 * unimig_layout.h -- the fixed address map of every unimig image.
 *
 * Every address a program can observe must be identical on x86-64 and AArch64, so the runtime
 * never lets the kernel, qemu or ASLR choose where thread-local storage, heap memory or
 * mmap'd memory lives. Everything sits in one window at 32 TiB:
 *
 *   0x2000_0000_0000 +1 GiB    CTL     runtime control data (mmap-region extent table, ...)
 *   0x2000_4000_0000 +1 GiB    TLS     main thread: TLS block + thread control block (TCB)
 *                                      (the main thread's TLS block starts at
 *                                       UNIMIG_TLS_MAIN_BLOCK = 0x2000_4010_0000)
 *   0x2010_0000_0000 +64 GiB   MSTACK  machine stacks            (reserved, unused so far)
 *   0x2020_0000_0000 +64 GiB   SSTACK  shadow stacks             (reserved, unused so far)
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
/* Address of the main thread's TLS block (first byte of .tdata), the same on both ISAs. */
#define UNIMIG_TLS_MAIN_BLOCK   (UNIMIG_TLS_BASE + 0x100000UL)
/* Largest PT_TLS alignment the runtime accepts. */
#define UNIMIG_TLS_MAX_ALIGN    0x10000UL
/* Bytes reserved per thread for musl's struct pthread (200 in musl 1.2.3 on both ISAs). */
#define UNIMIG_TCB_RESERVE      256UL

#define UNIMIG_MSTACK_BASE      0x201000000000UL
#define UNIMIG_MSTACK_SIZE      0x001000000000UL
#define UNIMIG_SSTACK_BASE      0x202000000000UL
#define UNIMIG_SSTACK_SIZE      0x001000000000UL

#define UNIMIG_MMAP_BASE        0x210000000000UL
#define UNIMIG_MMAP_SIZE        0x010000000000UL

#define UNIMIG_HEAP_BASE        0x220000000000UL
#define UNIMIG_HEAP_SIZE        0x010000000000UL
/* The heap is mapped (MAP_NORESERVE, so only touched pages cost memory) in steps of this. */
#define UNIMIG_HEAP_COMMIT_STEP 0x2000000UL

#define UNIMIG_IN_REGION(p, base, size) \
	((unsigned long)(p) >= (base) && (unsigned long)(p) - (base) < (size))

#endif
