/* SPDX-License-Identifier: ISC */
/*
 * Browser streams, all owned by the one event-loop thread.
 *
 * Where a stream's state lives (each struct is private to its file):
 * - what a stream sends, and when it is closed: here (struct stream: its
 *   socket, output queue, heartbeat and end; the bytes are framed by
 *   sendq.c);
 * - what a stream is subscribed to: upstream.c (struct upstream_sub: its
 *   channels, cursor, token and pending/replay/live state);
 * - how it got here: accept.c (the request read in the loop) and http.c (the
 *   request's channels, Last-Event-ID, CORS).
 *
 * Output: a send only appends a reference to the shared, formatted
 * message to the stream's queue (sendq.c, which also does the framing)
 * and puts the stream on the flush list.
 * An ev_prepare watcher (once per loop iteration, before the loop
 * blocks) writes each listed stream's queue in one writev, so the many
 * events one read from the broker brings leave in one write per stream,
 * not one each.  The SSE texts queued for a stream are joined into one
 * FastCGI record (one header and padding for all, up to the record's
 * limit); a raw message (the end of the request) is its own unit.  Only
 * when the socket would block (EAGAIN or a partial write) is the write
 * watcher started; a record begun is then finished before anything
 * else, so framing stays intact.  The queue is freed as soon as it is
 * empty: an idle stream holds no buffer at all.
 *
 * Bound and policy: a stream's queue holds at most --max-queue bytes,
 * counted as if each message were its own record (an upper bound of what
 * is on the wire; the first message always fits).  A message that would
 * pass it is first met with a flush when the socket is not known to be
 * full; if that does not make room, the stream is ended (counted in
 * closed_overflow): unsent messages are dropped, the end of the request
 * is queued, and the browser reconnects with Last-Event-ID and gets
 * everything still in the broker's history.  A stream whose queued
 * output made no progress for half a heartbeat interval is ended the
 * same way (closed_stalled), and one still unable to take its
 * end-of-request that much later is closed outright.
 *
 * Ends are never done inside a fan-out: a write error only marks the
 * stream dead and puts it on the reap list (a list entry in the stream and
 * a flag, so marking cannot fail), which stream_reap() empties after the
 * fan-out loop (the upstream calls it, and a check watcher at the end of
 * the loop iteration).  The broker closes its connections the same way
 * (conn_doom, conn_reap).
 *
 * Heartbeat: one timer and the list of all streams ordered by last write
 * (libev's idiom for many equal timeouts); the timer pings the streams at
 * the head whose last write is half a heartbeat old.  Half, because
 * lighttpd and Apache notice that a browser went away only when a write
 * to it fails, and Apache's first write after the browser left still
 * succeeds: two pings per interval make a vanished browser noticed within
 * one --heartbeat interval behind every server.
 *
 * Tokens (auth.c): a stream let in with a token has a timer for the
 * token's exp (an ev_periodic, so wall-clock time, one per such stream:
 * each has its own time).  At exp, or when the broker revokes its sub or
 * jti, the stream gets the token-expired event and is ended
 * (auth_stats.expired_open, revoked_open).
 *
 * Shutdown: every open stream is first sent a "retry:" of a random time
 * within --drain-spread (counted in drained), then ended, so the browsers
 * of a stopping responder come back spread over that window rather than
 * in one burst at the next process.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "auth.h"
#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "record.h"
#include "responder.h"
#include "sendq.h"
#include "sse.h"
#include "stream.h"
#include "upstream.h"

enum stream_state {
	STREAM_OPEN,	/* takes events (what it gets is the upstream's) */
	STREAM_CLOSING,	/* END queued; freed once written */
	STREAM_DEAD,	/* write failed; freed after the current fan-out */
};

