/*
 * Browser streams, all owned by the one event-loop thread.
 *
 * Output: a write goes straight to the socket (writev of the FastCGI
 * header, the shared SSE text and padding).  Only when the socket would
 * block is anything kept: a small queue of references to shared messages
 * and how far the first one got, so an idle stream holds no buffer at
 * all.  Everything queued for a stream leaves in one writev when the
 * socket becomes writable.
 *
 * Bound and policy: a stream's queue holds at most --max-queue bytes of
 * records (the first message always fits).  A message that would pass it
 * ends that stream (counted in closed_overflow): unsent messages are
 * dropped, the end of the request is queued, and the browser reconnects
 * with Last-Event-ID and gets everything still in the broker's history.
 * A stream whose queued output made no progress for half a heartbeat
 * interval is ended the same way (closed_stalled), and one still unable
 * to take its end-of-request that much later is closed outright.
 *
 * Ends are never done inside a fan-out: a write error only marks the
 * stream dead and puts it on the reap list, which stream_reap() empties
 * after the fan-out loop (the upstream calls it, and a check watcher at
 * the end of the loop iteration).
 *
 * Heartbeat: one timer and the list of all streams ordered by last write
 * (libev's idiom for many equal timeouts); the timer pings the streams at
 * the head whose last write is half a heartbeat old.  Half, because
 * lighttpd and Apache notice that a browser went away only when a write
 * to it fails, and Apache's first write after the browser left still
 * succeeds: two pings per interval make a vanished browser noticed within
 * one --heartbeat interval behind every server.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "eventid.h"
#include "log.h"
#include "record.h"
#include "responder.h"
#include "sse.h"
#include "stream.h"
#include "upstream.h"

#define STREAM_IOV	64	/* iovecs per writev */
#define STREAM_HDRS	(STREAM_IOV / 2)

struct stream_qitem {
	struct stream_msg	*m;
	size_t			 off;	/* wire bytes already written */
};

struct stream_queue {
	size_t			 n;
	size_t			 cap;
	size_t			 bytes;	/* wire bytes still to write */
	struct stream_qitem	 items[];
};

struct stream_stats	 stream_stats;

static struct ev_loop	*stream_loop;
static TAILQ_HEAD(, stream) stream_list = TAILQ_HEAD_INITIALIZER(stream_list);
static size_t		 stream_n;		/* in stream_list */
static atomic_size_t	 stream_slots;		/* reserved + open */
static uint64_t		 stream_next_token;
static ev_timer		 stream_hb_ev;
static ev_check		 stream_reap_ev;
static struct stream	**stream_reap_list;
static size_t		 stream_reap_n, stream_reap_cap;
static void		(*stream_done_cb)(void);
static int		 stream_shutting_down;

static char		 stream_ping_bytes[] = SSE_PING;
static struct stream_msg stream_ping = {
	UINT_MAX / 2, 0, sizeof(SSE_PING) - 1, stream_ping_bytes
};

static void	stream_read_cb(struct ev_loop *, ev_io *, int);
static void	stream_write_cb(struct ev_loop *, ev_io *, int);
static void	stream_hb_cb(struct ev_loop *, ev_timer *, int);
static void	stream_reap_cb(struct ev_loop *, ev_check *, int);
static void	stream_free(struct stream *);
static void	stream_doom(struct stream *, int);

/* Wraps the bytes of b (taken over, b left empty) as a shared message. */
struct stream_msg *
stream_msg_new(struct buf *b, int raw)
{
	struct stream_msg	*m;

	if ((m = malloc(sizeof(*m))) == NULL)
		return (NULL);
	buf_compact(b);
	m->refs = 1;
	m->raw = raw;
	m->len = buf_used(b);
	m->data = b->data;
	b->data = NULL;
	b->off = b->len = b->cap = 0;
	return (m);
}

void
stream_msg_unref(struct stream_msg *m)
{
	if (m == NULL || m == &stream_ping)
		return;
	if (--m->refs > 0)
		return;
	free(m->data);
	free(m);
}

/* Bytes a message takes on this stream's socket. */
static size_t
stream_msg_wire(const struct stream_msg *m)
{
	return (m->raw ? m->len : record_stdout_size(m->len));
}

