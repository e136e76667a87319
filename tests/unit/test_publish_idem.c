/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of PUBLISH_ONCE: the frame (message 12) round-trips, decodes
 * the same cut at every byte offset, is refused truncated, with a field
 * of the wrong type and under random mutation; and the broker's table of
 * idempotency keys (broker/idem.c) keeps, finds, scopes, expires and
 * bounds its keys, with the time passed in.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "buf.h"
#include "idem.h"
#include "proto.h"
#include "tap.h"
#include "testrng.h"

static int
str_is(struct proto_str s, const char *want)
{
	if (want == NULL)
		return (s.ptr == NULL);
	return (s.ptr != NULL && s.len == strlen(want) &&
	    memcmp(s.ptr, want, s.len) == 0);
}

/* Decodes a copy of exactly len bytes (so ASan sees any overread). */
static int
decode_copy(const void *p, size_t len, struct proto_msg *m, size_t *used)
{
	char	*copy = malloc(len > 0 ? len : 1);
	char	 err[128];
	int	 rv;

	if (copy == NULL)
		abort();
	memcpy(copy, p, len);
	rv = proto_decode(copy, len, PROTO_MAX_FRAME, m, used, err,
	    sizeof(err));
	if (rv == PROTO_OK) {
		/* The strings point into copy: check before freeing it. */
		rv = m->type == PROTO_PUBLISH_ONCE &&
		    str_is(m->u.publish.channel, "news") &&
		    str_is(m->u.publish.key, "key-1") ? PROTO_OK : -2;
		proto_msg_free(m);
	}
	free(copy);
	return (rv);
}

static void
test_frame(void)
{
	struct buf		 b;
	struct proto_msg	 m;
	size_t			 used, i, bad = 0, len;
	char			 err[128];
	int			 rv;

	buf_init(&b, 0);
	ok(proto_encode_publish_once(&b, 42, "news", 4, "tick", 4, "a\nb", 3,
	    "key-1", 5) == 0, "encode PUBLISH_ONCE");
	len = buf_used(&b);
	rv = proto_decode(buf_head(&b), len, PROTO_MAX_FRAME, &m, &used, err,
	    sizeof(err));
	ok(rv == PROTO_OK && used == len, "decodes whole");
	is_int(m.type, PROTO_PUBLISH_ONCE, "type 12");
	is_int((long long)m.ref, 42, "ref");
	ok(str_is(m.u.publish.channel, "news"), "channel");
	ok(str_is(m.u.publish.type, "tick"), "type");
	ok(m.u.publish.data->type == MSGPACK_OBJECT_STR &&
	    m.u.publish.data->via.str.size == 3 &&
	    memcmp(m.u.publish.data->via.str.ptr, "a\nb", 3) == 0, "data");
	ok(str_is(m.u.publish.key, "key-1"), "key");
	is_str(proto_type_name(PROTO_PUBLISH_ONCE), "PUBLISH_ONCE", "name");
	proto_msg_free(&m);

	/* The bytes PROTOCOL.md shows. */
	{
		static const unsigned char want[] = {
			0x00, 0x00, 0x00, 0x15, 0x96, 0x0c, 0x07,
			0xa4, 'n', 'e', 'w', 's', 0xc0, 0xa2, 'h', 'i',
			0xa8, '3', 'f', '1', 'c', '2', 'a', '9', 'e' };
		struct buf	d;

		buf_init(&d, 0);
		ok(proto_encode_publish_once(&d, 7, "news", 4, NULL, 0, "hi",
		    2, "3f1c2a9e", 8) == 0, "encode the documented example");
		tap_is_mem(buf_head(&d), buf_used(&d), want, sizeof(want),
		    "bytes as PROTOCOL.md shows them");
		buf_free(&d);
	}

	/* Every prefix is MORE; the whole is OK. */
	for (i = 0; i < len; i++) {
		rv = decode_copy(buf_head(&b), i, &m, &used);
		if (rv != PROTO_MORE)
			bad++;
	}
	is_int((long long)bad, 0, "every prefix of %zu bytes is MORE", len);
	ok(decode_copy(buf_head(&b), len, &m, &used) == PROTO_OK,
	    "whole copy decodes");

	/* Two frames back to back, fed in two parts at every offset. */
	ok(proto_encode_publish_once(&b, 43, "news", 4, NULL, 0, "", 0,
	    "key-1", 5) == 0, "encode a second, type nil, empty data");
	for (i = 0, bad = 0; i <= buf_used(&b); i++) {
		rv = decode_copy(buf_head(&b), i, &m, &used);
		if ((i < len && rv != PROTO_MORE) ||
		    (i >= len && (rv != PROTO_OK || used != len)))
			bad++;
	}
	is_int((long long)bad, 0, "two frames cut at every offset");

	/* Key of the wrong type, or nil: refused. */
	buf_reset(&b);
	ok(proto_encode_publish_once(&b, 1, "news", 4, NULL, 0, "x", 1,
	    NULL, 0) == 0, "an empty key encodes (the broker refuses it)");
	rv = proto_decode(buf_head(&b), buf_used(&b), PROTO_MAX_FRAME, &m,
	    &used, err, sizeof(err));
	ok(rv == PROTO_OK && m.u.publish.key.len == 0, "empty key decodes");
	if (rv == PROTO_OK)
		proto_msg_free(&m);
	{
		/* [12, 1, "news", nil, "x", nil], the same with key 5,
		   and without a key */
		unsigned char f1[] = { 0, 0, 0, 12, 0x96, 0x0c, 0x01,
		    0xa4, 'n', 'e', 'w', 's', 0xc0, 0xa1, 'x', 0xc0 };
		unsigned char f2[sizeof(f1)];
		unsigned char f3[] = { 0, 0, 0, 11, 0x95, 0x0c, 0x01,
		    0xa4, 'n', 'e', 'w', 's', 0xc0, 0xa1, 'x' };

		memcpy(f2, f1, sizeof(f1));
		f2[sizeof(f2) - 1] = 0x05;
		ok(proto_decode(f1, sizeof(f1), 0, &m, &used, err,
		    sizeof(err)) == PROTO_BAD, "nil key refused: %s", err);
		ok(proto_decode(f2, sizeof(f2), 0, &m, &used, err,
		    sizeof(err)) == PROTO_BAD, "integer key refused: %s", err);
		ok(proto_decode(f3, sizeof(f3), 0, &m, &used, err,
		    sizeof(err)) == PROTO_BAD, "missing key refused: %s", err);
	}

	/* Random mutations: never a crash or an overread. */
	buf_reset(&b);
	ok(proto_encode_publish_once(&b, 42, "news", 4, "tick", 4, "a\nb", 3,
	    "key-1", 5) == 0, "encode again for mutations");
	len = buf_used(&b);
	for (i = 0; i < 20000; i++) {
		unsigned char	*p = malloc(len);
		size_t		 n = 1 + testrng() % 3, j;
		size_t		 cut = len - testrng() % 4;

		memcpy(p, buf_head(&b), len);
		for (j = 0; j < n; j++)
			p[testrng() % len] = (unsigned char)testrng();
		rv = proto_decode(p, cut, 0, &m, &used, err, sizeof(err));
		if (rv == PROTO_OK)
			proto_msg_free(&m);
		free(p);
	}
	ok(1, "20000 mutated frames decoded or refused");
	buf_free(&b);
}