struct stream {
	ev_io			 rio;		/* always on: EOF = gone */
	ev_io			 wio;		/* only while output queued */
	TAILQ_ENTRY(stream)	 hb_entry;	/* all streams, by last write */
	TAILQ_ENTRY(stream)	 flush_entry;	/* output to write */
	TAILQ_ENTRY(stream)	 reap_entry;	/* to free or end after a fan-out */
	ev_tstamp		 last_write;
	uint64_t		 id;		/* for logs; the SUBSCRIBE ref */
	struct upstream_sub	*sub;		/* NULL once ended */
	struct sendq		*q;		/* NULL unless output waits */
	struct auth_grant	*grant;		/* NULL: no token */
	ev_periodic		 expiry;	/* at the token's exp */
	uint16_t		 reqid;
	uint8_t			 state;
	uint8_t			 reaping;	/* on the reap list */
	uint8_t			 flushing;	/* on the flush list */
};

struct stream_stats	 stream_stats;

static struct ev_loop	*stream_loop;
static TAILQ_HEAD(, stream) stream_list = TAILQ_HEAD_INITIALIZER(stream_list);
static TAILQ_HEAD(, stream) stream_flushq =
    TAILQ_HEAD_INITIALIZER(stream_flushq);	/* output to write */
static ev_prepare	 stream_flush_ev;
static size_t		 stream_n;		/* in stream_list */
static size_t		 stream_slots;		/* reserved + open */
static uint64_t		 stream_next_id;
static ev_timer		 stream_hb_ev;
static ev_check		 stream_reap_ev;
static TAILQ_HEAD(, stream) stream_reapq =
    TAILQ_HEAD_INITIALIZER(stream_reapq);	/* doomed, see the top */
static void		(*stream_done_cb)(void);
static void		 stream_drain_retry(struct stream *);
static int		 stream_shutting_down;

static char		 stream_ping_bytes[] = SSE_PING;
static struct sendq_msg	 stream_ping = {
	SENDQ_MSG_STATIC, 0, sizeof(SSE_PING) - 1, stream_ping_bytes, 0
};

static void	stream_read_cb(struct ev_loop *, ev_io *, int);
static void	stream_write_cb(struct ev_loop *, ev_io *, int);
static void	stream_hb_cb(struct ev_loop *, ev_timer *, int);
static void	stream_reap_cb(struct ev_loop *, ev_check *, int);
static void	stream_flush_cb(struct ev_loop *, ev_prepare *, int);
static void	stream_free(struct stream *);
static void	stream_queue_drop(struct stream *, size_t);
static void	stream_doom(struct stream *, int);
static void	stream_expiry_cb(struct ev_loop *, ev_periodic *, int);

/* How long a stream may go without a write: half the heartbeat interval. */
static double
stream_idle(void)
{
	return (conf.heartbeat / 2);
}

void
stream_init(struct ev_loop *loop)
{
	stream_loop = loop;
	ev_timer_init(&stream_hb_ev, stream_hb_cb, 0., stream_idle());
	ev_timer_again(loop, &stream_hb_ev);
	ev_check_init(&stream_reap_ev, stream_reap_cb);
	ev_prepare_init(&stream_flush_ev, stream_flush_cb);
}

/*
 * The stream cap is checked when a request is read whole, before it is
 * answered, so a browser over the cap gets a complete "come back later"
 * response; the slot is held from then on, through the stream's life.
 */
int
stream_reserve(void)
{
	if (stream_slots >= conf.max_streams)
		return (-1);
	stream_slots++;
	return (0);
}

void
stream_unreserve(void)
{
	stream_slots--;
}

size_t
stream_count(void)
{
	return (stream_n);
}

/* Moves s to the tail of the heartbeat list: it was just written to. */
static void
stream_touch(struct stream *s)
{
	s->last_write = ev_now(stream_loop);
	TAILQ_REMOVE(&stream_list, s, hb_entry);
	TAILQ_INSERT_TAIL(&stream_list, s, hb_entry);
}

/*
 * Builds a stream for the handed-over request: watchers, and its
 * subscription (channels and cursor, through the upstream, which
 * subscribes them).  On failure the connection is closed, which the web
 * server reports as an error; the browser retries.
 */
