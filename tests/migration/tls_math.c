/* Thread-local state and floating point with libm: doubles live across calls (AArch64 keeps
 * them in d8-d15, x86-64 in stack slots). */
#include <math.h>
#include <stdio.h>

static _Thread_local double tls_sum;
static _Thread_local long tls_calls;

/* Not inlined: the caller's doubles stay live across an instrumented call (its frame is
 * rebuilt with them in d8-d15 or spill slots). */
__attribute__((noinline)) static double step(double x, int i) {
    tls_calls++;
    double y = sin(x) * cos(x / 3.0) + sqrt(fabs(x) + 1.0) - log1p(fabs(x));
    tls_sum += y;
    return y + i * 1e-3;
}

__attribute__((noinline)) static double series(int n, double start) {
    double a = start, b = start / 2, c = 1.0;
    for (int i = 0; i < n; i++) {
        double s = step(a, i); /* a, b, c live across the call */
        a = a * 0.999 + s;
        b = b + s * c;
        c = fmod(c * 1.0001 + exp(-fabs(s)), 10.0);
    }
    return a + b + c;
}

int main(void) {
    for (int k = 0; k < 40; k++) {
        double r = series(2000, k * 0.37);
        printf("k=%d r=%.17g sum=%.17g calls=%ld\n", k, r, tls_sum, tls_calls);
    }
    printf("pow %.17g atan2 %.17g\n", pow(tls_sum, 0.25), atan2(tls_sum, 3.0));
    return 0;
}
