/* numstat: a small multi-file C program used by unimig's end-to-end tests. */
#ifndef NUMSTAT_H
#define NUMSTAT_H

#include <stddef.h>
#include <stdio.h>

struct record {
    char name[32];
    double value;
    int line;
};

struct stats {
    size_t n;
    double sum, mean, stddev, geomean, min, max, median;
};

/* strutil.c */
void str_upper(char *s);
void str_reverse(char *s);
int count_vowels(const char *s);
char *trim(char *s);
unsigned long str_hash(const char *s);
size_t split_words(char *line, char **words, size_t max);

/* stats.c */
typedef int (*record_cmp)(const void *, const void *);
int cmp_by_value(const void *a, const void *b);
int cmp_by_value_desc(const void *a, const void *b);
int cmp_by_name(const void *a, const void *b);
record_cmp comparator_named(const char *name);
void compute_stats(const struct record *recs, size_t n, struct stats *out);

/* ops.c */
struct op {
    const char *name;
    double (*fn)(const double *values, size_t n);
};
const struct op *find_op(const char *name);
void list_ops(FILE *out);

/* report.c */
void report(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int warnf(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void print_table(const struct record *recs, size_t n);
void print_stats(const struct stats *st);

#endif
