/* A function with a local whose type differs in size between the ISAs (struct stat: 144 bytes
 * on x86-64, 128 on AArch64) stays on the stack while the program migrates: its shadow slot
 * takes the larger size on both ISAs, so the frames agree (-Wunimig-isa-layout warns that
 * the struct's contents are not converted; this program copies what it needs first). */
#include <stdio.h>
#include <sys/stat.h>

static unsigned long mix(unsigned long h, unsigned long v) { return (h ^ v) * 0x100000001b3UL; }

__attribute__((noinline)) static unsigned long work(unsigned long h, int n) {
    for (int i = 0; i < n; i++)
        h = mix(h, (unsigned long)i * 2654435761UL);
    return h;
}

__attribute__((noinline)) static unsigned long scan(const char *path, int rounds) {
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    long size = (long)st.st_size; /* copied before any migration can happen */
    int is_dir = S_ISDIR(st.st_mode);
    unsigned long h = 1469598103934665603UL;
    for (int r = 0; r < rounds; r++) {
        h = work(h + (unsigned long)size, 2000);
        if (r % 50 == 0)
            printf("round %d dir %d h %lu\n", r, is_dir, h);
    }
    return h;
}

int main(void) {
    printf("final %lu\n", scan("/", 400));
    return 0;
}
