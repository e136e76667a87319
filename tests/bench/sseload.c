/* SPDX-License-Identifier: ISC */
/*
 * sseload: an SSE load client for the full-path benchmark.  One process
 * opens -n HTTP/1.1 event-stream connections to 127.0.0.1 on one epoll
 * loop, parses the responses (chunked or not) and the SSE stream, and
 * measures publish-to-receive latency from a CLOCK_MONOTONIC stamp that
 * leads each event's data ("<ns> <seq> <padding>").
 *
 * A publisher thread feeds the channel either over the fastsse wire
 * protocol (-P wire:SOCKET -C channel) or with pipelined HTTP POSTs on
 * one keep-alive connection (-P http://127.0.0.1:PORT/path, for Nchan).
 * It first sends warm-up events (seq 0) every 100 ms until every client
 * has seen one, so each stream is known to be live, then -e measured
 * events, either at -r events/s or as fast as the window allows: at
 * most -w events published but not yet received by every client.
 *
 * With -H it only opens the streams, prints "READY <n>" and holds them
 * until SIGTERM/SIGINT (or -T seconds), for memory measurements.
 *
 * Several hosts (the Redis benchmark): -u and -P may each be given up to
 * MAXHOST times.  Client i opens its stream on the (i mod n)th URL; each
 * -P runs its own publisher thread with its own sequence, numbered by
 * the publisher's index in the data ("<ns> <seq> <publisher> ..."), so
 * order and losses are checked per publisher.  -e, -r and -w are totals,
 * shared evenly between the publishers.  A stream is warm once it has
 * a warm-up event from every publisher.
 *
 * -p publishes only (no streams): a marker event first, its id printed
 * as "MARKER <id>", then -e events with at most -w unacknowledged, and
 * the rate at which they were acknowledged.  -R is the resume wave that
 * follows it: every stream opens at once with "Last-Event-ID: <-L id>",
 * and must receive exactly the -e events published after the marker; it
 * prints how long until every stream had all of them.
 *
 * Output: human-readable lines plus one "RESULT key=value ..." line.
 *
 * Bounds: a client's partial SSE line is capped at LINE_MAX_BYTES and
 * its response header at HDR_MAX; past either the client is counted as
 * failed and closed.  The publisher's output holds at most one window.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "hist.h"
#include "log.h"
#include "proto.h"
#include "sockpath.h"

#define LINE_MAX_BYTES	(256 * 1024)
#define HDR_MAX		(16 * 1024)
#define RBUF		(256 * 1024)
#define PIPELINE	64		/* HTTP publishes in flight */
#define NS		1000000000ULL
#define MAXHOST		4		/* -u and -P each */

enum cstate {
	C_CONNECTING,
	C_HEADERS,
	C_BODY,
	C_DEAD,
};

enum chstate {
	CH_SIZE,
	CH_EXT,
	CH_DATA,
	CH_CR,
	CH_LF,
};

struct client {
	int		 fd;
	enum cstate	 state;
	int		 chunked;
	enum chstate	 chs;
	uint64_t	 chunk_left;
	int		 host;		/* index into the -u URLs */
	unsigned	 warm;		/* publishers seen warming up */
	int		 have_data;
	uint64_t	 ev_ts;
	uint64_t	 ev_seq;
	uint64_t	 ev_pub;
	uint64_t	 events;	/* measured events received */
	uint64_t	 last_seq[MAXHOST]; /* highest seq seen, by publisher */
	uint64_t	 done_ns;	/* -R: when it had all events */
	struct buf	 line;		/* partial line, or the header */
};

struct pubconf {
	int		 index;		/* in the data: publisher number */
	int		 http;
	char		 path[256];	/* unix socket or HTTP path */
	int		 port;
	char		 channel[128];
	uint64_t	 events;
	double		 rate;
	uint64_t	 window;
	size_t		 size;
	int		 pubonly;	/* -p: window over acknowledgements */
	uint64_t	 sent;		/* this publisher's, thread-owned */
	uint64_t	 acked;
	char		 lastid[128];	/* the id of the last acknowledgement */
};

static struct client	*clients;
static int		 nclients;
static int		 ep;
static int		 nhosts;
static int		 ports[MAXHOST];
static char		 reqpaths[MAXHOST][512];
static const char	*lastid;	/* -L: the Last-Event-ID header */
static int		 resume;	/* -R */
static uint64_t		 resume_want;	/* -R: events each stream needs */
static int		 npubs;
static unsigned		 warm_all;	/* a bit per publisher */
static struct hist	 lat;
static volatile sig_atomic_t stop;

static _Atomic uint64_t	 delivered;	/* measured, all clients */
static _Atomic uint64_t	 pdelivered[MAXHOST]; /* the same by publisher */
static _Atomic int	 phase;		/* 0 warm-up, 1 measure, 2 stop */
static _Atomic int	 nwarm;
static _Atomic uint64_t	 pub_sent;
static _Atomic uint64_t	 pub_acked;
static _Atomic uint64_t	 pub_errors;
static _Atomic uint64_t	 pub_t0;
static _Atomic uint64_t	 pub_t1;
static _Atomic int	 pub_failed;
static _Atomic int	 marker_done;	/* -p: the marker's id is known */
static char		 marker[128];	/* -p: its id */

