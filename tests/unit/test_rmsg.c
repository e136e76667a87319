/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the pure parts of the broker's Redis mode (rmsg.c): the
 * pub/sub payload (a batch of events) as Redis's cmsgpack packs it, cut
 * at every byte, with wrong types, broken batches, oversized and random
 * bytes; entry ids and numbers; the live
 * path's decision; the exact "pruned" rule of a replay read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "rmsg.h"
#include "tap.h"

/* What cmsgpack.pack({{1796101366393221, 5, 1796101366393, 3, 'news',
   'message', 'hi'}, {1796101366393221, 6, 1796101366393, 5, 'news',
   'message', 'yo'}}) returned from Redis 7.0.15. */
static const unsigned char redis_payload[] = {
	0x92, 0x97, 0xcf, 0x00, 0x06, 0x61, 0x8b, 0x6f, 0xec, 0xa9, 0x85,
	0x05, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x2f, 0xfb, 0xe2, 0x79, 0x03,
	0xa4, 0x6e, 0x65, 0x77, 0x73, 0xa7, 0x6d, 0x65, 0x73, 0x73, 0x61,
	0x67, 0x65, 0xa2, 0x68, 0x69, 0x97, 0xcf, 0x00, 0x06, 0x61, 0x8b,
	0x6f, 0xec, 0xa9, 0x85, 0x06, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x2f,
	0xfb, 0xe2, 0x79, 0x05, 0xa4, 0x6e, 0x65, 0x77, 0x73, 0xa7, 0x6d,
	0x65, 0x73, 0x73, 0x61, 0x67, 0x65, 0xa2, 0x79, 0x6f
};

/* A fixed pseudo-random sequence (xorshift64), so a failure repeats. */
static uint64_t
next_random(void)
{
	static uint64_t	 x = 88172645463325252ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (x);
}

static int
decodes(const void *p, size_t len)
{
	struct rmsg_batch	 b;

	if (rmsg_decode(p, len, &b) == -1)
		return (0);
	rmsg_free(&b);
	return (1);
}

/*
 * Packs one event [epoch, seq, ms, prev, channel, type, data], one
 * element bent.
 */
static void
pack_event(msgpack_packer *pkp, int bend, uint64_t epoch, uint64_t seq)
{
	msgpack_packer	 pk = *pkp;

	msgpack_pack_array(&pk, bend == 1 ? 6 : bend == 2 ? 8 : 7);
	if (bend == 3)
		msgpack_pack_int64(&pk, -1);
	else
		msgpack_pack_uint64(&pk, epoch);
	if (bend == 4)
		msgpack_pack_uint64(&pk, 0);
	else if (bend == 5)
		msgpack_pack_double(&pk, 5.5);
	else if (bend == 6)
		msgpack_pack_double(&pk, (double)seq);	/* integral: taken */
	else
		msgpack_pack_uint64(&pk, seq);
	msgpack_pack_uint64(&pk, 1796101366393ULL);
	if (bend == 7)
		msgpack_pack_nil(&pk);
	else
		msgpack_pack_uint64(&pk, 3);
	if (bend == 8)
		msgpack_pack_uint64(&pk, 9);
	else {
		msgpack_pack_str(&pk, 4);
		msgpack_pack_str_body(&pk, "news", 4);
	}
	msgpack_pack_bin(&pk, 7);	/* bin is taken for strings */
	msgpack_pack_bin_body(&pk, "message", 7);
	msgpack_pack_str(&pk, 2);
	msgpack_pack_str_body(&pk, "hi", 2);
	if (bend == 2)
		msgpack_pack_nil(&pk);
}

/* A batch of one event, bent as pack_event. */
static void
pack(msgpack_sbuffer *sb, int bend)
{
	msgpack_packer	 pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 1);
	pack_event(&pk, bend, 1796101366393221ULL, 5);
}

/*
 * A batch of n events from seq 5, each seq the one before + step; the
 * last of another epoch when epoch2.
 */
static void
pack_batch(msgpack_sbuffer *sb, size_t n, uint64_t step, int epoch2)
{
	msgpack_packer	 pk;
	size_t		 i;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, n);
	for (i = 0; i < n; i++)
		pack_event(&pk, 0, 1796101366393221ULL +
		    (epoch2 && i == n - 1), 5 + i * step);
}

/* A batch of one event on channel "c" whose data is len bytes of big. */
static void
pack_big(msgpack_sbuffer *sb, const char *big, size_t len)
{
	msgpack_packer	 pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 7);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 0);
	msgpack_pack_str(&pk, 1);
	msgpack_pack_str_body(&pk, "c", 1);
	msgpack_pack_str(&pk, 0);
	msgpack_pack_str(&pk, len);
	msgpack_pack_str_body(&pk, big, len);
}

