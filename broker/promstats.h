/* SPDX-License-Identifier: ISC */
/*
 * The broker's STATS counters as Prometheus metrics (fastsse stats
 * --prometheus): which counter becomes which metric, with what type,
 * help and labels.
 */
#ifndef PROMSTATS_H
#define PROMSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Appends the exposition of the n counters (names[i] = values[i], as
 * STATS_REPLY has them) and fastsse_broker_up 1; names it does not know
 * are left out.  -1 when b's bound is reached.
 */
int	promstats_broker(struct buf *, const char *const *names,
	    const uint64_t *values, size_t n);
/* What to print when the broker cannot be reached: fastsse_broker_up 0. */
int	promstats_broker_down(struct buf *);

#endif
