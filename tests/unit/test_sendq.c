/* SPDX-License-Identifier: ISC */
/*
 * fcgi/sendq.c: queued SSE texts come out as well-formed FastCGI records
 * carrying exactly the queued bytes, in order, whatever the sizes of the
 * writes; a unit begun is finished as begun; byte counts and references
 * are given back.
 */
#include "config.h"

#include <sys/uio.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "record.h"
#include "sendq.h"
#include "tap.h"

#define REQID	0x1234

/* What went "on the wire". */
struct sink {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
sink_add(struct sink *k, const void *p, size_t len)
{
	if (k->len + len > k->cap) {
		k->cap = (k->len + len) * 2;
		k->p = realloc(k->p, k->cap);
	}
	memcpy(k->p + k->len, p, len);
	k->len += len;
}

/* A message of len bytes, each c + its index mod 26. */
static struct sendq_msg *
mkmsg(char c, size_t len)
{
	struct buf	b;
	size_t		i;

	buf_init(&b, 0);
	buf_reserve(&b, len + 1);
	for (i = 0; i < len; i++)
		buf_tail(&b)[i] = (char)(c + i % 26);
	buf_commit(&b, len);
	return (sendq_msg_new(&b, 0));
}

/* The raw end of the request. */
static struct sendq_msg *
mkend(void)
{
	struct buf	b;

	buf_init(&b, 0);
	buf_reserve(&b, RECORD_END_LEN);
	record_end((uint8_t *)buf_tail(&b), REQID, 0);
	buf_commit(&b, RECORD_END_LEN);
	return (sendq_msg_new(&b, 1));
}

/* One "writev" taking at most max bytes; returns the bytes taken. */
static size_t
write_some(struct sendq **q, size_t max, struct sink *k)
{
	struct sendq_batch	*b = malloc(sizeof(*b));
	size_t			 w = 0, n;
	int			 i;

	sendq_batch(*q, REQID, b);
	for (i = 0; i < b->niov && w < max; i++) {
		n = b->iov[i].iov_len < max - w ? b->iov[i].iov_len : max - w;
		sink_add(k, b->iov[i].iov_base, n);
		w += n;
	}
	sendq_advance(q, b, w);
	free(b);
	return (w);
}

/*
 * Checks the wire image: records of version 1 for REQID, STDOUT with the
 * padding libfcgi uses, no empty STDOUT except right before the final
 * END_REQUEST (when ended).  Puts the STDOUT content into c.  Returns
 * the number of STDOUT records with content, or -1.
 */
static int
parse(const struct sink *k, struct sink *c, int ended)
{
	const uint8_t	*p = (const uint8_t *)k->p;
	size_t		 off = 0, clen, plen;
	int		 n = 0;

	c->len = 0;
	while (off < k->len) {
		if (k->len - off < RECORD_HEADER_LEN)
			return (-1);
		clen = (size_t)p[off + 4] << 8 | p[off + 5];
		plen = p[off + 6];
		if (p[off] != 1 || ((size_t)p[off + 2] << 8 | p[off + 3]) !=
		    REQID || k->len - off - RECORD_HEADER_LEN < clen + plen)
			return (-1);
		if (p[off + 1] == RECORD_END_REQUEST) {
			if (!ended || off + RECORD_HEADER_LEN + clen + plen !=
			    k->len)
				return (-1);
		} else if (p[off + 1] != RECORD_STDOUT ||
		    plen != record_padding(clen))
			return (-1);
		else if (clen == 0) {
			if (!ended || off + RECORD_END_LEN != k->len)
				return (-1);
		} else {
			sink_add(c, p + off + RECORD_HEADER_LEN, clen);
			n++;
		}
		off += RECORD_HEADER_LEN + clen + plen;
	}
	if (ended && (k->len < RECORD_END_LEN ||
	    p[k->len - RECORD_END_LEN + 9] != RECORD_END_REQUEST))
		return (-1);
	return (n);
}

/*
 * Every split offset: the first write stops after k bytes of a joined
 * record, then a text is queued behind the begun unit, then the end.
 */
static void
test_split(void)
{
	static const size_t	 sizes[] = { 1, 7, 8, 100, 3 };
	struct sendq_msg	*m[6], *end;
	struct sendq		*q;
	struct sink		 out = { 0 }, c = { 0 }, want = { 0 };
	size_t			 i, k, wire, total;
	int			 good = 1, dgood = 1, records;

	for (i = 0; i < 5; i++) {
		m[i] = mkmsg((char)('a' + i), sizes[i]);
		sink_add(&want, m[i]->data, m[i]->len);
	}
	m[5] = mkmsg('X', 5);
	sink_add(&want, m[5]->data, m[5]->len);
	end = mkend();
	wire = record_stdout_size(119);
	for (k = 0; k <= wire; k++) {
		q = NULL;
		out.len = 0;
		for (i = 0; i < 5; i++)
			sendq_push(&q, m[i]);
		total = write_some(&q, k, &out);
		if (total != k)
			good = 0;
		if (k > 0 && k < wire && sendq_begun(q) != 5)
			good = 0;
		if (k < wire)
			sendq_push(&q, m[5]);
		else {
			if (q != NULL)
				good = 0;
			sendq_push(&q, m[5]);
		}
		sendq_push(&q, end);
		while (q != NULL)
			write_some(&q, SIZE_MAX, &out);
		records = parse(&out, &c, 1);
		if (records < 1 || records > 2 || c.len != want.len ||
		    memcmp(c.p, want.p, c.len) != 0) {
			tap_diag("split at %zu: %d records, %zu bytes", k,
			    records, c.len);
			good = 0;
		}

		/* Ended after the partial write: the begun unit survives. */
		q = NULL;
		out.len = 0;
		for (i = 0; i < 5; i++)
			sendq_push(&q, m[i]);
		write_some(&q, k, &out);
		sendq_push(&q, m[5]);
		sendq_drop(&q, sendq_begun(q));
		for (total = 0, i = 0; i < 5; i++)
			total += sendq_msg_wire(m[i]);
		if (k > 0 && k < wire && sendq_bytes(q) != total)
			dgood = 0;	/* counted as the bound counts */
		sendq_push(&q, end);
		while (q != NULL)
			write_some(&q, SIZE_MAX, &out);
		records = parse(&out, &c, 1);
		if (records < 0 || (k == 0 && c.len != 0) ||
		    (k > 0 && (c.len != 119 ||
		    memcmp(c.p, want.p, 119) != 0))) {
			tap_diag("end after %zu: %d records, %zu bytes", k,
			    records, c.len);
			dgood = 0;
		}
	}
	ok(good, "a record cut at each of %zu offsets is finished as begun",
	    wire + 1);
	ok(dgood, "ending after a cut keeps exactly the begun unit");
	for (i = 0; i < 6; i++) {
		if (m[i]->refs != 1)
			good = 0;
		sendq_msg_unref(m[i]);
	}
	ok(good && end->refs == 1, "every reference is given back");
	sendq_msg_unref(end);
	free(out.p);
	free(c.p);
	free(want.p);
}

/*
 * Drains a large mixed queue in writes of step bytes: 300 short texts
 * (more than one writev's iovecs), one text over a record's limit, ten
 * more, one over SENDQ_HDRS records (more headers than one writev
 * has), the end.
 */
static int
drain_mixed(size_t step, int huge)
{
	struct sendq_msg	*m[313];
	struct sendq		*q = NULL;
	struct sink		 out = { 0 }, c = { 0 }, want = { 0 };
	size_t			 i, n = 0, bytes = 0, w;
	int			 records, good = 1;

	for (i = 0; i < 300; i++)
		m[n++] = mkmsg('a', i * 7 % 50 + 1);
	m[n++] = mkmsg('A', RECORD_MAX_CONTENT + 4470);
	for (i = 0; i < 10; i++)
		m[n++] = mkmsg('k', 33);
	if (huge)
		m[n++] = mkmsg('H', (SENDQ_HDRS + 3) *
		    (size_t)RECORD_MAX_CONTENT + 5);
	for (i = 0; i < n; i++) {
		sendq_push(&q, m[i]);
		sink_add(&want, m[i]->data, m[i]->len);
		bytes += sendq_msg_wire(m[i]);
	}
	m[n] = mkend();
	sendq_push(&q, m[n]);
	bytes += RECORD_END_LEN;
	if (sendq_bytes(q) != bytes) {
		tap_diag("step %zu: %zu bytes counted, %zu queued", step,
		    sendq_bytes(q), bytes);
		good = 0;
	}
	while (q != NULL) {
		w = write_some(&q, step, &out);
		if (w == 0) {
			tap_diag("step %zu: no progress", step);
			good = 0;
			break;
		}
	}
	records = parse(&out, &c, 1);
	if (records < 0 || c.len != want.len ||
	    memcmp(c.p, want.p, c.len) != 0) {
		tap_diag("step %zu: %d records, %zu of %zu bytes", step,
		    records, c.len, want.len);
		good = 0;
	}
	/* Short texts are joined: a few records, not one per text. */
	if (step == SIZE_MAX && !huge && records > 6) {
		tap_diag("%d records for 311 texts and one long one", records);
		good = 0;
	}
	for (i = 0; i <= n; i++) {
		if (m[i]->refs != 1)
			good = 0;
		sendq_msg_unref(m[i]);
	}
	free(out.p);
	free(c.p);
	free(want.p);
	return (good);
}

int
main(void)
{
	static const size_t	steps[] = { 1, 2, 3, 7, 8, 9, 13, 24, 100, 4095,
	    65536, 65537, SIZE_MAX };
	struct sendq_batch	*b = malloc(sizeof(*b));
	struct sendq		*q = NULL;
	size_t			 i;
	int			 good = 1;

	tap_plan(7);
	ok(sendq_batch(NULL, REQID, b) == 0 && b->nunits == 0 &&
	    sendq_bytes(NULL) == 0 && sendq_begun(NULL) == 0,
	    "an empty queue lists nothing");
	free(b);
	test_split();
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (!drain_mixed(steps[i], 0))
			good = 0;
	ok(good, "a mixed queue drains intact in writes of every size");
	good = drain_mixed(SIZE_MAX, 1) && drain_mixed(65537, 1);
	ok(good, "a text over %d records takes several writevs", SENDQ_HDRS);
	sendq_drop(&q, 0);
	ok(q == NULL, "dropping an empty queue is harmless");
	tap_done();
	return (tap_exit_status());
}
