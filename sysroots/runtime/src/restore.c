/*
 * Restore mode (docs/migration.md sections 2-3): UNIMIG_RESTORE=<file> makes
 * __unimig_start_main resume the checkpoint instead of starting the program.
 *
 * Runs on the kernel's initial stack (outside the unimig window), before any program code.
 * 1. Check everything before touching memory: size, magic, version, ISA, image id, checksum,
 *    every record's bounds. Any failure: `fail <reason>`, exit 127; never resume.
 * 2. Replace memory: MAP records (MAP_FIXED, inside the window), zero the shared data range,
 *    read DATA straight into place. From here until step 3 the runtime's and musl's globals
 *    and the thread descriptor hold the source's bytes (partly zero), so only raw system
 *    calls and plain memory functions run, and our own state lives on this stack.
 * 3. Re-establish what belongs to this process or this ISA, the complete list:
 *      - the runtime's control state (unimig_rt_ctl: control fd, UNIMIG_DIR, this process's
 *        UNIMIG_MIGRATE_AT) and the migration-point state (point.c; the count itself is the
 *        source's and continues);
 *      - musl's __hwcap and __sysinfo (per machine; musl's vDSO pointers are gone: patch 0003);
 *      - the main thread's descriptor: thread id, AArch64 TCB words (tls.c);
 *      - rounding mode, signal dispositions (with this ISA's sa_restorer), the request
 *        signal's handler; files reopened at their numbers and offsets.
 *    Everything else in the copied memory (stdio buffers, heap, TLS, canary, environ, the
 *    mmap/heap allocators' state) is the source's and stays.
 * 4. `running`, wait for `go`, load the registers: return from __unimig_migration_point.
 */
#include "migrate.h"
#include "musl_private.h"
#include <errno.h>
#include <fcntl.h>
#include <fenv.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define SCRATCH_SIZE (2UL << 20)
#define BUF_SIZE     (1UL << 20)
#define MAX_RECS     ((SCRATCH_SIZE - BUF_SIZE - sizeof(struct unimig_ctl)) / sizeof(struct rinfo))

/* Where each record is, found while checking. */
struct rinfo { uint32_t kind; uint64_t off, len; uint64_t map_addr, map_len; };

struct state {
	int fd;
	uint64_t size;
	struct ck_header h;
	struct unimig_regs regs;
	struct unimig_ctl *ctl;   /* this process's control state, saved in scratch */
	unsigned char *buf;
	struct rinfo *rec;
	size_t nrec;
	int max_fd;
};

static long rs(long nr, long a, long b, long c, long d) { return unimig_rt_raw_syscall(nr, a, b, c, d, 0); }

static _Noreturn void fail(struct state *st, const char *reason, const char *detail)
{
	if (st->ctl) memcpy(&unimig_rt_ctl, st->ctl, sizeof unimig_rt_ctl);
	unimig_rt_ctl_fail(reason, detail);
}

static void read_at(struct state *st, void *dst, uint64_t n, uint64_t off)
{
	while (n) {
		long r = rs(SYS_pread64, st->fd, (long)dst, (long)(n > (1UL << 30) ? 1UL << 30 : n), (long)off);
		if (r == -EINTR) continue;
		if (r <= 0) fail(st, "cannot read the checkpoint file", 0);
		dst = (char *)dst + r;
		n -= (uint64_t)r;
		off += (uint64_t)r;
	}
}

