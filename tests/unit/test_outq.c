/* SPDX-License-Identifier: ISC */
/*
 * broker/outq.c: events by reference and private frames keep their order,
 * partial writes at every byte offset, counters, references released.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "outq.h"
#include "tap.h"

/* A fake event holding the bytes of s. */
static struct event *
mkev(const char *s)
{
	struct event	*ev;

	ev = calloc(1, sizeof(*ev) + strlen(s));
	ev->refcnt = 1;
	ev->len = strlen(s);
	memcpy(ev->frame, s, ev->len);
	return (ev);
}

/* Queues: "AAA" priv "pp" "BBBB"(replay) priv "q" priv "r" "AAA". */
static void
fill(struct outq *q, struct event *a, struct event *b)
{
	struct buf	*p;
	size_t		 mark;

	outq_push_event(q, a, 0);
	p = outq_priv(q, &mark);
	buf_append(p, "pp", 2);
	outq_commit_priv(q, mark);
	outq_push_event(q, b, OUTQ_REPLAY);
	p = outq_priv(q, &mark);
	buf_append(p, "q", 1);
	outq_commit_priv(q, mark);
	p = outq_priv(q, &mark);
	buf_append(p, "r", 1);
	outq_commit_priv(q, mark);
	outq_push_event(q, a, 0);
}

/* Drains q in writes of at most step bytes; returns what was "sent". */
static size_t
drain(struct outq *q, size_t step, char *out, size_t max)
{
	struct iovec	 iov[3];
	size_t		 n = 0, want, k;
	int		 i, niov;

	while (!outq_empty(q)) {
		niov = outq_iov(q, iov, 3);
		want = step;
		for (i = 0; i < niov && want > 0; i++) {
			k = iov[i].iov_len < want ? iov[i].iov_len : want;
			if (n + k > max)
				return (n);
			memcpy(out + n, iov[i].iov_base, k);
			n += k;
			want -= k;
		}
		outq_consume(q, step - want);
	}
	return (n);
}

int
main(void)
{
	static const char want[] = "AAAppBBBBqrAAA";
	struct outq	 q;
	struct event	*a, *b;
	char		 out[64];
	size_t		 step, n;
	int		 good = 1;

	a = mkev("AAA");
	b = mkev("BBBB");
	outq_init(&q);
	fill(&q, a, b);
	is_int(q.count, 5, "private frames in a row share an entry");
	is_int(q.bytes, strlen(want), "bytes counted");
	is_int(q.replay_bytes, 4, "replay bytes counted");
	is_int(a->refcnt, 3, "event referenced twice by the queue");
	is_int(b->refcnt, 2, "replayed event referenced");
	n = drain(&q, 1000, out, sizeof(out));
	tap_is_mem(out, n, want, strlen(want), "order kept in one write");
	for (step = 1; step < sizeof(want); step++) {
		fill(&q, a, b);
		n = drain(&q, step, out, sizeof(out));
		if (n != strlen(want) || memcmp(out, want, n) != 0 ||
		    q.bytes != 0 || q.replay_bytes != 0)
			good = 0;
	}
	ok(good, "order and counters right with writes of every size");
	is_int(a->refcnt, 1, "references released after sending");
	is_int(b->refcnt, 1, "replay references released");
	fill(&q, a, b);
	outq_consume(&q, 5);
	outq_free(&q);
	is_int(a->refcnt, 1, "freeing a queue releases its references");
	is_int(q.bytes, 0, "freed queue is empty");
	free(a);
	free(b);
	tap_done();
	return (tap_exit_status());
}
