/* SPDX-License-Identifier: ISC */
/*
 * broker/history.c and channel.c: ids, pruning by count, age and memory,
 * channel lifetime and floors, replay from every cursor, reset cases.
 * Time is injected; no sockets.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "event.h"
#include "eventid.h"
#include "history.h"
#include "proto.h"
#include "stats.h"
#include "streams.h"
#include "tap.h"

#define EPOCH	1234567890123ULL

static struct history_limits	 lim_default = { 1200, 1000, 256 << 20 };

/* Publishes one event "d<seq>" on the named channel at time now. */
static struct event *
pub(struct history *h, const char *name, double now)
{
	struct channel	*ch;
	struct event	*ev;
	char		 data[32];

	ch = history_channel(h, name, strlen(name));
	if (ch == NULL)
		return (NULL);
	snprintf(data, sizeof(data), "d%llu", (unsigned long long)h->seq + 1);
	ev = history_publish(h, ch, "message", 7, data, strlen(data), now);
	if (ev == NULL) {
		history_release(h, ch);
		return (NULL);
	}
	history_trim(h, ch, now);
	return (ev);
}

static uint64_t
seq_of(struct history *h, const char *name, size_t i)
{
	struct channel	*ch = channel_find(&h->channels, name, strlen(name));

	return (ch != NULL && i < ch->rcount ? channel_at(ch, i)->seq : 0);
}

/*
 * One cursor check: id (NULL: the id of seq in this run) against the
 * channels chs[first .. first + n), answered want and, when after is not
 * -1, that replay point.
 */
struct cursor_case {
	const char	*id;
	uint64_t	 seq;
	size_t		 first;
	size_t		 n;
	int		 want;
	long long	 after;
	const char	*what;
};

static void
check_cursors(struct history *h, struct channel **chs,
    const struct cursor_case *cases, size_t ncases)
{
	const struct cursor_case	*c;
	char				 buf[EVENTID_MAX];
	const char			*id;
	uint64_t			 after;
	size_t				 i, idlen;

	for (i = 0; i < ncases; i++) {
		c = &cases[i];
		if ((id = c->id) != NULL)
			idlen = strlen(id);
		else {
			idlen = history_format_id(h, c->seq, buf, sizeof(buf));
			id = buf;
		}
		after = UINT64_MAX;
		is_int(history_cursor(h, id, idlen, chs + c->first, c->n,
		    &after), c->want, "%s", c->what);
		if (c->after != -1)
			is_int((long long)after, c->after,
			    "%s: replay after %lld", c->what, c->after);
	}
}

static void
test_ids(void)
{
	struct history	 h;
	struct event	*ev;
	struct proto_msg msg;
	struct eventid	 id;
	char		 err[128], s[EVENTID_MAX];
	size_t		 used;
	uint64_t	 last = 0;
	int		 i, good = 1;

	history_init(&h, EPOCH, &lim_default);
	for (i = 0; i < 100; i++) {
		ev = pub(&h, i % 2 ? "odd" : "even", 1.0);
		if (ev == NULL || ev->seq <= last)
			good = 0;
		last = ev->seq;
	}
	ok(good, "100 seqs strictly increasing across channels");
	is_int(h.seq, 100, "last seq is 100");
	is_int(h.nevents, 100, "100 events held");
	is_int(h.channels.names.count, 2, "two channels");

	ev = channel_at(channel_find(&h.channels, "odd", 3), 0);
	is_int(proto_decode(ev->frame, ev->len, 0, &msg, &used, err,
	    sizeof(err)), PROTO_OK, "stored frame decodes");
	is_int(used, ev->len, "frame is exactly one frame");
	is_int(msg.type, PROTO_EVENT, "it is an EVENT");
	tap_is_mem(msg.u.event.channel.ptr, msg.u.event.channel.len, "odd", 3,
	    "channel");
	ok(eventid_parse(msg.u.event.id.ptr, msg.u.event.id.len, &id) == 0 &&
	    id.epoch == EPOCH && id.seq == 2, "id is <epoch>-2");
	tap_is_mem(msg.u.event.type.ptr, msg.u.event.type.len, "message", 7,
	    "type");
	tap_is_mem(msg.u.event.data.ptr, msg.u.event.data.len, "d2", 2, "data");
	proto_msg_free(&msg);

	history_format_id(&h, 0, s, sizeof(s));
	ok(eventid_parse(s, strlen(s), &id) == 0 && id.epoch == EPOCH &&
	    id.seq == 0, "head id before any event is <epoch>-0");
	history_free(&h);
}

