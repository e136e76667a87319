/* SPDX-License-Identifier: ISC */
/*
 * A connection's output queue: shared event frames (by reference) and the
 * connection's own frames (replies), in the order they must be sent.
 */
#ifndef OUTQ_H
#define OUTQ_H

#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"

#define OUTQ_REPLAY	0x1	/* entry sent by a replay */

struct outq_entry {
	struct event	*ev;	/* NULL: len bytes at the front of priv */
	uint32_t	 len;	/* bytes left to send of this entry */
	uint32_t	 flags;
};

struct outq {
	struct outq_entry *e;	/* ring */
	size_t		 head;
	size_t		 count;
	size_t		 cap;	/* a power of two, or 0 */
	struct buf	 priv;	/* the connection's own frames */
	size_t		 bytes;	/* unsent bytes, all entries */
	size_t		 replay_bytes;	/* unsent bytes of OUTQ_REPLAY entries */
};

void	 outq_init(struct outq *);
void	 outq_free(struct outq *);
int	 outq_push_event(struct outq *, struct event *, uint32_t);
struct buf *outq_priv(struct outq *, size_t *);
int	 outq_commit_priv(struct outq *, size_t);
int	 outq_iov(const struct outq *, struct iovec *, int);
void	 outq_consume(struct outq *, size_t);

static inline int
outq_empty(const struct outq *q)
{
	return (q->count == 0);
}

#endif
