/* The built-in example `make demo` builds with unimig-cc and runs on both ISAs.
 * It exercises what migration must preserve: recursion, pointers into the stack and heap,
 * function pointers, thread-local storage, floating point with libm, and open files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local unsigned long tls_calls;

/* Counts solutions of the n-queens problem: deep recursion with pointers into the stack. */
static int queens(int row, int n, int *cols) {
    tls_calls++;
    if (row == n)
        return 1;
    int count = 0;
    for (int c = 0; c < n; c++) {
        int ok = 1;
        for (int r = 0; r < row && ok; r++)
            ok = cols[r] != c && abs(cols[r] - c) != row - r;
        if (ok) {
            cols[row] = c;
            count += queens(row + 1, n, cols);
        }
    }
    return count;
}

struct node {
    struct node *next;
    double value;
};

static double square(double x) { return x * x; }
static double root(double x) { return sqrt(x); }
static double wave(double x) { return sin(x) * cos(x / 3.0); }

static const struct {
    const char *name;
    double (*fn)(double);
} transforms[] = {{"square", square}, {"root", root}, {"wave", wave}};

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 8;
    int cols[32];
    printf("queens(%d) = %d (%lu calls)\n", n, queens(0, n, cols), tls_calls);

    /* A heap list whose values go through a table of function pointers. */
    struct node *head = NULL;
    for (int i = 1; i <= 12; i++) {
        struct node *node = malloc(sizeof *node);
        node->value = transforms[i % 3].fn(i * 0.75);
        node->next = head;
        head = node;
    }
    double values[12];
    int k = 0;
    for (struct node *p = head; p; p = p->next)
        values[k++] = p->value;
    qsort(values, 12, sizeof values[0], by_value);
    for (int i = 0; i < 12; i++)
        printf("%s%.17g", i ? " " : "sorted: ", values[i]);
    printf("\n");

    /* A file written and read back. */
    const char *path = argc > 2 ? argv[2] : "demo.out";
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    for (int i = 0; i < 5; i++)
        fprintf(f, "line %d: %s %.6f\n", i, transforms[i % 3].name, transforms[i % 3].fn(i + 0.5));
    fclose(f);
    f = fopen(path, "r");
    char line[128];
    unsigned long checksum = 0;
    while (fgets(line, sizeof line, f))
        for (char *c = line; *c; c++)
            checksum = checksum * 31 + (unsigned char)*c;
    fclose(f);
    printf("file checksum: %lx\n", checksum);
    printf("sizeof(long) = %zu, sizeof(void *) = %zu, char is %s\n", sizeof(long), sizeof(void *),
           (char)-1 < 0 ? "signed" : "unsigned");
    while (head) {
        struct node *next = head->next;
        free(head);
        head = next;
    }
    return 0;
}
