/* SPDX-License-Identifier: ISC */
/*
 * The history.  Every held event is on one broker-wide FIFO in seq order
 * (so its head is the globally oldest event) and in its channel's ring,
 * also in seq order.  All removal is oldest-first, so:
 *   - age pruning and memory eviction pop the FIFO head: O(1) each;
 *   - count pruning pops the channel's oldest and unlinks it from the
 *     FIFO: O(1) each;
 *   - a publish adds one event and removes at most what it pushed over a
 *     bound plus what aged out, so pruning is amortised O(1) per publish;
 *   - a replay finds where to start in each channel by binary search on
 *     seq, O(log n), then merges the channels' tails by seq.
 *
 * Bounds and policy: per channel at most lim.max_events events; nothing
 * older than lim.max_age seconds (checked at each publish and by the
 * caller's periodic history_expire); broker-wide at most lim.max_memory
 * bytes of events, counted as event_size().  Past a bound the oldest events
 * go; a publish is fanned out before the trim, so subscribers get an event
 * live even when it alone is over the memory bound.  Every event
 * dropped is counted in evictions (and by reason), raises its channel's
 * floor, and a channel left with no events and no subscribers is freed,
 * its floor remembered in freed_floor for the reset rule.
 */
#include "config.h"

#include <stdlib.h>

#include "history.h"
#include "protodefs.h"

#define HISTORY_MERGE_MAX	PROTO_MAX_CHANNELS

int
history_init(struct history *h, uint64_t epoch,
    const struct history_limits *lim)
{
	h->lim = *lim;
	h->epoch = epoch;
	h->seq = 0;
	h->freed_floor = 0;
	h->lost_after = h->lost_upto = h->lost_below = 0;
	h->base = 0;
	TAILQ_INIT(&h->fifo);
	h->nevents = h->nbytes = 0;
	h->evictions = h->evict_age = h->evict_count = h->evict_memory = 0;
	return (channel_table_init(&h->channels));
}

/* Frees every event and channel; subscriptions must be gone already. */
void
history_free(struct history *h)
{
	struct event	*ev;

	while ((ev = TAILQ_FIRST(&h->fifo)) != NULL) {
		TAILQ_REMOVE(&h->fifo, ev, entry);
		ev->channel = NULL;
		event_unref(ev);
	}
	channel_table_free(&h->channels);	/* and the channels */
	h->nevents = h->nbytes = 0;
}

/*
 * Finds or creates the channel of that (already validated) name.  A new
 * channel starts at the freed channels' floor: a channel of that name may
 * have existed, lost events and been freed.  NULL when memory runs out.
 */
struct channel *
history_channel(struct history *h, const char *name, size_t len)
{
	struct channel	*ch;

	if ((ch = channel_find(&h->channels, name, len)) != NULL)
		return (ch);
	return (channel_add(&h->channels, name, len, h->freed_floor));
}

/* Frees ch if it has neither events nor subscribers; returns 1 if so. */
static int
history_release_channel(struct history *h, struct channel *ch)
{
	if (!channel_idle(ch))
		return (0);
	if (ch->floor > h->freed_floor)
		h->freed_floor = ch->floor;
	channel_remove(&h->channels, ch);
	return (1);
}

void
history_release(struct history *h, struct channel *ch)
{
	history_release_channel(h, ch);
}

/*
 * Takes ev, already out of its channel's ring, off the FIFO and out of the
 * counts, and lets go of the history's reference: the one way an event
 * leaves, so the counts cannot drift apart from the FIFO.
 */
static void
history_unlink(struct history *h, struct event *ev)
{
	TAILQ_REMOVE(&h->fifo, ev, entry);
	h->nevents--;
	h->nbytes -= event_size(ev);
	ev->channel = NULL;
	event_unref(ev);
}

/*
 * Drops the oldest event of its channel from the history.  Returns 1 when
 * that freed the channel.
 */
static int
history_drop(struct history *h, struct event *ev, uint64_t *reason)
{
	struct channel	*ch = ev->channel;

	if (channel_pop(ch) != ev)
		abort();	/* removal is always oldest-first */
	if (ev->seq > ch->floor)
		ch->floor = ev->seq;
	history_unlink(h, ev);
	h->evictions++;
	(*reason)++;
	return (history_release_channel(h, ch));
}

