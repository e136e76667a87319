/* SPDX-License-Identifier: ISC */
/*
 * bench_broker: throughput and latency of fastsse-broker over its wire
 * protocol, with no web server in the way.  It starts a broker on a
 * private socket (or uses one given with -s) and runs, in order:
 *
 *   1. publish rate: one publisher, pipelined PUBLISHes of -z byte events
 *      to one channel (history on, the broker's defaults), events/s;
 *   2. fan-out: -n subscribers on one channel, -e events published as
 *      fast as the window allows, deliveries/s and publish-to-receive
 *      latency (a CLOCK_MONOTONIC stamp leads each event's data);
 *   3. the same -n subscribers, -l events published one at a time (window
 *      1): the latency of a fan-out on an otherwise idle broker;
 *   4. the same as 2 with -N subscribers spread over -N channels, one each.
 *
 * With -D secs (needs -b), the history on disk, side by side: a broker
 * started for each of --data-dir none, --fsync no, everysec and always,
 * and in each one publisher waiting for each id (window 1) then one
 * pipelining (window 64), each for secs seconds (or -p events), events/s.
 * With -R n (needs -b), the rebuild: n events of -z bytes are published
 * to a broker with a data directory (--fsync no), it is stopped, and the
 * time a new broker takes from exec to its first answer (WELCOME), the
 * history rebuilt from the journal, is measured (its history bounds raised to hold all).
 *
 * All subscriber connections live in this process, on one epoll loop,
 * and every frame they get is decoded with proto_decode().  The
 * publisher keeps at most -w events "in flight" (published but not yet
 * received by every subscriber of its channel), so the broker's queues
 * never fill and no subscriber is dropped for being slow; raise -w to
 * push harder.
 *
 * Bounds: each connection's input buffer is capped at IN_MAX (more than
 * one PROTO_MAX_FRAME; a peer that passes it is a bug and ends the run);
 * output buffers hold at most one window of PUBLISH frames.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "hist.h"
#include "log.h"
#include "proto.h"
#include "sockpath.h"

#define IN_MAX		(2 * 1024 * 1024)
#define READ_CHUNK	(64 * 1024)
#define MAX_BROKER_ARGS	32

struct conn {
	int		 fd;
	int		 id;
	int		 subscribed;	/* SUBSCRIBED seen */
	int		 welcomed;
	int		 closed;
	uint64_t	 events;
	struct buf	 in;
	struct buf	 out;
};

struct run {
	int		 ep;
	const char	*sock;
	struct conn	*subs;
	int		 nsubs;
	int		 nsubscribed;
	int		 nclosed;
	uint64_t	 delivered;
	uint64_t	 errors;
	uint64_t	 first_rx;
	uint64_t	 last_rx;
	struct hist	 lat;
	/* The publisher. */
	struct conn	 pub;
	uint64_t	 sent;
	uint64_t	 acked;
	uint64_t	 pub_errors;
};

static pid_t	 broker_pid = -1;
static char	 tmpdir[64];
static char	 sockpath[128];

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench_broker [-b broker-binary] [-s socket] [-B broker-arg]...\n"
	    "         [-p publish-events] [-z size] [-n subscribers] [-e events]\n"
	    "         [-N subscribers-channels] [-E events] [-Z fanout-size]\n"
	    "         [-l events-at-window-1]\n"
	    "         [-w window] [-W window-N] [-t timeout-s]\n"
	    "         [-D secs-per-durable-run] [-R rebuild-events]\n");
	exit(2);
}

/* Raises the soft fd limit to the hard one; returns the limit now in force. */
static rlim_t
bench_raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit");
	getrlimit(RLIMIT_NOFILE, &rl);
	return (rl.rlim_cur);
}

/*
 * CPU time (user + system, ms) of the broker when this program started
 * it, else 0; of this process with self set.  CPU time says more than
 * rates on a machine shared with other work.
 */
static uint64_t
bench_cpu_ms(int self)
{
	struct rusage		 ru;
	char			 path[64];
	unsigned long long	 ut = 0, st = 0;
	FILE			*f;
	int			 n;

	if (self) {
		getrusage(RUSAGE_SELF, &ru);
		return ((uint64_t)ru.ru_utime.tv_sec * 1000 +
		    (uint64_t)ru.ru_utime.tv_usec / 1000 +
		    (uint64_t)ru.ru_stime.tv_sec * 1000 +
		    (uint64_t)ru.ru_stime.tv_usec / 1000);
	}
	if (broker_pid <= 0)
		return (0);
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)broker_pid);
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	/* Fields 14 and 15, after "pid (comm) state" and ten numbers. */
	n = fscanf(f, "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
	    "%*u %llu %llu", &ut, &st);
	fclose(f);
	if (n != 2)
		return (0);
	return ((uint64_t)(ut + st) * 1000 / (uint64_t)sysconf(_SC_CLK_TCK));
}