void
stream_create(struct stream_handoff *h)
{
	struct stream	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("calloc");
		close(h->fd);
		stream_unreserve();
		goto out;
	}
	s->reqid = h->reqid;
	s->id = ++stream_next_id;
	s->state = STREAM_OPEN;
	ev_io_init(&s->rio, stream_read_cb, h->fd, EV_READ);
	ev_io_init(&s->wio, stream_write_cb, h->fd, EV_WRITE);
	s->rio.data = s->wio.data = s;
	s->last_write = ev_now(stream_loop);
	TAILQ_INSERT_TAIL(&stream_list, s, hb_entry);
	stream_n++;
	stream_stats.opened++;
	ev_io_start(stream_loop, &s->rio);
	log_debug("stream %llu: fd %d", (unsigned long long)s->id, h->fd);
	if (h->grant.has && (s->grant = malloc(sizeof(*s->grant))) != NULL) {
		*s->grant = h->grant;
		ev_periodic_init(&s->expiry, stream_expiry_cb,
		    (ev_tstamp)h->grant.exp, 0., NULL);
		s->expiry.data = s;
		ev_periodic_start(stream_loop, &s->expiry);
	} else if (h->grant.has) {
		log_warn("malloc");
		stream_end(s);
		goto out;
	}
	if ((s->sub = upstream_attach(s, &h->req)) == NULL ||
	    stream_shutting_down)
		stream_end(s);
	else
		upstream_subscribe(s->sub);
out:
	http_req_free(&h->req);
	free(h);
}

uint64_t
stream_id(const struct stream *s)
{
	return (s->id);
}

/*
 * Writes s's queue, one writev per call of the loop below (one in all
 * unless the queue holds more than SENDQ_IOV iovecs' worth), and starts
 * the write watcher only when the socket takes less.  Returns -1 when the
 * stream is gone (EPIPE, ECONNRESET, ...); never frees the stream.
 */
static int
stream_flush(struct stream *s)
{
	struct sendq_batch	b;
	struct metrics_peek	mp;
	ssize_t			w;
	int			moved = 0, rc = 0;

	while (s->q != NULL) {
		if (sendq_batch(s->q, s->reqid, &b) <= 0) {
			sendq_advance(&s->q, &b, 0);
			if (b.nunits == 0)
				break;		/* cannot happen */
			continue;
		}
		metrics_peek(&mp, s->q);
		w = writev(s->rio.fd, b.iov, b.niov);
		if (w == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				goto wait;
			if (errno != EPIPE && errno != ECONNRESET)
				log_warn("stream %llu: writev",
				    (unsigned long long)s->id);
			rc = -1;
			break;
		}
		if (w > 0)
			moved = 1;
		sendq_advance(&s->q, &b, (size_t)w);
		metrics_written(&mp, s->q);
		if (s->q == NULL)
			break;
		if ((size_t)w < b.total)
			goto wait;
	}
	if (s->q == NULL)
		ev_io_stop(stream_loop, &s->wio);
	if (moved)
		stream_touch(s);
	return (rc);
wait:
	if (moved)
		stream_touch(s);
	if (!ev_is_active(&s->wio)) {
		stream_stats.queued++;
		ev_io_start(stream_loop, &s->wio);
	}
	return (0);
}

/*
 * Drops the queued messages from index from on and stops waiting for the
 * socket once nothing is left.
 */
static void
stream_queue_drop(struct stream *s, size_t from)
{
	sendq_drop(&s->q, from);
	if (s->q == NULL)
		ev_io_stop(stream_loop, &s->wio);
}

/* Puts s on the flush list, unless it waits for its socket anyway. */
static void
stream_want_flush(struct stream *s)
{
	if (s->flushing || ev_is_active(&s->wio))
		return;
	s->flushing = 1;
	TAILQ_INSERT_TAIL(&stream_flushq, s, flush_entry);
	ev_prepare_start(stream_loop, &stream_flush_ev);
}

/*
 * Writes every listed stream's output, frees the closing ones that are
 * done and the ones whose socket failed.  Never inside a fan-out.
 */
