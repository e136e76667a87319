/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the wire protocol: every message round-trips, input cut at
 * every byte offset decodes the same, the bytes match PROTOCOL.md, every
 * field of every message is type-checked, and truncated, oversized and
 * mutated input is refused without reading past the input (run it under
 * AddressSanitizer: each fuzzed input sits in its own exact-size block).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "buf.h"
#include "proto.h"
#include "tap.h"
#include "testrng.h"

#define MUTATIONS	200000

/* The frames of every type used by several tests below. */
struct sample {
	const char	*name;
	char		*bytes;
	size_t		 len;
};

static struct sample	samples[32];
static size_t		nsamples;

static const struct proto_str chans[] = {
	{ "news", 4 }, { "sport", 5 }, { "caf\xc3\xa9", 5 }
};
static const char *const stat_names[] = { "connections", "uptime_seconds" };
static const uint64_t stat_values[] = { 3, UINT64_MAX };
static const uint64_t counts[] = { 7, 0 };

static void
add_sample(const char *name, struct buf *b)
{
	struct sample	*s = &samples[nsamples++];

	s->name = name;
	s->len = buf_used(b);
	s->bytes = malloc(s->len);
	if (s->bytes == NULL)
		abort();
	memcpy(s->bytes, buf_head(b), s->len);
	buf_reset(b);
}

static int
str_is(struct proto_str s, const char *want)
{
	if (want == NULL)
		return (s.ptr == NULL);
	return (s.ptr != NULL && s.len == strlen(want) &&
	    memcmp(s.ptr, want, s.len) == 0);
}

static int
obj_str_is(const msgpack_object *o, const char *want)
{
	return (o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(want) &&
	    memcmp(o->via.str.ptr, want, o->via.str.size) == 0);
}

/* Encodes one frame of each type (and some variants) into samples[]. */
static void
make_samples(void)
{
	struct buf	b;
	char		raw[] = { (char)0x81, (char)0xa1, 'k', (char)0x93,
			    0x01, (char)0xc3, (char)0xc0 };	/* {"k":[1,true,nil]} */

	buf_init(&b, 0);
	ok(proto_encode_hello(&b, 1, PROTO_ROLE_BOTH) == 0, "encode HELLO");
	add_sample("HELLO", &b);
	ok(proto_encode_welcome(&b, 1, "hddypumtc0", 10) == 0,
	    "encode WELCOME");
	add_sample("WELCOME", &b);
	ok(proto_encode_error(&b, 0, PROTO_E_HELLO, "say hello", 9) == 0,
	    "encode ERROR with ref 0");
	add_sample("ERROR", &b);
	ok(proto_encode_ping(&b, 77) == 0, "encode PING");
	add_sample("PING", &b);
	ok(proto_encode_pong(&b, 77) == 0, "encode PONG");
	add_sample("PONG", &b);
	ok(proto_encode_publish(&b, 5, "news", 4, "tick", 4, "a\nb", 3) == 0,
	    "encode PUBLISH");
	add_sample("PUBLISH", &b);
	ok(proto_encode_publish(&b, 6, "news", 4, NULL, 0, "", 0) == 0,
	    "encode PUBLISH without type, empty data");
	add_sample("PUBLISH-nil", &b);
	ok(proto_encode_publish_raw(&b, 7, "news", 4, "", 0, raw,
	    sizeof(raw)) == 0, "encode PUBLISH with raw data");
	add_sample("PUBLISH-raw", &b);
	ok(proto_encode_published(&b, 5, "hddypumtc0-1", 12) == 0,
	    "encode PUBLISHED");
	add_sample("PUBLISHED", &b);
	ok(proto_encode_subscribe(&b, 8, chans, 3, "hddypumtc0-1", 12) == 0,
	    "encode SUBSCRIBE");
	add_sample("SUBSCRIBE", &b);
	ok(proto_encode_subscribe(&b, 9, chans, 1, NULL, 0) == 0,
	    "encode SUBSCRIBE without last id");
	add_sample("SUBSCRIBE-nil", &b);
	ok(proto_encode_subscribed(&b, 8, "hddypumtc0-9", 12, 4) == 0,
	    "encode SUBSCRIBED");
	add_sample("SUBSCRIBED", &b);
	ok(proto_encode_reset(&b, 8, "pruned", 6, "hddypumtc0-3", 12,
	    "hddypumtc0-9", 12) == 0, "encode RESET");
	add_sample("RESET", &b);
	ok(proto_encode_reset(&b, 8, "epoch", 5, NULL, 0, "hddypumtc0-9",
	    12) == 0, "encode RESET without oldest id");
	add_sample("RESET-nil", &b);
	ok(proto_encode_unsubscribe(&b, 10, chans, 2) == 0,
	    "encode UNSUBSCRIBE");
	add_sample("UNSUBSCRIBE", &b);
	ok(proto_encode_unsubscribed(&b, 10) == 0, "encode UNSUBSCRIBED");
	add_sample("UNSUBSCRIBED", &b);
	ok(proto_encode_event(&b, "news", 4, "hddypumtc0-2", 12, "message", 7,
	    "hello", 5) == 0, "encode EVENT");
	add_sample("EVENT", &b);
	ok(proto_encode_stats(&b, 11) == 0, "encode STATS");
	add_sample("STATS", &b);
	ok(proto_encode_stats_reply(&b, 11, stat_names, stat_values, 2) == 0,
	    "encode STATS_REPLY");
	add_sample("STATS_REPLY", &b);
	ok(proto_encode_stream_counts(&b, 1, chans, counts, 2) == 0,
	    "encode STREAM_COUNTS");
	add_sample("STREAM_COUNTS", &b);
	ok(proto_encode_channel_stats(&b, 12, chans, 2) == 0,
	    "encode CHANNEL_STATS");
	add_sample("CHANNEL_STATS", &b);
	ok(proto_encode_channel_stats_reply(&b, 12, "news", 4, stat_names,
	    stat_values, 2, "hddypumtc0-3", 12, "hddypumtc0-9", 12) == 0,
	    "encode CHANNEL_STATS_REPLY");
	add_sample("CHANNEL_STATS_REPLY", &b);
	ok(proto_encode_channel_stats_reply(&b, 12, "news", 4, stat_names,
	    stat_values, 0, NULL, 0, NULL, 0) == 0,
	    "encode CHANNEL_STATS_REPLY of an empty channel");
	add_sample("CHANNEL_STATS_REPLY-nil", &b);
	ok(proto_encode_revoke(&b, 12, "sub", 3, "alice", 5, 1900000000) == 0,
	    "encode REVOKE");
	add_sample("REVOKE", &b);
	ok(proto_encode_revoked(&b, 12) == 0, "encode REVOKED");
	add_sample("REVOKED", &b);
	ok(proto_encode_revocations(&b, 13) == 0, "encode REVOCATIONS");
	add_sample("REVOCATIONS", &b);
	ok(proto_encode_revocation(&b, "jti", 3, "t-1", 3, 1900000001) == 0,
	    "encode REVOCATION");
	add_sample("REVOCATION", &b);
	buf_free(&b);
}

