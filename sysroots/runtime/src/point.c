/*
 * The migration-point handler (docs/migration.md section 2): counts the points, decides
 * whether to migrate, and runs the source side of an attempt (probe, checkpoint, commit or
 * abort). Called by the assembly stub __unimig_migration_point with the caller's registers.
 */
#include "migrate.h"
#include "musl_private.h"
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

/* In .bss: copied with the shared data range, so the count continues on the destination. */
uint64_t unimig_rt_points;
/* The point number at which the handler must run (0: at once, a request is pending or an
 * attempt is running; UINT64_MAX: never, only counting). The stubs count the points before it
 * themselves without saving a register (migrate.S), so a poll on every loop back-edge stays
 * cheap while UNIMIG_MIGRATE_AT or UNIMIG_COUNT_POINTS keeps the flag set for a whole run. */
uint64_t unimig_rt_due;
static uint32_t next_at;     /* index of the next UNIMIG_MIGRATE_AT entry not yet handled */
static int busy;             /* an attempt is running (a signal handler's points return) */
/* The frame that made the last probe fail (supervisor's `retry SP PC`), or 0: a library frame
 * under a callback, or an unsafe call site. While points are reached deeper than its stack
 * pointer it is probably still there (qsort calling its comparator) and probing again would
 * fail the same way; so probes are spaced out, doubling up to BLOCKED_MAX_SKIP points apart,
 * until a point is reached at or above that frame's level (it has returned). */
#define BLOCKED_MAX_SKIP 4096
static uintptr_t blocked_sp;
static uint32_t blocked_skip, blocked_left;
/* Refusals of the innermost frame's own call site (the supervisor's `retry 0 PC`: unsafe
 * there; in a loop the same site comes back at once): the next `left` points at that site
 * (its return address `pc`) are skipped, twice as many after each refusal there, without
 * bound; other sites are probed at once, so the skipping delays no migration anywhere else.
 * Many sites are kept, in a direct-mapped table indexed by return address: bzip2's sorting
 * function cycles through 19 unsafe loop sites, and remembering fewer made each refusal undo
 * the back-off of another. The stubs do the skipping (migrate.S: look the return address up,
 * count the point, return, no register saved) because with a poll on every loop back-edge
 * points come tens of millions a second: a bounded back-off (4096 points) made that loop write
 * probes for minutes, and skipping in C costs a save of every register per iteration. A loop
 * of N points at an unsafe site costs log2(N) probes. (Before any back-off: 267032 probes, a
 * 1 s matrix loop took 37 s.) Two sites in one slot undo each other's back-off when they
 * alternate: with 256 slots indexed by the address bits alone, bzip2 has ~110 unsafe poll sites
 * and a code-placement change put handle_compress's loop site and BZ2_blockSort's into one
 * slot (1 MB at -9 from AArch64: 105730 probes instead of 1038). 4096 slots, indexed by the
 * address with its higher bits folded in (sites 16 KB apart no longer meet), make that rare. */
#define SKIP_SLOTS 4096         /* migrate.S: slot ((pc >> 2) ^ (pc >> 14)) & 4095, 16 bytes each */
struct skip_slot {
	uint64_t pc, left;
};
struct skip_slot unimig_rt_skip[SKIP_SLOTS] RT_HIDDEN;
static uint64_t skip_next[SKIP_SLOTS];    /* the next back-off of each slot's site */

/* The site at pc refused a probe once more. */
static void skip_site(uint64_t pc)
{
	unsigned i = (unsigned)((pc >> 2) ^ (pc >> 14)) % SKIP_SLOTS;
	if (unimig_rt_skip[i].pc != pc) {
		unimig_rt_skip[i].pc = pc;
		skip_next[i] = 1;
	} else if (skip_next[i] < UINT64_MAX / 4) {
		skip_next[i] *= 2;
	}
	unimig_rt_skip[i].left = skip_next[i];
}

static void forget_skipped_sites(void)
{
	memset(unimig_rt_skip, 0, sizeof unimig_rt_skip);
}

extern volatile int unimig_rt_pending RT_HIDDEN;

void unimig_rt_migration_point(struct unimig_regs *r) RT_HIDDEN;

static void update_flag(void)
{
	int want = unimig_rt_pending || next_at < unimig_rt_ctl.nat || unimig_rt_ctl.count_all;
	uint64_t due = UINT64_MAX;
	if (unimig_rt_pending || busy)
		due = 0;
	else if (next_at < unimig_rt_ctl.nat)
		due = unimig_rt_ctl.at[next_at];
	/* The due point first: a poll that sees the flag must not count past it. */
	__atomic_store_n(&unimig_rt_due, due, __ATOMIC_RELAXED);
	__atomic_store_n(&__unimig_migrate_requested, want, __ATOMIC_RELAXED);
}

/* The request is settled (migrated, aborted, or the supervisor is gone). */
static void drop_request(void)
{
	unimig_rt_pending = 0;
	forget_skipped_sites();         /* (after a restore: the other ISA's addresses) */
	while (next_at < unimig_rt_ctl.nat && unimig_rt_ctl.at[next_at] <= unimig_rt_points)
		next_at++;
}

