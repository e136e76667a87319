/* SPDX-License-Identifier: ISC */
/*
 * The front door, in the event loop: accepting FastCGI connections,
 * reading each request as its bytes arrive (request.c parses them),
 * answering the short ones and handing streams to stream.c.  Nothing here
 * blocks, so a peer that sends slowly or not at all holds only its own
 * connection: the next request is read and answered beside it.
 *
 * Bounds and policy (counters in accept_stats, logged on SIGUSR1/exit):
 * - Time: a request must be read whole (BEGIN_REQUEST to the end of its
 *   params and, for a stream, the end of STDIN) and its answer or
 *   stream headers written within --request-timeout seconds of the
 *   accept; past it the connection is closed (timeouts).  One timer and
 *   the list of pending connections in accept order, as libev's manual
 *   advises for many equal timeouts.
 * - Count: at most RESPONDER_MAX_PENDING requests are read at once; past
 *   it, and when accept() runs out of fds, the oldest pending request is
 *   closed to make room (evicted): it is the nearest to its deadline, and
 *   a new request is most likely a browser.  With nothing pending to
 *   close, a spare fd lets accept() take the connection and close it at
 *   once (refused), instead of the listening socket staying readable.
 * - Memory: a pending request holds its params (at most 64 KiB, see
 *   request.c; over it 431) and at most ACCEPT_MAX_OUT bytes of records
 *   to write (over it the connection is closed, counted in bad).
 * - Bodies: a stream does not need one.  A GET with a CONTENT_LENGTH
 *   over 0 or any STDIN byte is answered 400 at once; a GET stream
 *   opens only after the empty STDIN record, so the connection handed
 *   over sits at a record boundary.  With --publish-key a POST is a
 *   publish (pubreq.c): its body is kept up to PUBLISH_MAX_BODY bytes,
 *   past it 413 at once and the rest is not read; the request waits for
 *   the broker's answer within its deadline, still read for an abort.
 *   Other methods (and POST without --publish-key) get 405 and OPTIONS
 *   its preflight as soon as the params are read, without reading the
 *   body.
 * - After a short answer the connection is shut down for writing and
 *   what the server still sends is read and dropped until it closes or
 *   the deadline comes, so the answer is not lost to a reset.
 * - At --max-streams, a GET is answered "200, retry: come back later",
 *   spread over 30 to 60 s.
 * - With --token-key, a GET's token is checked as soon as its params are
 *   read (auth.c): 403 with the reason, or 200 with the token-expired
 *   event, or on to the stream with the token's grant.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <fastcgi.h>

#include "auth.h"
#include "buf.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pubreq.h"
#include "record.h"
#include "request.h"
#include "responder.h"
#include "sse.h"
#include "stream.h"
#include "accept.h"

#define ACCEPT_BATCH	64		/* accepts per wake-up */
#define ACCEPT_MAX_OUT	(16 * 1024)	/* records waiting to be written */
#define ACCEPT_READ	4096

enum accept_state {
	ACCEPT_READING,		/* the request is being read */
	ACCEPT_ANSWERING,	/* a short answer is being written */
	ACCEPT_LINGERING,	/* answered: dropping input until EOF */
	ACCEPT_OPENING,		/* stream headers written, then handed over */
};

struct accept_conn {
	ev_io			 rio;
	ev_io			 wio;
	TAILQ_ENTRY(accept_conn) entry;	/* by accept time */
	ev_tstamp		 start;
	enum accept_state	 state;
	struct request		 req;
	struct buf		 out;
	struct stream_handoff	*h;	/* a GET waiting for its STDIN end */
	struct pubreq		*pub;	/* a POST that publishes (pubreq.c) */
};

struct accept_stats	 accept_stats;

static struct ev_loop	*acc_loop;
static ev_io		 acc_lio;
static ev_timer		 acc_timer;
static int		 acc_spare = -1;
static TAILQ_HEAD(, accept_conn) acc_conns =
    TAILQ_HEAD_INITIALIZER(acc_conns);
static size_t		 acc_n;
static void		(*acc_stopped_cb)(void);

static void	accept_read_cb(struct ev_loop *, ev_io *, int);
static void	accept_write_cb(struct ev_loop *, ev_io *, int);
static void	accept_write(struct accept_conn *);

/* A random part of retry:, so browsers do not all come back at once. */
static unsigned long
accept_retry(unsigned long base)
{
	if (conf.retry_jitter_ms == 0)
		return (base);
	return (base + arc4random_uniform((uint32_t)conf.retry_jitter_ms + 1));
}

