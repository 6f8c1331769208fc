/* Shared helpers of the unimig runtime: fatal errors, raw syscalls, fixed mappings, locks.
 * No inline assembly: system calls go through musl's syscall(), atomics through the
 * compiler's __atomic builtins. */
#include "rt_internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
/* from <linux/futex.h> (no kernel headers in the musl sysroot) */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128

static void rt_write_all(const char *s, size_t n)
{
	while (n) {
		long r = syscall(SYS_write, 2, s, n, 0, 0, 0);
		if (r <= 0) return;
		s += r;
		n -= (size_t)r;
	}
}

_Noreturn void unimig_rt_fatal(const char *msg, const char *detail)
{
	static const char pfx[] = "unimig runtime: ";
	rt_write_all(pfx, sizeof pfx - 1);
	rt_write_all(msg, strlen(msg));
	if (detail) rt_write_all(detail, strlen(detail));
	rt_write_all("\n", 1);
	_Exit(127);
}

_Noreturn void unimig_rt_fatal_hex(const char *msg, uintptr_t value)
{
	char buf[24], *p = buf + sizeof buf;
	*--p = 0;
	do {
		*--p = "0123456789abcdef"[value & 15];
		value >>= 4;
	} while (value);
	*--p = 'x';
	*--p = '0';
	unimig_rt_fatal(msg, p);
}

long unimig_rt_sys(long nr, long a, long b, long c, long d, long e)
{
	int saved = errno;
	long r = syscall(nr, a, b, c, d, e, 0);
	if (r == -1) r = -errno;
	errno = saved;
	return r;
}

long unimig_rt_sys_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, long off)
{
	int saved = errno;
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	if (r == -1) r = -errno;
	errno = saved;
	return r;
}

long unimig_rt_map_fixed(uintptr_t addr, size_t len)
{
	long r = unimig_rt_sys_mmap(addr, len, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (r < 0) return r;
	if ((uintptr_t)r != addr) {
		/* A kernel older than 4.17 treats MAP_FIXED_NOREPLACE as a hint. */
		unimig_rt_sys(SYS_munmap, r, (long)len, 0, 0, 0);
		return -EEXIST;
	}
	return 0;
}

void unimig_rt_discard(uintptr_t addr, size_t len)
{
	/* madvise(MADV_DONTNEED) would do natively, but qemu-user 7.2 ignores it; a fresh
	 * MAP_FIXED mapping over our own range works on both. */
	if (!len) return;
	long r = unimig_rt_sys_mmap(addr, len, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	if (r < 0) unimig_rt_fatal_hex("cannot remap heap range at ", addr);
}

void unimig_rt_lock(volatile int *l)
{
	int c = 0;
	if (__atomic_compare_exchange_n(l, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	if (c != 2) c = __atomic_exchange_n(l, 2, __ATOMIC_ACQUIRE);
	while (c) {
		unimig_rt_sys(SYS_futex, (long)l, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 2, 0, 0);
		c = __atomic_exchange_n(l, 2, __ATOMIC_ACQUIRE);
	}
}

void unimig_rt_unlock(volatile int *l)
{
	if (__atomic_exchange_n(l, 0, __ATOMIC_RELEASE) == 2)
		unimig_rt_sys(SYS_futex, (long)l, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0, 0);
}

/* musl's fork() calls __malloc_atfork(-1) before forking (when threads exist), then 0 in the
 * parent and 1 in the child. Ours covers both of the runtime's allocators. */
void __malloc_atfork(int who)
{
	if (who < 0) {
		unimig_rt_mmap_atfork(who);
		unimig_rt_heap_atfork(who);
	} else {
		unimig_rt_heap_atfork(who);
		unimig_rt_mmap_atfork(who);
	}
}
