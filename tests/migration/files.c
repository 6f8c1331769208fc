/* Files read and written across migration: a file written through stdio (with data still in
 * the buffer at migration points), one read back with fseek/fread, and unflushed stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *out_path = argc > 1 ? argv[1] : "files-out.txt";
    FILE *out = fopen(out_path, "w");
    if (!out) { perror(out_path); return 1; }
    unsigned long h = 5381;
    for (int i = 0; i < 30000; i++) {
        fprintf(out, "line %d %lu\n", i, h);
        h = h * 33 + (unsigned long)i;
        if (i % 5000 == 0)
            printf("progress %d\n", i); /* stdout stays buffered when it is a file or pipe */
    }
    fclose(out);
    FILE *in = fopen(out_path, "r");
    char buf[64];
    long lines = 0, sum = 0;
    while (fgets(buf, sizeof buf, in)) {
        lines++;
        sum += (long)strlen(buf);
        if (lines % 7000 == 0) {
            long here = ftell(in);
            fseek(in, 0, SEEK_SET);
            fseek(in, here, SEEK_SET);
        }
    }
    fclose(in);
    FILE *app = fopen(out_path, "a");
    fprintf(app, "summary %ld %ld %lu\n", lines, sum, h);
    fclose(app);
    printf("lines %ld bytes %ld hash %lu\n", lines, sum, h);
    return 0;
}
