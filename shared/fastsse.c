/* SPDX-License-Identifier: ISC */
/*
 * libfastsse: the blocking client of the broker (the public API is in
 * fastsse.h; frames are built and parsed by proto.c).
 *
 * Frames arrive in one input buffer and are taken out of it in the order
 * the caller asks for them: a caller waiting for the answer to a request
 * takes that answer and leaves events (and answers to other requests) in
 * place for later calls.  Each request carries a ref whose low bits name
 * its kind, so an ERROR can be routed without a table of requests.
 *
 * Bounds and their policy:
 * - input: at most CLIENT_INBUF_MAX bytes (two of the largest frames).
 *   When it is full the call fails and the handle becomes unusable ("input
 *   buffer full"): it happens only when a caller keeps waiting for answers
 *   while events it never reads pile up, and dropping events silently
 *   would break the promise of no loss.
 * - output: at most CLIENT_OUTBUF_MAX bytes; every request is flushed
 *   before the call returns, so this only bounds one frame.
 * - publishes in flight: FASTSSE_MAX_INFLIGHT; one more is refused until
 *   fastsse_publish_wait() takes an answer.
 * - one event handed to the caller: at most one frame's bytes.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "eventid.h"
#include "fastsse.h"
#include "proto.h"
#include "sockpath.h"


#define CLIENT_INBUF_MAX	(2 * (PROTO_HEADER_LEN + PROTO_MAX_FRAME))
#define CLIENT_OUTBUF_MAX	(PROTO_HEADER_LEN + PROTO_MAX_FRAME)
#define CLIENT_EVBUF_MAX	(PROTO_MAX_FRAME + 64)
#define CLIENT_READ_CHUNK	65536
#define CLIENT_HELLO_TIMEOUT	10000	/* ms */
#define CLIENT_ERR_MAX		512

/* The low bits of a ref name the kind of request it belongs to. */
#define REF_BITS		3
#define REF_KIND(r)		((r) & ((1u << REF_BITS) - 1))
#define REF_PUBLISH		1
#define REF_SUBSCRIBE		2
#define REF_UNSUBSCRIBE		3
#define REF_STATS		4
#define REF_PING		5
#define REF_CHSTATS		6
#define REF_REVOKE		7
#define REF_LAST		REF_REVOKE	/* the highest kind */

_Static_assert(FASTSSE_E_VERSION == PROTO_E_VERSION, "error codes");
_Static_assert(FASTSSE_E_ROLE == PROTO_E_ROLE, "error codes");
_Static_assert(FASTSSE_E_MALFORMED == PROTO_E_MALFORMED, "error codes");
_Static_assert(FASTSSE_E_TOO_BIG == PROTO_E_TOO_BIG, "error codes");
_Static_assert(FASTSSE_E_CHANNEL == PROTO_E_CHANNEL, "error codes");
_Static_assert(FASTSSE_E_TYPE == PROTO_E_TYPE, "error codes");
_Static_assert(FASTSSE_E_DATA == PROTO_E_DATA, "error codes");
_Static_assert(FASTSSE_E_TOO_MANY == PROTO_E_TOO_MANY, "error codes");
_Static_assert(FASTSSE_E_HELLO == PROTO_E_HELLO, "error codes");
_Static_assert(FASTSSE_E_INTERNAL == PROTO_E_INTERNAL, "error codes");
_Static_assert(FASTSSE_E_TIMEOUT == PROTO_E_TIMEOUT, "error codes");
_Static_assert(FASTSSE_E_BUSY == PROTO_E_BUSY, "error codes");
_Static_assert(FASTSSE_E_STORE == PROTO_E_STORE, "error codes");
_Static_assert(FASTSSE_E_UNAVAILABLE == PROTO_E_UNAVAILABLE, "error codes");
_Static_assert(FASTSSE_ID_MAX >= EVENTID_MAX, "id size");
_Static_assert(FASTSSE_ROLE_PUBLISHER == PROTO_ROLE_PUBLISHER, "roles");
_Static_assert(FASTSSE_ROLE_SUBSCRIBER == PROTO_ROLE_SUBSCRIBER, "roles");

/* What a wait is looking for in the input. */
enum client_want {
	CLIENT_WANT_WELCOME,	/* the answer to HELLO */
	CLIENT_WANT_STREAM,	/* an event, reset, subscribed, or their error */
	CLIENT_WANT_REF		/* the answer to one request */
};

enum client_class {
	CLIENT_SKIP,		/* leave it for another call */
	CLIENT_MATCH,		/* the frame asked for */
	CLIENT_FATAL		/* the connection is over */
};

