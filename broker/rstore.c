/* SPDX-License-Identifier: ISC */
/*
 * The broker's Redis mode (--redis).  Redis holds the history and assigns
 * the ids (the library in rscript.c); every broker on that Redis serves
 * one set of channels.  The connection (two hiredis contexts, timeouts,
 * reconnect) is redisconn.c; this file gives it meaning:
 *
 * - The mirror: the broker's own history holds what this broker saw of
 *   Redis's recent history, with Redis's epoch and seqs (sparse per
 *   channel, increasing).  Every event reaches it through pub/sub
 *   ({P}:events), in seq order, and is fanned out to local subscribers as
 *   a local publish was; the history's bounds apply as ever.  It covers
 *   only cursors from history.base on: the seq Redis had when the mirror
 *   (re)started.
 * - The live path: a pub/sub message is a batch of seq-contiguous events,
 *   applied one by one; an event must be the last seq + 1.  A gap, a
 *   reconnect or a failed read start a catch-up: pub/sub messages are
 *   held while one atomic read (fastsse_since) returns every entry after
 *   the last seq; those are applied in seq order, then the held
 *   messages, each seq only once.
 * - Epochs: on every connect fastsse_hello returns Redis's epoch and seq.
 *   Another epoch (Redis lost its data), or a seq below one this broker
 *   applied (Redis lost its last second; the epoch is then bumped in
 *   Redis with fastsse_epoch_bump, so no id is used twice), empties the
 *   mirror, adopts the epoch and closes every subscriber connection: the
 *   responders resubscribe with their cursors and get reset "epoch".
 * - Publishes are batched: every publish taken in one turn of the event
 *   loop joins the batch being built, which goes to Redis as ONE FCALL
 *   fastsse_publish_batch from an ev_prepare watcher, before the loop
 *   sleeps (Redis's beforeSleep idea: no timer, so a lone publish goes
 *   out at once), or at once when a bound below is reached.  Redis gives
 *   the batch's events the seqs first, first + 1, ... in batch order and
 *   publishes them as one pub/sub message; the FIFO of rstore_pub holds
 *   the answers in request order (ERRORs deferred between them), so
 *   PUBLISHED answers carry those ids in that order.  While Redis is down
 *   or past --redis-timeout, ERROR UNAVAILABLE (14) at once.
 *   PUBLISH_ONCE keys stay local (idem.c), kept when Redis answers.
 * - A SUBSCRIBE whose cursor the mirror covers is answered from it; one
 *   it does not cover is read from Redis (fastsse_read: the newest
 *   --history-max-events entries after the cursor per channel) with the
 *   exact pruned rule of rmsg_pruned; a cursor ahead of the mirror in the
 *   same epoch waits up to --redis-timeout for it.  While Redis is down a
 *   cursor the mirror does not cover gets ERROR UNAVAILABLE.
 * - Replay reads are shared, per channel, so that a wave of browsers
 *   resuming from old cursors costs Redis about one read per channel: a
 *   channel's result (the entries after cursor C, and what the pruned
 *   rule needs) answers every SUBSCRIBE with a cursor of C or later, of
 *   this epoch or another (cursor 0).  A SUBSCRIBE arriving while one is
 *   in flight joins it; once answered the result is kept in the read
 *   cache.  Each SUBSCRIBE's answer is composed as a fresh one is: the
 *   entries after its own cursor, the pruned rule applied to them, its
 *   own replay budget, then the mirror's events after what the read saw
 *   (its `upto`: Redis's seq or the mirror's head, the lower).  A kept
 *   result is used only while the mirror is the same (epoch and base:
 *   the mirror did not start over) and still holds every event of the
 *   channel after what the read saw (the channel's floor); a read that
 *   fails fails all who share it (ERROR UNAVAILABLE, retry).  A SUBSCRIBE
 *   whose connection closes lets go of its results; the others are
 *   answered as ever.
 *
 * Bounds and policy:
 * - A batch being built: RSTORE_BATCH_MAX (256) events and
 *   RSTORE_BATCH_BYTES (1 MiB) of channels, types and data; a publish
 *   that would pass either sends the batch first (so one event larger
 *   than 1 MiB goes alone).  Its FCALL has at most RSTORE_ARGV_MAX
 *   arguments.
 * - Publishes waiting (in a batch being built or sent): RSTORE_PUB_MAX;
 *   past it ERROR UNAVAILABLE, counted in redis_publish_errors.  A batch
 *   that cannot be sent (Redis went down, memory) is answered
 *   UNAVAILABLE, in order, before the loop sleeps.
 * - A pub/sub message is a batch: at most RMSG_BATCH_MAX events and
 *   RMSG_MESSAGE_MAX bytes (rmsg.h), refused past them.
 * - Held pub/sub messages during a catch-up: RSTORE_BUFFER_MAX messages
 *   (each a batch) and RSTORE_BUFFER_BYTES bytes; past either they are
 *   all dropped and another catch-up follows the running one (which
 *   reads them back from Redis), counted in redis_catchups.
 * - A catch-up reads at most RSTORE_CATCHUP_MAX events; past it the mirror
 *   starts over at Redis's seq (history_rebase) and every subscriber
 *   connection is closed, so that each stream resumes from its cursor
 *   through Redis reads; logged.
 * - Batches waiting for Redis: at most REDISCONN_MAX_PENDING (the
 *   connection's bound); past it the batch is answered UNAVAILABLE,
 *   counted in redis_publish_errors.
 * - A replay read from Redis: at most --history-max-events entries per
 *   channel, and its events may not pass the replay budget (--max-memory
 *   less the replayed bytes queued): past it ERROR BUSY, as conn.c does.
 * - The read cache: at most RSTORE_RCACHE_MAX answered channel results and
 *   RSTORE_RCACHE_BYTES of their events' bytes (beside --max-memory),
 *   each for RSTORE_RCACHE_AGE seconds; past a bound the oldest go first,
 *   those no waiting SUBSCRIBE holds before the others (a result still
 *   held is freed when let go).  Reads in flight are bounded by the
 *   connection's pending bound.  Replays answered from a shared result
 *   are counted in redis_reads_shared, reads sent in redis_reads.
 * - Waits for a cursor ahead: one timer each, --redis-timeout, then ERROR
 *   UNAVAILABLE (and the lost-id check above).
 * - An event from Redis that does not decode, or names an invalid channel,
 *   is skipped (its seq counts as applied), logged once.
 */
#include "config.h"

#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "conn.h"
#include "event.h"
#include "history.h"
#include "log.h"
#include "protodefs.h"
#include "redisconn.h"
#include "rmsg.h"
#include "rstore.h"
#include "server.h"
#include "validate.h"

#define RSTORE_KEY_MAX	(RSTORE_PREFIX_MAX + 16)
#define RSTORE_FIFO0	64
#define RSTORE_BATCH_MAX	RMSG_BATCH_MAX	/* events per batch */
#define RSTORE_BATCH_BYTES	(1024 * 1024)	/* channel, type, data bytes */
#define RSTORE_PUB_MAX		100000		/* publishes waiting */
/* FCALL, name, numkeys, meta, chans, streams, max, pub/sub, k, names,
   3 per event. */
#define RSTORE_ARGV_MAX		(9 + 2 * RSTORE_BATCH_MAX + \
				    3 * RSTORE_BATCH_MAX)

/* rstore_pub.flags */
#define RSTORE_PUB_LAST		0x1	/* the last publish of its batch */
#define RSTORE_PUB_FAILED	0x2	/* its batch was never sent */

/* A publish waiting for Redis, or an ERROR to send after the one before. */
struct rstore_pub {
	struct conn	*conn;		/* NULL once the connection is gone */
	uint64_t	 ref;
	int		 code;		/* 0: a publish; else ERROR code */
	char		*msg;		/* the ERROR's message, or the channel
					   and key of a PUBLISH_ONCE */
	size_t		 msglen;
	size_t		 keylen;	/* PUBLISH_ONCE: the key follows the
					   channel in msg */
	int		 flags;		/* RSTORE_PUB_* */
};

/* A publish of the batch being built: offsets into rstore.bbuf. */
struct rstore_bev {
	size_t		 chn;		/* index into the batch's channels */
	size_t		 type, typelen;
	size_t		 data, datalen;
};

/* A distinct channel of the batch being built. */
struct rstore_bchan {
	size_t		 name, namelen;	/* in rstore.bbuf */
};

#define RSTORE_RCACHE_MAX	1024		/* answered channel reads kept */
#define RSTORE_RCACHE_BYTES	(16UL << 20)	/* and their events' bytes */
#define RSTORE_RCACHE_AGE	30.0		/* seconds each is kept */

/*
 * One channel's part of a replay read from Redis (fastsse_read), shared:
 * by every SUBSCRIBE that joined it while in flight, then, kept in the
 * read cache, by later ones whose cursor is the same or later (see the
 * top).
 */
