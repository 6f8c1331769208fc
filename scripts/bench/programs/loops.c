/* Loop-heavy: nested loops over arrays (matrix product and a sieve), few calls. */
#include <stdio.h>
#include <stdlib.h>

#define N 300
#ifndef ROUNDS
#define ROUNDS 3 /* scripts/bench/response.sh runs it longer */
#endif
static double a[N][N], b[N][N], c[N][N];

int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (i * 7 + j) % 13 * 0.5;
            b[i][j] = (i + j * 3) % 11 * 0.25;
        }
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                double x = a[i][k];
                for (int j = 0; j < N; j++)
                    c[i][j] += x * b[k][j];
            }
    int n = 20000000, count = 0;
    char *composite = calloc(n + 1, 1);
    for (int i = 2; i <= n; i++) {
        if (composite[i])
            continue;
        count++;
        for (long j = (long)i * i; j <= n; j += i)
            composite[j] = 1;
    }
    printf("%.3f %d\n", c[N / 2][N / 3], count);
    free(composite);
    return 0;
}