/* Checks every field of a decoded sample against what was encoded. */
static int
check_sample(const char *name, const struct proto_msg *m)
{
	const msgpack_object	*d;

	if (strcmp(name, "HELLO") == 0)
		return (m->type == PROTO_HELLO && m->ref == 0 &&
		    m->u.hello.version == 1 &&
		    m->u.hello.role == PROTO_ROLE_BOTH);
	if (strcmp(name, "WELCOME") == 0)
		return (m->type == PROTO_WELCOME && m->u.welcome.version == 1 &&
		    str_is(m->u.welcome.epoch, "hddypumtc0"));
	if (strcmp(name, "ERROR") == 0)
		return (m->type == PROTO_ERROR && m->ref == 0 &&
		    m->u.error.code == PROTO_E_HELLO &&
		    str_is(m->u.error.message, "say hello"));
	if (strcmp(name, "PING") == 0)
		return (m->type == PROTO_PING && m->ref == 77);
	if (strcmp(name, "PONG") == 0)
		return (m->type == PROTO_PONG && m->ref == 77);
	if (strcmp(name, "PUBLISH") == 0)
		return (m->type == PROTO_PUBLISH && m->ref == 5 &&
		    str_is(m->u.publish.channel, "news") &&
		    str_is(m->u.publish.type, "tick") &&
		    obj_str_is(m->u.publish.data, "a\nb"));
	if (strcmp(name, "PUBLISH-nil") == 0)
		return (m->type == PROTO_PUBLISH && m->ref == 6 &&
		    str_is(m->u.publish.channel, "news") &&
		    str_is(m->u.publish.type, NULL) &&
		    obj_str_is(m->u.publish.data, ""));
	if (strcmp(name, "PUBLISH-raw") == 0) {
		d = m->u.publish.data;
		return (m->type == PROTO_PUBLISH && m->ref == 7 &&
		    str_is(m->u.publish.type, "") &&
		    d->type == MSGPACK_OBJECT_MAP && d->via.map.size == 1 &&
		    obj_str_is(&d->via.map.ptr[0].key, "k") &&
		    d->via.map.ptr[0].val.type == MSGPACK_OBJECT_ARRAY &&
		    d->via.map.ptr[0].val.via.array.size == 3);
	}
	if (strcmp(name, "PUBLISHED") == 0)
		return (m->type == PROTO_PUBLISHED && m->ref == 5 &&
		    str_is(m->u.published.id, "hddypumtc0-1"));
	if (strcmp(name, "SUBSCRIBE") == 0)
		return (m->type == PROTO_SUBSCRIBE && m->ref == 8 &&
		    m->u.subscribe.nchannels == 3 &&
		    obj_str_is(&m->u.subscribe.channels[0], "news") &&
		    obj_str_is(&m->u.subscribe.channels[1], "sport") &&
		    obj_str_is(&m->u.subscribe.channels[2], "caf\xc3\xa9") &&
		    str_is(m->u.subscribe.last_id, "hddypumtc0-1"));
	if (strcmp(name, "SUBSCRIBE-nil") == 0)
		return (m->type == PROTO_SUBSCRIBE && m->ref == 9 &&
		    m->u.subscribe.nchannels == 1 &&
		    obj_str_is(&m->u.subscribe.channels[0], "news") &&
		    str_is(m->u.subscribe.last_id, NULL));
	if (strcmp(name, "SUBSCRIBED") == 0)
		return (m->type == PROTO_SUBSCRIBED && m->ref == 8 &&
		    str_is(m->u.subscribed.head_id, "hddypumtc0-9") &&
		    m->u.subscribed.nreplay == 4);
	if (strcmp(name, "RESET") == 0)
		return (m->type == PROTO_RESET && m->ref == 8 &&
		    str_is(m->u.reset.reason, "pruned") &&
		    str_is(m->u.reset.oldest_id, "hddypumtc0-3") &&
		    str_is(m->u.reset.head_id, "hddypumtc0-9"));
	if (strcmp(name, "RESET-nil") == 0)
		return (m->type == PROTO_RESET && m->ref == 8 &&
		    str_is(m->u.reset.reason, "epoch") &&
		    str_is(m->u.reset.oldest_id, NULL) &&
		    str_is(m->u.reset.head_id, "hddypumtc0-9"));
	if (strcmp(name, "UNSUBSCRIBE") == 0)
		return (m->type == PROTO_UNSUBSCRIBE && m->ref == 10 &&
		    m->u.subscribe.nchannels == 2 &&
		    obj_str_is(&m->u.subscribe.channels[1], "sport") &&
		    str_is(m->u.subscribe.last_id, NULL));
	if (strcmp(name, "UNSUBSCRIBED") == 0)
		return (m->type == PROTO_UNSUBSCRIBED && m->ref == 10);
	if (strcmp(name, "EVENT") == 0)
		return (m->type == PROTO_EVENT && m->ref == 0 &&
		    str_is(m->u.event.channel, "news") &&
		    str_is(m->u.event.id, "hddypumtc0-2") &&
		    str_is(m->u.event.type, "message") &&
		    str_is(m->u.event.data, "hello"));
	if (strcmp(name, "STREAM_COUNTS") == 0)
		return (m->type == PROTO_STREAM_COUNTS && m->ref == 0 &&
		    m->u.counts.full == 1 && m->u.counts.n == 2 &&
		    obj_str_is(&m->u.counts.kv[0].key, "news") &&
		    m->u.counts.kv[0].val.via.u64 == 7 &&
		    obj_str_is(&m->u.counts.kv[1].key, "sport") &&
		    m->u.counts.kv[1].val.via.u64 == 0);
	if (strcmp(name, "CHANNEL_STATS") == 0)
		return (m->type == PROTO_CHANNEL_STATS && m->ref == 12 &&
		    m->u.subscribe.nchannels == 2 &&
		    obj_str_is(&m->u.subscribe.channels[0], "news") &&
		    obj_str_is(&m->u.subscribe.channels[1], "sport"));
	if (strcmp(name, "CHANNEL_STATS_REPLY") == 0)
		return (m->type == PROTO_CHANNEL_STATS_REPLY && m->ref == 12 &&
		    str_is(m->u.chstats.channel, "news") &&
		    m->u.chstats.n == 2 &&
		    obj_str_is(&m->u.chstats.kv[0].key, "connections") &&
		    m->u.chstats.kv[1].val.via.u64 == UINT64_MAX &&
		    str_is(m->u.chstats.oldest_id, "hddypumtc0-3") &&
		    str_is(m->u.chstats.last_id, "hddypumtc0-9"));
	if (strcmp(name, "CHANNEL_STATS_REPLY-nil") == 0)
		return (m->type == PROTO_CHANNEL_STATS_REPLY &&
		    m->u.chstats.n == 0 && m->u.chstats.oldest_id.ptr == NULL &&
		    m->u.chstats.last_id.ptr == NULL);
	if (strcmp(name, "STATS") == 0)
		return (m->type == PROTO_STATS && m->ref == 11);
	if (strcmp(name, "STATS_REPLY") == 0)
		return (m->type == PROTO_STATS_REPLY && m->ref == 11 &&
		    m->u.stats.n == 2 &&
		    obj_str_is(&m->u.stats.kv[0].key, "connections") &&
		    m->u.stats.kv[0].val.via.u64 == 3 &&
		    obj_str_is(&m->u.stats.kv[1].key, "uptime_seconds") &&
		    m->u.stats.kv[1].val.via.u64 == UINT64_MAX);
	if (strcmp(name, "REVOKE") == 0)
		return (m->type == PROTO_REVOKE && m->ref == 12 &&
		    str_is(m->u.revoke.kind, "sub") &&
		    str_is(m->u.revoke.value, "alice") &&
		    m->u.revoke.until == 1900000000);
	if (strcmp(name, "REVOKED") == 0)
		return (m->type == PROTO_REVOKED && m->ref == 12);
	if (strcmp(name, "REVOCATIONS") == 0)
		return (m->type == PROTO_REVOCATIONS && m->ref == 13);
	if (strcmp(name, "REVOCATION") == 0)
		return (m->type == PROTO_REVOCATION && m->ref == 0 &&
		    str_is(m->u.revoke.kind, "jti") &&
		    str_is(m->u.revoke.value, "t-1") &&
		    m->u.revoke.until == 1900000001);
	return (0);
}

