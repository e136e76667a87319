/* SPDX-License-Identifier: ISC */
/*
 * Latency histogram for the benchmarks: log-linear buckets over
 * nanoseconds with about 0.1% relative error, fixed size (no bound to
 * reach: values past the last bucket are clamped into it and counted as
 * such), so recording is O(1) and never allocates.
 */
#ifndef HIST_H
#define HIST_H

#include <stdint.h>

#define HIST_EXACT	2048		/* values below are exact */
#define HIST_SUB	1024		/* buckets per power of two above */
#define HIST_POWERS	42		/* up to 2^52 ns */
#define HIST_BUCKETS	(HIST_EXACT + HIST_POWERS * HIST_SUB)

struct hist {
	uint64_t	 count;
	uint64_t	 clamped;
	uint64_t	 min;
	uint64_t	 max;
	long double	 sum;
	uint64_t	*bucket;	/* HIST_BUCKETS */
};

int		 hist_init(struct hist *);
void		 hist_free(struct hist *);
void		 hist_reset(struct hist *);
void		 hist_add(struct hist *, uint64_t);
void		 hist_merge(struct hist *, const struct hist *);
uint64_t	 hist_percentile(const struct hist *, double);
double		 hist_mean(const struct hist *);
uint64_t	 hist_now_ns(void);

#endif
