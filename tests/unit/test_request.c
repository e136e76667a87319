/* SPDX-License-Identifier: ISC */
/*
 * The FastCGI request parser: a whole request at every split offset and
 * byte by byte, truncated input, roles it refuses, GET_VALUES, ABORT, a
 * second request on the connection, the params bound, malformed records
 * and random bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fastcgi.h>

#include "buf.h"
#include "request.h"
#include "tap.h"

/* Appends one record with the given padding, built by hand. */
static void
rec(struct buf *b, int type, uint16_t id, const void *c, size_t len,
    size_t pad)
{
	uint8_t	h[8] = { 1, (uint8_t)type, (uint8_t)(id >> 8), (uint8_t)id,
		    (uint8_t)(len >> 8), (uint8_t)len, (uint8_t)pad, 0 };
	uint8_t	z[256] = { 0 };

	buf_append(b, h, 8);
	buf_append(b, c, len);
	buf_append(b, z, pad);
}

static void
begin(struct buf *b, uint16_t id, int role, int flags)
{
	uint8_t	c[8] = { (uint8_t)(role >> 8), (uint8_t)role, (uint8_t)flags };

	rec(b, FCGI_BEGIN_REQUEST, id, c, 8, 0);
}

/*
 * A GET as nginx sends it, but with the params split over two records
 * (a pair across the split) and a value long enough for 4-byte lengths.
 */
static char	longval[300];

static void
valid(struct buf *b, uint16_t id, size_t body)
{
	struct buf	p;
	char		stdin_data[64];
	size_t		cut;

	memset(longval, 'x', sizeof(longval) - 1);
	buf_init(&p, 0);
	request_nv(&p, "REQUEST_METHOD", 14, "GET", 3);
	request_nv(&p, "QUERY_STRING", 12, "channel=a", 9);
	request_nv(&p, "HTTP_X_LONG", 11, longval, strlen(longval));
	request_nv(&p, "EMPTY", 5, "", 0);
	begin(b, id, FCGI_RESPONDER, 0);
	cut = buf_used(&p) / 2 + 3;
	rec(b, FCGI_PARAMS, id, buf_head(&p), cut, 5);
	rec(b, FCGI_PARAMS, id, buf_head(&p) + cut, buf_used(&p) - cut, 0);
	rec(b, FCGI_PARAMS, id, "", 0, 0);
	memset(stdin_data, 'b', sizeof(stdin_data));
	if (body > 0)
		rec(b, FCGI_STDIN, id, stdin_data, body, 3);
	rec(b, FCGI_STDIN, id, "", 0, 0);
	buf_free(&p);
}

/*
 * Feeds data in the given pieces, as a connection would, recording the
 * offsets at which PARAMS_DONE and STDIN_DONE were reported.
 */
struct run {
	size_t			 params_at, stdin_at;
	enum request_status	 last;
	int			 bad;
	struct buf		 out;
};

static void
feed(struct request *r, const char *data, size_t len, const size_t *cuts,
    size_t ncuts, struct run *run)
{
	size_t			 start = 0, end, i, off, used;
	enum request_status	 st;
	char			 err[128];

	memset(run, 0, sizeof(*run));
	buf_init(&run->out, 0);
	run->params_at = run->stdin_at = (size_t)-1;
	for (i = 0; i <= ncuts; i++) {
		end = i < ncuts ? cuts[i] : len;
		off = start;
		while (off < end) {
			st = request_feed(r, data + off, end - off, &used,
			    &run->out, err, sizeof(err));
			if (used > end - off)
				run->bad = 1;
			off += used;
			run->last = st;
			if (st == REQUEST_PARAMS_DONE)
				run->params_at = off;
			else if (st == REQUEST_STDIN_DONE)
				run->stdin_at = off;
			else if (st != REQUEST_MORE)
				return;
		}
		start = end;
	}
}

