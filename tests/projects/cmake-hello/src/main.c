/* hello SHAPE PARAMS... [SHAPE PARAMS...]: prints area and perimeter of each shape. */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "shapes.h"

static void describe(const struct shape_class *c, void *arg)
{
    int *count = arg;
    printf("  %d: %s (%d parameter%s)\n", ++*count, c->name, c->nparams, c->nparams == 1 ? "" : "s");
}

int main(int argc, char **argv)
{
    int count = 0;
    printf("cmake-hello %s, sizeof(long)=%d sizeof(void *)=%d\n", shapes_version(), SIZEOF_LONG, SIZEOF_VOID_P);
    printf("shapes:\n");
    shape_class_foreach(describe, &count);

    double total = 0;
    int i = 1;
    while (i < argc) {
        const struct shape_class *c = shape_class_find(argv[i]);
        if (!c) {
            fprintf(stderr, "hello: unknown shape '%s'\n", argv[i]);
            return 3;
        }
        if (i + c->nparams >= argc) {
            fprintf(stderr, "hello: %s needs %d parameters\n", c->name, c->nparams);
            return 4;
        }
        double p[3];
        for (int k = 0; k < c->nparams; k++)
            p[k] = strtod(argv[i + 1 + k], NULL);
        double a = c->area(p);
        printf("%-8s area %-12.6g perimeter %.10f\n", c->name, a, c->perimeter(p));
        total += a;
        i += 1 + c->nparams;
    }
    printf("total area %.5f\n", total);
    return 0;
}