/* Connects to the broker socket; blocking connect, then non-blocking fd. */
static int
bench_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	if (sockpath_addr(&sun, path) == -1)
		fatalx("socket path too long");
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return (-1);
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Starts the broker on a private socket and waits until it accepts. */
static void
bench_start_broker(const char *bin, char **extra, int nextra)
{
	char		*argv[MAX_BROKER_ARGS + 8];
	uint64_t	 deadline;
	int		 argc = 0, fd, i;

	strcpy(tmpdir, "/tmp/bench_broker.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp");
	snprintf(sockpath, sizeof(sockpath), "%s/broker.sock", tmpdir);
	argv[argc++] = (char *)bin;
	argv[argc++] = (char *)"--socket";
	argv[argc++] = sockpath;
	argv[argc++] = (char *)"--foreground";
	for (i = 0; i < nextra; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;

	if ((broker_pid = fork()) == -1)
		fatal("fork");
	if (broker_pid == 0) {
		execv(bin, argv);
		_exit(127);
	}
	deadline = hist_now_ns() + 10ULL * 1000000000ULL;
	for (;;) {
		if ((fd = bench_connect(sockpath)) != -1) {
			close(fd);
			return;
		}
		if (waitpid(broker_pid, NULL, WNOHANG) == broker_pid) {
			broker_pid = -1;
			fatalx("broker %s exited at start-up", bin);
		}
		if (hist_now_ns() > deadline)
			fatalx("broker did not accept within 10 s");
		usleep(10000);
	}
}

static void
bench_stop_broker(void)
{
	if (broker_pid > 0) {
		kill(broker_pid, SIGTERM);
		waitpid(broker_pid, NULL, 0);
		broker_pid = -1;
	}
	if (tmpdir[0] != '\0') {
		unlink(sockpath);
		rmdir(tmpdir);
	}
}

static void
bench_atexit(void)
{
	bench_stop_broker();
}

static void
conn_init(struct conn *c, int fd, int id)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->id = id;
	buf_init(&c->in, IN_MAX);
	buf_init(&c->out, 0);
}

static void
conn_close(struct run *r, struct conn *c)
{
	if (c->fd != -1) {
		epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	buf_free(&c->in);
	buf_free(&c->out);
}

/* Writes what the connection has queued; -1 on a write error. */
static int
conn_flush(struct conn *c)
{
	ssize_t	 n;

	while (buf_used(&c->out) > 0) {
		n = write(c->fd, buf_head(&c->out), buf_used(&c->out));
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return (0);
			return (-1);
		}
		buf_consume(&c->out, (size_t)n);
	}
	return (0);
}

/* Arms EPOLLOUT only while output is queued. */
static void
conn_want(struct run *r, struct conn *c, int op)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (buf_used(&c->out) > 0 ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(r->ep, op, c->fd, &ev) == -1)
		fatal("epoll_ctl");
}

