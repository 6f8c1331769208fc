/*
 * Checkpoint writer (docs/migration.md section 3), run at a migration point on the main
 * thread.
 *
 * Two phases, because the checksum is computed over memory as it is queued and written
 * later with writev: (1) describe the process — mappings in the unimig window from
 * /proc/self/maps (qemu-user emulates it with guest addresses), open descriptors from
 * /proc/self/fd, signal dispositions, rounding mode — using only errno-preserving calls;
 * (2) queue the records, pointing writev straight at the memory to copy, touching nothing
 * that is being copied (our own state is on the stack below the captured sp and in a
 * scratch mapping the kernel places outside the window), then write.
 * Only non-zero pages are written (resident pages per mincore, then a word scan).
 */
#include "migrate.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fenv.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define SCRATCH_SIZE   (4UL << 20)
#define MAX_MAPS       4096
#define MAX_IOV        1024
#define META_SIZE      (1UL << 20)
#define MAX_RUN        (1UL << 30)   /* bytes per DATA record */
#define FILE_BUF       (256UL << 10)

/* open flags kept in FILE records: the ones with the same value on both ISAs (O_DIRECTORY,
 * O_NOFOLLOW, O_DIRECT, O_LARGEFILE differ; O_CREAT/O_TRUNC/O_EXCL only matter at open) */
#define KEPT_OFLAGS (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_NOATIME | O_PATH)

struct region { uintptr_t lo, hi; uint32_t prot, flags; };

struct out {
	int fd;
	struct ck_sum sum;
	uint64_t body;
	uint32_t nrec;
	struct iovec *iov;
	int niov;
	unsigned char *meta;
	size_t nmeta;
	const char *err;
};

struct scratch {
	struct region maps[MAX_MAPS];
	size_t nmaps;
	struct iovec iov[MAX_IOV];
	unsigned char mincore_vec[64 << 10];
	unsigned char files[FILE_BUF];  /* FILE + SIGACTION + FENV records, already encoded */
	size_t nfiles;
	uint32_t nfile_recs;
	char text[];                    /* /proc/self/maps, getdents buffer; then meta */
};

static long sys(long nr, long a, long b, long c, long d)
{
	return unimig_rt_sys(nr, a, b, c, d, 0);
}

/* ---- phase 2 helpers: queue pieces, write with writev ---- */

static void flush(struct out *o)
{
	struct iovec *v = o->iov;
	int n = o->niov;
	while (n && !o->err) {
		long r = unimig_rt_raw_syscall(SYS_writev, o->fd, (long)v, n > 1024 ? 1024 : n, 0, 0);
		if (r == -EINTR) continue;
		if (r <= 0) { o->err = "cannot write the checkpoint file"; break; }
		while (n && (size_t)r >= v->iov_len) { r -= (long)v->iov_len; v++; n--; }
		if (n) { v->iov_base = (char *)v->iov_base + r; v->iov_len -= (size_t)r; }
	}
	o->niov = 0;
	o->nmeta = 0;
}

static void push(struct out *o, const void *p, size_t n, int hash)
{
	if (!n) return;
	if (hash) ck_sum_update(&o->sum, p, n);
	o->body += n;
	struct iovec *last = o->niov ? &o->iov[o->niov - 1] : 0;
	if (last && (const char *)last->iov_base + last->iov_len == p) {
		last->iov_len += n;
		return;
	}
	if (o->niov == MAX_IOV) flush(o);
	o->iov[o->niov++] = (struct iovec){ (void *)p, n };
}

/* Copy small data into the meta buffer (stable until the next flush), then queue it. */
static void push_copy(struct out *o, const void *p, size_t n)
{
	if (o->nmeta + n > META_SIZE || o->niov == MAX_IOV) flush(o);
	void *d = o->meta + o->nmeta;
	memcpy(d, p, n);
	o->nmeta += n;
	push(o, d, n, 1);
}

