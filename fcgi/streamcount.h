/* SPDX-License-Identifier: ISC */
/*
 * How many browser streams this responder holds on each channel, kept
 * for the broker (STREAM_COUNTS) so that `fastsse stats` can say it.
 */
#ifndef STREAMCOUNT_H
#define STREAMCOUNT_H

#include <stddef.h>

#include <ev.h>

#include "buf.h"

#define STREAMCOUNT_DELAY	0.2	/* seconds: changes sent together */

void	streamcount_init(struct ev_loop *, void (*send_cb)(void));
void	streamcount_free(void);
/* A stream joined (+1) or left (-1) a channel. */
void	streamcount_add(const char *, size_t, int);
struct proto_msg;

/*
 * A new broker connection (WELCOME): counts wait until the broker shows
 * it takes them; the STATS request that asks is appended to out (-1 when
 * out's bound is reached).
 */
int	streamcount_hello(struct buf *out);
/* The answer: a broker whose STATS has "streams" gets a full snapshot. */
void	streamcount_stats_reply(const struct proto_msg *);
/*
 * Appends the STREAM_COUNTS frames due (the snapshot, or the channels
 * changed since the last call) to out.  -1 when out's bound is reached:
 * what was not sent stays due.
 */
int	streamcount_encode(struct buf *out);

#endif