static int		 nready, nfailed, nwarm_local, nclosed_body;
static int		 ndone;		/* -R: streams that had all events */
static uint64_t		 gaps, reorders;	/* seqs skipped, seqs late */
static uint64_t		 extras;	/* -R: the marker or older replayed */
static uint64_t		 last_rx;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sseload -u http://127.0.0.1:PORT/path [-n clients] [-c concurrency]\n"
	    "         [-P wire:SOCKET|http://127.0.0.1:PORT/path] [-C channel]\n"
	    "         [-e events] [-r rate] [-w window] [-z size] [-t timeout]\n"
	    "         [-H] [-T hold-seconds] [-L last-event-id] [-R] [-p]\n"
	    "       (-u and -P up to %d times each)\n", MAXHOST);
	exit(2);
}

static void
sseload_signal_cb(int sig)
{
	(void)sig;
	stop = 1;
}

/* Parses "http://127.0.0.1:PORT/path" (only loopback is accepted). */
static int
sseload_parse_url(const char *url, int *p, char *path, size_t pathlen)
{
	const char	*s, *slash;
	char		*end;
	long		 v;

	if (strncmp(url, "http://127.0.0.1:", 17) != 0)
		return (-1);
	s = url + 17;
	v = strtol(s, &end, 10);
	if (end == s || v <= 0 || v > 65535)
		return (-1);
	slash = end;
	if (*slash != '/' || strlen(slash) >= pathlen)
		return (-1);
	*p = (int)v;
	strcpy(path, slash);
	return (0);
}

static int
sseload_tcp_connect(int tport, int nonblock)
{
	struct sockaddr_in	 sin;
	int			 fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)tport);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC |
	    (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd == -1)
		return (-1);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Closes with RST so that thousands of runs leave no TIME_WAIT behind. */
static void
sseload_close_fd(int fd)
{
	struct linger	 l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void
client_fail(struct client *c)
{
	if (c->state == C_DEAD)
		return;
	if (c->state == C_BODY)
		nclosed_body++;
	else
		nfailed++;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	sseload_close_fd(c->fd);
	c->fd = -1;
	c->state = C_DEAD;
	buf_free(&c->line);
}

static uint64_t
sseload_num(const char **pp, const char *end)
{
	const char	*p = *pp;
	uint64_t	 v = 0;

	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	*pp = p;
	return (v);
}

/* One complete SSE line (without its LF) for client c. */
static void
client_line(struct client *c, const char *p, size_t n, uint64_t now)
{
	const char	*end;
	uint64_t	*last;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n == 0) {
		if (!c->have_data)
			return;
		c->have_data = 0;
		if (c->ev_pub >= MAXHOST) {
			extras++;
			return;
		}
		if (c->ev_seq == 0) {
			if (resume) {
				extras++;
				return;
			}
			if (c->warm != warm_all) {
				c->warm |= 1U << c->ev_pub;
				if (c->warm == warm_all)
					nwarm_local++;
			}
			return;
		}
		c->events++;
		last = &c->last_seq[c->ev_pub];
		if (c->ev_seq > *last + 1)
			gaps += c->ev_seq - *last - 1;
		else if (c->ev_seq <= *last)
			reorders++;
		if (c->ev_seq > *last)
			*last = c->ev_seq;
		atomic_fetch_add_explicit(&delivered, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&pdelivered[c->ev_pub], 1,
		    memory_order_relaxed);
		if (resume) {
			if (c->events == resume_want) {
				c->done_ns = now;
				ndone++;
			}
		} else if (now >= c->ev_ts)
			hist_add(&lat, now - c->ev_ts);
		last_rx = now;
		return;
	}
	if (n >= 5 && memcmp(p, "data:", 5) == 0) {
		end = p + n;
		p += 5;
		if (p < end && *p == ' ')
			p++;
		c->ev_ts = sseload_num(&p, end);
		if (p < end && *p == ' ')
			p++;
		c->ev_seq = sseload_num(&p, end);
		if (p < end && *p == ' ')
			p++;
		c->ev_pub = sseload_num(&p, end);
		c->have_data = 1;
	}
}

/* Feeds decoded body bytes to the SSE line splitter. */
static int
client_sse(struct client *c, const char *p, size_t n, uint64_t now)
{
	const char	*nl;
	size_t		 k;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		if (nl == NULL) {
			if (buf_append(&c->line, p, n) == -1)
				return (-1);
			return (0);
		}
		k = (size_t)(nl - p);
		if (buf_used(&c->line) > 0) {
			if (buf_append(&c->line, p, k) == -1)
				return (-1);
			client_line(c, buf_head(&c->line), buf_used(&c->line),
			    now);
			buf_reset(&c->line);
		} else
			client_line(c, p, k, now);
		p += k + 1;
		n -= k + 1;
	}
	return (0);
}