/* The stamp at the start of an event's data: decimal ns, then a space. */
static uint64_t
bench_stamp(const char *p, size_t len)
{
	uint64_t	 v = 0;
	size_t		 i;

	for (i = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	return (v);
}

/* Fills data with the current stamp and padding to exactly size bytes. */
static size_t
bench_fill(char *data, size_t size, uint64_t seq)
{
	int	 n;

	n = snprintf(data, size + 1, "%" PRIu64 " %" PRIu64 " ",
	    hist_now_ns(), seq);
	if (n < 0 || (size_t)n >= size)
		return ((size_t)(n < 0 ? 0 : (size_t)n > size ? size : (size_t)n));
	memset(data + n, 'x', size - (size_t)n);
	return (size);
}

/* Handles one decoded frame for connection c. */
static void
bench_frame(struct run *r, struct conn *c, struct proto_msg *m, uint64_t now)
{
	uint64_t	 ts;

	switch (m->type) {
	case PROTO_EVENT:
		ts = bench_stamp(m->u.event.data.ptr, m->u.event.data.len);
		if (ts != 0 && now >= ts)
			hist_add(&r->lat, now - ts);
		c->events++;
		r->delivered++;
		if (r->first_rx == 0)
			r->first_rx = now;
		r->last_rx = now;
		break;
	case PROTO_WELCOME:
		c->welcomed = 1;
		break;
	case PROTO_SUBSCRIBED:
		if (!c->subscribed) {
			c->subscribed = 1;
			r->nsubscribed++;
		}
		break;
	case PROTO_PUBLISHED:
		r->acked++;
		break;
	case PROTO_ERROR:
		if (c == &r->pub) {
			r->acked++;
			r->pub_errors++;
		} else
			r->errors++;
		if (r->errors + r->pub_errors <= 5)
			log_warnx("conn %d: ERROR %" PRIu64 " %.*s", c->id,
			    m->u.error.code, (int)m->u.error.message.len,
			    m->u.error.message.ptr);
		break;
	case PROTO_RESET:
	case PROTO_PONG:
	case PROTO_STATS_REPLY:
	case PROTO_UNSUBSCRIBED:
		break;
	default:
		log_warnx("conn %d: unexpected %s", c->id,
		    proto_type_name(m->type));
		break;
	}
}

/*
 * Reads what is waiting on c and handles every whole frame; -1 when the
 * peer closed or sent something undecodable.
 */
static int
conn_read(struct run *r, struct conn *c)
{
	struct proto_msg	 m;
	char			 err[128];
	size_t			 used;
	ssize_t			 n;
	uint64_t		 now;
	int			 rv, loops = 0;

	do {
		if (buf_reserve(&c->in, READ_CHUNK) == -1) {
			log_warnx("conn %d: input over bound", c->id);
			return (-1);
		}
		n = read(c->fd, buf_tail(&c->in), READ_CHUNK);
		if (n == 0)
			return (-1);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return (0);
			return (-1);
		}
		buf_commit(&c->in, (size_t)n);
		now = hist_now_ns();
		for (;;) {
			rv = proto_decode(buf_head(&c->in), buf_used(&c->in),
			    PROTO_MAX_FRAME, &m, &used, err, sizeof(err));
			if (rv == PROTO_MORE)
				break;
			if (rv == PROTO_BAD) {
				log_warnx("conn %d: bad frame: %s", c->id, err);
				return (-1);
			}
			bench_frame(r, c, &m, now);
			proto_msg_free(&m);
			buf_consume(&c->in, used);
		}
	} while (n == READ_CHUNK && ++loops < 4);
	return (0);
}

/* Runs one epoll round (timeout in ms); handles reads and queued writes. */
static void
bench_poll(struct run *r, int timeout)
{
	struct epoll_event	 evs[512];
	struct conn		*c;
	int			 n, i;

	n = epoll_wait(r->ep, evs, 512, timeout);
	if (n == -1) {
		if (errno == EINTR)
			return;
		fatal("epoll_wait");
	}
	for (i = 0; i < n; i++) {
		c = evs[i].data.ptr;
		if (c->fd == -1)
			continue;
		if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
			if (conn_read(r, c) == -1) {
				if (c == &r->pub)
					fatalx("publisher connection lost");
				c->closed = 1;
				r->nclosed++;
				epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				continue;
			}
		}
		if (evs[i].events & EPOLLOUT) {
			if (conn_flush(c) == -1)
				fatalx("conn %d: write failed", c->id);
			if (buf_used(&c->out) == 0)
				conn_want(r, c, EPOLL_CTL_MOD);
		}
	}
}

/* Opens a client connection and queues HELLO with the given role. */
static int
bench_open(struct run *r, struct conn *c, int id, uint64_t role)
{
	int	 fd;

	if ((fd = bench_connect(r->sock)) == -1)
		return (-1);
	conn_init(c, fd, id);
	if (proto_encode_hello(&c->out, PROTO_VERSION, role) == -1)
		fatalx("encode hello");
	return (0);
}

/* Opens the publisher and waits for WELCOME. */
static void
bench_open_pub(struct run *r, int timeout_s)
{
	uint64_t	 deadline;

	if (bench_open(r, &r->pub, -1, PROTO_ROLE_PUBLISHER) == -1)
		fatal("publisher connect");
	conn_flush(&r->pub);
	conn_want(r, &r->pub, EPOLL_CTL_ADD);
	deadline = hist_now_ns() + (uint64_t)timeout_s * 1000000000ULL;
	while (!r->pub.welcomed) {
		if (hist_now_ns() > deadline)
			fatalx("no WELCOME for the publisher");
		bench_poll(r, 100);
	}
}