static int
decode(const void *p, size_t len, struct proto_msg *m, size_t *used,
    char *err, size_t errlen)
{
	err[0] = '\0';
	return (proto_decode(p, len, PROTO_MAX_FRAME, m, used, err, errlen));
}

static void
test_round_trip(void)
{
	struct proto_msg	 m;
	size_t			 i, k, used;
	char			 err[256], name[32], *copy;
	int			 r, splits_ok;

	for (i = 0; i < nsamples; i++) {
		r = decode(samples[i].bytes, samples[i].len, &m, &used, err,
		    sizeof(err));
		if (!ok(r == PROTO_OK && used == samples[i].len &&
		    check_sample(samples[i].name, &m),
		    "%s round-trips", samples[i].name))
			tap_diag("decode: %d %s", r, err);
		if (r == PROTO_OK) {
			snprintf(name, sizeof(name), "%s", samples[i].name);
			name[strcspn(name, "-")] = '\0';
			is_str(proto_type_name(m.type), name,
			    "proto_type_name(%d)", m.type);
			proto_msg_free(&m);
			proto_msg_free(&m);	/* twice is harmless */
		}

		/* Every strict prefix is "more", in its own exact block. */
		splits_ok = 1;
		for (k = 0; k < samples[i].len; k++) {
			if ((copy = malloc(k ? k : 1)) == NULL)
				abort();
			memcpy(copy, samples[i].bytes, k);
			r = decode(copy, k, &m, &used, err, sizeof(err));
			if (r != PROTO_MORE || used != 0) {
				tap_diag("prefix %zu: %d", k, r);
				splits_ok = 0;
			}
			free(copy);
		}
		ok(splits_ok, "%s: all %zu prefixes want more",
		    samples[i].name, samples[i].len);
	}
}

/* All frames back to back, fed in chunks of every size, as a socket would. */
static void
test_stream(void)
{
	struct buf		 in, all;
	struct proto_msg	 m;
	size_t			 chunk, fed, i, used, n;
	char			 err[256];
	int			 r, good = 1;

	buf_init(&all, 0);
	for (i = 0; i < nsamples; i++)
		buf_append(&all, samples[i].bytes, samples[i].len);
	for (chunk = 1; chunk <= buf_used(&all); chunk++) {
		buf_init(&in, 0);
		fed = 0;
		n = 0;
		while (n < nsamples && good) {
			r = decode(buf_head(&in), buf_used(&in), &m, &used, err,
			    sizeof(err));
			if (r == PROTO_OK) {
				if (!check_sample(samples[n].name, &m) ||
				    used != samples[n].len)
					good = 0;
				proto_msg_free(&m);
				buf_consume(&in, used);
				n++;
			} else if (r == PROTO_MORE && fed < buf_used(&all)) {
				i = buf_used(&all) - fed;
				if (i > chunk)
					i = chunk;
				buf_append(&in, buf_head(&all) + fed, i);
				fed += i;
			} else {
				tap_diag("chunk %zu frame %zu: %d %s", chunk,
				    n, r, err);
				good = 0;
			}
		}
		if (buf_used(&in) != 0)
			good = 0;
		buf_free(&in);
		if (!good)
			break;
	}
	ok(good, "a stream of %zu frames decodes the same in chunks of "
	    "1 to %zu bytes", nsamples, buf_used(&all));
	buf_free(&all);
}