struct rstore_rres {
	TAILQ_ENTRY(rstore_rres) entry;	/* rs->rcache, newest first */
	int			 state;	/* RSTORE_RRES_* */
	int			 cached;	/* on rs->rcache */
	unsigned		 refs;	/* batch and SUBSCRIBEs holding it */
	char			 name[VALIDATE_CHANNEL_MAX];
	size_t			 namelen;
	uint64_t		 after;	/* read the entries after this seq */
	uint64_t		 epoch;	/* the mirror's when it was sent */
	uint64_t		 base;
	uint64_t		 upto;	/* the read is Redis's history up to
					   this seq, the mirror after it */
	uint64_t		 chlast;	/* the channel's last seq, {P}:chans */
	uint64_t		 dropped;	/* {P}:meta dropped */
	struct event		**evs;	/* in seq order, our references */
	uint64_t		*prevs;	/* each one's previous seq (p) */
	size_t			 nevs;
	size_t			 bytes;
	ev_tstamp		 done;	/* when it was answered */
};
TAILQ_HEAD(rstore_rreses, rstore_rres);

#define RSTORE_RRES_FLIGHT	0
#define RSTORE_RRES_DONE	1
#define RSTORE_RRES_FAILED	2

/* One fastsse_read in flight: the channel results it fills, in order. */
struct rstore_batch {
	struct rstore		*rs;
	size_t			 n;
	struct rstore_rres	*res[];
};

/* A SUBSCRIBE waiting for the reads of its channels. */
struct rstore_pread {
	TAILQ_ENTRY(rstore_pread) entry;
	struct rstore		*rs;
	struct conn		*conn;	/* NULL once gone */
	struct rstore_read	*rd;
	struct rstore_rres	**res;	/* per channel of rd; NULL: the mirror
					   covers it */
	size_t			 nres;
};

/* A SUBSCRIBE whose cursor is ahead of the mirror. */
struct rstore_wait {
	TAILQ_ENTRY(rstore_wait) entry;
	struct rstore		*rs;
	struct conn		*conn;
	uint64_t		 ref;
	uint64_t		 seq;
	ev_timer		 timer;
	int			 checking;	/* asking Redis for its seq */
};

/* A pub/sub message held during a catch-up. */
struct rstore_held {
	char		*p;
	size_t		 len;
};

struct rstore {
	struct server	*s;
	struct redisconn *rc;
	char		 meta[RSTORE_KEY_MAX];
	char		 chans[RSTORE_KEY_MAX];
	char		 events[RSTORE_KEY_MAX];
	char		 streampfx[RSTORE_KEY_MAX];
	size_t		 streampfxlen;
	char		 maxevents[24];
	double		 timeout;
	int		 closing;
	int		 have_epoch;	/* the mirror has Redis's epoch */
	int		 synced;	/* live path applies, else holds */
	int		 helloing;	/* fastsse_hello or _epoch_bump out */
	int		 catching;	/* fastsse_since out */
	int		 again;		/* held messages dropped: catch up again */
	int		 warned_bad;
	struct rstore_held *held;
	size_t		 nheld, heldcap, heldbytes;
	struct rstore_pub *fifo;	/* ring */
	size_t		 fhead, fcount, fcap;
	uint64_t	 fpopped;	/* entries ever taken from the FIFO */
	/* The batch being built (see the top): */
	ev_prepare	 flush;
	char		*bbuf;		/* channels, types, data */
	size_t		 blen, bcap;
	struct rstore_bev bevs[RSTORE_BATCH_MAX];
	size_t		 nbev;
	struct rstore_bchan bchans[RSTORE_BATCH_MAX];
	size_t		 nbchan;
	uint64_t	 bfirst, blast;	/* FIFO index (as fpopped counts) of
					   the batch's first, last publish */
	char		 bkeys[RSTORE_BATCH_MAX][RSTORE_KEY_MAX +
			    VALIDATE_CHANNEL_MAX];	/* its streams */
	const char	*argv[RSTORE_ARGV_MAX];		/* its FCALL */
	size_t		 argvlen[RSTORE_ARGV_MAX];
	TAILQ_HEAD(, rstore_pread) reads;
	TAILQ_HEAD(, rstore_pread) ready;	/* being answered */
	struct rstore_rreses rcache;
	size_t		 rcache_n;	/* answered results kept */
	size_t		 rcache_bytes;
	TAILQ_HEAD(, rstore_wait) waits;
	ev_timer	 trim_timer;
	uint64_t	 publish_errors;
	uint64_t	 catchups;
	uint64_t	 catchup_events;
	uint64_t	 nreads;
	uint64_t	 reads_shared;
	uint64_t	 epoch_changes;
	uint64_t	 bad;
};

static void	rstore_up_cb(void *);
static void	rstore_down_cb(void *);
static void	rstore_message_cb(const char *, size_t, void *);
static void	rstore_hello_cb(const redisReply *, void *);
static void	rstore_since_cb(const redisReply *, void *);
static void	rstore_publish_cb(const redisReply *, void *);
static void	rstore_read_cb(const redisReply *, void *);
static void	rstore_check_cb(const redisReply *, void *);
static void	rstore_trim_cb(struct ev_loop *, ev_timer *, int);
static void	rstore_wait_cb(struct ev_loop *, ev_timer *, int);
static void	rstore_live(struct rstore *, const char *, size_t, int);
static void	rstore_hello(struct rstore *);
static void	rstore_catchup(struct rstore *);
static void	rstore_wake(struct rstore *);
static void	rstore_pread_free(struct rstore_pread *);
static void	rstore_rres_unref(struct rstore *, struct rstore_rres *);
static void	rstore_rres_uncache(struct rstore *, struct rstore_rres *);
static void	rstore_flush_cb(struct ev_loop *, ev_prepare *, int);
static void	rstore_version_cb(const redisReply *, void *);
static void	rstore_answer_failed(struct rstore *);

/*
 * Starts Redis mode: the mirror waits for Redis (nothing is covered until
 * the first fastsse_hello), the connection starts.  -1 after logging why.
 */
int
rstore_open(struct server *s, const struct rstore_config *cfg)
{
	struct rstore		*rs;
	struct redisconn_config	 rc;
	struct redisconn_cbs	 cbs;

	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		log_warnx("out of memory");
		return (-1);
	}
	rs->s = s;
	TAILQ_INIT(&rs->reads);
	TAILQ_INIT(&rs->ready);
	TAILQ_INIT(&rs->rcache);
	TAILQ_INIT(&rs->waits);
	snprintf(rs->meta, sizeof(rs->meta), "{%s}:meta", cfg->prefix);
	snprintf(rs->chans, sizeof(rs->chans), "{%s}:chans", cfg->prefix);
	snprintf(rs->events, sizeof(rs->events), "{%s}:events", cfg->prefix);
	snprintf(rs->streampfx, sizeof(rs->streampfx), "{%s}:ch:",
	    cfg->prefix);
	rs->streampfxlen = strlen(rs->streampfx);
	snprintf(rs->maxevents, sizeof(rs->maxevents), "%zu",
	    s->opts.max_events);
	rs->timeout = cfg->timeout;
	s->history.base = UINT64_MAX;	/* nothing covered before Redis */

	memset(&rc, 0, sizeof(rc));
	rc.url = cfg->url;
	rc.password = cfg->password;
	rc.timeout = cfg->timeout;
	rc.library = rscript_library;
	rc.subscribe = rs->events;
	cbs.up = rstore_up_cb;
	cbs.down = rstore_down_cb;
	cbs.message = rstore_message_cb;
	s->rstore = rs;
	if ((rs->rc = redisconn_new(s->loop, &rc, &cbs, rs)) == NULL) {
		log_warnx("cannot start the Redis connection");
		s->rstore = NULL;
		free(rs);
		return (-1);
	}
	ev_timer_init(&rs->trim_timer, rstore_trim_cb, RSTORE_TRIM_INTERVAL,
	    RSTORE_TRIM_INTERVAL);
	rs->trim_timer.data = rs;
	ev_timer_start(s->loop, &rs->trim_timer);
	ev_prepare_init(&rs->flush, rstore_flush_cb);
	rs->flush.data = rs;
	return (0);
}

/* Drops the messages held for a catch-up. */
static void
rstore_held_clear(struct rstore *rs)
{
	size_t	 i;

	for (i = 0; i < rs->nheld; i++)
		free(rs->held[i].p);
	rs->nheld = 0;
	rs->heldbytes = 0;
}

/*
 * At shutdown: the connection goes (what is in flight is answered with
 * nothing: the connections close right after), and all state with it.
 */
void
rstore_close(struct server *s)
{
	struct rstore		*rs = s->rstore;
	struct rstore_pread	*pr;
	struct rstore_rres	*rr;
	struct rstore_wait	*w;
	size_t			 i;

	if (rs == NULL)
		return;
	rs->closing = 1;
	ev_timer_stop(s->loop, &rs->trim_timer);
	ev_prepare_stop(s->loop, &rs->flush);
	redisconn_free(rs->rc);
	while ((pr = TAILQ_FIRST(&rs->reads)) != NULL) {
		TAILQ_REMOVE(&rs->reads, pr, entry);
		rstore_pread_free(pr);
	}
	while ((rr = TAILQ_FIRST(&rs->rcache)) != NULL)
		rstore_rres_uncache(rs, rr);
	while ((w = TAILQ_FIRST(&rs->waits)) != NULL) {
		TAILQ_REMOVE(&rs->waits, w, entry);
		ev_timer_stop(s->loop, &w->timer);
		free(w);
	}
	for (i = 0; i < rs->fcount; i++)
		free(rs->fifo[(rs->fhead + i) % rs->fcap].msg);
	free(rs->fifo);
	free(rs->bbuf);
	rstore_held_clear(rs);
	free(rs->held);
	s->rstore = NULL;
	free(rs);
}