struct fastsse {
	int		 fd;
	int		 broken;	/* no more calls will work */
	int		 eof;		/* the broker closed its side */
	int		 timeout_ms;
	uint64_t	 nextref;
	struct buf	 in;
	struct buf	 out;
	struct buf	 ev;		/* strings of the last event read */
	uint64_t	 ring[FASTSSE_MAX_INFLIGHT];	/* publish refs */
	size_t		 ringhead;
	size_t		 ringcount;
	int		 errcode;
	char		 err[CLIENT_ERR_MAX];
	char		 epoch[FASTSSE_ID_MAX];
};

static void	client_seterr(struct fastsse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	client_fail(struct fastsse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	client_lost(struct fastsse *);

/* Records an error for fastsse_error(); code is the broker's or 0. */
static void
client_seterr(struct fastsse *c, int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->errcode = code;
}

/* Records an error after which the connection cannot be trusted. */
static void
client_fail(struct fastsse *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->errcode = 0;
	c->broken = 1;
}

/* Refuses any call on a handle that has already failed for good. */
static int
client_usable(struct fastsse *c)
{
	if (c->broken)
		return (-1);
	c->errcode = 0;
	c->err[0] = '\0';
	return (0);
}

static uint64_t
client_ref(struct fastsse *c, unsigned kind)
{
	return ((c->nextref++ << REF_BITS) | kind);
}

static int64_t
client_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Milliseconds left before deadline (-1: none) as a poll(2) timeout. */
static int
client_left(int64_t deadline)
{
	int64_t	left;

	if (deadline < 0)
		return (-1);
	left = deadline - client_now_ms();
	if (left < 0)
		return (0);
	if (left > INT32_MAX)
		return (INT32_MAX);
	return ((int)left);
}

static int64_t
client_deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return (-1);
	return (client_now_ms() + timeout_ms);
}

/*
 * Reads what the socket has into the input buffer.  Returns 0 (EOF is
 * recorded in c->eof, not an error: frames before it are still to be
 * taken) or -1 when the read fails or the buffer is full.
 */
static int
client_readsome(struct fastsse *c)
{
	size_t	room;
	ssize_t	n;

	room = CLIENT_INBUF_MAX - buf_used(&c->in);
	if (room == 0) {
		client_fail(c, "input buffer full: events were not read");
		return (-1);
	}
	if (room > CLIENT_READ_CHUNK)
		room = CLIENT_READ_CHUNK;
	if (buf_reserve(&c->in, room) == -1) {
		client_fail(c, "out of memory");
		return (-1);
	}
	n = read(c->fd, buf_tail(&c->in), room);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return (0);
		client_fail(c, "read from broker: %s", strerror(errno));
		return (-1);
	}
	if (n == 0)
		c->eof = 1;
	buf_commit(&c->in, (size_t)n);
	return (0);
}

/*
 * Writes the whole output buffer, reading meanwhile so that a broker
 * busy answering earlier pipelined requests is never stuck on us.
 */
static int
client_flush(struct fastsse *c, int64_t deadline)
{
	struct pollfd	pfd;
	ssize_t		n;
	int		r;

	while (buf_used(&c->out) > 0) {
		pfd.fd = c->fd;
		pfd.events = POLLOUT;
		if (!c->eof && buf_used(&c->in) < CLIENT_INBUF_MAX)
			pfd.events |= POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, client_left(deadline));
		if (r == -1) {
			if (errno == EINTR)
				continue;
			client_fail(c, "poll: %s", strerror(errno));
			return (-1);
		}
		if (r == 0) {
			client_fail(c, "timed out writing to the broker");
			return (-1);
		}
		if ((pfd.revents & POLLIN) && client_readsome(c) == -1)
			return (-1);
		if (!(pfd.revents & (POLLOUT | POLLERR | POLLHUP)))
			continue;
		n = send(c->fd, buf_head(&c->out), buf_used(&c->out),
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET) {
				client_lost(c);
				return (-1);
			}
			client_fail(c, "write to broker: %s", strerror(errno));
			return (-1);
		}
		buf_consume(&c->out, (size_t)n);
	}
	return (0);
}

/*
 * Looks at one decoded frame and says whether it is what the wait wants,
 * someone else's, or the end of the connection.
 */
