/* Indirect calls: a bytecode-style loop dispatching through a table of function pointers. */
#include <stdio.h>

typedef long (*op_fn)(long acc, long arg);
static long op_add(long acc, long arg) { return acc + arg; }
static long op_mul(long acc, long arg) { return acc * (arg | 1) % 1000003; }
static long op_xor(long acc, long arg) { return acc ^ (arg << 3); }
static long op_sub(long acc, long arg) { return acc - arg / 2; }
static op_fn table[4] = {op_add, op_mul, op_xor, op_sub};

int main(void) {
    unsigned char prog[256];
    for (int i = 0; i < 256; i++)
        prog[i] = (unsigned char)((i * 37 + 11) % 251);
    long acc = 7;
    for (long r = 0; r < 400000; r++)
        for (int pc = 0; pc < 256; pc++)
            acc = table[prog[pc] & 3](acc, prog[pc] + r);
    printf("%ld\n", acc);
    return 0;
}