static void check_header(struct state *st)
{
	struct stat sb;
	if (rs(SYS_fstat, st->fd, (long)&sb, 0, 0) < 0) fail(st, "cannot stat the checkpoint", 0);
	st->size = (uint64_t)sb.st_size;
	if (st->size < sizeof st->h) fail(st, "truncated checkpoint: no complete header", 0);
	read_at(st, &st->h, sizeof st->h, 0);
	if (memcmp(st->h.magic, CK_MAGIC, 8)) fail(st, "not a unimig checkpoint (bad magic)", 0);
	if (st->h.version != CK_VERSION) fail(st, "unsupported checkpoint version", 0);
	if (st->h.isa != UNIMIG_ELF_MACHINE)
		fail(st, "checkpoint of another ISA (not transformed for this one)", 0);
	if (!&__unimig_image_id_word) fail(st, "this image was not linked by ld.unimig", 0);
	if (st->h.image_id != __unimig_image_id_word)
		fail(st, "checkpoint of another program image (image id differs)", 0);
	if (st->size - sizeof st->h < st->h.body_len)
		fail(st, "truncated checkpoint: shorter than its header says", 0);
	if (st->size - sizeof st->h > st->h.body_len)
		fail(st, "checkpoint has bytes after its body", 0);
	if (st->h.flags & CK_FLAG_PARTIAL)
		fail(st, "a partial (probe) checkpoint cannot be restored", 0);
}

static void check_sum(struct state *st)
{
	struct ck_sum s;
	ck_sum_init(&s);
	for (uint64_t off = 0; off < st->h.body_len; ) {
		uint64_t n = st->h.body_len - off < BUF_SIZE ? st->h.body_len - off : BUF_SIZE;
		read_at(st, st->buf, n, sizeof st->h + off);
		ck_sum_update(&s, st->buf, n);
		off += n;
	}
	if (ck_sum_final(&s) != st->h.checksum) fail(st, "checksum mismatch (corrupted checkpoint)", 0);
}

static int inside(uint64_t a, uint64_t n, uint64_t lo, uint64_t hi)
{
	return a >= lo && a <= hi && n <= hi - a;
}

/* DATA must land in a MAP record's range or in the image's shared data range. */
static int data_target_ok(struct state *st, uint64_t a, uint64_t n)
{
	if (inside(a, n, (uintptr_t)__unimig_data_begin, (uintptr_t)__unimig_data_end)) return 1;
	for (size_t i = 0; i < st->nrec; i++)
		if (st->rec[i].kind == CK_MAP &&
		    inside(a, n, st->rec[i].map_addr, st->rec[i].map_addr + st->rec[i].map_len))
			return 1;
	return 0;
}

static void check_records(struct state *st)
{
	uint64_t off = sizeof st->h, end = sizeof st->h + st->h.body_len;
	int nregs = 0;
	for (uint32_t i = 0; i < st->h.nrec; i++) {
		struct ck_rec r;
		if (end - off < sizeof r) fail(st, "a record runs past the end", 0);
		read_at(st, &r, sizeof r, off);
		off += sizeof r;
		if (r.len > end - off || ((r.len + 7) & ~7ULL) > end - off)
			fail(st, "a record runs past the end", 0);
		if (st->nrec == MAX_RECS) fail(st, "too many records", 0);
		st->rec[st->nrec++] = (struct rinfo){ r.kind, off, r.len, 0, 0 };
		switch (r.kind) {
		case CK_REGS:
			if (r.len != sizeof st->regs || nregs++) fail(st, "bad REGS record", 0);
			read_at(st, &st->regs, sizeof st->regs, off);
			break;
		case CK_MAP: {
			struct ck_map m;
			if (r.len != sizeof m) fail(st, "bad MAP record", 0);
			read_at(st, &m, sizeof m, off);
			if ((m.addr | m.len) & (UNIMIG_PAGE_SIZE - 1) || !m.len ||
			    !inside(m.addr, m.len, UNIMIG_AREA_BASE, UNIMIG_AREA_END) ||
			    m.prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC))
				fail(st, "MAP record outside the unimig window", 0);
			st->rec[st->nrec - 1].map_addr = m.addr;
			st->rec[st->nrec - 1].map_len = m.len;
			break;
		}
		case CK_DATA:
		case CK_FILE:
		case CK_FENV:
		case CK_SIGACTION:
			break;
		default:
			fail(st, "unknown record kind", 0);
		}
		off += (r.len + 7) & ~7ULL;
	}
	if (off != end) fail(st, "records do not fill the body", 0);
	if (nregs != 1) fail(st, "no REGS record", 0);
	/* second pass: records that refer to MAPs or carry strings */
	for (size_t i = 0; i < st->nrec; i++) {
		struct rinfo *ri = &st->rec[i];
		if (ri->kind == CK_DATA) {
			uint64_t addr;
			if (ri->len < 8) fail(st, "bad DATA record", 0);
			read_at(st, &addr, 8, ri->off);
			if (!data_target_ok(st, addr, ri->len - 8))
				fail(st, "DATA record outside the mapped memory", 0);
		} else if (ri->kind == CK_FILE) {
			struct ck_file f;
			char last;
			if (ri->len < sizeof f + 2) fail(st, "bad FILE record", 0);
			read_at(st, &f, sizeof f, ri->off);
			read_at(st, &last, 1, ri->off + ri->len - 1);
			if (last || f.fd < 3) fail(st, "bad FILE record", 0);
			if (f.fd > st->max_fd) st->max_fd = f.fd;
		} else if (ri->kind == CK_FENV) {
			uint32_t mode;
			if (ri->len != 4) fail(st, "bad FENV record", 0);
			read_at(st, &mode, 4, ri->off);
			if (mode > 3) fail(st, "bad FENV record", 0);
		} else if (ri->kind == CK_SIGACTION) {
			struct ck_sigaction a;
			if (ri->len != sizeof a) fail(st, "bad SIGACTION record", 0);
			read_at(st, &a, sizeof a, ri->off);
			if (a.signo < 1 || a.signo > 64) fail(st, "bad SIGACTION record", 0);
		}
	}
}