static void
stream_flush_all(void)
{
	struct stream	*s;

	while ((s = TAILQ_FIRST(&stream_flushq)) != NULL) {
		TAILQ_REMOVE(&stream_flushq, s, flush_entry);
		s->flushing = 0;
		if (s->state == STREAM_DEAD || s->q == NULL ||
		    ev_is_active(&s->wio))
			continue;
		if (stream_flush(s) == -1) {
			stream_stats.closed_client++;
			stream_free(s);
		} else if (s->state == STREAM_CLOSING && s->q == NULL)
			stream_free(s);
	}
	ev_prepare_stop(stream_loop, &stream_flush_ev);
}

static void
stream_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	stream_flush_all();
}

/*
 * Queues m on s for the next flush, within the stream's bound (see the
 * top of this file).  Safe inside a fan-out: nothing is freed here.
 */
void
stream_send(struct stream *s, struct sendq_msg *m)
{
	size_t	wire = sendq_msg_wire(m);

	if (s->state == STREAM_DEAD ||
	    (s->state == STREAM_CLOSING && !m->raw))
		return;
	/* The end of the request always fits: it frees the stream. */
	if (s->q != NULL && !m->raw && sendq_bytes(s->q) + wire > conf.max_queue) {
		if (!ev_is_active(&s->wio) && stream_flush(s) == -1) {
			stream_stats.closed_client++;
			stream_doom(s, 1);
			return;
		}
		if (sendq_bytes(s->q) + wire > conf.max_queue) {
			if (!s->reaping) {
				stream_stats.closed_overflow++;
				log_debug("stream %llu: output over %zu bytes, "
				    "ending it", (unsigned long long)s->id,
				    conf.max_queue);
			}
			stream_doom(s, 0);
			return;
		}
	}
	if (sendq_push(&s->q, m) == -1) {
		stream_doom(s, 1);
		return;
	}
	stream_want_flush(s);
}

/* Sends an event, counted as one. */
void
stream_deliver(struct stream *s, struct sendq_msg *m)
{
	if (s->state == STREAM_DEAD || s->state == STREAM_CLOSING)
		return;
	stream_stats.events++;
	stream_send(s, m);
}

/* Drains the queue; a closing stream is freed once all is written. */
static void
stream_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stream	*s = w->data;

	(void)loop;
	(void)revents;
	if (s->q == NULL) {
		ev_io_stop(stream_loop, w);
		return;
	}
	if (stream_flush(s) == -1) {
		stream_stats.closed_client++;
		stream_free(s);
		return;
	}
	if (s->q == NULL && s->state == STREAM_CLOSING)
		stream_free(s);
}

/*
 * Nothing but the end of the connection is expected from the web server
 * after the request's empty STDIN: EOF or an error means the browser went
 * away.  Any bytes (FCGI_ABORT_REQUEST, or anything unexpected) end the
 * request properly.
 */
static void
stream_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stream	*s = w->data;
	char		 tmp[512];
	ssize_t		 n;

	(void)loop;
	(void)revents;
	n = read(w->fd, tmp, sizeof(tmp));
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		log_debug("stream %llu: closed by the server",
		    (unsigned long long)s->id);
		stream_stats.closed_client++;
		stream_free(s);
		return;
	}
	log_debug("stream %llu: %zd unexpected bytes, ending",
	    (unsigned long long)s->id, n);
	ev_io_stop(stream_loop, w);
	stream_end(s);
}

/* Gives the stream's subscription back: no more events for it. */
static void
stream_unsubscribe(struct stream *s)
{
	upstream_detach(s->sub);
	s->sub = NULL;
}

/*
 * Ends the request as FastCGI wants (empty STDOUT, END_REQUEST) after
 * whatever the socket takes now and whatever is half written; what is
 * left is dropped.  Not inside a fan-out: this may free the stream.
 */
