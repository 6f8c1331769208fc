/* Where entry polls go (src/poll_site.rs): below the entry block, where the calls are, unless
 * a loop relies on the function polling on every call. */
#include <stdio.h>

/* After the middle end: `m == 0` returns at once; otherwise a loop around the one call. The
 * poll goes on the edge into the loop, so `ack(0, n)` polls nothing. */
__attribute__((noinline)) static long ack(long m, long n) {
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

/* Its own loop (the middle end turns one of the two calls into a loop) calls fib on every
 * iteration and relies on fib's entry poll: that one stays in the entry block. */
__attribute__((noinline)) static long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

__attribute__((noinline)) static int complain(int x) {
    printf("negative: %d\n", x);
    return -x;
}

/* Calls on one branch only: the poll goes into that branch. (Called in a loop, it would keep
 * its poll in the entry block: the loop would rely on it.) */
__attribute__((noinline)) static int checked(int x) {
    if (x >= 0)
        return x;
    return complain(x);
}

int main(void) {
    long sum = checked(-3) + checked(40);
    printf("%ld %ld %ld\n", ack(2, 300), fib(20), sum);
    return 0;
}
