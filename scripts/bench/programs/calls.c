/* Call-heavy: many small functions the optimiser may not inline (a call per few instructions). */
#include <stdio.h>

#ifndef ROUNDS
#define ROUNDS 60000000u /* scripts/bench/response.sh runs it longer */
#endif

__attribute__((noinline)) static unsigned mix(unsigned a, unsigned b) { return (a ^ (b << 5)) + (b >> 2); }
__attribute__((noinline)) static unsigned step(unsigned x, unsigned i) { return mix(x, i) * 2654435761u; }
__attribute__((noinline)) static unsigned twice(unsigned x, unsigned i) { return step(step(x, i), i + 1); }

int main(void) {
    unsigned h = 1;
    for (unsigned i = 0; i < ROUNDS; i++)
        h = twice(h, i);
    printf("%u\n", h);
    return 0;
}