static void
test_doc_bytes(void)
{
	static const unsigned char hello[] = {
		0x00, 0x00, 0x00, 0x04, 0x93, 0x01, 0x01, 0x01
	};
	static const unsigned char publish[] = {
		0x00, 0x00, 0x00, 0x0f, 0x95, 0x0a, 0x01, 0xa4, 0x6e, 0x65,
		0x77, 0x73, 0xc0, 0xa5, 0x68, 0x65, 0x6c, 0x6c, 0x6f
	};
	static const unsigned char published[] = {
		0x00, 0x00, 0x00, 0x10, 0x93, 0x0b, 0x01, 0xac, 0x68, 0x64,
		0x64, 0x79, 0x70, 0x75, 0x6d, 0x74, 0x63, 0x30, 0x2d, 0x31
	};
	static const unsigned char welcome[] = {
		0x00, 0x00, 0x00, 0x0e, 0x93, 0x02, 0x01, 0xaa, 0x68, 0x64,
		0x64, 0x79, 0x70, 0x75, 0x6d, 0x74, 0x63, 0x30
	};
	struct buf	b;

	buf_init(&b, 0);
	proto_encode_hello(&b, 1, PROTO_ROLE_PUBLISHER);
	tap_is_mem(buf_head(&b), buf_used(&b), hello, sizeof(hello),
	    "HELLO [1, 1, 1] is the bytes in PROTOCOL.md");
	buf_reset(&b);
	proto_encode_welcome(&b, 1, "hddypumtc0", 10);
	tap_is_mem(buf_head(&b), buf_used(&b), welcome, sizeof(welcome),
	    "WELCOME is the bytes in PROTOCOL.md");
	buf_reset(&b);
	proto_encode_publish(&b, 1, "news", 4, NULL, 0, "hello", 5);
	tap_is_mem(buf_head(&b), buf_used(&b), publish, sizeof(publish),
	    "PUBLISH [10, 1, \"news\", nil, \"hello\"] is the bytes in "
	    "PROTOCOL.md");
	buf_reset(&b);
	proto_encode_published(&b, 1, "hddypumtc0-1", 12);
	tap_is_mem(buf_head(&b), buf_used(&b), published, sizeof(published),
	    "PUBLISHED is the bytes in PROTOCOL.md");
	buf_free(&b);
}

/*
 * Hand-built frames.  Each element of a layout is one letter:
 *   1 the integer 1      0 the integer 0    - the integer -1
 *   n nil                t true             f the float 1.5
 *   s the str "x"        e the empty str    b the bin "x"
 *   c array of one str   E the empty array  N array of one integer
 *   T array of 65 strs   m map {"x": 1}     k map {1: 1}
 *   v map {"x": "x"}     x an ext
 */
static void
pack_elem(msgpack_packer *pk, char c)
{
	int	i;

	switch (c) {
	case '1': msgpack_pack_uint64(pk, 1); break;
	case '0': msgpack_pack_uint64(pk, 0); break;
	case '-': msgpack_pack_int64(pk, -1); break;
	case 'n': msgpack_pack_nil(pk); break;
	case 't': msgpack_pack_true(pk); break;
	case 'f': msgpack_pack_double(pk, 1.5); break;
	case 's': msgpack_pack_str_with_body(pk, "x", 1); break;
	case 'e': msgpack_pack_str(pk, 0); break;
	case 'b': msgpack_pack_bin_with_body(pk, "x", 1); break;
	case 'c':
		msgpack_pack_array(pk, 1);
		msgpack_pack_str_with_body(pk, "x", 1);
		break;
	case 'E': msgpack_pack_array(pk, 0); break;
	case 'N':
		msgpack_pack_array(pk, 1);
		msgpack_pack_uint64(pk, 1);
		break;
	case 'T':
		msgpack_pack_array(pk, PROTO_MAX_CHANNELS + 1);
		for (i = 0; i < PROTO_MAX_CHANNELS + 1; i++)
			msgpack_pack_str_with_body(pk, "x", 1);
		break;
	case 'm':
		msgpack_pack_map(pk, 1);
		msgpack_pack_str_with_body(pk, "x", 1);
		msgpack_pack_uint64(pk, 1);
		break;
	case 'k':
		msgpack_pack_map(pk, 1);
		msgpack_pack_uint64(pk, 1);
		msgpack_pack_uint64(pk, 1);
		break;
	case 'v':
		msgpack_pack_map(pk, 1);
		msgpack_pack_str_with_body(pk, "x", 1);
		msgpack_pack_str_with_body(pk, "x", 1);
		break;
	case 'x':
		msgpack_pack_ext_with_body(pk, "x", 1, 5);
		break;
	default:
		abort();
	}
}

/* A frame [type, elems...] with a correct length prefix. */
static void
build(msgpack_sbuffer *sb, int64_t type, const char *elems)
{
	msgpack_packer	pk;
	size_t		plen;

	msgpack_sbuffer_clear(sb);
	msgpack_sbuffer_write(sb, "\0\0\0\0", 4);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, strlen(elems) + 1);
	msgpack_pack_int64(&pk, type);
	for (; *elems != '\0'; elems++)
		pack_elem(&pk, *elems);
	plen = sb->size - 4;
	sb->data[0] = (char)(plen >> 24);
	sb->data[1] = (char)(plen >> 16);
	sb->data[2] = (char)(plen >> 8);
	sb->data[3] = (char)plen;
}

/* Which letters each field class accepts. */
static const char *
accepted(char class)
{
	switch (class) {
	case 'u': return ("10");	/* non-negative integer */
	case 'r': return ("10");	/* ref: 0 matches no request */
	case 's': return ("se");
	case 'S': return ("sen");
	case 'a': return ("10-ntfsebcENTmkvx");
	case 'c': return ("cET");	/* the broker checks the count */
	case 'm': return ("m");
	}
	return ("");
}

