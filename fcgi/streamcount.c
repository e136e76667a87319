/* SPDX-License-Identifier: ISC */
/*
 * Stream counts per channel, told to the broker.  Every change marks the
 * channel dirty and arms one timer (STREAMCOUNT_DELAY); when it fires the
 * upstream is asked to send (send_cb), and streamcount_encode() writes
 * the absolute count of each dirty channel, PROTO_MAX_COUNTS channels per
 * STREAM_COUNTS frame.  After a (re)connect the first frame is "full"
 * (it replaces what the broker held for this connection, which a new
 * connection holds nothing of anyway) and carries every channel.
 * Absolute counts make a resent or repeated frame harmless.
 *
 * A broker older than STREAM_COUNTS would take one as malformed and
 * close the connection, so nothing is sent until the broker has shown it
 * knows them: after WELCOME the responder asks for STATS, and only a
 * STATS_REPLY with "streams" in it turns the counts on (PROTOCOL.md).
 *
 * Bounds: one entry per channel that has streams (freed once its 0 is
 * sent), so the table is bounded by the streams' own channels; the frames
 * go to the upstream's output buffer, bounded there (UPSTREAM_OUT_MAX:
 * past it the upstream drops the connection and the reconnect resends
 * everything as a snapshot).
 */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nametab.h"
#include "proto.h"
#include "streamcount.h"

struct streamcount {
	struct nametab_node	 node;
	TAILQ_ENTRY(streamcount) dirty_entry;
	uint64_t		 count;
	int			 dirty;
	size_t			 len;
	char			 name[];
};

static struct ev_loop	*sc_loop;
static ev_timer		 sc_timer;
static struct nametab	 sc_tab;
static TAILQ_HEAD(, streamcount) sc_dirty = TAILQ_HEAD_INITIALIZER(sc_dirty);
static int		 sc_full;	/* next send: a snapshot */
static int		 sc_on;		/* the broker takes counts */
static int		 sc_warned;	/* "does not take" said once */
static void		(*sc_send_cb)(void);

static void
streamcount_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (sc_send_cb != NULL)
		sc_send_cb();
}

void
streamcount_init(struct ev_loop *loop, void (*send_cb)(void))
{
	sc_loop = loop;
	sc_send_cb = send_cb;
	ev_timer_init(&sc_timer, streamcount_timer_cb, STREAMCOUNT_DELAY, 0.);
	if (nametab_init(&sc_tab, 64) == -1)
		fatal("calloc");
}

static void
streamcount_free_cb(struct nametab_node *n)
{
	free(NAMETAB_ENTRY(n, struct streamcount, node));
}

void
streamcount_free(void)
{
	if (sc_loop != NULL)
		ev_timer_stop(sc_loop, &sc_timer);
	TAILQ_INIT(&sc_dirty);
	nametab_free(&sc_tab, streamcount_free_cb);
}

static void
streamcount_arm(void)
{
	if (sc_loop != NULL && !ev_is_active(&sc_timer))
		ev_timer_start(sc_loop, &sc_timer);
}

void
streamcount_add(const char *name, size_t len, int delta)
{
	struct nametab_node	*n;
	struct streamcount	*e;

	if ((n = nametab_find(&sc_tab, name, len)) != NULL)
		e = NAMETAB_ENTRY(n, struct streamcount, node);
	else {
		if (delta < 0)
			return;
		if ((e = calloc(1, sizeof(*e) + len + 1)) == NULL) {
			log_warn("calloc");	/* the count is off, no more */
			return;
		}
		e->len = len;
		memcpy(e->name, name, len);
		nametab_insert(&sc_tab, &e->node, e->name, len);
	}
	if (delta < 0 && e->count > 0)
		e->count--;
	else if (delta > 0)
		e->count++;
	if (!e->dirty) {
		e->dirty = 1;
		TAILQ_INSERT_TAIL(&sc_dirty, e, dirty_entry);
	}
	streamcount_arm();
}

int
streamcount_hello(struct buf *out)
{
	sc_on = 0;
	return (proto_encode_stats(out, 0));
}

void
streamcount_stats_reply(const struct proto_msg *m)
{
	const msgpack_object	*k;
	uint32_t		 i;

	for (i = 0; i < m->u.stats.n; i++) {
		k = &m->u.stats.kv[i].key;
		if (k->via.str.size == 7 && memcmp(k->via.str.ptr, "streams",
		    7) == 0) {
			sc_on = 1;
			sc_full = 1;
			streamcount_arm();
			return;
		}
	}
	if (!sc_warned)
		log_info("the broker does not take stream counts: fastsse "
		    "stats will not show this responder's streams");
	sc_warned = 1;
}

/* Frees the entries whose 0 was sent. */
static void
streamcount_sent(struct streamcount *e)
{
	if (e->dirty) {
		TAILQ_REMOVE(&sc_dirty, e, dirty_entry);
		e->dirty = 0;
	}
	if (e->count == 0) {
		nametab_remove(&sc_tab, &e->node);
		free(e);
	}
}

/* Encodes one frame of the n entries in v. */
static int
streamcount_frame(struct buf *out, int full, struct streamcount **v,
    size_t n)
{
	struct proto_str	names[PROTO_MAX_COUNTS];
	uint64_t		counts[PROTO_MAX_COUNTS];
	size_t			i;

	for (i = 0; i < n; i++) {
		names[i].ptr = v[i]->name;
		names[i].len = (uint32_t)v[i]->len;
		counts[i] = v[i]->count;
	}
	return (proto_encode_stream_counts(out, full, names, counts, n));
}

int
streamcount_encode(struct buf *out)
{
	struct streamcount	*v[PROTO_MAX_COUNTS], *e;
	struct nametab_node	*node;
	size_t			 n = 0, i, b;
	int			 full = sc_full;

	if (!sc_on)
		return (0);	/* what is dirty stays so */
	if (full) {
		/* Every channel, in table order; zeros are dropped. */
		for (b = 0; b < sc_tab.nbuckets; b++) {
			for (node = sc_tab.buckets[b]; node != NULL;
			    node = node->hnext) {
				e = NAMETAB_ENTRY(node, struct streamcount,
				    node);
				if (e->count == 0)
					continue;
				v[n++] = e;
				if (n < PROTO_MAX_COUNTS)
					continue;
				if (streamcount_frame(out, full, v, n) == -1)
					return (-1);
				full = 0;
				n = 0;
			}
		}
		if ((n > 0 || full) &&
		    streamcount_frame(out, full, v, n) == -1)
			return (-1);
		sc_full = 0;
		while ((e = TAILQ_FIRST(&sc_dirty)) != NULL)
			streamcount_sent(e);
		return (0);
	}
	while (!TAILQ_EMPTY(&sc_dirty)) {
		n = 0;
		TAILQ_FOREACH(e, &sc_dirty, dirty_entry) {
			v[n++] = e;
			if (n == PROTO_MAX_COUNTS)
				break;
		}
		if (streamcount_frame(out, 0, v, n) == -1)
			return (-1);
		for (i = 0; i < n; i++)
			streamcount_sent(v[i]);
	}
	return (0);
}
