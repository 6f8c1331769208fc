/* Test program for same-ISA migration (migrate-test.sh runs it under migrate_harness and
 * alone, and compares the outputs byte for byte). Everything the checkpoint must carry is
 * live across many migration points: recursion (frames on the machine stack), heap lists,
 * thread-locals, doubles in callee-saved registers, a file written before and after each
 * migration and read back at the end, stdout bytes still in stdio's buffer, errno, the
 * environment (no UNIMIG_* may be visible). argv[1]: the scratch file's path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;
static _Thread_local long tls_acc = 7;
static _Thread_local char tls_name[16] = "tls";

struct node { struct node *next; double v; long k; };

static double rec(int depth, double x, long *steps)
{
	(*steps)++;
	if (depth == 0) return x * 1.0000001;
	double a = rec(depth - 1, x + depth * 0.5, steps);
	double b = depth % 3 ? rec(depth - 2 < 0 ? 0 : depth - 2, a / 3.0, steps) : a;
	return a * 0.75 + b * 0.25 + (double)depth;
}

int main(int argc, char **argv)
{
	if (argc < 2) return 2;
	for (char **e = environ; *e; e++)
		if (!strncmp(*e, "UNIMIG_", 7)) printf("visible: %s\n", *e);
	printf("env entries: %d\n", (int)(environ ? ({ int n = 0; while (environ[n]) n++; n; }) : 0));
	FILE *f = fopen(argv[1], "w+");
	if (!f) { perror("fopen"); return 1; }
	struct node *head = 0;
	double total = 0.5;
	long steps = 0;
	for (int round = 0; round < 60; round++) {
		struct node *n = malloc(sizeof *n + (size_t)(round % 7) * 1000);
		n->next = head;
		n->v = rec(8 + round % 5, total, &steps);
		n->k = round;
		head = n;
		total += n->v / 1000.0;
		tls_acc = tls_acc * 31 + round;
		tls_name[round % 15] = (char)('a' + round % 26);
		fprintf(f, "round %d %.17g\n", round, n->v);
		if (round % 10 == 9) fflush(f);
		errno = round;   /* must survive the migration points below */
		printf("r%d %.17g %ld %s", round, total, tls_acc, errno == round ? "" : "errno lost ");
		if (round % 4 == 3) putchar('\n');
		if (round % 20 == 19) fflush(stdout);
	}
	putchar('\n');
	long sum = 0;
	for (struct node *n = head; n; n = n->next) sum += n->k;
	printf("sum %ld steps %ld tls %s\n", sum, steps, tls_name);
	rewind(f);
	char line[128];
	int lines = 0;
	unsigned long h = 5381;
	while (fgets(line, sizeof line, f)) {
		lines++;
		for (char *p = line; *p; p++) h = h * 33 + (unsigned char)*p;
	}
	printf("file lines %d hash %lx\n", lines, h);
	fclose(f);
	fprintf(stderr, "done\n");
	return 3;   /* a distinctive exit status, compared too */
}
