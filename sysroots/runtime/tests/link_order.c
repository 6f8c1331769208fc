/* Link-order hazard: this object references a symbol of musl's __init_tls.lo before
 * __libc_start_main.lo is loaded. Had the runtime overridden only the weak __init_tls, musl's
 * member would be extracted first and its static_init_tls would silently run. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include "unimig_layout.h"
extern volatile int __thread_list_lock;
static __thread int v = 1;

/* A PT_TLS alignment below 8: the AArch64 thread pointer is then not 8-byte aligned (the
 * descriptor is); check that threads still work. */
static void *thr(void *arg)
{
	(void)arg;
	int ok = v == 1 && ((unsigned long)pthread_self() & 15) == 0 &&
		(char *)&errno == (char *)pthread_self() + 52 &&
		(unsigned long)pthread_self() - (unsigned long)&v < 32;
	v = 2;
	return ok ? (void *)1 : 0;
}

int main(void)
{
	pthread_t t;
	void *res = 0;
	if (pthread_create(&t, 0, thr, 0) || pthread_join(t, &res) || !res || v != 1) {
		printf("link_order: thread with 4-byte aligned TLS: WRONG\n");
		return 1;
	}
	/* p_align 4 here: the block starts up to 15 bytes after UNIMIG_TLS_MAIN_BLOCK, so that the
	 * thread descriptor after it is 16-byte aligned (unimig_layout.h) */
	int ok = (unsigned long)&v - UNIMIG_TLS_MAIN_BLOCK < 16;
	printf("link_order: lock %d, &v %p: %s\n", __thread_list_lock, (void *)&v, ok ? "ok" : "WRONG");
	return !ok;
}
