/*
 * A minimal migration supervisor for SAME-ISA round trips (no stack transformation: the
 * checkpoint of one ISA is restored on the same ISA), speaking docs/migration.md section 2:
 *
 *   migrate_harness -d DIR -a N,N,.. -l LOG [-n MIGRATIONS] [-c flip|truncate|imageid -e WORD]
 *                   -- CMD ARGS...        (CMD: ./prog, or qemu-aarch64 ./prog.aarch64)
 *
 * Runs CMD with UNIMIG_CTL=1000, UNIMIG_DIR, UNIMIG_MIGRATE_AT; answers `go` to probes; on
 * `ckpt F` starts CMD again with UNIMIG_RESTORE=F (and the same UNIMIG_MIGRATE_AT, so the
 * destination migrates at the next listed point: a chain of round trips), waits for
 * `running`, sends `commit` to the source, checks it exits 0, sends `go` to the destination.
 * With -c the checkpoint is damaged first; every destination must then fail with a message
 * containing WORD and exit 127, and the source gets `abort` and finishes the run itself.
 * The children share this process's stdout/stderr, so the caller compares them with an
 * unsupervised run; the harness reports on LOG only ("status N" = the program's exit status,
 * checkpoint sizes and write times) and exits 1 if the protocol or an expectation failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CTL_FD 1000

static FILE *logf;
static const char *dir, *at, *corrupt, *expect;
static char **cmd;
static int failed;

static void bad(const char *what, const char *detail)
{
	fprintf(logf, "FAIL: %s%s\n", what, detail ? detail : "");
	failed = 1;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Start CMD as a supervised child; returns its control socket, *pid its pid. */
static int start(const char *restore, pid_t *pid)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) { perror("socketpair"); exit(1); }
	fflush(NULL);
	*pid = fork();
	if (*pid == 0) {
		if (dup2(sv[1], CTL_FD) < 0) _exit(126);   /* dup2 clears close-on-exec */
		for (int fd = 3; fd < CTL_FD; fd++) close(fd);  /* only the program's own fds */
		setenv("UNIMIG_CTL", "1000", 1);
		setenv("UNIMIG_DIR", dir, 1);
		setenv("UNIMIG_MIGRATE_AT", at, 1);
		if (restore) setenv("UNIMIG_RESTORE", restore, 1);
		execvp(cmd[0], cmd);
		_exit(126);
	}
	close(sv[1]);
	return sv[0];
}

static int readline(int fd, char *buf, size_t n)
{
	size_t i = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) return -1;
		if (c == '\n') break;
		if (i + 1 < n) buf[i++] = c;
	}
	buf[i] = 0;
	return 0;
}

static void say(int fd, const char *line)
{
	dprintf(fd, "%s\n", line);
}

static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void damage(const char *path)
{
	int fd = open(path, O_RDWR);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) { bad("cannot open checkpoint to damage ", path); return; }
	unsigned char b;
	off_t at = !strcmp(corrupt, "flip") ? 64 + (sb.st_size - 64) / 2 : 16;
	if (!strcmp(corrupt, "truncate")) {
		if (ftruncate(fd, sb.st_size - 100) < 0) bad("ftruncate", 0);
	} else if (pread(fd, &b, 1, at) == 1) {
		b ^= 0x20;
		if (pwrite(fd, &b, 1, at) != 1) bad("pwrite", 0);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	const char *logpath = 0;
	int want_migrations = -1, opt;
	while ((opt = getopt(argc, argv, "+d:a:l:n:c:e:")) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'a': at = optarg; break;
		case 'l': logpath = optarg; break;
		case 'n': want_migrations = atoi(optarg); break;
		case 'c': corrupt = optarg; break;
		case 'e': expect = optarg; break;
		default: return 2;
		}
	}
	if (!dir || !at || !logpath || optind >= argc || (corrupt && !expect)) {
		fprintf(stderr, "usage: migrate_harness -d DIR -a LIST -l LOG [-n N] [-c MODE -e WORD] -- CMD...\n");
		return 2;
	}
	cmd = argv + optind;
	logf = fopen(logpath, "w");
	if (!logf) { perror(logpath); return 2; }
	setvbuf(logf, 0, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);

	pid_t cur;
	int sock = start(0, &cur), migrations = 0, refused = 0, failures = 0;
	char line[4096];
	double t_go = 0, ckpt_secs = 0;
	long long ckpt_bytes = 0;
	while (readline(sock, line, sizeof line) == 0) {
		if (!strncmp(line, "probe ", 6)) {
			struct stat sb;
			if (stat(line + 6, &sb) < 0 || sb.st_size < 64) bad("probe file missing: ", line + 6);
			t_go = now();
			say(sock, "go");
		} else if (!strncmp(line, "refuse ", 7)) {
			refused++;
			fprintf(logf, "refused: %s\n", line + 7);
		} else if (!strncmp(line, "ckpt ", 5)) {
			double dt = now() - t_go;
			const char *path = line + 5;
			struct stat sb;
			if (stat(path, &sb) < 0) { bad("checkpoint missing: ", path); say(sock, "abort missing"); continue; }
			ckpt_secs += dt;
			ckpt_bytes += sb.st_size;
			fprintf(logf, "ckpt %s: %lld bytes, written in %.3f ms\n", path, (long long)sb.st_size, dt * 1e3);
			if (corrupt) damage(path);
			pid_t dest;
			int dsock = start(path, &dest);
			char ans[4096];
			if (readline(dsock, ans, sizeof ans) == 0 && !strcmp(ans, "running")) {
				say(sock, "commit");
				int st = wait_status(cur);
				if (st != 0) { snprintf(ans, sizeof ans, "%d", st); bad("committed source exited ", ans); }
				close(sock);
				say(dsock, "go");
				sock = dsock;
				cur = dest;
				migrations++;
				if (corrupt) bad("a damaged checkpoint was resumed", 0);
			} else {
				int st = wait_status(dest);
				fprintf(logf, "destination: %s (exit %d)\n", ans, st);
				failures++;
				if (!corrupt) bad("restore failed", 0);
				else if (strncmp(ans, "fail ", 5) || !strstr(ans, expect) || st != 127)
					bad("expected `fail ...", expect);
				close(dsock);
				say(sock, "abort restore failed");
			}
		} else if (!strncmp(line, "end ", 4)) {
			/* the points count the runtime sends at exit */
		} else {
			bad("unexpected message: ", line);
		}
	}
	int status = wait_status(cur);
	fprintf(logf, "status %d\nmigrations %d refused %d failed-restores %d\n", status, migrations,
		refused, failures);
	if (ckpt_bytes)
		fprintf(logf, "checkpoint write: %.1f MB in %.1f ms, %.2f ms/MB\n", ckpt_bytes / 1e6,
			ckpt_secs * 1e3, ckpt_secs * 1e3 / (ckpt_bytes / 1e6));
	if (want_migrations >= 0 && migrations != want_migrations) {
		snprintf(line, sizeof line, "%d, expected %d", migrations, want_migrations);
		bad("migrations: ", line);
	}
	if (corrupt && !failures) bad("no damaged checkpoint was tried", 0);
	return failed;
}
