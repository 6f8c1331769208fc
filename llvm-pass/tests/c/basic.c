#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct big { long a, b, c, d; };
struct pair { double x, y; };

__attribute__((noinline)) int g(int x) { return x * 7 + 1; }
__attribute__((noinline)) long h(struct big b, char c, short s, _Bool z) { return b.a + b.d + c + s + z; }
__attribute__((noinline)) struct pair mk(double a) { struct pair p = { a, a * 2 }; return p; }
__attribute__((noinline)) double fd(double d) { return d * 0.5; }

static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int f(int x, char c, short s, _Bool z, double d, float fl, long l, struct big b, int *p, int a7, int a8, int a9) {
  int y = x * 3;
  int r = g(y);
  long hv = h(b, c, s, z);
  double e = fd(d);
  struct pair pp = mk(e);
  printf("%d %d %d %d %.3f %.3f %ld %d %d %d %d %ld %.3f\n", r, c, s, z, d, e, l, *p, a7, a8, a9, hv, pp.x + pp.y);
  return y + r + c + s + z + (int)fl + (int)l + a9;
}

int loop_sum(int n, int (*fp)(int)) {
  int acc = 0;
  for (int i = 0; i < n; i++) {
    acc += fp(i);
    if (acc > 1000000) acc -= 999;
  }
  return acc;
}

int main(int argc, char **argv) {
  struct big b = { 1, 2, 3, 4 };
  int v = 42;
  int arr[8] = { 5, 3, 8, 1, 9, 2, 7, 4 };
  qsort(arr, 8, sizeof arr[0], cmp);
  for (int i = 0; i < 8; i++) printf("%d ", arr[i]);
  printf("\n");
  int r = f(argc, 'x', -5, 1, 2.5, 3.5f, 123456789012L, b, &v, 7, 8, 9);
  printf("f=%d loop=%d\n", r, loop_sum(100 + argc, g));
  char buf[32];
  snprintf(buf, sizeof buf, "%s-%d-%.2f", "s", r, 1.25);
  puts(buf);
  return (int)strlen(buf) - 10;
}