/* How long a stream may go without a write: half the heartbeat interval. */
static double
stream_idle(void)
{
	return (conf.heartbeat / 2);
}

void
stream_init(struct ev_loop *loop)
{
	stream_loop = loop;
	ev_timer_init(&stream_hb_ev, stream_hb_cb, 0., stream_idle());
	ev_timer_again(loop, &stream_hb_ev);
	ev_check_init(&stream_reap_ev, stream_reap_cb);
}

/*
 * The stream cap is checked by accept threads before they answer, so a
 * browser over the cap gets a complete "come back later" response.
 */
int
stream_reserve(void)
{
	size_t	n = atomic_load(&stream_slots);

	do {
		if (n >= conf.max_streams)
			return (-1);
	} while (!atomic_compare_exchange_weak(&stream_slots, &n, n + 1));
	return (0);
}

void
stream_unreserve(void)
{
	atomic_fetch_sub(&stream_slots, 1);
}

size_t
stream_count(void)
{
	return (stream_n);
}

/* Moves s to the tail of the heartbeat list: it was just written to. */
static void
stream_touch(struct stream *s)
{
	s->last_write = ev_now(stream_loop);
	TAILQ_REMOVE(&stream_list, s, hb_entry);
	TAILQ_INSERT_TAIL(&stream_list, s, hb_entry);
}

/*
 * Builds a stream's part of the handed-over request: cursor, channels
 * (through the upstream, which subscribes them) and watchers.  On failure
 * the connection is closed, which the web server reports as an error;
 * the browser retries.
 */
void
stream_create(struct stream_handoff *h)
{
	struct stream	*s;
	const char	*name;
	size_t		 i, len;

	s = calloc(1, sizeof(*s) + h->req.nchan * sizeof(s->chans[0]));
	if (s == NULL) {
		log_warn("calloc");
		close(h->fd);
		stream_unreserve();
		goto out;
	}
	s->reqid = h->reqid;
	s->nchan = (uint8_t)h->req.nchan;
	s->token = ++stream_next_token;
	s->state = STREAM_WAITING;
	if (h->req.lastid_state == HTTP_LASTID_SET &&
	    eventid_parse(h->req.lastid, h->req.lastidlen, &s->cursor) == 0)
		s->cursor_state = STREAM_CURSOR_SET;
	else if (h->req.lastid_state != HTTP_LASTID_NONE)
		s->cursor_state = STREAM_CURSOR_BAD;
	ev_io_init(&s->rio, stream_read_cb, h->fd, EV_READ);
	ev_io_init(&s->wio, stream_write_cb, h->fd, EV_WRITE);
	s->rio.data = s->wio.data = s;
	s->last_write = ev_now(stream_loop);
	TAILQ_INSERT_TAIL(&stream_list, s, hb_entry);
	stream_n++;
	stream_stats.opened++;
	ev_io_start(stream_loop, &s->rio);
	for (i = 0; i < s->nchan; i++) {
		name = http_req_channel(&h->req, i, &len);
		if (upstream_join(s, i, name, len) == -1) {
			log_warnx("out of memory for channel");
			s->nchan = (uint8_t)i;
			stream_end(s);
			goto out;
		}
	}
	log_debug("stream %llu: fd %d, %u channel(s), cursor %s",
	    (unsigned long long)s->token, h->fd, s->nchan,
	    s->cursor_state == STREAM_CURSOR_SET ? h->req.lastid :
	    s->cursor_state == STREAM_CURSOR_BAD ? "(malformed)" : "(none)");
	if (stream_shutting_down)
		stream_end(s);
	else
		upstream_subscribe(s);
out:
	http_req_free(&h->req);
	free(h);
}

/*
 * Lists the unwritten bytes of the queued messages items[0..n) as iovecs,
 * as many as fit in one writev; returns the count.
 */
