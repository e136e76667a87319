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
 * {"reason":"...","oldest":"..."|null}, and the id given (sse_reset_id)
 * so the browser's cursor moves past what it can no longer get.
 */
int	sse_reset(struct buf *, const char *reason, size_t reasonlen,
	    const char *oldest, size_t oldestlen, const char *head,
	    size_t headlen);
/*
 * The id a reset moves the cursor to, into buf: the head, past what is
 * gone; for reason "epoch" the start of the new run ("<epoch>-0"), as
 * that whole run is replayed after the reset.  Returns the length, or 0
 * when the head is no id or the id does not fit in size - 1 bytes.
 */
size_t	sse_reset_id(const char *reason, size_t reasonlen, const char *head,
	    size_t headlen, char *buf, size_t size);
/* A bare "id:" block: moves the browser's cursor without an event. */
int	sse_cursor(struct buf *, const char *id, size_t idlen);

#endif
