/* SPDX-License-Identifier: ISC */
/*
 * Latency histogram (see hist.h).  Bound: HIST_BUCKETS fixed buckets; a
 * value past the last one is clamped into it and counted in h->clamped.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hist.h"

int
hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->bucket = calloc(HIST_BUCKETS, sizeof(*h->bucket));
	if (h->bucket == NULL)
		return (-1);
	h->min = UINT64_MAX;
	return (0);
}

void
hist_free(struct hist *h)
{
	free(h->bucket);
	h->bucket = NULL;
}

void
hist_reset(struct hist *h)
{
	memset(h->bucket, 0, HIST_BUCKETS * sizeof(*h->bucket));
	h->count = h->clamped = h->max = 0;
	h->sum = 0;
	h->min = UINT64_MAX;
}

/* Maps a value to its bucket: exact below HIST_EXACT, then HIST_SUB per octave. */
static size_t
hist_index(uint64_t v, int *clamped)
{
	int	 msb, shift;
	size_t	 idx;

	*clamped = 0;
	if (v < HIST_EXACT)
		return ((size_t)v);
	msb = 63 - __builtin_clzll(v);
	shift = msb - 10;			/* keep 11 significant bits */
	idx = HIST_EXACT + (size_t)(msb - 11) * HIST_SUB +
	    (size_t)((v >> shift) - HIST_SUB);
	if (idx >= HIST_BUCKETS) {
		*clamped = 1;
		idx = HIST_BUCKETS - 1;
	}
	return (idx);
}

/* The lowest value that falls into bucket idx. */
static uint64_t
hist_value(size_t idx)
{
	size_t	 octave, sub;

	if (idx < HIST_EXACT)
		return (idx);
	octave = (idx - HIST_EXACT) / HIST_SUB;
	sub = (idx - HIST_EXACT) % HIST_SUB;
	return ((uint64_t)(HIST_SUB + sub) << (octave + 1));
}

void
hist_add(struct hist *h, uint64_t v)
{
	int	 clamped;

	h->bucket[hist_index(v, &clamped)]++;
	h->clamped += (uint64_t)clamped;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void
hist_merge(struct hist *h, const struct hist *o)
{
	size_t	 i;

	for (i = 0; i < HIST_BUCKETS; i++)
		h->bucket[i] += o->bucket[i];
	h->count += o->count;
	h->clamped += o->clamped;
	h->sum += o->sum;
	if (o->min < h->min)
		h->min = o->min;
	if (o->max > h->max)
		h->max = o->max;
}

/* The value at quantile p (0..100), as the low edge of its bucket. */
uint64_t
hist_percentile(const struct hist *h, double p)
{
	uint64_t	 want, seen = 0;
	size_t		 i;

	if (h->count == 0)
		return (0);
	want = (uint64_t)((long double)h->count * p / 100.0L);
	if (want >= h->count)
		want = h->count - 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen > want)
			return (hist_value(i));
	}
	return (h->max);
}

double
hist_mean(const struct hist *h)
{
	if (h->count == 0)
		return (0);
	return ((double)(h->sum / h->count));
}

/*
 * CLOCK_MONOTONIC in nanoseconds: the same clock in every process on the
 * machine, so a stamp written by a publisher can be compared with the
 * time a subscriber in another process reads the event.
 */
uint64_t
hist_now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}
