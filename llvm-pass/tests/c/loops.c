#include <stdio.h>
#include <string.h>

typedef struct node { int key; struct node *next; } node;

__attribute__((noinline)) static int visit(node *n, int depth) { return n->key * depth; }

static int walk(node *head, int rounds) {
  int total = 0;
  for (int r = 0; r < rounds; r++)
    for (node *n = head; n; n = n->next)
      total += visit(n, r);
  return total;
}

/* An irreducible loop (two entries) built with goto. */
static int irreducible(int a, int b) {
  int x = 0;
  if (a & 1) goto second;
first:
  x += a;
  if (x > 1000) return x;
second:
  x += b + (int)strlen("ab");
  if (x < 500) goto first;
  return x;
}

static unsigned char small_counter(unsigned char c, int n) {
  unsigned char acc = c;
  short s = (short)n;
  for (int i = 0; i < n; i++) {
    acc = (unsigned char)(acc * 3 + 1);
    s = (short)(s ^ acc);
    printf("%u %d\n", acc, s);
  }
  return (unsigned char)(acc + s);
}

long collatz(long n) {
  long steps = 0;
  while (n != 1) {
    n = (n & 1) ? 3 * n + 1 : n / 2;
    steps++;
  }
  return steps;
}

int main(int argc, char **argv) {
  node nodes[5];
  for (int i = 0; i < 5; i++) { nodes[i].key = i + argc; nodes[i].next = i < 4 ? &nodes[i + 1] : 0; }
  printf("walk=%d\n", walk(nodes, 3 + argc));
  printf("irr=%d\n", irreducible(argc, 7));
  printf("small=%u\n", small_counter((unsigned char)(argc + 200), 5));
  long best = 0;
  for (long i = 1; i < 3000; i++) { long c = collatz(i); if (c > best) best = c; }
  printf("collatz=%ld\n", best);
  switch (argc) {
  case 1: puts("one"); break;
  case 2: puts("two"); break;
  case 3: case 4: puts("three/four"); break;
  default: puts("many");
  }
  return 0;
}
