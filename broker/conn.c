/* SPDX-License-Identifier: ISC */
/*
 * Client connections: reading and decoding frames, answering requests,
 * queueing events, writing.
 *
 * Bounds and policy:
 *  - Input: at most PROTO_HEADER_LEN + PROTO_MAX_FRAME bytes are buffered;
 *    a frame announcing more, or any framing or MessagePack error, is
 *    answered with ERROR MALFORMED and the connection is closed (counted
 *    in protocol_errors).  So are a first frame other than HELLO (ERROR
 *    HELLO) and a HELLO with another version (ERROR VERSION) or role.
 *  - Input over all connections: the input buffers together (counted in
 *    input_bytes as allocated; a buffer is freed whenever it holds no
 *    partial frame) may not pass --max-input.  A read that could take
 *    them past it is not made: the connection gets ERROR BUSY and is
 *    closed (input_drops).
 *  - Input time: HELLO must arrive within --input-timeout of connecting,
 *    and a frame once started must be whole within --input-timeout of the
 *    last frame completed (or of its first byte).  Past it: ERROR TIMEOUT
 *    and close (input_timeouts).  One timer for all: the deadlines are on
 *    server->timed, earliest first (they all use the same timeout, so
 *    appending keeps the order), and the timer is set for the head.
 *  - Channels: a SUBSCRIBE that would take the connection past
 *    --max-subscriptions channels (subscription_refusals), or a SUBSCRIBE
 *    or PUBLISH that would create a channel past --max-channels in total
 *    (channel_refusals), is answered with ERROR TOO_MANY; the connection
 *    stays usable.
 *  - Replay over all connections: replayed bytes queued and unsent
 *    (replay_bytes) may not pass --max-memory.  A SUBSCRIBE whose replay
 *    would take them past it is answered with ERROR BUSY before anything
 *    is subscribed (replay_refusals); the client retries later.  Refusing
 *    up front keeps the promise of a whole replay before live events,
 *    and costs a responder one stream, not the connection all its
 *    streams share.
 *  - Output: the unsent bytes of a connection, replayed events apart, may
 *    not pass --max-output-buffer; unsent replayed bytes (which the history
 *    holds anyway) may not pass --max-memory.  A connection over either is
 *    a slow consumer: it is marked where it went over (typically inside a
 *    fan-out loop), gets nothing more, and is closed once the current work
 *    is done (conn_reap), logged once and counted in
 *    slow_consumer_drops.  Nobody else waits for it.
 *  - Flushing: queueing puts the connection on the server's pending list
 *    (once) and writes nothing.  Once per loop iteration, after every
 *    callback and before the loop blocks, a prepare watcher (server.c)
 *    writes each pending connection's queue with writev, as many entries
 *    per call as fit; so all that was queued for a connection in one
 *    iteration goes out together, with no watcher changes.  Only when the
 *    socket does not take it all is the write watcher started; it stops
 *    once the queue is empty, and while it is active the connection is
 *    not put on the pending list.
 *  - A request the connection may not make (wrong role, bad channel or
 *    type, data too big or not UTF-8) is answered with ERROR; the
 *    connection stays usable.
 *  - Redis mode (rstore.c): PUBLISHes are answered when Redis is, in
 *    request order; a request other than PUBLISH that comes while some
 *    are unanswered, or a SUBSCRIBE that waits for a read from Redis,
 *    pauses the connection's input (CONN_WAIT: nothing more is read, no
 *    input deadline) until the answers are in; the frame is then handled
 *    again.  Each wait is bounded by --redis-timeout.
 *  - Revocations (revoke.c holds them, bounded there): a REVOKE is
 *    answered REVOKED and sent as REVOCATION to every connection that
 *    sent REVOCATIONS, which first gets all those held.  Like any reply
 *    they count against the receiver's output bound.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "event.h"
#include "eventid.h"
#include "history.h"
#include "json.h"
#include "log.h"
#include "proto.h"
#include "revoke.h"
#include "rstore.h"
#include "server.h"
#include "stats.h"
#include "streams.h"
#include "validate.h"

static struct revoke_list conn_revokes;	/* revoked tokens, see revoke.c */

static void	conn_read_cb(struct ev_loop *, ev_io *, int);
static void	conn_write_cb(struct ev_loop *, ev_io *, int);
static void	conn_replay_cb(struct event *, void *);
static int	conn_subscribe_redis(struct conn *, const struct proto_msg *,
		    struct channel *const *, size_t, struct rstore_read **);
static void	conn_deadline(struct conn *);
static void	conn_undeadline(struct conn *);
static void	conn_flush(struct conn *);
static void	conn_error(struct conn *, uint64_t, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

/* Wraps an accepted non-blocking socket; NULL when memory runs out. */
struct conn *
conn_new(struct server *s, int fd)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->server = s;
	c->id = ++s->next_id;
	c->fd = fd;
	buf_init(&c->in, PROTO_HEADER_LEN + PROTO_MAX_FRAME);
	outq_init(&c->out);
	TAILQ_INIT(&c->subs);
	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	c->rio.data = c;
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	c->wio.data = c;
	ev_io_start(s->loop, &c->rio);
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	conn_deadline(c);		/* for HELLO */
	s->stats.connections++;
	s->stats.connections_total++;
	log_debug("connection %" PRIu64 " opened", c->id);
	return (c);
}

/* Closes and frees: subscriptions end, idle channels go, references drop. */
void
conn_free(struct conn *c)
{
	struct server	*s = c->server;
	struct channel	*ch;
	struct sub	*sub;

	ev_io_stop(s->loop, &c->rio);
	ev_io_stop(s->loop, &c->wio);
	if (c->flags & CONN_PENDING)
		TAILQ_REMOVE(&s->pending, c, pendentry);
	if (c->unacked > 0)
		store_forget(s, c);
	rstore_forget(s, c);
	rstore_read_free(c->rread);
	conn_undeadline(c);
	while ((sub = TAILQ_FIRST(&c->subs)) != NULL) {
		ch = sub->channel;
		channel_unsubscribe(sub, &c->subs);
		s->stats.subscribers--;
		history_release(&s->history, ch);
	}
	streams_peer_free(&s->streams, c->streams);
	s->stats.output_bytes -= c->out.bytes;
	s->stats.replay_bytes -= c->out.replay_bytes;
	outq_free(&c->out);
	s->stats.input_bytes -= c->in.cap;
	buf_free(&c->in);
	close(c->fd);
	TAILQ_REMOVE(&s->conns, c, entry);
	s->stats.connections--;
	log_debug("connection %" PRIu64 " closed: %s", c->id,
	    c->why != NULL ? c->why : "shutdown");
	free(c);
}

