/* unimig-sum64 (docs/migration.md section 3), computed over a stream of pieces of any size.
 * Self-contained (only <stddef.h>, <stdint.h>) so that the tests compile the same code. */
#ifndef UNIMIG_CKPT_SUM_H
#define UNIMIG_CKPT_SUM_H
#include <stddef.h>
#include <stdint.h>

struct ck_sum {
	uint64_t h, len;
	unsigned char tail[8];   /* bytes of an incomplete word */
	unsigned ntail;
};
void ck_sum_init(struct ck_sum *s);
void ck_sum_update(struct ck_sum *s, const void *p, size_t n);
uint64_t ck_sum_final(const struct ck_sum *s);
#endif
