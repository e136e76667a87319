/* SPDX-License-Identifier: ISC */
/*
 * The broker connection.  One per responder process, so the broker sends
 * each event once per process whatever the number of browsers.
 *
 * Subscriptions: what each stream is subscribed to (channels, cursor,
 * token, pending/replay/live) is a struct upstream_sub private to this
 * file; the stream only holds a pointer to it.
 *
 * Channels: a hash table of the channels any stream listens to, each with
 * a count and its member streams.  A stream's own SUBSCRIBE adds its
 * channels to the connection (the broker makes that idempotent); when the
 * last member leaves, the channel is unsubscribed.
 *
 * Exactly once: a stream's SUBSCRIBE carries its channels, its cursor and
 * its token as ref.  Until the broker answers, the stream is PENDING and
 * live events are not for it: everything up to the head id of the answer
 * comes as its replay (SUBSCRIBED ref head n, then n EVENT frames, sent
 * together), everything after the head comes live.  Answers come in the
 * order requests went, so pending streams form a FIFO.  A RESET before
 * SUBSCRIBED becomes the browser's "event: reset" with id = head.
 *
 * A stream that never had a cursor gets a bare "id: <head>" on
 * SUBSCRIBED, so its browser reconnects from there and loses nothing;
 * the responder keeps the same cursor.
 *
 * No event published after a stream's headers were sent is skipped, even
 * when the broker is down or restarting then:
 * - A stream without a cursor is given the responder's floor: the
 *   highest id of the broker's current run seen on the connection (the
 *   last run's when it is down).  Every event published after the stream
 *   opened is above it.  While the connection is up the stream subscribes
 *   without a cursor as before (SUBSCRIBE goes out at once); only if the
 *   connection drops before SUBSCRIBED, or it was down when the stream
 *   came, is the floor sent as its cursor.  That may replay a few events
 *   published during the outage before the stream came; never fewer.
 *   A responder that never reached the broker knows no floor: its streams
 *   subscribe from the start of the run when the run began after the
 *   stream opened (the epoch is its start time), else from the time the
 *   stream opened, less UPSTREAM_TIME_MARGIN for the two loops' clocks: a
 *   time cursor "@<unix ms>", which the broker takes as the newest event
 *   published before then (history.c).
 * - A browser's Last-Event-ID that is no id gets reset "malformed".  With
 *   the connection up the broker says so (the stream subscribes at once
 *   with a cursor that is never an id); otherwise the stream waits like
 *   one without a cursor, from the floor or its time, and the responder
 *   sends the reset itself before what the broker replays.
 * - A cursor of another run gets reset "epoch" and then the new run's
 *   whole held history (the broker replays it): the browser's reset
 *   carries "id: <epoch>-0", the start of the new run, and the replay
 *   follows.  A floor the browser never saw makes no reset event: its
 *   stream just gets the events.
 *
 * Broker trouble is never the browser's: streams stay open with
 * heartbeats while the connection is retried with backoff (100 ms,
 * doubling to 5 s) and resubscribed from each stream's last id.
 *
 * Bounds: input holds at most one whole frame (PROTO_MAX_FRAME) plus a
 * read; output to the broker at most UPSTREAM_OUT_MAX bytes.  Passing
 * the output bound (10,000s of resubscriptions at once) drops the
 * connection, counted in dropped_out; the reconnect retries from the
 * cursors, so nothing is lost.  A frame that does not decode drops the
 * connection too.
 *
 * Revocations: with --token-key the responder asks for them (REVOCATIONS)
 * on each connect; each REVOCATION is kept (auth.c, bounded there) to
 * refuse the token from then on, and ends the open streams it names.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "auth.h"
#include "buf.h"
#include "eventid.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "nametab.h"
#include "proto.h"
#include "responder.h"
#include "sockpath.h"
#include "sse.h"
#include "stream.h"
#include "streamcount.h"
#include "upstream.h"

#define UPSTREAM_OUT_MAX	(64 * 1024 * 1024)
#define UPSTREAM_READ		65536
#define UPSTREAM_BACKOFF_MIN	0.1
#define UPSTREAM_BACKOFF_MAX	5.0
#define UPSTREAM_BAD_CURSOR	"malformed"	/* never a valid id */
#define UPSTREAM_TIME_MARGIN	1.0	/* seconds before a stream opened */
#define UPSTREAM_HELLO_TIMEOUT	5.0	/* connect + WELCOME */
#define UPSTREAM_BUCKETS0	256	/* first size of the channel table */

/* A subscription's membership in one channel (in the channel's list). */
struct upstream_member {
	struct channel		*ch;
	struct upstream_sub	*sub;
	LIST_ENTRY(upstream_member) entry;
};