static void
test_count(void)
{
	struct history		 h;
	struct history_limits	 lim = { 1200, 3, 256 << 20 };
	struct channel		*a;
	int			 i;

	history_init(&h, EPOCH, &lim);
	for (i = 0; i < 5; i++)
		pub(&h, "a", 1.0);
	pub(&h, "b", 1.0);
	a = channel_find(&h.channels, "a", 1);
	is_int(a->rcount, 3, "count: channel keeps 3 of 5");
	is_int(seq_of(&h, "a", 0), 3, "count: oldest kept is seq 3");
	is_int(a->floor, 2, "count: floor is the last seq lost");
	is_int(h.evict_count, 2, "count: 2 counted evictions");
	is_int(h.evictions, 2, "count: total evictions");
	is_int(h.nevents, 4, "count: 4 events held in all");
	is_int(channel_find(&h.channels, "b", 1)->floor, 0,
	    "count: other channel untouched");
	history_free(&h);

	/* max_events 0: no history at all, yet the channel's floor moves. */
	lim.max_events = 0;
	history_init(&h, EPOCH, &lim);
	pub(&h, "a", 1.0);
	is_int(h.nevents, 0, "count 0: nothing kept");
	is_int(h.channels.names.count, 0, "count 0: idle channel freed");
	is_int(h.freed_floor, 1, "count 0: freed floor remembered");
	history_free(&h);
}

static void
test_age(void)
{
	struct history		 h;
	struct history_limits	 lim = { 10, 1000, 256 << 20 };
	struct sub_list		 subs;
	struct channel		*ch;
	int			 dummy;

	TAILQ_INIT(&subs);
	history_init(&h, EPOCH, &lim);
	pub(&h, "a", 0);
	pub(&h, "b", 5);
	pub(&h, "a", 9);
	is_int(h.nevents, 3, "age: all young");
	ch = history_channel(&h, "b", 1);
	channel_subscribe(ch, (struct conn *)&dummy, &subs);
	pub(&h, "a", 12);	/* cutoff 2: seq 1 goes */
	is_int(h.nevents, 3, "age: publish pruned the expired");
	is_int(seq_of(&h, "a", 0), 3, "age: oldest of a is seq 3");
	is_int(h.evict_age, 1, "age: counted");
	history_expire(&h, 15);	/* cutoff 5: seq 2 (t=5) goes, inclusive */
	is_int(h.nevents, 2, "age: timer pruned t <= now - max_age");
	ch = channel_find(&h.channels, "b", 1);
	ok(ch != NULL && ch->rcount == 0 && ch->floor == 2,
	    "age: subscribed channel kept, empty, floor 2");
	history_expire(&h, 100);
	is_int(h.nevents, 0, "age: everything expired");
	is_int(h.channels.names.count, 1, "age: only the subscribed channel left");
	is_int(h.freed_floor, 4, "age: freed floor from channel a");
	channel_unsubscribe(TAILQ_FIRST(&subs), &subs);
	history_release(&h, ch);
	is_int(h.channels.names.count, 0, "age: unsubscribed idle channel freed");
	is_int(h.evictions, 4, "age: 4 evictions");
	history_free(&h);
}

