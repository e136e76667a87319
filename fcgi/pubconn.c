/* SPDX-License-Identifier: ISC */
/*
 * The publishing connection to the broker (see pubconn.h).  Non-blocking
 * in the loop: HELLO with the publisher role, then PUBLISH or
 * PUBLISH_ONCE frames whose refs match the broker's answers (PUBLISHED
 * or ERROR) to the HTTP requests waiting for them.
 *
 * Bounds and policy (counters in pubconn_stats):
 * - Count: at most PUBCONN_MAX_PENDING publishes await an answer; past
 *   it a publish is not sent and the caller answers 503 (full).
 * - Time: each publish gets an answer within PUBCONN_TIMEOUT seconds or
 *   its caller is told the broker is unavailable (timeouts); a late
 *   answer is ignored.  One timer for the oldest pending publish: they
 *   all wait the same time, so send order is deadline order.
 * - Output: at most PUBCONN_OUT_MAX bytes wait to be written; a publish
 *   that does not fit is not sent (unavailable).
 * - Input: at most one whole frame plus a read; a bad frame drops the
 *   connection.
 * - Connecting: publishes are queued behind HELLO (frames may be
 *   pipelined), so a process just spawned (mod_fcgid, lighttpd's
 *   bin-path) takes the POST that made it start.
 * - Broker down or lost: while the connection waits for its next attempt
 *   publishes are refused at once (unavailable); those pending when it
 *   is lost fail, since nobody can say whether they were made (a retry
 *   with the same Idempotency-Key is safe).  The connection is retried
 *   with backoff (100 ms doubling to 5 s).
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "log.h"
#include "proto.h"
#include "sockpath.h"
#include "pubconn.h"

#define PUBCONN_OUT_MAX		(8 * 1024 * 1024)
#define PUBCONN_READ		16384
#define PUBCONN_BACKOFF_MIN	0.1
#define PUBCONN_BACKOFF_MAX	5.0
#define PUBCONN_HELLO_TIMEOUT	5.0

enum pubconn_state {
	PC_DOWN,
	PC_CONNECTING,
	PC_HELLO,
	PC_READY,
};

struct pubconn_req {
	TAILQ_ENTRY(pubconn_req) entry;	/* send order = deadline order */
	uint64_t		 ref;
	ev_tstamp		 deadline;
	pubconn_cb		 cb;
	void			*arg;
};

struct pubconn_stats	 pubconn_stats;

static struct ev_loop	*pc_loop;
static struct sockaddr_un pc_addr;
static int		 pc_state = PC_DOWN;
static int		 pc_stopped;
static int		 pc_warned;
static ev_io		 pc_io;
static ev_timer		 pc_retry;	/* reconnect, or WELCOME deadline */
static ev_timer		 pc_timer;	/* oldest pending publish */
static double		 pc_backoff = PUBCONN_BACKOFF_MIN;
static struct buf	 pc_in, pc_out;
static uint64_t		 pc_ref;
static size_t		 pc_n;
static TAILQ_HEAD(, pubconn_req) pc_reqs = TAILQ_HEAD_INITIALIZER(pc_reqs);

static void	pubconn_down(const char *);
static void	pubconn_connect(void);

int
pubconn_ready(void)
{
	return (pc_state == PC_READY);
}

/* Arms the timer for the oldest pending publish's deadline. */
static void
pubconn_arm(void)
{
	struct pubconn_req	*r = TAILQ_FIRST(&pc_reqs);
	ev_tstamp		 left;

	ev_timer_stop(pc_loop, &pc_timer);
	if (r == NULL)
		return;
	left = r->deadline - ev_now(pc_loop);
	ev_timer_set(&pc_timer, left > 0 ? left : 0., 0.);
	ev_timer_start(pc_loop, &pc_timer);
}

static struct pubconn_req *
pubconn_find(uint64_t ref)
{
	struct pubconn_req	*r;

	TAILQ_FOREACH(r, &pc_reqs, entry)
		if (r->ref == ref)
			return (r);
	return (NULL);
}