static enum client_class
client_classify(const struct proto_msg *m, enum client_want want,
    uint64_t ref)
{
	unsigned	kind;

	if (want == CLIENT_WANT_WELCOME) {
		if (m->type == PROTO_WELCOME)
			return (CLIENT_MATCH);
		return (CLIENT_FATAL);
	}
	switch (m->type) {
	case PROTO_EVENT:
	case PROTO_SUBSCRIBED:
	case PROTO_RESET:
		if (want == CLIENT_WANT_STREAM)
			return (CLIENT_MATCH);
		return (CLIENT_SKIP);
	case PROTO_ERROR:
		kind = REF_KIND(m->ref);
		if (m->ref == 0 || kind == 0 || kind > REF_LAST)
			return (CLIENT_FATAL);
		if (kind == REF_SUBSCRIBE)
			return (want == CLIENT_WANT_STREAM ?
			    CLIENT_MATCH : CLIENT_SKIP);
		break;
	case PROTO_PUBLISHED:
	case PROTO_STATS_REPLY:
	case PROTO_CHANNEL_STATS_REPLY:
	case PROTO_PONG:
	case PROTO_UNSUBSCRIBED:
	case PROTO_REVOKED:
		break;
	default:
		return (CLIENT_FATAL);
	}
	if (want == CLIENT_WANT_REF && m->ref == ref)
		return (CLIENT_MATCH);
	return (CLIENT_SKIP);
}

/* Fills the handle's error from a broker ERROR frame. */
static void
client_broker_error(struct fastsse *c, const struct proto_msg *m)
{
	if (m->u.error.message.ptr != NULL && m->u.error.message.len > 0)
		client_seterr(c, (int)m->u.error.code, "%.*s",
		    (int)m->u.error.message.len, m->u.error.message.ptr);
	else
		client_seterr(c, (int)m->u.error.code, "broker error %d",
		    (int)m->u.error.code);
}

/*
 * Records why an answer was not the one a request wanted: the broker's
 * own refusal (ERROR), or a message that has no business there.
 */
static void
client_refused(struct fastsse *c, const struct proto_msg *m)
{
	if (m->type == PROTO_ERROR)
		client_broker_error(c, m);
	else
		client_fail(c, "unexpected %s from broker",
		    proto_type_name(m->type));
}

/*
 * Explains a lost connection: by the broker's ERROR about the whole
 * connection when one is waiting in the input (it says why it hung up),
 * else plainly.
 */
static void
client_lost(struct fastsse *c)
{
	struct proto_msg m;
	size_t		 at, used;
	char		 err[128];
	int		 r;

	for (at = 0; at < buf_used(&c->in); at += used) {
		r = proto_decode(buf_head(&c->in) + at, buf_used(&c->in) - at,
		    PROTO_MAX_FRAME, &m, &used, err, sizeof(err));
		if (r != PROTO_OK)
			break;
		if (m.type == PROTO_ERROR && m.ref == 0) {
			client_broker_error(c, &m);
			proto_msg_free(&m);
			c->errcode = 0;
			c->broken = 1;
			return;
		}
		proto_msg_free(&m);
	}
	client_fail(c, "connection closed by the broker");
}

/*
 * Finds the first frame in the input that the wait wants, reading more
 * until deadline.  Returns 1 with *m decoded (the caller frees it and then
 * cuts the frame at *at, *flen out), 0 on timeout (only when soft: the
 * handle stays usable) or -1 on failure.
 */
static int
client_next(struct fastsse *c, enum client_want want, uint64_t ref,
    int64_t deadline, int soft, struct proto_msg *m, size_t *at,
    size_t *flen)
{
	struct pollfd	pfd;
	size_t		from = 0, used;
	char		err[128];
	int		r;

	for (;;) {
		while (from < buf_used(&c->in)) {
			r = proto_decode(buf_head(&c->in) + from,
			    buf_used(&c->in) - from, PROTO_MAX_FRAME, m, &used,
			    err, sizeof(err));
			if (r == PROTO_MORE)
				break;
			if (r == PROTO_BAD) {
				client_fail(c, "bad frame from broker: %s",
				    err);
				return (-1);
			}
			switch (client_classify(m, want, ref)) {
			case CLIENT_MATCH:
				*at = from;
				*flen = used;
				return (1);
			case CLIENT_FATAL:
				if (m->type == PROTO_ERROR) {
					client_broker_error(c, m);
					c->broken = 1;
				} else
					client_fail(c, "unexpected %s from "
					    "broker", proto_type_name(m->type));
				proto_msg_free(m);
				return (-1);
			case CLIENT_SKIP:
				break;
			}
			proto_msg_free(m);
			from += used;
		}
		if (c->eof) {
			client_lost(c);
			return (-1);
		}
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, client_left(deadline));
		if (r == -1) {
			if (errno == EINTR)
				continue;
			client_fail(c, "poll: %s", strerror(errno));
			return (-1);
		}
		if (r == 0) {
			if (soft)
				return (0);
			client_fail(c, "timed out waiting for the broker");
			return (-1);
		}
		if (client_readsome(c) == -1)
			return (-1);
	}
}

