/* The patched musl without the runtime (libc.a alone): it must still be a working libc, with
 * musl's own TLS placement and start-up (the runtime is what makes addresses fixed). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
static __thread int v = 5;
static void *thr(void *arg)
{
	(void)arg;
	errno = 3;
	int ok = v == 5 && errno == 3 && (char *)&errno == (char *)pthread_self() + 52;
	v = 6;
	return ok ? (void *)1 : 0;
}
int main(int argc, char **argv)
{
	pthread_t t;
	void *res = 0;
	errno = 0;
	int ok = !pthread_create(&t, 0, thr, 0) && !pthread_join(t, &res) && res && v == 5 &&
		errno == 0 && argc >= 1 && argv[argc] == 0;
	printf("standalone: %s\n", ok ? "ok" : "WRONG");
	return !ok;
}