/* Closes every connection that subscribes: its streams must start over. */
static void
rstore_doom_subscribers(struct rstore *rs, const char *why)
{
	struct conn	*c;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &rs->s->conns, entry) {
		if (!(c->role & PROTO_ROLE_SUBSCRIBER) ||
		    (c->flags & CONN_DOOMED))
			continue;
		conn_doom(c, 0, why);
		n++;
	}
	if (n > 0)
		log_info("redis: %zu subscriber connection(s) closed: %s", n,
		    why);
}

/* Both contexts up, library loaded, SUBSCRIBE confirmed: start over. */
static void
rstore_up_cb(void *arg)
{
	struct rstore	*rs = arg;

	rs->synced = 0;
	rs->catching = rs->helloing = rs->again = 0;
	(void)redisconn_command(rs->rc, rstore_version_cb, rs,
	    "FCALL fastsse_version 0");
	rstore_hello(rs);
}

/*
 * The version of the library in Redis: another one means a broker of
 * another version loaded its own since (FUNCTION LOAD REPLACE), and
 * publishes or pub/sub messages of one of them will fail: said clearly.
 */
static void
rstore_version_cb(const redisReply *r, void *arg)
{
	struct rstore	*rs = arg;

	if (rs->closing || r == NULL)
		return;
	if (r->type != REDIS_REPLY_INTEGER || r->integer != RSCRIPT_VERSION)
		log_warnx("redis: the fastsse library in Redis is %s%s, this "
		    "broker's is version %d: brokers of different versions "
		    "share this Redis; run the same version on all of them",
		    r->type == REDIS_REPLY_ERROR ? "an older one: " :
		    "another version", r->type == REDIS_REPLY_ERROR ?
		    r->str : "", RSCRIPT_VERSION);
}

/* Lost: what was in flight was answered; hold nothing until up. */
static void
rstore_down_cb(void *arg)
{
	struct rstore	*rs = arg;

	rs->synced = 0;
	rs->catching = rs->helloing = rs->again = 0;
	rstore_held_clear(rs);
}

/* Holds a pub/sub message for after the catch-up (bounded, see top). */
static void
rstore_hold(struct rstore *rs, const char *p, size_t len)
{
	struct rstore_held	*nh;
	size_t			 ncap;

	if (rs->nheld >= RSTORE_BUFFER_MAX ||
	    rs->heldbytes + len > RSTORE_BUFFER_BYTES) {
		if (!rs->again)
			log_warnx("redis: %zu messages held while catching up, "
			    "dropped; reading them back", rs->nheld);
		rstore_held_clear(rs);
		rs->again = 1;
		return;
	}
	if (rs->nheld == rs->heldcap) {
		ncap = rs->heldcap ? rs->heldcap * 2 : 64;
		if ((nh = reallocarray(rs->held, ncap, sizeof(*nh))) == NULL)
			goto nomem;
		rs->held = nh;
		rs->heldcap = ncap;
	}
	if ((rs->held[rs->nheld].p = malloc(len > 0 ? len : 1)) == NULL)
		goto nomem;
	memcpy(rs->held[rs->nheld].p, p, len);
	rs->held[rs->nheld].len = len;
	rs->nheld++;
	rs->heldbytes += len;
	return;
nomem:
	log_warnx("redis: out of memory holding a message; reading it back");
	rs->again = 1;
}

/*
 * Applies the held messages through the live path, in order, right after
 * a read of Redis at one instant (hello or catch-up) that the subscription
 * was older than: so the first one past the head must be the head + 1; a
 * gap here is a message that did not come from the library (skipped, or
 * catch-ups would follow each other for ever).  A gap further on starts a
 * catch-up and the rest are held again.
 */
static void
rstore_drain(struct rstore *rs)
{
	struct rstore_held	*held = rs->held;
	size_t			 i, n = rs->nheld;

	rs->held = NULL;
	rs->nheld = rs->heldcap = rs->heldbytes = 0;
	for (i = 0; i < n; i++) {
		if (rs->synced)
			rstore_live(rs, held[i].p, held[i].len, 1);
		else
			rstore_hold(rs, held[i].p, held[i].len);
		free(held[i].p);
	}
	free(held);
}

static void
rstore_message_cb(const char *p, size_t len, void *arg)
{
	struct rstore	*rs = arg;

	if (rs->closing)
		return;
	if (!rs->synced)
		rstore_hold(rs, p, len);
	else
		rstore_live(rs, p, len, 0);
	rstore_wake(rs);
	conn_reap(rs->s);
}

/*
 * Puts one event of Redis into the mirror with its own seq and fans it
 * out to local subscribers, then trims.  An event that cannot be held
 * (invalid channel, --max-channels, memory) still moves the head, and
 * what it names is marked as not covered.
 */
static void
rstore_apply(struct rstore *rs, const char *chn, size_t chnlen, uint64_t seq,
    uint64_t ms, const char *type, size_t typelen, const char *data,
    size_t datalen)
{
	struct server	*s = rs->s;
	struct history	*h = &s->history;
	struct channel	*ch;
	struct event	*ev;
	double		 now = ev_now(s->loop), t = (double)ms / 1000;

	if (seq <= h->seq)
		return;
	if (t > now)
		t = now;
	if (validate_channel(chn, chnlen) != NULL) {
		if (!rs->warned_bad)
			log_warnx("redis: event %" PRIu64 " names an invalid "
			    "channel, skipped", seq);
		rs->warned_bad = 1;
		rs->bad++;
		h->seq = seq;
		return;
	}
	if ((ch = channel_find(&h->channels, chn, chnlen)) == NULL &&
	    h->channels.names.count >= s->opts.max_channels)
		ch = NULL;
	else if (ch == NULL)
		ch = history_channel(h, chn, chnlen);
	if (ch == NULL) {
		if (seq > h->freed_floor)
			h->freed_floor = seq;	/* a new one starts above */
		h->seq = seq;
		return;
	}
	if ((ev = history_insert(h, ch, seq, t, type, typelen, data,
	    datalen)) == NULL) {
		if (seq > ch->floor)
			ch->floor = seq;
		h->seq = seq;
		history_release(h, ch);
		return;
	}
	server_fanout(s, ev);
	history_trim(h, ch, now);
}

/*
 * One pub/sub message (a batch of seq-contiguous events) on the live path
 * (see the top), event by event; strict: it follows a read at one instant
 * (rstore_drain).  A gap or another epoch holds the whole message: the
 * events of it already applied are old when it comes back.
 */
static void
rstore_live(struct rstore *rs, const char *p, size_t len, int strict)
{
	struct history		*h = &rs->s->history;
	struct rmsg_batch	 b;
	struct rmsg_event	 ev;
	size_t			 i;
	int			 stop = 0;

	if (rmsg_decode(p, len, &b) == -1) {
		if (!rs->warned_bad)
			log_warnx("redis: a message on %s does not decode "
			    "(a broker of another version on this Redis?), "
			    "skipped", rs->events);
		rs->warned_bad = 1;
		rs->bad++;
		return;
	}
	for (i = 0; i < b.n && !stop; i++) {
		rmsg_event_at(&b, i, &ev);
		switch (rmsg_next(h->epoch, h->seq, ev.epoch, ev.seq)) {
		case RMSG_OLD:
			break;
		case RMSG_APPLY:
			rstore_apply(rs, ev.channel, ev.channellen, ev.seq,
			    ev.ms, ev.type, ev.typelen, ev.data, ev.datalen);
			break;
		case RMSG_GAP:
			stop = 1;
			if (strict) {
				if (!rs->warned_bad)
					log_warnx("redis: event %" PRIu64
					    " after %" PRIu64 " on %s was not "
					    "published by the library, "
					    "skipped", ev.seq, h->seq,
					    rs->events);
				rs->warned_bad = 1;
				rs->bad++;
				break;
			}
			log_debug("redis: event %" PRIu64 " after %" PRIu64
			    ": catching up", ev.seq, h->seq);
			rs->synced = 0;
			rstore_hold(rs, p, len);
			rstore_catchup(rs);
			break;
		case RMSG_EPOCH:
			stop = 1;
			rs->synced = 0;
			rstore_hold(rs, p, len);
			rstore_hello(rs);
			break;
		}
	}
	rmsg_free(&b);
}

/* A RESP string or integer as a number; -1 when it is not one. */
static int
rstore_u64(const redisReply *r, uint64_t *v)
{
	if (r->type == REDIS_REPLY_INTEGER) {
		if (r->integer < 0)
			return (-1);
		*v = (uint64_t)r->integer;
		return (0);
	}
	if (r->type == REDIS_REPLY_STRING)
		return (rmsg_parse_u64(r->str, (size_t)r->len, v));
	return (-1);
}

/* [epoch, seq, ...] of fastsse_hello, _epoch_bump, _since, _read. */
static int
rstore_epoch_seq(const redisReply *r, size_t n, uint64_t *epoch,
    uint64_t *seq)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != n ||
	    rstore_u64(r->element[0], epoch) == -1 ||
	    rstore_u64(r->element[1], seq) == -1 || *epoch == 0)
		return (-1);
	return (0);
}

