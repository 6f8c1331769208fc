/* Loops that poll and loops that do not: an innermost loop that calls nothing and runs a
 * small constant number of times per entry gets no poll of its own (the enclosing loop polls);
 * see short_loops_have_no_poll_of_their_own in llvm-pass/tests/cheap_instrumentation.rs. */
#include <stdio.h>

static long table[300];

/* The row loop (300 iterations, fewer once vectorised) is short; the loop over rows is not. */
__attribute__((noinline)) long sum_rows(long n) {
    long s = 0;
    for (long r = 0; r < n; r++)
        for (int j = 0; j < 300; j++)
            s += table[j] * r;
    return s;
}

/* A trip count known only at run time. */
__attribute__((noinline)) long unbounded(long n) {
    long s = 0;
    for (long i = 0; i < n; i++)
        s += table[i % 300] ^ i;
    return s;
}

/* A constant trip count above the limit. */
__attribute__((noinline)) long long_loop(void) {
    long s = 0;
    for (int i = 0; i < 100000; i++)
        s += table[i % 300] + i;
    return s;
}

/* Short, but it calls a function. */
__attribute__((noinline)) long calls(void) {
    long s = 0;
    for (int i = 0; i < 300; i++) {
        s += table[i];
        if (s & 1)
            puts("odd");
    }
    return s;
}

int main(int argc, char **argv) {
    (void)argv;
    for (int i = 0; i < 300; i++)
        table[i] = i * 7 % 13;
    printf("%ld %ld %ld %ld\n", sum_rows(argc + 10), unbounded(argc * 1000), long_loop(), calls());
    return 0;
}
