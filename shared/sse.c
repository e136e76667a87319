/* SPDX-License-Identifier: ISC */
/*
 * SSE formatting.  Each event is "id:", "event:" when the type is not the
 * default "message", one "data:" line per line of data, and a blank line.
 * Data is split on CRLF, LF and lone CR, the three line ends EventSource
 * accepts, so no CR ever reaches the browser inside a field.  The "id:"
 * and "event:" values cannot be split that way, so a line break (or NUL)
 * in them is refused rather than sent.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "jsonstr.h"
#include "protodefs.h"
#include "sse.h"

/* A field value must not end the line early. */
static int
sse_field_ok(const char *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
			return (0);
	return (1);
}

/* Appends "name: value\n". */
static int
sse_field(struct buf *b, const char *name, const char *v, size_t len)
{
	size_t	nlen = strlen(name);

	if (buf_reserve(b, nlen + len + 3) == -1)
		return (-1);
	memcpy(buf_tail(b), name, nlen);
	buf_commit(b, nlen);
	memcpy(buf_tail(b), ": ", 2);
	buf_commit(b, 2);
	memcpy(buf_tail(b), v, len);
	buf_commit(b, len);
	*buf_tail(b) = '\n';
	buf_commit(b, 1);
	return (0);
}

int
sse_preamble(struct buf *b, unsigned long retry_ms)
{
	return (buf_printf(b, "retry: %lu\n" SSE_COMMENT "\n\n", retry_ms));
}

int
sse_event(struct buf *b, const char *id, size_t idlen, const char *type,
    size_t typelen, const char *data, size_t datalen)
{
	size_t	mark = buf_used(b), i, line;

	if (!sse_field_ok(id, idlen) || !sse_field_ok(type, typelen))
		return (-1);
	if (sse_field(b, "id", id, idlen) == -1)
		goto fail;
	if (typelen != 0 && !(typelen == 7 && memcmp(type, "message", 7) == 0))
		if (sse_field(b, "event", type, typelen) == -1)
			goto fail;
	line = 0;
	for (i = 0; i <= datalen; i++) {
		if (i < datalen && data[i] != '\r' && data[i] != '\n')
			continue;
		if (sse_field(b, "data", data + line, i - line) == -1)
			goto fail;
		if (i + 1 < datalen && data[i] == '\r' && data[i + 1] == '\n')
			i++;
		line = i + 1;
	}
	if (buf_append_byte(b, '\n') == -1)
		goto fail;
	return (0);
fail:
	buf_truncate(b, mark);
	return (-1);
}

/* Appends s as a JSON string, or null when there is none. */
static int
sse_json_str(struct buf *b, const char *s, size_t len)
{
	if (s == NULL)
		return (buf_append(b, "null", 4));
	return (jsonstr_append(b, s, len));
}

int
sse_reset(struct buf *b, const char *reason, size_t reasonlen,
    const char *oldest, size_t oldestlen, const char *head, size_t headlen)
{
	size_t	mark = buf_used(b);

	if (!sse_field_ok(head, headlen))
		return (-1);
	if (sse_field(b, "id", head, headlen) == -1 ||
	    buf_append(b, "event: reset\ndata: {\"reason\":", 29) == -1 ||
	    sse_json_str(b, reason, reasonlen) == -1 ||
	    buf_append(b, ",\"oldest\":", 10) == -1 ||
	    sse_json_str(b, oldest, oldestlen) == -1 ||
	    buf_append(b, "}\n\n", 3) == -1)
		goto fail;
	return (0);
fail:
	buf_truncate(b, mark);
	return (-1);
}

size_t
sse_reset_id(const char *reason, size_t reasonlen, const char *head,
    size_t headlen, char *buf, size_t size)
{
	size_t	n = headlen;

	if (reasonlen == strlen(PROTO_RESET_EPOCH) &&
	    memcmp(reason, PROTO_RESET_EPOCH, reasonlen) == 0) {
		while (n > 0 && head[n - 1] != '-')
			n--;
		if (n < 2)
			return (0);
		if (n + 2 > size)
			return (0);
		memcpy(buf, head, n);
		buf[n++] = '0';
	} else {
		if (n == 0 || n + 1 > size)
			return (0);
		memcpy(buf, head, n);
	}
	buf[n] = '\0';
	return (n);
}

int
sse_cursor(struct buf *b, const char *id, size_t idlen)
{
	if (!sse_field_ok(id, idlen))
		return (-1);
	if (sse_field(b, "id", id, idlen) == -1)
		return (-1);
	return (buf_append_byte(b, '\n'));
}
