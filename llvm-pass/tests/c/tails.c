/* Sibling calls (sibcall.rs) and shrink-wrapped shadow frames (shadow.rs, FrameRegion). */
#include <stdio.h>

static long total;

__attribute__((noinline)) static long tick(long v) {
    total = total * 31 + v;
    return v;
}

__attribute__((noinline)) static long op_add(long a, long b) { return tick(a + b); }
__attribute__((noinline)) static long op_mul(long a, long b) { return tick(a * (b | 1) % 1000003); }
__attribute__((noinline)) static long op_sub(long a, long b) { return tick(a - b / 3); }

/* Every arm returns a call: each becomes a jump. */
__attribute__((noinline)) static long dispatch(int op, long a, long b) {
    switch (op % 3) {
    case 0:
        return op_add(a, b);
    case 1:
        return op_mul(a, b);
    default:
        return op_sub(a, b);
    }
}

/* Nine integer arguments: three go on the stack on x86-64, so it is not a sibling call. */
__attribute__((noinline)) static long many(long a, long b, long c, long d, long e, long f, long g,
                                           long h, long i) {
    return tick(a + b + c + d + e + f + g + h + i);
}
__attribute__((noinline)) static long calls_many(long x) {
    return many(x, x + 1, x * 2, x ^ 3, x - 4, x * 5, x + 6, x >> 1, x | 8);
}

/* Indirect calls stay statepoints, also in tail position (the last one): jansson's
 * dump_indent, whose indirect sibling call made AArch64's register allocator give up. */
typedef int (*emit_fn)(const char *, long, void *);
static int emit(const char *s, long n, void *data) {
    *(long *)data += n + *s;
    return n > 40;
}
__attribute__((noinline)) static int indent(long flags, int depth, emit_fn out, void *data) {
    if (flags & 31) {
        unsigned n = depth * (flags & 31);
        if (out("\n", 1, data))
            return -1;
        while (n > 0) {
            unsigned cur = n < 32 ? n : 32;
            if (out("                                ", cur, data))
                return -1;
            n -= cur;
        }
    } else if (depth && !(flags & 32)) {
        return out(" ", 1, data);
    }
    return 0;
}

__attribute__((noinline)) static void fill(long *out, long v) { *out = tick(v * 3); }

/* The local is used on the odd path only: its frame is made there. */
__attribute__((noinline)) static long rare_local(long v) {
    if ((v & 1) == 0)
        return v / 2;
    long slot;
    fill(&slot, v);
    return slot + 1;
}

/* The local is used inside a loop: its frame is made once, at entry. */
__attribute__((noinline)) static long loop_local(long n) {
    long sum = 0;
    for (long i = 0; i < n; i++) {
        if (i % 3 == 0) {
            long slot;
            fill(&slot, i);
            sum += slot;
        }
    }
    return sum;
}

int main(int argc, char **argv) {
    (void)argv;
    long acc = argc;
    for (int round = 0; round < 200; round++) {
        acc = acc * 7 + dispatch(round, acc & 0xffff, round % 9);
        acc ^= rare_local(acc & 0xfff) + calls_many(round);
        acc += loop_local(round % 7);
        acc += indent(round % 40, round % 5, emit, &total);
    }
    printf("acc %ld total %ld\n", acc, total);
    return 0;
}