struct channel {
	struct nametab_node	 node;		/* in up_chans, by name */
	LIST_HEAD(, upstream_member) members;
	size_t			 refs;
	size_t			 len;
	char			 name[];	/* NUL-terminated */
};

enum upstream_state {
	UP_DOWN,
	UP_CONNECTING,
	UP_HELLO,
	UP_READY,
};

enum upstream_sub_state {
	SUB_WAITING,	/* not subscribed (broker down or not yet asked) */
	SUB_PENDING,	/* SUBSCRIBE sent: live events ignored */
	SUB_REPLAY,	/* SUBSCRIBED seen: its replay events arrive */
	SUB_LIVE,	/* gets live events of its channels */
};

enum upstream_cursor {
	CURSOR_NONE,
	CURSOR_SET,
	CURSOR_TIME,	/* no id known: from the time the stream opened */
};

/*
 * What one stream is subscribed to, and how far it got: private to this
 * file.  The stream holds it from upstream_attach() to upstream_detach().
 */
struct upstream_sub {
	struct stream		*s;
	TAILQ_ENTRY(upstream_sub) entry;	/* all subscriptions */
	TAILQ_ENTRY(upstream_sub) pend_entry;	/* the pending FIFO */
	uint64_t		 token;		/* SUBSCRIBE ref */
	struct eventid		 cursor;	/* last id delivered */
	uint8_t			 state;
	uint8_t			 cursor_state;
	uint8_t			 in_pending;	/* on up_pending */
	uint8_t			 implicit;	/* cursor is the floor, and
						   the browser has no id */
	uint8_t			 bad;		/* the browser's id is not an
						   id: a reset is owed */
	double			 opened;	/* ev_now() at attach */
	uint8_t			 nchan;
	struct upstream_member	 chans[];
};

struct upstream_stats	 upstream_stats;

static struct ev_loop	*up_loop;
static struct sockaddr_un up_addr;
static int		 up_state = UP_DOWN;
static int		 up_stopped;
static int		 up_warned;	/* "cannot connect" said once */
static ev_io		 up_io;
static ev_timer		 up_retry;
static double		 up_backoff = UPSTREAM_BACKOFF_MIN;
static struct buf	 up_in, up_out;
static int		 up_in_read;	/* inside the read callback */
static const char	*up_doomed;	/* why: drop after the frame loop */
static TAILQ_HEAD(, upstream_sub) up_subs = TAILQ_HEAD_INITIALIZER(up_subs);
static TAILQ_HEAD(, upstream_sub) up_pending =
    TAILQ_HEAD_INITIALIZER(up_pending);
static struct upstream_sub *up_replay_to;	/* NULL: discard the replay */
static uint64_t		 up_replay_left;
static struct eventid	 up_floor;	/* highest id seen of the last run */
static int		 up_known;	/* up_floor is set (a WELCOME came) */

static struct nametab	 up_chans;

static void	upstream_io_cb(struct ev_loop *, ev_io *, int);
static void	upstream_retry_cb(struct ev_loop *, ev_timer *, int);
static void	upstream_down(const char *);
static void	upstream_doom(const char *);
static void	upstream_reap(void);
static struct sendq_msg *upstream_msg(struct buf *, int);

static struct channel *
upstream_chan_find(const char *name, size_t len)
{
	struct nametab_node	*n;

	if ((n = nametab_find(&up_chans, name, len)) == NULL)
		return (NULL);
	return (NAMETAB_ENTRY(n, struct channel, node));
}

static void
upstream_chan_remove(struct channel *ch)
{
	nametab_remove(&up_chans, &ch->node);
	free(ch);
}

/* Queues a frame already appended to up_out: arm the write side. */
static void
upstream_want_write(void)
{
	if (up_state == UP_CONNECTING || up_io.fd < 0)
		return;
	ev_io_stop(up_loop, &up_io);
	ev_io_set(&up_io, up_io.fd, EV_READ | EV_WRITE);
	ev_io_start(up_loop, &up_io);
}

int
upstream_connected(void)
{
	return (up_state == UP_READY);
}

/* Makes sub a member of its i-th channel (counted; may create it). */
static int
upstream_join(struct upstream_sub *sub, size_t i, const char *name,
    size_t len)
{
	struct channel	*ch;

	if ((ch = upstream_chan_find(name, len)) == NULL) {
		if ((ch = malloc(sizeof(*ch) + len + 1)) == NULL)
			return (-1);
		ch->refs = 0;
		ch->len = len;
		memcpy(ch->name, name, len);
		ch->name[len] = '\0';
		LIST_INIT(&ch->members);
		nametab_insert(&up_chans, &ch->node, ch->name, len);
	}
	ch->refs++;
	streamcount_add(ch->name, ch->len, 1);
	sub->chans[i].ch = ch;
	sub->chans[i].sub = sub;
	LIST_INSERT_HEAD(&ch->members, &sub->chans[i], entry);
	return (0);
}