static void
test_valid(void)
{
	struct buf	 b;
	struct request	 r;
	struct run	 run;
	size_t		 k, len, cut, params_end, ok_splits = 0, *cuts;
	const char	*data;

	buf_init(&b, 0);
	valid(&b, 1, 0);
	data = buf_head(&b);
	len = buf_used(&b);
	params_end = len - 8 * 1;	/* before the empty STDIN */

	request_init(&r, 100);
	feed(&r, data, len, NULL, 0, &run);
	is_int(run.params_at, params_end, "params end right after the "
	    "empty PARAMS record");
	is_int(run.stdin_at, len, "request whole after the empty STDIN");
	ok(r.begun && r.id == 1 && r.role == FCGI_RESPONDER, "BEGIN read");
	is_str(request_param(&r, "REQUEST_METHOD"), "GET", "method");
	is_str(request_param(&r, "QUERY_STRING"), "channel=a", "query");
	is_str(request_param(&r, "HTTP_X_LONG"), longval,
	    "a 299-byte value (4-byte length)");
	is_str(request_param(&r, "EMPTY"), "", "an empty value");
	ok(request_param(&r, "NOPE") == NULL, "a missing param is NULL");
	is_int(buf_used(&run.out), 0, "nothing to answer");
	buf_free(&run.out);
	request_free(&r);

	/* Every split into two pieces. */
	for (k = 0; k <= len; k++) {
		cut = k;
		request_init(&r, 100);
		feed(&r, data, len, &cut, 1, &run);
		if (run.params_at == params_end && run.stdin_at == len &&
		    !run.bad &&
		    strcmp(request_param(&r, "HTTP_X_LONG"), longval) == 0)
			ok_splits++;
		buf_free(&run.out);
		request_free(&r);
	}
	is_int(ok_splits, len + 1, "same result split at every offset");

	/* Byte by byte. */
	cuts = calloc(len, sizeof(*cuts));
	for (k = 0; k < len; k++)
		cuts[k] = k;
	request_init(&r, 100);
	feed(&r, data, len, cuts, len, &run);
	ok(run.params_at == params_end && run.stdin_at == len && !run.bad,
	    "same result byte by byte");
	buf_free(&run.out);
	request_free(&r);
	free(cuts);

	/* Truncated: no prefix is a whole request. */
	ok_splits = 0;
	for (k = 0; k < len; k++) {
		request_init(&r, 100);
		feed(&r, data, k, NULL, 0, &run);
		if (run.stdin_at == (size_t)-1 &&
		    (run.last == REQUEST_MORE ||
		    run.last == REQUEST_PARAMS_DONE) &&
		    (run.params_at == (size_t)-1) == (k < params_end))
			ok_splits++;
		buf_free(&run.out);
		request_free(&r);
	}
	is_int(ok_splits, len, "no truncation of it is whole");
	buf_free(&b);

	/* A body is counted, not kept. */
	buf_init(&b, 0);
	valid(&b, 7, 50);
	request_init(&r, 100);
	feed(&r, buf_head(&b), buf_used(&b), NULL, 0, &run);
	ok(run.stdin_at == buf_used(&b) && r.body == 50 && r.id == 7,
	    "50 body bytes counted, request id 7");
	buf_free(&run.out);
	request_free(&r);
	buf_free(&b);
}

static void
test_roles(void)
{
	struct buf	 b, want;
	struct request	 r;
	struct run	 run;
	int		 role;

	for (role = FCGI_AUTHORIZER; role <= FCGI_FILTER + 1; role++) {
		buf_init(&b, 0);
		begin(&b, 3, role, FCGI_KEEP_CONN);
		rec(&b, FCGI_PARAMS, 3, "", 0, 0);
		request_init(&r, 100);
		feed(&r, buf_head(&b), buf_used(&b), NULL, 0, &run);
		buf_init(&want, 0);
		request_end(&want, 3, FCGI_UNKNOWN_ROLE);
		ok(run.last == REQUEST_REFUSED, "role %d refused", role);
		tap_is_mem(buf_head(&run.out), buf_used(&run.out),
		    buf_head(&want), buf_used(&want),
		    "role %d: END_REQUEST with FCGI_UNKNOWN_ROLE", role);
		ok(buf_used(&want) == 16 && buf_head(&want)[1] ==
		    FCGI_END_REQUEST && buf_head(&want)[12] ==
		    FCGI_UNKNOWN_ROLE, "role %d: the bytes are the spec's",
		    role);
		buf_free(&want);
		buf_free(&run.out);
		request_free(&r);
		buf_free(&b);
	}
}

