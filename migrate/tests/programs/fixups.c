/* A loop around a call whose AArch64 code keeps link-time constants in callee-saved registers
 * across it that the stackmap record does not list (the page of __unimig_migrate_requested
 * for the poll, table's address): the call site gets fixups instead of being unsafe. */
__attribute__((weak)) int __unimig_migrate_requested;
int table[64];
static volatile int seed = 3;

__attribute__((noinline)) void step(int i) {
    if (i == 5)
        __unimig_migrate_requested = 1;
    table[i & 63] += i;
}

__attribute__((noinline)) int sum_table(int n) {
    int s = 0;
    for (int i = 0; i < n; i++) {
        step(i);
        s += table[i & 63];
    }
    return s;
}

int main(void) { return sum_table(seed * 10) & 0x7f; }