void
stream_end(struct stream *s)
{
	struct sendq_msg	*m;
	struct buf		 b;

	if (s->state == STREAM_CLOSING || s->state == STREAM_DEAD)
		return;
	stream_unsubscribe(s);
	if (s->q != NULL && !ev_is_active(&s->wio) && stream_flush(s) == -1) {
		stream_stats.closed_client++;
		stream_free(s);
		return;
	}
	s->state = STREAM_CLOSING;
	if (s->q != NULL)
		stream_queue_drop(s, sendq_begun(s->q));
	buf_init(&b, 0);
	if (buf_reserve(&b, RECORD_END_LEN) == -1)
		goto fail;
	record_end((uint8_t *)buf_tail(&b), s->reqid, 0);
	buf_commit(&b, RECORD_END_LEN);
	if ((m = sendq_msg_new(&b, 1)) == NULL)
		goto fail;
	stream_send(s, m);
	sendq_msg_unref(m);
	if (s->state != STREAM_CLOSING)
		return;			/* no memory: doomed */
	if (s->q != NULL && !ev_is_active(&s->wio) && stream_flush(s) == -1) {
		stream_stats.closed_client++;
		stream_free(s);
		return;
	}
	if (s->q == NULL)
		stream_free(s);
	return;
fail:
	buf_free(&b);
	stream_free(s);
}

/*
 * Marks s to be freed (dead: its socket failed) or ended (over its bound)
 * after the current fan-out.
 */
static void
stream_doom(struct stream *s, int dead)
{
	if (dead) {
		s->state = STREAM_DEAD;
		ev_io_stop(stream_loop, &s->rio);
		ev_io_stop(stream_loop, &s->wio);
	}
	if (s->reaping)
		return;
	s->reaping = 1;
	TAILQ_INSERT_TAIL(&stream_reapq, s, reap_entry);
	ev_check_start(stream_loop, &stream_reap_ev);
}

/* Frees or ends the streams doomed during a fan-out. */
void
stream_reap(void)
{
	struct stream	*s;

	while ((s = TAILQ_FIRST(&stream_reapq)) != NULL) {
		TAILQ_REMOVE(&stream_reapq, s, reap_entry);
		s->reaping = 0;
		if (s->state == STREAM_DEAD)
			stream_free(s);
		else
			stream_end(s);
	}
	ev_check_stop(stream_loop, &stream_reap_ev);
}

static void
stream_reap_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	stream_reap();
}

/*
 * Closes the connection and forgets the stream; no more bytes are sent.
 * A stream still on the reap list is only marked dead: the reap frees it.
 */
static void
stream_free(struct stream *s)
{
	if (s->reaping) {
		s->state = STREAM_DEAD;
		ev_io_stop(stream_loop, &s->rio);
		ev_io_stop(stream_loop, &s->wio);
		return;
	}
	stream_unsubscribe(s);
	if (s->grant != NULL) {
		ev_periodic_stop(stream_loop, &s->expiry);
		free(s->grant);
		s->grant = NULL;
	}
	if (s->flushing) {
		TAILQ_REMOVE(&stream_flushq, s, flush_entry);
		s->flushing = 0;
	}
	ev_io_stop(stream_loop, &s->rio);
	ev_io_stop(stream_loop, &s->wio);
	stream_queue_drop(s, 0);
	close(s->rio.fd);
	TAILQ_REMOVE(&stream_list, s, hb_entry);
	stream_n--;
	stream_unreserve();
	log_debug("stream %llu: freed", (unsigned long long)s->id);
	free(s);
	if (stream_n == 0 && stream_done_cb != NULL)
		stream_done_cb();
}

/*
 * Pings the streams nothing was written to for half a heartbeat, ends the ones
 * whose output was stuck that long, frees the ones that could not even
 * take their end, and re-arms for the next stream due.
 */
static void
stream_hb_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct stream	*s;
	ev_tstamp	 now = ev_now(loop), due;

	(void)revents;
	stream_reap();
	stream_flush_all();	/* then output still queued is stuck */
	while ((s = TAILQ_FIRST(&stream_list)) != NULL &&
	    s->last_write + stream_idle() <= now + 0.001) {
		stream_touch(s);
		if (s->state == STREAM_CLOSING || s->state == STREAM_DEAD) {
			stream_stats.closed_stalled++;
			stream_free(s);
		} else if (s->q != NULL) {
			stream_stats.closed_stalled++;
			stream_end(s);
		} else {
			stream_stats.pings++;
			stream_send(s, &stream_ping);
		}
	}
	stream_reap();
	due = stream_idle();
	if ((s = TAILQ_FIRST(&stream_list)) != NULL)
		due = s->last_write + stream_idle() - now;
	if (due < 0.01)
		due = 0.01;
	w->repeat = due;
	ev_timer_again(loop, w);
}

