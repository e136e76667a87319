/* SPDX-License-Identifier: ISC */
/*
 * Decoding what Redis sends the broker, and the decisions made on it.
 * Bounds: a payload is decoded only when it is at most RMSG_MESSAGE_MAX
 * bytes of one whole MessagePack array of 1 to RMSG_BATCH_MAX events,
 * each an array of exactly seven elements of the right types, numbers
 * below 2^64, one epoch, seqs each the one before + 1, and strings the
 * caller validates further (channel, type, UTF-8) before using them;
 * anything else is refused (-1) and the caller counts it.  Ids and
 * numbers are refused past 20 digits or on any other byte.
 */
#include "config.h"

#include <string.h>

#include "proto.h"
#include "rmsg.h"

#define RMSG_FIELDS	7

/* A non-negative integer element (an integral double is taken too). */
static int
rmsg_u64(const msgpack_object *o, uint64_t *v)
{
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*v = o->via.u64;
		return (0);
	case MSGPACK_OBJECT_FLOAT64:
	case MSGPACK_OBJECT_FLOAT32:
		if (o->via.f64 < 0 || o->via.f64 >= 18446744073709551616.0 ||
		    (double)(uint64_t)o->via.f64 != o->via.f64)
			return (-1);
		*v = (uint64_t)o->via.f64;
		return (0);
	default:
		return (-1);
	}
}

/* A string element (Lua's cmsgpack packs strings as str). */
static int
rmsg_str(const msgpack_object *o, const char **p, size_t *len)
{
	if (o->type == MSGPACK_OBJECT_STR) {
		*p = o->via.str.ptr;
		*len = o->via.str.size;
	} else if (o->type == MSGPACK_OBJECT_BIN) {
		*p = o->via.bin.ptr;
		*len = o->via.bin.size;
	} else
		return (-1);
	return (0);
}

/* One event [epoch, seq, ms, prev, channel, type, data]; 0 or -1. */
static int
rmsg_event_of(const msgpack_object *o, struct rmsg_event *ev)
{
	const msgpack_object	*a;

	if (o->type != MSGPACK_OBJECT_ARRAY ||
	    o->via.array.size != RMSG_FIELDS)
		return (-1);
	a = o->via.array.ptr;
	if (rmsg_u64(&a[0], &ev->epoch) == -1 ||
	    rmsg_u64(&a[1], &ev->seq) == -1 ||
	    rmsg_u64(&a[2], &ev->ms) == -1 ||
	    rmsg_u64(&a[3], &ev->prev) == -1 ||
	    rmsg_str(&a[4], &ev->channel, &ev->channellen) == -1 ||
	    rmsg_str(&a[5], &ev->type, &ev->typelen) == -1 ||
	    rmsg_str(&a[6], &ev->data, &ev->datalen) == -1 ||
	    ev->seq == 0 || ev->epoch == 0)
		return (-1);
	return (0);
}

/*
 * Decodes one {P}:events payload into *b; 0, or -1 (nothing to free)
 * when it is not a batch as above (one epoch, contiguous seqs above 0).
 * Every event is checked here, so rmsg_event_at cannot fail.  On success
 * the caller calls rmsg_free.
 */
int
rmsg_decode(const char *p, size_t len, struct rmsg_batch *b)
{
	struct rmsg_event	 ev;
	size_t			 off = 0, i;

	memset(b, 0, sizeof(*b));
	msgpack_unpacked_init(&b->unpacked);
	if (len > RMSG_MESSAGE_MAX ||
	    proto_object_ok(p, len) == -1)	/* before msgpack-c allocates */
		goto bad;
	if (msgpack_unpack_next(&b->unpacked, p, len, &off) !=
	    MSGPACK_UNPACK_SUCCESS || off != len)
		goto bad;
	if (b->unpacked.data.type != MSGPACK_OBJECT_ARRAY ||
	    b->unpacked.data.via.array.size == 0 ||
	    b->unpacked.data.via.array.size > RMSG_BATCH_MAX)
		goto bad;
	b->n = b->unpacked.data.via.array.size;
	b->a = b->unpacked.data.via.array.ptr;
	for (i = 0; i < b->n; i++) {
		if (rmsg_event_of(&b->a[i], &ev) == -1)
			goto bad;
		if (i == 0) {
			b->epoch = ev.epoch;
			b->first = ev.seq;
		} else if (ev.epoch != b->epoch || ev.seq != b->first + i)
			goto bad;
	}
	return (0);
bad:
	msgpack_unpacked_destroy(&b->unpacked);
	memset(b, 0, sizeof(*b));
	return (-1);
}

/* The i-th event (i < b->n) of a batch rmsg_decode took. */
void
rmsg_event_at(const struct rmsg_batch *b, size_t i, struct rmsg_event *ev)
{
	(void)rmsg_event_of(&b->a[i], ev);
}

void
rmsg_free(struct rmsg_batch *b)
{
	msgpack_unpacked_destroy(&b->unpacked);
}

/* Decimal digits only, at most 20 of them, below 2^64; -1 otherwise. */
int
rmsg_parse_u64(const char *p, size_t len, uint64_t *v)
{
	uint64_t	 n = 0;
	size_t		 i;

	if (len == 0 || len > 20)
		return (-1);
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (-1);
		if (n > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return (-1);
		n = n * 10 + (uint64_t)(p[i] - '0');
	}
	*v = n;
	return (0);
}

/* A stream entry id of ours, "<seq>-0": its seq; -1 for anything else. */
int
rmsg_parse_entry_id(const char *p, size_t len, uint64_t *seq)
{
	if (len < 3 || p[len - 2] != '-' || p[len - 1] != '0')
		return (-1);
	return (rmsg_parse_u64(p, len - 2, seq));
}

/*
 * The live path's decision for an event of epoch and seq when the mirror
 * is at epoch mepoch and has applied everything up to last.
 */
enum rmsg_step
rmsg_next(uint64_t mepoch, uint64_t last, uint64_t epoch, uint64_t seq)
{
	if (epoch != mepoch)
		return (RMSG_EPOCH);
	if (seq <= last)
		return (RMSG_OLD);
	if (seq == last + 1)
		return (RMSG_APPLY);
	return (RMSG_GAP);
}

/*
 * The exact "pruned" rule of a replay read from Redis for one channel:
 * the read returned n entries after cursor, the oldest of which names
 * first_prev as the channel's previous seq; chlast is the channel's last
 * seq in {P}:chans (0: not there), dropped the highest last seq of the
 * channels trimmed away.  1 when an event after the cursor is gone.
 */
int
rmsg_pruned(uint64_t cursor, uint64_t chlast, size_t n, uint64_t first_prev,
    uint64_t dropped)
{
	if (n > 0)
		return (first_prev > cursor);
	if (chlast > cursor)
		return (1);	/* all of them were trimmed */
	return (chlast == 0 && dropped > cursor);
}