/* Takes r off the list and tells its caller; the callback may publish. */
static void
pubconn_done(struct pubconn_req *r, int result, const char *text,
    size_t len)
{
	pubconn_cb	 cb = r->cb;
	void		*arg = r->arg;
	int		 first = r == TAILQ_FIRST(&pc_reqs);

	TAILQ_REMOVE(&pc_reqs, r, entry);
	pc_n--;
	free(r);
	if (first)
		pubconn_arm();
	cb(arg, result, text, len);
}

/* Fails every pending publish (the connection is gone). */
static void
pubconn_fail_all(const char *why)
{
	struct pubconn_req	*r;

	while ((r = TAILQ_FIRST(&pc_reqs)) != NULL) {
		pubconn_stats.unavailable++;
		pubconn_done(r, PUBCONN_DOWN, why, strlen(why));
	}
}

static void
pubconn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pubconn_req	*r;
	static const char	 why[] = "no answer from the broker in time";

	(void)w;
	(void)revents;
	while ((r = TAILQ_FIRST(&pc_reqs)) != NULL &&
	    r->deadline <= ev_now(loop)) {
		pubconn_stats.timeouts++;
		pubconn_done(r, PUBCONN_DOWN, why, sizeof(why) - 1);
	}
	pubconn_arm();
}

uint64_t
pubconn_publish(const char *channel, size_t chlen, const char *type,
    size_t typelen, const char *data, size_t datalen, const char *key,
    size_t keylen, pubconn_cb cb, void *arg, int *result)
{
	struct pubconn_req	*r;
	int			 rv;

	if (pc_state == PC_DOWN) {
		pubconn_stats.unavailable++;
		*result = PUBCONN_DOWN;
		return (0);
	}
	if (pc_n >= PUBCONN_MAX_PENDING) {
		pubconn_stats.full++;
		*result = PUBCONN_FULL;
		return (0);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		pubconn_stats.unavailable++;
		*result = PUBCONN_DOWN;
		return (0);
	}
	if (++pc_ref == 0)
		pc_ref = 1;
	r->ref = pc_ref;
	if (key != NULL)
		rv = proto_encode_publish_once(&pc_out, r->ref, channel, chlen,
		    type, typelen, data, datalen, key, keylen);
	else
		rv = proto_encode_publish(&pc_out, r->ref, channel, chlen,
		    type, typelen, data, datalen);
	if (rv == -1) {
		free(r);
		pubconn_stats.unavailable++;
		*result = PUBCONN_DOWN;
		return (0);
	}
	r->deadline = ev_now(pc_loop) + PUBCONN_TIMEOUT;
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&pc_reqs, r, entry);
	if (++pc_n == 1)
		pubconn_arm();
	if (pc_state != PC_CONNECTING) {	/* else: once connected */
		ev_io_stop(pc_loop, &pc_io);
		ev_io_set(&pc_io, pc_io.fd, EV_READ | EV_WRITE);
		ev_io_start(pc_loop, &pc_io);
	}
	return (r->ref);
}

void
pubconn_cancel(uint64_t ref)
{
	struct pubconn_req	*r;
	int			 first;

	if (ref == 0 || (r = pubconn_find(ref)) == NULL)
		return;
	first = r == TAILQ_FIRST(&pc_reqs);
	TAILQ_REMOVE(&pc_reqs, r, entry);
	pc_n--;
	free(r);
	if (first)
		pubconn_arm();
}