/* Notes an id of the current run the broker sent: the floor rises. */
static void
upstream_seen(const struct proto_str *id)
{
	struct eventid	 e;

	if (eventid_parse(id->ptr, id->len, &e) == 0 &&
	    e.epoch == up_floor.epoch && e.seq > up_floor.seq)
		up_floor.seq = e.seq;
}

/*
 * Gives a stream that came without a cursor the floor as an implicit
 * one: sent only if the stream cannot subscribe at once (see the top).
 */
static void
upstream_floor(struct upstream_sub *sub)
{
	sub->implicit = 1;
	sub->cursor = up_floor;
	if (!up_known)
		sub->cursor.epoch = sub->cursor.seq = 0;	/* unknown */
	if (up_state != UP_READY)
		sub->cursor_state = CURSOR_SET;
}

/*
 * The implicit cursor of a stream that came while no run was known,
 * now that one is: the start of the run when the run began after the
 * stream opened (its epoch is its start time in microseconds), else the
 * time it opened, as no id tells where the run stood then.
 */
static void
upstream_floor_resolve(struct upstream_sub *sub)
{
	if (!sub->implicit || sub->cursor_state != CURSOR_SET ||
	    sub->cursor.epoch != 0)
		return;
	if ((double)up_floor.epoch > sub->opened * 1e6) {
		sub->cursor.epoch = up_floor.epoch;
		sub->cursor.seq = 0;
	} else
		sub->cursor_state = CURSOR_TIME;
}

/*
 * Takes the request's channels and cursor as s's subscription, not yet
 * asked for (upstream_subscribe does).  NULL when memory fails (logged).
 */
struct upstream_sub *
upstream_attach(struct stream *s, const struct http_req *req)
{
	struct upstream_sub	*sub;
	const char		*name;
	size_t			 i, len;

	sub = calloc(1, sizeof(*sub) + req->nchan * sizeof(sub->chans[0]));
	if (sub == NULL) {
		log_warn("calloc");
		return (NULL);
	}
	sub->s = s;
	sub->token = stream_id(s);
	sub->state = SUB_WAITING;
	sub->opened = ev_now(up_loop);
	if (req->lastid_state == HTTP_LASTID_SET &&
	    eventid_parse(req->lastid, req->lastidlen, &sub->cursor) == 0)
		sub->cursor_state = CURSOR_SET;
	else {
		sub->bad = req->lastid_state != HTTP_LASTID_NONE;
		upstream_floor(sub);
	}
	TAILQ_INSERT_TAIL(&up_subs, sub, entry);
	for (i = 0; i < req->nchan; i++) {
		name = http_req_channel(req, i, &len);
		if (upstream_join(sub, i, name, len) == -1) {
			log_warnx("out of memory for channel");
			upstream_detach(sub);
			return (NULL);
		}
		sub->nchan++;
	}
	log_debug("stream %llu: %u channel(s), cursor %s",
	    (unsigned long long)sub->token, sub->nchan,
	    sub->cursor_state == CURSOR_SET ? req->lastid :
	    sub->bad ? "(malformed)" : "(none)");
	return (sub);
}

/* Formats s's time cursor into buf (see the top); returns the length. */
static size_t
upstream_time_cursor(const struct upstream_sub *s, char *buf, size_t size)
{
	double	t = s->opened - UPSTREAM_TIME_MARGIN;
	int	n;

	n = snprintf(buf, size, "@%llu",
	    (unsigned long long)(t > 0 ? t * 1000 : 0));
	return (n > 0 && (size_t)n < size ? (size_t)n : 0);
}

/*
 * Sends the browser the reset "malformed" its id earned, for a stream
 * that subscribed from the floor or its time (see the top).  head is the
 * broker's; what the broker replays follows with ids of its own.
 */
static void
upstream_bad_reset(struct upstream_sub *s, const struct proto_str *head)
{
	struct sendq_msg	*m;
	struct buf		 b;

	s->bad = 0;
	upstream_stats.resets++;
	metrics_reset(PROTO_RESET_MALFORMED, strlen(PROTO_RESET_MALFORMED));
	buf_init(&b, 0);
	if ((m = upstream_msg(&b, sse_reset(&b, PROTO_RESET_MALFORMED,
	    strlen(PROTO_RESET_MALFORMED), NULL, 0, head->ptr,
	    head->len))) == NULL)
		return;
	stream_send(s->s, m);
	sendq_msg_unref(m);
}