/*
 * Marks c to be closed by conn_reap once the current work is done, so
 * that loops over subscribers never see a connection vanish.  Marking is
 * a flag and a list entry in c: it cannot fail.  With flush,
 * one last attempt is made to send what is queued (an ERROR saying why).
 */
void
conn_doom(struct conn *c, int flush, const char *why)
{
	if (c->flags & CONN_DOOMED)
		return;
	c->flags |= CONN_DOOMED;
	if (flush)
		c->flags |= CONN_FLUSH;
	c->why = why;
	ev_io_stop(c->server->loop, &c->rio);
	TAILQ_INSERT_TAIL(&c->server->doomed, c, doomentry);
}

/*
 * Sets c's input deadline to --input-timeout from now and puts it last on
 * the timed list; every deadline is made this way, so the list stays in
 * deadline order.  Starts the timer when it is idle.
 */
static void
conn_deadline(struct conn *c)
{
	struct server	*s = c->server;

	conn_undeadline(c);
	c->deadline = ev_now(s->loop) + s->opts.input_timeout;
	c->flags |= CONN_TIMED;
	TAILQ_INSERT_TAIL(&s->timed, c, timeentry);
	if (!ev_is_active(&s->timeout_timer)) {
		ev_timer_set(&s->timeout_timer, s->opts.input_timeout, 0);
		ev_timer_start(s->loop, &s->timeout_timer);
	}
}

/* Clears c's deadline; the timer finds out by itself when it fires. */
static void
conn_undeadline(struct conn *c)
{
	if (!(c->flags & CONN_TIMED))
		return;
	TAILQ_REMOVE(&c->server->timed, c, timeentry);
	c->flags &= ~CONN_TIMED;
}

/*
 * The input timer: closes every connection whose deadline has passed,
 * with ERROR TIMEOUT saying which one, then sets the timer for the next
 * deadline, if any.
 */
void
conn_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server	*s = w->data;
	struct conn	*c;
	double		 now = ev_now(loop);

	(void)revents;
	while ((c = TAILQ_FIRST(&s->timed)) != NULL && c->deadline <= now) {
		conn_undeadline(c);
		if (c->flags & CONN_DOOMED)
			continue;
		s->stats.input_timeouts++;
		if (!(c->flags & CONN_HELLO)) {
			log_warnx("connection %" PRIu64 ": no HELLO in %.0f s, "
			    "closed", c->id, s->opts.input_timeout);
			conn_error(c, 0, PROTO_E_TIMEOUT, "no HELLO within "
			    "%.0f s", s->opts.input_timeout);
			conn_doom(c, 1, "no HELLO in time");
		} else {
			log_warnx("connection %" PRIu64 ": frame unfinished "
			    "after %.0f s (%zu bytes), closed", c->id,
			    s->opts.input_timeout, buf_used(&c->in));
			conn_error(c, 0, PROTO_E_TIMEOUT, "frame not finished "
			    "within %.0f s", s->opts.input_timeout);
			conn_doom(c, 1, "frame unfinished in time");
		}
	}
	if ((c = TAILQ_FIRST(&s->timed)) != NULL) {
		ev_timer_set(w, c->deadline - now, 0);
		ev_timer_start(loop, w);
	}
	conn_reap(s);
}

/* Closes the connections marked by conn_doom. */
void
conn_reap(struct server *s)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&s->doomed)) != NULL) {
		TAILQ_REMOVE(&s->doomed, c, doomentry);
		if (c->flags & CONN_FLUSH)
			conn_flush(c);
		conn_free(c);
	}
}

/* At exit: one last attempt to send each queue, then every close. */
void
conn_close_all(struct server *s)
{
	struct conn	*c;

	conn_reap(s);
	while ((c = TAILQ_FIRST(&s->conns)) != NULL) {
		conn_flush(c);
		conn_free(c);
	}
}

/* Whether c's queue is past its bounds (see the top of this file). */
static int
conn_over(const struct conn *c)
{
	const struct broker_opts *o = &c->server->opts;

	return (c->out.bytes - c->out.replay_bytes > o->max_output ||
	    c->out.replay_bytes > o->max_memory);
}

/*
 * Called after anything was queued: enforce the bound, then have the queue
 * written before the loop next blocks, unless the write watcher is waiting
 * for the socket to take more already.
 */
static void
conn_queued(struct conn *c)
{
	struct server	*s = c->server;

	if (conn_over(c)) {
		s->stats.slow_consumer_drops++;
		log_warnx("connection %" PRIu64 ": slow consumer dropped, "
		    "%zu bytes unsent", c->id, c->out.bytes);
		conn_doom(c, 0, "slow consumer");
		return;
	}
	if (!(c->flags & CONN_PENDING) && !ev_is_active(&c->wio)) {
		c->flags |= CONN_PENDING;
		TAILQ_INSERT_TAIL(&s->pending, c, pendentry);
	}
}

/* Queues ev (by reference) for c; flags OUTQ_REPLAY for a replay. */
void
conn_send_event(struct conn *c, struct event *ev, uint32_t flags)
{
	struct server	*s = c->server;

	if (c->flags & CONN_DOOMED)
		return;
	if (outq_push_event(&c->out, ev, flags) == -1) {
		log_warnx("connection %" PRIu64 ": out of memory", c->id);
		conn_doom(c, 0, "out of memory");
		return;
	}
	s->stats.output_bytes += ev->len;
	if (flags & OUTQ_REPLAY)
		s->stats.replay_bytes += ev->len;
	s->stats.events_delivered++;
	conn_queued(c);
}

/* Queues the reply frame an encoder just appended (rv is its result). */
static void
conn_reply_done(struct conn *c, size_t mark, int rv)
{
	size_t	 before = c->out.bytes;

	if (rv == -1 || outq_commit_priv(&c->out, mark) == -1) {
		log_warnx("connection %" PRIu64 ": cannot queue a reply",
		    c->id);
		conn_doom(c, 0, "out of memory");
		return;
	}
	c->server->stats.output_bytes += c->out.bytes - before;
	conn_queued(c);
}