static void
test_idem(void)
{
	struct idem	 t;
	const char	*id;
	size_t		 idlen = 0, i, fails;
	char		 key[32];
	static char	 big[1000];

	ok(idem_init(&t, 0, 0) == 0, "init");
	ok(idem_find(&t, "news", 4, "k", 1, 100, &idlen) == NULL,
	    "unknown key");
	ok(idem_add(&t, "news", 4, "k", 1, "ep-1", 4, 100) == 0, "add");
	id = idem_find(&t, "news", 4, "k", 1, 100 + IDEM_TTL - 0.001, &idlen);
	ok(id != NULL && idlen == 4 && memcmp(id, "ep-1", 4) == 0,
	    "found just before 300 s");
	is_int((long long)t.repeats, 1, "counted as a repeat");
	ok(idem_find(&t, "sport", 5, "k", 1, 101, &idlen) == NULL,
	    "same key, other channel: another key");
	ok(idem_find(&t, "new", 3, "sk", 2, 101, &idlen) == NULL,
	    "channel and key do not run together (new+sk vs news+k)");
	ok(idem_find(&t, "news", 4, "k", 1, 100 + IDEM_TTL, &idlen) == NULL,
	    "gone at 300 s");
	is_int((long long)idem_count(&t), 0, "expired key freed");
	idem_free(&t);

	/* Count bound: the oldest go first. */
	ok(idem_init(&t, 3, 0) == 0, "init, at most 3 keys");
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		idem_add(&t, "c", 1, key, strlen(key), "id", 2, 10 + (double)i);
	}
	is_int((long long)idem_count(&t), 3, "3 keys held");
	is_int((long long)t.evictions, 2, "2 evicted");
	ok(idem_find(&t, "c", 1, "k0", 2, 20, &idlen) == NULL &&
	    idem_find(&t, "c", 1, "k1", 2, 20, &idlen) == NULL,
	    "the two oldest went");
	ok(idem_find(&t, "c", 1, "k4", 2, 20, &idlen) != NULL, "newest kept");
	/* The same key again replaces, without evicting another. */
	idem_add(&t, "c", 1, "k4", 2, "id2", 3, 21);
	is_int((long long)idem_count(&t), 3, "re-add keeps the count");
	id = idem_find(&t, "c", 1, "k4", 2, 22, &idlen);
	ok(id != NULL && idlen == 3 && memcmp(id, "id2", 3) == 0,
	    "re-added key has the new id");
	/* Expiry in order of adding. */
	idem_expire(&t, 12 + IDEM_TTL + 0.5);
	is_int((long long)idem_count(&t), 2, "expire pops the oldest only");
	idem_free(&t);

	/* Memory bound. */
	ok(idem_init(&t, 0, 1000) == 0, "init, at most 1000 bytes");
	for (i = 0, fails = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "key-%zu", i);
		if (idem_add(&t, "chan", 4, key, strlen(key), "epoch-123", 9,
		    1) == -1)
			fails++;
	}
	is_int((long long)fails, 0, "100 adds past the memory bound succeed");
	ok(t.bytes <= 1000, "bytes held %zu <= 1000", t.bytes);
	ok(idem_count(&t) > 0 && idem_count(&t) < 100, "some kept (%zu)",
	    idem_count(&t));
	is_int((long long)(t.evictions + idem_count(&t)), 100,
	    "every key either kept or counted as evicted");
	memset(big, 'b', sizeof(big));
	ok(idem_add(&t, "chan", 4, big, sizeof(big), "x", 1, 2) == -1,
	    "an entry over the whole bound is refused");
	idem_free(&t);
	idem_free(&t);	/* twice is harmless */
}

int
main(void)
{
	testrng_seed(0x2545f4914f6cdd1dULL);
	test_frame();
	test_idem();
	tap_done();
	return (tap_exit_status());
}
