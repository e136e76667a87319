/* SPDX-License-Identifier: ISC */
/*
 * Events.  Each event is one allocation holding its whole EVENT frame, so
 * a publish costs one malloc and one copy however many subscribers get it;
 * the frame bytes are written to sockets straight from here.  An event
 * lives while the history or an output queue holds a reference.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "eventid.h"
#include "proto.h"

/*
 * "<epoch>-" of the last epoch seen, formatted once rather than for every
 * event (the broker is one thread; a new epoch replaces it).
 */
static struct {
	uint64_t	epoch;
	size_t		len;		/* 0: nothing yet */
	char		s[EVENTID_MAX];
} event_prefix;

/*
 * Makes an event with one reference for the caller: its frame is encoded
 * once, straight into the event's own allocation.  type must already be
 * the final type ("message" when none).  Returns NULL when the frame is
 * over PROTO_MAX_FRAME or memory runs out.
 */
struct event *
event_new(uint64_t epoch, uint64_t seq, double now, const char *channel,
    size_t channellen, const char *type, size_t typelen, const char *data,
    size_t datalen)
{
	struct event	*ev;
	char		 id[EVENTID_MAX];
	size_t		 idlen, size;

	if (event_prefix.len == 0 || event_prefix.epoch != epoch) {
		event_prefix.len = eventid_format_epoch(event_prefix.s,
		    sizeof(event_prefix.s) - 1, epoch);
		event_prefix.s[event_prefix.len++] = '-';
		event_prefix.epoch = epoch;
	}
	idlen = eventid_format_seq(id, sizeof(id), event_prefix.s,
	    event_prefix.len, seq);
	if (channellen > PROTO_MAX_FRAME || typelen > PROTO_MAX_FRAME ||
	    datalen > PROTO_MAX_FRAME)
		return (NULL);
	size = proto_event_size(channellen, idlen, typelen, datalen);
	if (size - PROTO_HEADER_LEN > PROTO_MAX_FRAME ||
	    (ev = malloc(sizeof(*ev) + size)) == NULL)
		return (NULL);
	proto_encode_event_at(ev->frame, size, channel, channellen, id, idlen,
	    type, typelen, data, datalen);
	ev->channel = NULL;
	ev->time = now;
	ev->seq = seq;
	ev->refcnt = 1;
	ev->len = (uint32_t)size;
	return (ev);
}

/*
 * Copies the id of ev into buf as snprintf would, from its frame: the id
 * is formatted once per event, in event_new, and the PUBLISHED answer
 * reuses it.  Returns the id's length.
 */
size_t
event_format_id(const struct event *ev, char *buf, size_t size)
{
	const char	*id;
	size_t		 idlen;

	if (proto_event_id(ev->frame, ev->len, &id, &idlen) == -1)
		abort();	/* event_new made this frame */
	if (size > 0) {
		memcpy(buf, id, idlen < size ? idlen : size - 1);
		buf[idlen < size ? idlen : size - 1] = '\0';
	}
	return (idlen);
}

/* Drops one reference; the last one frees the event. */
void
event_unref(struct event *ev)
{
	if (--ev->refcnt == 0)
		free(ev);
}
