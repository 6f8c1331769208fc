/* Sibling calls and shrink-wrapped shadow frames across migrations.
 * - dispatch() returns op_*(...) from every arm of a switch: sibling calls, kept as jumps, so a
 *   migration inside an op_* finds no frame of dispatch (the op returns to dispatch's caller);
 * - even()/odd() recurse into each other through tail calls only;
 * - convert() has a local whose address is taken only on a rare path (a shadow frame made in
 *   that path's block, not at entry); the rare path calls deeper code that migrates while a
 *   pointer to the local is held, and reads the local after. */
#include <stdio.h>
#include <stdlib.h>

static long total;

__attribute__((noinline)) static long tick(long v) {
    total = total * 31 + v;
    return v;
}

__attribute__((noinline)) static long op_add(long a, long b) { return tick(a + b); }
__attribute__((noinline)) static long op_mul(long a, long b) { return tick(a * (b | 1) % 1000003); }
__attribute__((noinline)) static long op_sub(long a, long b) { return tick(a - b / 3); }
__attribute__((noinline)) static long op_deep(long a, long b);

__attribute__((noinline)) static long dispatch(int op, long a, long b) {
    switch (op & 3) {
    case 0:
        return op_add(a, b);
    case 1:
        return op_mul(a, b);
    case 2:
        return op_sub(a, b);
    default:
        return op_deep(a, b);
    }
}

__attribute__((noinline)) static long op_deep(long a, long b) {
    if (b <= 0)
        return tick(a);
    return dispatch((int)(a + b), a + 1, b - 1);
}

__attribute__((noinline)) static int odd(unsigned n);
__attribute__((noinline)) static int even(unsigned n) {
    tick(n);
    return n == 0 ? 1 : odd(n - 1);
}
__attribute__((noinline)) static int odd(unsigned n) {
    tick(n);
    return n == 0 ? 0 : even(n - 1);
}

/* convert's local, the first time its rare path ran: it is called from main's loop at one
 * depth, so the local must be at that address every time, or a shadow frame was not given back
 * on some path (the output says so). */
static long *first_slot;
static int unbalanced;

/* Parses digits the slow way through a pointer to a local, only for odd inputs. */
__attribute__((noinline)) static void fill(long *out, long v, int depth) {
    if (depth > 0) {
        fill(out, v * 3 + depth, depth - 1);
        *out += tick(depth);
    } else {
        *out = v;
    }
}

__attribute__((noinline)) static long convert(long v) {
    if ((v & 1) == 0)
        return v / 2; /* the common path: no frame */
    long slot = 0;
    long *p = &slot;
    if (!first_slot)
        first_slot = p;
    unbalanced |= p != first_slot;
    fill(p, v, (int)(v % 7) + 2);
    return slot + *p / 5;
}

int main(void) {
    long acc = 1;
    for (int round = 0; round < 3000; round++) {
        acc = acc * 7 + dispatch(round, acc & 0xffff, round % 9);
        acc += even((unsigned)(round % 40)) ? 3 : 5;
        acc ^= convert(acc & 0xfff);
        if (round % 500 == 0)
            printf("round %d: acc %ld total %ld\n", round, acc, total);
    }
    printf("acc %ld total %ld\n", acc, total);
    printf("shadow stack balanced: %s\n", unbalanced ? "no" : "yes");
    return 0;
}