/* Removes a frame that has been taken from the input buffer. */
static void
client_cut(struct fastsse *c, size_t at, size_t len)
{
	buf_cut(&c->in, at, len);
}

/* Waits for the answer to request ref; on 1, *m must be freed and cut. */
static int
client_wait_ref(struct fastsse *c, uint64_t ref, struct proto_msg *m,
    size_t *at, size_t *flen)
{
	return (client_next(c, CLIENT_WANT_REF, ref,
	    client_deadline(c->timeout_ms), 0, m, at, flen));
}

/* One answer taken off the input: its message and where its frame sits. */
struct client_reply {
	struct proto_msg	m;
	size_t			at;
	size_t			flen;
};

/*
 * Waits for the answer to request ref and checks that it is of type
 * want: 0 with r to be passed to client_reply_done, else -1 with the
 * error set (a refusal is taken off the input here, so the caller has
 * nothing to release).
 */
static int
client_reply_wait(struct fastsse *c, uint64_t ref, int want,
    struct client_reply *r)
{
	if (client_wait_ref(c, ref, &r->m, &r->at, &r->flen) != 1)
		return (-1);
	if (r->m.type == want)
		return (0);
	client_refused(c, &r->m);
	proto_msg_free(&r->m);
	client_cut(c, r->at, r->flen);
	return (-1);
}

/* Releases an answer taken by client_reply_wait. */
static void
client_reply_done(struct fastsse *c, struct client_reply *r)
{
	proto_msg_free(&r->m);
	client_cut(c, r->at, r->flen);
}

/* Copies a string of a frame into dst (NUL-terminated, truncated). */
static void
client_copy(char *dst, size_t size, const struct proto_str *s)
{
	size_t	n;

	if (size == 0)
		return;
	n = s->len < size - 1 ? s->len : size - 1;
	if (n > 0)
		memcpy(dst, s->ptr, n);
	dst[n] = '\0';
}

/*
 * Appends an encoded request and sends it.  The encoder is retried after
 * flushing when the output buffer was too full; a second failure means
 * the frame itself is over the protocol's limit.
 */
static int
client_send(struct fastsse *c, int (*enc)(struct fastsse *, void *),
    void *arg)
{
	int64_t	deadline = client_deadline(c->timeout_ms);

	if (enc(c, arg) == -1) {
		if (buf_used(&c->out) == 0) {
			client_seterr(c, 0, "request too big (over the %d byte "
			    "frame limit)", PROTO_MAX_FRAME);
			return (-1);
		}
		if (client_flush(c, deadline) == -1)
			return (-1);
		if (enc(c, arg) == -1) {
			client_seterr(c, 0, "request too big (over the %d byte "
			    "frame limit)", PROTO_MAX_FRAME);
			return (-1);
		}
	}
	return (client_flush(c, deadline));
}

/*
 * A request answered by one frame that carries nothing the caller needs:
 * sends it (enc with arg, which names ref) and waits for the answer; 0
 * when it is of type want, else -1 with the error set.
 */
static int
client_call(struct fastsse *c, int (*enc)(struct fastsse *, void *),
    void *arg, uint64_t ref, int want)
{
	struct client_reply	r;

	if (client_send(c, enc, arg) == -1)
		return (-1);
	if (client_reply_wait(c, ref, want, &r) == -1)
		return (-1);
	client_reply_done(c, &r);
	return (0);
}

