#include <math.h>
#include <string.h>

#include "numstat.h"

static double op_sum(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s;
}

static double op_product(const double *v, size_t n)
{
    double p = 1;
    for (size_t i = 0; i < n; i++)
        p *= v[i];
    return p;
}

static double op_norm(const double *v, size_t n)
{
    double h = 0;
    for (size_t i = 0; i < n; i++)
        h = hypot(h, v[i]);
    return h;
}

static double op_harmonic(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += 1.0 / v[i];
    return (double)n / s;
}

static double op_softmax_max(const double *v, size_t n)
{
    double m = -INFINITY, s = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, v[i]);
    for (size_t i = 0; i < n; i++)
        s += exp(v[i] - m);
    return exp(0.0) / s;
}

static double op_trig(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += sin(v[i]) * cos(v[i] / 3) + atan2(v[i], 7.0) + cbrt(v[i]) + pow(fabs(v[i]), 0.37);
    return s;
}

static const struct op ops[] = {
    {"sum", op_sum},     {"product", op_product},         {"norm", op_norm},
    {"harmonic", op_harmonic}, {"softmax-max", op_softmax_max}, {"trig", op_trig},
};

const struct op *find_op(const char *name)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].name, name) == 0)
            return &ops[i];
    return NULL;
}

void list_ops(FILE *out)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        fprintf(out, "%s%s", i ? ", " : "", ops[i].name);
    fputc('\n', out);
}