/* Queues one PUBLISH of a stamped event of size bytes to channel. */
static void
bench_publish(struct run *r, const char *channel, char *data, size_t size)
{
	size_t	 len;

	len = bench_fill(data, size, r->sent);
	if (proto_encode_publish(&r->pub.out, r->sent + 1, channel,
	    strlen(channel), NULL, 0, data, len) == -1)
		fatalx("encode publish");
	r->sent++;
}

/* Prints the CPU both sides used since (cb, cs), per item n. */
static void
bench_print_cpu(const char *label, uint64_t cb, uint64_t cs, uint64_t n)
{
	uint64_t	 b, me;

	b = bench_cpu_ms(0) - cb;
	me = bench_cpu_ms(1) - cs;
	if (broker_pid > 0)
		printf("%s: CPU broker %" PRIu64 " ms (%.2f us each), "
		    "bench %" PRIu64 " ms (%.2f us each)\n", label, b,
		    n ? (double)b * 1000 / (double)n : 0, me,
		    n ? (double)me * 1000 / (double)n : 0);
	else
		printf("%s: CPU bench %" PRIu64 " ms\n", label, me);
}

/* Scenario 1: pipelined publishing to one channel; prints events/s. */
static void
bench_publish_rate(struct run *r, uint64_t nevents, size_t size,
    uint64_t window, int timeout_s)
{
	char		*data;
	uint64_t	 t0, t1, deadline, cb, cs;

	if ((data = malloc(size + 1)) == NULL)
		fatal("malloc");
	r->sent = r->acked = r->pub_errors = 0;
	bench_open_pub(r, timeout_s);
	t0 = hist_now_ns();
	cb = bench_cpu_ms(0);
	cs = bench_cpu_ms(1);
	deadline = t0 + (uint64_t)timeout_s * 1000000000ULL;
	while (r->acked < nevents) {
		if (r->sent < nevents && r->sent - r->acked < window) {
			while (r->sent < nevents && r->sent - r->acked < window)
				bench_publish(r, "bench-pub", data, size);
			if (conn_flush(&r->pub) == -1)
				fatal("publisher write");
			conn_want(r, &r->pub, EPOLL_CTL_MOD);
		}
		bench_poll(r, 100);
		if (hist_now_ns() > deadline) {
			log_warnx("publish rate: timeout after %" PRIu64
			    " acks", r->acked);
			break;
		}
	}
	t1 = hist_now_ns();
	printf("publish: %" PRIu64 " events of %zu B, window %" PRIu64
	    ", %" PRIu64 " errors, %.3f s: %.0f events/s (%.1f MB/s)\n",
	    r->acked, size, window, r->pub_errors, (double)(t1 - t0) / 1e9,
	    (double)r->acked / ((double)(t1 - t0) / 1e9),
	    (double)r->acked * (double)size / ((double)(t1 - t0) / 1e3));
	bench_print_cpu("publish", cb, cs, r->acked);
	fflush(stdout);
	conn_close(r, &r->pub);
	free(data);
}

/*
 * Opens nsubs subscribers, subscriber i on channel "f<i % nchannels>",
 * and waits until each has its SUBSCRIBED.
 */
static int
bench_open_subs(struct run *r, int nsubs, int nchannels, int timeout_s)
{
	struct proto_str	 ch;
	char			 name[32];
	uint64_t		 deadline;
	int			 i;

	if ((r->subs = calloc((size_t)nsubs, sizeof(*r->subs))) == NULL)
		fatal("calloc");
	r->nsubs = 0;
	r->nsubscribed = r->nclosed = 0;
	deadline = hist_now_ns() + (uint64_t)timeout_s * 1000000000ULL;
	for (i = 0; i < nsubs; i++) {
		if (bench_open(r, &r->subs[i], i, PROTO_ROLE_SUBSCRIBER) == -1) {
			log_warn("subscriber %d: connect", i);
			break;
		}
		snprintf(name, sizeof(name), "f%d", i % nchannels);
		ch.ptr = name;
		ch.len = (uint32_t)strlen(name);
		if (proto_encode_subscribe(&r->subs[i].out, 1, &ch, 1,
		    NULL, 0) == -1)
			fatalx("encode subscribe");
		if (conn_flush(&r->subs[i]) == -1)
			fatal("subscriber %d: write", i);
		conn_want(r, &r->subs[i], EPOLL_CTL_ADD);
		r->nsubs++;
		if (i % 128 == 127)
			bench_poll(r, 0);
	}
	while (r->nsubscribed + r->nclosed < r->nsubs) {
		if (hist_now_ns() > deadline) {
			log_warnx("only %d of %d subscribed", r->nsubscribed,
			    r->nsubs);
			break;
		}
		bench_poll(r, 100);
	}
	return (r->nsubscribed);
}