/* Logs a reply that is not what the library returns. */
static void
rstore_bad_reply(const char *what, const redisReply *r)
{
	if (r != NULL && r->type == REDIS_REPLY_ERROR)
		log_warnx("redis: %s: %s", what, r->str);
	else if (r != NULL)
		log_warnx("redis: %s: unexpected reply", what);
}

/* Asks for Redis's epoch and seq (the start of every connect). */
static void
rstore_hello(struct rstore *rs)
{
	if (rs->helloing)
		return;
	if (redisconn_command(rs->rc, rstore_hello_cb, rs,
	    "FCALL fastsse_hello 1 %s", rs->meta) == 0)
		rs->helloing = 1;
}

/*
 * Asks Redis for a new epoch in place of the mirror's (seq went back),
 * and for its seq to continue above what this broker delivered.
 */
static void
rstore_bump(struct rstore *rs)
{
	char	 old[24], seq[24];

	snprintf(old, sizeof(old), "%" PRIu64, rs->s->history.epoch);
	snprintf(seq, sizeof(seq), "%" PRIu64, rs->s->history.seq);
	if (redisconn_command(rs->rc, rstore_hello_cb, rs,
	    "FCALL fastsse_epoch_bump 1 %s %s %s", rs->meta, old, seq) == 0)
		rs->helloing = 1;
}

/*
 * The epoch and seq of Redis, at a connect or after a bump: adopt them
 * (first time, or another epoch), bump (seq below what was applied), or
 * catch up from the last seq applied.
 */
static void
rstore_hello_cb(const redisReply *r, void *arg)
{
	struct rstore	*rs = arg;
	struct server	*s = rs->s;
	struct history	*h = &s->history;
	uint64_t	 epoch, seq;

	if (rs->closing)
		return;
	rs->helloing = 0;
	if (rstore_epoch_seq(r, 2, &epoch, &seq) == -1) {
		rstore_bad_reply("fastsse_hello", r);
		return;		/* the trim timer tries again */
	}
	if (rs->have_epoch && epoch == h->epoch && seq < h->seq) {
		log_warnx("redis: its seq %" PRIu64 " is below %" PRIu64
		    ", which this broker already delivered: Redis lost "
		    "events; a new epoch", seq, h->seq);
		rstore_bump(rs);
		return;
	}
	if (!rs->have_epoch || epoch != h->epoch) {
		if (rs->have_epoch) {
			rs->epoch_changes++;
			log_warnx("redis: epoch %" PRIu64 " in place of %"
			    PRIu64 ": Redis lost its data; every stream is "
			    "reset", epoch, h->epoch);
		} else
			log_info("redis: epoch %" PRIu64 ", seq %" PRIu64,
			    epoch, seq);
		history_rebase(h, epoch, seq);
		rs->have_epoch = 1;
		rstore_doom_subscribers(rs, "the Redis epoch changed");
		rs->synced = 1;
		rs->again = 0;
		rstore_drain(rs);
		rstore_wake(rs);
		conn_reap(s);
		return;
	}
	rstore_catchup(rs);
}

/* Starts a catch-up from the mirror's head (see the top). */
static void
rstore_catchup(struct rstore *rs)
{
	char	 last[24], limit[24];

	if (rs->catching || rs->helloing)
		return;
	snprintf(last, sizeof(last), "%" PRIu64, rs->s->history.seq);
	snprintf(limit, sizeof(limit), "%d", RSTORE_CATCHUP_MAX);
	if (redisconn_command(rs->rc, rstore_since_cb, rs,
	    "FCALL fastsse_since 2 %s %s %s %s %s", rs->meta, rs->chans, last,
	    limit, rs->streampfx) == 0) {
		rs->catching = 1;
		rs->catchups++;
	}
}

/* One entry of fastsse_since: [channel, id, t, p, e, d, gap]. */
struct rstore_entry {
	uint64_t		 seq;
	uint64_t		 ms;
	uint64_t		 prev;
	uint64_t		 gap;
	const redisReply	*r;
};

static int
rstore_entry_cmp(const void *a, const void *b)
{
	const struct rstore_entry *x = a, *y = b;

	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* Events by seq, for qsort. */
static int
rstore_event_cmp(const void *a, const void *b)
{
	const struct event *x = *(struct event *const *)a;
	const struct event *y = *(struct event *const *)b;

	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static int
rstore_is_str(const redisReply *r)
{
	return (r->type == REDIS_REPLY_STRING);
}

/*
 * Redis trimmed events of a channel after the mirror's head before a
 * catch-up could read them (up to prev): the mirror does not cover them,
 * and the connections subscribed to it are closed, so that each stream
 * resumes from its cursor and is told (reset "pruned").
 */
static void
rstore_lost(struct rstore *rs, const char *name, size_t len, uint64_t prev)
{
	struct channel	*ch;
	struct sub	*sub;
	size_t		 n = 0;

	if ((ch = channel_find(&rs->s->history.channels, name, len)) == NULL)
		return;
	if (prev > ch->floor)
		ch->floor = prev;
	TAILQ_FOREACH(sub, &ch->subs, chentry) {
		if (sub->conn->flags & CONN_DOOMED)
			continue;
		conn_doom(sub->conn, 0, "events trimmed in Redis before a "
		    "catch-up");
		n++;
	}
	if (n > 0)
		log_warnx("redis: channel %.*s lost events to Redis's "
		    "retention while this broker was cut off; %zu "
		    "subscriber connection(s) closed", (int)len, name, n);
}

/*
 * The catch-up read: every entry after the head, applied in seq order,
 * then the held messages (see the top).
 */
static void
rstore_since_cb(const redisReply *r, void *arg)
{
	struct rstore		*rs = arg;
	struct server		*s = rs->s;
	struct history		*h = &s->history;
	struct rstore_entry	*ents = NULL;
	const redisReply	*list, *e;
	uint64_t		 epoch, seq, more;
	size_t			 i, n = 0;

	if (rs->closing)
		return;
	rs->catching = 0;
	if (rstore_epoch_seq(r, 4, &epoch, &seq) == -1 ||
	    rstore_u64(r->element[2], &more) == -1 ||
	    r->element[3]->type != REDIS_REPLY_ARRAY) {
		rstore_bad_reply("fastsse_since", r);
		return;		/* the trim timer tries again */
	}
	if (epoch != h->epoch || seq < h->seq) {
		rstore_hello(rs);	/* the epoch rules decide */
		return;
	}
	if (more) {
		log_warnx("redis: more than %d events to catch up; the "
		    "mirror starts over at %" PRIu64, RSTORE_CATCHUP_MAX, seq);
		history_rebase(h, epoch, seq);
		rstore_doom_subscribers(rs, "too far behind Redis");
		goto done;
	}
	list = r->element[3];
	if (list->elements > 0 &&
	    (ents = calloc(list->elements, sizeof(*ents))) == NULL) {
		log_warnx("redis: out of memory catching up; the mirror "
		    "starts over");
		history_rebase(h, epoch, seq);
		rstore_doom_subscribers(rs, "out of memory");
		goto done;
	}
	for (i = 0; i < list->elements; i++) {
		e = list->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 7 ||
		    !rstore_is_str(e->element[0]) ||
		    !rstore_is_str(e->element[1]) ||
		    !rstore_is_str(e->element[4]) ||
		    !rstore_is_str(e->element[5]) ||
		    rmsg_parse_entry_id(e->element[1]->str,
		    (size_t)e->element[1]->len, &ents[n].seq) == -1 ||
		    rstore_u64(e->element[2], &ents[n].ms) == -1 ||
		    rstore_u64(e->element[3], &ents[n].prev) == -1 ||
		    rstore_u64(e->element[6], &ents[n].gap) == -1) {
			rs->bad++;
			continue;
		}
		ents[n++].r = e;
	}
	if (n > 1)
		qsort(ents, n, sizeof(*ents), rstore_entry_cmp);
	for (i = 0; i < n; i++) {
		e = ents[i].r;
		rstore_apply(rs, e->element[0]->str,
		    (size_t)e->element[0]->len, ents[i].seq, ents[i].ms,
		    e->element[4]->str, (size_t)e->element[4]->len,
		    e->element[5]->str, (size_t)e->element[5]->len);
		if (ents[i].gap)
			rstore_lost(rs, e->element[0]->str,
			    (size_t)e->element[0]->len, ents[i].prev);
	}
	rs->catchup_events += n;
	free(ents);
	if (seq > h->seq)
		h->seq = seq;
done:
	if (rs->again) {
		rs->again = 0;
		rstore_catchup(rs);
	} else {
		rs->synced = 1;
		rstore_drain(rs);
	}
	rstore_wake(rs);
	conn_reap(s);
}

/* Appends bytes to the batch being built; its offset, or -1. */
static int
rstore_bput(struct rstore *rs, const char *p, size_t len, size_t *off)
{
	char	*nb;
	size_t	 ncap;

	if (rs->blen + len > rs->bcap) {
		ncap = rs->bcap ? rs->bcap : 4096;
		while (ncap < rs->blen + len)
			ncap *= 2;
		if ((nb = realloc(rs->bbuf, ncap)) == NULL)
			return (-1);
		rs->bbuf = nb;
		rs->bcap = ncap;
	}
	*off = rs->blen;
	if (len > 0)
		memcpy(rs->bbuf + rs->blen, p, len);
	rs->blen += len;
	return (0);
}

/* Appends one argument to the FCALL being put together. */
static void
rstore_arg(struct rstore *rs, size_t *n, const char *p, size_t len)
{
	rs->argv[*n] = p;
	rs->argvlen[*n] = len;
	(*n)++;
}

/*
 * Sends the batch being built as one FCALL fastsse_publish_batch (see
 * rscript.c), answered by rstore_publish_cb.  When it cannot be sent
 * (Redis down, too many waiting) its publishes are marked failed and
 * answered UNAVAILABLE in order, by rstore_flush_cb or the answer before
 * them.
 */
static void
rstore_flush(struct rstore *rs)
{
	char		 idx[RSTORE_BATCH_MAX][24], nkeys[24], k[24];
	struct rstore_bchan *bc;
	struct rstore_bev *be;
	size_t		 i, n = 0, pos;
	char		*key;

	if (rs->nbev == 0)
		return;
	snprintf(nkeys, sizeof(nkeys), "%zu", 2 + rs->nbchan);
	snprintf(k, sizeof(k), "%zu", rs->nbchan);
	rstore_arg(rs, &n, "FCALL", 5);
	rstore_arg(rs, &n, "fastsse_publish_batch", 21);
	rstore_arg(rs, &n, nkeys, strlen(nkeys));
	rstore_arg(rs, &n, rs->meta, strlen(rs->meta));
	rstore_arg(rs, &n, rs->chans, strlen(rs->chans));
	for (i = 0; i < rs->nbchan; i++) {
		bc = &rs->bchans[i];
		key = rs->bkeys[i];
		memcpy(key, rs->streampfx, rs->streampfxlen);
		memcpy(key + rs->streampfxlen, rs->bbuf + bc->name,
		    bc->namelen);
		rstore_arg(rs, &n, key, rs->streampfxlen + bc->namelen);
	}
	rstore_arg(rs, &n, rs->maxevents, strlen(rs->maxevents));
	rstore_arg(rs, &n, rs->events, strlen(rs->events));
	rstore_arg(rs, &n, k, strlen(k));
	for (i = 0; i < rs->nbchan; i++) {
		bc = &rs->bchans[i];
		rstore_arg(rs, &n, rs->bbuf + bc->name, bc->namelen);
		snprintf(idx[i], sizeof(idx[i]), "%zu", i + 1);
	}
	for (i = 0; i < rs->nbev; i++) {
		be = &rs->bevs[i];
		rstore_arg(rs, &n, idx[be->chn], strlen(idx[be->chn]));
		rstore_arg(rs, &n, rs->bbuf + be->type, be->typelen);
		rstore_arg(rs, &n, rs->bbuf + be->data, be->datalen);
	}
	pos = (rs->fhead + (size_t)(rs->blast - rs->fpopped)) % rs->fcap;
	rs->fifo[pos].flags |= RSTORE_PUB_LAST;
	if (redisconn_commandargv(rs->rc, rstore_publish_cb, rs, (int)n,
	    rs->argv, rs->argvlen) == -1) {
		pos = (rs->fhead + (size_t)(rs->bfirst - rs->fpopped)) %
		    rs->fcap;
		rs->fifo[pos].flags |= RSTORE_PUB_FAILED;
	}
	rs->nbev = rs->nbchan = rs->blen = 0;
}

/* Before the loop sleeps: the batch goes out, failed ones are answered. */
static void
rstore_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct rstore	*rs = w->data;

	(void)revents;
	rstore_flush(rs);
	rstore_answer_failed(rs);
	ev_prepare_stop(loop, w);
	conn_reap(rs->s);
}

