/* SPDX-License-Identifier: ISC */
/*
 * Server-Sent Events text, as the browser's EventSource parses it.  Pure
 * functions appending to a bounded buffer; they fail (-1, buffer as it
 * was) when a field would carry a line break or the bound is reached.
 */
#ifndef SSE_H
#define SSE_H

#include <stddef.h>

#include "buf.h"

#define SSE_PING	": ping\n\n"
#define SSE_COMMENT	": fastsse"

/* "retry: N" and a comment, sent with the headers before any event. */
int	sse_preamble(struct buf *, unsigned long retry_ms);
/* One event; the event: line only when type is not "message" (or empty). */
int	sse_event(struct buf *, const char *id, size_t idlen,
	    const char *type, size_t typelen, const char *data, size_t datalen);
/*
 * The broker's reset notice: event "reset", data
 * {"reason":"...","oldest":"..."|null}, and id = head so the browser's
 * cursor moves past what it can no longer get.
 */
int	sse_reset(struct buf *, const char *reason, size_t reasonlen,
	    const char *oldest, size_t oldestlen, const char *head,
	    size_t headlen);
/* A bare "id:" block: moves the browser's cursor without an event. */
int	sse_cursor(struct buf *, const char *id, size_t idlen);

#endif
