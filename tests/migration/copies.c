/* Values the register allocator keeps twice across calls: arguments spilled at entry while a
 * register copy feeds the stackmap record, then reloaded from the spill slot after the call
 * (zlib's compress2 has this shape). The second copy is not in the record; the
 * transformer must write the recorded value there too (".unimig.fixups" live-value entries).
 * `digest`'s VLA (`tail`) keeps its shadow frame's base recorded across calls (a frame of
 * static slots only is read back from the shadow pointer instead): the register pressure that
 * makes the second copies on AArch64 too. */
#include <stdio.h>
#include <string.h>

struct acc {
    long sum;
    unsigned n;
    unsigned char last;
};

__attribute__((noinline)) static int feed(struct acc *a, const unsigned char *p, unsigned len) {
    for (unsigned i = 0; i < len; i++) {
        a->sum = a->sum * 31 + p[i];
        a->last = p[i];
    }
    a->n += len;
    return (int)(a->sum & 1);
}

__attribute__((noinline)) static long digest(unsigned char *dst, unsigned long *dst_len,
                                             const unsigned char *src, unsigned long src_len,
                                             int level) {
    struct acc a;
    unsigned char tail[level % 4 + 1];
    memset(&a, 0, sizeof a);
    memset(tail, 0, sizeof tail);
    unsigned long left = *dst_len;
    *dst_len = 0;
    int odd = 0;
    do {
        unsigned chunk = src_len > 97 ? 97 : (unsigned)src_len;
        odd += feed(&a, src, chunk);
        src += chunk;
        src_len -= chunk;
        if (left) {
            tail[left % sizeof tail] ^= (unsigned char)a.sum;
            *dst++ = (unsigned char)(a.sum ^ level ^ tail[0]);
            left--;
            (*dst_len)++;
        }
    } while (src_len);
    return a.sum + odd + a.n + a.last + level;
}

int main(void) {
    static unsigned char in[1 << 15], out[1 << 9];
    for (unsigned i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)((i * 7) ^ (i >> 3));
    unsigned long check = 0;
    for (int round = 0; round < 120; round++) {
        unsigned long n = sizeof out;
        long d = digest(out, &n, in, sizeof in - round * 13, round);
        for (unsigned long i = 0; i < n; i++)
            check = check * 131 + out[i];
        /* Every round: a value a migration loses shows up in the output. */
        printf("round %d digest %ld out %lu check %lu\n", round, d, n, check);
    }
    printf("final %lu\n", check);
    return 0;
}