static void rec_begin(struct out *o, uint32_t kind, uint64_t len)
{
	struct ck_rec h = { kind, 0, len };
	push_copy(o, &h, sizeof h);
	o->nrec++;
}

static void rec_end(struct out *o, uint64_t len)
{
	static const unsigned char zero[8];
	if (len & 7) push_copy(o, zero, 8 - (len & 7));
}

static void data_rec(struct out *o, uintptr_t lo, uintptr_t hi)
{
	uint64_t addr = lo, len = 8 + (hi - lo);
	rec_begin(o, CK_DATA, len);
	push_copy(o, &addr, 8);
	push(o, (const void *)lo, hi - lo, 1);
	rec_end(o, len);
}

static int zero_bytes(uintptr_t lo, uintptr_t hi)
{
	for (; lo < hi && (lo & 7); lo++) if (*(const unsigned char *)lo) return 0;
	for (; lo + 8 <= hi; lo += 8) if (*(const uint64_t *)lo) return 0;
	for (; lo < hi; lo++) if (*(const unsigned char *)lo) return 0;
	return 1;
}

/* DATA records for the non-zero pages of [lo, hi) (page pieces clipped to the range). */
static void data_nonzero(struct out *o, struct scratch *s, uintptr_t lo, uintptr_t hi)
{
	uintptr_t run = 0, p = rt_page_down(lo);
	while (p < hi) {
		size_t npages = (rt_page_up(hi) - p) / UNIMIG_PAGE_SIZE;
		if (npages > sizeof s->mincore_vec) npages = sizeof s->mincore_vec;
		/* mincore failing (not supported): treat every page as resident */
		if (unimig_rt_raw_syscall(SYS_mincore, (long)p, (long)(npages * UNIMIG_PAGE_SIZE),
				(long)s->mincore_vec, 0, 0) < 0)
			memset(s->mincore_vec, 1, npages);
		for (size_t i = 0; i < npages; i++, p += UNIMIG_PAGE_SIZE) {
			uintptr_t a = p < lo ? lo : p, b = p + UNIMIG_PAGE_SIZE > hi ? hi : p + UNIMIG_PAGE_SIZE;
			if ((s->mincore_vec[i] & 1) && !zero_bytes(a, b)) {
				if (!run) run = a;
				if (b - run >= MAX_RUN) { data_rec(o, run, b); run = 0; }
			} else if (run) {
				data_rec(o, run, a);
				run = 0;
			}
		}
	}
	if (run) data_rec(o, run, hi);
}

/* ---- phase 1: describe the process ---- */