static int
stream_iov(const struct stream *s, const struct stream_qitem *items,
    size_t n, uint8_t (*hdrs)[RECORD_HEADER_LEN], struct iovec *iov)
{
	const struct stream_msg	*m;
	size_t			 i, j, k, niov = 0, nh = 0, used, sum;

	for (i = 0; i < n && niov < STREAM_IOV; i++) {
		m = items[i].m;
		if (m->raw) {
			iov[niov].iov_base = m->data + items[i].off;
			iov[niov++].iov_len = m->len - items[i].off;
			continue;
		}
		k = record_stdout_iov(s->reqid, m->data, m->len, items[i].off,
		    hdrs + nh, STREAM_HDRS - nh, &used, iov + niov,
		    STREAM_IOV - niov);
		for (sum = 0, j = niov; j < niov + k; j++)
			sum += iov[j].iov_len;
		niov += k;
		nh += used;
		if (sum < stream_msg_wire(m) - items[i].off)
			break;		/* out of room: the rest next time */
	}
	return ((int)niov);
}

/*
 * Writes as much of items[0..n) as the socket takes and advances their
 * offsets; returns the number of items now complete, or -1 when the
 * stream is gone (EPIPE, ECONNRESET, ...).
 */
static ssize_t
stream_writev(struct stream *s, struct stream_qitem *items, size_t n)
{
	uint8_t		hdrs[STREAM_HDRS][RECORD_HEADER_LEN];
	struct iovec	iov[STREAM_IOV];
	ssize_t		w;
	size_t		i, left, done = 0;
	int		niov;

	niov = stream_iov(s, items, n, hdrs, iov);
	if (niov <= 0)
		return (0);
	w = writev(s->rio.fd, iov, niov);
	if (w == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return (0);
		if (errno != EPIPE && errno != ECONNRESET)
			log_warn("stream %llu: writev",
			    (unsigned long long)s->token);
		return (-1);
	}
	for (i = 0; i < n && w > 0; i++) {
		left = stream_msg_wire(items[i].m) - items[i].off;
		if ((size_t)w >= left) {
			items[i].off += left;
			w -= (ssize_t)left;
			done++;
		} else {
			items[i].off += (size_t)w;
			w = 0;
		}
	}
	return ((ssize_t)done);
}

/* Adds a message to the queue (created on first use). */
static int
stream_queue_push(struct stream *s, struct stream_msg *m, size_t off)
{
	struct stream_queue	*q = s->q, *nq;
	size_t			 ncap;

	if (q == NULL || q->n == q->cap) {
		ncap = q == NULL ? 4 : q->cap * 2;
		nq = realloc(q, sizeof(*nq) + ncap * sizeof(nq->items[0]));
		if (nq == NULL)
			return (-1);
		if (q == NULL)
			nq->n = nq->bytes = 0;
		nq->cap = ncap;
		s->q = q = nq;
	}
	m->refs++;
	q->items[q->n].m = m;
	q->items[q->n].off = off;
	q->n++;
	q->bytes += stream_msg_wire(m) - off;
	stream_stats.queued++;
	return (0);
}

/* Frees the queue once empty: idle streams hold no output memory. */
static void
stream_queue_drop(struct stream *s, size_t from)
{
	struct stream_queue	*q = s->q;
	size_t			 i;

	if (q == NULL)
		return;
	for (i = from; i < q->n; i++) {
		q->bytes -= stream_msg_wire(q->items[i].m) - q->items[i].off;
		stream_msg_unref(q->items[i].m);
	}
	q->n = from;
	if (q->n == 0) {
		free(q);
		s->q = NULL;
		ev_io_stop(stream_loop, &s->wio);
	}
}

/*
 * Sends m on s: straight to the socket when nothing waits, else behind
 * what waits, within the stream's bound (see the top of this file).
 */
void
stream_send(struct stream *s, struct stream_msg *m)
{
	struct stream_qitem	 it;
	ssize_t			 done;

	if (s->state == STREAM_DEAD ||
	    (s->state == STREAM_CLOSING && !m->raw))
		return;
	if (s->q == NULL) {
		it.m = m;
		it.off = 0;
		if ((done = stream_writev(s, &it, 1)) == -1) {
			stream_stats.closed_client++;
			stream_doom(s, 1);
			return;
		}
		stream_touch(s);
		if (done == 1)
			return;
		if (stream_queue_push(s, m, it.off) == -1) {
			stream_doom(s, 1);
			return;
		}
		ev_io_start(stream_loop, &s->wio);
		return;
	}
	/* The end of the request always fits: it frees the stream. */
	if (!m->raw && s->q->bytes + stream_msg_wire(m) > conf.max_queue) {
		if (!s->reaping) {
			stream_stats.closed_overflow++;
			log_debug("stream %llu: output over %zu bytes, ending "
			    "it", (unsigned long long)s->token,
			    conf.max_queue);
		}
		stream_doom(s, 0);
		return;
	}
	if (stream_queue_push(s, m, 0) == -1)
		stream_doom(s, 1);
	stream_touch(s);
}

