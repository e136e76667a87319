/* SPDX-License-Identifier: ISC */
/*
 * What an operator sees of the responder: its Prometheus metrics at
 * --metrics-path (to the addresses in --metrics-allow) and its health at
 * --health-path (200 while connected to the broker, else 503).
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

#include "buf.h"
#include "cidr.h"
#include "sendq.h"

#define METRICS_HEALTH_PATH	"/events/health"
#define METRICS_ALLOW		"127.0.0.1,::1"

struct request;

struct metrics_conf {
	const char		*path;		/* NULL: no metrics */
	const char		*health_path;	/* "": no health answer */
	struct cidr_list	 allow;
	int			 allow_set;	/* --metrics-allow given */
};

extern struct metrics_conf metrics_conf;

/* After the options: defaults and checks (fatal on a bad path). */
void	metrics_init(void);
/*
 * When the request is for the metrics or health path, appends its whole
 * answer (CGI headers and body) to out and returns 1; otherwise 0.
 */
int	metrics_answer(const struct request *, struct buf *out);
/* Counters kept here: a RESET sent to a stream, by reason; a replay. */
void	metrics_reset(const char *reason, size_t len);
void	metrics_replay(unsigned long long nevents);

/*
 * The publish-to-write latency, around one writev of a stream's queue:
 * peek before (the events at the queue's head), written after.
 */
struct metrics_peek {
	size_t	n;		/* messages in the queue before */
	size_t	npeek;
	double	born[SENDQ_IOV];
};
void	metrics_peek(struct metrics_peek *, const struct sendq *);
void	metrics_written(const struct metrics_peek *, const struct sendq *);

#endif
