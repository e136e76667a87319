/* SPDX-License-Identifier: ISC */
/*
 * The Prometheus text exposition format, version 0.0.4: metric families
 * (HELP and TYPE lines), samples with labels, histograms.  Pure: text is
 * appended to a struct buf, nothing else; unit-tested in test_prom.c.
 */
#ifndef PROM_H
#define PROM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PROM_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define PROM_HIST_MAX		24	/* buckets of a histogram, +Inf apart */

struct prom_label {
	const char	*name;
	const char	*value;
};

/*
 * A histogram: upper bounds (ascending, finite) and, per bucket, the
 * observations that fell in it (not cumulative; counts[nbounds] is the
 * +Inf bucket), their sum and their number.
 */
struct prom_hist {
	size_t		 nbounds;
	double		 bounds[PROM_HIST_MAX];
	uint64_t	 counts[PROM_HIST_MAX + 1];
	double		 sum;
	uint64_t	 count;
};

/* Is this a valid metric (or, labels, label) name? */
int	prom_name_ok(const char *);
int	prom_label_name_ok(const char *);
/* The HELP and TYPE lines of a family; type is "counter", "gauge"... */
int	prom_family(struct buf *, const char *name, const char *type,
	    const char *help);
/* One sample line; labels may be NULL when n is 0. */
int	prom_sample(struct buf *, const char *name,
	    const struct prom_label *labels, size_t n, uint64_t value);
/* One sample with one label given as "name=value" (or NULL: none). */
int	prom_sample_label(struct buf *, const char *name, const char *label,
	    uint64_t value);
int	prom_sample_double(struct buf *, const char *name,
	    const struct prom_label *labels, size_t n, double value);
/* Appends a double as Prometheus reads it: shortest exact form, +Inf... */
int	prom_double(struct buf *, double);

/* -1 when the bounds are not ascending, finite, or too many. */
int	prom_hist_init(struct prom_hist *, const double *bounds, size_t n);
void	prom_hist_observe(struct prom_hist *, double);
/* A histogram's whole family: HELP, TYPE, _bucket (cumulative), _sum,
   _count. */
int	prom_histogram(struct buf *, const char *name, const char *help,
	    const struct prom_hist *);

#endif
