/* A migration point inside a qsort comparator: libc's qsort frame has no stackmap record. */
#include <stdlib.h>
__attribute__((weak)) int __unimig_migrate_requested;

static int cmp(const void *a, const void *b) {
    __unimig_migrate_requested = 1;
    return *(const int *)a - *(const int *)b;
}

/* A leaf gets no entry poll (llvm-pass: it returns to a caller that polls): compare_twice calls
 * tick so that it has one. */
static volatile int ticks;
__attribute__((noinline)) void tick(void) { ticks = ticks + 1; }

__attribute__((noinline)) int compare_twice(const void *a, const void *b) {
    tick();
    return cmp(a, b) + cmp(b, a) * 0;
}

int main(void) {
    int v[4] = {4, 2, 3, 1};
    qsort(v, 4, sizeof v[0], compare_twice);
    return v[0] == 1 ? 0 : 1;
}