/* Arms the one timer for the oldest pending request's deadline. */
static void
accept_arm(void)
{
	struct accept_conn	*c = TAILQ_FIRST(&acc_conns);
	ev_tstamp		 left;

	ev_timer_stop(acc_loop, &acc_timer);
	if (c == NULL)
		return;
	left = c->start + conf.request_timeout - ev_now(acc_loop);
	ev_timer_set(&acc_timer, left > 0 ? left : 0., 0.);
	ev_timer_start(acc_loop, &acc_timer);
}

static void
accept_free_handoff(struct stream_handoff *h)
{
	if (h == NULL)
		return;
	http_req_free(&h->req);
	free(h);
}

/* Forgets a pending connection; its fd is closed unless handed over. */
static void
accept_close(struct accept_conn *c, int close_fd)
{
	int	first = c == TAILQ_FIRST(&acc_conns);

	ev_io_stop(acc_loop, &c->rio);
	ev_io_stop(acc_loop, &c->wio);
	TAILQ_REMOVE(&acc_conns, c, entry);
	acc_n--;
	if (close_fd) {
		if (c->state == ACCEPT_OPENING)
			stream_unreserve();	/* its slot, taken in accept_open */
		close(c->rio.fd);
	}
	request_free(&c->req);
	buf_free(&c->out);
	accept_free_handoff(c->h);
	pubreq_free(c->pub);
	free(c);
	if (first)
		accept_arm();
}

/* Closes every pending request whose deadline has come. */
static void
accept_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct accept_conn	*c;
	ev_tstamp		 now = ev_now(loop);

	(void)w;
	(void)revents;
	while ((c = TAILQ_FIRST(&acc_conns)) != NULL &&
	    c->start + conf.request_timeout <= now) {
		if (c->state != ACCEPT_LINGERING) {
			accept_stats.timeouts++;
			log_debug("request not read in %.1f s: closed",
			    conf.request_timeout);
		}
		accept_close(c, 1);
	}
	accept_arm();
}

/* Appends content as FCGI_STDOUT records of the request to c->out. */
static int
accept_stdout(struct accept_conn *c, const struct buf *b)
{
	uint8_t		hdrs[4][RECORD_HEADER_LEN];
	struct iovec	iov[12];
	size_t		n, i, hused;

	if (buf_used(b) > 4 * RECORD_MAX_CONTENT)
		return (-1);
	n = record_stdout_iov(c->req.id, buf_head(b), buf_used(b), 0, hdrs, 4,
	    &hused, iov, 12);
	for (i = 0; i < n; i++)
		if (buf_append(&c->out, iov[i].iov_base, iov[i].iov_len) == -1)
			return (-1);
	return (0);
}

/* Appends the empty STDOUT and END_REQUEST that end the request. */
static int
accept_end(struct accept_conn *c)
{
	uint8_t	end[RECORD_END_LEN];

	record_end(end, c->req.id, 0);
	return (buf_append(&c->out, end, sizeof(end)));
}

/*
 * Writes b as the whole response (or, NULL, only the end of the request)
 * and closes after it; nothing more of the request is read.
 */
static void
accept_answer(struct accept_conn *c, const struct buf *b)
{
	accept_free_handoff(c->h);
	c->h = NULL;
	pubreq_free(c->pub);
	c->pub = NULL;
	c->req.stdin_to = NULL;
	if ((b != NULL && accept_stdout(c, b) == -1) || accept_end(c) == -1) {
		accept_stats.bad++;
		accept_close(c, 1);
		return;
	}
	accept_stats.answered++;
	c->state = ACCEPT_ANSWERING;
	accept_write(c);
}

static void
accept_error(struct accept_conn *c, int status, const char *reason)
{
	struct buf	b;

	buf_init(&b, 0);
	log_debug("%d: %s", status, reason);
	if (http_error(&b, status, reason, &conf.cors,
	    request_param(&c->req, "HTTP_ORIGIN")) == 0)
		accept_answer(c, &b);
	else
		accept_answer(c, NULL);
	buf_free(&b);
}

/* A POST with publishing on: checked now, then its body is read. */
static void
accept_post(struct accept_conn *c)
{
	struct buf	b;

	buf_init(&b, 0);
	if ((c->pub = pubreq_begin(&c->req, &b)) == NULL)
		accept_answer(c, buf_used(&b) > 0 ? &b : NULL);
	else
		c->req.stdin_to = pubreq_body(c->pub);
	buf_free(&b);
}