/*
 * Assigns the next id and stores a new event on ch.  The event is returned
 * while the history holds it: the caller fans it out (taking its own
 * references) and then calls history_trim.  NULL when the frame cannot be
 * made (memory, or over PROTO_MAX_FRAME); no id is used then.
 */
struct event *
history_publish(struct history *h, struct channel *ch, const char *type,
    size_t typelen, const char *data, size_t datalen, double now)
{
	struct event	*ev;

	ev = event_new(h->epoch, h->seq + 1, now, ch->name,
	    ch->namelen, type, typelen, data, datalen);
	if (ev == NULL)
		return (NULL);
	if (channel_push(ch, ev) == -1) {
		event_unref(ev);
		return (NULL);
	}
	h->seq++;
	ev->channel = ch;
	TAILQ_INSERT_TAIL(&h->fifo, ev, entry);
	h->nevents++;
	h->nbytes += event_size(ev);
	return (ev);
}

/*
 * Takes back the newest event, whose publish the store refused: it leaves
 * its channel and the FIFO as if never published (no eviction counted, no
 * floor raised: nobody saw it).  Its id stays used.  ev must be the newest
 * event held; the caller keeps its own reference.
 */
void
history_unpublish(struct history *h, struct event *ev)
{
	struct channel	*ch = ev->channel;

	if (ch == NULL)
		return;		/* already dropped by a bound */
	if (TAILQ_LAST(&h->fifo, event_list) != ev ||
	    channel_unpush(ch) != ev)
		abort();	/* only the newest can be taken back */
	history_unlink(h, ev);
	history_release_channel(h, ch);
}

/*
 * Puts back an event read from the store at start-up, with its own seq
 * (above every seq held) and time, then applies the bounds as for a
 * publish at now.  -1 when memory runs out or seq is not above the head.
 */
int
history_restore(struct history *h, const char *channel, size_t channellen,
    uint64_t seq, double time, const char *type, size_t typelen,
    const char *data, size_t datalen, double now)
{
	struct channel	*ch;
	uint64_t	 saved = h->seq;

	if (seq <= h->seq)
		return (-1);
	if ((ch = history_channel(h, channel, channellen)) == NULL)
		return (-1);
	h->seq = seq - 1;
	if (history_publish(h, ch, type, typelen, data, datalen,
	    time) == NULL) {
		h->seq = saved;
		history_release(h, ch);
		return (-1);
	}
	history_trim(h, ch, now);
	return (0);
}

/*
 * After a restore: ids continue after seq, every channel's floor is at
 * least floor (events up to it are gone with their segments), and a
 * cursor in (lost_after, seq) names an id a crashed run may have used
 * without keeping it (HISTORY_LOST).  seq itself is left out: it is the
 * head this run reports, so a client that subscribed after the restart
 * and saw no event yet holds it, while a crashed run reaching the very
 * last id of its reservation is a one-in-JOURNAL_RESERVE case.  A
 * cursor below lost_below (0: none) is lost too: after a machine crash,
 * one before the lost ids would be replayed past them.
 */
void
history_resume(struct history *h, uint64_t seq, uint64_t floor,
    uint64_t lost_after, uint64_t lost_below)
{
	if (seq > h->seq)
		h->seq = seq;
	if (floor > h->freed_floor)
		h->freed_floor = floor;
	if (lost_after + 1 < seq) {
		h->lost_after = lost_after;
		h->lost_upto = seq - 1;
	}
	h->lost_below = lost_below;
}

/*
 * The Redis mirror's insert: stores an event with its own seq (above
 * every seq held; seqs may skip) and time, like history_publish, for the
 * caller to fan out and then trim.  NULL when the seq is not above the
 * head or the frame cannot be made; the head is left alone then.
 */
struct event *
history_insert(struct history *h, struct channel *ch, uint64_t seq,
    double time, const char *type, size_t typelen, const char *data,
    size_t datalen)
{
	struct event	*ev;
	uint64_t	 saved = h->seq;

	if (seq <= h->seq)
		return (NULL);
	h->seq = seq - 1;
	if ((ev = history_publish(h, ch, type, typelen, data, datalen,
	    time)) == NULL)
		h->seq = saved;
	return (ev);
}