/* Sends the token-expired event with reason, then ends the stream. */
static void
stream_end_token(struct stream *s, const char *reason)
{
	struct sendq_msg	*m;
	struct buf		 b;

	buf_init(&b, 0);
	if (auth_expired_event(&b, reason, s->grant) == 0 &&
	    (m = sendq_msg_new(&b, 0)) != NULL) {
		stream_send(s, m);
		sendq_msg_unref(m);
	}
	buf_free(&b);
	stream_end(s);
}

static void
stream_expiry_cb(struct ev_loop *loop, ev_periodic *w, int revents)
{
	struct stream	*s = w->data;

	(void)loop;
	(void)revents;
	ev_periodic_stop(stream_loop, w);
	if (s->state != STREAM_OPEN)
		return;
	log_debug("stream %llu: token expired", (unsigned long long)s->id);
	auth_stats.expired_open++;
	stream_end_token(s, "expired");
}

size_t
stream_revoke(int kind, const char *value, size_t len)
{
	struct stream	*s, *next;
	size_t		 n = 0;

	for (s = TAILQ_FIRST(&stream_list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, hb_entry);
		if (s->state != STREAM_OPEN ||
		    !auth_grant_matches(s->grant, kind, value, len))
			continue;
		log_debug("stream %llu: token revoked",
		    (unsigned long long)s->id);
		auth_stats.revoked_open++;
		n++;
		stream_end_token(s, "revoked");
	}
	return (n);
}

/* Ends every stream properly; cb runs when the last one is gone. */
void
stream_shutdown(void (*cb)(void))
{
	struct stream	*s, *next;

	stream_shutting_down = 1;
	stream_done_cb = cb;
	for (s = TAILQ_FIRST(&stream_list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, hb_entry);
		if (conf.drain_spread_ms > 0)
			stream_drain_retry(s);
		stream_end(s);
	}
	stream_reap();
	if (stream_n == 0 && cb != NULL)
		cb();
}

/*
 * Before a stream is ended at shutdown: tells its browser to come back
 * after a random time in [RESPONDER_DRAIN_MIN_MS, --drain-spread], so the
 * browsers of a stopping responder return spread over that window
 * instead of all in the same second (EventSource waits its last retry:
 * before reconnecting).  The line goes out with stream_end's flush; a
 * browser whose socket is full misses it and keeps its old retry:, as it
 * is a slow one anyway.  Counted in drained.
 */
static void
stream_drain_retry(struct stream *s)
{
	struct sendq_msg	*m;
	struct buf		 b;
	unsigned long		 ms, lo = RESPONDER_DRAIN_MIN_MS;

	if (s->state != STREAM_OPEN)
		return;
	if (lo > conf.drain_spread_ms)
		lo = conf.drain_spread_ms;
	ms = lo + arc4random_uniform((uint32_t)(conf.drain_spread_ms - lo) +
	    1);
	buf_init(&b, 0);
	if (sse_preamble(&b, ms) == -1 || (m = sendq_msg_new(&b, 0)) == NULL) {
		buf_free(&b);
		return;
	}
	stream_stats.drained++;
	stream_send(s, m);
	sendq_msg_unref(m);
}

/* At exit: closes what is left without ceremony. */
void
stream_free_all(void)
{
	struct stream	*s;

	stream_done_cb = NULL;
	stream_reap();
	while ((s = TAILQ_FIRST(&stream_list)) != NULL)
		stream_free(s);
	ev_timer_stop(stream_loop, &stream_hb_ev);
	ev_check_stop(stream_loop, &stream_reap_ev);
	ev_prepare_stop(stream_loop, &stream_flush_ev);
}
