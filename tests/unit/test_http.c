/* SPDX-License-Identifier: ISC */
/*
 * Query parsing (percent-decoding, repeated params, caps, invalid input),
 * the cursor, and CORS decisions and headers.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "tap.h"

/* Parses q with param "channel" and cap 4; returns the result. */
static int
parse(struct http_req *r, const char *q, char *err, size_t errlen)
{
	http_req_init(r);
	return (http_parse_query(r, q, "channel", 4, err, errlen));
}

static const char *
chan(const struct http_req *r, size_t i)
{
	return (http_req_channel(r, i, NULL));
}

/* The headers a response function produced, as a C string. */
static const char *
text(struct buf *b)
{
	buf_append_byte(b, 0);
	b->len--;
	return (buf_head(b));
}

int
main(void)
{
	struct http_req		 r;
	struct http_cors	 none = { 0 }, any = { 0 }, list = { 0 };
	struct buf		 b;
	char			 err[128], out[64];
	size_t			 len;

	ok(http_pct_decode("a%20b+c%2Bd%e2%82%AC", 20, out, &len) == 0 &&
	    len == 10 && memcmp(out, "a b c+d\xe2\x82\xac", 10) == 0,
	    "percent-decoding, + as space, either hex case");
	ok(http_pct_decode("a%2", 3, out, &len) == -1, "truncated escape");
	ok(http_pct_decode("a%", 2, out, &len) == -1, "lone %% at the end");
	ok(http_pct_decode("%zz", 3, out, &len) == -1, "non-hex escape");

	ok(parse(&r, "channel=news", err, sizeof(err)) == 0 && r.nchan == 1 &&
	    strcmp(chan(&r, 0), "news") == 0, "one channel");
	http_req_free(&r);
	ok(parse(&r, "x=1&channel=a&channel=b%2Fc&y&channel=a", err,
	    sizeof(err)) == 0 && r.nchan == 2 &&
	    strcmp(chan(&r, 0), "a") == 0 && strcmp(chan(&r, 1), "b/c") == 0,
	    "repeated channel params, duplicates once, others ignored");
	http_req_free(&r);
	ok(parse(&r, "ch%61nnel=%C3%A9t%C3%A9", err, sizeof(err)) == 0 &&
	    r.nchan == 1 && strcmp(chan(&r, 0), "\xc3\xa9t\xc3\xa9") == 0,
	    "names and values are decoded (UTF-8 channel)");
	http_req_free(&r);
	ok(parse(&r, "channel=a&channel=b&channel=c&channel=d", err,
	    sizeof(err)) == 0 && r.nchan == 4, "up to the cap");
	http_req_free(&r);
	ok(parse(&r, "channel=a&channel=b&channel=c&channel=d&channel=e", err,
	    sizeof(err)) == -1 && strstr(err, "too many") != NULL,
	    "over the cap: too many channels");
	http_req_free(&r);
	ok(parse(&r, "", err, sizeof(err)) == -1 &&
	    strstr(err, "missing") != NULL, "no query: missing channel");
	http_req_free(&r);
	ok(parse(&r, "other=1", err, sizeof(err)) == -1, "no channel param");
	http_req_free(&r);
	http_req_init(&r);
	ok(http_parse_query(&r, NULL, "channel", 4, err, sizeof(err)) == -1,
	    "NULL query string");
	http_req_free(&r);
	ok(parse(&r, "channel=", err, sizeof(err)) == -1 &&
	    strstr(err, "invalid channel") != NULL, "empty channel invalid");
	http_req_free(&r);
	ok(parse(&r, "channel=a+b", err, sizeof(err)) == -1,
	    "space (from +) is invalid in a channel");
	http_req_free(&r);
	ok(parse(&r, "channel=a%0Ab", err, sizeof(err)) == -1,
	    "LF is invalid in a channel");
	http_req_free(&r);
	ok(parse(&r, "channel=a%00b", err, sizeof(err)) == -1,
	    "NUL is invalid in a channel");
	http_req_free(&r);
	ok(parse(&r, "channel=%ff", err, sizeof(err)) == -1,
	    "invalid UTF-8 is invalid");
	http_req_free(&r);
	ok(parse(&r, "channel=a%g0", err, sizeof(err)) == -1 &&
	    strstr(err, "percent") != NULL, "bad escape is a 400");
	http_req_free(&r);
	{
		char	q[400];

		memcpy(q, "channel=", 8);
		memset(q + 8, 'x', 256);
		q[8 + 256] = '\0';
		ok(parse(&r, q, err, sizeof(err)) == -1,
		    "256-byte channel is too long");
		http_req_free(&r);
		q[8 + 255] = '\0';
		ok(parse(&r, q, err, sizeof(err)) == 0,
		    "255-byte channel is fine");
		http_req_free(&r);
	}

	http_req_init(&r);
	ok(http_parse_query(&r, "invitationIdentifier=abc&channel=x",
	    "invitationIdentifier", 16, err, sizeof(err)) == 0 &&
	    r.nchan == 1 && strcmp(chan(&r, 0), "abc") == 0,
	    "configurable param name");
	http_req_free(&r);

	ok(parse(&r, "channel=a&last_event_id=k1-5", err, sizeof(err)) == 0 &&
	    r.lastid_state == HTTP_LASTID_SET && strcmp(r.lastid, "k1-5") == 0,
	    "last_event_id from the query");
	http_req_free(&r);
	http_req_init(&r);
	http_set_lastid(&r, "k1-9", 4);
	ok(http_parse_query(&r, "channel=a&last_event_id=k1-5", "channel", 4,
	    err, sizeof(err)) == 0 && strcmp(r.lastid, "k1-9") == 0,
	    "Last-Event-ID header wins over the query");
	http_req_free(&r);
	http_req_init(&r);
	http_set_lastid(&r, "", 0);
	ok(r.lastid_state == HTTP_LASTID_NONE, "empty header is no cursor");
	http_set_lastid(&r, "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789", 80);
	ok(r.lastid_state == HTTP_LASTID_TOOLONG, "overlong cursor marked");
	http_req_free(&r);

	ok(http_method("GET") == HTTP_GET && http_method("OPTIONS") ==
	    HTTP_OPTIONS && http_method("POST") == HTTP_OTHER &&
	    http_method("HEAD") == HTTP_OTHER &&
	    http_method(NULL) == HTTP_OTHER,
	    "methods");

	/* CORS decisions. */
	ok(http_cors_add(&any, "*") == 0 && any.any, "* parses");
	ok(http_cors_add(&list, "https://a.example, http://b.example:8080/") ==
	    0 && list.n == 2, "comma-separated list");
	ok(http_cors_add(&list, "https://c.example") == 0 && list.n == 3,
	    "repeatable");
	ok(http_cors_add(&list, "nonsense") == -1, "not an origin: refused");
	ok(http_cors_add(&list, "https://a.example/path") == -1,
	    "origin with a path: refused");
	ok(http_cors_allow(&none, "https://a.example") == NULL,
	    "default: no cross-origin access");
	is_str(http_cors_allow(&any, "https://x.example"), "*",
	    "* allows anyone");
	ok(http_cors_allow(&any, NULL) == NULL, "no Origin, no header");
	is_str(http_cors_allow(&list, "http://b.example:8080"),
	    "http://b.example:8080", "listed origin echoed");
	ok(http_cors_allow(&list, "https://evil.example") == NULL,
	    "unlisted origin refused");
	ok(http_cors_allow(&list, "https://a.example.evil") == NULL,
	    "prefix is not a match");

	buf_init(&b, 0);
	http_stream_headers(&b, &none, "https://a.example");
	is_str(text(&b), "Status: 200 OK\r\n"
	    "Content-Type: text/event-stream; charset=utf-8\r\n"
	    "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n\r\n",
	    "stream headers, no CORS");
	buf_reset(&b);
	http_stream_headers(&b, &list, "https://a.example");
	ok(strstr(text(&b),
	    "Access-Control-Allow-Origin: https://a.example\r\n") != NULL &&
	    strstr(text(&b), "Vary: Origin\r\n") != NULL &&
	    strstr(text(&b), "Access-Control-Allow-Credentials: true\r\n") !=
	    NULL, "allowlisted: echo, Vary, credentials");
	buf_reset(&b);
	http_stream_headers(&b, &list, "https://evil.example");
	ok(strstr(text(&b), "Access-Control-Allow-Origin") == NULL &&
	    strstr(text(&b), "Vary: Origin\r\n") != NULL,
	    "unlisted: Vary only");
	buf_reset(&b);
	http_stream_headers(&b, &any, "https://x.example");
	ok(strstr(text(&b), "Access-Control-Allow-Origin: *\r\n") != NULL &&
	    strstr(text(&b), "Credentials") == NULL,
	    "*: no credentials");
	ok(strstr(text(&b), "Content-Length") == NULL, "no Content-Length");
	buf_reset(&b);

	http_error(&b, 405, "method not allowed", &none, NULL);
	ok(strncmp(text(&b), "Status: 405 Method Not Allowed\r\n", 32) == 0 &&
	    strstr(text(&b), "Allow: GET, OPTIONS\r\n") != NULL &&
	    strstr(text(&b), "Content-Type: text/plain") != NULL &&
	    strstr(text(&b), "\r\n\r\nmethod not allowed\n") != NULL,
	    "405 with Allow and a text reason");
	buf_reset(&b);
	http_error(&b, 400, "too many channels", &none, NULL);
	ok(strncmp(text(&b), "Status: 400 Bad Request\r\n", 25) == 0 &&
	    strstr(text(&b), "Allow:") == NULL, "400");
	buf_reset(&b);

	http_preflight(&b, &list, "https://a.example",
	    "last-event-id, x-evil, Cache-Control");
	ok(strncmp(text(&b), "Status: 204 No Content\r\n", 24) == 0,
	    "preflight is 204");
	ok(strstr(text(&b), "Access-Control-Allow-Methods: GET, OPTIONS\r\n")
	    != NULL, "preflight methods");
	ok(strstr(text(&b), "Access-Control-Allow-Headers: last-event-id, "
	    "Cache-Control\r\n") != NULL, "allowed request headers echoed");
	ok(strstr(text(&b), "Access-Control-Max-Age: ") != NULL, "max age");
	ok(strstr(text(&b), "Access-Control-Allow-Credentials: true") != NULL,
	    "preflight credentials for a listed origin");
	buf_reset(&b);
	http_preflight(&b, &any, "https://x.example", NULL);
	ok(strstr(text(&b), "Access-Control-Allow-Headers: Last-Event-ID, "
	    "Cache-Control\r\n") != NULL, "none asked: the whole list");
	buf_reset(&b);
	http_preflight(&b, &list, "https://evil.example", "last-event-id");
	ok(strstr(text(&b), "Access-Control-Allow-") == NULL,
	    "preflight from an unlisted origin gets no grant");
	buf_reset(&b);
	http_preflight(&b, &none, "https://a.example", "last-event-id");
	ok(strstr(text(&b), "Access-Control-") == NULL,
	    "preflight with CORS off gets no grant");
	buf_free(&b);

	http_cors_free(&list);
	http_cors_free(&any);
	tap_done();
	return (tap_exit_status());
}