static int hexval(const char **p, uintptr_t *v)
{
	const char *s = *p;
	uintptr_t x = 0;
	for (; (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'); s++)
		x = x * 16 + (uintptr_t)(*s <= '9' ? *s - '0' : *s - 'a' + 10);
	if (s == *p) return -1;
	*p = s;
	*v = x;
	return 0;
}

/* Every mapping in the unimig window, from /proc/self/maps. */
static const char *read_maps(struct scratch *s, size_t cap)
{
	long fd = sys(SYS_openat, AT_FDCWD, (long)"/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) return "cannot open /proc/self/maps";
	size_t n = 0;
	for (;;) {
		if (n + 1 >= cap) { sys(SYS_close, fd, 0, 0, 0); return "/proc/self/maps too large"; }
		long r = sys(SYS_read, fd, (long)(s->text + n), (long)(cap - 1 - n), 0);
		if (r < 0) { sys(SYS_close, fd, 0, 0, 0); return "cannot read /proc/self/maps"; }
		if (!r) break;
		n += (size_t)r;
	}
	sys(SYS_close, fd, 0, 0, 0);
	s->text[n] = 0;
	s->nmaps = 0;
	for (const char *l = s->text; *l; ) {
		const char *e = strchr(l, '\n');
		if (!e) e = l + strlen(l);
		uintptr_t lo, hi;
		const char *p = l;
		if (hexval(&p, &lo) == 0 && *p++ == '-' && hexval(&p, &hi) == 0 && *p++ == ' ' &&
		    lo >= UNIMIG_AREA_BASE && hi <= UNIMIG_AREA_END) {
			uint32_t prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
				(p[2] == 'x' ? PROT_EXEC : 0);
			/* writable shared file mappings: the file would have to follow the memory */
			if (p[3] == 's' && (prot & PROT_WRITE))
				return "a writable MAP_SHARED mapping in the unimig window";
			if (s->nmaps == MAX_MAPS) return "too many mappings";
			uint32_t flags = lo < UNIMIG_MAIN_STACK_TOP && hi >= UNIMIG_MAIN_STACK_TOP ?
				CK_MAP_MAIN_STACK : 0;
			struct region *last = s->nmaps ? &s->maps[s->nmaps - 1] : 0;
			if (last && last->hi == lo && last->prot == prot && last->flags == flags && !flags)
				last->hi = hi;    /* the kernel splits mappings qemu made in pieces */
			else
				s->maps[s->nmaps++] = (struct region){ lo, hi, prot, flags };
		}
		l = *e ? e + 1 : e;
	}
	/* The shadow stack (shadow.c), when linked, must be among them. */
	if (unimig_rt_shadow_extent) {
		uintptr_t lo = 0, hi = 0;
		unimig_rt_shadow_extent(&lo, &hi);
		size_t i;
		for (i = 0; i < s->nmaps && lo < hi; i++)
			if (s->maps[i].lo <= lo && hi <= s->maps[i].hi) break;
		if (lo < hi && i == s->nmaps) return "the shadow stack is not mapped where it says";
	}
	return 0;
}

static void add_file_rec(struct scratch *s, uint32_t kind, const void *p, size_t n,
	const char *tail)
{
	size_t nt = tail ? strlen(tail) + 1 : 0, len = n + nt, padded = (len + 7) & ~(size_t)7;
	struct ck_rec h = { kind, 0, len };
	memcpy(s->files + s->nfiles, &h, sizeof h);
	memcpy(s->files + s->nfiles + sizeof h, p, n);
	if (nt) memcpy(s->files + s->nfiles + sizeof h + n, tail, nt);
	memset(s->files + s->nfiles + sizeof h + len, 0, padded - len);
	s->nfiles += sizeof h + padded;
	s->nfile_recs++;
}

static const char *describe_fd(struct scratch *s, int fd)
{
	static char why[96];
	struct stat st;
	char link[32] = "/proc/self/fd/", path[4096];
	char num[12], *q = num + sizeof num;
	*--q = 0;
	int v = fd;
	do *--q = (char)('0' + v % 10); while (v /= 10);
	strcat(link, q);
	if (sys(SYS_fstat, fd, (long)&st, 0, 0) < 0) return 0;  /* closed meanwhile */
	long n = sys(SYS_readlinkat, AT_FDCWD, (long)link, (long)path, sizeof path - 1);
	if (n < 0) n = 0;
	path[n] = 0;
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof deleted - 1;
	int named = path[0] == '/' && !((size_t)n > dl && !strcmp(path + n - dl, deleted));
	if (!(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode)) || !named) {
		strcpy(why, "descriptor ");
		strcat(why, q);
		strcat(why, S_ISFIFO(st.st_mode) ? " is a pipe" : S_ISSOCK(st.st_mode) ?
			" is a socket" : " has no path to reopen");
		return why;
	}
	if (s->nfiles + sizeof(struct ck_rec) + sizeof(struct ck_file) + (size_t)n + 8 > FILE_BUF)
		return "too many open files";
	long fl = sys(SYS_fcntl, fd, F_GETFL, 0, 0), fdfl = sys(SYS_fcntl, fd, F_GETFD, 0, 0);
	long off = sys(SYS_lseek, fd, 0, SEEK_CUR, 0);
	struct ck_file f = { fd, (int32_t)(fl & KEPT_OFLAGS), (int32_t)(fdfl & FD_CLOEXEC), 0,
		off < 0 ? 0 : off };
	add_file_rec(s, CK_FILE, &f, sizeof f, path);
	return 0;
}

static const char *describe_files(struct scratch *s, size_t cap, int ckpt_fd)
{
	long dfd = sys(SYS_openat, AT_FDCWD, (long)"/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0) return "cannot open /proc/self/fd";
	const char *why = 0;
	for (;;) {
		long n = sys(SYS_getdents64, dfd, (long)s->text, (long)cap, 0);
		if (n <= 0) { if (n < 0) why = "cannot read /proc/self/fd"; break; }
		for (long at = 0; at < n && !why; ) {
			struct dirent *d = (struct dirent *)(s->text + at);
			at += d->d_reclen;
			const char *p = d->d_name;
			int fd = 0;
			if (*p < '0' || *p > '9') continue;
			for (; *p >= '0' && *p <= '9'; p++) fd = fd * 10 + (*p - '0');
			if (fd <= 2 || fd == dfd || fd == ckpt_fd || fd == unimig_rt_ctl.fd ||
			    fd == unimig_rt_ctl.exec_fd || unimig_rt_is_inherited(fd))
				continue;
			why = describe_fd(s, fd);
		}
		if (why) break;
	}
	sys(SYS_close, dfd, 0, 0, 0);
	return why;
}

/* Canonical rounding-mode numbers: FE_* values differ between the ISAs. */
static uint32_t rounding(void)
{
	switch (fegetround()) {
	case FE_DOWNWARD: return 1;
	case FE_UPWARD: return 2;
	case FE_TOWARDZERO: return 3;
	default: return 0;
	}
}

/* The kernel's struct sigaction, the same on x86-64 and AArch64. */
struct ksa { uintptr_t handler; unsigned long flags; uintptr_t restorer; uint64_t mask; };

static void describe_signals(struct scratch *s)
{
	for (int sig = 1; sig <= 64; sig++) {
		struct ksa k;
		if (sig == SIGKILL || sig == SIGSTOP) continue;
		if (unimig_rt_raw_syscall(SYS_rt_sigaction, sig, 0, (long)&k, 8, 0) < 0) continue;
		if (k.handler == (uintptr_t)SIG_DFL || unimig_rt_ctl_is_ours(k.handler)) continue;
		struct ck_sigaction a = { sig, (int32_t)(k.flags & ~(unsigned long)0x04000000 /* SA_RESTORER */),
			k.handler, k.mask };
		add_file_rec(s, CK_SIGACTION, &a, sizeof a, 0);
	}
	uint32_t mode = rounding();
	add_file_rec(s, CK_FENV, &mode, sizeof mode, 0);
}

/* A probe also carries the jmp_buf registry and every registered buffer that is mapped
 * readable: the transformation rewrites the live ones, so it must see them to judge whether
 * the stack can move. (A full checkpoint holds them with the rest of memory.) */
static void jmpbuf_data(struct out *o, struct scratch *s)
{
	struct unimig_jmpbufs *r = &__unimig_jmpbufs;
	if (!r || r->count > UNIMIG_JMPBUFS_MAX)
		return;
	data_rec(o, (uintptr_t)r, (uintptr_t)&r->entries[r->count]);
	for (uint64_t i = 0; i < r->count; i++) {
		uintptr_t lo = r->entries[i].buf, hi = lo + UNIMIG_JMP_BUF_BYTES;
		for (size_t k = 0; k < s->nmaps; k++)
			if ((s->maps[k].prot & PROT_READ) && s->maps[k].lo <= lo && hi <= s->maps[k].hi) {
				data_rec(o, lo, hi);
				break;
			}
	}
}

/* ---- the writer ---- */

static const char *write_body(struct out *o, struct scratch *s, const struct unimig_regs *r,
	int partial)
{
	rec_begin(o, CK_REGS, sizeof *r);
	push_copy(o, r, sizeof *r);
	rec_end(o, sizeof *r);
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct region *m = &s->maps[i];
		if (partial && !(m->flags & CK_MAP_MAIN_STACK)) continue;
		struct ck_map rec = { m->lo, m->hi - m->lo, m->prot, m->flags };
		rec_begin(o, CK_MAP, sizeof rec);
		push_copy(o, &rec, sizeof rec);
		rec_end(o, sizeof rec);
	}
	/* The main stack: exactly one DATA record [sp, top), all bytes (the transformer replaces
	 * this record); the argument block above it like any other memory. */
	data_rec(o, r->sp, UNIMIG_MAIN_STACK_TOP);
	if (partial) {
		jmpbuf_data(o, s);
		return 0;
	}
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct region *m = &s->maps[i];
		if (!(m->prot & PROT_READ)) continue;
		if (m->flags & CK_MAP_MAIN_STACK)
			data_nonzero(o, s, UNIMIG_MAIN_STACK_TOP, m->hi);
		else
			data_nonzero(o, s, m->lo, m->hi);
	}
	data_nonzero(o, s, (uintptr_t)__unimig_data_begin, (uintptr_t)__unimig_data_end);
	for (size_t at = 0; at < s->nfiles; ) {
		/* records encoded in phase 1: queue them as they are (they are in scratch, which
		 * stays put until the end) */
		const struct ck_rec *h = (const struct ck_rec *)(s->files + at);
		size_t n = sizeof *h + ((h->len + 7) & ~(uint64_t)7);
		push(o, h, n, 1);
		o->nrec++;
		at += n;
	}
	return 0;
}

const char *unimig_rt_ckpt_write(const char *path, const struct unimig_regs *r, int partial,
	uint64_t *bytes)
{
	if (!__unimig_data_begin || !&__unimig_image_id_word)
		return "the image was not linked by ld.unimig";
	long sm = unimig_rt_sys_mmap(0, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sm < 0) return "no memory for the checkpoint writer";
	struct scratch *s = (struct scratch *)sm;
	size_t text_cap = SCRATCH_SIZE - sizeof *s - META_SIZE;
	const char *why = read_maps(s, text_cap);
	s->nfiles = 0;
	s->nfile_recs = 0;
	int has_stack = 0;
	for (size_t i = 0; i < s->nmaps; i++)
		has_stack |= s->maps[i].flags & CK_MAP_MAIN_STACK;
	if (!why && !has_stack) why = "the main stack is not mapped";
	if (!why && !partial) why = describe_files(s, text_cap, -1);
	if (!why && !partial) describe_signals(s);
	long fd = -1;
	if (!why) {
		fd = sys(SYS_openat, AT_FDCWD, (long)path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) why = "cannot create the checkpoint file";
	}
	if (!why) {
		struct ck_header h = { .version = CK_VERSION, .isa = UNIMIG_ELF_MACHINE,
			.image_id = __unimig_image_id_word, .point = unimig_rt_points,
			.flags = partial ? CK_FLAG_PARTIAL : 0 };
		memcpy(h.magic, CK_MAGIC, 8);
		struct out o = { .fd = (int)fd, .iov = s->iov, .meta = (unsigned char *)s->text + text_cap };
		ck_sum_init(&o.sum);
		/* header placeholder: not part of the body, written again at the end */
		o.iov[o.niov++] = (struct iovec){ &h, sizeof h };
		write_body(&o, s, r, partial);
		flush(&o);
		h.nrec = o.nrec;
		h.body_len = o.body;
		h.checksum = ck_sum_final(&o.sum);
		if (!o.err && unimig_rt_raw_syscall(SYS_pwrite64, fd, (long)&h, sizeof h, 0, 0) != sizeof h)
			o.err = "cannot write the checkpoint header";
		why = o.err;
		*bytes = sizeof h + o.body;
	}
	if (fd >= 0) sys(SYS_close, fd, 0, 0, 0);
	unimig_rt_sys(SYS_munmap, sm, SCRATCH_SIZE, 0, 0, 0);
	return why;
}
