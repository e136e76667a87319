/* SPDX-License-Identifier: ISC */
/*
 * A fuzz target for the responder's request parsing: the FastCGI request
 * parser (fcgi/request.c) and the HTTP parts of fcgi/http.c it feeds
 * (method, query string, Last-Event-ID, Origin and the preflight's
 * request headers).  The first input byte chooses the path: with its top
 * bit set the rest is split at newlines into a query, a Last-Event-ID,
 * an Origin and Access-Control-Request-Headers and goes straight to
 * http.c; otherwise it is a FastCGI connection's bytes, fed in two pieces
 * split where the low bits say, and the params of any request that
 * completes go through http.c the same way.  With -DFUZZ_LIBFUZZER it
 * is a libFuzzer target (see README); without, main() runs a smoke test
 * for `make check`, as fuzz_proto does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "request.h"
#include "smoke.h"


static struct http_cors	fuzz_cors;
static int		fuzz_cors_ready;

/* Everything the responder does with one request's HTTP side. */
static void
fuzz_http(const char *method, const char *query, const char *lastid,
    const char *origin, const char *reqh)
{
	struct http_req	 r;
	struct buf	 b;
	char		 err[128];
	size_t		 i, len;
	const char	*name;

	if (!fuzz_cors_ready) {
		if (http_cors_add(&fuzz_cors, "https://a.example, "
		    "https://b.example:8443") == -1)
			abort();
		fuzz_cors_ready = 1;
	}
	(void)http_method(method);
	http_req_init(&r);
	if (lastid != NULL)
		http_set_lastid(&r, lastid, strlen(lastid));
	if (http_parse_query(&r, query, "channel", HTTP_MAX_CHANNELS, err,
	    sizeof(err)) == 0) {
		if (r.nchan == 0 || r.nchan > HTTP_MAX_CHANNELS)
			abort();
		for (i = 0; i < r.nchan; i++) {
			name = http_req_channel(&r, i, &len);
			if (name == NULL || len == 0 || strlen(name) != len)
				abort();
		}
	} else if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (r.lastidlen > HTTP_LASTID_MAX)
		abort();
	http_req_free(&r);
	buf_init(&b, 0);
	(void)http_cors_allow(&fuzz_cors, origin);
	(void)http_stream_headers(&b, &fuzz_cors, origin);
	(void)http_preflight(&b, &fuzz_cors, origin, reqh);
	(void)http_error(&b, 400, "x", &fuzz_cors, origin);
	buf_free(&b);
}

/* Splits data at newlines into up to n NUL-terminated fields. */
static void
fuzz_fields(const uint8_t *data, size_t size, char **f, size_t n)
{
	size_t	i, start = 0, k = 0;

	for (i = 0; i <= size && k < n; i++) {
		if (i == size || data[i] == '\n') {
			f[k] = malloc(i - start + 1);
			memcpy(f[k], data + start, i - start);
			f[k][i - start] = '\0';
			k++;
			start = i + 1;
		}
	}
	for (; k < n; k++)
		f[k] = NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request		 r;
	struct buf		 out;
	enum request_status	 st = REQUEST_MORE;
	char			 err[128], *f[5];
	size_t			 cut, off, end, used, i;

	if (size == 0)
		return (0);
	if (data[0] & 0x80) {
		fuzz_fields(data + 1, size - 1, f, 5);
		fuzz_http(f[0], f[1], f[2], f[3], f[4]);
		for (i = 0; i < 5; i++)
			free(f[i]);
		return (0);
	}
	cut = (size_t)data[0] * 4;
	data++;
	size--;
	if (cut > size)
		cut = size;
	request_init(&r, 100);
	buf_init(&out, 0);
	for (off = 0; off < size; off += used) {
		end = off < cut ? cut : size;
		st = request_feed(&r, data + off, end - off, &used, &out, err,
		    sizeof(err));
		if (used > end - off)
			abort();
		if (st == REQUEST_PARAMS_DONE)
			fuzz_http(request_param(&r, "REQUEST_METHOD"),
			    request_param(&r, "QUERY_STRING"),
			    request_param(&r, "HTTP_LAST_EVENT_ID"),
			    request_param(&r, "HTTP_ORIGIN"),
			    request_param(&r,
			    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"));
		else if (st != REQUEST_MORE && st != REQUEST_STDIN_DONE)
			break;
		if (used == 0 && st == REQUEST_MORE)
			abort();	/* no progress */
	}
	/* Whatever it answers is whole records. */
	for (off = 0; buf_used(&out) - off >= 8; )
		off += 8 + (size_t)((uint8_t)buf_head(&out)[off + 4] << 8 |
		    (uint8_t)buf_head(&out)[off + 5]) +
		    (uint8_t)buf_head(&out)[off + 6];
	if (off != buf_used(&out))
		abort();
	buf_free(&out);
	request_free(&r);
	return (0);
}

#ifndef FUZZ_LIBFUZZER
#define SMOKE_RUNS	20000

/* Appends one record by hand. */
static void
seed_rec(struct buf *b, int type, const void *c, size_t len)
{
	uint8_t	h[8] = { 1, (uint8_t)type, 0, 1, (uint8_t)(len >> 8),
		    (uint8_t)len, 0, 0 };

	buf_append(b, h, 8);
	buf_append(b, c, len);
}

int
main(int argc, char **argv)
{
	static const char	 http_seed[] = "\x80GET\nchannel=a&channel=b%20c"
	    "&last_event_id=abc-1\nabc-2\nhttps://a.example\n"
	    "last-event-id, x-other";
	struct buf		 seed, p;
	unsigned char		 tmp[1024];
	size_t			 i, j, len;

	if (argc > 1)
		return (smoke_files(argc, argv, "parsed"));

	/* Seeds: a whole GET over FastCGI, and the HTTP fields alone. */
	buf_init(&seed, 0);
	buf_init(&p, 0);
	buf_append_byte(&seed, 3);	/* split at 12 */
	seed_rec(&seed, 1, "\0\1\0\0\0\0\0\0", 8);
	request_nv(&p, "REQUEST_METHOD", 14, "GET", 3);
	request_nv(&p, "QUERY_STRING", 12, "channel=news&channel=b", 22);
	request_nv(&p, "HTTP_LAST_EVENT_ID", 18, "abc-12", 6);
	request_nv(&p, "HTTP_ORIGIN", 11, "https://a.example", 17);
	seed_rec(&seed, 4, buf_head(&p), buf_used(&p));
	seed_rec(&seed, 4, "", 0);
	seed_rec(&seed, 5, "", 0);
	smoke_one(buf_head(&seed), buf_used(&seed));
	smoke_one(http_seed, sizeof(http_seed) - 1);

	for (i = 0; i < SMOKE_RUNS; i++) {
		if (i % 2) {
			len = buf_used(&seed);
			memcpy(tmp, buf_head(&seed), len);
		} else {
			len = sizeof(http_seed) - 1;
			memcpy(tmp, http_seed, len);
		}
		for (j = 0; j < 1 + smoke_rng() % 8; j++)
			tmp[1 + smoke_rng() % (len - 1)] =
			    (unsigned char)smoke_rng();
		if (i % 2 && (tmp[0] & 0x80))
			tmp[0] &= 0x7f;
		smoke_one(tmp, smoke_rng() % (len + 1));
	}
	buf_free(&p);
	buf_free(&seed);
	printf("1..1\nok 1 - %d mutated requests parsed or refused\n",
	    SMOKE_RUNS);
	return (0);
}
#endif