/* Sends SUBSCRIBE for sub's channels from its cursor; it becomes PENDING. */
void
upstream_subscribe(struct upstream_sub *s)
{
	struct proto_str	 names[PROTO_MAX_CHANNELS];
	char			 id[EVENTID_MAX];
	const char		*last = NULL;
	size_t			 lastlen = 0, i, n = 0;

	s->state = SUB_WAITING;
	if (up_state != UP_READY)
		return;
	upstream_floor_resolve(s);
	for (i = 0; i < s->nchan && n < PROTO_MAX_CHANNELS; i++) {
		names[n].ptr = s->chans[i].ch->name;
		names[n++].len = (uint32_t)s->chans[i].ch->len;
	}
	if (s->cursor_state == CURSOR_SET) {
		lastlen = eventid_format(id, sizeof(id), s->cursor.epoch,
		    s->cursor.seq);
		last = id;
	} else if (s->cursor_state == CURSOR_TIME) {
		lastlen = upstream_time_cursor(s, id, sizeof(id));
		last = id;
	} else if (s->bad) {
		last = UPSTREAM_BAD_CURSOR;	/* the broker resets it */
		lastlen = strlen(last);
	}
	if (proto_encode_subscribe(&up_out, s->token, names, n, last,
	    lastlen) == -1) {
		upstream_stats.dropped_out++;
		upstream_doom("output to the broker over its bound");
		return;
	}
	upstream_stats.subscribes++;
	s->state = SUB_PENDING;
	s->in_pending = 1;
	TAILQ_INSERT_TAIL(&up_pending, s, pend_entry);
	upstream_want_write();
}

/*
 * Forgets a subscription (NULL: none): its channels are left, and
 * unsubscribed when it was their last member.
 */
void
upstream_detach(struct upstream_sub *s)
{
	struct channel		*ch;
	struct proto_str	 name;
	size_t			 i;

	if (s == NULL)
		return;
	if (s->in_pending) {
		TAILQ_REMOVE(&up_pending, s, pend_entry);
		s->in_pending = 0;
	}
	if (up_replay_to == s)
		up_replay_to = NULL;
	for (i = 0; i < s->nchan; i++) {
		if ((ch = s->chans[i].ch) == NULL)
			continue;
		LIST_REMOVE(&s->chans[i], entry);
		s->chans[i].ch = NULL;
		streamcount_add(ch->name, ch->len, -1);
		if (--ch->refs > 0)
			continue;
		if (up_state == UP_READY) {
			name.ptr = ch->name;
			name.len = (uint32_t)ch->len;
			if (proto_encode_unsubscribe(&up_out, 0, &name,
			    1) == -1) {
				upstream_stats.dropped_out++;
				upstream_doom("output to the broker over its "
				    "bound");
			} else
				upstream_want_write();
		}
		upstream_chan_remove(ch);
	}
	TAILQ_REMOVE(&up_subs, s, entry);
	free(s);
}

/* The pending stream a SUBSCRIBED/RESET/ERROR with this ref is for. */
static struct upstream_sub *
upstream_pending_find(uint64_t ref)
{
	struct upstream_sub	*s;

	TAILQ_FOREACH(s, &up_pending, pend_entry)
		if (s->token == ref)
			return (s);
	return (NULL);
}

static void
upstream_pending_remove(struct upstream_sub *s)
{
	TAILQ_REMOVE(&up_pending, s, pend_entry);
	s->in_pending = 0;
}

/* Formats into a shared message; NULL (logged) on failure. */
static struct sendq_msg *
upstream_msg(struct buf *b, int rc)
{
	struct sendq_msg	*m;

	if (rc == -1 || (m = sendq_msg_new(b, 0)) == NULL) {
		log_warnx("cannot format an event");
		buf_free(b);
		return (NULL);
	}
	return (m);
}

