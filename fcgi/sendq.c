/* SPDX-License-Identifier: ISC */
/*
 * Stream output queues.  A message (one event's SSE text, shared by every
 * stream it goes to, or a raw message already framed, the end of the
 * request) is queued as a reference, never copied.  The SSE texts queued
 * for a stream are joined into one FastCGI record (one header and padding
 * for all, up to the record's limit); a raw message, or a text too long
 * for one record, is its own unit.  Once a unit is begun on the wire it is
 * finished as it was begun, whatever is queued behind it, so framing stays
 * intact after a partial write.
 *
 * Bound: none here.  The queue counts q->bytes as if each message were its
 * own record (an upper bound of what is on the wire), and the stream
 * checks that against --max-queue before each push (see stream.c, where
 * the policy and its counter are).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "sendq.h"

/*
 * Messages waiting for one stream.  The first hn of them form the unit
 * (one joined record, one raw message, or one message split into
 * several records) of which hoff wire bytes are already written; hn is 0
 * when nothing is begun.
 */
struct sendq {
	size_t			 n;
	size_t			 cap;
	size_t			 bytes;	/* for the bound: see the top */
	size_t			 hn;
	size_t			 hoff;
	struct sendq_msg	*items[];
};

/* Wraps the bytes of b (taken over, b left empty) as a shared message. */
struct sendq_msg *
sendq_msg_new(struct buf *b, int raw)
{
	struct sendq_msg	*m;

	if ((m = malloc(sizeof(*m))) == NULL)
		return (NULL);
	m->refs = 1;
	m->raw = raw;
	m->born = 0;
	m->data = buf_detach(b, &m->len);
	return (m);
}

/* Frees a message nobody refers to any more (see sendq_msg_unref). */
void
sendq_msg_free(struct sendq_msg *m)
{
	free(m->data);
	free(m);
}

size_t
sendq_bytes(const struct sendq *q)
{
	return (q == NULL ? 0 : q->bytes);
}

/* How many messages form the unit begun on the wire (0: none). */
size_t
sendq_begun(const struct sendq *q)
{
	return (q == NULL ? 0 : q->hn);
}

/* Adds a message to the queue (created on first use). */
int
sendq_push(struct sendq **qp, struct sendq_msg *m)
{
	struct sendq	*q = *qp, *nq;
	size_t		 ncap;

	if (q == NULL || q->n == q->cap) {
		ncap = q == NULL ? 8 : q->cap * 2;
		nq = realloc(q, sizeof(*nq) + ncap * sizeof(nq->items[0]));
		if (nq == NULL)
			return (-1);
		if (q == NULL)
			nq->n = nq->bytes = nq->hn = nq->hoff = 0;
		nq->cap = ncap;
		*qp = q = nq;
	}
	m->refs++;
	q->items[q->n++] = m;
	q->bytes += sendq_msg_wire(m);
	return (0);
}

/*
 * Drops the queued messages from index from on (keeping the begun unit
 * is dropping from sendq_begun()) and frees the queue once empty.
 */
void
sendq_drop(struct sendq **qp, size_t from)
{
	struct sendq	*q = *qp;
	size_t		 i;

	if (q == NULL)
		return;
	for (i = from; i < q->n; i++) {
		q->bytes -= sendq_msg_wire(q->items[i]);
		sendq_msg_unref(q->items[i]);
	}
	q->n = from;
	if (q->n == 0) {
		free(q);
		*qp = NULL;
	}
}

/*
 * How many queued messages, from index i, form the next unit, and its
 * wire size: the begun unit as it was begun; else a raw message or one
 * too big for a record alone; else as many SSE texts as one record and
 * the room left in this writev (slots iovecs) take.
 */