static void
test_field_types(void)
{
	static const struct {
		int		 type;
		const char	*classes;	/* field classes, as proto.c */
		const char	*valid;		/* a valid set of letters */
	} layouts[] = {
		{ PROTO_HELLO, "uu", "11" },
		{ PROTO_WELCOME, "us", "1s" },
		{ PROTO_ERROR, "rus", "11s" },
		{ PROTO_PING, "r", "1" },
		{ PROTO_PONG, "r", "1" },
		{ PROTO_PUBLISH, "rsSa", "1sns" },
		{ PROTO_PUBLISHED, "rs", "1s" },
		{ PROTO_SUBSCRIBE, "rcS", "1cn" },
		{ PROTO_SUBSCRIBED, "rsu", "1s1" },
		{ PROTO_RESET, "rsSs", "1sns" },
		{ PROTO_UNSUBSCRIBE, "rc", "1c" },
		{ PROTO_UNSUBSCRIBED, "r", "1" },
		{ PROTO_EVENT, "ssss", "ssss" },
		{ PROTO_STATS, "r", "1" },
		{ PROTO_STATS_REPLY, "rm", "1m" },
		{ PROTO_REVOKE, "rssu", "1ss1" },
		{ PROTO_REVOKED, "r", "1" },
		{ PROTO_REVOCATIONS, "r", "1" },
		{ PROTO_REVOCATION, "ssu", "ss1" },
		{ PROTO_STREAM_COUNTS, "um", "1m" },
		{ PROTO_CHANNEL_STATS, "rc", "1c" },
		{ PROTO_CHANNEL_STATS_REPLY, "rsmSS", "1smss" },
	};
	static const char	 letters[] = "10-ntfsebcENTmkvx";
	msgpack_sbuffer		 sb;
	struct proto_msg	 m;
	char			 elems[8], err[256];
	size_t			 i, f, l, n, used, checked;
	int			 r, want, good;

	msgpack_sbuffer_init(&sb);
	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		good = 1;
		checked = 0;
		n = strlen(layouts[i].classes);
		for (f = 0; f < n; f++) {
			for (l = 0; letters[l] != '\0'; l++) {
				strcpy(elems, layouts[i].valid);
				elems[f] = letters[l];
				want = strchr(accepted(layouts[i].classes[f]),
				    letters[l]) != NULL ? PROTO_OK : PROTO_BAD;
				build(&sb, layouts[i].type, elems);
				r = decode(sb.data, sb.size, &m, &used, err,
				    sizeof(err));
				if (r == PROTO_OK)
					proto_msg_free(&m);
				else if (err[0] == '\0')
					good = 0;	/* no reason given */
				if (r != want) {
					tap_diag("%s %s: got %d want %d (%s)",
					    proto_type_name(layouts[i].type),
					    elems, r, want, err);
					good = 0;
				}
				checked++;
			}
		}
		/* One element too few and one too many. */
		strcpy(elems, layouts[i].valid);
		elems[n - 1] = '\0';
		build(&sb, layouts[i].type, elems);
		if (decode(sb.data, sb.size, &m, &used, err, sizeof(err)) !=
		    PROTO_BAD)
			good = 0;
		strcpy(elems, layouts[i].valid);
		strcat(elems, "1");
		build(&sb, layouts[i].type, elems);
		if (decode(sb.data, sb.size, &m, &used, err, sizeof(err)) !=
		    PROTO_BAD)
			good = 0;
		ok(good, "%s: %zu field type variants and wrong lengths",
		    proto_type_name(layouts[i].type), checked);
	}
	msgpack_sbuffer_destroy(&sb);
}

static void
expect_bad(const void *p, size_t len, size_t max, const char *errpart,
    const char *what)
{
	struct proto_msg	m;
	size_t			used = 99;
	char			err[256] = "";
	int			r;

	r = proto_decode(p, len, max, &m, &used, err, sizeof(err));
	if (r == PROTO_OK)
		proto_msg_free(&m);
	ok(r == PROTO_BAD && used == 0 && strstr(err, errpart) != NULL,
	    "%s: refused (%s)", what, err);
}

