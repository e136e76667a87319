/* SPDX-License-Identifier: ISC */
/*
 * One browser's event stream once its request was read and answered with
 * the stream's headers (accept.c): its FastCGI socket and its output.  What it is subscribed to (channels,
 * cursor) is the upstream's (upstream.h); struct stream is private to
 * stream.c.
 */
#ifndef STREAM_H
#define STREAM_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "auth.h"
#include "buf.h"
#include "http.h"
#include "sendq.h"

/* What accept.c hands over once a stream's request is whole. */
struct stream_handoff {
	int		 fd;
	uint16_t	 reqid;
	struct http_req	 req;
	struct auth_grant grant;	/* the token it was let in with */
};

struct stream;

struct stream_stats {
	uint64_t	opened;
	uint64_t	closed_client;		/* EOF or write error */
	uint64_t	closed_overflow;	/* queue over the bound */
	uint64_t	closed_stalled;		/* nothing written for a beat */
	uint64_t	events;			/* events sent to streams */
	uint64_t	pings;
	uint64_t	queued;			/* flushes that had to wait */
	uint64_t	drained;		/* told a spread retry: at exit */
};

extern struct stream_stats stream_stats;

void	stream_init(struct ev_loop *);
/* A slot under --max-streams, or -1 (see stream.c). */
int	stream_reserve(void);
void	stream_unreserve(void);
size_t	stream_count(void);
void	stream_create(struct stream_handoff *);
void	stream_send(struct stream *, struct sendq_msg *);
/* Sends an event (counted as one); a closing stream takes none. */
void	stream_deliver(struct stream *, struct sendq_msg *);
/* A number naming the stream in logs, unique in this process. */
uint64_t stream_id(const struct stream *);
void	stream_end(struct stream *);
void	stream_reap(void);
/*
 * Ends every stream (each first told a random retry: within
 * --drain-spread, see stream.c); cb runs once none is left.
 */
void	stream_shutdown(void (*cb)(void));
void	stream_free_all(void);
/*
 * Ends every stream whose token the revocation names, with the
 * token-expired event (reason "revoked"); returns how many.
 */
size_t	stream_revoke(int kind, const char *value, size_t len);

#endif