/* Sends an event and moves the stream's cursor to it. */
void
stream_deliver(struct stream *s, struct stream_msg *m,
    const struct eventid *id)
{
	if (s->state == STREAM_DEAD || s->state == STREAM_CLOSING)
		return;
	stream_stats.events++;
	stream_send(s, m);
	if (id != NULL) {
		s->cursor = *id;
		s->cursor_state = STREAM_CURSOR_SET;
	}
}

/* Drains the queue; a closing stream is freed once all is written. */
static void
stream_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stream		*s = w->data;
	struct stream_queue	*q = s->q;
	ssize_t			 done;
	size_t			 i;

	(void)loop;
	(void)revents;
	if (q == NULL) {
		ev_io_stop(stream_loop, w);
		return;
	}
	if ((done = stream_writev(s, q->items, q->n)) == -1) {
		stream_stats.closed_client++;
		stream_free(s);
		return;
	}
	stream_touch(s);
	for (i = 0; i < (size_t)done; i++)
		stream_msg_unref(q->items[i].m);
	memmove(q->items, q->items + done, (q->n - done) * sizeof(q->items[0]));
	q->n -= done;
	q->bytes = 0;
	for (i = 0; i < q->n; i++)
		q->bytes += stream_msg_wire(q->items[i].m) - q->items[i].off;
	if (q->n == 0) {
		stream_queue_drop(s, 0);
		if (s->state == STREAM_CLOSING)
			stream_free(s);
	}
}

/*
 * Nothing but the end of the connection is expected from the web server
 * after the request's empty STDIN: EOF or an error means the browser went
 * away.  Any bytes (FCGI_ABORT_REQUEST, or anything unexpected) end the
 * request properly.
 */
static void
stream_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stream	*s = w->data;
	char		 tmp[512];
	ssize_t		 n;

	(void)loop;
	(void)revents;
	n = read(w->fd, tmp, sizeof(tmp));
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		log_debug("stream %llu: closed by the server",
		    (unsigned long long)s->token);
		stream_stats.closed_client++;
		stream_free(s);
		return;
	}
	log_debug("stream %llu: %zd unexpected bytes, ending",
	    (unsigned long long)s->token, n);
	ev_io_stop(stream_loop, w);
	stream_end(s);
}

/*
 * Ends the request as FastCGI wants (empty STDOUT, END_REQUEST) after
 * whatever is half written; what was not started is dropped.
 */
void
stream_end(struct stream *s)
{
	struct stream_msg	*m;
	struct buf		 b;

	if (s->state == STREAM_CLOSING || s->state == STREAM_DEAD)
		return;
	upstream_leave(s);
	s->state = STREAM_CLOSING;
	if (s->q != NULL)
		stream_queue_drop(s, s->q->items[0].off > 0 ? 1 : 0);
	buf_init(&b, 0);
	if (buf_reserve(&b, RECORD_END_LEN) == -1)
		goto fail;
	record_end((uint8_t *)buf_tail(&b), s->reqid, 0);
	buf_commit(&b, RECORD_END_LEN);
	if ((m = stream_msg_new(&b, 1)) == NULL)
		goto fail;
	stream_send(s, m);
	stream_msg_unref(m);
	if (s->state == STREAM_CLOSING && s->q == NULL)
		stream_free(s);
	return;
fail:
	buf_free(&b);
	stream_free(s);
}

/*
 * Marks s to be freed (dead: its socket failed) or ended (over its bound)
 * after the current fan-out.
 */