/* Removes chunked framing, passing the data on; -1 on bad framing or end. */
static int
client_body(struct client *c, const char *p, size_t n, uint64_t now)
{
	size_t	 k;
	int	 d;

	if (!c->chunked)
		return (client_sse(c, p, n, now));
	while (n > 0) {
		switch (c->chs) {
		case CH_SIZE:
			if (*p == '\r' || *p == ';') {
				c->chs = CH_EXT;
				break;
			}
			if (*p == '\n')
				goto sized;
			if (*p >= '0' && *p <= '9')
				d = *p - '0';
			else if (*p >= 'a' && *p <= 'f')
				d = *p - 'a' + 10;
			else if (*p >= 'A' && *p <= 'F')
				d = *p - 'A' + 10;
			else
				return (-1);
			if (c->chunk_left > (UINT64_MAX >> 4))
				return (-1);
			c->chunk_left = c->chunk_left * 16 + (uint64_t)d;
			break;
		case CH_EXT:
			if (*p == '\n')
				goto sized;
			break;
		case CH_DATA:
			k = n < c->chunk_left ? n : (size_t)c->chunk_left;
			if (client_sse(c, p, k, now) == -1)
				return (-1);
			c->chunk_left -= k;
			p += k;
			n -= k;
			if (c->chunk_left == 0)
				c->chs = CH_CR;
			continue;
		case CH_CR:
			c->chs = *p == '\r' ? CH_LF : CH_SIZE;
			if (*p == '\n')
				c->chs = CH_SIZE;
			break;
		case CH_LF:
			if (*p != '\n')
				return (-1);
			c->chs = CH_SIZE;
			break;
		}
		p++;
		n--;
		continue;
sized:
		if (c->chunk_left == 0)
			return (-1);	/* last chunk: the stream ended */
		c->chs = CH_DATA;
		p++;
		n--;
	}
	return (0);
}

/* Accumulates the response header; on its end, checks it and goes on. */
static int
client_header(struct client *c, const char *p, size_t n, uint64_t now)
{
	const char	*h, *e, *te;
	size_t		 hlen, rest;

	if (buf_append(&c->line, p, n) == -1)
		return (-1);
	h = buf_head(&c->line);
	e = memmem(h, buf_used(&c->line), "\r\n\r\n", 4);
	if (e == NULL)
		return (buf_used(&c->line) > HDR_MAX ? -1 : 0);
	hlen = (size_t)(e - h) + 4;
	if (hlen < 12 || memcmp(h + 9, "200", 3) != 0) {
		if (nfailed < 3)
			log_warnx("response: %.*s", (int)(hlen < 200 ? hlen :
			    200), h);
		return (-1);
	}
	te = memmem(h, hlen, "ransfer-Encoding: chunked", 25);
	if (te == NULL)
		te = memmem(h, hlen, "ransfer-encoding: chunked", 25);
	c->chunked = te != NULL;
	c->state = C_BODY;
	nready++;
	rest = buf_used(&c->line) - hlen;
	if (rest > 0) {
		char	*tmp;

		if ((tmp = malloc(rest)) == NULL)
			return (-1);
		memcpy(tmp, h + hlen, rest);
		buf_reset(&c->line);
		if (client_body(c, tmp, rest, now) == -1) {
			free(tmp);
			return (-1);
		}
		free(tmp);
	} else
		buf_reset(&c->line);
	return (0);
}

/* Sends the GET once the connection is up. */
static int
client_connected(struct client *c)
{
	struct epoll_event	 ev;
	char			 req[900], hdr[300] = "";
	int			 err = 0, n;
	socklen_t		 len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0)
		return (-1);
	if (lastid != NULL)
		snprintf(hdr, sizeof(hdr), "Last-Event-ID: %s\r\n", lastid);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n"
	    "Cache-Control: no-cache\r\n%s\r\n", reqpaths[c->host],
	    ports[c->host], hdr);
	if (write(c->fd, req, (size_t)n) != n)
		return (-1);
	c->state = C_HEADERS;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		return (-1);
	return (0);
}

static void
client_readable(struct client *c)
{
	static char	 rbuf[RBUF];
	ssize_t		 n;
	uint64_t	 now;
	int		 rv;

	n = read(c->fd, rbuf, sizeof(rbuf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_fail(c);
		return;
	}
	now = hist_now_ns();
	if (c->state == C_HEADERS)
		rv = client_header(c, rbuf, (size_t)n, now);
	else
		rv = client_body(c, rbuf, (size_t)n, now);
	if (rv == -1)
		client_fail(c);
}

static int
client_start(struct client *c, int host)
{
	struct epoll_event	 ev;

	memset(c, 0, sizeof(*c));
	c->host = host;
	buf_init(&c->line, LINE_MAX_BYTES);
	if ((c->fd = sseload_tcp_connect(ports[host], 1)) == -1) {
		c->state = C_DEAD;
		nfailed++;
		return (-1);
	}
	c->state = C_CONNECTING;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		fatal("epoll_ctl");
	return (0);
}

static void
sseload_poll(int timeout)
{
	struct epoll_event	 evs[1024];
	struct client		*c;
	int			 i, n;

	n = epoll_wait(ep, evs, 1024, timeout);
	for (i = 0; i < n; i++) {
		c = evs[i].data.ptr;
		if (c->state == C_DEAD)
			continue;
		if (c->state == C_CONNECTING) {
			if (client_connected(c) == -1)
				client_fail(c);
			continue;
		}
		client_readable(c);
	}
}

/* ---- publisher thread ---------------------------------------------- */

/* Formats one event's data: stamp, seq, padding to size bytes. */
static size_t
pub_fill(char *data, size_t size, uint64_t seq, int index)
{
	int	 n;

	n = snprintf(data, size + 1, "%" PRIu64 " %" PRIu64 " %d ",
	    hist_now_ns(), seq, index);
	if (n < 0)
		return (0);
	if ((size_t)n >= size)
		return ((size_t)n > size ? size : (size_t)n);
	memset(data + n, 'x', size - (size_t)n);
	return (size);
}

static int
pub_write_all(int fd, struct buf *out)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	while (buf_used(out) > 0) {
		n = write(fd, buf_head(out), buf_used(out));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return (-1);
			pfd.fd = fd;
			pfd.events = POLLOUT;
			poll(&pfd, 1, 100);
			continue;
		}
		buf_consume(out, (size_t)n);
	}
	return (0);
}