/* Step 2. No musl function with side effects on errno or the descriptor from here to
 * restore_state. */
static void replace_memory(struct state *st)
{
	for (size_t i = 0; i < st->nrec; i++) {
		if (st->rec[i].kind != CK_MAP) continue;
		struct ck_map m;
		read_at(st, &m, sizeof m, st->rec[i].off);
		long r = unimig_rt_raw_syscall(SYS_mmap, (long)m.addr, (long)m.len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1);
		if (r != (long)m.addr) fail(st, "cannot map checkpointed memory", 0);
	}
	memset(__unimig_data_begin, 0, (size_t)(__unimig_data_end - __unimig_data_begin));
	for (size_t i = 0; i < st->nrec; i++) {
		if (st->rec[i].kind != CK_DATA) continue;
		uint64_t addr;
		read_at(st, &addr, 8, st->rec[i].off);
		read_at(st, (void *)(uintptr_t)addr, st->rec[i].len - 8, st->rec[i].off + 8);
	}
	for (size_t i = 0; i < st->nrec; i++) {
		if (st->rec[i].kind != CK_MAP) continue;
		struct ck_map m;
		read_at(st, &m, sizeof m, st->rec[i].off);
		if (m.prot != (PROT_READ | PROT_WRITE) &&
		    rs(SYS_mprotect, (long)m.addr, (long)m.len, m.prot, 0) < 0)
			fail(st, "cannot protect checkpointed memory", 0);
	}
}

/* fd numbers the restored program expects must be free: move ours above them. */
static int move_above(int fd, int min)
{
	if (fd < 0 || fd > min) return fd;
	long n = rs(SYS_fcntl, fd, F_DUPFD_CLOEXEC, min + 1, 0);
	if (n < 0) return -1;
	rs(SYS_close, fd, 0, 0, 0);
	return (int)n;
}