static void
test_bad_frames(void)
{
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	struct proto_msg	 m;
	unsigned char		 f[64], *big;
	size_t			 used, i;
	char			 err[256];
	int			 r;

	/* The length prefix alone is enough to refuse. */
	memcpy(f, "\x00\x10\x00\x01", 4);
	expect_bad(f, 4, PROTO_MAX_FRAME, "over the limit",
	    "length 1 MiB + 1 with only the header");
	memcpy(f, "\xff\xff\xff\xff", 4);
	expect_bad(f, 4, PROTO_MAX_FRAME, "over the limit", "length 4 GiB");
	memcpy(f, "\x00\x00\x01\x00", 4);
	expect_bad(f, 4, 255, "over the limit", "length 256 over max 255");
	memcpy(f, "\x00\x00\x00\x00", 4);
	expect_bad(f, 4, 0, "empty", "length 0");
	memcpy(f, "\x00\x00\x00\xff", 4);
	r = proto_decode(f, 4, 255, &m, &used, err, sizeof(err));
	is_int(r, PROTO_MORE, "length 255 with max 255 waits for more");

	/* A frame of exactly the maximum, and of max_frame 0 meaning it. */
	big = malloc(PROTO_HEADER_LEN + PROTO_MAX_FRAME);
	if (big == NULL)
		abort();
	{
		size_t	plen = PROTO_MAX_FRAME, slen = plen - 7;

		big[0] = (unsigned char)(plen >> 24);
		big[1] = (unsigned char)(plen >> 16);
		big[2] = (unsigned char)(plen >> 8);
		big[3] = (unsigned char)plen;
		big[4] = 0x92;			/* [4, "aaa..."] */
		big[5] = 0x04;
		big[6] = 0xdb;			/* str32 */
		big[7] = (unsigned char)(slen >> 24);
		big[8] = (unsigned char)(slen >> 16);
		big[9] = (unsigned char)(slen >> 8);
		big[10] = (unsigned char)slen;
		memset(big + 11, 'a', slen);
		r = proto_decode(big, PROTO_HEADER_LEN + plen, 0, &m, &used,
		    err, sizeof(err));
		/* PING's ref is a string here: refused by layout, not size. */
		ok(r == PROTO_BAD && strstr(err, "ref") != NULL,
		    "a 1 MiB frame is read whole, then checked (%s)", err);
	}
	free(big);

	/* Not arrays, empty array, unknown and non-integer types. */
	memcpy(f, "\x00\x00\x00\x01\x01", 5);
	expect_bad(f, 5, 0, "not an array", "payload is an integer");
	memcpy(f, "\x00\x00\x00\x01\x90", 5);
	expect_bad(f, 5, 0, "empty array", "payload is []");
	memcpy(f, "\x00\x00\x00\x02\x91\x06", 6);
	expect_bad(f, 6, 0, "unknown message type 6", "type 6");
	memcpy(f, "\x00\x00\x00\x02\x91\x00", 6);
	expect_bad(f, 6, 0, "unknown message type 0", "type 0");
	memcpy(f, "\x00\x00\x00\x02\x91\xff", 6);
	expect_bad(f, 6, 0, "message type must be", "type -1");
	memcpy(f, "\x00\x00\x00\x06\x91\xce\x00\x00\x00\x01", 10);
	r = proto_decode(f, 10, 0, &m, &used, err, sizeof(err));
	ok(r == PROTO_BAD, "type 1 as uint32 with no fields refused (%s)", err);
	memcpy(f, "\x00\x00\x00\x0b\x92\xcf\x00\x00\x00\x01\x00\x00\x00\x04"
	    "\x01", 15);
	expect_bad(f, 15, 0, "unknown message type", "type 2^32 + 4");
	memcpy(f, "\x00\x00\x00\x04\x92\xa1\x04\x01", 8);
	expect_bad(f, 8, 0, "message type must be", "type as a string");
	memcpy(f, "\x00\x00\x00\x01\xc1", 5);
	expect_bad(f, 5, 0, "invalid MessagePack byte", "reserved byte 0xc1");

	/* Trailing bytes inside the frame; bytes after it are the next one. */
	memcpy(f, "\x00\x00\x00\x04\x92\x04\x01\x00", 8);
	expect_bad(f, 8, 0, "trailing bytes", "PING with a byte too many");
	memcpy(f, "\x00\x00\x00\x02\x92\x04\x01\x00", 8);
	expect_bad(f, 8, 0, "past the frame end", "PING cut inside the frame");
	memcpy(f, "\x00\x00\x00\x03\x92\x04\x01" "\x00\x00\x00\x03", 11);
	r = proto_decode(f, 11, 0, &m, &used, err, sizeof(err));
	ok(r == PROTO_OK && used == 7 && m.ref == 1,
	    "bytes after a whole frame are left for the next one");
	if (r == PROTO_OK)
		proto_msg_free(&m);

	/* Declared sizes far over what is present, before any allocation. */
	memcpy(f, "\x00\x00\x00\x08\x93\x04\x01\xdd\xff\xff\xff\xff", 12);
	expect_bad(f, 12, 0, "past the frame end", "array of 2^32-1 elements");
	memcpy(f, "\x00\x00\x00\x08\x93\x04\x01\xdf\xff\xff\xff\xff", 12);
	expect_bad(f, 12, 0, "past the frame end", "map of 2^32-1 pairs");
	memcpy(f, "\x00\x00\x00\x08\x93\x04\x01\xdb\xff\xff\xff\xff", 12);
	expect_bad(f, 12, 0, "past the frame end", "str of 4 GiB");
	memcpy(f, "\x00\x00\x00\x05\x93\x04\x01\xc9\x00", 9);
	expect_bad(f, 9, 0, "past the frame end", "ext header cut");

	/* Nesting: PROTO_MAX_DEPTH levels of data pass, one more does not. */
	msgpack_sbuffer_init(&sb);
	for (r = 0; r < 2; r++) {
		size_t	depth = PROTO_MAX_DEPTH - 1 + (size_t)r, plen;

		msgpack_sbuffer_clear(&sb);
		msgpack_sbuffer_write(&sb, "\0\0\0\0", 4);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 5);
		msgpack_pack_uint64(&pk, PROTO_PUBLISH);
		msgpack_pack_uint64(&pk, 1);
		msgpack_pack_str_with_body(&pk, "c", 1);
		msgpack_pack_nil(&pk);
		for (i = 0; i < depth; i++)
			msgpack_pack_array(&pk, 1);
		msgpack_pack_nil(&pk);
		plen = sb.size - 4;
		sb.data[2] = (char)(plen >> 8);
		sb.data[3] = (char)plen;
		err[0] = '\0';
		if (r == 0) {
			int	rr = proto_decode(sb.data, sb.size, 0, &m, &used,
			    err, sizeof(err));

			ok(rr == PROTO_OK, "data nested %zu deep accepted (%s)",
			    depth, err);
			if (rr == PROTO_OK)
				proto_msg_free(&m);
		} else
			expect_bad(sb.data, sb.size, 0, "nested deeper",
			    "data nested one level too deep");
	}
	msgpack_sbuffer_destroy(&sb);

	/* No err buffer at all is fine. */
	memcpy(f, "\x00\x00\x00\x01\x90", 5);
	ok(proto_decode(f, 5, 0, &m, &used, NULL, 0) == PROTO_BAD,
	    "bad frame with no err buffer");
	is_str(proto_type_name(99), "unknown", "proto_type_name(99)");
}

