/* A migration point inside a qsort comparator: libc's qsort frame has no stackmap record. */
#include <stdlib.h>
__attribute__((weak)) int __unimig_migrate_requested;

static int cmp(const void *a, const void *b) {
    __unimig_migrate_requested = 1;
    return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) int compare_twice(const void *a, const void *b) {
    return cmp(a, b) + cmp(b, a) * 0;
}

int main(void) {
    int v[4] = {4, 2, 3, 1};
    qsort(v, 4, sizeof v[0], compare_twice);
    return v[0] == 1 ? 0 : 1;
}