static void
test_management(void)
{
	struct buf	 b, q, want;
	struct request	 r;
	struct run	 run;
	uint8_t		 unk[8] = { 200 };

	buf_init(&b, 0);
	buf_init(&q, 0);
	request_nv(&q, "FCGI_MAX_CONNS", 14, "", 0);
	request_nv(&q, "FCGI_MPXS_CONNS", 15, "", 0);
	request_nv(&q, "FCGI_WHATEVER", 13, "", 0);
	request_nv(&q, "FCGI_MAX_REQS", 13, "", 0);
	rec(&b, FCGI_GET_VALUES, 0, buf_head(&q), buf_used(&q), 0);
	rec(&b, 200, 0, "abc", 3, 5);
	request_init(&r, 4242);
	feed(&r, buf_head(&b), buf_used(&b), NULL, 0, &run);
	buf_init(&want, 0);
	buf_reset(&q);
	request_nv(&q, "FCGI_MAX_CONNS", 14, "4242", 4);
	request_nv(&q, "FCGI_MPXS_CONNS", 15, "0", 1);
	request_nv(&q, "FCGI_MAX_REQS", 13, "4242", 4);
	rec(&want, FCGI_GET_VALUES_RESULT, 0, buf_head(&q), buf_used(&q),
	    (8 - buf_used(&q) % 8) % 8);
	rec(&want, FCGI_UNKNOWN_TYPE, 0, unk, 8, 0);
	ok(run.last == REQUEST_MORE, "management records do not end anything");
	tap_is_mem(buf_head(&run.out), buf_used(&run.out), buf_head(&want),
	    buf_used(&want), "GET_VALUES answered (MPXS_CONNS 0, unknown "
	    "names left out), an unknown type gets UNKNOWN_TYPE");
	buf_free(&want);
	buf_free(&q);
	buf_free(&run.out);
	request_free(&r);
	buf_free(&b);
}

static void
test_abort_mpx(void)
{
	struct buf	 b, want;
	struct request	 r;
	struct run	 run;

	buf_init(&b, 0);
	begin(&b, 1, FCGI_RESPONDER, 0);
	rec(&b, FCGI_ABORT_REQUEST, 9, "", 0, 0);	/* not ours: skipped */
	rec(&b, FCGI_ABORT_REQUEST, 1, "", 0, 0);
	request_init(&r, 1);
	feed(&r, buf_head(&b), buf_used(&b), NULL, 0, &run);
	ok(run.last == REQUEST_ABORTED, "ABORT_REQUEST of ours ends it");
	buf_free(&run.out);
	request_free(&r);
	buf_free(&b);

	buf_init(&b, 0);
	begin(&b, 1, FCGI_RESPONDER, 0);
	begin(&b, 2, FCGI_RESPONDER, 0);
	rec(&b, FCGI_PARAMS, 2, "\1\1ab", 4, 4);	/* skipped */
	rec(&b, FCGI_PARAMS, 1, "\1\1ab", 4, 4);
	rec(&b, FCGI_PARAMS, 1, "", 0, 0);
	rec(&b, FCGI_STDIN, 1, "", 0, 0);
	request_init(&r, 1);
	feed(&r, buf_head(&b), buf_used(&b), NULL, 0, &run);
	buf_init(&want, 0);
	request_end(&want, 2, FCGI_CANT_MPX_CONN);
	tap_is_mem(buf_head(&run.out), buf_used(&run.out), buf_head(&want),
	    buf_used(&want), "a second request gets FCGI_CANT_MPX_CONN");
	ok(run.stdin_at == buf_used(&b) && r.id == 1 &&
	    strcmp(request_param(&r, "a") ? request_param(&r, "a") : "",
	    "b") == 0, "and the first goes on");
	buf_free(&want);
	buf_free(&run.out);
	request_free(&r);
	buf_free(&b);
}