static void
bench_close_subs(struct run *r)
{
	int	 i;

	for (i = 0; i < r->nsubs; i++)
		conn_close(r, &r->subs[i]);
	free(r->subs);
	r->subs = NULL;
	r->nsubs = 0;
}

/*
 * Scenarios 2 and 3: nevents published round-robin over nchannels while
 * nsubs subscribers receive; the publisher stops while window events
 * are not yet delivered to all their subscribers.
 */
static void
bench_fanout(struct run *r, const char *label, int nsubs, int nchannels,
    uint64_t nevents, size_t size, uint64_t window, int timeout_s)
{
	char		 name[32], *data;
	uint64_t	 t0, t1, deadline, expect, per, lastprog, lastdel, cb, cs;
	int		 ok;

	if ((data = malloc(size + 1)) == NULL)
		fatal("malloc");
	t0 = hist_now_ns();
	ok = bench_open_subs(r, nsubs, nchannels, timeout_s);
	t1 = hist_now_ns();
	printf("%s: %d subscribers on %d channels subscribed in %.2f s\n",
	    label, ok, nchannels, (double)(t1 - t0) / 1e9);
	fflush(stdout);
	if (ok < nsubs) {
		log_warnx("%s: only %d subscribers, skipped", label, ok);
		goto out;
	}
	per = (uint64_t)(nsubs / nchannels);
	expect = nevents * per;
	hist_reset(&r->lat);
	r->delivered = r->errors = 0;
	r->first_rx = r->last_rx = 0;
	r->sent = r->acked = r->pub_errors = 0;
	bench_open_pub(r, timeout_s);

	t0 = hist_now_ns();
	cb = bench_cpu_ms(0);
	cs = bench_cpu_ms(1);
	deadline = t0 + (uint64_t)timeout_s * 1000000000ULL;
	lastprog = t0;
	lastdel = 0;
	while (r->delivered < expect) {
		if (r->sent < nevents &&
		    r->sent - r->delivered / per < window) {
			while (r->sent < nevents &&
			    r->sent - r->delivered / per < window) {
				snprintf(name, sizeof(name), "f%d",
				    (int)(r->sent % (uint64_t)nchannels));
				bench_publish(r, name, data, size);
			}
			if (conn_flush(&r->pub) == -1)
				fatal("publisher write");
			conn_want(r, &r->pub, EPOLL_CTL_MOD);
		}
		bench_poll(r, 100);
		t1 = hist_now_ns();
		if (r->delivered != lastdel) {
			lastdel = r->delivered;
			lastprog = t1;
		}
		if (t1 > deadline || t1 - lastprog > 5000000000ULL) {
			log_warnx("%s: stopped with %" PRIu64 " of %" PRIu64
			    " deliveries (%d subscribers closed)", label,
			    r->delivered, expect, r->nclosed);
			break;
		}
	}
	t1 = r->last_rx ? r->last_rx : hist_now_ns();
	printf("%s: %" PRIu64 " events of %zu B x %" PRIu64
	    " subscribers each, window %" PRIu64 ": %" PRIu64
	    " deliveries in %.3f s = %.0f deliveries/s (%.0f events/s)\n",
	    label, r->sent, size, per, window, r->delivered,
	    (double)(t1 - t0) / 1e9,
	    (double)r->delivered / ((double)(t1 - t0) / 1e9),
	    (double)r->sent / ((double)(t1 - t0) / 1e9));
	printf("%s: latency publish->receive p50 %.3f ms, p99 %.3f ms, "
	    "max %.3f ms, mean %.3f ms; lost %" PRIu64 ", subscribers "
	    "closed %d, errors %" PRIu64 "\n", label,
	    (double)hist_percentile(&r->lat, 50) / 1e6,
	    (double)hist_percentile(&r->lat, 99) / 1e6,
	    (double)r->lat.max / 1e6, hist_mean(&r->lat) / 1e6,
	    expect - r->delivered, r->nclosed, r->errors + r->pub_errors);
	bench_print_cpu(label, cb, cs, r->delivered);
	fflush(stdout);
	conn_close(r, &r->pub);
out:
	bench_close_subs(r);
	free(data);
}

