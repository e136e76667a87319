/* SPDX-License-Identifier: ISC */
/*
 * A stream's output queue: shared, formatted messages (by reference) and
 * the arithmetic that turns them into FastCGI records and writev batches.
 * Pure: no socket, no event loop; stream.c does the writing.
 */
#ifndef SENDQ_H
#define SENDQ_H

#include <sys/uio.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "record.h"

#define SENDQ_IOV	256	/* iovecs per writev (IOV_MAX is 1024) */
#define SENDQ_HDRS	(SENDQ_IOV / 2)
/*
 * The reference count of a message that is never freed (a static one):
 * every push is matched by one unref, so it never comes near 0.
 */
#define SENDQ_MSG_STATIC	(UINT_MAX / 2)

/* Bytes shared by every stream they are written to (refcounted). */
struct sendq_msg {
	unsigned	 refs;
	int		 raw;		/* already FastCGI records: as is */
	size_t		 len;
	char		*data;
	double		 born;		/* an event: when its frame was read
					   (ev_now); 0 for anything else */
};

struct sendq;

/* Units listed for one writev: how many messages, wire bytes left. */
struct sendq_unit {
	size_t	n;
	size_t	left;
};

/* One writev's worth of the queue, as sendq_batch() lists it. */
struct sendq_batch {
	uint8_t			hdrs[SENDQ_HDRS][RECORD_HEADER_LEN];
	struct iovec		iov[SENDQ_IOV];
	struct iovec		parts[SENDQ_IOV];
	struct sendq_unit	units[SENDQ_IOV];
	size_t			nunits;
	size_t			total;	/* bytes in iov */
	int			niov;
};

struct sendq_msg *sendq_msg_new(struct buf *, int);
void	sendq_msg_free(struct sendq_msg *);

/*
 * Inline, as they run once per message per stream: the fan-out's hot
 * path, called from stream.c and upstream.c.
 */
static inline void
sendq_msg_unref(struct sendq_msg *m)
{
	if (m != NULL && --m->refs == 0)
		sendq_msg_free(m);
}

/* Bytes a message takes on the wire (as its own record when not raw). */
static inline size_t
sendq_msg_wire(const struct sendq_msg *m)
{
	return (m->raw ? m->len : record_stdout_size(m->len));
}

/* The queue is NULL while empty: an idle stream holds no memory. */
int	sendq_push(struct sendq **, struct sendq_msg *);
void	sendq_drop(struct sendq **, size_t);
size_t	sendq_bytes(const struct sendq *);
/* Messages queued, and the i-th from the head (for the latency). */
size_t	sendq_count(const struct sendq *);
const struct sendq_msg *sendq_at(const struct sendq *, size_t);
size_t	sendq_begun(const struct sendq *);
int	sendq_batch(const struct sendq *, uint16_t, struct sendq_batch *);
void	sendq_advance(struct sendq **, const struct sendq_batch *, size_t);

#endif