/* A channel's ring shrinks as it empties and keeps its order. */
static void
test_ring(void)
{
	struct history	 h;
	struct channel	*ch;
	size_t		 i;
	int		 good = 1;

	history_init(&h, EPOCH, &lim_default);
	for (i = 0; i < 100; i++)
		pub(&h, "ring", (double)i);
	ch = channel_find(&h.channels, "ring", 4);
	is_int(ch->rcap, 128, "ring: grew to 128 slots");
	history_expire(&h, 1200 + 94.0);	/* keeps t 95..99 */
	is_int(ch->rcount, 5, "ring: 5 events left");
	ok(ch->rcap <= 32, "ring: shrank to %zu slots", ch->rcap);
	for (i = 0; i < ch->rcount; i++)
		if (channel_at(ch, i)->seq != 96 + i)
			good = 0;
	ok(good, "ring: order kept through the shrinking");
	is_int(channel_after(ch, 97), 2, "ring: binary search after shrinking");
	for (i = 0; i < 50; i++)
		pub(&h, "ring", 1250);
	is_int(ch->rcount, 55, "ring: grows again");
	is_int(channel_at(ch, 54)->seq, 150, "ring: newest last");
	history_free(&h);
}

static void
test_memory(void)
{
	struct history		 h;
	struct history_limits	 lim = { 1200, 1000, 0 };
	struct event		*ev;
	size_t			 one;
	int			 i;

	history_init(&h, EPOCH, &lim);
	ev = pub(&h, "x", 1);	/* alone over the bound: dropped at trim */
	is_int(h.nevents, 0, "memory: event over the cap not kept");
	is_int(h.evict_memory, 1, "memory: counted");
	history_free(&h);

	history_init(&h, EPOCH, &lim_default);
	ev = pub(&h, "a", 1);
	one = event_size(ev);
	history_free(&h);

	lim.max_memory = 3 * one;
	history_init(&h, EPOCH, &lim);
	for (i = 0; i < 3; i++) {
		pub(&h, "a", 1);
		pub(&h, "b", 1);
	}
	is_int(h.nevents, 3, "memory: 3 events fit");
	ok(h.nbytes <= lim.max_memory, "memory: bytes within the cap");
	is_int(h.nbytes, 3 * one, "memory: bytes counted");
	is_int(h.evict_memory, 3, "memory: 3 evicted");
	is_int(seq_of(&h, "b", 0), 4, "memory: globally oldest went first");
	is_int(seq_of(&h, "a", 0), 5, "memory: a keeps seq 5");
	is_int(channel_find(&h.channels, "a", 1)->floor, 3, "memory: a floor 3");
	is_int(channel_find(&h.channels, "b", 1)->floor, 2, "memory: b floor 2");
	for (i = 0; i < 3; i++)
		pub(&h, "c", 2);
	is_int(h.channels.names.count, 1, "memory: emptied channels freed");
	is_int(h.freed_floor, 6, "memory: freed floor is the max");
	history_free(&h);
}

/* Replay collection. */
struct collect {
	uint64_t	 seqs[4096];
	size_t		 n;
	size_t		 bytes;		/* frame bytes passed */
};

static void
collect_cb(struct event *ev, void *arg)
{
	struct collect	*c = arg;

	if (c->n < 4096)
		c->seqs[c->n++] = ev->seq;
	c->bytes += ev->len;
}

/* What a replay must give: every held seq > after on those channels. */
static size_t
brute(struct history *h, struct channel **chs, size_t n, uint64_t after,
    uint64_t *out)
{
	struct event	*ev;
	size_t		 i, k = 0;

	TAILQ_FOREACH(ev, &h->fifo, entry) {
		if (ev->seq <= after)
			continue;
		for (i = 0; i < n; i++)
			if (ev->channel == chs[i])
				out[k++] = ev->seq;
	}
	return (k);
}

