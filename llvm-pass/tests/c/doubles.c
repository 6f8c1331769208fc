/* Values live across calls that code generation keeps somewhere else too. `digest`: arguments
 * spilled at entry while a register copy feeds the record, reloaded from the slot after the
 * call (zlib's compress2 has this shape). `series`: doubles live across calls (their bit
 * patterns travel in general-purpose registers) and floating-point constants the loop keeps
 * in callee-saved registers. */
struct acc {
    long sum;
    unsigned n;
};

#include <stdio.h>

__attribute__((noinline)) int feed(struct acc *a, const unsigned char *p, unsigned len) {
    for (unsigned i = 0; i < len; i++)
        a->sum = a->sum * 31 + p[i];
    a->n += len;
    return (int)(a->sum & 1);
}

__attribute__((noinline)) double wave(double x, int i) { return x * 0.5 + i * 0.25; }

long digest(unsigned char *dst, unsigned long *dst_len, const unsigned char *src,
            unsigned long src_len, int level) {
    struct acc a = {0, 0};
    unsigned long left = *dst_len;
    *dst_len = 0;
    int odd = 0;
    do {
        unsigned chunk = src_len > 97 ? 97 : (unsigned)src_len;
        odd += feed(&a, src, chunk);
        src += chunk;
        src_len -= chunk;
        if (left) {
            *dst++ = (unsigned char)(a.sum ^ level);
            left--;
            (*dst_len)++;
        }
    } while (src_len);
    return a.sum + odd + a.n + level;
}

double series(int n, double start) {
    double a = start, b = start / 2, c = 1.0;
    for (int i = 0; i < n; i++) {
        double s = wave(a + 1.0, i);
        a = a * 0.999 + s;
        b = b + s * c;
        c = c * 1.0001 + s / 10.0;
    }
    return a + b + c;
}

int main(void) {
    static unsigned char in[4096], out[64];
    for (unsigned i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)(i * 7 ^ i >> 3);
    unsigned long n = sizeof out;
    long d = digest(out, &n, in, sizeof in, 5);
    printf("%ld %lu %d %.6f\n", d, n, out[n - 1], series(100, 0.5));
    return 0;
}
