/* A large heap (256 MiB) whose contents must all survive migration. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    size_t n = (256u << 20) / sizeof(unsigned long);
    unsigned long *a = malloc(n * sizeof *a);
    if (!a) { puts("no memory"); return 1; }
    for (size_t i = 0; i < n; i++)
        a[i] = i * 2654435761u;
    unsigned long sum = 0;
    for (int pass = 0; pass < 4; pass++) {
        for (size_t i = 0; i < n; i += 1024)
            sum = sum * 31 + a[(i * 7919 + pass) % n];
        for (size_t i = pass; i < n; i += 4096)
            a[i] ^= sum;
        printf("pass %d sum %lu\n", pass, sum);
    }
    free(a);
    return 0;
}