static void
test_replay(void)
{
	static const char *names[] = { "r0", "r1", "r2", "r3" };
	struct history		 h;
	struct history_limits	 lim = { 1200, 40, 256 << 20 };
	struct channel		*chs[4];
	struct sub_list		 subs;
	struct collect		 c;
	uint64_t		 want[4096], s, flr, after;
	char			 id[EVENTID_MAX];
	size_t			 n, i, k, nw, idlen, sets = 0;
	int			 dummy, r, mask, bad_replay = 0, bad_cursor = 0;
	int			 bad_size = 0;

	TAILQ_INIT(&subs);
	history_init(&h, EPOCH, &lim);
	srandom(42);
	for (i = 0; i < 4; i++) {
		chs[i] = history_channel(&h, names[i], 2);
		channel_subscribe(chs[i], (struct conn *)&dummy, &subs);
	}
	/* Skewed rates so that channels prune at different points. */
	for (i = 0; i < 300; i++) {
		r = random() % 10;
		pub(&h, names[r < 5 ? 0 : r < 8 ? 1 : r < 9 ? 2 : 3], 1);
	}
	ok(h.evict_count > 0, "replay: some events were pruned");

	for (mask = 1; mask < 16; mask++) {
		struct channel	*set[4];

		n = 0;
		for (i = 0; i < 4; i++)
			if (mask & (1 << i))
				set[n++] = chs[i];
		for (s = 0; s <= h.seq; s++) {
			idlen = history_format_id(&h, s, id, sizeof(id));
			flr = 0;
			for (i = 0; i < n; i++)
				if (set[i]->floor > flr)
					flr = set[i]->floor;
			r = history_cursor(&h, id, idlen, set, n, &after);
			if ((s >= flr) != (r == HISTORY_OK))
				bad_cursor++;
			if (r != HISTORY_OK) {
				if (r != HISTORY_PRUNED)
					bad_cursor++;
				continue;
			}
			c.n = 0;
			c.bytes = 0;
			k = history_replay(&h, set, n, after, collect_cb, &c);
			nw = brute(&h, set, n, s, want);
			if (k != nw || c.n != nw ||
			    memcmp(c.seqs, want, nw * sizeof(*want)) != 0)
				bad_replay++;
			if (history_replay_size(&h, set, n, after) != c.bytes)
				bad_size++;
			sets++;
		}
	}
	ok(sets > 300, "replay: %zu honoured cursors checked", sets);
	is_int(bad_cursor, 0, "replay: cursor accepted iff seq >= every floor");
	is_int(bad_replay, 0, "replay: merged lists exact for every cursor");
	is_int(bad_size, 0, "replay: history_replay_size is what the replay "
	    "passes, for every cursor");

	c.n = 0;
	is_int(history_replay(&h, chs, 4, h.seq, collect_cb, &c), 0,
	    "replay: nothing after the head");

	while (!TAILQ_EMPTY(&subs))
		channel_unsubscribe(TAILQ_FIRST(&subs), &subs);
	history_free(&h);
}

static void
test_reset(void)
{
	struct history		 h;
	struct history_limits	 lim = { 1200, 2, 256 << 20 };
	struct channel		*ch[2];
	char			 other[EVENTID_MAX];
	int			 i;
	const struct cursor_case held[] = {
		{ NULL, 2, 0, 2, HISTORY_OK, 2, "reset: seq == floor is fine" },
		{ NULL, 1, 0, 2, HISTORY_PRUNED, -1,
		    "reset: seq below a floor is pruned" },
		{ NULL, 1, 1, 1, HISTORY_OK, 1,
		    "reset: the other channel alone is fine" },
		{ NULL, 6, 0, 2, HISTORY_MALFORMED, -1,
		    "reset: id ahead of the head is malformed" },
		{ other, 0, 0, 2, HISTORY_EPOCH, -1, "reset: other epoch" },
		{ "garbage", 0, 0, 2, HISTORY_MALFORMED, -1,
		    "reset: garbage is malformed" },
		{ "", 0, 0, 2, HISTORY_MALFORMED, -1,
		    "reset: empty id is malformed" },
	};
	const struct cursor_case freed[] = {
		{ NULL, 4, 0, 1, HISTORY_PRUNED, -1,
		    "reset: older cursor on a new channel is pruned" },
		{ NULL, 5, 0, 1, HISTORY_OK, 5,
		    "reset: head cursor on a new channel is fine" },
	};

	history_init(&h, EPOCH, &lim);
	for (i = 0; i < 4; i++)
		pub(&h, "p", 1);	/* keeps 3, 4; floor 2 */
	pub(&h, "q", 1);		/* 5 */
	ch[0] = history_channel(&h, "p", 1);
	ch[1] = history_channel(&h, "q", 1);

	eventid_format(other, sizeof(other), EPOCH + 1, 1);
	check_cursors(&h, ch, held, sizeof(held) / sizeof(held[0]));
	is_int(history_oldest(&h, ch, 2), 3, "reset: oldest held is 3");
	is_int(history_oldest(&h, ch + 1, 1), 5, "reset: oldest of q is 5");
	is_str(history_cursor_reason(HISTORY_PRUNED), "pruned", "reason name");

	/* A freed channel makes every new channel start at its floor. */
	lim.max_age = 10;
	h.lim = lim;
	history_expire(&h, 100);
	is_int(h.channels.names.count, 0, "reset: all channels freed");
	is_int(h.freed_floor, 5, "reset: freed floor is 5");
	ch[0] = history_channel(&h, "new", 3);
	is_int(ch[0]->floor, 5, "reset: new channel starts at the freed floor");
	check_cursors(&h, ch, freed, sizeof(freed) / sizeof(freed[0]));
	is_int(history_oldest(&h, ch, 1), 0, "reset: no oldest on empty");
	history_release(&h, ch[0]);
	history_free(&h);
}