static void
upstream_on_subscribed(struct proto_msg *msg)
{
	struct upstream_sub	*s;
	struct sendq_msg	*m;
	struct eventid		 head;
	struct buf		 b;
	const struct proto_str	*h = &msg->u.subscribed.head_id;
	int			 adopt;

	if ((s = upstream_pending_find(msg->ref)) == NULL) {
		up_replay_to = NULL;	/* stream gone: drop its replay */
		up_replay_left = msg->u.subscribed.nreplay;
		return;
	}
	upstream_pending_remove(s);
	upstream_seen(h);
	/* A stream with no id of its own, or nothing replayed, takes the head. */
	adopt = (s->cursor_state == CURSOR_NONE ||
	    ((s->implicit || s->cursor_state == CURSOR_TIME) &&
	    msg->u.subscribed.nreplay == 0)) &&
	    eventid_parse(h->ptr, h->len, &head) == 0;
	if (s->bad)
		upstream_bad_reset(s, h);	/* it carries the head id */
	else if (adopt) {
		buf_init(&b, 0);
		if ((m = upstream_msg(&b, sse_cursor(&b, h->ptr,
		    h->len))) != NULL) {
			stream_send(s->s, m);
			sendq_msg_unref(m);
		}
	}
	if (adopt) {
		s->cursor = head;
		s->cursor_state = CURSOR_SET;
		s->implicit = 0;
	}
	if (msg->u.subscribed.nreplay > 0) {
		metrics_replay(msg->u.subscribed.nreplay);
		s->state = SUB_REPLAY;
		up_replay_to = s;
		up_replay_left = msg->u.subscribed.nreplay;
	} else
		s->state = SUB_LIVE;
	log_debug("stream %llu: subscribed, head %.*s, %llu to replay",
	    (unsigned long long)s->token, (int)h->len, h->ptr,
	    (unsigned long long)msg->u.subscribed.nreplay);
}

static void
upstream_on_reset(struct proto_msg *msg)
{
	struct upstream_sub	*s;
	struct sendq_msg	*m;
	struct buf		 b;
	char			 id[EVENTID_MAX];
	size_t			 n;
	const struct proto_str	*r = &msg->u.reset.reason;
	const struct proto_str	*o = &msg->u.reset.oldest_id;
	const struct proto_str	*h = &msg->u.reset.head_id;

	upstream_stats.resets++;
	upstream_seen(h);
	metrics_reset(r->ptr, r->len);
	if ((s = upstream_pending_find(msg->ref)) == NULL)
		return;
	/* "epoch": the whole new run is replayed; the cursor is its start. */
	if ((n = sse_reset_id(r->ptr, r->len, h->ptr, h->len, id,
	    sizeof(id))) == 0 || eventid_parse(id, n, &s->cursor) == -1) {
		log_warnx("reset with a bad head id from the broker");
		return;
	}
	s->cursor_state = CURSOR_SET;
	if (s->implicit && !s->bad && r->len == strlen(PROTO_RESET_EPOCH) &&
	    memcmp(r->ptr, PROTO_RESET_EPOCH, r->len) == 0)
		return;		/* the browser had no cursor to reset */
	s->implicit = 0;
	s->bad = 0;
	buf_init(&b, 0);
	if ((m = upstream_msg(&b, sse_reset(&b, r->ptr, r->len, o->ptr,
	    o->len, id, n))) == NULL)
		return;
	stream_send(s->s, m);
	sendq_msg_unref(m);
	log_debug("stream %llu: reset (%.*s), head %.*s",
	    (unsigned long long)s->token, (int)r->len, r->ptr, (int)h->len,
	    h->ptr);
}

/* Sends an event to sub's stream and moves sub's cursor to it. */
static void
upstream_deliver(struct upstream_sub *sub, struct sendq_msg *m,
    const struct eventid *id)
{
	stream_deliver(sub->s, m);
	if (id != NULL) {
		sub->cursor = *id;
		sub->cursor_state = CURSOR_SET;
		sub->implicit = 0;
	}
}

/*
 * An event goes to the stream being replayed to, or, live, to every LIVE
 * member of its channel; its SSE text is formatted once for all.
 */
static void
upstream_on_event(struct proto_msg *msg)
{
	struct channel		*ch;
	struct upstream_member	*sc;
	struct sendq_msg	*m = NULL;
	struct upstream_sub	*s;
	struct eventid		 id, *idp = &id;
	struct buf		 b;
	const struct proto_str	*c = &msg->u.event.channel;
	const struct proto_str	*i = &msg->u.event.id;
	const struct proto_str	*t = &msg->u.event.type;
	const struct proto_str	*d = &msg->u.event.data;

	upstream_stats.events++;
	if (eventid_parse(i->ptr, i->len, &id) == -1)
		idp = NULL;
	else if (id.epoch == up_floor.epoch && id.seq > up_floor.seq)
		up_floor.seq = id.seq;
	buf_init(&b, 0);
	if (up_replay_left > 0) {
		up_replay_left--;
		s = up_replay_to;
		if (up_replay_left == 0)
			up_replay_to = NULL;
		if (s == NULL)
			return;
		if (up_replay_left == 0 && s->state == SUB_REPLAY)
			s->state = SUB_LIVE;
		if ((m = upstream_msg(&b, sse_event(&b, i->ptr, i->len,
		    t->ptr, t->len, d->ptr, d->len))) == NULL)
			return;
		m->born = ev_now(up_loop);
		upstream_deliver(s, m, idp);
		sendq_msg_unref(m);
		return;
	}
	if ((ch = upstream_chan_find(c->ptr, c->len)) == NULL)
		return;
	LIST_FOREACH(sc, &ch->members, entry) {
		if (sc->sub->state != SUB_LIVE)
			continue;
		if (m == NULL && (m = upstream_msg(&b, sse_event(&b, i->ptr,
		    i->len, t->ptr, t->len, d->ptr, d->len))) == NULL)
			return;
		m->born = ev_now(up_loop);	/* the same for every stream */
		upstream_deliver(sc->sub, m, idp);
	}
	sendq_msg_unref(m);
	buf_free(&b);
}