static void reopen_files(struct state *st)
{
	st->fd = move_above(st->fd, st->max_fd);
	unimig_rt_ctl.fd = move_above(unimig_rt_ctl.fd, st->max_fd);
	if (st->fd < 0 || (st->ctl->fd >= 0 && unimig_rt_ctl.fd < 0))
		fail(st, "no descriptor free above the program's", 0);
	for (size_t i = 0; i < st->nrec; i++) {
		if (st->rec[i].kind != CK_FILE) continue;
		struct ck_file f;
		char path[4096];
		uint64_t n = st->rec[i].len - sizeof f;
		if (n > sizeof path) fail(st, "FILE path too long", 0);
		read_at(st, &f, sizeof f, st->rec[i].off);
		read_at(st, path, n, st->rec[i].off + sizeof f);
		int flags = (f.oflags & ~(O_CREAT | O_TRUNC | O_EXCL)) | O_CLOEXEC;
		long t = rs(SYS_openat, AT_FDCWD, (long)path, flags, 0);
		if (t < 0) fail(st, "cannot reopen ", path);
		if (t != f.fd) {
			if (rs(SYS_dup3, t, f.fd, f.fdflags & FD_CLOEXEC ? O_CLOEXEC : 0, 0) < 0)
				fail(st, "cannot place the descriptor of ", path);
			rs(SYS_close, t, 0, 0, 0);
		} else if (!(f.fdflags & FD_CLOEXEC)) {
			rs(SYS_fcntl, t, F_SETFD, 0, 0);
		}
		if (f.offset && rs(SYS_lseek, f.fd, (long)f.offset, SEEK_SET, 0) < 0)
			fail(st, "cannot seek in ", path);
	}
}

static void restore_signals(struct state *st)
{
	static const int modes[4] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
	for (size_t i = 0; i < st->nrec; i++) {
		if (st->rec[i].kind == CK_FENV) {
			uint32_t mode;
			read_at(st, &mode, 4, st->rec[i].off);
			fesetround(modes[mode]);
		} else if (st->rec[i].kind == CK_SIGACTION) {
			struct ck_sigaction a;
			read_at(st, &a, sizeof a, st->rec[i].off);
			/* the kernel's struct sigaction, the same on x86-64 and AArch64; the
			 * restorer is this ISA's (musl's __restore_rt) */
			struct { uintptr_t handler; unsigned long flags; uintptr_t restorer; uint64_t mask; } k = {
				a.handler, (unsigned long)(uint32_t)a.flags | 0x04000000 /* SA_RESTORER */,
				(uintptr_t)__restore_rt, a.mask };
			if (rs(SYS_rt_sigaction, a.signo, (long)&k, 0, 8) < 0 && a.signo != 39)
				fail(st, "cannot restore a signal handler", 0);
		}
	}
	unimig_rt_ctl_signals();
}

_Noreturn void unimig_rt_restore(const char *path)
{
	struct state st = { .fd = -1 };
	long sm = unimig_rt_sys_mmap(0, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sm < 0) fail(&st, "no memory to restore", 0);
	st.ctl = (struct unimig_ctl *)sm;
	memcpy(st.ctl, &unimig_rt_ctl, sizeof *st.ctl);
	st.buf = (unsigned char *)sm + sizeof *st.ctl;
	st.rec = (struct rinfo *)(st.buf + BUF_SIZE);
	st.max_fd = 2;
	long fd = rs(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) fail(&st, "cannot open ", path);
	st.fd = (int)fd;
	if (!__unimig_data_begin) fail(&st, "this image was not linked by ld.unimig", 0);

	check_header(&st);
	check_sum(&st);
	check_records(&st);

	size_t hwcap = __hwcap, sysinfo = __sysinfo;
	replace_memory(&st);
	memcpy(&unimig_rt_ctl, st.ctl, sizeof unimig_rt_ctl);
	__hwcap = hwcap;
	__sysinfo = sysinfo;
	unimig_rt_tls_after_restore();
	unimig_rt_point_after_restore();

	restore_signals(&st);
	reopen_files(&st);
	rs(SYS_close, st.fd, 0, 0, 0);
	struct unimig_regs regs = st.regs;
	unimig_rt_sys(SYS_munmap, sm, SCRATCH_SIZE, 0, 0, 0);

	char ans[64];
	if (unimig_rt_ctl.fd >= 0) {
		if (unimig_rt_ctl_send("running", 0) < 0 || unimig_rt_ctl_recv(ans, sizeof ans) < 0 ||
		    strcmp(ans, "go"))
			unimig_rt_fatal("restore: the supervisor did not say go", 0);
	}
	unimig_rt_resume(&regs);
}
