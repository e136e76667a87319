/* SPDX-License-Identifier: ISC */
/*
 * An event as the broker holds it: its EVENT frame, encoded once, shared
 * by reference between the history and every output queue that sends it.
 */
#ifndef EVENT_H
#define EVENT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct channel;

struct event {
	TAILQ_ENTRY(event) entry;	/* history FIFO, while held */
	struct channel	*channel;	/* NULL once out of the history */
	double		 time;		/* when published */
	uint64_t	 seq;
	uint32_t	 refcnt;
	uint32_t	 len;		/* frame bytes */
	char		 frame[];	/* header + [25, channel, id, type, data] */
};
TAILQ_HEAD(event_list, event);

struct event	*event_new(uint64_t, uint64_t, double, const char *, size_t,
		    const char *, size_t, const char *, size_t);
/* Bytes the event costs, as the history counts them. */
static inline size_t
event_size(const struct event *ev)
{
	return (sizeof(*ev) + ev->len);
}

static inline void
event_ref(struct event *ev)
{
	ev->refcnt++;
}

void		 event_unref(struct event *);
size_t		 event_format_id(const struct event *, char *, size_t);

#endif
