/*
 * Control of migration (docs/migration.md sections 1-2): the UNIMIG_* variables, the control
 * socket's line protocol, the request signal, and the strong definition of the flag the
 * instrumented code polls.
 *
 * start.c calls unimig_rt_ctl_init with the kernel's environment before it copies the
 * environment to the argument block, and leaves every UNIMIG_* string out of the copy: a
 * supervised program sees the same environ as an unsupervised one.
 */
#include "migrate.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/syscall.h>

/* The flag polled (a volatile aligned 32-bit load) at every function entry and loop
 * back-edge. Objects built by unimig-cc carry a weak zero copy; this strong one wins because
 * ctl.o is always linked (start.c calls it). Non-zero: call __unimig_migration_point. */
volatile int __unimig_migrate_requested;

struct unimig_ctl unimig_rt_ctl = { .fd = -1, .exec_fd = -1 };

/* Request signal: SIGRTMIN+4 on musl (39 on both ISAs). */
#define REQUEST_SIGNAL 39
volatile int unimig_rt_pending RT_HIDDEN;

static void on_request(int sig)
{
	(void)sig;
	unimig_rt_pending = 1;
	__atomic_store_n(&unimig_rt_due, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&__unimig_migrate_requested, 1, __ATOMIC_RELAXED);
}

int unimig_rt_ctl_is_ours(uintptr_t handler)
{
	return handler == (uintptr_t)on_request;
}

static const char *value(const char *s, const char *name)
{
	size_t n = strlen(name);
	return strncmp(s, name, n) == 0 && s[n] == '=' ? s + n + 1 : 0;
}

/* A decimal number filling [s, end) exactly, or -1. */
static long long number(const char *s, const char *end)
{
	long long v = 0;
	if (s == end) return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || v > (1LL << 60)) return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

static void parse_points(const char *s)
{
	struct unimig_ctl *c = &unimig_rt_ctl;
	while (*s) {
		const char *e = strchr(s, ',');
		if (!e) e = s + strlen(s);
		long long v = number(s, e);
		if (v <= 0 || c->nat >= UNIMIG_MAX_POINTS || (c->nat && (uint64_t)v <= c->at[c->nat - 1]))
			unimig_rt_fatal("UNIMIG_MIGRATE_AT: expected at most 4096 ascending numbers >= 1: ", s);
		c->at[c->nat++] = (uint64_t)v;
		s = *e ? e + 1 : e;
	}
}

/* qemu-user runs an image it was given as /proc/self/fd/N (unimig run: a memfd) and keeps
 * that descriptor open; it is the loader's, not the program's, so checkpoints skip it. */
static int exec_fd(void)
{
	static const char pfx[] = "/proc/self/fd/";
	const char *fn = (const char *)getauxval(AT_EXECFN);
	if (!fn || strncmp(fn, pfx, sizeof pfx - 1)) return -1;
	long long v = number(fn + sizeof pfx - 1, fn + strlen(fn));
	return v >= 0 && v < (1 << 30) ? (int)v : -1;
}

uint64_t unimig_rt_inherited[UNIMIG_INHERITED_MAX / 64];

/* Before the program opens anything: which descriptors above 2 came from the parent. */
static void record_inherited(void)
{
	for (int fd = 3; fd < UNIMIG_INHERITED_MAX; fd++)
		if (unimig_rt_sys(SYS_fcntl, fd, F_GETFD, 0, 0, 0) >= 0)
			unimig_rt_inherited[fd / 64] |= 1ULL << (fd % 64);
}

