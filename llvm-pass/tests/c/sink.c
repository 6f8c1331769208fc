/* Addresses at constant offsets from a base, used on both sides of calls (an interpreter's
 * register slots `base + A`): see addresses_are_recomputed_next_to_their_uses in
 * llvm-pass/tests/fixups.rs. */
#include <stdio.h>

struct slot { long v; int tag; };

__attribute__((noinline)) long touch(struct slot *s, long k) { s->v += k; return s->v & 7; }

__attribute__((noinline)) long run(struct slot *base, const unsigned char *code, int n) {
  long acc = 0;
  for (int pc = 0; pc < n; pc++) {
    struct slot *ra = base + 1, *rb = base + 2, *rc = base + 3;
    switch (code[pc] & 3) {
    case 0: acc += touch(ra, acc); ra->tag = 1; rb->v += ra->v; break;
    case 1: acc += touch(rb, pc); rc->v ^= rb->v; rb->tag = 2; break;
    case 2: acc -= touch(rc, acc) + ra->v; rc->tag = 3; break;
    default: acc ^= touch(base, pc) + rb->v + rc->v; break;
    }
  }
  return acc;
}

int main(void) {
  struct slot regs[4] = {{1, 0}, {2, 0}, {3, 0}, {4, 0}};
  unsigned char code[64];
  for (int i = 0; i < 64; i++) code[i] = (unsigned char)(i * 7 + 3);
  printf("%ld %ld %ld\n", run(regs, code, 64), regs[1].v, regs[3].v);
  return 0;
}