static void
test_encode_bounds(void)
{
	struct buf		 b;
	struct proto_str	 many[PROTO_MAX_CHANNELS + 1];
	char			*big, snap[64];
	size_t			 i, oldlen, oldoff;
	int			 r;

	for (i = 0; i < PROTO_MAX_CHANNELS + 1; i++) {
		many[i].ptr = "c";
		many[i].len = 1;
	}

	/* A bounded buffer with earlier content and a consumed front. */
	buf_init(&b, 40);
	buf_append(&b, "0123456789abcdef", 16);
	buf_consume(&b, 6);
	oldlen = b.len;
	oldoff = b.off;
	memcpy(snap, buf_head(&b), buf_used(&b));
	r = proto_encode_publish(&b, 1, "news", 4, NULL, 0,
	    "a string long enough to pass the bound", 38);
	ok(r == -1 && b.len == oldlen && b.off == oldoff &&
	    memcmp(buf_head(&b), snap, buf_used(&b)) == 0,
	    "encode over the buffer's bound fails, buffer unchanged");
	r = proto_encode_ping(&b, 1);
	ok(r == 0 && buf_used(&b) == 10 + 7, "a small frame still fits");
	buf_free(&b);

	/* Over PROTO_MAX_FRAME with an unbounded buffer. */
	buf_init(&b, 0);
	buf_append(&b, "x", 1);
	if ((big = malloc(PROTO_MAX_FRAME)) == NULL)
		abort();
	memset(big, 'a', PROTO_MAX_FRAME);
	/* EVENT's payload is 24 bytes plus the data (str32). */
	r = proto_encode_event(&b, "news", 4, "1-1", 3, "message", 7, big,
	    PROTO_MAX_FRAME - 23);
	ok(r == -1 && buf_used(&b) == 1,
	    "event one byte over PROTO_MAX_FRAME fails, buffer unchanged");
	r = proto_encode_event(&b, "news", 4, "1-1", 3, "message", 7, big,
	    PROTO_MAX_FRAME - 24);
	ok(r == 0 && buf_used(&b) == 1 + PROTO_HEADER_LEN + PROTO_MAX_FRAME,
	    "event of exactly PROTO_MAX_FRAME fits");
	buf_reset(&b);
	r = proto_encode_publish(&b, 1, "news", 4, NULL, 0, big,
	    PROTO_MAX_FRAME);
	ok(r == -1 && buf_used(&b) == 0, "publish of 1 MiB data fails");
	free(big);

	r = proto_encode_subscribe(&b, 1, many, 0, NULL, 0);
	ok(r == -1 && buf_used(&b) == 0, "subscribe to no channel fails");
	r = proto_encode_subscribe(&b, 1, many, PROTO_MAX_CHANNELS + 1, NULL,
	    0);
	ok(r == -1 && buf_used(&b) == 0, "subscribe to 65 channels fails");
	r = proto_encode_subscribe(&b, 1, many, PROTO_MAX_CHANNELS, NULL, 0);
	ok(r == 0, "subscribe to 64 channels works");
	buf_reset(&b);
	r = proto_encode_unsubscribe(&b, 1, many, PROTO_MAX_CHANNELS + 1);
	ok(r == -1 && buf_used(&b) == 0, "unsubscribe from 65 channels fails");
	r = proto_encode_publish_raw(&b, 1, "c", 1, NULL, 0, "\x92\x01", 2);
	ok(r == -1 && buf_used(&b) == 0, "raw data cut short fails");
	r = proto_encode_publish_raw(&b, 1, "c", 1, NULL, 0, "\x01\x02", 2);
	ok(r == -1 && buf_used(&b) == 0, "raw data of two objects fails");
	r = proto_encode_publish_raw(&b, 1, "c", 1, NULL, 0, "", 0);
	ok(r == -1 && buf_used(&b) == 0, "empty raw data fails");
	r = proto_encode_publish(&b, 1, NULL, 3, NULL, 0, "x", 1);
	ok(r == -1 && buf_used(&b) == 0, "NULL channel with a length fails");
	buf_free(&b);
}

/* Decodes p[0..len) frame after frame; checks results stay in bounds. */
static int
decode_all(const unsigned char *p, size_t len)
{
	struct proto_msg	m;
	size_t			used, off = 0;
	char			err[128];
	int			r;

	for (;;) {
		r = proto_decode(p + off, len - off, PROTO_MAX_FRAME, &m, &used,
		    err, sizeof(err));
		if (r != PROTO_OK)
			return (r == PROTO_MORE || r == PROTO_BAD);
		if (used < PROTO_HEADER_LEN + 1 || used > len - off ||
		    proto_type_name(m.type)[0] == 'u') {
			proto_msg_free(&m);
			return (0);
		}
		proto_msg_free(&m);
		off += used;
	}
}

static void
test_mutations(void)
{
	unsigned char	*p, *q;
	size_t		 len, plen, i, j, n, pos, nok = 0;
	int		 good = 1, fix;
	struct proto_msg m;
	size_t		 used;
	char		 err[128];
	int		 r;

	for (i = 0; i < MUTATIONS && good; i++) {
		const struct sample *s = &samples[testrng() % nsamples];

		len = s->len + 8;
		if ((p = malloc(len)) == NULL)
			abort();
		memcpy(p, s->bytes, s->len);
		len = s->len;
		n = 1 + testrng() % 4;
		for (j = 0; j < n && len > 0; j++) {
			pos = testrng() % len;
			switch (testrng() % 6) {
			case 0:		/* flip bits */
				p[pos] ^= (unsigned char)(1u <<
				    (testrng() % 8));
				break;
			case 1:		/* random byte */
				p[pos] = (unsigned char)testrng();
				break;
			case 2:		/* an interesting byte */
				p[pos] = "\x00\x7f\x80\x90\x9f\xc0\xc1\xc4\xdb"
				    "\xdc\xdd\xde\xdf\xff"[testrng() % 14];
				break;
			case 3:		/* delete */
				memmove(p + pos, p + pos + 1, len - pos - 1);
				len--;
				break;
			case 4:		/* insert */
				if (len < s->len + 8) {
					memmove(p + pos + 1, p + pos,
					    len - pos);
					p[pos] = (unsigned char)testrng();
					len++;
				}
				break;
			default:	/* truncate */
				len = pos;
				break;
			}
		}
		/* Mostly keep the length prefix honest, to reach the parser. */
		fix = (testrng() % 4) != 0;
		if (fix && len >= PROTO_HEADER_LEN) {
			plen = len - PROTO_HEADER_LEN;
			p[0] = p[1] = 0;
			p[2] = (unsigned char)(plen >> 8);
			p[3] = (unsigned char)plen;
		}
		/* An exact-size copy: ASan sees any read past the end. */
		if ((q = malloc(len ? len : 1)) == NULL)
			abort();
		memcpy(q, p, len);
		free(p);
		if (!decode_all(q, len)) {
			tap_diag("iteration %zu: bad result", i);
			good = 0;
		}
		r = proto_decode(q, len, PROTO_MAX_FRAME, &m, &used, err,
		    sizeof(err));
		if (r == PROTO_OK) {
			nok++;
			proto_msg_free(&m);
		}
		free(q);
	}
	ok(good, "%d mutated frames: refused or decoded in bounds "
	    "(%zu still valid)", MUTATIONS, nok);

	/* Pure noise, with a plausible length prefix. */
	good = 1;
	for (i = 0; i < MUTATIONS / 4 && good; i++) {
		len = PROTO_HEADER_LEN + testrng() % 48;
		if ((q = malloc(len)) == NULL)
			abort();
		for (j = 0; j < len; j++)
			q[j] = (unsigned char)testrng();
		q[0] = q[1] = q[2] = 0;
		if (testrng() % 2)
			q[3] = (unsigned char)(len - PROTO_HEADER_LEN);
		if (!decode_all(q, len))
			good = 0;
		free(q);
	}
	ok(good, "%d random inputs: refused or decoded in bounds",
	    MUTATIONS / 4);
}