/*
 * Adds a publish to the batch being built (sent before the loop sleeps,
 * or now when a bound is reached, see the top); answered by
 * rstore_publish_cb, in order.  -1 when Redis is down or too much waits:
 * the caller answers UNAVAILABLE.
 */
int
rstore_publish(struct server *s, struct conn *c, uint64_t ref,
    const char *chn, size_t chnlen, const char *type, size_t typelen,
    const char *data, size_t datalen, const char *key, size_t keylen)
{
	struct rstore		*rs = s->rstore;
	struct rstore_pub	*p, *nf;
	struct rstore_bev	*be;
	size_t			 ncap, i, blen, nbchan;

	if (!redisconn_is_up(rs->rc) || chnlen > VALIDATE_CHANNEL_MAX ||
	    rs->fcount >= RSTORE_PUB_MAX)
		goto refused;
	if (rs->nbev == RSTORE_BATCH_MAX || (rs->nbev > 0 &&
	    rs->blen + chnlen + typelen + datalen > RSTORE_BATCH_BYTES))
		rstore_flush(rs);
	if (rs->fcount == rs->fcap) {
		ncap = rs->fcap ? rs->fcap * 2 : RSTORE_FIFO0;
		if ((nf = reallocarray(NULL, ncap, sizeof(*nf))) == NULL)
			goto refused;
		for (i = 0; i < rs->fcount; i++)
			nf[i] = rs->fifo[(rs->fhead + i) % rs->fcap];
		free(rs->fifo);
		rs->fifo = nf;
		rs->fhead = 0;
		rs->fcap = ncap;
	}

	/* Into the batch: its channel once, then type and data. */
	blen = rs->blen;
	nbchan = rs->nbchan;
	be = &rs->bevs[rs->nbev];
	for (i = 0; i < rs->nbchan; i++)
		if (rs->bchans[i].namelen == chnlen && memcmp(rs->bbuf +
		    rs->bchans[i].name, chn, chnlen) == 0)
			break;
	be->chn = i;
	if (i == rs->nbchan) {
		if (rstore_bput(rs, chn, chnlen, &rs->bchans[i].name) == -1)
			goto undo;
		rs->bchans[i].namelen = chnlen;
		rs->nbchan++;
	}
	if (rstore_bput(rs, type, typelen, &be->type) == -1 ||
	    rstore_bput(rs, data, datalen, &be->data) == -1)
		goto undo;
	be->typelen = typelen;
	be->datalen = datalen;

	p = &rs->fifo[(rs->fhead + rs->fcount) % rs->fcap];
	memset(p, 0, sizeof(*p));
	if (key != NULL) {
		if ((p->msg = malloc(chnlen + keylen + 1)) == NULL)
			goto undo;
		memcpy(p->msg, chn, chnlen);
		memcpy(p->msg + chnlen, key, keylen);
		p->msglen = chnlen;
		p->keylen = keylen;
	}
	p->conn = c;
	p->ref = ref;
	rs->blast = rs->fpopped + rs->fcount;
	if (rs->nbev == 0) {
		rs->bfirst = rs->blast;
		ev_prepare_start(s->loop, &rs->flush);
	}
	rs->nbev++;
	rs->fcount++;
	c->unacked++;
	return (0);
undo:
	rs->blen = blen;
	rs->nbchan = nbchan;
refused:
	rs->publish_errors++;
	return (-1);
}

/*
 * Keeps an ERROR for c that must follow c's publishes waiting for Redis
 * (answers keep their request order).  -1 when nothing waits: send it
 * now.
 */
int
rstore_defer_error(struct server *s, struct conn *c, uint64_t ref, int code,
    const char *msg, size_t len)
{
	struct rstore		*rs = s->rstore;
	struct rstore_pub	*p;
	char			*m;

	if (rs == NULL || c->unacked == 0 || rs->fcount == 0 ||
	    rs->fcount == rs->fcap || (m = malloc(len + 1)) == NULL)
		return (-1);
	memcpy(m, msg, len);
	p = &rs->fifo[(rs->fhead + rs->fcount) % rs->fcap];
	memset(p, 0, sizeof(*p));
	p->conn = c;
	p->ref = ref;
	p->code = code;
	p->msg = m;
	p->msglen = len;
	rs->fcount++;
	return (0);
}

/* Takes the oldest entry of the FIFO (there is one). */
static struct rstore_pub
rstore_fifo_pop(struct rstore *rs)
{
	struct rstore_pub	 p = rs->fifo[rs->fhead];

	rs->fhead = (rs->fhead + 1) % rs->fcap;
	rs->fcount--;
	rs->fpopped++;
	return (p);
}

/*
 * Answers the oldest batch in the FIFO: its publishes PUBLISHED with
 * first, first + 1, ... in order (epoch 0: ERROR UNAVAILABLE), the ERRORs
 * queued between and behind them; a connection that waited for its
 * answers reads on.
 */
static void
rstore_answer_pubs(struct rstore *rs, uint64_t epoch, uint64_t first)
{
	struct server		*s = rs->s;
	struct rstore_pub	 p;
	struct conn		*c;
	char			 id[EVENTID_MAX];
	size_t			 idlen;
	int			 last = 0;

	while (rs->fcount > 0 && !last) {
		p = rstore_fifo_pop(rs);
		if ((c = p.conn) != NULL && p.code != 0)
			conn_error_now(c, p.ref, p.code, p.msg, p.msglen);
		if (p.code != 0) {
			free(p.msg);
			continue;
		}
		last = p.flags & RSTORE_PUB_LAST;
		idlen = 0;
		if (epoch != 0)
			idlen = eventid_format(id, sizeof(id), epoch, first++);
		else
			rs->publish_errors++;
		if (c != NULL) {
			c->unacked--;
			if (idlen > 0) {
				s->stats.events_published++;
				if (p.keylen > 0 && idem_add(&s->idem, p.msg,
				    p.msglen, p.msg + p.msglen, p.keylen, id,
				    idlen, ev_now(s->loop)) == -1)
					log_warnx("out of memory: idempotency "
					    "key not kept");
			} else
				s->stats.publish_errors++;
			conn_publish_result(c, p.ref, idlen > 0 ? id : NULL,
			    idlen);
		}
		free(p.msg);
		if (c != NULL && c->unacked == 0 && (c->flags & CONN_WAIT))
			conn_resume(c);
	}
	while (rs->fcount > 0 && rs->fifo[rs->fhead].code != 0) {
		p = rstore_fifo_pop(rs);
		if (p.conn != NULL)
			conn_error_now(p.conn, p.ref, p.code, p.msg,
			    p.msglen);
		free(p.msg);
	}
}