struct fastsse *
fastsse_connect(const char *path, int role, char *err, size_t errlen)
{
	struct fastsse		*c = NULL;
	struct sockaddr_un	 sun;
	struct proto_msg	 m;
	size_t			 at, flen;
	int			 flags;

	if (path == NULL || *path == '\0')
		path = sockpath_default(NULL);
	if (errlen > 0)
		err[0] = '\0';
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	c->fd = -1;
	c->timeout_ms = -1;
	c->nextref = 1;
	buf_init(&c->in, CLIENT_INBUF_MAX);
	buf_init(&c->out, CLIENT_OUTBUF_MAX);
	buf_init(&c->ev, CLIENT_EVBUF_MAX);

	if (sockpath_addr(&sun, path) == -1) {
		snprintf(err, errlen, "%s: socket path too long", path);
		goto fail;
	}
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((flags = fcntl(c->fd, F_GETFL)) == -1 ||
	    fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		goto fail;
	}

	if (proto_encode_hello(&c->out, PROTO_VERSION, (uint64_t)role) == -1) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (client_flush(c, client_deadline(CLIENT_HELLO_TIMEOUT)) == -1 ||
	    client_next(c, CLIENT_WANT_WELCOME, 0,
	    client_deadline(CLIENT_HELLO_TIMEOUT), 0, &m, &at, &flen) != 1) {
		snprintf(err, errlen, "%s: %s", path, c->err);
		goto fail;
	}
	client_copy(c->epoch, sizeof(c->epoch), &m.u.welcome.epoch);
	proto_msg_free(&m);
	client_cut(c, at, flen);
	return (c);

fail:
	fastsse_close(c);
	return (NULL);
}

void
fastsse_close(struct fastsse *c)
{
	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->ev);
	free(c);
}

const char *
fastsse_error(const struct fastsse *c)
{
	return (c->err);
}

int
fastsse_error_code(const struct fastsse *c)
{
	return (c->errcode);
}

const char *
fastsse_epoch(const struct fastsse *c)
{
	return (c->epoch);
}

int
fastsse_fd(const struct fastsse *c)
{
	return (c->fd);
}

void
fastsse_set_timeout(struct fastsse *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
}

int
fastsse_inflight(const struct fastsse *c)
{
	return ((int)c->ringcount);
}

struct client_publish {
	uint64_t	 ref;
	const char	*channel;
	const char	*type;
	const char	*data;
	size_t		 len;
	const char	*key;		/* PUBLISH_ONCE; NULL: PUBLISH */
};

static int
client_enc_publish(struct fastsse *c, void *arg)
{
	struct client_publish	*p = arg;

	if (p->key != NULL)
		return (proto_encode_publish_once(&c->out, p->ref,
		    p->channel, strlen(p->channel), p->type,
		    p->type ? strlen(p->type) : 0, p->data, p->len, p->key,
		    strlen(p->key)));
	return (proto_encode_publish(&c->out, p->ref, p->channel,
	    strlen(p->channel), p->type, p->type ? strlen(p->type) : 0,
	    p->data, p->len));
}

int
fastsse_publish_send(struct fastsse *c, const char *channel,
    const char *type, const char *data, size_t len)
{
	struct client_publish	p;

	if (client_usable(c) == -1)
		return (-1);
	if (c->ringcount == FASTSSE_MAX_INFLIGHT) {
		client_seterr(c, 0, "too many publishes in flight");
		return (-1);
	}
	if (channel == NULL || (data == NULL && len > 0)) {
		client_seterr(c, 0, "no channel or no data");
		return (-1);
	}
	p.ref = client_ref(c, REF_PUBLISH);
	p.channel = channel;
	p.type = (type != NULL && *type != '\0') ? type : NULL;
	p.data = data != NULL ? data : "";
	p.len = len;
	p.key = NULL;
	if (client_send(c, client_enc_publish, &p) == -1)
		return (-1);
	c->ring[(c->ringhead + c->ringcount) % FASTSSE_MAX_INFLIGHT] = p.ref;
	c->ringcount++;
	return (0);
}

/* Takes the answer to publish ref and reports it as fastsse_publish does. */
static int
client_publish_result(struct fastsse *c, uint64_t ref, char *id_out,
    size_t id_size)
{
	struct client_reply	r;

	if (client_reply_wait(c, ref, PROTO_PUBLISHED, &r) == -1)
		return (-1);
	if (id_out != NULL)
		client_copy(id_out, id_size, &r.m.u.published.id);
	client_reply_done(c, &r);
	return (0);
}

int
fastsse_publish_wait(struct fastsse *c, char *id_out, size_t id_size)
{
	uint64_t	ref;

	if (client_usable(c) == -1)
		return (-1);
	if (c->ringcount == 0) {
		client_seterr(c, 0, "no publish in flight");
		return (-1);
	}
	ref = c->ring[c->ringhead];
	c->ringhead = (c->ringhead + 1) % FASTSSE_MAX_INFLIGHT;
	c->ringcount--;
	return (client_publish_result(c, ref, id_out, id_size));
}

