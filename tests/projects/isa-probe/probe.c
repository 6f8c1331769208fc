/* Prints facts about the machine it runs on: the tests check that the AArch64 half of a fat
 * executable really runs as AArch64 code (uname) while the C-level facts agree. */
#include <limits.h>
#include <stdio.h>
#include <sys/utsname.h>

int main(int argc, char **argv)
{
    struct utsname u;
    if (uname(&u) != 0)
        return 1;
    printf("machine %s\n", u.machine);
    printf("char is %s, CHAR_MIN %d\n", (char)-1 < 0 ? "signed" : "unsigned", CHAR_MIN);
    printf("sizeof long %zu, pointer %zu\n", sizeof(long), sizeof(void *));
    printf("argc %d, last arg %s\n", argc, argv[argc - 1]);
    return 0;
}