/* More of the POST's body came: past its bound, 413 and -1. */
static int
accept_post_body(struct accept_conn *c)
{
	struct buf	b;

	buf_init(&b, 0);
	if (pubreq_body_check(c->pub, c->req.body, &b) == 0) {
		buf_free(&b);
		return (0);
	}
	accept_answer(c, buf_used(&b) > 0 ? &b : NULL);
	buf_free(&b);
	return (-1);
}

/* An answer from the broker for the POST: it is written, then closed. */
static void
accept_published_cb(void *arg, const struct buf *answer)
{
	struct accept_conn	*c = arg;

	accept_answer(c, buf_used(answer) > 0 ? answer : NULL);
}

/* The POST's body is whole: the publish goes to the broker. */
static void
accept_publish(struct accept_conn *c)
{
	struct buf	b;

	c->req.stdin_to = NULL;
	/*
	 * Reading goes on while the broker is asked: an ABORT_REQUEST or
	 * the server closing cancels the wait (the publish itself may be
	 * made; a retry with its Idempotency-Key is safe).
	 */
	buf_init(&b, 0);
	if (pubreq_send(c->pub, &b, accept_published_cb, c) == -1)
		accept_answer(c, buf_used(&b) > 0 ? &b : NULL);
	buf_free(&b);
}

/*
 * Checks the GET's token (auth.c).  0: the stream may open, h->grant
 * says with what; -1: answered (403, or 200 with token-expired) and h
 * freed.
 */
static int
accept_auth(struct accept_conn *c, struct stream_handoff *h)
{
	struct auth_request	 r;
	struct buf		 b;
	const char		*why;

	r.query = request_param(&c->req, "QUERY_STRING");
	r.cookie = request_param(&c->req, "HTTP_COOKIE");
	r.authorization = request_param(&c->req, "HTTP_AUTHORIZATION");
	switch (auth_check(&auth_conf, &auth_revokes, &h->req, &r,
	    (int64_t)ev_now(acc_loop), &h->grant, &why, &auth_stats)) {
	case AUTH_OK:
		return (0);
	case AUTH_DENIED:
		accept_free_handoff(h);
		accept_error(c, 403, why);
		return (-1);
	case AUTH_EXPIRED:
		break;
	}
	log_debug("token %s: 200 with token-expired", why);
	buf_init(&b, 0);
	if (http_stream_headers(&b, &conf.cors, request_param(&c->req,
	    "HTTP_ORIGIN")) == 0 && auth_expired_event(&b, why, &h->grant) == 0)
		accept_answer(c, &b);
	else
		accept_answer(c, NULL);
	buf_free(&b);
	accept_free_handoff(h);
	return (-1);
}

/*
 * The params are read: everything but a GET is answered now; a GET is
 * checked (query, cursor, no body, token) and waits for the end of STDIN.
 */