static void
stream_doom(struct stream *s, int dead)
{
	struct stream	**nl;
	size_t		  ncap;

	if (dead) {
		s->state = STREAM_DEAD;
		ev_io_stop(stream_loop, &s->rio);
		ev_io_stop(stream_loop, &s->wio);
	}
	if (s->reaping)
		return;
	if (stream_reap_n == stream_reap_cap) {
		ncap = stream_reap_cap ? stream_reap_cap * 2 : 64;
		nl = reallocarray(stream_reap_list, ncap, sizeof(*nl));
		if (nl == NULL)
			fatal("reallocarray");
		stream_reap_list = nl;
		stream_reap_cap = ncap;
	}
	s->reaping = 1;
	stream_reap_list[stream_reap_n++] = s;
	ev_check_start(stream_loop, &stream_reap_ev);
}

/* Frees or ends the streams doomed during a fan-out. */
void
stream_reap(void)
{
	struct stream	*s;
	size_t		 i;

	for (i = 0; i < stream_reap_n; i++) {
		s = stream_reap_list[i];
		s->reaping = 0;
		if (s->state == STREAM_DEAD)
			stream_free(s);
		else
			stream_end(s);
	}
	stream_reap_n = 0;
	ev_check_stop(stream_loop, &stream_reap_ev);
}

static void
stream_reap_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	stream_reap();
}

/*
 * Closes the connection and forgets the stream; no more bytes are sent.
 * A stream still on the reap list is only marked dead: the reap frees it.
 */
static void
stream_free(struct stream *s)
{
	if (s->reaping) {
		s->state = STREAM_DEAD;
		ev_io_stop(stream_loop, &s->rio);
		ev_io_stop(stream_loop, &s->wio);
		return;
	}
	upstream_leave(s);
	ev_io_stop(stream_loop, &s->rio);
	ev_io_stop(stream_loop, &s->wio);
	stream_queue_drop(s, 0);
	close(s->rio.fd);
	TAILQ_REMOVE(&stream_list, s, hb_entry);
	stream_n--;
	stream_unreserve();
	log_debug("stream %llu: freed", (unsigned long long)s->token);
	free(s);
	if (stream_n == 0 && stream_done_cb != NULL)
		stream_done_cb();
}

/*
 * Pings the streams nothing was written to for half a heartbeat, ends the ones
 * whose output was stuck that long, frees the ones that could not even
 * take their end, and re-arms for the next stream due.
 */
static void
stream_hb_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct stream	*s;
	ev_tstamp	 now = ev_now(loop), due;

	(void)revents;
	stream_reap();
	while ((s = TAILQ_FIRST(&stream_list)) != NULL &&
	    s->last_write + stream_idle() <= now + 0.001) {
		stream_touch(s);
		if (s->state == STREAM_CLOSING || s->state == STREAM_DEAD) {
			stream_stats.closed_stalled++;
			stream_free(s);
		} else if (s->q != NULL) {
			stream_stats.closed_stalled++;
			stream_end(s);
		} else {
			stream_stats.pings++;
			stream_send(s, &stream_ping);
		}
	}
	stream_reap();
	due = stream_idle();
	if ((s = TAILQ_FIRST(&stream_list)) != NULL)
		due = s->last_write + stream_idle() - now;
	if (due < 0.01)
		due = 0.01;
	w->repeat = due;
	ev_timer_again(loop, w);
}

void
stream_foreach(void (*fn)(struct stream *, void *), void *arg)
{
	struct stream	*s, *next;

	for (s = TAILQ_FIRST(&stream_list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, hb_entry);
		fn(s, arg);
	}
}

/* Ends every stream properly; cb runs when the last one is gone. */
void
stream_shutdown(void (*cb)(void))
{
	struct stream	*s, *next;

	stream_shutting_down = 1;
	stream_done_cb = cb;
	for (s = TAILQ_FIRST(&stream_list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, hb_entry);
		stream_end(s);
	}
	stream_reap();
	if (stream_n == 0 && cb != NULL)
		cb();
}

/* At exit: closes what is left without ceremony. */
void
stream_free_all(void)
{
	struct stream	*s;

	stream_done_cb = NULL;
	stream_reap();
	while ((s = TAILQ_FIRST(&stream_list)) != NULL)
		stream_free(s);
	free(stream_reap_list);
	stream_reap_list = NULL;
	stream_reap_n = stream_reap_cap = 0;
	ev_timer_stop(stream_loop, &stream_hb_ev);
	ev_check_stop(stream_loop, &stream_reap_ev);
}
