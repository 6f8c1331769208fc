/* A code-placement control for the benchmarks: linked before a program's own objects, these
 * PAD bytes in .text move all the program's code (and the libraries after it) without changing
 * one instruction. `retain` keeps the linker's section garbage collection from dropping the
 * unreferenced array. */
__attribute__((used, retain, section(".text.unimig_bench_pad"))) static const unsigned char
    unimig_bench_pad[PAD] = {1};
