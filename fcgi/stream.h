/*
 * One browser's event stream after libfcgi handed its connection over: the
 * FastCGI socket, the channels it listens to, its cursor and its output.
 */
#ifndef STREAM_H
#define STREAM_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "buf.h"
#include "eventid.h"
#include "http.h"
#include "sendq.h"

/* What an accept thread passes to the loop thread. */
struct stream_handoff {
	STAILQ_ENTRY(stream_handoff) entry;
	int		 fd;
	uint16_t	 reqid;
	struct http_req	 req;
};

enum stream_state {
	STREAM_WAITING,	/* not subscribed (broker down or not yet asked) */
	STREAM_PENDING,	/* SUBSCRIBE sent: live events ignored */
	STREAM_REPLAY,	/* SUBSCRIBED seen: its replay events arrive */
	STREAM_LIVE,	/* gets live events of its channels */
	STREAM_CLOSING,	/* END queued; freed once written */
	STREAM_DEAD,	/* write failed; freed after the current fan-out */
};

enum stream_cursor {
	STREAM_CURSOR_NONE,
	STREAM_CURSOR_SET,
	STREAM_CURSOR_BAD,	/* the browser's id is not an event id */
};

struct channel;

/* A stream's membership in one channel (kept in the channel's list). */
struct stream_chan {
	struct channel		*ch;
	struct stream		*s;
	LIST_ENTRY(stream_chan)	 entry;
};

struct stream {
	ev_io			 rio;		/* always on: EOF = gone */
	ev_io			 wio;		/* only while output queued */
	TAILQ_ENTRY(stream)	 hb_entry;	/* all streams, by last write */
	TAILQ_ENTRY(stream)	 pend_entry;	/* upstream's pending list */
	TAILQ_ENTRY(stream)	 flush_entry;	/* output to write */
	ev_tstamp		 last_write;
	uint64_t		 token;		/* SUBSCRIBE ref */
	struct eventid		 cursor;	/* last id delivered */
	struct sendq		*q;		/* NULL unless output waits */
	uint16_t		 reqid;
	uint8_t			 state;
	uint8_t			 cursor_state;
	uint8_t			 reaping;	/* on the reap list */
	uint8_t			 in_pending;	/* on upstream's list */
	uint8_t			 flushing;	/* on the flush list */
	uint8_t			 nchan;
	struct stream_chan	 chans[];
};

struct stream_stats {
	uint64_t	opened;
	uint64_t	closed_client;		/* EOF or write error */
	uint64_t	closed_overflow;	/* queue over the bound */
	uint64_t	closed_stalled;		/* nothing written for a beat */
	uint64_t	events;			/* events sent to streams */
	uint64_t	pings;
	uint64_t	queued;			/* flushes that had to wait */
};

extern struct stream_stats stream_stats;

void	stream_init(struct ev_loop *);
/* Called by accept threads: a slot under --max-streams, or -1. */
int	stream_reserve(void);
void	stream_unreserve(void);
size_t	stream_count(void);
void	stream_create(struct stream_handoff *);
void	stream_send(struct stream *, struct sendq_msg *);
void	stream_deliver(struct stream *, struct sendq_msg *,
	    const struct eventid *);
void	stream_end(struct stream *);
void	stream_foreach(void (*)(struct stream *, void *), void *);
void	stream_reap(void);
/* Ends every stream; cb runs once none is left. */
void	stream_shutdown(void (*cb)(void));
void	stream_free_all(void);

#endif
