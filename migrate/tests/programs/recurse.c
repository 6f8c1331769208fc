/* Non-tail recursion (150 deep unless argv[1] says otherwise); every frame keeps an int and two doubles live across the
 * recursive call (x86-64 spills the doubles to stack slots, AArch64 keeps them in d8-d15). The
 * innermost call sets the migration flag itself, so the next poll (probe's entry) stops there. */
#include <stdlib.h>
__attribute__((weak)) int __unimig_migrate_requested;

volatile double sink;

/* A leaf gets no entry poll (llvm-pass: it returns to a caller that polls): probe calls
 * tick so that it has one. */
__attribute__((noinline)) void tick(void) { sink = sink + 1; }

__attribute__((noinline)) double probe(double x) {
    sink = x;
    tick();
    return x * 0.5;
}

__attribute__((noinline)) double walk(int n, double x, double y) {
    if (n == 0) {
        __unimig_migrate_requested = 1;
        /* Not a tail call: a sibling call would leave no frame of this walk on the stack. */
        return probe(x + y) + 1.0;
    }
    double r = walk(n - 1, x * 1.5, y + 0.25);
    return r * x + y * n;
}

/* argv[1]: depth (default 150). */
int main(int argc, char **argv) {
    double r = walk(argc > 1 ? atoi(argv[1]) : 150, 1.0, 2.0);
    return r > 0 ? 0 : 1;
}