/* Asks the broker for STATS and prints the reply on one line. */
static void
bench_stats(struct run *r)
{
	struct proto_msg	 m;
	char			 err[128];
	size_t			 used;
	ssize_t			 n;
	uint32_t		 i;
	int			 fd, rv, flags;

	if ((fd = bench_connect(r->sock)) == -1)
		return;
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	conn_init(&r->pub, fd, -2);
	if (proto_encode_hello(&r->pub.out, PROTO_VERSION,
	    PROTO_ROLE_BOTH) == -1 ||
	    proto_encode_stats(&r->pub.out, 7) == -1 ||
	    conn_flush(&r->pub) == -1)
		goto out;
	for (;;) {
		if (buf_reserve(&r->pub.in, READ_CHUNK) == -1)
			goto out;
		n = read(fd, buf_tail(&r->pub.in), READ_CHUNK);
		if (n <= 0)
			goto out;
		buf_commit(&r->pub.in, (size_t)n);
		for (;;) {
			rv = proto_decode(buf_head(&r->pub.in),
			    buf_used(&r->pub.in), PROTO_MAX_FRAME, &m, &used,
			    err, sizeof(err));
			if (rv == PROTO_BAD)
				goto out;
			if (rv == PROTO_MORE)
				break;
			buf_consume(&r->pub.in, used);
			if (m.type == PROTO_STATS_REPLY) {
				printf("broker stats:");
				for (i = 0; i < m.u.stats.n; i++)
					printf(" %.*s=%" PRIu64,
					    (int)m.u.stats.kv[i].key.via.str.size,
					    m.u.stats.kv[i].key.via.str.ptr,
					    m.u.stats.kv[i].val.via.u64);
				printf("\n");
				proto_msg_free(&m);
				goto out;
			}
			proto_msg_free(&m);
		}
	}
out:
	close(fd);
	r->pub.fd = -1;
	buf_free(&r->pub.in);
	buf_free(&r->pub.out);
}

/* The first line of /proc/loadavg: the machine is shared, say how busy. */
static const char *
bench_load(void)
{
	static char	 line[128];
	FILE		*f;

	strcpy(line, "?\n");
	if ((f = fopen("/proc/loadavg", "r")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			strcpy(line, "?\n");
		fclose(f);
	}
	return (line);
}

static long
bench_num(const char *s, long min, long max)
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

/*
 * One publisher, window in flight, for at most secs seconds or nevents
 * events of size bytes; returns events/s (errors are counted, not acked).
 */
static double
bench_rate(struct run *r, uint64_t nevents, size_t size, uint64_t window,
    double secs)
{
	char		*data;
	uint64_t	 t0, t1, end;

	if ((data = malloc(size + 1)) == NULL)
		fatal("malloc");
	r->sent = r->acked = r->pub_errors = 0;
	bench_open_pub(r, 10);
	t0 = hist_now_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	while (r->acked < r->sent || (r->sent < nevents &&
	    hist_now_ns() < end)) {
		if (r->sent < nevents && r->sent - r->acked < window &&
		    hist_now_ns() < end) {
			while (r->sent < nevents && r->sent - r->acked < window)
				bench_publish(r, "bench-pub", data, size);
			if (conn_flush(&r->pub) == -1)
				fatal("publisher write");
			conn_want(r, &r->pub, EPOLL_CTL_MOD);
		}
		bench_poll(r, 100);
		if (hist_now_ns() > end + 30000000000ULL)
			fatalx("no answers for 30 s");
	}
	t1 = hist_now_ns();
	conn_close(r, &r->pub);
	free(data);
	if (r->pub_errors > 0)
		log_warnx("%" PRIu64 " publishes refused", r->pub_errors);
	return ((double)(r->acked - r->pub_errors) /
	    ((double)(t1 - t0) / 1e9));
}

/* CPU seconds the running broker used so far (Linux /proc), -1 unknown. */
static double
bench_broker_cpu(void)
{
	char		 path[64], line[1024], *p;
	unsigned long	 ut, st;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)broker_pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return (-1);
	return ((double)(ut + st) / (double)sysconf(_SC_CLK_TCK));
}

