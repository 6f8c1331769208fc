/* A small block holding a call, reached from two places: the entry poll's runtime call and the
 * poll's fall-through both continue into `report(...)`, a noreturn call (the shape of Lua's
 * llex.c `luaX_syntaxerror`). Tail duplication after register allocation would copy the call
 * into both, one record ID at two return addresses; the instrumentation keeps such blocks
 * whole. */
#include <stdio.h>
#include <stdlib.h>

struct lexer {
    int line;
    int token;
};

__attribute__((noinline, noreturn)) static void report(struct lexer *ls, const char *msg, int token) {
    printf("line %d: %s near token %d\n", ls->line, msg, token);
    exit(0);
}

__attribute__((noinline, noreturn)) void syntax_error(struct lexer *ls, const char *msg) {
    report(ls, msg, ls->token);
}

int main(void) {
    struct lexer ls = {3, 42};
    printf("start\n");
    syntax_error(&ls, "unexpected symbol");
}