/* Sends ERROR code with msg to ref now, whatever waits before it. */
void
conn_error_now(struct conn *c, uint64_t ref, int code, const char *msg,
    size_t len)
{
	struct buf	*b;
	size_t		 mark;

	log_debug("connection %" PRIu64 ": error %d: %.*s", c->id, code,
	    (int)len, msg);
	b = outq_priv(&c->out, &mark);
	conn_reply_done(c, mark, proto_encode_error(b, ref, code, msg, len));
}

/*
 * Answers ref with ERROR code and a message saying why, after the
 * answers to the publishes before it (journal or Redis).
 */
static void
conn_error(struct conn *c, uint64_t ref, int code, const char *fmt, ...)
{
	va_list		 ap;
	char		 msg[512];
	int		 n;

	if (c->unacked > 0)
		store_commit(c->server);	/* answers keep their order */
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (c->unacked > 0 && rstore_defer_error(c->server, c, ref, code, msg,
	    (size_t)n) == 0)
		return;
	conn_error_now(c, ref, code, msg, (size_t)n);
}

/* HELLO: check version and role, answer WELCOME with the epoch. */
static void
conn_hello(struct conn *c, const struct proto_msg *msg)
{
	struct server	*s = c->server;
	struct buf	*b;
	char		 epoch[EVENTID_MAX];
	size_t		 mark, len;

	if (msg->u.hello.version != PROTO_VERSION) {
		conn_error(c, 0, PROTO_E_VERSION,
		    "protocol version %" PRIu64 " not supported, this broker "
		    "speaks %d", msg->u.hello.version, PROTO_VERSION);
		s->stats.protocol_errors++;
		conn_doom(c, 1, "protocol version mismatch");
		return;
	}
	if (msg->u.hello.role == 0 ||
	    (msg->u.hello.role & ~(uint64_t)PROTO_ROLE_BOTH) != 0) {
		conn_error(c, 0, PROTO_E_ROLE, "role %" PRIu64 " is not 1, 2 "
		    "or 3", msg->u.hello.role);
		s->stats.protocol_errors++;
		conn_doom(c, 1, "bad role");
		return;
	}
	c->flags |= CONN_HELLO;
	c->role = msg->u.hello.role;
	len = eventid_format_epoch(epoch, sizeof(epoch), s->history.epoch);
	b = outq_priv(&c->out, &mark);
	conn_reply_done(c, mark, proto_encode_welcome(b, PROTO_VERSION, epoch,
	    len));
}

/* The data of a PUBLISH as text, or an ERROR sent and -1. */
static int
conn_publish_data(struct conn *c, uint64_t ref, const msgpack_object *o,
    const char **data, size_t *len)
{
	struct server	*s = c->server;
	size_t		 max = s->opts.max_event_size;
	int		 r;

	switch (o->type) {
	case MSGPACK_OBJECT_STR:
	case MSGPACK_OBJECT_BIN:
		if (o->type == MSGPACK_OBJECT_STR) {
			*data = o->via.str.ptr;
			*len = o->via.str.size;
		} else {
			*data = o->via.bin.ptr;
			*len = o->via.bin.size;
		}
		if (*len > max) {
			conn_error(c, ref, PROTO_E_TOO_BIG, "data of %zu bytes "
			    "is over the limit of %zu", *len, max);
			return (-1);
		}
		if (validate_utf8(*data, *len) == -1) {
			conn_error(c, ref, PROTO_E_DATA,
			    "data is not valid UTF-8");
			return (-1);
		}
		return (0);
	case MSGPACK_OBJECT_EXT:
		conn_error(c, ref, PROTO_E_DATA, "ext data is refused");
		return (-1);
	default:
		buf_reset(&s->data);
		if ((r = json_render(&s->data, o)) != JSON_OK) {
			if (r == JSON_E_SPACE)
				conn_error(c, ref, PROTO_E_TOO_BIG, "data as "
				    "JSON is over the limit of %zu bytes", max);
			else
				conn_error(c, ref, PROTO_E_DATA, "%s",
				    json_strerror(r));
			return (-1);
		}
		*data = buf_head(&s->data);
		*len = buf_used(&s->data);
		return (0);
	}
}

/*
 * Whether n more channels would pass --max-channels: if so, ERROR
 * TOO_MANY is sent, the refusal counted (logged once until the broker is
 * back under 90% of the bound) and -1 returned.
 */
static int
conn_channels_full(struct conn *c, uint64_t ref, size_t n)
{
	struct server	*s = c->server;
	size_t		 count = s->history.channels.names.count;
	size_t		 max = s->opts.max_channels;

	if (count + n <= max) {
		if (count + n <= max / 10 * 9)
			s->warned_channels = 0;
		return (0);
	}
	s->stats.channel_refusals++;
	if (!s->warned_channels) {
		log_warnx("%zu channels, --max-channels %zu reached: refusing "
		    "new channels", count, max);
		s->warned_channels = 1;
	}
	conn_error(c, ref, PROTO_E_TOO_MANY, "the broker holds %zu channels, "
	    "at most %zu", count, max);
	return (-1);
}

/*
 * PUBLISH_ONCE of a key seen in the last 300 s (idem.c): answers
 * PUBLISHED with the first id and returns 1, publishing nothing.  A key
 * empty or too long is malformed (ERROR, then close) and also returns 1.
 */
static int
conn_publish_once(struct conn *c, const struct proto_msg *msg)
{
	struct server		*s = c->server;
	const struct proto_str	*k = &msg->u.publish.key;
	const struct proto_str	*chn = &msg->u.publish.channel;
	const char		*id;
	size_t			 idlen, mark;
	struct buf		*b;

	if (k->len == 0 || k->len > PROTO_IDEM_KEY_MAX) {
		conn_error(c, msg->ref, PROTO_E_MALFORMED, "idempotency key "
		    "of %u bytes, must be 1 to %d", (unsigned)k->len,
		    PROTO_IDEM_KEY_MAX);
		s->stats.protocol_errors++;
		conn_doom(c, 1, "bad idempotency key");
		return (1);
	}
	if ((id = idem_find(&s->idem, chn->ptr, chn->len, k->ptr, k->len,
	    ev_now(s->loop), &idlen)) == NULL)
		return (0);
	s->stats.publish_errors--;
	s->stats.idem_repeats++;
	b = outq_priv(&c->out, &mark);
	conn_reply_done(c, mark, proto_encode_published(b, msg->ref, id,
	    idlen));
	return (1);
}