/* Acts on one frame from the broker; -1 drops the connection. */
static int
pubconn_dispatch(const struct proto_msg *m)
{
	struct pubconn_req	*r;

	switch (m->type) {
	case PROTO_WELCOME:
		if (pc_state != PC_HELLO)
			return (-1);
		pc_state = PC_READY;
		pc_backoff = PUBCONN_BACKOFF_MIN;
		pc_warned = 0;
		pubconn_stats.connects++;
		ev_timer_stop(pc_loop, &pc_retry);
		log_debug("publishing connection to the broker ready");
		return (0);
	case PROTO_PUBLISHED:
		if ((r = pubconn_find(m->ref)) != NULL) {
			pubconn_stats.published++;
			pubconn_done(r, PUBCONN_OK, m->u.published.id.ptr,
			    m->u.published.id.len);
		}
		return (0);
	case PROTO_ERROR:
		if (m->ref == 0 || (r = pubconn_find(m->ref)) == NULL) {
			log_warnx("broker: %.*s", (int)m->u.error.message.len,
			    m->u.error.message.ptr);
			return (pc_state == PC_READY ? 0 : -1);
		}
		pubconn_stats.refused++;
		pubconn_done(r, m->u.error.code > 0 && m->u.error.code <
		    INT32_MAX ? (int)m->u.error.code : PROTO_E_INTERNAL,
		    m->u.error.message.ptr, m->u.error.message.len);
		return (0);
	default:
		log_warnx("unexpected %s on the publishing connection",
		    proto_type_name(m->type));
		return (-1);
	}
}

static void
pubconn_read(void)
{
	struct proto_msg	 m;
	char			 err[128];
	size_t			 used;
	ssize_t			 n;
	int			 rc;

	if (buf_reserve(&pc_in, PUBCONN_READ) == -1) {
		pubconn_down("input buffer");
		return;
	}
	n = read(pc_io.fd, buf_tail(&pc_in), PUBCONN_READ);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		pubconn_down(n == 0 ? "closed by the broker" : "read error");
		return;
	}
	buf_commit(&pc_in, (size_t)n);
	while (buf_used(&pc_in) > 0) {
		rc = proto_decode(buf_head(&pc_in), buf_used(&pc_in),
		    PROTO_MAX_FRAME, &m, &used, err, sizeof(err));
		if (rc == PROTO_MORE)
			break;
		if (rc == PROTO_BAD) {
			log_warnx("bad frame from the broker: %s", err);
			pubconn_down("protocol error");
			return;
		}
		/*
		 * The frame is consumed after the callback: it points into
		 * pc_in, and a callback only appends to pc_out.
		 */
		rc = pubconn_dispatch(&m);
		proto_msg_free(&m);
		if (rc == -1) {
			pubconn_down("protocol error");
			return;
		}
		buf_consume(&pc_in, used);
	}
}

static void
pubconn_write(void)
{
	ssize_t	n;

	if (buf_used(&pc_out) > 0) {
		n = write(pc_io.fd, buf_head(&pc_out), buf_used(&pc_out));
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			pubconn_down("write error");
			return;
		}
		buf_consume(&pc_out, (size_t)n);
	}
	if (buf_used(&pc_out) == 0) {
		ev_io_stop(pc_loop, &pc_io);
		ev_io_set(&pc_io, pc_io.fd, EV_READ);
		ev_io_start(pc_loop, &pc_io);
	}
}

