/* setjmp/longjmp across migrations, the way interpreters use them (Lua's luaD_rawrunprotected):
 * nested protected calls, each with its jmp_buf inside a struct on the stack between two other
 * fields, errors thrown from deep recursion and caught by the nearest handler, so jmp_bufs
 * filled on one ISA are longjmp'd to on the other. Also a jmp_buf on the heap and a global one,
 * values that live across setjmp in registers (unmodified after it, so C keeps them), a double,
 * a function pointer and volatile counters modified between setjmp and longjmp. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct handler {
    struct handler *previous;
    jmp_buf b;
    volatile int status;
};

static struct handler *current;
static jmp_buf top_level;
static unsigned long trace = 1469598103934665603UL;

static void note(unsigned long x) {
    trace = (trace ^ x) * 1099511628211UL;
}

__attribute__((noinline)) static void throw_error(int status) {
    if (!current)
        longjmp(top_level, status);
    current->status = status;
    longjmp(current->b, 1);
}

/* Runs f(arg) protected, like luaD_rawrunprotected. */
__attribute__((noinline)) static int protected_call(void (*f)(long), long arg) {
    struct handler h;
    long before = arg * 3 + 1; /* lives across setjmp, not modified */
    double scale = 1.0 / (double)(arg + 2);
    h.status = 0;
    h.previous = current;
    current = &h;
    if (setjmp(h.b) == 0)
        f(arg);
    current = h.previous;
    note((unsigned long)before);
    note((unsigned long)(scale * 1e9));
    return h.status;
}

static long work(long depth, long n) {
    long acc = 0;
    for (long i = 0; i < n; i++)
        acc = acc * 7 + (i ^ depth);
    return acc;
}

/* Recursion that throws at its bottom when `arg` says so. */
__attribute__((noinline)) static long dive(long depth, long arg) {
    char frame[24];
    snprintf(frame, sizeof frame, "d%ld", depth);
    note((unsigned long)work(depth, 200));
    if (depth == 0) {
        if (arg % 3 == 0)
            throw_error((int)(arg % 7) + 1);
        return 1;
    }
    long r = dive(depth - 1, arg) + (long)strlen(frame);
    note((unsigned long)r);
    return r;
}

static void body(long arg) {
    note((unsigned long)dive(8 + arg % 13, arg));
}

static void nested(long arg) {
    /* A protected call inside a protected call: the inner error must land here. */
    int inner = protected_call(body, arg);
    note((unsigned long)inner);
    if (arg % 5 == 0)
        throw_error(40 + (int)(arg % 4));
}

struct ctx {
    jmp_buf *where;
    volatile long progress;
};

__attribute__((noinline)) static void heap_jump(struct ctx *c, long arg) {
    for (long i = 0; i < 50; i++) {
        c->progress = i;
        note((unsigned long)work(i, 100));
        if (i == 20 + arg % 20)
            longjmp(*c->where, (int)i);
    }
}

__attribute__((noinline)) static long heap_buffer(long arg) {
    struct ctx c;
    c.where = malloc(sizeof(jmp_buf));
    c.progress = 0;
    volatile long rounds = 0;
    int r = setjmp(*c.where);
    rounds++;
    if (r == 0)
        heap_jump(&c, arg);
    long out = r * 1000 + c.progress * 10 + rounds;
    free(c.where);
    return out;
}

int main(void) {
    long caught = 0;
    for (long round = 0; round < 60; round++) {
        int st = protected_call(round % 2 ? nested : body, round);
        caught += st != 0;
        printf("round %ld: status %d heap %ld trace %016lx\n", round, st, heap_buffer(round),
               trace);
    }
    /* The global handler: an error with no protected call around it. */
    volatile int phase = 0;
    if (setjmp(top_level) == 0) {
        phase = 1;
        dive(30, 3);
        phase = 2;
    }
    printf("caught %ld, phase %d, trace %016lx\n", caught, phase, trace);
    return 0;
}
