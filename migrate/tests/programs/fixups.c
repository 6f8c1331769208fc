/* A loop around a call whose AArch64 code keeps link-time constants in callee-saved registers
 * across it that the stackmap record does not list (table's address): the call site gets fixups instead of being unsafe. */
__attribute__((weak)) int __unimig_migrate_requested;
int table[64];
static volatile int seed = 3;

/* A leaf gets no entry poll (llvm-pass: it returns to a caller that polls): step calls tick
 * so that it has one. */
__attribute__((noinline)) void tick(void) { seed = seed + 0; }

__attribute__((noinline)) void step(int i) {
    if (i == 4)
        __unimig_migrate_requested = 1;
    table[i & 63] += i;
    tick();
}

__attribute__((noinline)) int sum_table(int n) {
    int s = 0;
    /* Two calls in one block: the block computes table's address once and keeps it across
     * both calls (SelectionDAG shares it), outside the records. */
    for (int i = 0; i < n; i += 2) {
        step(i);
        s += table[i & 63];
        step(i + 1);
        s += table[(i + 1) & 63];
    }
    return s;
}

int main(void) { return sum_table(seed * 10) & 0x7f; }
