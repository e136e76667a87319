/* SPDX-License-Identifier: ISC */
/*
 * Output queues.  An event frame is queued as a reference, never copied;
 * replies go into a private buffer and are queued as byte counts of it, so
 * the order between replies and events is kept.  Sending takes several
 * entries at once (outq_iov, for writev) and consumes what was written.
 *
 * Bound: none here; the connection checks q->bytes against
 * --max-output-buffer after each push and drops a consumer over it (see
 * conn.c).  replay_bytes is kept apart because replayed frames are held by
 * the history anyway.
 */
#include "config.h"

#include <stdlib.h>

#include "outq.h"

void
outq_init(struct outq *q)
{
	q->e = NULL;
	q->head = q->count = q->cap = 0;
	buf_init(&q->priv, 0);
	q->bytes = q->replay_bytes = 0;
}

/* Drops every entry (and its event references). */
void
outq_free(struct outq *q)
{
	struct outq_entry	*e;

	while (q->count > 0) {
		e = &q->e[q->head];
		if (e->ev != NULL)
			event_unref(e->ev);
		q->head = (q->head + 1) & (q->cap - 1);
		q->count--;
	}
	free(q->e);
	buf_free(&q->priv);
	outq_init(q);
}

/* Room for one more entry at the tail; entries double. */
static struct outq_entry *
outq_tail(struct outq *q)
{
	struct outq_entry	*ne;
	size_t			 ncap, i;

	if (q->count == q->cap) {
		ncap = q->cap ? q->cap * 2 : 16;
		if ((ne = malloc(ncap * sizeof(*ne))) == NULL)
			return (NULL);
		for (i = 0; i < q->count; i++)
			ne[i] = q->e[(q->head + i) & (q->cap - 1)];
		free(q->e);
		q->e = ne;
		q->cap = ncap;
		q->head = 0;
	}
	return (&q->e[(q->head + q->count) & (q->cap - 1)]);
}

/* Queues a reference to ev (taking one); -1 when memory runs out. */
int
outq_push_event(struct outq *q, struct event *ev, uint32_t flags)
{
	struct outq_entry	*e;

	if ((e = outq_tail(q)) == NULL)
		return (-1);
	e->ev = ev;
	e->len = ev->len;
	e->flags = flags;
	q->count++;
	q->bytes += ev->len;
	if (flags & OUTQ_REPLAY)
		q->replay_bytes += ev->len;
	event_ref(ev);
	return (0);
}

/*
 * The private buffer to encode a reply into; *mark remembers its size so
 * that outq_commit_priv queues exactly what was added.
 */
struct buf *
outq_priv(struct outq *q, size_t *mark)
{
	*mark = buf_used(&q->priv);
	return (&q->priv);
}

/* Queues the bytes added to the private buffer since mark. */
int
outq_commit_priv(struct outq *q, size_t mark)
{
	struct outq_entry	*e;
	size_t			 n = buf_used(&q->priv) - mark;

	if (n == 0)
		return (0);
	if (q->count > 0) {
		e = &q->e[(q->head + q->count - 1) & (q->cap - 1)];
		if (e->ev == NULL && (uint64_t)e->len + n <= UINT32_MAX) {
			e->len += n;
			q->bytes += n;
			return (0);
		}
	}
	if ((e = outq_tail(q)) == NULL) {
		buf_truncate(&q->priv, mark);	/* nothing refers to it */
		return (-1);
	}
	e->ev = NULL;
	e->len = (uint32_t)n;
	e->flags = 0;
	q->count++;
	q->bytes += n;
	return (0);
}

/* Fills up to max iovecs with the front of the queue; returns how many. */
int
outq_iov(const struct outq *q, struct iovec *iov, int max)
{
	const struct outq_entry	*e;
	const char		*priv = buf_head(&q->priv);
	size_t			 i;
	int			 n = 0;

	for (i = 0; i < q->count && n < max; i++) {
		e = &q->e[(q->head + i) & (q->cap - 1)];
		if (e->ev != NULL)
			iov[n].iov_base = e->ev->frame + (e->ev->len - e->len);
		else {
			iov[n].iov_base = (void *)priv;
			priv += e->len;
		}
		iov[n].iov_len = e->len;
		n++;
	}
	return (n);
}

/* Drops the first n bytes of the queue (what a write sent). */
void
outq_consume(struct outq *q, size_t n)
{
	struct outq_entry	*e;
	size_t			 k;

	while (n > 0 && q->count > 0) {
		e = &q->e[q->head];
		k = n < e->len ? n : e->len;
		e->len -= k;
		n -= k;
		q->bytes -= k;
		if (e->ev == NULL)
			buf_consume(&q->priv, k);
		else if (e->flags & OUTQ_REPLAY)
			q->replay_bytes -= k;
		if (e->len > 0)
			break;
		if (e->ev != NULL)
			event_unref(e->ev);
		q->head = (q->head + 1) & (q->cap - 1);
		q->count--;
	}
}
