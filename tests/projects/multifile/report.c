#include <stdarg.h>
#include <string.h>

#include "numstat.h"

void report(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("| ", out);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

int warnf(int line, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "numstat: line %d: %s\n", line, buf);
    return n;
}

void print_table(const struct record *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char upper[32], rev[32];
        strcpy(upper, recs[i].name);
        str_upper(upper);
        strcpy(rev, recs[i].name);
        str_reverse(rev);
        report(stdout, "%3d %-12s %-12s %-12s v=%d %14.6f %12.5e %08lx", recs[i].line, recs[i].name, upper,
               rev, count_vowels(recs[i].name), recs[i].value, recs[i].value,
               str_hash(recs[i].name) & 0xffffffffUL);
    }
}

void print_stats(const struct stats *st)
{
    printf("n=%zu sum=%.17g\n", st->n, st->sum);
    printf("mean=%.17g stddev=%.17g\n", st->mean, st->stddev);
    printf("geomean=%.10g median=%g min=%g max=%g\n", st->geomean, st->median, st->min, st->max);
    printf("hex mean=%a\n", st->mean);
}
