/* Many integers live across calls in several frames (callee-saved registers of each frame, then
 * the save slots of the frames inside it), and function pointers live across calls. */
__attribute__((weak)) int __unimig_migrate_requested;

typedef long (*op_fn)(long, long);
static volatile long seed = 3;

/* A leaf gets no entry poll (llvm-pass: it returns to a caller that polls): add and mul call
 * tick so that they have one. */
__attribute__((noinline)) void tick(void) { seed = seed + 0; }
__attribute__((noinline)) long add(long a, long b) { tick(); return a + b; }
__attribute__((noinline)) long mul(long a, long b) { tick(); return a * b; }

__attribute__((noinline)) long stop_here(long v) {
    __unimig_migrate_requested = 1;
    return v ^ seed;
}

__attribute__((noinline)) long level(int depth, op_fn f, op_fn g) {
    long a = seed * 11, b = seed * 13, c = seed * 17, d = seed * 19;
    long e = seed * 23, h = seed * 29, i = seed * 31, j = seed * 37;
    long r = depth == 0 ? stop_here(a + j) : level(depth - 1, g, f);
    return f(r, a) + g(b, c) + d * e + h * i + j + depth;
}

int main(void) {
    op_fn table[2] = {add, mul};
    return (int)(level(6, table[seed & 1], table[(seed + 1) & 1]) & 0x7f);
}
