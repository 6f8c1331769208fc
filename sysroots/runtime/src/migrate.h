/*
 * Migration inside the runtime (docs/migration.md sections 1-4): the register record, the
 * control state taken from UNIMIG_* at start-up, the checkpoint file format, and the entry
 * points of ctl.c (control), point.c (the migration-point handler), ckpt_write.c and
 * restore.c. Not installed.
 */
#ifndef UNIMIG_RT_MIGRATE_H
#define UNIMIG_RT_MIGRATE_H

#include "rt_internal.h"
#include "ckpt_sum.h"

/* Section 4: what the assembly stub (src/<isa>/migrate.S) captures; offsets are used there. */
#ifdef __x86_64__
struct unimig_regs {
	uint64_t rbx, rbp, r12, r13, r14, r15, sp, pc;
	/* The migration point's own registers: it is a preserve_all call (everything but r11
	 * survives it), so a value live across it may sit in any of them. Only the innermost
	 * frame's record can name these. */
	uint64_t rax, rcx, rdx, rsi, rdi, r8, r9, r10, r11;
	uint64_t xmm[16]; /* low 64 bits of xmm0 .. xmm15 */
};
_Static_assert(sizeof(struct unimig_regs) == 264, "REGS layout (migrate/src/regs.rs)");
#define UNIMIG_ELF_MACHINE 62
#else
struct unimig_regs {
	uint64_t x[11];   /* x19 .. x29 */
	uint64_t sp, pc;
	uint64_t d[8];    /* d8 .. d15 (their low 64 bits: all AAPCS64 preserves) */
	/* The migration point's own registers (preserve_all: x9-x15 and v8-v31 survive it, so a
	 * value live across it may sit there; only the innermost frame's record names these). */
	uint64_t xlo[19]; /* x0 .. x18 */
	uint64_t dhi[16]; /* d16 .. d31, low 64 bits */
};
_Static_assert(sizeof(struct unimig_regs) == 448, "REGS layout (migrate/src/regs.rs)");
#define UNIMIG_ELF_MACHINE 183
#endif

/* Section 3: checkpoint file, version 1. */
#define CK_MAGIC "UNIMIGCK"
#define CK_VERSION 1
#define CK_FLAG_PARTIAL 1u
#define CK_REGS 1
#define CK_MAP 2
#define CK_DATA 3
#define CK_FILE 4
#define CK_FENV 5
#define CK_SIGACTION 6
#define CK_MAP_MAIN_STACK 1u

struct ck_header {
	char magic[8];
	uint32_t version, isa;
	uint64_t image_id, point;
	uint32_t flags, nrec;
	uint64_t body_len, checksum, reserved;
};
_Static_assert(sizeof(struct ck_header) == 64, "checkpoint header");

struct ck_rec {
	uint32_t kind, reserved;
	uint64_t len;
};
struct ck_map {
	uint64_t addr, len;
	uint32_t prot, flags;
};
struct ck_file {
	int32_t fd, oflags, fdflags, reserved;
	int64_t offset;
	/* then the path, NUL-terminated */
};
struct ck_sigaction {
	int32_t signo, flags;
	uint64_t handler, mask;
};


/* Control state from the environment (ctl.c). A restore keeps the destination's own copy of
 * this struct (restore.c saves it around the memory copy). */
#define UNIMIG_MAX_POINTS 4096
struct unimig_ctl {
	int fd;             /* control socket; -1: unsupervised */
	int exec_fd;        /* the descriptor the image runs from (qemu on a memfd), or -1 */
	const char *restore;/* UNIMIG_RESTORE (a string on the kernel's initial stack), or 0 */
	char dir[512];
	int count_all;      /* UNIMIG_COUNT_POINTS=1: every poll calls the runtime */
	uint32_t nat;       /* UNIMIG_MIGRATE_AT */
	uint64_t at[UNIMIG_MAX_POINTS];
};
extern struct unimig_ctl unimig_rt_ctl RT_HIDDEN;