int
fastsse_publish(struct fastsse *c, const char *channel, const char *type,
    const char *data, size_t len, char *id_out, size_t id_size)
{
	uint64_t	ref;

	if (fastsse_publish_send(c, channel, type, data, len) == -1)
		return (-1);
	/* Take back the newest ref: earlier publishes stay in flight. */
	c->ringcount--;
	ref = c->ring[(c->ringhead + c->ringcount) % FASTSSE_MAX_INFLIGHT];
	return (client_publish_result(c, ref, id_out, id_size));
}

/*
 * A publish the broker makes at most once per key and channel within
 * 300 s: a repeat is answered with the first id.  Waits for the answer;
 * publishes in flight on the handle stay in flight.
 */
int
fastsse_publish_once(struct fastsse *c, const char *channel,
    const char *type, const char *data, size_t len, const char *key,
    char *id_out, size_t id_size)
{
	struct client_publish	p;

	if (client_usable(c) == -1)
		return (-1);
	if (channel == NULL || (data == NULL && len > 0)) {
		client_seterr(c, 0, "no channel or no data");
		return (-1);
	}
	if (key == NULL || *key == '\0' ||
	    strlen(key) > PROTO_IDEM_KEY_MAX) {
		client_seterr(c, 0, "an idempotency key is 1 to %d bytes",
		    PROTO_IDEM_KEY_MAX);
		return (-1);
	}
	p.ref = client_ref(c, REF_PUBLISH);
	p.channel = channel;
	p.type = (type != NULL && *type != '\0') ? type : NULL;
	p.data = data != NULL ? data : "";
	p.len = len;
	p.key = key;
	if (client_send(c, client_enc_publish, &p) == -1)
		return (-1);
	return (client_publish_result(c, p.ref, id_out, id_size));
}

struct client_channels {
	uint64_t		 ref;
	struct proto_str	 ch[PROTO_MAX_CHANNELS];
	size_t			 n;
	const char		*last_id;
	int			 unsubscribe;
};

static int
client_enc_channels(struct fastsse *c, void *arg)
{
	struct client_channels	*s = arg;

	if (s->unsubscribe)
		return (proto_encode_unsubscribe(&c->out, s->ref, s->ch,
		    s->n));
	return (proto_encode_subscribe(&c->out, s->ref, s->ch, s->n,
	    s->last_id, s->last_id ? strlen(s->last_id) : 0));
}

/* Fills s with the channel names, checking their count. */
static int
client_channels(struct fastsse *c, struct client_channels *s,
    const char *const *channels, size_t n)
{
	size_t	i, len;

	if (n == 0 || n > PROTO_MAX_CHANNELS) {
		client_seterr(c, 0, "between 1 and %d channels, not %zu",
		    PROTO_MAX_CHANNELS, n);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		if (channels[i] == NULL) {
			client_seterr(c, 0, "no channel name");
			return (-1);
		}
		len = strlen(channels[i]);
		if (len > UINT32_MAX) {
			client_seterr(c, 0, "channel name too long");
			return (-1);
		}
		s->ch[i].ptr = channels[i];
		s->ch[i].len = (uint32_t)len;
	}
	s->n = n;
	return (0);
}

int
fastsse_subscribe(struct fastsse *c, const char *const *channels, size_t n,
    const char *last_id)
{
	struct client_channels	s;

	if (client_usable(c) == -1)
		return (-1);
	if (client_channels(c, &s, channels, n) == -1)
		return (-1);
	s.ref = client_ref(c, REF_SUBSCRIBE);
	s.last_id = last_id;
	s.unsubscribe = 0;
	return (client_send(c, client_enc_channels, &s));
}

int
fastsse_unsubscribe(struct fastsse *c, const char *const *channels, size_t n)
{
	struct client_channels	s;

	if (client_usable(c) == -1)
		return (-1);
	if (client_channels(c, &s, channels, n) == -1)
		return (-1);
	s.ref = client_ref(c, REF_UNSUBSCRIBE);
	s.last_id = NULL;
	s.unsubscribe = 1;
	return (client_call(c, client_enc_channels, &s, s.ref,
	    PROTO_UNSUBSCRIBED));
}

/*
 * Copies the strings of one frame into the handle's event buffer, NUL
 * terminated, and returns their offsets (so pointers are taken only
 * once the buffer stops moving).  Returns -1 when memory runs out.
 */
static int
client_store(struct fastsse *c, const struct proto_str *s, size_t n,
    size_t *offs)
{
	size_t	i;

	buf_reset(&c->ev);
	for (i = 0; i < n; i++) {
		offs[i] = SIZE_MAX;
		if (s[i].ptr == NULL)
			continue;
		offs[i] = buf_used(&c->ev);
		if (buf_append(&c->ev, s[i].ptr, s[i].len) == -1 ||
		    buf_append_byte(&c->ev, '\0') == -1) {
			client_fail(c, "out of memory");
			return (-1);
		}
	}
	return (0);
}

