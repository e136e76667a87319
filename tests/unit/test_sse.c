/* SPDX-License-Identifier: ISC */
/*
 * SSE formatting: ids, event types, data split on every line end,
 * empty data, unicode, the reset notice, the first lines of a stream.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "sse.h"
#include "tap.h"

static void
event(const char *type, const char *data, size_t datalen, const char *want,
    const char *name)
{
	struct buf	b;

	buf_init(&b, 0);
	if (sse_event(&b, "e1-5", 4, type, strlen(type), data, datalen) == -1)
		ok(0, "%s (format failed)", name);
	else
		tap_is_mem(buf_head(&b), buf_used(&b), want, strlen(want),
		    "%s", name);
	buf_free(&b);
}

int
main(void)
{
	struct buf	b;
	const char	*u = "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80";
	char		 want[256], id[48];
	size_t		 n;

	event("message", "hello", 5, "id: e1-5\ndata: hello\n\n",
	    "default type has no event: line");
	event("", "hello", 5, "id: e1-5\ndata: hello\n\n",
	    "empty type is the default");
	event("chat", "hello", 5, "id: e1-5\nevent: chat\ndata: hello\n\n",
	    "other types get event:");
	event("message", "", 0, "id: e1-5\ndata: \n\n",
	    "empty data is one empty data: line");
	event("message", "a\nb", 3, "id: e1-5\ndata: a\ndata: b\n\n",
	    "LF splits");
	event("message", "a\r\nb", 4, "id: e1-5\ndata: a\ndata: b\n\n",
	    "CRLF is one line end");
	event("message", "a\rb", 3, "id: e1-5\ndata: a\ndata: b\n\n",
	    "lone CR splits");
	event("message", "a\r\rb", 4,
	    "id: e1-5\ndata: a\ndata: \ndata: b\n\n", "CR CR is two ends");
	event("message", "a\n\r\nb", 5,
	    "id: e1-5\ndata: a\ndata: \ndata: b\n\n", "LF CRLF is two ends");
	event("message", "a\n", 2, "id: e1-5\ndata: a\ndata: \n\n",
	    "trailing LF kept as an empty last line");
	event("message", "a\r", 2, "id: e1-5\ndata: a\ndata: \n\n",
	    "trailing CR too");
	event("message", "\n", 1, "id: e1-5\ndata: \ndata: \n\n",
	    "data of one LF");
	event("message", " x:y", 4, "id: e1-5\ndata:  x:y\n\n",
	    "leading space and colon kept");
	event("message", "{\"a\":[1,2]}", 11,
	    "id: e1-5\ndata: {\"a\":[1,2]}\n\n", "JSON passes as is");
	snprintf(want, sizeof(want), "id: e1-5\nevent: \xc3\xa9t\xc3\xa9\n"
	    "data: %s\n\n", u);
	event("\xc3\xa9t\xc3\xa9", u, strlen(u), want, "unicode type and data");
	buf_init(&b, 0);
	sse_event(&b, "e1-5", 4, "message", 7, "a\0b", 3);
	tap_is_mem(buf_head(&b), buf_used(&b), "id: e1-5\ndata: a\0b\n\n",
	    20, "NUL in data passes (it is not a line end)");
	buf_free(&b);

	buf_init(&b, 0);
	ok(sse_event(&b, "e1-5", 4, "a\nb", 3, "x", 1) == -1 &&
	    buf_used(&b) == 0, "LF in the type is refused");
	ok(sse_event(&b, "e1\r5", 4, "m", 1, "x", 1) == -1 &&
	    buf_used(&b) == 0, "CR in the id is refused");
	buf_free(&b);

	buf_init(&b, 20);
	buf_append(&b, "keep", 4);
	ok(sse_event(&b, "e1-5", 4, "message", 7, "0123456789", 10) == -1,
	    "over the bound fails");
	tap_is_mem(buf_head(&b), buf_used(&b), "keep", 4,
	    "and leaves the buffer as it was");
	buf_free(&b);

	buf_init(&b, 0);
	ok(sse_reset(&b, "pruned", 6, "k1-7", 4, "k1-42", 5) == 0,
	    "reset formats");
	is_str(b.data ? (buf_append_byte(&b, 0), buf_head(&b)) : "",
	    "id: k1-42\nevent: reset\n"
	    "data: {\"reason\":\"pruned\",\"oldest\":\"k1-7\"}\n\n",
	    "reset: id is the head, JSON reason and oldest");
	buf_free(&b);
	buf_init(&b, 0);
	sse_reset(&b, "epoch", 5, NULL, 0, "k2-0", 4);
	buf_append_byte(&b, 0);
	is_str(buf_head(&b), "id: k2-0\nevent: reset\n"
	    "data: {\"reason\":\"epoch\",\"oldest\":null}\n\n",
	    "reset with no oldest says null");
	buf_free(&b);
	buf_init(&b, 0);
	sse_reset(&b, "a\"b\\", 4, NULL, 0, "k2-0", 4);
	buf_append_byte(&b, 0);
	ok(strstr(buf_head(&b), "\"a\\\"b\\\\\"") != NULL,
	    "reset JSON escapes quotes and backslashes");
	buf_free(&b);

	n = sse_reset_id("pruned", 6, "k1-42", 5, id, sizeof(id));
	ok(n == 5 && strcmp(id, "k1-42") == 0, "reset id: the head (%s)", id);
	n = sse_reset_id("epoch", 5, "k1-42", 5, id, sizeof(id));
	ok(n == 4 && strcmp(id, "k1-0") == 0,
	    "reset id for epoch: the start of the new run (%s)", id);
	n = sse_reset_id("lost", 4, "k1-42", 5, id, sizeof(id));
	ok(n == 5 && strcmp(id, "k1-42") == 0, "reset id, other reason: head");
	ok(sse_reset_id("epoch", 5, "k142", 4, id, sizeof(id)) == 0 &&
	    sse_reset_id("epoch", 5, "-42", 3, id, sizeof(id)) == 0 &&
	    sse_reset_id("pruned", 6, "", 0, id, sizeof(id)) == 0,
	    "reset id: no id, no epoch: refused");
	ok(sse_reset_id("epoch", 5, "k1-42", 5, id, 4) == 0 &&
	    sse_reset_id("epoch", 5, "k1-42", 5, id, 5) == 4 &&
	    sse_reset_id("pruned", 6, "k1-42", 5, id, 5) == 0 &&
	    sse_reset_id("pruned", 6, "k1-42", 5, id, 6) == 5,
	    "reset id: the buffer bound, NUL included");

	buf_init(&b, 0);
	sse_preamble(&b, 3000);
	buf_append_byte(&b, 0);
	is_str(buf_head(&b), "retry: 3000\n: fastsse\n\n",
	    "preamble: retry and a comment");
	buf_free(&b);
	buf_init(&b, 0);
	sse_cursor(&b, "k1-9", 4);
	buf_append_byte(&b, 0);
	is_str(buf_head(&b), "id: k1-9\n\n", "cursor block is a bare id");
	buf_free(&b);
	is_str(SSE_PING, ": ping\n\n", "ping is a comment");

	tap_done();
	return (tap_exit_status());
}
