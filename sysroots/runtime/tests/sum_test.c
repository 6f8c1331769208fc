/* unimig-sum64 test vectors (docs/migration.md section 3) against the runtime's own
 * implementation (src/ckpt_sum.c, compiled in), fed whole and in odd-sized pieces. */
#include "ckpt_sum.h"
#include <stdio.h>

static int check(const char *name, const unsigned char *p, size_t n, uint64_t want)
{
	int bad = 0;
	for (size_t piece = 1; piece <= n + 1; piece = piece * 2 + 1) {
		struct ck_sum s;
		ck_sum_init(&s);
		for (size_t i = 0; i < n; i += piece)
			ck_sum_update(&s, p + i, n - i < piece ? n - i : piece);
		uint64_t got = ck_sum_final(&s);
		if (got != want) {
			printf("FAIL: sum64(%s) in pieces of %zu = %#llx, want %#llx\n", name, piece,
				(unsigned long long)got, (unsigned long long)want);
			bad = 1;
		}
	}
	return bad;
}

int main(void)
{
	unsigned char hundred[100];
	for (int i = 0; i < 100; i++) hundred[i] = (unsigned char)i;
	int bad = check("empty", 0, 0, 0x756e696d69675f31ULL) |
		check("unimig", (const unsigned char *)"unimig", 6, 0x2d240cfa038af668ULL) |
		check("0..99", hundred, 100, 0xbbb5a155c2973eb7ULL);
	if (!bad) printf("ok: unimig-sum64 test vectors\n");
	return bad;
}
