/* SPDX-License-Identifier: ISC */
/*
 * broker/streams.c: totals per channel and broker-wide as peers report,
 * replace (full) and forget (close) their counts; the bounds (channels
 * per peer, count size, names) refuse entries and count them; a random
 * sequence of reports always leaves the totals equal to the sum of what
 * each peer last said.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "streams.h"
#include "tap.h"

#define NPEERS	4
#define NCHANS	12

static msgpack_object_kv kv[64];
static uint32_t	 nkv;

static void
add(const char *name, uint64_t count)
{
	kv[nkv].key.type = MSGPACK_OBJECT_STR;
	kv[nkv].key.via.str.ptr = name;
	kv[nkv].key.via.str.size = (uint32_t)strlen(name);
	kv[nkv].val.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	kv[nkv].val.via.u64 = count;
	nkv++;
}

static int
report(struct streams *st, struct streams_peer **p, int full)
{
	int	r = streams_report(st, p, full, kv, nkv);

	nkv = 0;
	return (r);
}

static uint64_t
ch(const struct streams *st, const char *name)
{
	return (streams_channel(st, name, strlen(name)));
}

static void
test_basic(void)
{
	struct streams		 st;
	struct streams_peer	*a = NULL, *b = NULL;

	ok(streams_init(&st, 3) == 0, "init");
	add("news", 3);
	add("sport", 1);
	is_int(report(&st, &a, 1), 0, "peer a: full report");
	add("news", 2);
	is_int(report(&st, &b, 0), 0, "peer b: one channel");
	is_int(ch(&st, "news"), 5, "news: 3 + 2");
	is_int(ch(&st, "sport"), 1, "sport: 1");
	is_int(st.total, 6, "total 6");
	add("news", 1);
	report(&st, &a, 0);
	is_int(ch(&st, "news"), 3, "absolute, not a delta: a's news now 1");
	add("sport", 0);
	report(&st, &a, 0);
	is_int(ch(&st, "sport"), 0, "0 removes");
	add("weather", 4);
	report(&st, &a, 1);
	is_int(ch(&st, "news"), 2, "full: a's news gone, b's stays");
	is_int(ch(&st, "weather"), 4, "full: weather there");
	is_int(st.total, 6, "total 6 after the full report");
	streams_peer_free(&st, a);
	is_int(ch(&st, "weather"), 0, "closed peer forgotten");
	is_int(st.total, 2, "total: b's 2 left");

	/* Bounds. */
	add("c1", 1);
	add("c2", 1);
	add("c3", 1);
	is_int(report(&st, &b, 0), 1, "past 3 channels per peer: refused");
	is_int(st.refusals, 1, "refusal counted");
	add("news", 7);
	is_int(report(&st, &b, 0), 0, "a known channel can still change");
	add("bad name", 1);
	add("big", STREAMS_MAX_COUNT + 1);
	is_int(report(&st, &b, 1), 2, "bad name and huge count refused");
	kv[0].key.type = MSGPACK_OBJECT_NIL;
	kv[0].val.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	nkv = 1;
	is_int(report(&st, &b, 0), 1, "non-string key refused");
	is_int(st.total, 0, "full report of nothing valid: 0");
	streams_peer_free(&st, b);
	streams_peer_free(&st, NULL);
	is_int(st.chans.count, 0, "no channel left");
	streams_free(&st);
}

static void
test_random(void)
{
	struct streams		 st;
	struct streams_peer	*p[NPEERS] = { NULL };
	static char		 names[NCHANS][8];
	uint64_t		 said[NPEERS][NCHANS], want;
	int			 i, j, k, round, good = 1;

	memset(said, 0, sizeof(said));
	for (j = 0; j < NCHANS; j++)
		snprintf(names[j], sizeof(names[j]), "ch%d", j);
	streams_init(&st, NCHANS);
	srand(7);
	for (round = 0; round < 20000; round++) {
		i = rand() % NPEERS;
		if (rand() % 50 == 0) {
			streams_peer_free(&st, p[i]);
			p[i] = NULL;
			memset(said[i], 0, sizeof(said[i]));
			continue;
		}
		if (rand() % 10 == 0) {
			memset(said[i], 0, sizeof(said[i]));
			for (k = rand() % 4; k > 0; k--) {
				j = rand() % NCHANS;
				said[i][j] = (uint64_t)(rand() % 5);
				add(names[j], said[i][j]);
			}
			report(&st, &p[i], 1);
		} else {
			for (k = 1 + rand() % 3; k > 0; k--) {
				j = rand() % NCHANS;
				said[i][j] = (uint64_t)(rand() % 5);
				add(names[j], said[i][j]);
			}
			report(&st, &p[i], 0);
		}
		want = 0;
		for (j = 0; j < NCHANS; j++) {
			uint64_t c = 0;

			for (k = 0; k < NPEERS; k++)
				c += said[k][j];
			want += c;
			if (ch(&st, names[j]) != c)
				good = 0;
		}
		if (st.total != want)
			good = 0;
	}
	ok(good, "20000 random reports, fulls and closes: totals always "
	    "the sum of what each peer last said");
	for (i = 0; i < NPEERS; i++)
		streams_peer_free(&st, p[i]);
	ok(st.total == 0 && st.chans.count == 0, "all gone at the end");
	streams_free(&st);
}

int
main(void)
{
	test_basic();
	test_random();
	tap_done();
	return (tap_exit_status());
}