/* Keeps the key of a PUBLISH_ONCE just published with the event's id. */
static void
conn_publish_remember(struct conn *c, const struct proto_msg *msg,
    const char *id, size_t idlen)
{
	struct server		*s = c->server;
	const struct proto_str	*k = &msg->u.publish.key;
	const struct proto_str	*chn = &msg->u.publish.channel;
	uint64_t		 evicted = s->idem.evictions;

	if (idem_add(&s->idem, chn->ptr, chn->len, k->ptr, k->len, id, idlen,
	    ev_now(s->loop)) == -1)
		log_warnx("out of memory: idempotency key not kept");
	s->stats.idem_evictions += s->idem.evictions - evicted;
	if (evicted == 0 && s->idem.evictions > 0)
		log_warnx("idempotency keys: bound reached, oldest dropped "
		    "before 300 s (counted in idem_evictions)");
}

/*
 * PUBLISH: assign an id, keep the event, fan it out to the channel's
 * subscribers (each gets a reference to the same frame), trim the
 * history, answer PUBLISHED with the id.  PUBLISH_ONCE the same, unless
 * its key was seen (conn_publish_once).
 */
static void
conn_publish(struct conn *c, const struct proto_msg *msg)
{
	struct server		*s = c->server;
	struct history		*h = &s->history;
	const struct proto_str	*chn = &msg->u.publish.channel;
	struct channel		*ch;
	struct event		*ev;
	struct buf		*b;
	const char		*why, *type, *data;
	char			 id[EVENTID_MAX];
	size_t			 typelen, datalen, idlen, mark;
	double			 now = ev_now(s->loop);

	s->stats.publish_errors++;	/* undone on success */
	if (!(c->role & PROTO_ROLE_PUBLISHER)) {
		conn_error(c, msg->ref, PROTO_E_ROLE,
		    "PUBLISH needs the publisher role");
		return;
	}
	if ((why = validate_channel(chn->ptr, chn->len)) != NULL) {
		conn_error(c, msg->ref, PROTO_E_CHANNEL, "%s", why);
		return;
	}
	type = msg->u.publish.type.ptr;
	typelen = msg->u.publish.type.len;
	if (type == NULL || typelen == 0) {
		type = "message";
		typelen = 7;
	} else if ((why = validate_event_type(type, typelen)) != NULL) {
		conn_error(c, msg->ref, PROTO_E_TYPE, "%s", why);
		return;
	}
	if (conn_publish_data(c, msg->ref, msg->u.publish.data, &data,
	    &datalen) == -1)
		return;
	if (msg->type == PROTO_PUBLISH_ONCE && conn_publish_once(c, msg))
		return;
	if (s->rstore != NULL) {
		/* Answered when Redis is (rstore.c). */
		if (rstore_publish(s, c, msg->ref, chn->ptr, chn->len, type,
		    typelen, data, datalen, msg->type == PROTO_PUBLISH_ONCE ?
		    msg->u.publish.key.ptr : NULL, msg->u.publish.key.len) ==
		    -1)
			conn_error(c, msg->ref, PROTO_E_UNAVAILABLE, "the "
			    "shared store (Redis) is unavailable; retry later");
		else
			s->stats.publish_errors--;
		return;
	}
	if (channel_find(&h->channels, chn->ptr, chn->len) == NULL &&
	    conn_channels_full(c, msg->ref, 1) == -1)
		return;
	if ((ch = history_channel(h, chn->ptr, chn->len)) == NULL) {
		conn_error(c, msg->ref, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	if ((ev = history_publish(h, ch, type, typelen, data, datalen,
	    now)) == NULL) {
		history_release(h, ch);
		conn_error(c, msg->ref, PROTO_E_INTERNAL, "cannot store event");
		return;
	}
	s->stats.publish_errors--;
	if (s->store.journal != NULL) {
		/* Answered by the commit, with the fan-out (store.c). */
		c->unacked++;
		if (store_accept(s, c, msg->ref, ev, type, typelen, data,
		    datalen) == -1) {
			c->unacked--;
			s->stats.publish_errors++;
			conn_error(c, msg->ref, PROTO_E_INTERNAL,
			    "out of memory");
		}
		return;
	}
	s->stats.events_published++;
	server_fanout(s, ev);
	idlen = event_format_id(ev, id, sizeof(id));
	if (msg->type == PROTO_PUBLISH_ONCE)
		conn_publish_remember(c, msg, id, idlen);
	history_trim(h, ch, now);	/* may free ev and ch */
	b = outq_priv(&c->out, &mark);
	conn_reply_done(c, mark, proto_encode_published(b, msg->ref, id,
	    idlen));
}

/*
 * Answers a publish the journal's commit settled: PUBLISHED with the id
 * of ev, or ERROR STORE saying why when why is not NULL.
 */
void
conn_publish_answer(struct conn *c, uint64_t ref, const struct event *ev,
    const char *why)
{
	struct buf	*b;
	char		 id[EVENTID_MAX];
	size_t		 idlen, mark;

	c->unacked--;
	if (why != NULL) {
		conn_error(c, ref, PROTO_E_STORE, "the broker could not store "
		    "the event (%s); retry later", why);
		return;
	}
	idlen = event_format_id(ev, id, sizeof(id));
	b = outq_priv(&c->out, &mark);
	conn_reply_done(c, mark, proto_encode_published(b, ref, id, idlen));
}

/*
 * Answers a publish Redis settled: PUBLISHED with id, or ERROR
 * UNAVAILABLE when id is NULL.
 */
void
conn_publish_result(struct conn *c, uint64_t ref, const char *id,
    size_t idlen)
{
	struct buf	*b;
	size_t		 mark;
	static const char why[] = "the shared store (Redis) did not take the "
	    "event in time; retry later";

	if (id == NULL) {
		conn_error_now(c, ref, PROTO_E_UNAVAILABLE, why,
		    sizeof(why) - 1);
		return;
	}
	b = outq_priv(&c->out, &mark);
	conn_reply_done(c, mark, proto_encode_published(b, ref, id, idlen));
}

/* Validates the channel names of a (UN)SUBSCRIBE; ERROR sent and -1. */
static int
conn_check_channels(struct conn *c, const struct proto_msg *msg)
{
	const msgpack_object	*o;
	const char		*why;
	uint32_t		 i;

	if (msg->u.subscribe.nchannels == 0) {
		conn_error(c, msg->ref, PROTO_E_CHANNEL, "no channel given");
		return (-1);
	}
	if (msg->u.subscribe.nchannels > PROTO_MAX_CHANNELS) {
		conn_error(c, msg->ref, PROTO_E_TOO_MANY, "%u channels, at "
		    "most %d", (unsigned)msg->u.subscribe.nchannels,
		    PROTO_MAX_CHANNELS);
		return (-1);
	}
	for (i = 0; i < msg->u.subscribe.nchannels; i++) {
		o = &msg->u.subscribe.channels[i];
		if ((why = validate_channel(o->via.str.ptr,
		    o->via.str.size)) != NULL) {
			conn_error(c, msg->ref, PROTO_E_CHANNEL,
			    "channel %u: %s", (unsigned)i + 1, why);
			return (-1);
		}
	}
	return (0);
}

/* Queues one replayed event; history_replay calls it in seq order. */
static void
conn_replay_cb(struct event *ev, void *arg)
{
	conn_send_event(arg, ev, OUTQ_REPLAY);
}

/*
 * Checks the bounds a SUBSCRIBE of distinct new channels and new
 * subscriptions would pass (see the top of this file); ERROR sent and -1
 * when one would be.
 */
static int
conn_check_subscribe(struct conn *c, const struct proto_msg *msg)
{
	struct server		*s = c->server;
	const msgpack_object	*o, *p;
	struct channel		*ch;
	size_t			 nnew = 0, nsub = 0;
	uint32_t		 i, j;

	for (i = 0; i < msg->u.subscribe.nchannels; i++) {
		o = &msg->u.subscribe.channels[i];
		for (j = 0; j < i; j++) {
			p = &msg->u.subscribe.channels[j];
			if (p->via.str.size == o->via.str.size &&
			    memcmp(p->via.str.ptr, o->via.str.ptr,
			    o->via.str.size) == 0)
				break;
		}
		if (j < i)
			continue;
		ch = channel_find(&s->history.channels, o->via.str.ptr,
		    o->via.str.size);
		if (ch == NULL)
			nnew++;
		if (ch == NULL || channel_find_sub(ch, c) == NULL)
			nsub++;
	}
	if (c->nsubs + nsub > s->opts.max_subs) {
		s->stats.subscription_refusals++;
		if (!(c->flags & CONN_WARNED)) {
			log_warnx("connection %" PRIu64 ": --max-subscriptions "
			    "%zu reached, refusing more", c->id,
			    s->opts.max_subs);
			c->flags |= CONN_WARNED;
		}
		conn_error(c, msg->ref, PROTO_E_TOO_MANY, "subscribed to %zu "
		    "channels, at most %zu per connection", c->nsubs,
		    s->opts.max_subs);
		return (-1);
	}
	if (nnew > 0 && conn_channels_full(c, msg->ref, nnew) == -1)
		return (-1);
	return (0);
}

/*
 * SUBSCRIBE, all in this one call: check the bounds (channels, and the
 * replay budget before anything is subscribed), subscribe to every
 * channel (live events from now on are queued after what follows), then
 * either RESET when the last id cannot be honoured, then SUBSCRIBED with
 * the head id and the number of replayed events, then those events merged
 * in seq order.  A last id of another run is reset "epoch" and then
 * replayed from the start of this run: the client saw none of its events,
 * and one published while it was on its way must not be skipped.
 */
static void
conn_subscribe(struct conn *c, const struct proto_msg *msg)
{
	struct server		*s = c->server;
	struct history		*h = &s->history;
	const struct proto_str	*last = &msg->u.subscribe.last_id;
	const msgpack_object	*o;
	struct channel		*chs[PROTO_MAX_CHANNELS], *ch;
	struct buf		*b;
	char			 head[EVENTID_MAX], oldest[EVENTID_MAX];
	size_t			 n = 0, i, j, headlen, oldestlen, mark, size;
	uint64_t		 after = 0, nreplay, oldseq;
	int			 r = HISTORY_OK;
	struct rstore_read	*rd = NULL;
	struct event		**revs = NULL;
	size_t			 nrevs = 0;

	if (!(c->role & PROTO_ROLE_SUBSCRIBER)) {
		conn_error(c, msg->ref, PROTO_E_ROLE,
		    "SUBSCRIBE needs the subscriber role");
		return;
	}
	if (conn_check_channels(c, msg) == -1 ||
	    conn_check_subscribe(c, msg) == -1)
		return;
	for (i = 0; i < msg->u.subscribe.nchannels; i++) {
		o = &msg->u.subscribe.channels[i];
		if ((ch = history_channel(h, o->via.str.ptr,
		    o->via.str.size)) == NULL)
			goto nomem;
		for (j = 0; j < n && chs[j] != ch; j++)
			;
		if (j == n)
			chs[n++] = ch;
	}
	if (last->ptr != NULL && s->rstore != NULL &&
	    conn_subscribe_redis(c, msg, chs, n, &rd) == -1)
		return;		/* answered, or handled again later */
	if (rd != NULL) {
		r = rd->reason;
		after = rd->after;
		if ((r == HISTORY_OK || r == HISTORY_EPOCH) &&
		    (nrevs = rstore_replay(s, rd, chs, n, &revs)) ==
		    (size_t)-1)
			goto nomem;
	}
	if (last->ptr != NULL) {
		if (rd == NULL)
			r = history_cursor(h, last->ptr, last->len, chs, n,
			    &after);
		if (r == HISTORY_EPOCH)
			after = 0;	/* the reset replays this whole run */
		size = 0;
		if (rd != NULL)
			for (i = 0; i < nrevs; i++)
				size += revs[i]->len;
		else if (r == HISTORY_OK || r == HISTORY_EPOCH)
			size = history_replay_size(h, chs, n, after);
		if (size > 0 &&
		    s->stats.replay_bytes + size > s->opts.max_memory) {
			s->stats.replay_refusals++;
			log_warnx("connection %" PRIu64 ": replay of %zu bytes "
			    "refused, %" PRIu64 " already queued of at most "
			    "%zu", c->id, size, s->stats.replay_bytes,
			    s->opts.max_memory);
			for (i = 0; i < n; i++)
				history_release(h, chs[i]);
			conn_error(c, msg->ref, PROTO_E_BUSY, "replay of %zu "
			    "bytes would pass the broker's replay budget; "
			    "retry later", size);
			free(revs);
			rstore_read_free(rd);
			return;
		}
	}
	for (i = 0; i < n; i++) {
		if (channel_find_sub(chs[i], c) != NULL)
			continue;
		if (channel_subscribe(chs[i], c, &c->subs) == NULL)
			goto nomem;
		c->nsubs++;
		s->stats.subscribers++;
	}

	headlen = history_format_id(h, h->seq, head, sizeof(head));
	nreplay = 0;
	if (last->ptr != NULL) {
		if (r != HISTORY_OK) {
			s->stats.resets++;
			stats_reset(&s->stats, r);
			oldseq = rd != NULL ? rd->oldest :
			    history_oldest(h, chs, n);
			oldestlen = 0;
			if (oldseq != 0)
				oldestlen = history_format_id(h, oldseq,
				    oldest, sizeof(oldest));
			b = outq_priv(&c->out, &mark);
			conn_reply_done(c, mark, proto_encode_reset(b,
			    msg->ref, history_cursor_reason(r),
			    strlen(history_cursor_reason(r)),
			    oldseq != 0 ? oldest : NULL, oldestlen,
			    head, headlen));
			if (r != HISTORY_EPOCH)
				last = NULL;
		}
		if (last != NULL && rd != NULL)
			nreplay = nrevs;
		else if (last != NULL) {
			for (i = 0; i < n; i++)
				nreplay += chs[i]->rcount -
				    channel_after(chs[i], after);
		}
	} else
		last = NULL;
	b = outq_priv(&c->out, &mark);
	conn_reply_done(c, mark, proto_encode_subscribed(b, msg->ref, head,
	    headlen, nreplay));
	if (last != NULL) {
		s->stats.replays++;
		s->stats.replayed_events += nreplay;
		if (rd != NULL)
			for (i = 0; i < nrevs; i++)
				conn_send_event(c, revs[i], OUTQ_REPLAY);
		else
			history_replay(h, chs, n, after, conn_replay_cb, c);
	}
	free(revs);
	rstore_read_free(rd);
	return;

nomem:
	for (i = 0; i < n; i++)
		history_release(h, chs[i]);
	free(revs);
	rstore_read_free(rd);
	conn_error(c, msg->ref, PROTO_E_INTERNAL, "out of memory");
}

/*
 * The Redis mode's part of a SUBSCRIBE with a last id (rstore.c): 0 to
 * go on, with *rd set when a read from Redis answers it; -1 when it was
 * answered (ERROR UNAVAILABLE) or waits for Redis, to be handled again.
 * The channels are released when it returns -1.
 */
static int
conn_subscribe_redis(struct conn *c, const struct proto_msg *msg,
    struct channel *const *chs, size_t n, struct rstore_read **rd)
{
	struct server		*s = c->server;
	const struct proto_str	*last = &msg->u.subscribe.last_id;
	enum rstore_cursor	 where = RSTORE_MIRROR;
	int			 code = 0, waited;
	size_t			 i;

	waited = (c->flags & CONN_WAITED) != 0;
	c->flags &= ~CONN_WAITED;
	if (c->rread != NULL && c->rread->ref == msg->ref) {
		*rd = c->rread;
		c->rread = NULL;
		if ((code = (*rd)->unavailable) == 0)
			return (0);
		rstore_read_free(*rd);
		*rd = NULL;
	} else {
		rstore_read_free(c->rread);
		c->rread = NULL;
		where = rstore_cursor(s, c, msg->ref, last->ptr, last->len,
		    chs, n, waited);
		if (where == RSTORE_MIRROR)
			return (0);
		if (where == RSTORE_READ) {
			*rd = c->rread;
			c->rread = NULL;
			if ((code = (*rd)->unavailable) == 0)
				return (0);
			rstore_read_free(*rd);
			*rd = NULL;
		}
		if (where == RSTORE_UNAVAILABLE)
			code = PROTO_E_UNAVAILABLE;
	}
	for (i = 0; i < n; i++)
		history_release(&s->history, chs[i]);
	if (where == RSTORE_ASYNC) {
		c->flags |= CONN_WAIT;
		return (-1);
	}
	if (code == PROTO_E_BUSY) {
		s->stats.replay_refusals++;
		conn_error(c, msg->ref, code, "replay would pass the "
		    "broker's replay budget; retry later");
	} else if (code == PROTO_E_INTERNAL)
		conn_error(c, msg->ref, code, "out of memory");
	else
		conn_error(c, msg->ref, PROTO_E_UNAVAILABLE, "the shared "
		    "store (Redis) is unavailable: cannot replay from that "
		    "id now; retry later");
	return (-1);
}

/* UNSUBSCRIBE: ends the subscriptions that exist; others are ignored. */
static void
conn_unsubscribe(struct conn *c, const struct proto_msg *msg)
{
	struct server		*s = c->server;
	const msgpack_object	*o;
	struct channel		*ch;
	struct sub		*sub;
	struct buf		*b;
	size_t			 mark;
	uint32_t		 i;

	if (!(c->role & PROTO_ROLE_SUBSCRIBER)) {
		conn_error(c, msg->ref, PROTO_E_ROLE,
		    "UNSUBSCRIBE needs the subscriber role");
		return;
	}
	if (conn_check_channels(c, msg) == -1)
		return;
	for (i = 0; i < msg->u.subscribe.nchannels; i++) {
		o = &msg->u.subscribe.channels[i];
		ch = channel_find(&s->history.channels, o->via.str.ptr,
		    o->via.str.size);
		if (ch == NULL || (sub = channel_find_sub(ch, c)) == NULL)
			continue;
		channel_unsubscribe(sub, &c->subs);
		c->nsubs--;
		s->stats.subscribers--;
		history_release(&s->history, ch);
	}
	b = outq_priv(&c->out, &mark);
	conn_reply_done(c, mark, proto_encode_unsubscribed(b, msg->ref));
}

/*
 * REVOKE: holds the revocation (revoke.c) and sends it to every
 * connection that asked for revocations.
 */
static void
conn_revoke(struct conn *c, const struct proto_msg *msg)
{
	struct server	*s = c->server;
	struct conn	*o;
	struct buf	*b;
	size_t		 mark;
	char		 err[128];
	uint64_t	 now = (uint64_t)ev_now(s->loop);

	if (!(c->role & PROTO_ROLE_PUBLISHER)) {
		conn_error(c, msg->ref, PROTO_E_ROLE,
		    "REVOKE needs the publisher role");
		return;
	}
	switch (revoke_add(&conn_revokes, msg->u.revoke.kind.ptr,
	    msg->u.revoke.kind.len, msg->u.revoke.value.ptr,
	    msg->u.revoke.value.len, msg->u.revoke.until, now, err,
	    sizeof(err))) {
	case REVOKE_HELD:
		break;
	case REVOKE_ADDED:
		conn_revokes.added++;
		log_info("revoked %.*s %.*s until %" PRIu64,
		    (int)msg->u.revoke.kind.len, msg->u.revoke.kind.ptr,
		    (int)msg->u.revoke.value.len, msg->u.revoke.value.ptr,
		    msg->u.revoke.until);
		TAILQ_FOREACH(o, &s->conns, entry) {
			if (!(o->flags & CONN_REVOKES) ||
			    (o->flags & CONN_DOOMED))
				continue;
			b = outq_priv(&o->out, &mark);
			conn_reply_done(o, mark, proto_encode_revocation(b,
			    msg->u.revoke.kind.ptr, msg->u.revoke.kind.len,
			    msg->u.revoke.value.ptr, msg->u.revoke.value.len,
			    msg->u.revoke.until));
		}
		break;
	case REVOKE_BAD:
		conn_revokes.refused++;
		conn_error(c, msg->ref, PROTO_E_DATA, "REVOKE: %s", err);
		return;
	case REVOKE_FULL:
		conn_revokes.refused++;
		log_warnx("revocation refused: %s", err);
		conn_error(c, msg->ref, PROTO_E_TOO_MANY, "REVOKE: %s", err);
		return;
	case REVOKE_NOMEM:
		conn_revokes.refused++;
		conn_error(c, msg->ref, PROTO_E_INTERNAL, "REVOKE: %s", err);
		return;
	}
	b = outq_priv(&c->out, &mark);
	conn_reply_done(c, mark, proto_encode_revoked(b, msg->ref));
}

/*
 * REVOCATIONS: the connection gets every revocation held now, REVOKED
 * with its ref, and from then on each new one.
 */
static void
conn_revocations(struct conn *c, const struct proto_msg *msg)
{
	struct buf	*b;
	size_t		 mark;

	if (!(c->role & PROTO_ROLE_SUBSCRIBER)) {
		conn_error(c, msg->ref, PROTO_E_ROLE,
		    "REVOCATIONS needs the subscriber role");
		return;
	}
	c->flags |= CONN_REVOKES;
	revoke_expire(&conn_revokes, (uint64_t)ev_now(c->server->loop));
	b = outq_priv(&c->out, &mark);
	if (revoke_encode_all(&conn_revokes, b) == -1) {
		conn_reply_done(c, mark, -1);
		return;
	}
	conn_reply_done(c, mark, proto_encode_revoked(b, msg->ref));
}

/*
 * STREAM_COUNTS: a responder's browser streams per channel (streams.c).
 * Entries past the bounds are refused and counted there; nothing is
 * answered, so a responder never waits on it.
 */
static void
conn_stream_counts(struct conn *c, const struct proto_msg *msg)
{
	struct server	*s = c->server;
	int		 r;

	r = streams_report(&s->streams, &c->streams, msg->u.counts.full != 0,
	    msg->u.counts.kv, msg->u.counts.n);
	if (r == -1) {
		log_warnx("connection %" PRIu64 ": out of memory for stream "
		    "counts", c->id);
		conn_doom(c, 0, "out of memory");
	} else if (r > 0)
		log_debug("connection %" PRIu64 ": %d stream count(s) refused",
		    c->id, r);
}

/* Handles one decoded frame. */
static void
conn_dispatch(struct conn *c, const struct proto_msg *msg)
{
	struct server	*s = c->server;
	struct buf	*b;
	size_t		 mark;

	if (!(c->flags & CONN_HELLO)) {
		if (msg->type == PROTO_HELLO) {
			conn_hello(c, msg);
			return;
		}
		conn_error(c, msg->ref, PROTO_E_HELLO, "first frame must be "
		    "HELLO, not %s", proto_type_name(msg->type));
		s->stats.protocol_errors++;
		conn_doom(c, 1, "no HELLO");
		return;
	}
	if (msg->type != PROTO_PUBLISH)
		store_commit(s);	/* answers in order; see store.c */
	switch (msg->type) {
	case PROTO_HELLO:
		conn_error(c, 0, PROTO_E_HELLO, "HELLO was already received");
		break;
	case PROTO_PING:
		b = outq_priv(&c->out, &mark);
		conn_reply_done(c, mark, proto_encode_pong(b, msg->ref));
		break;
	case PROTO_PUBLISH:
	case PROTO_PUBLISH_ONCE:
		conn_publish(c, msg);
		break;
	case PROTO_SUBSCRIBE:
		conn_subscribe(c, msg);
		break;
	case PROTO_UNSUBSCRIBE:
		conn_unsubscribe(c, msg);
		break;
	case PROTO_STATS:
		store_stats(s);
		rstore_stats(s);
		b = outq_priv(&c->out, &mark);
		conn_reply_done(c, mark, stats_reply(b, msg->ref, &s->stats,
		    &s->history, &s->streams, ev_now(s->loop)));
		break;
	case PROTO_STREAM_COUNTS:
		conn_stream_counts(c, msg);
		break;
	case PROTO_CHANNEL_STATS:
		if (conn_check_channels(c, msg) == -1)
			break;
		b = outq_priv(&c->out, &mark);
		conn_reply_done(c, mark, stats_channels(b, msg, &s->history,
		    &s->streams));
		break;
	case PROTO_REVOKE:
		conn_revoke(c, msg);
		break;
	case PROTO_REVOCATIONS:
		conn_revocations(c, msg);
		break;
	default:
		conn_error(c, msg->ref, PROTO_E_MALFORMED, "%s is not a "
		    "request", proto_type_name(msg->type));
		s->stats.protocol_errors++;
		conn_doom(c, 1, "unexpected message");
		break;
	}
}

/* Handles every whole frame in the input buffer; returns how many. */
static size_t
conn_input(struct conn *c)
{
	struct proto_msg msg;
	char		 err[256];
	size_t		 used, done = 0;
	int		 r;

	while (!(c->flags & CONN_DOOMED)) {
		r = proto_decode(buf_head(&c->in), buf_used(&c->in),
		    PROTO_MAX_FRAME, &msg, &used, err, sizeof(err));
		if (r == PROTO_MORE)
			break;
		if (r == PROTO_BAD) {
			log_debug("connection %" PRIu64 ": %s", c->id, err);
			conn_error(c, 0, PROTO_E_MALFORMED, "%s", err);
			c->server->stats.protocol_errors++;
			conn_doom(c, 1, "malformed frame");
			break;
		}
		if (c->server->rstore != NULL && c->unacked > 0 &&
		    msg.type != PROTO_PUBLISH &&
		    msg.type != PROTO_PUBLISH_ONCE)
			c->flags |= CONN_WAIT;	/* after the answers */
		else
			conn_dispatch(c, &msg);
		proto_msg_free(&msg);
		if (c->flags & CONN_WAIT)
			break;	/* handled again by conn_resume */
		buf_consume(&c->in, used);
		done++;
	}
	return (done);
}

/*
 * Makes room for a read of room bytes unless that could take the input
 * buffers of all connections past --max-input (a buffer that grows at
 * most doubles past what it must hold, hence the 2).  -1 when refused.
 */
static int
conn_in_reserve(struct conn *c, size_t room)
{
	struct server	*s = c->server;
	size_t		 want = buf_used(&c->in) + room, cap = c->in.cap;

	if (want > cap &&
	    s->stats.input_bytes - cap + 2 * want > s->opts.max_input)
		return (-1);
	if (buf_reserve(&c->in, room) == -1)
		return (-2);
	s->stats.input_bytes += c->in.cap - cap;
	return (0);
}

/*
 * After the frames read were handled: an empty buffer is freed (a
 * connection between frames holds no input memory) and c's deadline
 * follows the rules at the top of this file.
 */
static void
conn_in_done(struct conn *c, size_t frames)
{
	struct server	*s = c->server;

	if (buf_used(&c->in) == 0) {
		s->stats.input_bytes -= c->in.cap;
		buf_free(&c->in);
	}
	if (c->flags & CONN_WAIT) {
		/* Nothing read until Redis answers (rstore.c). */
		ev_io_stop(s->loop, &c->rio);
		conn_undeadline(c);
		return;
	}
	if (!(c->flags & CONN_HELLO))
		return;		/* the HELLO deadline stands */
	if (buf_used(&c->in) == 0)
		conn_undeadline(c);
	else if (frames > 0 || !(c->flags & CONN_TIMED))
		conn_deadline(c);
}

/*
 * Redis answered what c's input waited for (CONN_WAIT): the frame kept
 * is handled again, then the rest, and reading goes on.  The caller
 * reaps.
 */
void
conn_resume(struct conn *c)
{
	if (!(c->flags & CONN_WAIT))
		return;
	c->flags &= ~CONN_WAIT;
	if (c->flags & CONN_DOOMED)
		return;
	conn_in_done(c, conn_input(c));
	if (!(c->flags & (CONN_WAIT | CONN_DOOMED)))
		ev_io_start(c->server->loop, &c->rio);
}

/*
 * Reads once (at most BROKER_READ_SIZE, never past the input bound),
 * handles the whole frames, then closes what that work marked.
 */
static void
conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn	*c = w->data;
	struct server	*s = c->server;
	size_t		 room;
	ssize_t		 n;
	int		 r;

	(void)loop;
	(void)revents;
	room = c->in.max - buf_used(&c->in);
	if (room > BROKER_READ_SIZE)
		room = BROKER_READ_SIZE;
	if (room == 0 || (r = conn_in_reserve(c, room)) == -2) {
		conn_doom(c, 0, "input buffer full");
		goto out;
	}
	if (r == -1) {
		s->stats.input_drops++;
		log_warnx("connection %" PRIu64 ": input buffers of all "
		    "connections at --max-input %zu, closed with %zu bytes "
		    "of a frame", c->id, s->opts.max_input, buf_used(&c->in));
		conn_error(c, 0, PROTO_E_BUSY, "the broker's input buffers "
		    "are full");
		conn_doom(c, 1, "input budget used up");
		goto out;
	}
	n = read(c->fd, buf_tail(&c->in), room);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		log_debug("connection %" PRIu64 ": read: %s", c->id,
		    strerror(errno));
		conn_doom(c, 0, "read error");
		goto out;
	}
	if (n == 0) {
		conn_doom(c, 1, "closed by peer");
		goto out;
	}
	buf_commit(&c->in, (size_t)n);
	conn_in_done(c, conn_input(c));
out:
	conn_reap(s);
}