/* Answers the batches at the head of the FIFO that were never sent. */
static void
rstore_answer_failed(struct rstore *rs)
{
	while (rs->fcount > 0 && (rs->fifo[rs->fhead].flags &
	    RSTORE_PUB_FAILED) && !rs->closing)
		rstore_answer_pubs(rs, 0, 0);
}

/*
 * Redis answered the oldest batch sent: {epoch, first seq}, or an error,
 * or nothing (down, timed out): answered as above.
 */
static void
rstore_publish_cb(const redisReply *r, void *arg)
{
	struct rstore		*rs = arg;
	uint64_t		 epoch, first;

	if (rs->closing)
		return;
	if (rstore_epoch_seq(r, 2, &epoch, &first) == -1) {
		rstore_bad_reply("fastsse_publish_batch", r);
		epoch = first = 0;
	}
	rstore_answer_failed(rs);	/* none: they come after */
	rstore_answer_pubs(rs, epoch, first);
	rstore_answer_failed(rs);
	conn_reap(rs->s);
}

/* Frees a replay read and its events. */
void
rstore_read_free(struct rstore_read *rd)
{
	size_t	 i;

	if (rd == NULL)
		return;
	for (i = 0; i < rd->nevs; i++)
		event_unref(rd->evs[i]);
	free(rd->evs);
	free(rd->chans);
	free(rd);
}

/* Frees a channel result (no one holds it any more). */
static void
rstore_rres_free(struct rstore_rres *rr)
{
	size_t	 i;

	for (i = 0; i < rr->nevs; i++)
		event_unref(rr->evs[i]);
	free(rr->evs);
	free(rr->prevs);
	free(rr);
}

/* Takes a result out of the read cache; freed once no one holds it. */
static void
rstore_rres_uncache(struct rstore *rs, struct rstore_rres *rr)
{
	if (!rr->cached)
		return;
	TAILQ_REMOVE(&rs->rcache, rr, entry);
	rr->cached = 0;
	if (rr->state == RSTORE_RRES_DONE) {
		rs->rcache_n--;
		rs->rcache_bytes -= rr->bytes;
	}
	if (rr->refs == 0)
		rstore_rres_free(rr);
}

static void
rstore_rres_unref(struct rstore *rs, struct rstore_rres *rr)
{
	(void)rs;
	if (--rr->refs == 0 && !rr->cached)
		rstore_rres_free(rr);
}

/* Frees a waiting SUBSCRIBE (off every list) and lets go of its results. */
static void
rstore_pread_free(struct rstore_pread *pr)
{
	size_t	 i;

	for (i = 0; i < pr->nres; i++)
		if (pr->res[i] != NULL)
			rstore_rres_unref(pr->rs, pr->res[i]);
	free(pr->res);
	rstore_read_free(pr->rd);
	free(pr);
}

/*
 * Keeps the read cache within its bounds (see the top): the oldest
 * answered results go first, those no SUBSCRIBE holds before the others.
 */
static void
rstore_rcache_trim(struct rstore *rs)
{
	struct rstore_rres	*rr, *prev;
	int			 pass;

	for (pass = 0; pass < 2; pass++)
		for (rr = TAILQ_LAST(&rs->rcache, rstore_rreses);
		    rr != NULL && (rs->rcache_n > RSTORE_RCACHE_MAX ||
		    rs->rcache_bytes > RSTORE_RCACHE_BYTES); rr = prev) {
			prev = TAILQ_PREV(rr, rstore_rreses, entry);
			if (rr->state == RSTORE_RRES_DONE &&
			    (pass == 1 || rr->refs == 0))
				rstore_rres_uncache(rs, rr);
		}
}

/*
 * A result that answers a cursor from (of this epoch, or 0) for channel
 * ch: one in flight that reads from at most from, or an answered one as
 * well, still young, of this mirror (epoch and base), whose channel the
 * mirror has not trimmed past what the read left to it.  Results too old
 * or of another mirror are dropped on the way.
 */
static struct rstore_rres *
rstore_rcache_find(struct rstore *rs, const struct channel *ch,
    uint64_t from)
{
	struct history		*h = &rs->s->history;
	struct rstore_rres	*rr, *next;
	ev_tstamp		 now = ev_now(rs->s->loop);

	for (rr = TAILQ_FIRST(&rs->rcache); rr != NULL; rr = next) {
		next = TAILQ_NEXT(rr, entry);
		if (rr->epoch != h->epoch || rr->base != h->base ||
		    (rr->state == RSTORE_RRES_DONE &&
		    now - rr->done > RSTORE_RCACHE_AGE)) {
			rstore_rres_uncache(rs, rr);
			continue;
		}
		if (rr->namelen != ch->namelen ||
		    memcmp(rr->name, ch->name, ch->namelen) != 0 ||
		    rr->after > from)
			continue;
		if (rr->state == RSTORE_RRES_DONE &&
		    (from > rr->upto ? from : rr->upto) < ch->floor)
			continue;
		return (rr);
	}
	return (NULL);
}

/*
 * Composes a waiting SUBSCRIBE's answer from its channels' results (all
 * answered, see the top): for each, the entries after its cursor, and the
 * pruned rule of rmsg_pruned on what the read saw; then the replay budget
 * as it stands now, as conn.c applies it.  The mirror adds the rest when
 * the SUBSCRIBE is handled again (rstore_replay).
 */
static void
rstore_compose(struct rstore *rs, struct rstore_read *rd,
    struct rstore_rres *const *res)
{
	struct server		*s = rs->s;
	struct rstore_rres	*rr;
	struct event		*ev;
	size_t			 i, k, first, total = 0, bytes = 0, budget;

	for (i = 0; i < rd->nchans; i++) {
		rd->chans[i].last = rd->after;
		if (res[i] != NULL && res[i]->state != RSTORE_RRES_DONE) {
			rd->unavailable = PROTO_E_UNAVAILABLE;
			return;
		}
		if (res[i] != NULL)
			total += res[i]->nevs;
	}
	if (total > 0 && (rd->evs = calloc(total, sizeof(*rd->evs))) == NULL) {
		rd->unavailable = PROTO_E_INTERNAL;
		return;
	}
	budget = s->opts.max_memory > s->stats.replay_bytes ?
	    s->opts.max_memory - s->stats.replay_bytes : 0;
	for (i = 0; i < rd->nchans; i++) {
		if ((rr = res[i]) == NULL)
			continue;
		for (first = 0; first < rr->nevs &&
		    rr->evs[first]->seq <= rd->after; first++)
			;
		if (rd->reason == HISTORY_OK && rmsg_pruned(rd->after,
		    rr->chlast, rr->nevs - first, first < rr->nevs ?
		    rr->prevs[first] : 0, rr->dropped))
			rd->reason = HISTORY_PRUNED;
		if (rr->upto > rd->chans[i].last)
			rd->chans[i].last = rr->upto;
		for (k = first; k < rr->nevs; k++) {
			ev = rr->evs[k];
			event_ref(ev);
			rd->evs[rd->nevs++] = ev;
			if (rd->oldest == 0 || ev->seq < rd->oldest)
				rd->oldest = ev->seq;
			if ((bytes += ev->len) > budget) {
				rd->unavailable = PROTO_E_BUSY;
				return;
			}
		}
	}
	if (rd->nevs > 1)	/* channels one after the other */
		qsort(rd->evs, rd->nevs, sizeof(*rd->evs), rstore_event_cmp);
}

/*
 * Gives c the answer of its waiting SUBSCRIBE pr (its results all in, or
 * one failed), to be taken when the SUBSCRIBE is handled again, and frees
 * pr.
 */
static void
rstore_answer(struct rstore *rs, struct rstore_pread *pr, struct conn *c)
{
	struct rstore_read	*rd = pr->rd;
	size_t			 i;

	pr->rd = NULL;
	rstore_compose(rs, rd, pr->res);
	if (rd->unavailable != 0) {
		for (i = 0; i < rd->nevs; i++)
			event_unref(rd->evs[i]);
		rd->nevs = 0;
	}
	rstore_read_free(c->rread);
	c->rread = rd;
	rstore_pread_free(pr);
}

/*
 * Answers every waiting SUBSCRIBE whose results are all in (or one
 * failed): each gets its rstore_read on its connection and is handled
 * again.  They are moved to rs->ready first, as a connection handled again
 * may start other reads.
 */