/* Keeps the id an acknowledgement names (for the -p marker). */
static void
pub_keep_id(struct pubconf *pc, const char *id, size_t len)
{
	if (len >= sizeof(pc->lastid))
		len = sizeof(pc->lastid) - 1;
	memcpy(pc->lastid, id, len);
	pc->lastid[len] = '\0';
}

/* One more acknowledgement for pc (and in the totals). */
static void
pub_ack(struct pubconf *pc)
{
	pc->acked++;
	atomic_fetch_add(&pub_acked, 1);
}

/* Reads and counts acknowledgements without blocking; -1 on error. */
static int
pub_read_acks(struct pubconf *pc, int fd, struct buf *in)
{
	struct proto_msg	 m;
	char			 err[128];
	const char		*h, *e, *cl, *id, *idend;
	size_t			 used, hlen, blen;
	ssize_t			 n;
	int			 rv;

	for (;;) {
		if (buf_reserve(in, 65536) == -1)
			return (-1);
		n = read(fd, buf_tail(in), 65536);
		if (n == 0)
			return (-1);
		if (n == -1)
			break;
		buf_commit(in, (size_t)n);
	}
	if (errno != EAGAIN && errno != EINTR)
		return (-1);
	if (!pc->http) {
		for (;;) {
			rv = proto_decode(buf_head(in), buf_used(in),
			    PROTO_MAX_FRAME, &m, &used, err, sizeof(err));
			if (rv == PROTO_BAD)
				return (-1);
			if (rv == PROTO_MORE)
				break;
			if (m.type == PROTO_PUBLISHED) {
				pub_ack(pc);
				pub_keep_id(pc, m.u.published.id.ptr,
				    m.u.published.id.len);
			} else if (m.type == PROTO_ERROR) {
				pub_ack(pc);
				if (atomic_fetch_add(&pub_errors, 1) < 3)
					log_warnx("publish error: %.*s",
					    (int)m.u.error.message.len,
					    m.u.error.message.ptr);
			}
			proto_msg_free(&m);
			buf_consume(in, used);
		}
		return (0);
	}
	for (;;) {
		h = buf_head(in);
		e = memmem(h, buf_used(in), "\r\n\r\n", 4);
		if (e == NULL)
			break;
		hlen = (size_t)(e - h) + 4;
		cl = memmem(h, hlen, "ontent-Length:", 14);
		if (cl == NULL)
			cl = memmem(h, hlen, "ontent-length:", 14);
		blen = cl ? strtoul(cl + 14, NULL, 10) : 0;
		if (buf_used(in) < hlen + blen)
			break;
		if (hlen < 12 || h[9] != '2') {
			if (atomic_fetch_add(&pub_errors, 1) < 3)
				log_warnx("publish: %.*s", (int)(hlen > 100 ?
				    100 : hlen), h);
		}
		/* Nchan's plain-text answer: "last message id: <id>\n". */
		id = memmem(h + hlen, blen, "last message id: ", 17);
		if (id != NULL) {
			id += 17;
			for (idend = id; idend < h + hlen + blen &&
			    *idend != '\r' && *idend != '\n'; idend++)
				;
			pub_keep_id(pc, id, (size_t)(idend - id));
		}
		pub_ack(pc);
		buf_consume(in, hlen + blen);
	}
	return (0);
}

/* Opens the publisher connection and, for the wire, says HELLO. */
static int
pub_open(struct pubconf *pc, struct buf *in)
{
	struct sockaddr_un	 sun;
	struct buf		 out;
	struct pollfd		 pfd;
	int			 fd;

	if (pc->http)
		fd = sseload_tcp_connect(pc->port, 0);
	else {
		if (sockpath_addr(&sun, pc->path) == -1)
			return (-1);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			return (-1);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			close(fd);
			return (-1);
		}
	}
	if (fd == -1)
		return (-1);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (!pc->http) {
		buf_init(&out, 0);
		if (proto_encode_hello(&out, PROTO_VERSION,
		    PROTO_ROLE_PUBLISHER) == -1 || pub_write_all(fd, &out) == -1) {
			buf_free(&out);
			close(fd);
			return (-1);
		}
		buf_free(&out);
		/* WELCOME is read and ignored with the acknowledgements. */
		pfd.fd = fd;
		pfd.events = POLLIN;
		poll(&pfd, 1, 1000);
	}
	(void)in;
	return (fd);
}

