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

/* bzip2's move-to-front search: for each input byte, its place in yy, which it moves to the
 * front. The search's end depends on the data it reads. */
static inline __attribute__((always_inline)) long move_to_front(unsigned char *yy,
                                                                const unsigned char *in, long n) {
    long s = 0;
    for (long k = 0; k < n; k++) {
        unsigned char c = in[k], prev = yy[0];
        int j = 0;
        while (prev != c) {
            j++;
            unsigned char t = yy[j];
            yy[j] = prev;
            prev = t;
        }
        yy[0] = c;
        s += j;
    }
    return s;
}

/* The search within a local 256-byte table: leaving the table would be undefined, so it runs
 * at most 257 times per entry and is short. */
__attribute__((noinline)) long search_local(const unsigned char *in, long n) {
    unsigned char yy[256];
    for (int i = 0; i < 256; i++)
        yy[i] = (unsigned char)(255 - i);
    return move_to_front(yy, in, n);
}

/* The same search in a table it is given: nothing bounds it. */
__attribute__((noinline)) long search_given(unsigned char *yy, const unsigned char *in, long n) {
    return move_to_front(yy, in, n);
}

/* A search in a global table too big for the limit (65536 places). */
static unsigned char big[65536];
__attribute__((noinline)) long search_big(unsigned char key, long n) {
    long s = 0;
    for (long k = 0; k < n; k++) {
        long j = 0;
        while (big[j] != key)
            j++;
        s += j;
        key = (unsigned char)(key + 1);
    }
    return s;
}

int main(int argc, char **argv) {
    (void)argv;
    for (int i = 0; i < 300; i++)
        table[i] = i * 7 % 13;
    printf("%ld %ld %ld %ld\n", sum_rows(argc + 10), unbounded(argc * 1000), long_loop(), calls());
    unsigned char text[64], yy[256];
    for (int i = 0; i < 64; i++)
        text[i] = (unsigned char)(i * 37);
    for (int i = 0; i < 256; i++)
        yy[i] = (unsigned char)i;
    for (int i = 0; i < 65536; i++)
        big[i] = (unsigned char)(i * 7 + i / 256);
    printf("%ld %ld %ld\n", search_local(text, 64), search_given(yy, text, 64), search_big(3, 50));
    return 0;
}
