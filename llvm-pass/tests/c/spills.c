/* Spill-slot shapes found in Lua (pmain, docall, luaV_execute) that used to make call sites
 * unsafe: see spill_slot_shapes_get_fixups in llvm-pass/tests/fixups.rs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) long get_long(long *p, int k) { return p[k] * 3 + k; }
__attribute__((noinline)) int step(long *p, int v) { p[v & 7] += v; return (int)(p[3] & 15); }
__attribute__((noinline)) double scale(double x) { return x * 1.5; }

/* Returns 0 on many early paths and 1 at the end: the return value lives in a spill slot
 * written with 0 long before the calls. An `int` cut from a `long` result is spilled whole. */
__attribute__((noinline)) int driver(long *p, int argc, char **argv) {
  int n = (int)get_long(p, 1);
  int script = 0, flags = 0;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] != '-') { script = i; break; }
    switch (argv[i][1]) {
    case 'e': flags |= 1; break;
    case 'i': flags |= 2; break;
    case 'v': flags |= 4; break;
    default: return 0;
    }
  }
  if (step(p, n) < 0) return 0;
  for (int i = 0; i < n % 5 + 3; i++) {
    if (step(p, i + flags) == 99) return 0;
    if (get_long(p, i & 7) == 12345) return 0;
  }
  long acc = 0;
  for (int i = 0; i < 40; i++) {
    acc += step(p, i ^ n) + get_long(p, (i + script) & 7) + n + flags + script;
    double d = scale((double)acc);
    if (d < 0) return 0;
    if (i % 9 == 8) printf("acc %ld %d %d %d\n", acc, n, flags, script);
  }
  return 1;
}

/* The VLA keeps main's shadow frame base recorded across calls (a frame of static slots only
 * is read back from the shadow pointer after each call instead). */
int main(int argc, char **argv) {
  long p[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  char tag[argc + 1];
  memset(tag, 'x', sizeof tag);
  int r = driver(p, argc, argv);
  printf("%d %ld %ld %c\n", r, p[0], p[7], tag[argc]);
  return 0;
}