static void
rstore_settle(struct rstore *rs)
{
	struct rstore_pread	*pr, *next;
	struct conn		*c;
	size_t			 i;
	int			 wait, failed;

	for (pr = TAILQ_FIRST(&rs->reads); pr != NULL; pr = next) {
		next = TAILQ_NEXT(pr, entry);
		wait = failed = 0;
		for (i = 0; i < pr->nres; i++) {
			if (pr->res[i] == NULL)
				continue;
			if (pr->res[i]->state == RSTORE_RRES_FAILED)
				failed = 1;
			else if (pr->res[i]->state == RSTORE_RRES_FLIGHT)
				wait = 1;
		}
		if (wait && !failed)
			continue;
		TAILQ_REMOVE(&rs->reads, pr, entry);
		TAILQ_INSERT_TAIL(&rs->ready, pr, entry);
	}
	while ((pr = TAILQ_FIRST(&rs->ready)) != NULL) {
		TAILQ_REMOVE(&rs->ready, pr, entry);
		if ((c = pr->conn) != NULL) {
			rstore_answer(rs, pr, c);
			conn_resume(c);
		} else
			rstore_pread_free(pr);
	}
}

/*
 * Where a SUBSCRIBE's cursor (already known to parse) is answered from:
 * the mirror, a read from Redis or a wait for the mirror (both started
 * here; the SUBSCRIBE is handled again when done), results of reads
 * already made (RSTORE_READ: c->rread holds the answer), or nowhere now.
 * waited: it waited already, in vain.
 */
enum rstore_cursor
rstore_cursor(struct server *s, struct conn *c, uint64_t ref,
    const char *id, size_t idlen, struct channel *const *chs, size_t n,
    int waited)
{
	struct rstore		*rs = s->rstore;
	struct history		*h = &s->history;
	struct eventid		 eid;
	struct rstore_wait	*w;
	struct rstore_pread	*pr;
	struct rstore_read	*rd;
	struct rstore_batch	*b = NULL;
	struct rstore_rres	*rr;
	const char		*argv[4 + 3 + PROTO_MAX_CHANNELS];
	size_t			 argvlen[4 + 3 + PROTO_MAX_CHANNELS];
	char			 after[24], count[24];
	uint64_t		 from;
	size_t			 i, nread = 0;
	int			 covered = 1, shared = 0, pending = 0;

	if (eventid_parse(id, idlen, &eid) == -1)
		return (RSTORE_MIRROR);		/* malformed: said there */
	if (!rs->have_epoch)
		return (RSTORE_UNAVAILABLE);
	if (eid.epoch == h->epoch && eid.seq > h->seq) {
		if (waited)
			return (RSTORE_UNAVAILABLE);
		if ((w = calloc(1, sizeof(*w))) == NULL)
			return (RSTORE_UNAVAILABLE);
		w->rs = rs;
		w->conn = c;
		w->ref = ref;
		w->seq = eid.seq;
		ev_timer_init(&w->timer, rstore_wait_cb, rs->timeout, 0);
		w->timer.data = w;
		ev_timer_start(s->loop, &w->timer);
		TAILQ_INSERT_TAIL(&rs->waits, w, entry);
		return (RSTORE_ASYNC);
	}
	from = eid.epoch == h->epoch ? eid.seq : 0;
	if (from < h->base)
		covered = 0;
	for (i = 0; i < n && covered; i++)
		if (from < chs[i]->floor)
			covered = 0;
	if (covered)
		return (RSTORE_MIRROR);
	if (!redisconn_is_up(rs->rc))
		return (RSTORE_UNAVAILABLE);

	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return (RSTORE_UNAVAILABLE);
	pr->rs = rs;
	if ((pr->rd = rd = calloc(1, sizeof(*rd))) == NULL ||
	    (rd->chans = calloc(n, sizeof(*rd->chans))) == NULL ||
	    (pr->res = calloc(n, sizeof(*pr->res))) == NULL ||
	    (b = calloc(1, sizeof(*b) + n * sizeof(b->res[0]))) == NULL)
		goto fail;
	pr->nres = n;
	rd->ref = ref;
	rd->after = from;
	rd->reason = eid.epoch == h->epoch ? HISTORY_OK : HISTORY_EPOCH;
	rd->nchans = n;
	b->rs = rs;
	snprintf(after, sizeof(after), "%" PRIu64, from);
	snprintf(count, sizeof(count), "%zu", s->opts.max_events > 0 ?
	    s->opts.max_events : 1);
	argv[0] = "FCALL";
	argv[1] = "fastsse_read";
	argv[2] = "2";
	argv[3] = rs->meta;
	argv[4] = rs->chans;
	argv[5] = after;
	argv[6] = count;
	argv[7] = rs->streampfx;
	for (i = 0; i < 8; i++)
		argvlen[i] = strlen(argv[i]);
	for (i = 0; i < n; i++) {
		memcpy(rd->chans[i].name, chs[i]->name, chs[i]->namelen);
		rd->chans[i].namelen = chs[i]->namelen;
		if (from >= h->base && from >= chs[i]->floor)
			continue;	/* the mirror covers this one */
		if ((rr = rstore_rcache_find(rs, chs[i], from)) != NULL) {
			rr->refs++;
			pr->res[i] = rr;
			shared = 1;
			if (rr->state == RSTORE_RRES_FLIGHT)
				pending = 1;
			continue;
		}
		if ((rr = calloc(1, sizeof(*rr))) == NULL)
			goto fail;
		memcpy(rr->name, chs[i]->name, chs[i]->namelen);
		rr->namelen = chs[i]->namelen;
		rr->after = from;
		rr->epoch = h->epoch;
		rr->base = h->base;
		rr->refs = 2;		/* the batch and pr */
		pr->res[i] = rr;
		b->res[b->n++] = rr;
		argv[8 + nread] = rd->chans[i].name;
		argvlen[8 + nread] = chs[i]->namelen;
		nread++;
	}
	if (nread > 0) {
		if (redisconn_commandargv(rs->rc, rstore_read_cb, b,
		    (int)(8 + nread), argv, argvlen) == -1)
			goto fail;
		for (i = 0; i < b->n; i++) {
			b->res[i]->cached = 1;
			TAILQ_INSERT_HEAD(&rs->rcache, b->res[i], entry);
		}
		rs->nreads++;
		pending = 1;
	} else
		free(b);
	if (shared)
		rs->reads_shared++;
	pr->conn = c;
	if (pending) {
		TAILQ_INSERT_TAIL(&rs->reads, pr, entry);
		return (RSTORE_ASYNC);
	}
	/* Every result was in already: the answer now. */
	rstore_answer(rs, pr, c);
	return (RSTORE_READ);
fail:
	if (b != NULL)
		for (i = 0; i < b->n; i++)
			b->res[i]->refs--;	/* only pr holds them now */
	free(b);
	rstore_pread_free(pr);
	return (RSTORE_UNAVAILABLE);
}

/*
 * A fastsse_read came back: each channel's result is filled in (its
 * events made once, our references) or, when the read failed, marked so;
 * then every SUBSCRIBE waiting for it that has all it needs is answered
 * (rstore_settle), and the read cache kept within its bounds.
 */
static void
rstore_read_cb(const redisReply *r, void *arg)
{
	struct rstore_batch	*b = arg;
	struct rstore		*rs = b->rs;
	struct server		*s = rs->s;
	struct history		*h = &s->history;
	struct rstore_rres	*rr;
	const redisReply	*list, *chr, *ents, *e;
	struct event		*ev;
	uint64_t		 epoch, seq, dropped, last, eseq, prev, ms;
	size_t			 i, k;
	int			 ok = 0;

	if (rs->closing)
		goto out;
	if (rstore_epoch_seq(r, 4, &epoch, &seq) == -1 ||
	    rstore_u64(r->element[2], &dropped) == -1 ||
	    (list = r->element[3])->type != REDIS_REPLY_ARRAY ||
	    list->elements != b->n) {
		rstore_bad_reply("fastsse_read", r);
		goto done;
	}
	if (epoch != h->epoch) {
		rstore_hello(rs);	/* the epoch rules first */
		goto done;
	}
	if (b->n > 0 && b->res[0]->base != h->base)
		goto done;	/* the mirror started over meanwhile */
	for (i = 0; i < b->n; i++) {
		rr = b->res[i];
		chr = list->element[i];
		if (chr->type != REDIS_REPLY_ARRAY || chr->elements != 2 ||
		    rstore_u64(chr->element[0], &last) == -1 ||
		    (ents = chr->element[1])->type != REDIS_REPLY_ARRAY) {
			rstore_bad_reply("fastsse_read", r);
			goto done;
		}
		/* Later entries come live: the mirror is behind Redis. */
		rr->upto = seq < h->seq ? seq : h->seq;
		rr->chlast = last;
		rr->dropped = dropped;
		if (ents->elements > 0 && ((rr->evs = calloc(ents->elements,
		    sizeof(*rr->evs))) == NULL || (rr->prevs =
		    calloc(ents->elements, sizeof(*rr->prevs))) == NULL))
			goto done;
		for (k = 0; k < ents->elements; k++) {
			e = ents->element[k];
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 5 ||
			    !rstore_is_str(e->element[0]) ||
			    rmsg_parse_entry_id(e->element[0]->str,
			    (size_t)e->element[0]->len, &eseq) == -1 ||
			    rstore_u64(e->element[1], &ms) == -1 ||
			    rstore_u64(e->element[2], &prev) == -1 ||
			    !rstore_is_str(e->element[3]) ||
			    !rstore_is_str(e->element[4]) ||
			    (rr->nevs > 0 && eseq <= rr->evs[rr->nevs - 1]->seq)) {
				rstore_bad_reply("fastsse_read", r);
				goto done;
			}
			if (eseq > rr->upto)
				break;
			if ((ev = event_new(h->epoch, eseq,
			    (double)ms / 1000, rr->name, rr->namelen,
			    e->element[3]->str, (size_t)e->element[3]->len,
			    e->element[4]->str,
			    (size_t)e->element[4]->len)) == NULL)
				goto done;
			rr->evs[rr->nevs] = ev;
			rr->prevs[rr->nevs++] = prev;
			rr->bytes += ev->len;
		}
	}
	ok = 1;