/* STATS_REPLY carries every counter the protocol promises. */
static void
test_stats(void)
{
	static const char *need[] = { "connections", "channels",
	    "subscribers", "events_published", "events_delivered", "replays",
	    "resets", "evictions", "slow_consumer_drops", "history_events",
	    "history_bytes", "max_memory", "uptime_seconds", "input_bytes",
	    "replay_bytes", "input_timeouts", "input_drops",
	    "channel_refusals", "subscription_refusals", "replay_refusals",
	    "max_input", "max_channels", "max_subscriptions",
	    "input_timeout" };
	struct history	 h;
	struct stats	 st;
	struct buf	 b;
	struct proto_msg msg;
	char		 err[128];
	size_t		 used, i;
	uint32_t	 j;
	int		 found, missing = 0;
	uint64_t	 events = 0, uptime = 0;
	struct streams	 streams;

	memset(&st, 0, sizeof(st));
	st.start = 100;
	history_init(&h, EPOCH, &lim_default);
	pub(&h, "s", 1);
	pub(&h, "s", 1);
	buf_init(&b, 0);
	streams_init(&streams, 10);
	ok(stats_reply(&b, 7, &st, &h, &streams, 142.5) == 0,
	    "stats: reply encodes");
	streams_free(&streams);
	is_int(proto_decode(buf_head(&b), buf_used(&b), 0, &msg, &used, err,
	    sizeof(err)), PROTO_OK, "stats: reply decodes");
	is_int(msg.type, PROTO_STATS_REPLY, "stats: STATS_REPLY");
	is_int(msg.ref, 7, "stats: ref echoed");
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		found = 0;
		for (j = 0; j < msg.u.stats.n; j++) {
			const msgpack_object *k = &msg.u.stats.kv[j].key;

			if (k->via.str.size == strlen(need[i]) &&
			    memcmp(k->via.str.ptr, need[i], k->via.str.size) == 0)
				found = 1;
			if (k->via.str.size == 14 &&
			    memcmp(k->via.str.ptr, "history_events", 14) == 0)
				events = msg.u.stats.kv[j].val.via.u64;
			if (k->via.str.size == 14 &&
			    memcmp(k->via.str.ptr, "uptime_seconds", 14) == 0)
				uptime = msg.u.stats.kv[j].val.via.u64;
		}
		if (!found) {
			tap_diag("missing %s", need[i]);
			missing++;
		}
	}
	is_int(missing, 0, "stats: every promised counter present");
	is_int(events, 2, "stats: history_events from the history");
	is_int(uptime, 42, "stats: uptime in whole seconds");
	proto_msg_free(&msg);
	buf_free(&b);
	history_free(&h);
}

