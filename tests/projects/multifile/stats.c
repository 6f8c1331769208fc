#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "numstat.h"

int cmp_by_value(const void *a, const void *b)
{
    const struct record *x = a, *y = b;
    if (x->value < y->value)
        return -1;
    if (x->value > y->value)
        return 1;
    return x->line - y->line; /* stable: qsort is not */
}

int cmp_by_value_desc(const void *a, const void *b)
{
    return -cmp_by_value(a, b);
}

int cmp_by_name(const void *a, const void *b)
{
    const struct record *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->line - y->line;
}

static const struct {
    const char *name;
    record_cmp cmp;
} comparators[] = {
    {"value", cmp_by_value},
    {"value-desc", cmp_by_value_desc},
    {"name", cmp_by_name},
};

record_cmp comparator_named(const char *name)
{
    for (size_t i = 0; i < sizeof comparators / sizeof comparators[0]; i++)
        if (strcmp(comparators[i].name, name) == 0)
            return comparators[i].cmp;
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void compute_stats(const struct record *recs, size_t n, struct stats *st)
{
    memset(st, 0, sizeof *st);
    st->n = n;
    if (n == 0)
        return;
    double *v = malloc(n * sizeof *v);
    double logsum = 0;
    int all_positive = 1;
    st->min = st->max = recs[0].value;
    for (size_t i = 0; i < n; i++) {
        v[i] = recs[i].value;
        st->sum += v[i];
        if (v[i] < st->min)
            st->min = v[i];
        if (v[i] > st->max)
            st->max = v[i];
        if (v[i] > 0)
            logsum += log(v[i]);
        else
            all_positive = 0;
    }
    st->mean = st->sum / (double)n;
    double var = 0;
    for (size_t i = 0; i < n; i++)
        var += (v[i] - st->mean) * (v[i] - st->mean);
    st->stddev = n > 1 ? sqrt(var / (double)(n - 1)) : 0.0;
    st->geomean = all_positive ? exp(logsum / (double)n) : NAN;
    qsort(v, n, sizeof *v, cmp_double);
    st->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
}