static void
pubconn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	int		e = 0;
	socklen_t	len = sizeof(e);

	(void)loop;
	(void)w;
	if (pc_state == PC_CONNECTING) {
		if (getsockopt(pc_io.fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
			e = errno;
		if (e != 0) {
			if (!pc_warned)
				log_warnx("connect %s: %s (retrying quietly)",
				    pc_addr.sun_path, strerror(e));
			pc_warned = 1;
			pubconn_down(NULL);
			return;
		}
		pc_state = PC_HELLO;
		pubconn_write();
		return;
	}
	if (revents & EV_READ) {
		pubconn_read();
		if (pc_state == PC_DOWN)
			return;
	}
	if (revents & EV_WRITE)
		pubconn_write();
}

static void
pubconn_retry_later(void)
{
	ev_timer_stop(pc_loop, &pc_retry);
	ev_timer_set(&pc_retry, pc_backoff, 0.);
	ev_timer_start(pc_loop, &pc_retry);
	pc_backoff *= 2;
	if (pc_backoff > PUBCONN_BACKOFF_MAX)
		pc_backoff = PUBCONN_BACKOFF_MAX;
}

/* Drops the connection, fails what is pending, retries later. */
static void
pubconn_down(const char *why)
{
	if (pc_io.fd >= 0) {
		ev_io_stop(pc_loop, &pc_io);
		close(pc_io.fd);
		pc_io.fd = -1;
	}
	if (why != NULL && pc_state == PC_READY)
		log_warnx("publishing connection to the broker lost: %s", why);
	pc_state = PC_DOWN;
	buf_reset(&pc_in);
	buf_reset(&pc_out);
	pubconn_fail_all("broker connection lost");
	if (!pc_stopped)
		pubconn_retry_later();
}

static void
pubconn_connect(void)
{
	int	fd;

	buf_reset(&pc_in);
	buf_reset(&pc_out);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("socket");
		goto retry;
	}
	if (proto_encode_hello(&pc_out, PROTO_VERSION,
	    PROTO_ROLE_PUBLISHER) == -1) {
		close(fd);
		goto retry;
	}
	ev_io_init(&pc_io, pubconn_io_cb, fd, EV_READ | EV_WRITE);
	if (connect(fd, (struct sockaddr *)&pc_addr, sizeof(pc_addr)) == -1) {
		if (errno != EINPROGRESS) {
			if (!pc_warned)
				log_warn("connect %s (retrying quietly)",
				    pc_addr.sun_path);
			pc_warned = 1;
			close(fd);
			pc_io.fd = -1;
			goto retry;
		}
		pc_state = PC_CONNECTING;
		ev_io_set(&pc_io, fd, EV_WRITE);
	} else
		pc_state = PC_HELLO;
	ev_io_start(pc_loop, &pc_io);
	ev_timer_stop(pc_loop, &pc_retry);
	ev_timer_set(&pc_retry, PUBCONN_HELLO_TIMEOUT, 0.);
	ev_timer_start(pc_loop, &pc_retry);
	return;
retry:
	pc_state = PC_DOWN;
	pubconn_retry_later();
}

static void
pubconn_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (pc_state == PC_CONNECTING || pc_state == PC_HELLO) {
		pubconn_down("no WELCOME in time");
		return;
	}
	if (!pc_stopped && pc_state == PC_DOWN)
		pubconn_connect();
}

void
pubconn_init(struct ev_loop *loop, const char *path)
{
	pc_loop = loop;
	if (sockpath_addr(&pc_addr, path) == -1)
		fatalx("broker socket path too long: %s", path);
	buf_init(&pc_in, PROTO_HEADER_LEN + PROTO_MAX_FRAME + PUBCONN_READ);
	buf_init(&pc_out, PUBCONN_OUT_MAX);
	pc_io.fd = -1;
	ev_init(&pc_retry, pubconn_retry_cb);
	ev_init(&pc_timer, pubconn_timer_cb);
	pubconn_connect();
}

/* Closes the connection for good (at exit); pending publishes fail. */
void
pubconn_shutdown(void)
{
	if (pc_loop == NULL)
		return;
	pc_stopped = 1;
	ev_timer_stop(pc_loop, &pc_retry);
	ev_timer_stop(pc_loop, &pc_timer);
	if (pc_io.fd >= 0) {
		ev_io_stop(pc_loop, &pc_io);
		close(pc_io.fd);
		pc_io.fd = -1;
	}
	pc_state = PC_DOWN;
	pubconn_fail_all("shutting down");
	buf_free(&pc_in);
	buf_free(&pc_out);
}

void
pubconn_log_stats(void)
{
	if (pc_loop == NULL)
		return;
	log_info("publishing: %llu connects; %llu published, %llu refused "
	    "by the broker, %llu timed out, %llu unavailable, %llu over the "
	    "pending bound; %zu pending",
	    (unsigned long long)pubconn_stats.connects,
	    (unsigned long long)pubconn_stats.published,
	    (unsigned long long)pubconn_stats.refused,
	    (unsigned long long)pubconn_stats.timeouts,
	    (unsigned long long)pubconn_stats.unavailable,
	    (unsigned long long)pubconn_stats.full, pc_n);
}