static void
upstream_on_error(struct proto_msg *msg)
{
	struct upstream_sub	*s;

	log_warnx("broker error %llu for ref %llu: %.*s",
	    (unsigned long long)msg->u.error.code,
	    (unsigned long long)msg->ref, (int)msg->u.error.message.len,
	    msg->u.error.message.ptr);
	if (up_state != UP_READY) {
		upstream_doom("refused by the broker");
		return;
	}
	if (msg->ref != 0 && (s = upstream_pending_find(msg->ref)) != NULL) {
		upstream_pending_remove(s);
		stream_end(s->s);	/* detaches s */
	}
}

/* Subscribes every stream that waits for the connection. */
static void
upstream_resubscribe(void)
{
	struct upstream_sub	*s;

	TAILQ_FOREACH(s, &up_subs, entry)
		if (s->state == SUB_WAITING)
			upstream_subscribe(s);
}

static void
upstream_on_welcome(struct proto_msg *msg)
{
	uint64_t	epoch;

	if (up_state != UP_HELLO) {
		upstream_doom("unexpected WELCOME");
		return;
	}
	if (eventid_parse_epoch(msg->u.welcome.epoch.ptr,
	    msg->u.welcome.epoch.len, &epoch) == -1) {
		upstream_doom("bad epoch in WELCOME");
		return;
	}
	if (!up_known || epoch != up_floor.epoch) {
		up_floor.epoch = epoch;
		up_floor.seq = 0;
	}
	up_known = 1;
	up_state = UP_READY;
	ev_timer_stop(up_loop, &up_retry);
	up_backoff = UPSTREAM_BACKOFF_MIN;
	up_warned = 0;
	upstream_stats.connects++;
	log_info("connected to the broker at %s (epoch %.*s)",
	    up_addr.sun_path, (int)msg->u.welcome.epoch.len,
	    msg->u.welcome.epoch.ptr);
	if (auth_conf.on && proto_encode_revocations(&up_out, 0) == 0)
		upstream_want_write();
	upstream_resubscribe();
	if (streamcount_hello(&up_out) == -1) {
		upstream_stats.dropped_out++;
		upstream_doom("output to the broker over its bound");
		return;
	}
	upstream_want_write();
}

/* A revoked token: refused from now on, its open streams ended. */
static void
upstream_on_revocation(struct proto_msg *msg)
{
	int	kind = auth_kind(msg->u.revoke.kind.ptr, msg->u.revoke.kind.len);
	size_t	n;

	if (!auth_conf.on || kind == 0)
		return;
	if (auth_revokes_add(&auth_revokes, kind, msg->u.revoke.value.ptr,
	    msg->u.revoke.value.len, (int64_t)msg->u.revoke.until,
	    (int64_t)ev_now(up_loop)) == -1) {
		auth_stats.revokes_dropped++;
		log_warnx("revocation of %.*s %.*s not kept (%d held)",
		    (int)msg->u.revoke.kind.len, msg->u.revoke.kind.ptr,
		    (int)msg->u.revoke.value.len, msg->u.revoke.value.ptr,
		    AUTH_MAX_REVOKES);
	}
	n = stream_revoke(kind, msg->u.revoke.value.ptr,
	    msg->u.revoke.value.len);
	if (n > 0)
		log_info("revoked %.*s %.*s: %zu stream(s) ended",
		    (int)msg->u.revoke.kind.len, msg->u.revoke.kind.ptr,
		    (int)msg->u.revoke.value.len, msg->u.revoke.value.ptr, n);
}

