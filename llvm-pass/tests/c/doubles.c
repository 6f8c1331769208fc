/* Doubles live across calls (their bit patterns travel in general-purpose registers) and
 * floating-point constants the loop keeps in callee-saved registers. */
#include <stdio.h>

__attribute__((noinline)) double wave(double x, int i) { return x * 0.5 + i * 0.25; }

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
    printf("%.6f\n", series(100, 0.5));
    return 0;
}
