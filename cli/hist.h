/* SPDX-License-Identifier: MIT */
/*
 * hist.h - latency histograms of the bench commands: log-linear buckets, so recording a
 * sample allocates nothing and sorts nothing while the clock runs.
 */
#ifndef VV_CLI_HIST_H
#define VV_CLI_HIST_H

#include <stdint.h>

#define HIST_SUB 16 /* sub-buckets per power of two: percentiles within ~6% */
#define HIST_N	 (64 * HIST_SUB)

/* Samples in ns. */
struct hist {
	uint64_t n[HIST_N];
	uint64_t count, sum, max;
};

static inline unsigned hist_index(uint64_t v)
{
	unsigned e;

	if (v < HIST_SUB)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v); /* >= 4 */
	return (e - 3) * HIST_SUB + (unsigned)((v >> (e - 4)) & (HIST_SUB - 1));
}

/* The middle of bucket @i, in ns. */
static inline double hist_value(unsigned i)
{
	unsigned e = i / HIST_SUB + 3, sub = i % HIST_SUB;

	if (i < HIST_SUB)
		return i;
	return ((double)(HIST_SUB + sub) + 0.5) * (double)(1ULL << (e - 4));
}

static inline void hist_add(struct hist *h, uint64_t v)
{
	h->n[hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

/* Adds @from's samples to @to. */
static inline void hist_merge(struct hist *to, const struct hist *from)
{
	for (unsigned k = 0; k < HIST_N; k++)
		to->n[k] += from->n[k];
	to->count += from->count;
	to->sum += from->sum;
	to->max = from->max > to->max ? from->max : to->max;
}

static inline double hist_pct(const struct hist *h, double pct)
{
	uint64_t want = (uint64_t)((double)h->count * pct / 100.0 + 0.5), seen = 0;

	if (!h->count)
		return 0;
	for (unsigned i = 0; i < HIST_N; i++) {
		seen += h->n[i];
		if (seen >= want && seen)
			return hist_value(i);
	}
	return (double)h->max;
}

#endif /* VV_CLI_HIST_H */
