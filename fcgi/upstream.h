/* SPDX-License-Identifier: ISC */
/*
 * The responder's one connection to the broker, shared by all streams:
 * the union of their channels is subscribed once, each EVENT arrives once
 * and is fanned out to the streams of its channel.
 */
#ifndef UPSTREAM_H
#define UPSTREAM_H

#include <stddef.h>

#include <ev.h>

struct http_req;
struct stream;
struct upstream_sub;

struct upstream_stats {
	uint64_t	connects;
	uint64_t	disconnects;
	uint64_t	events;		/* EVENT frames received */
	uint64_t	subscribes;
	uint64_t	resets;
	uint64_t	dropped_out;	/* connection dropped: output bound */
};

extern struct upstream_stats upstream_stats;

void	upstream_init(struct ev_loop *, const char *path);
void	upstream_shutdown(void);
void	upstream_free(void);
/*
 * A stream's subscription (its channels, cursor and state) is this
 * module's: the stream holds it from attach to detach.  Attach takes the
 * request's channels (counted; may create them) and cursor; NULL when
 * memory fails.
 */
struct upstream_sub *upstream_attach(struct stream *, const struct http_req *);
/* Asks the broker for the channels from the cursor, when connected. */
void	upstream_subscribe(struct upstream_sub *);
/* Forgets it: channels left (unsubscribed when last), pending cleared. */
void	upstream_detach(struct upstream_sub *);
int	upstream_connected(void);
/* Sends the stream counts due to the broker (streamcount.c). */
void	upstream_send_counts(void);

#endif