static void
accept_params(struct accept_conn *c)
{
	struct stream_handoff	*h;
	struct buf		 b;
	const char		*origin, *v;
	char			 err[128];

	origin = request_param(&c->req, "HTTP_ORIGIN");
	buf_init(&b, 0);
	if (metrics_answer(&c->req, &b) == 1) {	/* metrics, health */
		accept_answer(c, buf_used(&b) > 0 ? &b : NULL);
		buf_free(&b);
		return;
	}
	buf_free(&b);
	if (pubreq_wanted(&c->req)) {
		accept_post(c);
		return;
	}
	switch (http_method(request_param(&c->req, "REQUEST_METHOD"))) {
	case HTTP_OPTIONS:
		buf_init(&b, 0);
		if (http_preflight(&b, &conf.cors, origin, request_param(
		    &c->req, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS")) == 0)
			accept_answer(c, &b);
		else
			accept_answer(c, NULL);
		buf_free(&b);
		return;
	case HTTP_OTHER:
		accept_error(c, 405, "method not allowed");
		return;
	case HTTP_GET:
		break;
	}
	if ((v = request_param(&c->req, "CONTENT_LENGTH")) != NULL &&
	    *v != '\0' && strspn(v, "0") != strlen(v)) {
		accept_error(c, 400, "a GET request has no body");
		return;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		accept_error(c, 503, "out of memory");
		return;
	}
	http_req_init(&h->req);
	if ((v = request_param(&c->req, "HTTP_LAST_EVENT_ID")) != NULL)
		http_set_lastid(&h->req, v, strlen(v));
	if (http_parse_query(&h->req, request_param(&c->req, "QUERY_STRING"),
	    conf.channel_param, conf.max_channels, err, sizeof(err)) == -1) {
		accept_free_handoff(h);
		accept_error(c, 400, err);
		return;
	}
	if (accept_auth(c, h) == -1)
		return;
	c->h = h;
}

/*
 * The GET is whole: its stream opens (headers and the first lines, then
 * the hand-over once written), or at the cap it is told to come back.
 */
static void
accept_open(struct accept_conn *c)
{
	struct buf	 b;
	const char	*origin = request_param(&c->req, "HTTP_ORIGIN");

	buf_init(&b, 0);
	if (http_stream_headers(&b, &conf.cors, origin) == -1)
		goto fail;
	if (stream_reserve() == -1) {
		/*
		 * Full: a complete stream that asks to come back later,
		 * spread over 1 to 2 times the full retry so the browsers
		 * turned away together do not all return together.
		 */
		if (buf_printf(&b, "retry: %lu\n: full\n\n",
		    accept_retry(RESPONDER_FULL_RETRY_MS) +
		    arc4random_uniform(RESPONDER_FULL_RETRY_MS)) == -1)
			goto fail;
		accept_answer(c, &b);
		buf_free(&b);
		return;
	}
	c->state = ACCEPT_OPENING;	/* from here closing unreserves */
	if (sse_preamble(&b, accept_retry(conf.retry_ms)) == -1 ||
	    accept_stdout(c, &b) == -1)
		goto fail;
	buf_free(&b);
	ev_io_stop(acc_loop, &c->rio);
	accept_write(c);
	return;
fail:
	buf_free(&b);
	accept_stats.bad++;
	accept_close(c, 1);
}

/* The stream's first bytes are out: stream.c owns the connection now. */
static void
accept_handover(struct accept_conn *c)
{
	struct stream_handoff	*h = c->h;

	c->h = NULL;
	h->fd = c->rio.fd;
	h->reqid = c->req.id;
	accept_stats.streams++;
	accept_close(c, 0);
	stream_create(h);
}

/* Writes what is queued; when it is all out, does what comes next. */
static void
accept_write(struct accept_conn *c)
{
	ssize_t	n;

	while (buf_used(&c->out) > 0) {
		n = write(c->rio.fd, buf_head(&c->out), buf_used(&c->out));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_start(acc_loop, &c->wio);
			return;
		}
		if (n <= 0) {
			log_debug("write: %s", strerror(errno));
			accept_close(c, 1);
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
	ev_io_stop(acc_loop, &c->wio);
	switch (c->state) {
	case ACCEPT_READING:
	case ACCEPT_LINGERING:
		break;
	case ACCEPT_ANSWERING:
		shutdown(c->rio.fd, SHUT_WR);
		c->state = ACCEPT_LINGERING;
		ev_io_start(acc_loop, &c->rio);
		break;
	case ACCEPT_OPENING:
		accept_handover(c);
		break;
	}
}

static void
accept_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	accept_write(w->data);
}

/*
 * Feeds what was read to the parser and acts on each thing it reports,
 * until the request is answered or the bytes run out.
 */
static void
accept_feed(struct accept_conn *c, const char *p, size_t len)
{
	enum request_status	 st;
	size_t			 used;
	uint64_t		 body;
	char			 err[128];

	while (len > 0 && c->state == ACCEPT_READING) {
		body = c->req.body;
		st = request_feed(&c->req, p, len, &used, &c->out, err,
		    sizeof(err));
		p += used;
		len -= used;
		if (buf_used(&c->out) > ACCEPT_MAX_OUT) {
			log_debug("peer does not read its answers: closed");
			accept_stats.bad++;
			accept_close(c, 1);
			return;
		}
		if (c->h != NULL && c->req.body != body) {
			accept_error(c, 400, "a GET request has no body");
			return;
		}
		if (c->pub != NULL && c->req.body != body &&
		    accept_post_body(c) == -1)
			return;
		switch (st) {
		case REQUEST_MORE:
			break;
		case REQUEST_PARAMS_DONE:
			accept_params(c);
			if (c->h == NULL && c->pub == NULL)
				return;	/* answered, maybe closed */
			break;
		case REQUEST_STDIN_DONE:
			if (c->h != NULL)
				accept_open(c);
			else if (c->pub != NULL)
				accept_publish(c);
			if (len > 0)
				log_debug("%zu bytes after the request "
				    "dropped", len);
			return;
		case REQUEST_ABORTED:
			accept_stats.aborted++;
			accept_answer(c, NULL);
			return;
		case REQUEST_REFUSED:
			log_debug("role %u refused", c->req.role);
			accept_stats.answered++;
			c->state = ACCEPT_ANSWERING;
			accept_write(c);
			return;
		case REQUEST_TOO_BIG:
			accept_error(c, 431, err);
			return;
		case REQUEST_ERROR:
			log_debug("bad request: %s", err);
			accept_stats.bad++;
			accept_close(c, 1);
			return;
		}
	}
	if (c->state == ACCEPT_READING && buf_used(&c->out) > 0)
		accept_write(c);
}

static void
accept_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct accept_conn	*c = w->data;
	char			 tmp[ACCEPT_READ];
	ssize_t			 n;

	(void)loop;
	(void)revents;
	n = read(w->fd, tmp, sizeof(tmp));
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		if (c->state != ACCEPT_LINGERING)
			log_debug("server closed before the request was "
			    "whole");
		accept_close(c, 1);
		return;
	}
	if (c->state == ACCEPT_READING)
		accept_feed(c, tmp, (size_t)n);
}

/* Makes room for one more request by closing the oldest pending one. */
static int
accept_evict(void)
{
	struct accept_conn	*c;

	if ((c = TAILQ_FIRST(&acc_conns)) == NULL)
		return (-1);
	log_debug("oldest pending request closed to make room");
	accept_stats.evicted++;
	accept_close(c, 1);
	return (0);
}

/* Takes one accepted connection into the pending list and reads it. */
static void
accept_new(int fd)
{
	struct accept_conn	*c;

	if (acc_n >= RESPONDER_MAX_PENDING)
		accept_evict();
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("calloc");
		close(fd);
		return;
	}
	accept_stats.accepted++;
	request_init(&c->req, (unsigned long)conf.max_streams);
	buf_init(&c->out, 0);
	c->state = ACCEPT_READING;
	c->start = ev_now(acc_loop);
	ev_io_init(&c->rio, accept_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, accept_write_cb, fd, EV_WRITE);
	c->rio.data = c->wio.data = c;
	TAILQ_INSERT_TAIL(&acc_conns, c, entry);
	if (++acc_n == 1)
		accept_arm();
	ev_io_start(acc_loop, &c->rio);
	/* The request has usually arrived with the connection. */
	accept_read_cb(acc_loop, &c->rio, EV_READ);
}