/*
 * What the store needs: a refused publish taken back, events restored
 * with their own ids and times under the bounds, and the ids a crashed
 * run may have used reset as lost.
 */
static void
test_store(void)
{
	struct history	 h;
	struct channel	*ch, *chs[1];
	struct event	*ev, *ev2;
	uint64_t	 after;
	char		 id[EVENTID_MAX];
	size_t		 len;

	history_init(&h, EPOCH, &lim_default);
	pub(&h, "a", 1);
	ch = history_channel(&h, "b", 1);
	ev = history_publish(&h, ch, "message", 7, "x", 1, 2);
	event_ref(ev);
	ev2 = history_publish(&h, ch, "message", 7, "y", 1, 2);
	event_ref(ev2);
	history_unpublish(&h, ev2);
	history_unpublish(&h, ev);
	tap_ok(h.nevents == 1 && channel_find(&h.channels, "b", 1) == NULL,
	    "unpublish: the newest events go, newest first, and their "
	    "channel with them");
	tap_ok(ev->channel == NULL && ev->refcnt == 1, "unpublish: the "
	    "history's reference is dropped");
	event_unref(ev);
	event_unref(ev2);
	ev = pub(&h, "a", 3);
	tap_ok(ev != NULL && ev->seq == 4, "unpublish: the ids stay used");
	history_free(&h);

	history_init(&h, EPOCH, &lim_default);
	h.lim.max_events = 2;
	tap_ok(history_restore(&h, "c", 1, 10, 100, "message", 7, "a", 1,
	    1000) == 0 && history_restore(&h, "c", 1, 12, 101, "message", 7,
	    "b", 1, 1000) == 0 && history_restore(&h, "c", 1, 15, 102,
	    "message", 7, "c", 1, 1000) == 0, "restore: events with their "
	    "own ids");
	tap_ok(history_restore(&h, "c", 1, 15, 103, "message", 7, "d", 1,
	    1000) == -1, "restore: an id not above the head is refused");
	tap_ok(seq_of(&h, "c", 0) == 12 && seq_of(&h, "c", 1) == 15 &&
	    h.nevents == 2 && h.evict_count == 1, "restore: the count bound "
	    "applies");
	ch = channel_find(&h.channels, "c", 1);
	tap_ok(ch != NULL && ch->floor == 10, "restore: the floor rises");
	tap_ok(channel_oldest(ch)->time == 101, "restore: times are kept");
	history_resume(&h, 100, 8, 15, 0);
	chs[0] = history_channel(&h, "e", 1);
	tap_ok(chs[0]->floor >= 8, "resume: a new channel starts at the "
	    "journal's floor");
	ev = pub(&h, "c", 1001);
	tap_ok(ev->seq == 101, "resume: ids continue after the reserved ones");
	chs[0] = ch;
	len = history_format_id(&h, 50, id, sizeof(id));
	tap_ok(history_cursor(&h, id, len, chs, 1, &after) == HISTORY_LOST,
	    "resume: a cursor among the reserved ids is lost");
	tap_is_str(history_cursor_reason(HISTORY_LOST), "lost",
	    "its reset reason");
	len = history_format_id(&h, 99, id, sizeof(id));
	tap_ok(history_cursor(&h, id, len, chs, 1, &after) == HISTORY_LOST,
	    "resume: up to the one before the head");
	len = history_format_id(&h, 100, id, sizeof(id));
	tap_ok(history_cursor(&h, id, len, chs, 1, &after) == HISTORY_OK,
	    "resume: the head itself is not lost (clients of this run hold "
	    "it)");
	len = history_format_id(&h, 15, id, sizeof(id));
	tap_ok(history_cursor(&h, id, len, chs, 1, &after) == HISTORY_OK &&
	    after == 15, "resume: the last id kept is not lost");
	len = history_format_id(&h, 101, id, sizeof(id));
	tap_ok(history_cursor(&h, id, len, chs, 1, &after) == HISTORY_OK,
	    "resume: a new id is not lost");
	history_resume(&h, 100, 8, 15, 100);
	len = history_format_id(&h, 15, id, sizeof(id));
	tap_ok(history_cursor(&h, id, len, chs, 1, &after) == HISTORY_LOST,
	    "machine crash: a cursor at a kept id, before the lost ones, is "
	    "lost too");
	len = history_format_id(&h, 100, id, sizeof(id));
	tap_ok(history_cursor(&h, id, len, chs, 1, &after) == HISTORY_OK,
	    "machine crash: the head is not");
	len = history_format_id(&h, 101, id, sizeof(id));
	tap_ok(history_cursor(&h, id, len, chs, 1, &after) == HISTORY_OK &&
	    after == 101, "machine crash: nor a new id");
	tap_ok(history_oldest_held(&h) == 15, "the oldest held event");
	history_free(&h);

	history_init(&h, EPOCH, &lim_default);
	history_restore(&h, "d", 1, 16, 1, "message", 7, "old", 3, 5000);
	tap_ok(channel_find(&h.channels, "d", 1) == NULL && h.evict_age == 1 &&
	    history_oldest_held(&h) == 17, "restore: the age bound applies "
	    "at the time given");
	history_free(&h);
}