/* Appends one publish request for event seq to out. */
static int
pub_encode(const struct pubconf *pc, struct buf *out, char *data,
    uint64_t seq, uint64_t ref)
{
	size_t	 len;

	len = pub_fill(data, pc->size, seq, pc->index);
	if (!pc->http)
		return (proto_encode_publish(out, ref, pc->channel,
		    strlen(pc->channel), NULL, 0, data, len));
	if (buf_printf(out, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n",
	    pc->path, len) == -1)
		return (-1);
	return (buf_append(out, data, len));
}

static void
pub_sleep_until(uint64_t t)
{
	struct timespec	 ts;

	ts.tv_sec = (time_t)(t / NS);
	ts.tv_nsec = (long)(t % NS);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
}

/* Sets *a to v if v is lower (or *a is 0) / higher: the run's bounds. */
static void
pub_time_min(_Atomic uint64_t *a, uint64_t v)
{
	uint64_t	 o = atomic_load(a);

	while ((o == 0 || v < o) && !atomic_compare_exchange_weak(a, &o, v))
		;
}

static void
pub_time_max(_Atomic uint64_t *a, uint64_t v)
{
	uint64_t	 o = atomic_load(a);

	while (v > o && !atomic_compare_exchange_weak(a, &o, v))
		;
}

/* Sends one event and counts it; -1 when the connection failed. */
static int
pub_send(struct pubconf *pc, int fd, struct buf *in, struct buf *out,
    char *data, uint64_t seq, uint64_t *ref)
{
	if (pub_encode(pc, out, data, seq, ++*ref) == -1 ||
	    pub_write_all(fd, out) == -1)
		return (-1);
	pc->sent++;
	atomic_fetch_add(&pub_sent, 1);
	return (pub_read_acks(pc, fd, in));
}

/* Waits (bounded by deadline) until every event sent is acknowledged. */
static int
pub_drain(struct pubconf *pc, int fd, struct buf *in, uint64_t deadline)
{
	struct pollfd	 pfd;

	while (pc->acked < pc->sent && hist_now_ns() < deadline) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		poll(&pfd, 1, 10);
		if (pub_read_acks(pc, fd, in) == -1)
			return (-1);
	}
	return (pc->acked < pc->sent ? -1 : 0);
}

/*
 * A publisher: warm-up events until the main thread says measure, then
 * pc->events events at pc->rate (0: as fast as the window allows).  With
 * -p, no warm-up: publisher 0 sends the marker and waits for its id, then
 * all publish with at most pc->window unacknowledged each.
 */
static void *
pub_main(void *arg)
{
	struct pubconf		*pc = arg;
	struct buf		 in, out;
	struct pollfd		 pfd;
	char			*data;
	uint64_t		 seq = 0, ref = 0, next = 0, t, nw, del;
	int			 fd, full;

	buf_init(&in, 0);
	buf_init(&out, 0);
	if ((data = malloc(pc->size + 1)) == NULL ||
	    (fd = pub_open(pc, &in)) == -1) {
		log_warn("publisher: cannot connect");
		atomic_store(&pub_failed, 1);
		atomic_store(&marker_done, 1);
		free(data);
		return (NULL);
	}
	if (pc->pubonly && pc->index == 0) {
		if (pub_send(pc, fd, &in, &out, data, 0, &ref) == -1 ||
		    pub_drain(pc, fd, &in, hist_now_ns() + 10 * NS) == -1)
			goto fail;
		strcpy(marker, pc->lastid);
		printf("MARKER %s\n", marker);
		fflush(stdout);
		atomic_store(&marker_done, 1);
	}
	while (pc->pubonly && !atomic_load(&marker_done))
		usleep(1000);
	while (atomic_load(&phase) == 0) {
		if (pub_send(pc, fd, &in, &out, data, 0, &ref) == -1)
			goto fail;
		usleep(100000);
	}
	pub_time_min(&pub_t0, hist_now_ns());
	next = hist_now_ns();
	while (seq < pc->events && atomic_load(&phase) == 1) {
		if (pc->pubonly)
			full = pc->sent - pc->acked >= pc->window;
		else {
			nw = (uint64_t)atomic_load(&nwarm);
			if (nw == 0)
				nw = 1;
			del = atomic_load_explicit(&pdelivered[pc->index],
			    memory_order_relaxed);
			full = seq - del / nw >= pc->window ||
			    (pc->http && pc->sent - pc->acked >= PIPELINE);
		}
		if (full) {
			pfd.fd = fd;
			pfd.events = POLLIN;
			poll(&pfd, 1, 1);
			if (pub_read_acks(pc, fd, &in) == -1)
				goto fail;
			continue;
		}
		if (pc->rate > 0) {
			t = hist_now_ns();
			if (t < next)
				pub_sleep_until(next);
			next += (uint64_t)(1e9 / pc->rate);
		}
		seq++;
		if (pub_send(pc, fd, &in, &out, data, seq, &ref) == -1)
			goto fail;
	}
	if (!pc->pubonly)
		pub_time_max(&pub_t1, hist_now_ns());
	/* Collect the remaining acknowledgements, bounded in time. */
	(void)pub_drain(pc, fd, &in, hist_now_ns() + 5 * NS);
	if (pc->pubonly)
		pub_time_max(&pub_t1, hist_now_ns());
	close(fd);
	buf_free(&in);
	buf_free(&out);
	free(data);
	return (NULL);
fail:
	log_warnx("publisher %d: connection failed after %" PRIu64 " events",
	    pc->index, seq);
	atomic_store(&pub_failed, 1);
	atomic_store(&marker_done, 1);
	pub_time_max(&pub_t1, hist_now_ns());
	close(fd);
	buf_free(&in);
	buf_free(&out);
	free(data);
	return (NULL);
}