static void
upstream_dispatch(struct proto_msg *msg)
{
	switch (msg->type) {
	case PROTO_WELCOME:
		upstream_on_welcome(msg);
		break;
	case PROTO_SUBSCRIBED:
		upstream_on_subscribed(msg);
		break;
	case PROTO_RESET:
		upstream_on_reset(msg);
		break;
	case PROTO_EVENT:
		upstream_on_event(msg);
		break;
	case PROTO_ERROR:
		upstream_on_error(msg);
		break;
	case PROTO_REVOCATION:
		upstream_on_revocation(msg);
		break;
	case PROTO_STATS_REPLY:
		streamcount_stats_reply(msg);
		break;
	case PROTO_UNSUBSCRIBED:
	case PROTO_PONG:
	case PROTO_REVOKED:
		break;
	default:
		log_warnx("unexpected %s from the broker",
		    proto_type_name(msg->type));
		upstream_doom("protocol error");
		break;
	}
}

/* Reads what the broker sent and handles every whole frame. */
static void
upstream_read(void)
{
	struct proto_msg	 msg;
	char			 err[128];
	size_t			 used;
	ssize_t			 n;
	int			 rc;

	if (buf_reserve(&up_in, UPSTREAM_READ) == -1) {
		upstream_doom("input buffer");
		return;
	}
	n = read(up_io.fd, buf_tail(&up_in), UPSTREAM_READ);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		log_warn("read from the broker");
		upstream_doom("read error");
		return;
	}
	if (n == 0) {
		upstream_doom("closed by the broker");
		return;
	}
	buf_commit(&up_in, (size_t)n);
	up_in_read = 1;
	while (up_doomed == NULL && buf_used(&up_in) > 0) {
		rc = proto_decode(buf_head(&up_in), buf_used(&up_in),
		    PROTO_MAX_FRAME, &msg, &used, err, sizeof(err));
		if (rc == PROTO_MORE)
			break;
		if (rc == PROTO_BAD) {
			log_warnx("bad frame from the broker: %s", err);
			upstream_doom("protocol error");
			break;
		}
		upstream_dispatch(&msg);
		proto_msg_free(&msg);
		buf_consume(&up_in, used);
	}
	up_in_read = 0;
	stream_reap();
	upstream_reap();
}

static void
upstream_write(void)
{
	ssize_t	n;

	if (buf_used(&up_out) > 0) {
		n = write(up_io.fd, buf_head(&up_out), buf_used(&up_out));
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			log_warn("write to the broker");
			upstream_down("write error");
			return;
		}
		buf_consume(&up_out, (size_t)n);
	}
	if (buf_used(&up_out) == 0) {
		ev_io_stop(up_loop, &up_io);
		ev_io_set(&up_io, up_io.fd, EV_READ);
		ev_io_start(up_loop, &up_io);
	}
}

/* Says (errno) that the broker cannot be reached, once until it can. */
static void
upstream_warn_connect(void)
{
	if (!up_warned)
		log_warn("connect %s (retrying quietly)", up_addr.sun_path);
	up_warned = 1;
}

/* Completes a connect: the socket is writable, check how it went. */
static void
upstream_connected_now(void)
{
	int		e = 0;
	socklen_t	len = sizeof(e);

	if (getsockopt(up_io.fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e != 0) {
		errno = e;
		upstream_warn_connect();
		upstream_down(NULL);
		return;
	}
	up_state = UP_HELLO;
	upstream_want_write();
}

static void
upstream_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)w;
	if (up_state == UP_CONNECTING) {
		upstream_connected_now();
		return;
	}
	if (revents & EV_READ) {
		upstream_read();
		if (up_state == UP_DOWN)
			return;
	}
	if (revents & EV_WRITE)
		upstream_write();
}

/* Arms the next connection attempt after the backoff, then doubles it. */
static void
upstream_retry_later(void)
{
	ev_timer_stop(up_loop, &up_retry);
	ev_timer_set(&up_retry, up_backoff, 0.);
	ev_timer_start(up_loop, &up_retry);
	up_backoff *= 2;
	if (up_backoff > UPSTREAM_BACKOFF_MAX)
		up_backoff = UPSTREAM_BACKOFF_MAX;
}

/* Starts a connection: HELLO is queued, WELCOME completes it. */
static void
upstream_connect(void)
{
	int	fd;

	buf_reset(&up_in);
	buf_reset(&up_out);
	up_doomed = NULL;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("socket");
		goto retry;
	}
	if (proto_encode_hello(&up_out, PROTO_VERSION,
	    PROTO_ROLE_SUBSCRIBER) == -1) {
		close(fd);
		goto retry;
	}
	ev_io_init(&up_io, upstream_io_cb, fd, EV_READ | EV_WRITE);
	if (connect(fd, (struct sockaddr *)&up_addr, sizeof(up_addr)) == -1) {
		if (errno != EINPROGRESS) {
			upstream_warn_connect();
			close(fd);
			up_io.fd = -1;
			goto retry;
		}
		up_state = UP_CONNECTING;
		ev_io_set(&up_io, fd, EV_WRITE);
	} else
		up_state = UP_HELLO;
	ev_io_start(up_loop, &up_io);
	/* A broker that takes the connection but never answers is dropped. */
	ev_timer_stop(up_loop, &up_retry);
	ev_timer_set(&up_retry, UPSTREAM_HELLO_TIMEOUT, 0.);
	ev_timer_start(up_loop, &up_retry);
	return;