/* A time cursor "@<ms>": every event published at or after that time. */
static void
test_time_cursor(void)
{
	struct history		 h;
	struct history_limits	 lim = { 1200, 2, 256 << 20 };
	struct channel		*ch[2];
	static const struct cursor_case empty[] = {
		{ "@5000", 0, 0, 2, HISTORY_OK, 0,
		    "time: nothing held yet, from the head" },
	};
	static const struct cursor_case held[] = {
		{ "@11000", 0, 0, 2, HISTORY_OK, 1,
		    "time: at an event's time, that event is replayed" },
		{ "@11001", 0, 0, 2, HISTORY_OK, 2,
		    "time: just after it, only later events" },
		{ "@99000", 0, 0, 2, HISTORY_OK, 4,
		    "time: after the newest, nothing" },
		{ "@10000", 0, 0, 2, HISTORY_OK, 0,
		    "time: at the oldest, everything" },
	};
	static const struct cursor_case evicted[] = {
		{ "@1", 0, 0, 2, HISTORY_PRUNED, -1,
		    "time: before an evicted event is pruned" },
		{ "@1", 0, 1, 1, HISTORY_OK, 0,
		    "time: the other channel lost nothing, from the start of "
		    "the run" },
		{ "@12000", 0, 0, 2, HISTORY_OK, 2,
		    "time: after the evicted event, from the event before "
		    "that time" },
		{ "@", 0, 0, 2, HISTORY_MALFORMED, -1,
		    "time: no digits is malformed" },
		{ "@12a", 0, 0, 2, HISTORY_MALFORMED, -1,
		    "time: a letter is malformed" },
		{ "@1234567890123456", 0, 0, 2, HISTORY_MALFORMED, -1,
		    "time: too many digits is malformed" },
		{ NULL, 3, 0, 2, HISTORY_OK, 3, "time: ids still work" },
	};

	history_init(&h, EPOCH, &lim);
	ch[0] = history_channel(&h, "p", 1);
	ch[1] = history_channel(&h, "q", 1);
	check_cursors(&h, ch, empty, sizeof(empty) / sizeof(empty[0]));
	pub(&h, "p", 10.0);		/* 1 */
	pub(&h, "q", 11.0);		/* 2 */
	pub(&h, "p", 12.0);		/* 3 */
	pub(&h, "q", 12.5);		/* 4 */
	check_cursors(&h, ch, held, sizeof(held) / sizeof(held[0]));
	pub(&h, "p", 13.0);		/* 5: evicts 1 from p, floor 1 */
	check_cursors(&h, ch, evicted, sizeof(evicted) / sizeof(evicted[0]));
	history_free(&h);
}

int
main(void)
{
	test_ids();
	test_count();
	test_age();
	test_ring();
	test_memory();
	test_replay();
	test_reset();
	test_time_cursor();
	test_stats();
	test_store();
	tap_done();
	return (tap_exit_status());
}