/* Descriptors the program inherited at start (ctl.c), a bitmap over 0..UNIMIG_INHERITED_MAX-1.
 * In .bss, so a destination sees the source's set. Checkpoints skip them: every process of
 * one supervised program inherits the same ones from the supervisor (the same open file
 * descriptions), so they need no transfer, whatever they are (a pipe, a socket, a file). */
#define UNIMIG_INHERITED_MAX 1024
extern uint64_t unimig_rt_inherited[UNIMIG_INHERITED_MAX / 64] RT_HIDDEN;
static inline int unimig_rt_is_inherited(int fd)
{
	return fd >= 0 && fd < UNIMIG_INHERITED_MAX &&
		(unimig_rt_inherited[fd / 64] >> (fd % 64) & 1);
}
extern volatile int __unimig_migrate_requested;

/* ctl.c */
/* Parse and check UNIMIG_* from the initial environment (fatal on malformed values). */
void unimig_rt_ctl_init(char **envp) RT_HIDDEN;
/* Install the request signal's handler (signal 39) when supervised. */
void unimig_rt_ctl_signals(void) RT_HIDDEN;
int unimig_rt_ctl_is_ours(uintptr_t handler) RT_HIDDEN;
/* One line to / from the control socket (without '\n'); 0 or -1 (socket closed, error). */
int unimig_rt_ctl_send(const char *a, const char *b) RT_HIDDEN;
int unimig_rt_ctl_recv(char *buf, size_t n) RT_HIDDEN;
/* "fail <reason>" on the control socket (or stderr without one), exit 127. */
_Noreturn void unimig_rt_ctl_fail(const char *reason, const char *detail) RT_HIDDEN;

/* point.c: the state that decides when to migrate; restore.c resets it in the destination. */
void unimig_rt_point_after_restore(void) RT_HIDDEN;
extern uint64_t unimig_rt_points RT_HIDDEN;
extern uint64_t unimig_rt_due RT_HIDDEN;  /* point.c: where the stubs stop only counting */

/* ckpt_write.c: write a checkpoint (partial: REGS + main stack) to path. Returns 0, or why
 * the runtime cannot describe this process (sent to the supervisor as `refuse`). */
const char *unimig_rt_ckpt_write(const char *path, const struct unimig_regs *r, int partial,
	uint64_t *bytes) RT_HIDDEN;

/* restore.c: restore mode, from __unimig_start_main; never returns. */
_Noreturn void unimig_rt_restore(const char *path) RT_HIDDEN;

/* start.c: the main stack mapping [lo, hi) (guard included) once mapped. */
extern uintptr_t unimig_rt_main_map_lo RT_HIDDEN;
extern uintptr_t unimig_rt_main_map_hi RT_HIDDEN;

/* tls.c: re-establish the per-process parts of the main thread's descriptor after a
 * restore copied the source's (thread id, AArch64 TCB words). */
void unimig_rt_tls_after_restore(void) RT_HIDDEN;

/* src/<isa>/migrate.S */
void __unimig_migration_point(void);
_Noreturn void unimig_rt_resume(const struct unimig_regs *r) RT_HIDDEN;
/* A system call that never touches errno or the thread descriptor (restore rewrites both). */
long unimig_rt_raw_syscall(long nr, long a, long b, long c, long d, long e) RT_HIDDEN;

/* ld.unimig's symbols (weak: plain lld links of the runtime tests lack them; a checkpoint
 * then cannot be made or read). */
extern char __unimig_data_begin[] __attribute__((__weak__));
extern char __unimig_data_end[] __attribute__((__weak__));
extern const uint64_t __unimig_image_id_word __attribute__((__weak__));

/* The shadow stack (shadow.c, another part): its mapped extent, when linked. */
void unimig_rt_shadow_extent(uintptr_t *lo, uintptr_t *hi) __attribute__((__weak__));

#endif