/*
 * Sends as much of the queue as the socket takes, several entries per
 * writev; stops the write watcher once the queue is empty.  Returns -1 on
 * a write error.
 */
static int
conn_write(struct conn *c)
{
	struct server	*s = c->server;
	struct iovec	 iov[BROKER_IOV_MAX];
	size_t		 total;
	ssize_t		 n;
	int		 niov, i, rounds;

	for (rounds = 0; rounds < 16 && !outq_empty(&c->out); rounds++) {
		niov = outq_iov(&c->out, iov, BROKER_IOV_MAX);
		for (total = 0, i = 0; i < niov; i++)
			total += iov[i].iov_len;
		n = writev(c->fd, iov, niov);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			log_debug("connection %" PRIu64 ": write: %s", c->id,
			    strerror(errno));
			return (-1);
		}
		s->stats.output_bytes -= (size_t)n;
		s->stats.replay_bytes -= c->out.replay_bytes;
		outq_consume(&c->out, (size_t)n);
		s->stats.replay_bytes += c->out.replay_bytes;
		if ((size_t)n < total)
			break;
	}
	if (outq_empty(&c->out))
		ev_io_stop(s->loop, &c->wio);
	return (0);
}

/*
 * Sends what is queued (the pending list's flush); what the socket does
 * not take now is left to the write watcher.  A write error dooms c.
 */
static void
conn_output(struct conn *c)
{
	struct server	*s = c->server;

	if (conn_write(c) == -1) {
		conn_doom(c, 0, "write error");
		return;
	}
	if (!outq_empty(&c->out) && !ev_is_active(&c->wio))
		ev_io_start(s->loop, &c->wio);
}

/* One last attempt to send what is queued, before closing. */
static void
conn_flush(struct conn *c)
{
	(void)conn_write(c);
}

/*
 * Writes the queue of each connection that had something queued since
 * the last call (see the top of this file), then closes what a write
 * error marked.
 */
void
conn_flush_pending(struct server *s)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&s->pending)) != NULL) {
		TAILQ_REMOVE(&s->pending, c, pendentry);
		c->flags &= ~CONN_PENDING;
		if (!(c->flags & CONN_DOOMED))
			conn_output(c);
	}
	conn_reap(s);
}

/* The socket can take more: send, and close the connection on an error. */
static void
conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn	*c = w->data;

	(void)loop;
	(void)revents;
	if (conn_write(c) == -1)
		conn_doom(c, 0, "write error");
	conn_reap(c->server);
}