/*
 * The Redis mirror starts over: every event held is dropped (not counted
 * as an eviction: nobody asked for it to go), ids are of epoch, the head
 * is seq, and only cursors from seq on are covered (base).  Channels with
 * subscribers stay.
 */
void
history_rebase(struct history *h, uint64_t epoch, uint64_t seq)
{
	struct event	*ev;
	struct channel	*ch;

	while ((ev = TAILQ_FIRST(&h->fifo)) != NULL) {
		ch = ev->channel;
		if (channel_pop(ch) != ev)
			abort();
		history_unlink(h, ev);
		history_release_channel(h, ch);
	}
	h->epoch = epoch;
	h->seq = seq;
	h->base = seq;
}

/* The seq of the oldest event held, the next seq when none is held. */
uint64_t
history_oldest_held(const struct history *h)
{
	const struct event	*ev = TAILQ_FIRST(&h->fifo);

	return (ev != NULL ? ev->seq : h->seq + 1);
}

/* Drops events older than max_age seconds before now. */
void
history_expire(struct history *h, double now)
{
	struct event	*ev;
	double		 cutoff = now - h->lim.max_age;

	while ((ev = TAILQ_FIRST(&h->fifo)) != NULL && ev->time <= cutoff)
		history_drop(h, ev, &h->evict_age);
}

/*
 * Brings the history back within its bounds after a publish on ch: the
 * channel's count, then age, then memory.  ch may be freed.
 */
void
history_trim(struct history *h, struct channel *ch, double now)
{
	struct event	*ev;

	while (ch != NULL && ch->rcount > h->lim.max_events) {
		if (history_drop(h, channel_oldest(ch), &h->evict_count))
			ch = NULL;
	}
	history_expire(h, now);
	while (h->nbytes > h->lim.max_memory &&
	    (ev = TAILQ_FIRST(&h->fifo)) != NULL)
		history_drop(h, ev, &h->evict_memory);
}

/*
 * The seq a time cursor "@<unix ms>" stands for: that of the newest held
 * event published before that time, so that every event published at or
 * after it is replayed; 0 (the start of the run) when every held event is
 * that recent, as the times of events no longer held are not known: the
 * floor check then says "pruned" if a channel lost any.  -1 when id is
 * not of that form.  A responder sends one for a
 * stream that came while it knew no id of the run (upstream.c); events
 * carry their publish time, so no id is needed.  Walks back from the
 * newest event: as many steps as events published since that time.
 */
static int
history_cursor_time(const struct history *h, const char *id, size_t idlen,
    uint64_t *seq)
{
	const struct event	*ev;
	uint64_t		 ms = 0;
	size_t			 i;
	double			 t;

	if (idlen < 2 || idlen > 1 + 15 || id[0] != HISTORY_TIME_CURSOR)
		return (-1);
	for (i = 1; i < idlen; i++) {
		if (id[i] < '0' || id[i] > '9')
			return (-1);
		ms = ms * 10 + (uint64_t)(id[i] - '0');
	}
	t = (double)ms / 1000;
	*seq = 0;
	TAILQ_FOREACH_REVERSE(ev, &h->fifo, event_list, entry) {
		if (ev->time < t) {
			*seq = ev->seq;
			break;
		}
	}
	return (0);
}

/*
 * Checks a client's last id against channels chs[0..n): HISTORY_OK and
 * *after set to its seq when every event after it on those channels is
 * still held, else the reason for a reset.  A time cursor (see
 * history_cursor_time) is taken as the id it stands for.
 */
int
history_cursor(struct history *h, const char *id, size_t idlen,
    struct channel *const *chs, size_t n, uint64_t *after)
{
	struct eventid	 eid;
	size_t		 i;

