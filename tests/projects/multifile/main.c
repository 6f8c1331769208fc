/* numstat [-s value|value-desc|name] [-o OP]... [-q] [WORD]...
 * Reads "name value" records from stdin, prints them sorted, statistics and the results of
 * the requested operations; words given as arguments are analysed as strings.
 * Exit status: 0 ok, 2 if some input lines were invalid, 64 on a usage error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "numstat.h"

#define MAX_RECORDS 1000

static struct record records[MAX_RECORDS];

static int usage(const char *msg)
{
    fprintf(stderr, "numstat: %s\nusage: numstat [-s value|value-desc|name] [-o OP]... [-q] [WORD]...\nops: ", msg);
    list_ops(stderr);
    return 64;
}

int main(int argc, char **argv)
{
    record_cmp cmp = cmp_by_value;
    const struct op *todo[16];
    size_t ntodo = 0;
    int quiet = 0, i;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            cmp = comparator_named(argv[++i]);
            if (!cmp)
                return usage("unknown sort key");
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            const struct op *op = find_op(argv[++i]);
            if (!op)
                return usage("unknown operation");
            if (ntodo < sizeof todo / sizeof todo[0])
                todo[ntodo++] = op;
        } else if (strcmp(argv[i], "-q") == 0) {
            quiet = 1;
        } else {
            return usage("unknown option");
        }
    }
    for (; i < argc; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", argv[i]);
        str_reverse(buf);
        printf("word %s: length %zu, vowels %d, reversed %s, hash %016lx\n", argv[i], strlen(argv[i]),
               count_vowels(argv[i]), buf, str_hash(argv[i]));
    }

    char line[256];
    size_t n = 0;
    int lineno = 0, bad = 0;
    while (fgets(line, sizeof line, stdin)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *words[4];
        size_t nw = split_words(s, words, 4);
        char *end;
        errno = 0;
        double v = nw == 2 ? strtod(words[1], &end) : 0;
        if (nw != 2 || *end || errno || strlen(words[0]) >= sizeof records[0].name) {
            warnf(lineno, "cannot parse '%s'%s", words[0], nw != 2 ? " (expected: name value)" : "");
            bad++;
            continue;
        }
        if (n == MAX_RECORDS) {
            warnf(lineno, "too many records");
            break;
        }
        strcpy(records[n].name, words[0]);
        records[n].value = v;
        records[n].line = lineno;
        n++;
    }

    qsort(records, n, sizeof records[0], cmp);
    if (!quiet)
        print_table(records, n);
    struct stats st;
    compute_stats(records, n, &st);
    print_stats(&st);

    double *values = malloc((n ? n : 1) * sizeof *values);
    for (size_t k = 0; k < n; k++)
        values[k] = records[k].value;
    for (size_t k = 0; k < ntodo; k++)
        printf("%s = %.15g\n", todo[k]->name, todo[k]->fn(values, n));
    free(values);

    if (bad)
        fprintf(stderr, "numstat: %d invalid line%s\n", bad, bad == 1 ? "" : "s");
    return bad ? 2 : 0;
}
