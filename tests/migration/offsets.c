/* Addresses derived from a recorded one: pointers into a struct and into shadow-stack locals
 * (`buf + 4`, `&count`) that code generation computes from a base pointer the record lists and
 * keeps in a register or spill slot across calls. The transformer rebuilds them as the base's
 * value plus a constant (".unimig.fixups" live values with an addend); without that, the
 * destination reads a zero pointer and crashes (checked by hand on x86-64). `local` has a VLA
 * (`more`): a frame of static slots only is read back from the shadow pointer after each call
 * (llvm-pass/src/shadow.rs), so only a frame with a VLA keeps its base recorded across calls. */
#include <stdio.h>
#include <string.h>
struct state { long hdr[2]; long data[80]; int n; unsigned char flags[32]; };
__attribute__((noinline)) static int step(long *d, int *n, unsigned char *f, int r) {
    d[r & 63] += r; (*n)++; f[r & 15] ^= (unsigned char)r; return (int)(d[(r * 7) & 63] & 3);
}
__attribute__((noinline)) static long run(struct state *s, int rounds) {
    long acc = 0;
    for (int r = 0; r < rounds; r++) {
        acc += step(s->data, &s->n, s->flags, r);
        acc += step(s->data + 8, &s->n, s->flags + 4, r + 1);
        if (r % 97 == 0)
            acc ^= s->data[r & 63] + s->flags[r & 15];
    }
    return acc + s->n;
}
__attribute__((noinline)) static long local(int rounds, int extra) {
    long buf[128]; int count = 0; unsigned char fl[32]; unsigned char more[extra];
    memset(buf, 0, sizeof buf); memset(fl, 0, sizeof fl); memset(more, 1, sizeof more);
    long acc = 0;
    for (int r = 0; r < rounds; r++) {
        acc += step(buf, &count, fl, r);
        acc += step(buf + 4, &count, fl + 8, r ^ 5);
    }
    return acc + count + buf[3] + fl[2] + more[extra - 1];
}
int main(void) {
    static struct state s;
    for (int k = 0; k < 30; k++)
        printf("%d %ld %ld\n", k, run(&s, 3000), local(2000 + k, 16));
    return 0;
}