/*
 * The error codes the broker's bounds answer with (TOO_MANY for channel
 * caps, TIMEOUT and BUSY) keep their numbers, which PROTOCOL.md lists,
 * and travel in an ERROR like any other code.
 */
static void
test_bound_codes(void)
{
	static const int	 codes[] = { PROTO_E_TOO_MANY, PROTO_E_TIMEOUT,
				    PROTO_E_BUSY };
	struct proto_msg	 m;
	struct buf		 b;
	char			 err[128];
	size_t			 used, i;
	int			 good = 0;

	is_int(PROTO_E_TOO_MANY, 8, "TOO_MANY is code 8");
	is_int(PROTO_E_TIMEOUT, 11, "TIMEOUT is code 11");
	is_int(PROTO_E_BUSY, 12, "BUSY is code 12");
	buf_init(&b, 0);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		buf_reset(&b);
		if (proto_encode_error(&b, 5, (uint64_t)codes[i], "busy",
		    4) == 0 && proto_decode(buf_head(&b), buf_used(&b),
		    PROTO_MAX_FRAME, &m, &used, err, sizeof(err)) == PROTO_OK) {
			if (m.type == PROTO_ERROR && m.ref == 5 &&
			    m.u.error.code == (uint64_t)codes[i] &&
			    used == buf_used(&b))
				good++;
			proto_msg_free(&m);
		}
	}
	is_int(good, 3, "ERROR with each bound's code round-trips");
	buf_free(&b);
}

/*
 * proto_event_id finds the id in EVENT frames with channels and ids of
 * every string form's edges, and refuses anything else, whole or cut.
 */
static void
test_event_id(void)
{
	static const size_t	 lens[] = { 1, 31, 32, 255, 256, 70000 };
	struct buf		 b;
	char			*chan, *at, id[64];
	const char		*got;
	size_t			 i, k, n, end, idlen, gotlen;
	int			 good = 1, cut = 1, same = 1;

	buf_init(&b, 0);
	if ((chan = malloc(70000)) == NULL)
		abort();
	memset(chan, 'c', 70000);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (idlen = 0; idlen <= 40; idlen += 8) {
			memset(id, '0' + (int)idlen % 10, idlen);
			buf_reset(&b);
			if (proto_encode_event(&b, chan, lens[i], id, idlen,
			    "message", 7, "data", 4) == -1)
				abort();
			n = buf_used(&b);
			if (proto_event_id(buf_head(&b), n, &got,
			    &gotlen) == -1 || gotlen != idlen ||
			    memcmp(got, id, idlen) != 0) {
				tap_diag("channel %zu, id %zu", lens[i], idlen);
				good = 0;
			}
			/* Cut anywhere before the id's end: refused. */
			end = (size_t)(got - buf_head(&b)) + idlen;
			for (k = 0; k < end; k++)
				if (proto_event_id(buf_head(&b), k, &got,
				    &gotlen) == 0) {
					tap_diag("cut at %zu accepted", k);
					cut = 0;
				}
		}
	/* proto_encode_event_at: the same bytes, in the size promised. */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			buf_reset(&b);
			if (proto_encode_event(&b, chan, lens[i], id, 20,
			    chan, lens[k] > 255 ? 255 : lens[k], chan,
			    lens[k]) == -1)
				abort();
			n = proto_event_size(lens[i], 20, lens[k] > 255 ?
			    255 : lens[k], lens[k]);
			if (n != buf_used(&b) || (at = malloc(n)) == NULL) {
				tap_diag("size %zu, frame %zu", n,
				    buf_used(&b));
				same = 0;
				continue;
			}
			proto_encode_event_at(at, n, chan, lens[i], id, 20,
			    chan, lens[k] > 255 ? 255 : lens[k], chan,
			    lens[k]);
			if (memcmp(at, buf_head(&b), n) != 0)
				same = 0;
			free(at);
		}
	ok(same, "proto_encode_event_at: the bytes of proto_encode_event, "
	    "in proto_event_size, for strings of each header form");
	ok(good, "proto_event_id: the id of EVENT frames with channels of "
	    "1 to 70000 bytes and ids of 0 to 40");
	ok(cut, "proto_event_id: a frame cut before the id's end is refused");
	buf_reset(&b);
	proto_encode_published(&b, 1, "a-1", 3);
	ok(proto_event_id(buf_head(&b), buf_used(&b), &got, &gotlen) == -1,
	    "proto_event_id: a PUBLISHED frame is refused");
	free(chan);
	buf_free(&b);
}

int
main(void)
{
	size_t	i;

	testrng_seed(0x9e3779b97f4a7c15ULL);
	make_samples();
	test_round_trip();
	test_stream();
	test_doc_bytes();
	test_field_types();
	test_bad_frames();
	test_encode_bounds();
	test_mutations();
	test_bound_codes();
	test_event_id();
	for (i = 0; i < nsamples; i++)
		free(samples[i].bytes);
	tap_done();
	return (tap_exit_status());
}