void unimig_rt_ctl_init(char **envp)
{
	record_inherited();
	struct unimig_ctl *c = &unimig_rt_ctl;
	const char *v, *at = 0, *dir = 0, *fd = 0;
	for (; *envp; envp++) {
		if ((v = value(*envp, "UNIMIG_CTL"))) fd = v;
		else if ((v = value(*envp, "UNIMIG_DIR"))) dir = v;
		else if ((v = value(*envp, "UNIMIG_MIGRATE_AT"))) at = v;
		else if ((v = value(*envp, "UNIMIG_RESTORE"))) c->restore = v;
		else if ((v = value(*envp, "UNIMIG_COUNT_POINTS"))) c->count_all = *v == '1';
	}
	if (fd) {
		long long n = number(fd, fd + strlen(fd));
		if (n < 0 || n > (1 << 30) || unimig_rt_sys(SYS_fcntl, (long)n, F_SETFD, FD_CLOEXEC, 0, 0) < 0)
			unimig_rt_fatal("UNIMIG_CTL is not an open descriptor: ", fd);
		c->fd = (int)n;
	}
	if (dir) {
		if (strlen(dir) + 32 > sizeof c->dir)
			unimig_rt_fatal("UNIMIG_DIR too long: ", dir);
		strcpy(c->dir, dir);
	}
	if (at) {
		if (c->fd < 0 || !dir)
			unimig_rt_fatal("UNIMIG_MIGRATE_AT needs UNIMIG_CTL and UNIMIG_DIR", 0);
		parse_points(at);
	}
	c->exec_fd = exec_fd();
	if (c->fd < 0)
		c->count_all = 0;
	if (c->nat || c->count_all)
		__unimig_migrate_requested = 1;
}

void unimig_rt_ctl_signals(void)
{
	if (unimig_rt_ctl.fd < 0 || !unimig_rt_ctl.dir[0]) return;
	struct sigaction sa = { .sa_handler = on_request, .sa_flags = SA_RESTART };
	sigaction(REQUEST_SIGNAL, &sa, 0);
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		long r = unimig_rt_raw_syscall(SYS_write, fd, (long)s, (long)n, 0, 0);
		if (r == -EINTR) continue;
		if (r <= 0) return -1;
		s += r;
		n -= (size_t)r;
	}
	return 0;
}

int unimig_rt_ctl_send(const char *a, const char *b)
{
	char line[1024];
	size_t na = strlen(a), nb = b ? strlen(b) : 0;
	if (na + nb + 2 > sizeof line) nb = sizeof line - na - 2;
	memcpy(line, a, na);
	if (b) {
		line[na++] = ' ';
		memcpy(line + na, b, nb);
		na += nb;
	}
	line[na++] = '\n';
	return write_all(unimig_rt_ctl.fd, line, na);
}

/* Byte by byte: the supervisor sends one short line per answer, and nothing may be read
 * past it (the next line belongs to a later exchange). */
int unimig_rt_ctl_recv(char *buf, size_t n)
{
	size_t i = 0;
	for (;;) {
		char ch;
		long r = unimig_rt_raw_syscall(SYS_read, unimig_rt_ctl.fd, (long)&ch, 1, 0, 0);
		if (r == -EINTR) continue;
		if (r <= 0) return -1;
		if (ch == '\n') break;
		if (i + 1 < n) buf[i++] = ch;
	}
	buf[i] = 0;
	return 0;
}

_Noreturn void unimig_rt_ctl_fail(const char *reason, const char *detail)
{
	char msg[512];
	size_t n = strlen(reason);
	if (n > 256) n = 256;
	memcpy(msg, reason, n);
	msg[n] = 0;
	if (detail) strncat(msg, detail, sizeof msg - n - 1);
	/* Supervised: the supervisor reports it; stderr is the program's (shared) stderr. */
	if (unimig_rt_ctl.fd >= 0) {
		unimig_rt_ctl_send("fail", msg);
		for (;;) unimig_rt_raw_syscall(SYS_exit_group, 127, 0, 0, 0, 0);
	}
	unimig_rt_fatal("cannot restore the checkpoint: ", msg);
}

/* At exit (after the program's atexit handlers): tell the supervisor how many migration
 * points the run reached, for its report. A committed source never gets here (it ends with
 * exit_group). */
__attribute__((destructor)) static void report_points(void)
{
	if (unimig_rt_ctl.fd < 0) return;
	char num[24], *p = num + sizeof num;
	uint64_t v = unimig_rt_points;
	*--p = 0;
	do *--p = (char)('0' + v % 10); while (v /= 10);
	unimig_rt_ctl_send("end", p);
}
