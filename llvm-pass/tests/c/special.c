#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>

static jmp_buf env;

/* Uses va_start: skipped (ISA-specific va_list). */
__attribute__((noinline)) int sum_ints(int n, ...) {
  va_list ap;
  va_start(ap, n);
  int s = 0;
  for (int i = 0; i < n; i++) s += va_arg(ap, int);
  va_end(ap);
  return s;
}

__attribute__((noinline)) double mix(int n, ...) {
  va_list ap;
  va_start(ap, n);
  double s = 0;
  for (int i = 0; i < n; i++) s += va_arg(ap, double);
  va_end(ap);
  return s;
}

/* Takes a va_list: va_arg expands differently per ISA in the front end, so the function's
   IR differs between the ISAs; compile_pair leaves it uninstrumented on both. */
__attribute__((noinline)) int vsum(int n, va_list ap) {
  int s = 0;
  for (int i = 0; i < n; i++) {
    int v = va_arg(ap, int);
    s += v;
    printf("vsum %d\n", v);
  }
  return s;
}

__attribute__((noinline)) int vcall(int n, ...) {
  va_list ap;
  va_start(ap, n);
  int s = vsum(n, ap);
  va_end(ap);
  return s;
}

/* sigsetjmp keeps its own return address in the buffer: skipped (returns_twice). */
__attribute__((noinline)) int try_it(int x) {
  if (sigsetjmp(env, 1)) return -1;
  if (x > 3) siglongjmp(env, 1);
  return x;
}

/* Inline asm: the asm call gets no stackmap, the rest is instrumented. */
__attribute__((noinline)) int with_asm(int x) {
  __asm__ volatile("" ::: "memory");
  printf("asm %d\n", x);
  return x + 1;
}

__attribute__((noinline)) __int128 wide(__int128 a, int k) {
  __int128 r = a * k;
  printf("wide %d\n", (int)(r >> 64));
  return r + a;
}

typedef struct { float x, y; } vec2;
__attribute__((noinline)) vec2 scale(vec2 v, float k) { vec2 r = { v.x * k, v.y * k }; return r; }

/* Plain setjmp: instrumented, the setjmp call is a stackmapped site (its jmp_buf is registered
 * and rewritten on migration). */
__attribute__((noinline)) int try_plain(int x) {
  if (setjmp(env)) return -2;
  if (x > 5) longjmp(env, 1);
  return x * 2;
}

int main(int argc, char **argv) {
  printf("%d %d\n", sum_ints(3, 1, 2, 3), sum_ints(2, argc, argc));
  printf("%d\n", vcall(3, 4, 5, argc));
  printf("%.2f\n", mix(3, 1.5, 2.5, argc * 1.0));
  printf("%d %d\n", try_it(argc), try_it(argc + 5));
  printf("%d %d\n", try_plain(argc), try_plain(argc + 5));
  printf("%d\n", with_asm(argc));
  __int128 w = wide((__int128)argc << 70, 3);
  printf("%d\n", (int)(w >> 64));
  vec2 v = { 1.5f, 2.5f };
  vec2 s = scale(v, (float)argc);
  printf("%.2f %.2f\n", s.x, s.y);
  uint8_t b = (uint8_t)argc;
  _Bool flag = argc > 1;
  printf("%u %d %d\n", b, flag, sum_ints(1, b));
  printf("%u %d\n", b + 1, flag);
  return 0;
}