static const char *
client_stored(struct fastsse *c, size_t off)
{
	if (off == SIZE_MAX)
		return (NULL);
	return (buf_head(&c->ev) + off);
}

/* Turns a stream frame into the caller's event; 1 done, -1 failure. */
static int
client_fill_event(struct fastsse *c, const struct proto_msg *m,
    struct fastsse_event *ev)
{
	struct proto_str	s[4];
	size_t			offs[4];

	memset(ev, 0, sizeof(*ev));
	switch (m->type) {
	case PROTO_EVENT:
		s[0] = m->u.event.channel;
		s[1] = m->u.event.id;
		s[2] = m->u.event.type;
		s[3] = m->u.event.data;
		if (s[2].ptr == NULL || s[2].len == 0) {
			s[2].ptr = "message";
			s[2].len = 7;
		}
		if (s[3].ptr == NULL) {
			s[3].ptr = "";
			s[3].len = 0;
		}
		if (client_store(c, s, 4, offs) == -1)
			return (-1);
		ev->kind = FASTSSE_KIND_EVENT;
		ev->channel = client_stored(c, offs[0]);
		ev->id = client_stored(c, offs[1]);
		ev->type = client_stored(c, offs[2]);
		ev->data = client_stored(c, offs[3]);
		ev->data_len = s[3].len;
		return (1);
	case PROTO_RESET:
		s[0] = m->u.reset.reason;
		s[1] = m->u.reset.oldest_id;
		s[2] = m->u.reset.head_id;
		if (client_store(c, s, 3, offs) == -1)
			return (-1);
		ev->kind = FASTSSE_KIND_RESET;
		ev->reason = client_stored(c, offs[0]);
		ev->oldest = client_stored(c, offs[1]);
		ev->head = client_stored(c, offs[2]);
		return (1);
	case PROTO_SUBSCRIBED:
		s[0] = m->u.subscribed.head_id;
		if (client_store(c, s, 1, offs) == -1)
			return (-1);
		ev->kind = FASTSSE_KIND_SUBSCRIBED;
		ev->head = client_stored(c, offs[0]);
		ev->nreplay = m->u.subscribed.nreplay;
		return (1);
	case PROTO_ERROR:
		client_broker_error(c, m);
		return (-1);
	}
	client_fail(c, "unexpected %s from broker", proto_type_name(m->type));
	return (-1);
}

int
fastsse_read_event(struct fastsse *c, struct fastsse_event *ev,
    int timeout_ms)
{
	struct proto_msg	m;
	size_t			at, flen;
	int			r;

	if (client_usable(c) == -1)
		return (-1);
	r = client_next(c, CLIENT_WANT_STREAM, 0, client_deadline(timeout_ms),
	    1, &m, &at, &flen);
	if (r != 1)
		return (r);
	r = client_fill_event(c, &m, ev);
	proto_msg_free(&m);
	client_cut(c, at, flen);
	return (r);
}

static int
client_enc_stats(struct fastsse *c, void *arg)
{
	return (proto_encode_stats(&c->out, *(uint64_t *)arg));
}

static int
client_enc_ping(struct fastsse *c, void *arg)
{
	return (proto_encode_ping(&c->out, *(uint64_t *)arg));
}

int
fastsse_stats(struct fastsse *c,
    int (*cb)(const char *, unsigned long long, void *), void *arg)
{
	struct client_reply	 r;
	const msgpack_object_kv	*kv;
	uint64_t		 ref;
	uint32_t		 i;
	char			 name[256];

	if (client_usable(c) == -1)
		return (-1);
	ref = client_ref(c, REF_STATS);
	if (client_send(c, client_enc_stats, &ref) == -1)
		return (-1);
	if (client_reply_wait(c, ref, PROTO_STATS_REPLY, &r) == -1)
		return (-1);
	for (i = 0; i < r.m.u.stats.n; i++) {
		kv = &r.m.u.stats.kv[i];
		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    kv->key.via.str.size >= sizeof(name))
			continue;
		memcpy(name, kv->key.via.str.ptr, kv->key.via.str.size);
		name[kv->key.via.str.size] = '\0';
		if (cb(name, kv->val.via.u64, arg) != 0)
			break;
	}
	client_reply_done(c, &r);
	return (0);
}

