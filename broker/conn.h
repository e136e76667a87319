/* SPDX-License-Identifier: ISC */
/*
 * One client connection: its socket, input buffer, output queue,
 * subscriptions, and the handling of each request it sends.
 */
#ifndef CONN_H
#define CONN_H

#include <sys/queue.h>

#include <stdint.h>

#include <ev.h>

#include "buf.h"
#include "channel.h"
#include "outq.h"

struct event;
struct rstore_read;
struct server;

#define CONN_HELLO	0x1	/* HELLO accepted */
#define CONN_DOOMED	0x2	/* on server->doomed, to be closed */
#define CONN_FLUSH	0x4	/* try to send what is queued before closing */
#define CONN_PENDING	0x8	/* on server->pending, to be written */
#define CONN_TIMED	0x10	/* on server->timed, deadline set */
#define CONN_WARNED	0x20	/* --max-subscriptions logged */
#define CONN_REVOKES	0x200	/* asked for revocations (REVOCATIONS) */
#define CONN_WAIT	0x400	/* input paused for Redis (rstore.c) */
#define CONN_WAITED	0x800	/* its cursor ahead waited in vain */

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	TAILQ_ENTRY(conn)	 doomentry;
	TAILQ_ENTRY(conn)	 pendentry;
	TAILQ_ENTRY(conn)	 timeentry;
	double			 deadline;	/* while CONN_TIMED */
	size_t			 nsubs;
	size_t			 unacked;	/* publishes waiting for a commit */
	struct server		*server;
	uint64_t		 id;
	int			 fd;
	int			 flags;
	uint64_t		 role;
	const char		*why;		/* reason for closing */
	ev_io			 rio;
	ev_io			 wio;		/* active only while the socket is full */
	struct buf		 in;
	struct outq		 out;
	struct sub_list		 subs;
	struct streams_peer	*streams;	/* its STREAM_COUNTS */
	struct rstore_read	*rread;		/* a replay read from Redis */
};

struct conn	*conn_new(struct server *, int);
void		 conn_free(struct conn *);
void		 conn_send_event(struct conn *, struct event *, uint32_t);
void		 conn_publish_answer(struct conn *, uint64_t,
		    const struct event *, const char *);
void		 conn_doom(struct conn *, int, const char *);
void		 conn_reap(struct server *);
void		 conn_flush_pending(struct server *);
void		 conn_close_all(struct server *);
void		 conn_timeout_cb(struct ev_loop *, ev_timer *, int);
void		 conn_resume(struct conn *);
void		 conn_publish_result(struct conn *, uint64_t, const char *,
		    size_t);
void		 conn_error_now(struct conn *, uint64_t, int, const char *,
		    size_t);

#endif