static void
test_bounds(void)
{
	struct buf	 b, p;
	struct request	 r;
	struct run	 run;
	char		*big;
	size_t		 vlen, n, off;

	/* Params exactly at the bound pass, one byte over does not. */
	vlen = REQUEST_MAX_PARAMS - 1 - 4 - 1;
	big = malloc(vlen + 2);
	memset(big, 'v', vlen + 1);
	for (n = 0; n < 2; n++) {
		buf_init(&p, 0);
		request_nv(&p, "Q", 1, big, vlen + n);
		buf_init(&b, 0);
		begin(&b, 1, FCGI_RESPONDER, 0);
		for (off = 0; off < buf_used(&p); off += 60000)
			rec(&b, FCGI_PARAMS, 1, buf_head(&p) + off,
			    buf_used(&p) - off > 60000 ? 60000 :
			    buf_used(&p) - off, 0);
		rec(&b, FCGI_PARAMS, 1, "", 0, 0);
		request_init(&r, 1);
		feed(&r, buf_head(&b), buf_used(&b), NULL, 0, &run);
		if (n == 0)
			ok(run.params_at == buf_used(&b) &&
			    strlen(request_param(&r, "Q")) == vlen,
			    "params of exactly %d bytes pass",
			    REQUEST_MAX_PARAMS);
		else
			ok(run.last == REQUEST_TOO_BIG,
			    "params one byte over are REQUEST_TOO_BIG");
		buf_free(&run.out);
		request_free(&r);
		buf_free(&b);
		buf_free(&p);
	}
	free(big);
}

/* Each malformed input, after a valid BEGIN where it says so. */
static void
test_malformed(void)
{
	static const struct {
		const char	*name;
		int		 type, id, with_begin;
		const char	*c;
		size_t		 len;
	} bad[] = {
		{ "a BEGIN_REQUEST of 7 bytes", FCGI_BEGIN_REQUEST, 1, 0,
		    "\0\1\0\0\0\0\0", 7 },
		{ "a name length past the end", FCGI_PARAMS, 1, 1,
		    "\5\1ab", 4 },
		{ "a 4-byte length cut short", FCGI_PARAMS, 1, 1,
		    "\x80\0", 2 },
		{ "STDIN before the params end", FCGI_STDIN, 1, 1, "x", 1 },
		{ "a BEGIN_REQUEST twice", FCGI_BEGIN_REQUEST, 1, 1,
		    "\0\1\0\0\0\0\0\0", 8 },
	};
	struct buf	 b;
	struct request	 r;
	struct run	 run;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_init(&b, 0);
		if (bad[i].with_begin)
			begin(&b, 1, FCGI_RESPONDER, 0);
		rec(&b, bad[i].type, (uint16_t)bad[i].id, bad[i].c, bad[i].len,
		    0);
		if (bad[i].type == FCGI_PARAMS)
			rec(&b, FCGI_PARAMS, 1, "", 0, 0);
		request_init(&r, 1);
		feed(&r, buf_head(&b), buf_used(&b), NULL, 0, &run);
		ok(run.last == REQUEST_ERROR, "%s is an error", bad[i].name);
		buf_free(&run.out);
		request_free(&r);
		buf_free(&b);
	}

	buf_init(&b, 0);
	begin(&b, 1, FCGI_RESPONDER, 0);
	b.data[0] = 2;
	request_init(&r, 1);
	feed(&r, buf_head(&b), buf_used(&b), NULL, 0, &run);
	ok(run.last == REQUEST_ERROR && run.bad == 0,
	    "version 2 is an error, at once");
	buf_free(&run.out);
	request_free(&r);
	buf_free(&b);
}

/* Random bytes, and random bytes after a valid BEGIN: no crash, no overrun. */
static void
test_random(void)
{
	static uint64_t	 s = 0x9e3779b97f4a7c15ULL;
	struct buf	 b;
	struct request	 r;
	struct run	 run;
	uint8_t		 data[512];
	size_t		 i, j, len, bad = 0;

	for (i = 0; i < 20000; i++) {
		buf_init(&b, 0);
		if (i % 2)
			begin(&b, 1, FCGI_RESPONDER, 0);
		len = (size_t)(i % sizeof(data));
		for (j = 0; j < len; j++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			data[j] = (uint8_t)s;
			if (j % 8 == 0 && (s & 0x300) != 0)
				data[j] = 1;	/* mostly version 1 */
		}
		buf_append(&b, data, len);
		request_init(&r, 1);
		feed(&r, buf_head(&b), buf_used(&b), NULL, 0, &run);
		bad += run.bad;
		buf_free(&run.out);
		request_free(&r);
		buf_free(&b);
	}
	is_int(bad, 0, "20000 random inputs: nothing taken past the input");
}

int
main(void)
{
	test_valid();
	test_roles();
	test_management();
	test_abort_mpx();
	test_bounds();
	test_malformed();
	test_random();
	tap_done();
	return (tap_exit_status());
}