/*
 * Accepts what is waiting, a batch at a time.  Out of fds, the oldest
 * pending request makes room; with none, the spare fd is given up for a
 * moment so the connection can be taken and closed.  Any other failure
 * but a transient one means the listening socket is gone (the web server
 * that spawned us went away): stopped_cb ends the process.
 */
static void
accept_listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	int	fd, i;

	(void)loop;
	(void)revents;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			accept_new(fd);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EAGAIN != EWOULDBLOCK
		case EWOULDBLOCK:
#endif
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
			if (accept_evict() == 0)
				continue;
			if (acc_spare != -1) {
				close(acc_spare);
				if ((fd = accept(w->fd, NULL, NULL)) != -1) {
					close(fd);
					accept_stats.refused++;
				}
				acc_spare = open("/dev/null",
				    O_RDONLY | O_CLOEXEC);
			}
			log_warnx("accept: out of fds");
			return;
		case ENOBUFS:
		case ENOMEM:
			log_warn("accept");
			return;
		default:
			log_warn("accept: stopping");
			ev_io_stop(acc_loop, w);
			if (acc_stopped_cb != NULL)
				acc_stopped_cb();
			return;
		}
	}
}

void
accept_start(struct ev_loop *loop, int listen_fd, void (*stopped_cb)(void))
{
	int	flags;

	acc_loop = loop;
	acc_stopped_cb = stopped_cb;
	if ((flags = fcntl(listen_fd, F_GETFL)) == -1 ||
	    fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("fcntl");
	if ((acc_spare = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("open /dev/null");
	ev_timer_init(&acc_timer, accept_timer_cb, 0., 0.);
	ev_io_init(&acc_lio, accept_listen_cb, listen_fd, EV_READ);
	ev_io_start(loop, &acc_lio);
}

size_t
accept_pending(void)
{
	return (acc_n);
}

/* Stops accepting and closes every request not yet answered. */
void
accept_stop(void)
{
	struct accept_conn	*c;

	if (acc_loop == NULL)
		return;
	ev_io_stop(acc_loop, &acc_lio);
	while ((c = TAILQ_FIRST(&acc_conns)) != NULL)
		accept_close(c, 1);
	ev_timer_stop(acc_loop, &acc_timer);
	if (acc_spare != -1)
		close(acc_spare);
	acc_spare = -1;
}
