/* Call sites where code generation keeps a value live across the call that the stackmap record
 * does not list (tests/unsafe_sites.rs): a global's address and large constants used in a
 * loop around a call are computed once, before the loop, into callee-saved registers. */
#include <stdio.h>

int table[64];
static int steps;

__attribute__((noinline)) void step(int i) {
  steps += 1;
  table[i & 63] += i;
}

__attribute__((noinline)) int sum_table(int n) {
  int s = 0;
  for (int i = 0; i < n; i++) {
    step(i);
    s += table[i & 63];
  }
  return s;
}

__attribute__((noinline)) long mix(long n) {
  long s = 0;
  for (long i = 0; i < n; i++) {
    step((int)i);
    s ^= i * 0x123456789abcdefL + 0x7edcba9876543210L;
  }
  return s;
}

/* No loop, nothing computed early: nothing to report. */
__attribute__((noinline)) int once(int x) {
  step(x);
  return x + 1;
}

int main(int argc, char **argv) {
  (void)argv;
  int n = 200 * argc;
  printf("%d %ld %d %d\n", sum_table(n), mix(n), once(argc), steps);
  return 0;
}