static size_t
sendq_unit(const struct sendq *q, size_t i, size_t slots, size_t *wire)
{
	const struct sendq_msg	*m = q->items[i];
	size_t			 k, sum = 0;

	if (i == 0 && q->hn > 0) {
		for (k = 0; k < q->hn; k++)
			sum += q->items[k]->len;
		*wire = m->raw ? m->len : record_stdout_size(sum);
		return (q->hn);
	}
	if (m->raw || m->len > RECORD_MAX_CONTENT) {
		*wire = sendq_msg_wire(m);
		return (1);
	}
	for (k = i; k < q->n && k - i + 2 < slots; k++) {
		m = q->items[k];
		if (m->raw || sum + m->len > RECORD_MAX_CONTENT)
			break;
		sum += m->len;
	}
	if (k == i) {		/* no room for even one: alone */
		*wire = sendq_msg_wire(q->items[i]);
		return (1);
	}
	*wire = record_stdout_size(sum);
	return (k - i);
}

/*
 * Lists the unwritten bytes of the queue as iovecs for request reqid,
 * whole units only except for a last one cut by the lack of iovecs;
 * b->units says what was listed.  Returns the iovec count (b->niov).
 */
int
sendq_batch(const struct sendq *q, uint16_t reqid, struct sendq_batch *b)
{
	const struct sendq_msg	*m;
	size_t			 i = 0, j, k, cnt, wire, skip, used;
	size_t			 niov = 0, nh = 0, nu = 0, sum;

	b->total = 0;
	while (q != NULL && i < q->n && niov < SENDQ_IOV && nh < SENDQ_HDRS) {
		cnt = sendq_unit(q, i, SENDQ_IOV - niov, &wire);
		skip = i == 0 ? q->hoff : 0;
		m = q->items[i];
		if (m->raw) {
			b->iov[niov].iov_base = m->data + skip;
			b->iov[niov].iov_len = m->len - skip;
			k = 1;
		} else if (cnt == 1 && m->len > RECORD_MAX_CONTENT) {
			k = record_stdout_iov(reqid, m->data, m->len, skip,
			    b->hdrs + nh, SENDQ_HDRS - nh, &used,
			    b->iov + niov, SENDQ_IOV - niov);
			nh += used;
		} else {
			for (j = 0; j < cnt; j++) {
				b->parts[j].iov_base = q->items[i + j]->data;
				b->parts[j].iov_len = q->items[i + j]->len;
			}
			k = record_stdout_join(reqid, b->parts, cnt, skip,
			    b->hdrs[nh++], b->iov + niov, SENDQ_IOV - niov);
		}
		for (sum = 0, j = niov; j < niov + k; j++)
			sum += b->iov[j].iov_len;
		niov += k;
		if (sum > 0 || wire == skip) {
			b->units[nu].n = cnt;
			b->units[nu++].left = wire - skip;
			b->total += sum;
		}
		if (sum < wire - skip)
			break;		/* out of room: the rest next time */
		i += cnt;
	}
	b->nunits = nu;
	b->niov = (int)niov;
	return (b->niov);
}

/*
 * Takes w written bytes of the batch b off the queue: frees the messages
 * of the units done, notes how far the next one got, and frees the queue
 * once empty.
 */
void
sendq_advance(struct sendq **qp, const struct sendq_batch *b, size_t w)
{
	struct sendq	*q = *qp;
	size_t		 i, j, done = 0, off;

	if (q == NULL)
		return;
	for (i = 0; i < b->nunits; i++) {
		if (w < b->units[i].left) {
			off = (i == 0 ? q->hoff : 0) + w;
			q->hn = off > 0 ? b->units[i].n : 0;
			q->hoff = off;
			break;
		}
		w -= b->units[i].left;
		for (j = 0; j < b->units[i].n; j++) {
			q->bytes -= sendq_msg_wire(q->items[done + j]);
			sendq_msg_unref(q->items[done + j]);
		}
		done += b->units[i].n;
		q->hn = q->hoff = 0;
	}
	memmove(q->items, q->items + done, (q->n - done) * sizeof(q->items[0]));
	q->n -= done;
	if (q->n == 0) {
		free(q);
		*qp = NULL;
	}
}

size_t
sendq_count(const struct sendq *q)
{
	return (q->n);
}

const struct sendq_msg *
sendq_at(const struct sendq *q, size_t i)
{
	return (q->items[i]);
}