/* ---- main ----------------------------------------------------------- */

static long
sseload_arg(const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "bad number: %s\n", s);
		usage();
	}
	return (v);
}

/* Opens all clients, at most conc still waiting for their header. */
static void
sseload_open_all(int conc, uint64_t deadline)
{
	int	 next = 0, pending;

	while (!stop && hist_now_ns() < deadline) {
		pending = next - nready - nfailed - nclosed_body;
		while (next < nclients && pending < conc) {
			client_start(&clients[next], next % nhosts);
			next++;
			pending++;
		}
		if (nready + nfailed + nclosed_body >= nclients)
			break;
		sseload_poll(10);
	}
}

static struct pubconf	 pcs[MAXHOST];
static pthread_t	 threads[MAXHOST];

/* Starts one thread per publisher; -1 if one cannot be started. */
static int
sseload_pub_start(void)
{
	int	 i;

	for (i = 0; i < npubs; i++)
		if (pthread_create(&threads[i], NULL, pub_main, &pcs[i]) != 0)
			return (-1);
	return (0);
}

static void
sseload_pub_join(void)
{
	int	 i;

	for (i = 0; i < npubs; i++)
		pthread_join(threads[i], NULL);
}

/* -p: publishing only; prints the marker's id and the acknowledged rate. */
static void
sseload_run_pubonly(void)
{
	uint64_t	 events = 0;
	double		 secs;
	int		 i;

	atomic_store(&phase, 1);
	if (sseload_pub_start() == -1)
		fatalx("pthread_create");
	sseload_pub_join();
	for (i = 0; i < npubs; i++)
		events += pcs[i].events;
	secs = (double)(atomic_load(&pub_t1) - atomic_load(&pub_t0)) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	printf("published %" PRIu64 " of %" PRIu64 " acknowledged (%" PRIu64
	    " errors) in %.3f s over %d publishers: %.0f publishes/s\n",
	    atomic_load(&pub_acked) - 1, events, atomic_load(&pub_errors),
	    secs, npubs, (double)(atomic_load(&pub_acked) - 1) / secs);
	printf("RESULT mode=publish publishers=%d events=%" PRIu64 " acked=%"
	    PRIu64 " pub_errors=%" PRIu64 " secs=%.3f pps=%.0f marker=%s "
	    "failed=%d\n", npubs, events, atomic_load(&pub_acked) - 1,
	    atomic_load(&pub_errors), secs,
	    (double)(atomic_load(&pub_acked) - 1) / secs, marker,
	    atomic_load(&pub_failed));
}

/* Streams still open that lack some of their events (-R). */
static int
sseload_waiting(void)
{
	int	 i, n = 0;

	for (i = 0; i < nclients; i++)
		if (clients[i].state != C_DEAD && clients[i].done_ns == 0)
			n++;
	return (n);
}

/* -R: every stream at once from -L; how long until all had their events. */
static void
sseload_run_resume(uint64_t t0, uint64_t deadline)
{
	struct hist	 done;
	uint64_t	 now, lastprog, lastdel = 0, tailmiss = 0, lastdone = 0;
	int		 i;

	if (hist_init(&done) == -1)
		fatal("hist_init");
	lastprog = hist_now_ns();
	while (!stop && sseload_waiting() > 0) {
		sseload_poll(20);
		now = hist_now_ns();
		if (atomic_load(&delivered) != lastdel) {
			lastdel = atomic_load(&delivered);
			lastprog = now;
		}
		if (now > deadline || now - lastprog > 5 * NS)
			break;
	}
	for (i = 0; i < nclients; i++) {
		if (clients[i].done_ns == 0) {
			tailmiss += resume_want > clients[i].events ?
			    resume_want - clients[i].events : 0;
			continue;
		}
		hist_add(&done, clients[i].done_ns - t0);
		if (clients[i].done_ns > lastdone)
			lastdone = clients[i].done_ns;
	}
	printf("resume: %d of %d streams had all %" PRIu64 " events; the last "
	    "after %.3f s (p50 %.3f s, p99 %.3f s)\n", ndone, nclients,
	    resume_want, lastdone > t0 ? (double)(lastdone - t0) / 1e9 : 0,
	    (double)hist_percentile(&done, 50) / 1e9,
	    (double)hist_percentile(&done, 99) / 1e9);
	printf("losses: %" PRIu64 " skipped, %" PRIu64 " missing at the end, %"
	    PRIu64 " late or repeated, %" PRIu64 " replayed from before the "
	    "cursor\n", gaps, tailmiss, reorders, extras);
	printf("RESULT mode=resume clients=%d ready=%d failed=%d closed=%d "
	    "want=%" PRIu64 " done=%d wave_s=%.3f p50_s=%.3f p99_s=%.3f "
	    "delivered=%" PRIu64 " gaps=%" PRIu64 " tailmiss=%" PRIu64
	    " late=%" PRIu64 " extra=%" PRIu64 "\n", nclients, nready,
	    nfailed, nclosed_body, resume_want, ndone,
	    lastdone > t0 ? (double)(lastdone - t0) / 1e9 : 0,
	    (double)hist_percentile(&done, 50) / 1e9,
	    (double)hist_percentile(&done, 99) / 1e9, atomic_load(&delivered),
	    gaps, tailmiss, reorders, extras);
	hist_free(&done);
}

