/* A long-running program for the request-driven commands (`unimig migrate PID`, `unimig
 * checkpoint PID`): it works in rounds, printing a line per round (about half a second
 * natively, several seconds under qemu). Its output does not depend on when it is moved. */
#include <stdio.h>

static unsigned long mix(unsigned long x) {
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185UL;
    return x ^ (x >> 27);
}

int main(void) {
    unsigned long h = 1;
    for (long r = 0; r < 80; r++) {
        for (long i = 0; i < 2000000; i++)
            h = mix(h + (unsigned long)i);
        printf("round %ld %lu\n", r, h);
        fflush(stdout);
    }
    return 0;
}