retry:
	up_state = UP_DOWN;
	upstream_retry_later();
}

static void
upstream_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (up_state == UP_CONNECTING || up_state == UP_HELLO) {
		upstream_down("no WELCOME in time");
		return;
	}
	if (!up_stopped)
		upstream_connect();
}

/* Every stream goes back to waiting for a new connection. */
static void
upstream_unsubscribed(void)
{
	struct upstream_sub	*s;

	TAILQ_FOREACH(s, &up_subs, entry) {
		if (s->in_pending) {
			TAILQ_REMOVE(&up_pending, s, pend_entry);
			s->in_pending = 0;
		}
		if (s->implicit)	/* its floor, from now on */
			s->cursor_state = CURSOR_SET;
		s->state = SUB_WAITING;
	}
}

/* Drops the connection (not inside the read loop: see upstream_doom). */
static void
upstream_down(const char *why)
{
	int	was_ready = up_state == UP_READY;

	if (up_io.fd >= 0) {
		ev_io_stop(up_loop, &up_io);
		close(up_io.fd);
		up_io.fd = -1;
	}
	if (why != NULL || was_ready)
		log_warnx("broker connection lost%s%s", why ? ": " : "",
		    why ? why : "");
	if (was_ready)
		upstream_stats.disconnects++;
	up_state = UP_DOWN;
	up_doomed = NULL;
	up_replay_to = NULL;
	up_replay_left = 0;
	upstream_unsubscribed();
	buf_free(&up_in);
	buf_free(&up_out);
	buf_init(&up_in, PROTO_HEADER_LEN + PROTO_MAX_FRAME + UPSTREAM_READ);
	buf_init(&up_out, UPSTREAM_OUT_MAX);
	if (!up_stopped)
		upstream_retry_later();
}

/*
 * Marks the connection to be dropped after the frame loop, so that no
 * handler sees the streams' subscriptions reset under it; outside the
 * loop it is dropped at once.  The same "close this later" as the
 * streams' (stream_doom), with a flag alone: there is one connection.
 */
static void
upstream_doom(const char *why)
{
	if (up_doomed == NULL)
		up_doomed = why;
	if (!up_in_read)
		upstream_reap();
}

/* Drops the connection if it was marked. */
static void
upstream_reap(void)
{
	const char	*why = up_doomed;

	if (why != NULL)
		upstream_down(why);
}

void
upstream_init(struct ev_loop *loop, const char *path)
{
	up_loop = loop;
	if (sockpath_addr(&up_addr, path) == -1)
		fatalx("broker socket path too long: %s", path);
	buf_init(&up_in, PROTO_HEADER_LEN + PROTO_MAX_FRAME + UPSTREAM_READ);
	buf_init(&up_out, UPSTREAM_OUT_MAX);
	up_io.fd = -1;
	ev_init(&up_retry, upstream_retry_cb);
	if (nametab_init(&up_chans, UPSTREAM_BUCKETS0) == -1)
		fatal("calloc");
	streamcount_init(loop, upstream_send_counts);
	upstream_connect();
}

/* Closes the connection for good (at exit). */
void
upstream_shutdown(void)
{
	up_stopped = 1;
	ev_timer_stop(up_loop, &up_retry);
	if (up_io.fd >= 0) {
		ev_io_stop(up_loop, &up_io);
		close(up_io.fd);
		up_io.fd = -1;
	}
	up_state = UP_DOWN;
	buf_free(&up_in);
	buf_free(&up_out);
}

/* Frees the channel table once every stream is gone. */
void
upstream_free(void)
{
	nametab_free(&up_chans, NULL);
	streamcount_free();
}

/*
 * Sends the stream counts due (streamcount.c's timer asks); over the
 * output bound the connection is dropped like for any frame, and the
 * reconnect sends a full snapshot.
 */
void
upstream_send_counts(void)
{
	if (up_state != UP_READY)
		return;
	if (streamcount_encode(&up_out) == -1) {
		upstream_stats.dropped_out++;
		upstream_doom("output to the broker over its bound");
		return;
	}
	upstream_want_write();
}