/* Removes a broker's data directory (flat: lock, meta, segments). */
static void
bench_rmdata(const char *dir)
{
	char		 path[512];
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/*
 * Scenario -D: publish rates with the history in memory only and on disk
 * with each --fsync choice, window 1 and 64, in one table.
 */
static void
bench_durable(struct run *r, const char *bin, char **extra, int nextra,
    uint64_t nevents, size_t size, double secs)
{
	static const char *modes[] = { "none", "no", "everysec", "always" };
	char		*argv[MAX_BROKER_ARGS + 8];
	char		 dir[] = "/tmp/bench_durable.XXXXXX", data[600];
	double		 rate[4][2], cpu[4][2], c0;
	uint64_t	 n;
	int		 i, k, argc;

	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	snprintf(data, sizeof(data), "%s/data", dir);
	for (i = 0; i < 4; i++) {
		argc = 0;
		for (k = 0; k < nextra; k++)
			argv[argc++] = extra[k];
		argv[argc++] = (char *)"--data-dir";
		argv[argc++] = i == 0 ? (char *)"none" : data;
		if (i > 0) {
			argv[argc++] = (char *)"--fsync";
			argv[argc++] = (char *)modes[i];
		}
		bench_start_broker(bin, argv, argc);
		r->sock = sockpath;
		/* The broker's CPU per event too: a load on the machine
		 * moves it less than the rates. */
		for (k = 0; k < 2; k++) {
			c0 = bench_broker_cpu();
			rate[i][k] = bench_rate(r, nevents, size, k ? 64 : 1,
			    secs);
			n = r->acked - r->pub_errors;
			cpu[i][k] = n > 0 ? (bench_broker_cpu() - c0) * 1e6 /
			    (double)n : 0;
		}
		bench_stop_broker();
		bench_rmdata(data);
		printf("durable %-8s: window 1 %8.0f events/s, window 64 "
		    "%8.0f events/s; broker CPU %.2f / %.2f us/event\n",
		    modes[i], rate[i][0], rate[i][1], cpu[i][0], cpu[i][1]);
		fflush(stdout);
	}
	rmdir(dir);
	printf("durable: broker CPU per event against memory-only: no "
	    "%.0f%%/%.0f%%, everysec %.0f%%/%.0f%%, always %.0f%%/%.0f%% "
	    "(window 1/64)\n",
	    100 * cpu[1][0] / cpu[0][0], 100 * cpu[1][1] / cpu[0][1],
	    100 * cpu[2][0] / cpu[0][0], 100 * cpu[2][1] / cpu[0][1],
	    100 * cpu[3][0] / cpu[0][0], 100 * cpu[3][1] / cpu[0][1]);
	printf("durable: %zu B events, %.0f s each; of memory-only: "
	    "no %.0f%%/%.0f%%, everysec %.0f%%/%.0f%%, always %.0f%%/%.0f%% "
	    "(window 1/64)\n", size, secs,
	    100 * rate[1][0] / rate[0][0], 100 * rate[1][1] / rate[0][1],
	    100 * rate[2][0] / rate[0][0], 100 * rate[2][1] / rate[0][1],
	    100 * rate[3][0] / rate[0][0], 100 * rate[3][1] / rate[0][1]);
}

/*
 * Scenario -R: publishes nevents events of size bytes to a broker with a
 * data directory, stops it, and times a new broker's start-up (exec to
 * accepting) on the same directory: the history rebuilt from the journal.
 */
static void
bench_rebuild(struct run *r, const char *bin, char **extra, int nextra,
    uint64_t nevents, size_t size)
{
	char		*argv[MAX_BROKER_ARGS + 12];
	char		 dir[] = "/tmp/bench_rebuild.XXXXXX", data[600];
	char		 maxev[32];
	double		 rate;
	uint64_t	 t0, t1;
	int		 k, argc = 0;

	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(maxev, sizeof(maxev), "%" PRIu64, nevents);
	for (k = 0; k < nextra; k++)
		argv[argc++] = extra[k];
	argv[argc++] = (char *)"--data-dir";
	argv[argc++] = data;
	argv[argc++] = (char *)"--fsync";
	argv[argc++] = (char *)"no";
	argv[argc++] = (char *)"--history-max-events";
	argv[argc++] = maxev;
	argv[argc++] = (char *)"--max-memory";
	argv[argc++] = (char *)"4G";
	bench_start_broker(bin, argv, argc);
	r->sock = sockpath;
	rate = bench_rate(r, nevents, size, 1024, 600);
	bench_stop_broker();
	printf("rebuild: %" PRIu64 " events of %zu B published (%.0f/s)\n",
	    r->acked, size, rate);
	/* It listens before it reads the journal: time the first answer. */
	t0 = hist_now_ns();
	bench_start_broker(bin, argv, argc);
	bench_open_pub(r, 600);
	t1 = hist_now_ns();
	conn_close(r, &r->pub);
	printf("rebuild: start-up with %" PRIu64 " events on disk: %.3f s "
	    "from exec to the first answer, broker CPU %.2f s\n", r->acked,
	    (double)(t1 - t0) / 1e9, bench_broker_cpu());
	bench_stop_broker();
	bench_rmdata(data);
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	struct run	 r;
	const char	*bin = NULL, *sock = NULL;
	char		*extra[MAX_BROKER_ARGS];
	uint64_t	 npub = 200000, nfan = 2000, nfanN = 200000, nlow = 200;
	uint64_t	 window = 64, windowN = 4096;
	size_t		 size = 1024, fansize = 64;
	rlim_t		 lim;
	int		 nextra = 0, nsubs = 1000, nsubsN = 10000, timeout = 60;
	int		 ch;
	double		 dursecs = 0;
	uint64_t	 nrebuild = 0;

	log_init("bench_broker", 1, 0);
	while ((ch = getopt(argc, argv, "b:B:D:e:E:l:n:N:p:R:s:t:w:W:z:Z:")) != -1) {
		switch (ch) {
		case 'D': dursecs = (double)bench_num(optarg, 1, 3600); break;
		case 'R': nrebuild = (uint64_t)bench_num(optarg, 1, 100000000); break;
		case 'b': bin = optarg; break;
		case 'B':
			if (nextra == MAX_BROKER_ARGS)
				usage();
			extra[nextra++] = optarg;
			break;
		case 'e': nfan = (uint64_t)bench_num(optarg, 1, 100000000); break;
		case 'E': nfanN = (uint64_t)bench_num(optarg, 0, 100000000); break;
		case 'l': nlow = (uint64_t)bench_num(optarg, 0, 100000000); break;
		case 'n': nsubs = (int)bench_num(optarg, 0, 1000000); break;
		case 'N': nsubsN = (int)bench_num(optarg, 0, 1000000); break;
		case 'p': npub = (uint64_t)bench_num(optarg, 0, 100000000); break;
		case 's': sock = optarg; break;
		case 't': timeout = (int)bench_num(optarg, 1, 3600); break;
		case 'w': window = (uint64_t)bench_num(optarg, 1, 10000000); break;
		case 'W': windowN = (uint64_t)bench_num(optarg, 1, 10000000); break;
		case 'z': size = (size_t)bench_num(optarg, 32, 500000); break;
		case 'Z': fansize = (size_t)bench_num(optarg, 32, 500000); break;
		default: usage();
		}
	}
	if (optind != argc || (bin == NULL) == (sock == NULL) ||
	    ((dursecs > 0 || nrebuild > 0) && bin == NULL))
		usage();
	signal(SIGPIPE, SIG_IGN);

	lim = bench_raise_nofile();
	if (nsubsN > 0 && (rlim_t)nsubsN + 64 > lim) {
		printf("fd limit %lu: scaling %d subscribers down to %lu\n",
		    (unsigned long)lim, nsubsN, (unsigned long)lim - 64);
		nsubsN = (int)(lim - 64);
	}
	if (nsubs > 0 && (rlim_t)nsubs + 64 > lim) {
		printf("fd limit %lu: scaling %d subscribers down to %lu\n",
		    (unsigned long)lim, nsubs, (unsigned long)lim - 64);
		nsubs = (int)(lim - 64);
	}
	printf("bench_broker: fd limit %lu, %ld CPUs online, load %s",
	    (unsigned long)lim, sysconf(_SC_NPROCESSORS_ONLN), bench_load());

	memset(&r, 0, sizeof(r));
	if (hist_init(&r.lat) == -1)
		fatal("hist_init");
	if ((r.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	if (bin != NULL) {
		atexit(bench_atexit);
		bench_start_broker(bin, extra, nextra);
		r.sock = sockpath;
	} else
		r.sock = sock;

	if (npub > 0)
		bench_publish_rate(&r, npub, size, 1024, timeout);
	if (nsubs > 0)
		bench_fanout(&r, "fanout-1ch", nsubs, 1, nfan, fansize,
		    window, timeout);
	if (nsubs > 0 && nlow > 0)
		bench_fanout(&r, "fanout-1ch-w1", nsubs, 1, nlow, fansize,
		    1, timeout);
	if (nsubsN > 0 && nfanN > 0)
		bench_fanout(&r, "fanout-Nch", nsubsN, nsubsN, nfanN, fansize,
		    windowN, timeout);
	bench_stats(&r);
	bench_stop_broker();
	if (dursecs > 0)
		bench_durable(&r, bin, extra, nextra, npub > 0 ? npub :
		    UINT64_MAX, size, dursecs);
	if (nrebuild > 0)
		bench_rebuild(&r, bin, extra, nextra, nrebuild, size);

	hist_free(&r.lat);
	close(r.ep);
	bench_stop_broker();
	return (0);
}
