/* unimig-sum64: h = 0x756e696d69675f31; per little-endian 8-byte word w (the last one
 * zero-padded): h = (h ^ w) * 0x9e3779b97f4a7c15, h ^= h >> 32; finally h ^= length.
 * A checksum, not a MAC: it catches corruption and truncation, one multiply per word so that
 * checking a large checkpoint costs little next to reading it. */
#include "ckpt_sum.h"
#include <string.h>

static uint64_t mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);   /* both ISAs are little-endian */
	return w;
}

void ck_sum_init(struct ck_sum *s)
{
	s->h = 0x756e696d69675f31ULL;
	s->len = 0;
	s->ntail = 0;
}

void ck_sum_update(struct ck_sum *s, const void *p, size_t n)
{
	const unsigned char *b = p;
	s->len += n;
	if (s->ntail) {
		while (n && s->ntail < 8) {
			s->tail[s->ntail++] = *b++;
			n--;
		}
		if (s->ntail < 8) return;
		s->h = mix(s->h, le64(s->tail));
		s->ntail = 0;
	}
	uint64_t h = s->h;
	for (; n >= 8; b += 8, n -= 8)
		h = mix(h, le64(b));
	s->h = h;
	memcpy(s->tail, b, n);
	s->ntail = (unsigned)n;
}

uint64_t ck_sum_final(const struct ck_sum *s)
{
	uint64_t h = s->h;
	if (s->ntail) {
		unsigned char w[8] = { 0 };
		memcpy(w, s->tail, s->ntail);
		h = mix(h, le64(w));
	}
	return h ^ s->len;
}