int
main(void)
{
	struct rmsg_batch	 b;
	struct rmsg_event	 ev;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	char			*big;
	unsigned char		 junk[128], two[2 * sizeof(redis_payload)];
	uint64_t		 v;
	size_t			 i, k;
	int			 all, any;

	/* The payload as Redis packs it. */
	ok(rmsg_decode((const char *)redis_payload, sizeof(redis_payload),
	    &b) == 0, "Redis's cmsgpack payload decodes");
	is_int((long long)b.n, 2, "two events");
	is_int((long long)b.epoch, 1796101366393221LL, "the batch's epoch");
	is_int((long long)b.first, 5, "the batch's first seq");
	rmsg_event_at(&b, 0, &ev);
	is_int((long long)ev.epoch, 1796101366393221LL, "epoch");
	is_int((long long)ev.seq, 5, "seq");
	is_int((long long)ev.ms, 1796101366393LL, "ms");
	is_int((long long)ev.prev, 3, "prev");
	ok(ev.channellen == 4 && memcmp(ev.channel, "news", 4) == 0,
	    "channel");
	ok(ev.typelen == 7 && memcmp(ev.type, "message", 7) == 0, "type");
	ok(ev.datalen == 2 && memcmp(ev.data, "hi", 2) == 0, "data");
	rmsg_event_at(&b, 1, &ev);
	ok(ev.seq == 6 && ev.prev == 5 && ev.datalen == 2 &&
	    memcmp(ev.data, "yo", 2) == 0, "the second event");
	rmsg_free(&b);

	all = 1;
	for (i = 0; i < sizeof(redis_payload); i++)
		if (decodes(redis_payload, i))
			all = 0;
	ok(all, "refused when cut at each of its %zu bytes",
	    sizeof(redis_payload));
	memcpy(two, redis_payload, sizeof(redis_payload));
	memcpy(two + sizeof(redis_payload), redis_payload,
	    sizeof(redis_payload));
	ok(!decodes(two, sizeof(two)), "refused: two payloads in one");

	pack(&sb, 0);
	ok(decodes(sb.data, sb.size), "msgpack-c's packing decodes");
	msgpack_sbuffer_destroy(&sb);
	pack(&sb, 1);
	ok(!decodes(sb.data, sb.size), "refused: 6 elements");
	msgpack_sbuffer_destroy(&sb);
	pack(&sb, 2);
	ok(!decodes(sb.data, sb.size), "refused: 8 elements");
	msgpack_sbuffer_destroy(&sb);
	pack(&sb, 3);
	ok(!decodes(sb.data, sb.size), "refused: a negative epoch");
	msgpack_sbuffer_destroy(&sb);
	pack(&sb, 4);
	ok(!decodes(sb.data, sb.size), "refused: seq 0");
	msgpack_sbuffer_destroy(&sb);
	pack(&sb, 5);
	ok(!decodes(sb.data, sb.size), "refused: a fractional seq");
	msgpack_sbuffer_destroy(&sb);
	pack(&sb, 6);
	ok(rmsg_decode(sb.data, sb.size, &b) == 0 && b.first == 5,
	    "an integral double is a number (Lua's numbers are doubles)");
	rmsg_free(&b);
	msgpack_sbuffer_destroy(&sb);
	pack(&sb, 7);
	ok(!decodes(sb.data, sb.size), "refused: nil prev");
	msgpack_sbuffer_destroy(&sb);
	pack(&sb, 8);
	ok(!decodes(sb.data, sb.size), "refused: a number as channel");
	msgpack_sbuffer_destroy(&sb);
	ok(!decodes("", 0), "refused: empty");

	/* Batches. */
	ok(!decodes(redis_payload + 1, 37),
	    "refused: one event alone, not in a batch (the old message)");
	ok(!decodes("\x90", 1), "refused: a batch of no event");
	pack_batch(&sb, 3, 1, 0);
	ok(decodes(sb.data, sb.size), "3 contiguous events decode");
	msgpack_sbuffer_destroy(&sb);
	pack_batch(&sb, 3, 2, 0);
	ok(!decodes(sb.data, sb.size), "refused: a seq skipped in a batch");
	msgpack_sbuffer_destroy(&sb);
	pack_batch(&sb, 3, 0, 0);
	ok(!decodes(sb.data, sb.size), "refused: a seq twice in a batch");
	msgpack_sbuffer_destroy(&sb);
	pack_batch(&sb, 3, 1, 1);
	ok(!decodes(sb.data, sb.size), "refused: two epochs in a batch");
	msgpack_sbuffer_destroy(&sb);
	pack_batch(&sb, RMSG_BATCH_MAX, 1, 0);
	ok(rmsg_decode(sb.data, sb.size, &b) == 0 && b.n == RMSG_BATCH_MAX,
	    "%d events decode", RMSG_BATCH_MAX);
	rmsg_event_at(&b, RMSG_BATCH_MAX - 1, &ev);
	ok(ev.seq == 5 + RMSG_BATCH_MAX - 1, "the last one's seq");
	rmsg_free(&b);
	msgpack_sbuffer_destroy(&sb);
	pack_batch(&sb, RMSG_BATCH_MAX + 1, 1, 0);
	ok(!decodes(sb.data, sb.size), "refused: %d events",
	    RMSG_BATCH_MAX + 1);
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	pack_event(&pk, 0, 1796101366393221ULL, 5);
	msgpack_pack_str(&pk, 2);
	msgpack_pack_str_body(&pk, "hi", 2);
	ok(!decodes(sb.data, sb.size), "refused: a string as an event");
	msgpack_sbuffer_destroy(&sb);
	for (k = 1; k <= 8; k++) {
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 2);
		pack_event(&pk, 0, 1796101366393221ULL, 5);
		pack_event(&pk, (int)k, 1796101366393221ULL, 6);
		ok(!decodes(sb.data, sb.size) || k == 6,
		    "refused: the second event bent (%zu)", k);
		msgpack_sbuffer_destroy(&sb);
	}
	/* Oversized: one event whose data passes RMSG_MESSAGE_MAX. */
	if ((big = calloc(1, RMSG_MESSAGE_MAX)) == NULL)
		return (1);
	pack_big(&sb, big, RMSG_MESSAGE_MAX - 64);
	ok(decodes(sb.data, sb.size), "%zu bytes decode", sb.size);
	msgpack_sbuffer_destroy(&sb);
	pack_big(&sb, big, RMSG_MESSAGE_MAX);
	ok(!decodes(sb.data, sb.size), "refused: %zu bytes (over %lu)",
	    sb.size, (unsigned long)RMSG_MESSAGE_MAX);
	msgpack_sbuffer_destroy(&sb);
	free(big);

	any = 0;
	for (i = 0; i < 100000; i++) {
		for (k = 0; k < sizeof(junk); k++)
			junk[k] = (unsigned char)next_random();
		any |= decodes(junk, 1 + (size_t)(next_random() % sizeof(junk)));
	}
	ok(!any, "100000 random inputs refused, none crashed");
	all = 1;
	for (i = 0; i < sizeof(redis_payload); i++) {
		memcpy(junk, redis_payload, sizeof(redis_payload));
		for (k = 0; k < 256; k++) {
			junk[i] = (unsigned char)k;
			(void)decodes(junk, sizeof(redis_payload));
		}
	}
	ok(all, "every byte of the payload set to every value: no crash");

	/* Numbers and entry ids. */
	ok(rmsg_parse_u64("0", 1, &v) == 0 && v == 0, "u64 0");
	ok(rmsg_parse_u64("18446744073709551615", 20, &v) == 0 &&
	    v == UINT64_MAX, "u64 max");
	ok(rmsg_parse_u64("18446744073709551616", 20, &v) == -1,
	    "u64 max + 1 refused");
	ok(rmsg_parse_u64("123456789012345678901", 21, &v) == -1,
	    "21 digits refused");
	ok(rmsg_parse_u64("", 0, &v) == -1, "empty refused");
	ok(rmsg_parse_u64("1a", 2, &v) == -1, "a letter refused");
	ok(rmsg_parse_u64("-1", 2, &v) == -1, "a sign refused");
	ok(rmsg_parse_entry_id("42-0", 4, &v) == 0 && v == 42, "id 42-0");
	ok(rmsg_parse_entry_id("42-1", 4, &v) == -1, "id 42-1 refused");
	ok(rmsg_parse_entry_id("-0", 2, &v) == -1, "id -0 refused");
	ok(rmsg_parse_entry_id("42", 2, &v) == -1, "id 42 refused");
	ok(rmsg_parse_entry_id("4x-0", 4, &v) == -1, "id 4x-0 refused");

	/* The live path. */
	ok(rmsg_next(7, 10, 7, 11) == RMSG_APPLY, "last + 1 applies");
	ok(rmsg_next(7, 10, 7, 10) == RMSG_OLD, "the last again is old");
	ok(rmsg_next(7, 10, 7, 3) == RMSG_OLD, "an older one is old");
	ok(rmsg_next(7, 10, 7, 12) == RMSG_GAP, "last + 2 is a gap");
	ok(rmsg_next(7, 10, 8, 11) == RMSG_EPOCH, "another epoch");
	ok(rmsg_next(7, 10, 6, 1) == RMSG_EPOCH, "an older epoch too");
	ok(rmsg_next(7, 0, 7, 1) == RMSG_APPLY, "the first event");

	/* The pruned rule: cursor, channel's last, n read, first's prev,
	   dropped. */
	ok(!rmsg_pruned(10, 15, 2, 10, 0), "first read names the cursor");
	ok(!rmsg_pruned(10, 15, 2, 7, 0), "first read names one before");
	ok(rmsg_pruned(10, 15, 2, 12, 0), "first read names one after: "
	    "12 was trimmed");
	ok(!rmsg_pruned(10, 10, 0, 0, 0), "nothing after, last is the cursor");
	ok(!rmsg_pruned(10, 4, 0, 0, 0), "nothing after, last is older");
	ok(rmsg_pruned(10, 15, 0, 0, 0), "nothing read but last is after: "
	    "all trimmed");
	ok(!rmsg_pruned(10, 0, 0, 0, 9), "unknown channel, dropped before");
	ok(!rmsg_pruned(10, 0, 0, 0, 10), "unknown channel, dropped at");
	ok(rmsg_pruned(10, 0, 0, 0, 11), "unknown channel, one dropped after");
	ok(!rmsg_pruned(0, 5, 1, 0, 0), "from the start, first has no prev");

	tap_done();
	return (tap_exit_status());
}