done:
	for (i = 0; i < b->n; i++) {
		rr = b->res[i];
		if (ok) {
			rr->state = RSTORE_RRES_DONE;
			rr->done = ev_now(s->loop);
			if (rr->cached) {
				rs->rcache_n++;
				rs->rcache_bytes += rr->bytes;
			}
		} else {
			rstore_rres_uncache(rs, rr);
			rr->state = RSTORE_RRES_FAILED;
		}
	}
	rstore_settle(rs);
out:
	for (i = 0; i < b->n; i++)
		rstore_rres_unref(rs, b->res[i]);
	free(b);
	if (!rs->closing) {
		rstore_rcache_trim(rs);
		conn_reap(s);
	}
}

/*
 * The replay of a SUBSCRIBE read from Redis, as the connection handles it
 * again with its channels chs[0..n) (the same, in the same order): the
 * events read, then those the mirror got after each channel's newest one
 * read, in seq order.  *out is an array the caller frees; the events stay
 * held by rd and the mirror until the caller has queued them.  Returns
 * how many, (size_t)-1 when memory fails.
 */
size_t
rstore_replay(struct server *s, struct rstore_read *rd,
    struct channel *const *chs, size_t n, struct event ***out)
{
	struct event	**evs;
	uint64_t	 from[PROTO_MAX_CHANNELS];
	size_t		 i, j, k, total = rd->nevs;

	(void)s;
	for (i = 0; i < n; i++) {
		from[i] = rd->after;
		for (j = 0; j < rd->nchans; j++)
			if (rd->chans[j].namelen == chs[i]->namelen &&
			    memcmp(rd->chans[j].name, chs[i]->name,
			    chs[i]->namelen) == 0 && rd->chans[j].last > from[i])
				from[i] = rd->chans[j].last;
		total += chs[i]->rcount - channel_after(chs[i], from[i]);
	}
	*out = NULL;
	if (total == 0)
		return (0);
	if ((evs = calloc(total, sizeof(*evs))) == NULL)
		return ((size_t)-1);
	if (rd->nevs > 0)
		memcpy(evs, rd->evs, rd->nevs * sizeof(*evs));
	k = rd->nevs;
	for (i = 0; i < n; i++)
		for (j = channel_after(chs[i], from[i]); j < chs[i]->rcount;
		    j++)
			evs[k++] = channel_at(chs[i], j);
	qsort(evs, k, sizeof(*evs), rstore_event_cmp);
	*out = evs;
	return (k);
}

/* Frees a wait; its connection is not told. */
static void
rstore_wait_free(struct rstore *rs, struct rstore_wait *w)
{
	TAILQ_REMOVE(&rs->waits, w, entry);
	ev_timer_stop(rs->s->loop, &w->timer);
	free(w);
}

/* The mirror moved on: SUBSCRIBEs waiting for it are handled again. */
static void
rstore_wake(struct rstore *rs)
{
	struct rstore_wait	*w, *next;
	struct conn		*c;

	for (w = TAILQ_FIRST(&rs->waits); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->seq > rs->s->history.seq || w->checking)
			continue;
		c = w->conn;
		rstore_wait_free(rs, w);
		conn_resume(c);
	}
}

/*
 * A cursor ahead waited --redis-timeout in vain: Redis is asked for its
 * seq (rstore_check_cb); when Redis is down, the SUBSCRIBE is answered
 * UNAVAILABLE.
 */
static void
rstore_wait_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rstore_wait	*w = t->data;
	struct rstore		*rs = w->rs;
	struct conn		*c = w->conn;

	(void)loop;
	(void)revents;
	if (redisconn_command(rs->rc, rstore_check_cb, w,
	    "FCALL fastsse_hello 1 %s", rs->meta) == 0) {
		w->checking = 1;
		return;
	}
	rstore_wait_free(rs, w);
	c->flags |= CONN_WAITED;
	conn_resume(c);
	conn_reap(rs->s);
}

/*
 * Redis's seq against a cursor that waited in vain: Redis never reached
 * it (an id Redis lost with its last second, or one made up): reset
 * "lost", as the journal does for ids a crash may have lost; the epoch is
 * not bumped on a client's word, which anyone could send.  Else Redis
 * has it and this broker does not yet: UNAVAILABLE, retry.
 */
static void
rstore_check_cb(const redisReply *r, void *arg)
{
	struct rstore_wait	*w = arg;
	struct rstore		*rs = w->rs;
	struct rstore_read	*rd;
	struct conn		*c = w->conn;
	uint64_t		 epoch, seq;

	if (rs->closing)
		return;		/* rstore_close frees w */
	if (c != NULL && r != NULL &&
	    rstore_epoch_seq(r, 2, &epoch, &seq) == 0 &&
	    epoch == rs->s->history.epoch && seq < w->seq &&
	    (rd = calloc(1, sizeof(*rd))) != NULL) {
		log_info("redis: a client holds id %" PRIu64 " but Redis is "
		    "at %" PRIu64 ": reset \"lost\"", w->seq, seq);
		rd->ref = w->ref;
		rd->reason = HISTORY_LOST;
		rstore_read_free(c->rread);
		c->rread = rd;
	} else if (c != NULL)
		c->flags |= CONN_WAITED;
	rstore_wait_free(rs, w);
	if (c != NULL) {
		conn_resume(c);
		conn_reap(rs->s);
	}
}

/* Result of a trim: nothing to do but log a failure, once. */
static void
rstore_trimmed_cb(const redisReply *r, void *arg)
{
	struct rstore	*rs = arg;
	static int	 warned;

	if (rs->closing || r == NULL)
		return;
	if (r->type == REDIS_REPLY_ERROR && !warned) {
		log_warnx("redis: fastsse_trim: %s", r->str);
		warned = 1;
	}
}

/*
 * Once a second: the age trim in Redis (every broker runs it; it is
 * idempotent and bounded), and a new start of what a failed reply left
 * undone (hello, catch-up).
 */
static void
rstore_trim_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rstore	*rs = t->data;
	char		 age[24], budget[24];

	(void)loop;
	(void)revents;
	if (!redisconn_is_up(rs->rc))
		return;
	if (!rs->have_epoch)
		rstore_hello(rs);
	else if (!rs->synced)
		rstore_catchup(rs);
	snprintf(age, sizeof(age), "%.0f", rs->s->opts.max_age * 1000);
	snprintf(budget, sizeof(budget), "%d", RSTORE_TRIM_BUDGET);
	(void)redisconn_command(rs->rc, rstore_trimmed_cb, rs,
	    "FCALL fastsse_trim 2 %s %s %s %s %s", rs->meta, rs->chans, age,
	    budget, rs->streampfx);
}

/* c is closing: nothing is answered to it any more. */
void
rstore_forget(struct server *s, struct conn *c)
{
	struct rstore		*rs = s->rstore;
	struct rstore_pread	*pr, *pnext;
	struct rstore_wait	*w, *next;
	size_t			 i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->fcount; i++)
		if (rs->fifo[(rs->fhead + i) % rs->fcap].conn == c)
			rs->fifo[(rs->fhead + i) % rs->fcap].conn = NULL;
	/* Its waiting SUBSCRIBEs go; the reads they share answer others. */
	for (pr = TAILQ_FIRST(&rs->reads); pr != NULL; pr = pnext) {
		pnext = TAILQ_NEXT(pr, entry);
		if (pr->conn == c) {
			TAILQ_REMOVE(&rs->reads, pr, entry);
			rstore_pread_free(pr);
		}
	}
	TAILQ_FOREACH(pr, &rs->ready, entry)
		if (pr->conn == c)
			pr->conn = NULL;
	for (w = TAILQ_FIRST(&rs->waits); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->conn != c)
			continue;
		if (w->checking)
			w->conn = NULL;	/* freed by rstore_check_cb */
		else
			rstore_wait_free(rs, w);
	}
}

/* Copies the counters of Redis mode into the broker's for STATS. */
void
rstore_stats(struct server *s)
{
	struct rstore		*rs = s->rstore;
	struct redisconn_stats	 st;

	if (rs == NULL)
		return;
	redisconn_stats(rs->rc, &st);
	s->stats.redis = 1;
	s->stats.redis_connected = st.up != 0;
	s->stats.redis_reconnects = st.reconnects;
	s->stats.redis_publish_errors = rs->publish_errors;
	s->stats.redis_catchups = rs->catchups;
	s->stats.redis_catchup_events = rs->catchup_events;
	s->stats.redis_reads = rs->nreads;
	s->stats.redis_reads_shared = rs->reads_shared;
	s->stats.redis_epoch_changes = rs->epoch_changes;
	s->stats.redis_last_seq = rs->have_epoch ? s->history.seq : 0;
}
