/* Recursive: fib and the Ackermann function (deep, call-bound recursion). */
#include <stdio.h>

__attribute__((noinline)) static long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

__attribute__((noinline)) static long ack(long m, long n) {
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

int main(void) {
    printf("%ld %ld\n", fib(37), ack(2, 3000) + ack(3, 9));
    return 0;
}