	if (history_cursor_time(h, id, idlen, &eid.seq) == 0)
		eid.epoch = h->epoch;
	else if (eventid_parse(id, idlen, &eid) == -1)
		return (HISTORY_MALFORMED);
	if (eid.epoch != h->epoch)
		return (HISTORY_EPOCH);
	if (eid.seq > h->seq)
		return (HISTORY_MALFORMED);
	if (eid.seq < h->lost_below ||
	    (eid.seq > h->lost_after && eid.seq <= h->lost_upto))
		return (HISTORY_LOST);
	if (eid.seq < h->base)
		return (HISTORY_PRUNED);
	for (i = 0; i < n; i++)
		if (eid.seq < chs[i]->floor)
			return (HISTORY_PRUNED);
	*after = eid.seq;
	return (HISTORY_OK);
}

/* The seq of the oldest event held on chs[0..n), 0 when none. */
uint64_t
history_oldest(struct history *h, struct channel *const *chs, size_t n)
{
	struct event	*ev;
	uint64_t	 oldest = 0;
	size_t		 i;

	(void)h;
	for (i = 0; i < n; i++) {
		ev = channel_oldest(chs[i]);
		if (ev != NULL && (oldest == 0 || ev->seq < oldest))
			oldest = ev->seq;
	}
	return (oldest);
}

/* A k-way merge cursor: the next event of one channel. */
struct history_head {
	const struct channel	*ch;
	size_t			 pos;
	uint64_t		 seq;
};

/* Restores the min-heap property downwards from slot i. */
static void
history_sift(struct history_head *heap, size_t n, size_t i)
{
	struct history_head	 tmp;
	size_t			 l, m;

	for (;;) {
		l = 2 * i + 1;
		if (l >= n)
			break;
		m = l;
		if (l + 1 < n && heap[l + 1].seq < heap[l].seq)
			m = l + 1;
		if (heap[i].seq <= heap[m].seq)
			break;
		tmp = heap[i];
		heap[i] = heap[m];
		heap[m] = tmp;
		i = m;
	}
}

/*
 * Calls cb for every event on the distinct channels chs[0..n) with seq >
 * after, in seq order, and returns how many.  Each channel's start is a
 * binary search; the tails are merged with a heap of at most
 * HISTORY_MERGE_MAX heads (callers pass no more channels than that).
 */
size_t
history_replay(struct history *h, struct channel *const *chs, size_t n,
    uint64_t after, void (*cb)(struct event *, void *), void *arg)
{
	struct history_head	 heap[HISTORY_MERGE_MAX];
	struct history_head	*top;
	size_t			 i, k, count = 0;

	(void)h;
	if (n > HISTORY_MERGE_MAX)
		abort();
	k = 0;
	for (i = 0; i < n; i++) {
		heap[k].ch = chs[i];
		heap[k].pos = channel_after(chs[i], after);
		if (heap[k].pos < chs[i]->rcount) {
			heap[k].seq = channel_at(chs[i], heap[k].pos)->seq;
			k++;
		}
	}
	for (i = k; i-- > 0;)
		history_sift(heap, k, i);
	while (k > 0) {
		top = &heap[0];
		cb(channel_at(top->ch, top->pos), arg);
		count++;
		if (++top->pos < top->ch->rcount)
			top->seq = channel_at(top->ch, top->pos)->seq;
		else
			heap[0] = heap[--k];
		history_sift(heap, k, 0);
	}
	return (count);
}

/*
 * The frame bytes history_replay would pass to its callback for the same
 * channels and cursor: what the replay would queue.
 */
size_t
history_replay_size(const struct history *h, struct channel *const *chs,
    size_t n, uint64_t after)
{
	size_t	 i, k, size = 0;

	(void)h;
	for (i = 0; i < n; i++)
		for (k = channel_after(chs[i], after); k < chs[i]->rcount; k++)
			size += channel_at(chs[i], k)->len;
	return (size);
}

/* Formats the id of seq in this run ("<epoch>-0" for before any event). */
size_t
history_format_id(const struct history *h, uint64_t seq, char *buf,
    size_t size)
{
	return (eventid_format(buf, size, h->epoch, seq));
}

const char *
history_cursor_reason(int r)
{
	switch (r) {
	case HISTORY_PRUNED:
		return (PROTO_RESET_PRUNED);
	case HISTORY_EPOCH:
		return (PROTO_RESET_EPOCH);
	case HISTORY_MALFORMED:
		return (PROTO_RESET_MALFORMED);
	case HISTORY_LOST:
		return (PROTO_RESET_LOST);
	}
	return ("ok");
}