int
main(int argc, char **argv)
{
	struct rlimit	 rl;
	struct sigaction sa;
	const char	*urls[MAXHOST], *pubargs[MAXHOST], *pa;
	char		 channel[128] = "bench";
	uint64_t	 t0, t1, deadline, lastdel, lastprog, expect, now;
	uint64_t	 tailmiss = 0, events = 1000, window = 100;
	double		 secs, pubsecs, rate = 0;
	size_t		 size = 64;
	int		 ch, conc = 500, hold = 0, holdsecs = 0, timeout = 60;
	int		 pubonly = 0, i, p, live;

	log_init("sseload", 1, 0);
	nclients = 100;
	while ((ch = getopt(argc, argv, "c:C:e:Hn:L:pP:r:Rt:T:u:w:z:")) != -1) {
		switch (ch) {
		case 'c': conc = (int)sseload_arg(optarg, 1, 100000); break;
		case 'C':
			if (strlen(optarg) >= sizeof(channel))
				usage();
			strcpy(channel, optarg);
			break;
		case 'e': events = (uint64_t)sseload_arg(optarg, 1, 100000000); break;
		case 'H': hold = 1; break;
		case 'L':
			if (strlen(optarg) > 200)
				usage();
			lastid = optarg;
			break;
		case 'n': nclients = (int)sseload_arg(optarg, 1, 1000000); break;
		case 'p': pubonly = 1; break;
		case 'P':
			if (npubs == MAXHOST)
				usage();
			pubargs[npubs++] = optarg;
			break;
		case 'r': rate = (double)sseload_arg(optarg, 0, 100000000); break;
		case 'R': resume = 1; break;
		case 't': timeout = (int)sseload_arg(optarg, 1, 3600); break;
		case 'T': holdsecs = (int)sseload_arg(optarg, 0, 3600); break;
		case 'u':
			if (nhosts == MAXHOST)
				usage();
			urls[nhosts++] = optarg;
			break;
		case 'w': window = (uint64_t)sseload_arg(optarg, 1, 100000000); break;
		case 'z': size = (size_t)sseload_arg(optarg, 32, 60000); break;
		default: usage();
		}
	}
	if (optind != argc || (nhosts == 0 && !pubonly))
		usage();
	for (i = 0; i < nhosts; i++)
		if (sseload_parse_url(urls[i], &ports[i], reqpaths[i],
		    sizeof(reqpaths[i])) == -1)
			usage();
	for (p = 0; p < npubs; p++) {
		struct pubconf	*pc = &pcs[p];

		pa = pubargs[p];
		pc->index = p;
		pc->pubonly = pubonly;
		strcpy(pc->channel, channel);
		pc->size = size;
		/* The totals shared out; the first ones take the remainder. */
		pc->events = events / (uint64_t)npubs +
		    ((uint64_t)p < events % (uint64_t)npubs);
		pc->window = window / (uint64_t)npubs;
		if (pc->window == 0)
			pc->window = 1;
		pc->rate = rate / npubs;
		if (strncmp(pa, "wire:", 5) == 0) {
			if (strlen(pa + 5) >= sizeof(pc->path))
				usage();
			strcpy(pc->path, pa + 5);
		} else {
			pc->http = 1;
			if (sseload_parse_url(pa, &pc->port, pc->path,
			    sizeof(pc->path)) == -1)
				usage();
		}
	}
	if ((pubonly || (!hold && !resume)) && npubs == 0)
		usage();
	if (resume && (npubs > 0 || hold || pubonly))
		usage();
	warm_all = (1U << npubs) - 1;
	resume_want = events;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sseload_signal_cb;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pubonly) {
		sseload_run_pubonly();
		return (0);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
		if ((rlim_t)nclients + 32 > rl.rlim_cur) {
			printf("fd limit %lu: %d clients scaled down to %lu\n",
			    (unsigned long)rl.rlim_cur, nclients,
			    (unsigned long)rl.rlim_cur - 32);
			nclients = (int)(rl.rlim_cur - 32);
		}
	}
	if (hist_init(&lat) == -1)
		fatal("hist_init");
	if ((clients = calloc((size_t)nclients, sizeof(*clients))) == NULL)
		fatal("calloc");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");

	t0 = hist_now_ns();
	deadline = t0 + (uint64_t)timeout * NS;
	sseload_open_all(conc, deadline);
	t1 = hist_now_ns();
	printf("streams: %d of %d open (%d failed) in %.2f s\n", nready,
	    nclients, nfailed + nclosed_body, (double)(t1 - t0) / 1e9);
	fflush(stdout);

	if (resume) {
		sseload_run_resume(t0, deadline);
		goto out;
	}
	if (hold) {
		printf("READY %d\n", nready - nclosed_body);
		fflush(stdout);
		deadline = holdsecs > 0 ? hist_now_ns() + (uint64_t)holdsecs * NS :
		    UINT64_MAX;
		while (!stop && hist_now_ns() < deadline)
			sseload_poll(200);
		printf("RESULT mode=hold clients=%d ready=%d failed=%d "
		    "closed=%d\n", nclients, nready, nfailed, nclosed_body);
		goto out;
	}

	/* Warm-up: every live stream must see a seq-0 event of each publisher. */
	if (sseload_pub_start() == -1)
		fatalx("pthread_create");
	deadline = hist_now_ns() + 15 * NS;
	while (!stop && nwarm_local < nready - nclosed_body &&
	    hist_now_ns() < deadline && !atomic_load(&pub_failed))
		sseload_poll(10);
	live = nready - nclosed_body;
	printf("warm-up: %d of %d live streams received the warm-up event%s\n",
	    nwarm_local, live, npubs > 1 ? " of every publisher" : "");
	fflush(stdout);
	atomic_store(&nwarm, nwarm_local > 0 ? nwarm_local : 1);
	hist_reset(&lat);
	atomic_store(&delivered, 0);
	for (p = 0; p < npubs; p++)
		atomic_store(&pdelivered[p], 0);
	last_rx = 0;
	expect = events * (uint64_t)nwarm_local;
	t0 = hist_now_ns();
	atomic_store(&phase, 1);

	deadline = t0 + (uint64_t)timeout * NS;
	lastdel = 0;
	lastprog = t0;
	while (!stop && atomic_load(&delivered) < expect) {
		sseload_poll(50);
		now = hist_now_ns();
		if (atomic_load(&delivered) != lastdel) {
			lastdel = atomic_load(&delivered);
			lastprog = now;
		}
		if (now > deadline || now - lastprog > 3 * NS ||
		    (atomic_load(&pub_failed) && now - lastprog > NS))
			break;
	}
	atomic_store(&phase, 2);
	sseload_pub_join();
	t0 = atomic_load(&pub_t0);
	t1 = last_rx > t0 ? last_rx : hist_now_ns();
	secs = (double)(t1 - t0) / 1e9;
	pubsecs = (double)(atomic_load(&pub_t1) - t0) / 1e9;
	printf("delivered %" PRIu64 " of %" PRIu64 " (%" PRIu64 " events x %d"
	    " streams) in %.3f s: %.0f events/s delivered\n",
	    atomic_load(&delivered), expect, events, nwarm_local, secs,
	    (double)atomic_load(&delivered) / secs);
	printf("published %" PRIu64 " (incl. warm-up), %" PRIu64 " acknowledged,"
	    " %" PRIu64 " errors; measured publishing took %.3f s\n",
	    atomic_load(&pub_sent), atomic_load(&pub_acked),
	    atomic_load(&pub_errors), pubsecs);
	for (i = 0; i < nclients; i++)
		for (p = 0; p < npubs; p++)
			if (clients[i].warm == warm_all &&
			    clients[i].last_seq[p] < pcs[p].events)
				tailmiss += pcs[p].events -
				    clients[i].last_seq[p];
	printf("losses: %" PRIu64 " skipped inside the stream, %" PRIu64
	    " missing at the end, %" PRIu64 " late or repeated\n", gaps,
	    tailmiss, reorders);
	printf("latency publish->receive: p50 %.3f ms, p99 %.3f ms, "
	    "max %.3f ms, mean %.3f ms\n",
	    (double)hist_percentile(&lat, 50) / 1e6,
	    (double)hist_percentile(&lat, 99) / 1e6, (double)lat.max / 1e6,
	    hist_mean(&lat) / 1e6);
	printf("RESULT mode=stream clients=%d ready=%d warm=%d failed=%d "
	    "closed=%d events=%" PRIu64 " size=%zu rate=%.0f window=%" PRIu64
	    " delivered=%" PRIu64 " expected=%" PRIu64 " secs=%.3f "
	    "eps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f pub_errors=%" PRIu64
	    " gaps=%" PRIu64 " tailmiss=%" PRIu64 " late=%" PRIu64
	    " publishers=%d hosts=%d pubsecs=%.3f\n", nclients, nready,
	    nwarm_local, nfailed, nclosed_body, events, size, rate, window,
	    atomic_load(&delivered), expect, secs,
	    (double)atomic_load(&delivered) / secs,
	    (double)hist_percentile(&lat, 50) / 1e6,
	    (double)hist_percentile(&lat, 99) / 1e6, (double)lat.max / 1e6,
	    atomic_load(&pub_errors), gaps, tailmiss, reorders, npubs, nhosts,
	    pubsecs);
out:
	fflush(stdout);
	for (i = 0; i < nclients; i++) {
		if (clients[i].state != C_DEAD && clients[i].fd != -1)
			sseload_close_fd(clients[i].fd);
		buf_free(&clients[i].line);
	}
	free(clients);
	hist_free(&lat);
	close(ep);
	return (0);
}
