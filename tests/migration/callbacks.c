/* Function-pointer tables, qsort/bsearch callbacks (libc frames on the stack: migration must
 * wait until they return), and an atexit handler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef long (*op_fn)(long, long);
static long add(long a, long b) { return a + b; }
static long sub(long a, long b) { return a - b; }
static long mul(long a, long b) { return a * b % 1000003; }
static long mix(long a, long b) { return (a ^ (b << 3)) + 17; }
static op_fn table[] = {add, sub, mul, mix};

static int by_value(const void *x, const void *y) {
    long a = *(const long *)x, b = *(const long *)y;
    return (a > b) - (a < b);
}

static op_fn chosen = mix; /* a function pointer in data */
static void bye(void) { printf("atexit: %ld\n", chosen(2, 3)); }

int main(void) {
    atexit(bye);
    enum { N = 20000 };
    long *v = malloc(N * sizeof *v);
    unsigned long seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        v[i] = (long)(seed >> 33) % 100000;
    }
    long acc = 1;
    /* Most of the work is in the program's own code; each pass also sorts a slice (a
     * migration requested while qsort runs its comparator waits until qsort returns). */
    enum { SLICE = 300 };
    for (int pass = 0; pass < 30; pass++) {
        for (int i = 0; i < N; i++)
            acc = table[(i + pass) % 4](acc, v[i]);
        long *slice = v + (pass * 617) % (N - SLICE);
        qsort(slice, SLICE, sizeof *v, by_value);
        long key = slice[SLICE / 3];
        long *hit = bsearch(&key, slice, SLICE, sizeof *v, by_value);
        printf("pass %d: acc %ld median %ld found %d\n", pass, acc, slice[SLICE / 2], hit != NULL);
        for (int i = 0; i < N; i++)
            v[i] = (v[i] * 7 + pass) % 100000;
    }
    free(v);
    return 0;
}
