#include "mn_hist.h"

#include <string.h>

unsigned mn_hist_index(uint64_t v)
{
	unsigned e, shift;

	if (v < MN_HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);		/* e >= 7 */
	shift = e - MN_HIST_SUB_BITS;
	/* v >> shift lies in [128, 256): its low 7 bits pick the sub-bucket. */
	return MN_HIST_SUB + shift * MN_HIST_SUB +
	       (unsigned)((v >> shift) - MN_HIST_SUB);
}

uint64_t mn_hist_lower(unsigned i)
{
	unsigned shift;

	if (i < MN_HIST_SUB)
		return i;
	shift = (i - MN_HIST_SUB) / MN_HIST_SUB;
	return (uint64_t)(MN_HIST_SUB + (i - MN_HIST_SUB) % MN_HIST_SUB) << shift;
}

uint64_t mn_hist_width(unsigned i)
{
	if (i < MN_HIST_SUB)
		return 1;
	return (uint64_t)1 << ((i - MN_HIST_SUB) / MN_HIST_SUB);
}

void mn_hist_reset(struct mn_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void mn_hist_add(struct mn_hist *h, uint64_t v)
{
	h->bucket[mn_hist_index(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void mn_hist_merge(struct mn_hist *dst, const struct mn_hist *src)
{
	if (src->count == 0)
		return;
	for (unsigned i = 0; i < MN_HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t mn_hist_percentile(const struct mn_hist *h, double p)
{
	uint64_t rank, seen = 0, v;

	if (h->count == 0)
		return 0;
	if (p <= 0)
		return h->min;
	/* rank = ceil(p/100 * count), at least 1 */
	rank = (uint64_t)(p / 100.0 * (double)h->count);
	if ((double)rank < p / 100.0 * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (unsigned i = 0; i < MN_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			v = mn_hist_lower(i) + mn_hist_width(i) / 2;
			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	return h->max;
}

double mn_hist_mean(const struct mn_hist *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}
