#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <alloca.h>
#include <setjmp.h>
struct pt { int x; double y; char name[13]; };
static void show(const char *what, const void *p) { printf("%-12s %p\n", what, p); }
__attribute__((noinline)) static int leaf(int depth, int *outer) {
  char buf[37]; struct pt s; long one;
  show("leaf.buf", buf); show("leaf.s", &s); show("leaf.one", &one);
  snprintf(buf, sizeof buf, "d%d", depth); s.x = depth; one = *outer;
  return (int)strlen(buf) + s.x + (int)one;
}
__attribute__((noinline)) static int vla(int n) {
  int a[n]; int r = 0;
  show("vla.a", a);
  for (int i = 0; i < n; i++) a[i] = i;
  for (int k = 0; k < 3; k++) { char inner[n * 3 + k]; show("vla.inner", inner); inner[0] = (char)k; r += inner[0]; }
  char *p = alloca(n * 8); show("alloca", p); p[0] = 1;
  for (int i = 0; i < n; i++) r += a[i];
  return r + p[0];
}
__attribute__((noinline)) static int rec(int n) {
  int here = n; show("rec.here", &here);
  if (n == 0) return leaf(0, &here);
  return rec(n - 1) + leaf(n, &here);
}
_Alignas(64) static int dummy;
__attribute__((noinline)) static int aligned(void) {
  _Alignas(64) char big[100]; show("aligned.big", big);
  memset(big, 1, sizeof big); return big[99] + dummy;
}
static jmp_buf jb;
__attribute__((noinline)) static void thrower(int i) { char pad[100]; show("thrower.pad", pad); pad[0]=i; if (pad[0] >= 0) longjmp(jb, 1); }
__attribute__((noinline)) static int jumper(void) {
  volatile int count = 0; int local; show("jumper.local", &local);
  if (setjmp(jb) < 3 && count < 3) { count++; thrower(count); }
  char after[8]; show("jumper.after", after); after[0]=0;
  return count + after[0];
}
int main(int argc, char **argv) { (void)argv;
  int m = 5; show("main.m", &m);
  int r = rec(3);
  r += vla(argc + 4); r += vla(3);
  r += aligned();
  r += jumper();
  int z; show("main.z", &z);
  printf("result %d\n", r + m);
  return 0;
}