int
fastsse_ping(struct fastsse *c)
{
	uint64_t	ref;

	if (client_usable(c) == -1)
		return (-1);
	ref = client_ref(c, REF_PING);
	return (client_call(c, client_enc_ping, &ref, ref, PROTO_PONG));
}

struct client_revoke {
	uint64_t	 ref;
	const char	*kind;
	const char	*value;
	uint64_t	 until;
};

static int
client_enc_revoke(struct fastsse *c, void *arg)
{
	struct client_revoke	*r = arg;

	return (proto_encode_revoke(&c->out, r->ref, r->kind, strlen(r->kind),
	    r->value, strlen(r->value), r->until));
}

int
fastsse_revoke(struct fastsse *c, const char *kind, const char *value,
    unsigned long long until)
{
	struct client_revoke	r;

	if (client_usable(c) == -1)
		return (-1);
	r.ref = client_ref(c, REF_REVOKE);
	r.kind = kind;
	r.value = value;
	r.until = until;
	return (client_call(c, client_enc_revoke, &r, r.ref, PROTO_REVOKED));
}

struct client_chstats {
	uint64_t		 ref;
	const char *const	*channels;
	size_t			 n;
};

static int
client_enc_chstats(struct fastsse *c, void *arg)
{
	struct client_chstats	*a = arg;
	struct proto_str	 names[PROTO_MAX_CHANNELS];
	size_t			 i;

	for (i = 0; i < a->n; i++) {
		names[i].ptr = a->channels[i];
		names[i].len = (uint32_t)strlen(a->channels[i]);
	}
	return (proto_encode_channel_stats(&c->out, a->ref, names, a->n));
}

/* Fills *st from one CHANNEL_STATS_REPLY; strings go into the buffers. */
static void
client_chstats_fill(const struct proto_msg *m,
    struct fastsse_channel_stats *st, char *channel, size_t channelsize,
    char *oldest, char *last)
{
	const msgpack_object_kv	*kv;
	const char		*k;
	uint32_t		 i, len;

	memset(st, 0, sizeof(*st));
	client_copy(channel, channelsize, &m->u.chstats.channel);
	st->channel = channel;
	for (i = 0; i < m->u.chstats.n; i++) {
		kv = &m->u.chstats.kv[i];
		k = kv->key.via.str.ptr;
		len = kv->key.via.str.size;
#define CHSTAT(name, field)						\
		if (len == sizeof(name) - 1 && memcmp(k, name, len) == 0) \
			st->field = kv->val.via.u64;
		CHSTAT("streams", streams);
		CHSTAT("history_events", history_events);
		CHSTAT("history_bytes", history_bytes);
		CHSTAT("subscribers", subscribers);
#undef CHSTAT
	}
	if (m->u.chstats.oldest_id.ptr != NULL) {
		client_copy(oldest, FASTSSE_ID_MAX, &m->u.chstats.oldest_id);
		st->oldest_id = oldest;
	}
	if (m->u.chstats.last_id.ptr != NULL) {
		client_copy(last, FASTSSE_ID_MAX, &m->u.chstats.last_id);
		st->last_id = last;
	}
}

int
fastsse_channel_stats(struct fastsse *c, const char *const *channels,
    size_t n, int (*cb)(const struct fastsse_channel_stats *, void *),
    void *arg)
{
	struct client_chstats		 a;
	struct fastsse_channel_stats	 st;
	struct client_reply		 r;
	char				 channel[256];
	char				 oldest[FASTSSE_ID_MAX];
	char				 last[FASTSSE_ID_MAX];
	size_t				 i;
	int				 stop = 0;

	if (client_usable(c) == -1)
		return (-1);
	if (n == 0 || n > PROTO_MAX_CHANNELS) {
		client_seterr(c, 0, "1 to %d channels per request",
		    PROTO_MAX_CHANNELS);
		return (-1);
	}
	a.ref = client_ref(c, REF_CHSTATS);
	a.channels = channels;
	a.n = n;
	if (client_send(c, client_enc_chstats, &a) == -1)
		return (-1);
	/* One reply per channel, or one ERROR for the request. */
	for (i = 0; i < n; i++) {
		if (client_reply_wait(c, a.ref, PROTO_CHANNEL_STATS_REPLY,
		    &r) == -1)
			return (-1);
		client_chstats_fill(&r.m, &st, channel, sizeof(channel),
		    oldest, last);
		client_reply_done(c, &r);
		if (!stop && cb(&st, arg) != 0)
			stop = 1;
	}
	return (0);
}
