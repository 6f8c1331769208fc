/* Constructs unimig-cc warns about that the instrumentation still handles: x87 long double
   and computed goto (see src/hazards.rs). */
#include <stdio.h>

__attribute__((noinline)) long double third(long double x) {
  return x / 3;
}

__attribute__((noinline)) int dispatch(const unsigned char *ops) {
  static const void *table[] = {&&add, &&sub, &&end};
  int acc = 0;
  goto *table[*ops++];
add:
  acc += 2;
  goto *table[*ops++];
sub:
  acc -= 1;
  goto *table[*ops++];
end:
  return acc;
}

int main(int argc, char **argv) {
  (void)argv;
  static const unsigned char prog[] = {0, 0, 1, 2};
  printf("%d %.3Lf\n", dispatch(prog), third((long double)argc));
  return 0;
}