static void ckpt_path(char *buf, const char *suffix)
{
	char num[24], *p = num + sizeof num;
	uint64_t v = unimig_rt_points;
	*--p = 0;
	do *--p = (char)('0' + v % 10); while (v /= 10);
	strcpy(buf, unimig_rt_ctl.dir);
	strcat(buf, "/");
	strcat(buf, p);
	strcat(buf, suffix);
}

/* One exchange: send `msg path`, read the answer into ans. -1: the supervisor is gone. */
static int ask(const char *msg, const char *path, char *ans, size_t n)
{
	if (unimig_rt_ctl_send(msg, path) < 0 || unimig_rt_ctl_recv(ans, n) < 0) {
		unimig_rt_ctl.fd = -1;     /* unsupervised from now on */
		unimig_rt_ctl.nat = 0;
		return -1;
	}
	return 0;
}

static int starts(const char *s, const char *word)
{
	size_t n = strlen(word);
	return !strncmp(s, word, n) && (s[n] == 0 || s[n] == ' ');
}

/* A "0x..." number after blanks; advances *p past it. 0 if there is none. */
static uint64_t parse_hex(const char **p)
{
	const char *s = *p;
	uint64_t v = 0;
	while (*s == ' ') s++;
	if (s[0] == '0' && s[1] == 'x') s += 2;
	for (;; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
		if (d < 0) break;
		v = v << 4 | (uint64_t)d;
	}
	*p = s;
	return v;
}

/* One more refusal in a row of a deeper frame: the next `*skip` points are skipped, twice as
 * many as last time (starting at 1, up to BLOCKED_MAX_SKIP). */
static void back_off(int again, uint32_t *skip, uint32_t *left)
{
	if (!again || !*skip) *skip = 1;
	else if (*skip < BLOCKED_MAX_SKIP) *skip *= 2;
	*left = *skip;
}

/* Whether to skip this point because the frame of the last failed probe is probably still
 * between us and main (see blocked_sp). */
static int still_blocked(const struct unimig_regs *r)
{
	if (!blocked_sp) return 0;
	if (r->sp >= blocked_sp) {
		blocked_sp = 0;         /* at or above its level: it has returned */
		return 0;
	}
	if (blocked_left) {
		blocked_left--;
		return 1;
	}
	return 0;                       /* probe again (and back off further if it fails) */
}

static void attempt(const struct unimig_regs *r)
{
	char path[sizeof unimig_rt_ctl.dir + 32], ans[256];
	uint64_t bytes;
	const char *why = 0;

	/* Only the main thread, on its own stack, without other threads (their stacks and
	 * registers are not captured). Otherwise the request stays pending. */
	if (r->sp < unimig_rt_main_map_lo || r->sp > UNIMIG_MAIN_STACK_TOP)
		return;
	if (still_blocked(r))
		return;
	if (__libc.threads_minus_1)
		why = "the process has threads";
	if (!why) {
		ckpt_path(path, ".probe");
		why = unimig_rt_ckpt_write(path, r, 1, &bytes);
	}
	if (why) {
		unimig_rt_ctl_send("refuse", why);
		return;
	}
	if (ask("probe", path, ans, sizeof ans) < 0) {
		drop_request();
		return;
	}
	if (!starts(ans, "go")) {
		/* retry SP PC <reason>: at the next point, or once that frame has returned. */
		if (starts(ans, "retry")) {
			const char *p = ans + 5;
			uintptr_t sp = (uintptr_t)parse_hex(&p);
			if (sp) {
				/* Consecutive refusals back off further; the level to climb back to is
				 * the outermost such frame seen (qsort's helpers sit at varying depths). */
				back_off(blocked_sp != 0, &blocked_skip, &blocked_left);
				if (sp > blocked_sp) blocked_sp = sp;
			} else {
				skip_site(parse_hex(&p));
			}
		}
		return;
	}
	blocked_sp = 0;
	forget_skipped_sites();

	ckpt_path(path, ".ckpt");
	why = unimig_rt_ckpt_write(path, r, 0, &bytes);
	if (why) {
		unimig_rt_ctl_send("refuse", why);
		return;
	}
	if (ask("ckpt", path, ans, sizeof ans) == 0 && starts(ans, "commit")) {
		/* The destination owns the process state now: no atexit, no stdio flush. */
		for (;;) unimig_rt_raw_syscall(SYS_exit_group, 0, 0, 0, 0, 0);
	}
	drop_request();                 /* abort <reason>: carry on as if nothing happened */
}

void unimig_rt_migration_point(struct unimig_regs *r)
{
	if (busy) return;
	unimig_rt_points++;
	if (unimig_rt_ctl.fd < 0) {
		/* Unsupervised: a stray request (signal without a supervisor) is ignored. */
		unimig_rt_pending = 0;
		update_flag();
		return;
	}
	int due = unimig_rt_pending ||
		(next_at < unimig_rt_ctl.nat && unimig_rt_points >= unimig_rt_ctl.at[next_at]);
	if (due) {
		int saved = errno;
		busy = 1;
		unimig_rt_due = 0;      /* a signal handler's polls come here and return */
		attempt(r);
		busy = 0;
		errno = saved;
	}
	update_flag();
}

void unimig_rt_point_after_restore(void)
{
	busy = 0;
	next_at = 0;
	drop_request();
	update_flag();
}
