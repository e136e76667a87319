/* SPDX-License-Identifier: ISC */
/*
 * apache_conn: opens event streams the way a crowd of browsers does, for
 * apache_scale.sh.  One process, one epoll loop, plain HTTP/1.1 GETs to
 * 127.0.0.1.  A stream counts as served when its whole response header
 * has arrived with status 200: the responder sends the header only once
 * it holds the stream, so this is the moment a browser's EventSource
 * opens.
 *
 * Modes:
 *   (default) open -n streams at -r per second (0: all at once), then
 *       report how long each waited from connect() to its header
 *       (p50/p99/max) and how many were served within -t seconds;
 *   -H  as above, then print "READY <served>" and hold the streams until
 *       SIGTERM/SIGINT (memory and capacity measurements);
 *   -W  a wave: open -n streams and wait until they are served, close
 *       them all at once (as browsers leaving), then at once open -n new
 *       ones, and report how long the new ones took to be served.
 *
 * Bounds: a response header larger than HDR_MAX, or a status other than
 * 200, counts the stream as failed and closes it.  Body bytes are read
 * and dropped.  Each run ends after -t seconds whatever is left.
 *
 * Output: human-readable lines and one "RESULT key=value ..." line.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist.h"

#define HDR_MAX		8192
#define NS		1000000000ULL
#define MS		1000000ULL

enum cstate {
	C_IDLE,
	C_CONNECTING,
	C_HEADER,
	C_SERVED,
	C_ENDED,	/* served, then closed by the server */
	C_FAILED,
};

struct conn {
	int		 fd;
	enum cstate	 state;
	uint64_t	 t0;		/* connect() called */
	size_t		 hlen;
	char		 hdr[HDR_MAX];
};

static struct conn	*conns;
static int		 nconns;
static int		 ep;
static int		 port;
static const char	*path = "/events?channel=scale";
static volatile sig_atomic_t stop;

static void
usage(void)
{
	fprintf(stderr, "usage: apache_conn -p PORT [-u path] [-n streams] "
	    "[-r opens-per-second] [-t timeout] [-H | -W]\n");
	exit(2);
}

static void
apache_conn_signal_cb(int sig)
{
	(void)sig;
	stop = 1;
}

static long
apache_conn_arg(const char *s, long lo, long hi)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		usage();
	return v;
}

/* Starts a non-blocking connect for c; the stream is failed if it cannot. */
static void
apache_conn_start(struct conn *c)
{
	struct sockaddr_in	 sin;
	struct epoll_event	 ev;
	int			 one = 1;

	c->hlen = 0;
	c->t0 = hist_now_ns();
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		c->state = C_FAILED;
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		c->state = C_FAILED;
		return;
	}
	c->state = C_CONNECTING;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT | EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		close(c->fd);
		c->fd = -1;
		c->state = C_FAILED;
	}
}

static void
apache_conn_close(struct conn *c, enum cstate st)
{
	if (c->fd != -1) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	c->state = st;
}

/* Sends the request once the connection is up; failed if it cannot. */
static void
apache_conn_connected(struct conn *c)
{
	struct epoll_event	 ev;
	char			 req[512];
	int			 len, err = 0;
	socklen_t		 el = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1 || err) {
		apache_conn_close(c, C_FAILED);
		return;
	}
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n"
	    "Cache-Control: no-cache\r\n\r\n", path, port);
	/* A fresh socket's send buffer always takes a few hundred bytes. */
	if (write(c->fd, req, (size_t)len) != len) {
		apache_conn_close(c, C_FAILED);
		return;
	}
	c->state = C_HEADER;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/*
 * Reads what c has.  Returns the header's latency in ns when this read
 * completed a 200 header, else 0.
 */
static uint64_t
apache_conn_read(struct conn *c)
{
	char		 drop[4096];
	ssize_t		 n;

	if (c->state != C_HEADER) {
		n = read(c->fd, drop, sizeof(drop));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			apache_conn_close(c, C_ENDED);
		return 0;
	}
	n = read(c->fd, c->hdr + c->hlen, sizeof(c->hdr) - 1 - c->hlen);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		apache_conn_close(c, C_FAILED);
		return 0;
	}
	if (n == -1)
		return 0;
	c->hlen += (size_t)n;
	c->hdr[c->hlen] = '\0';
	if (strstr(c->hdr, "\r\n\r\n") == NULL) {
		if (c->hlen >= sizeof(c->hdr) - 1)
			apache_conn_close(c, C_FAILED);
		return 0;
	}
	if (strncmp(c->hdr, "HTTP/1.1 200", 12) != 0 &&
	    strncmp(c->hdr, "HTTP/1.0 200", 12) != 0) {
		apache_conn_close(c, C_FAILED);
		return 0;
	}
	c->state = C_SERVED;
	return hist_now_ns() - c->t0;
}

/*
 * Opens conns[0..n) at rate per second (0: all at once) and runs the
 * loop until all are served or failed, or until deadline.  Records each
 * served stream's latency into h; returns how many were served.
 */
static int
apache_conn_open(int n, long rate, uint64_t deadline, struct hist *h)
{
	struct epoll_event	 evs[256];
	uint64_t		 t0 = hist_now_ns(), now, lat;
	int			 next = 0, done = 0, served = 0, k, i;
	struct conn		*c;

	while (done < n && !stop) {
		now = hist_now_ns();
		if (now >= deadline)
			break;
		while (next < n && (rate == 0 ||
		    (uint64_t)next * NS / (uint64_t)rate <= now - t0)) {
			apache_conn_start(&conns[next]);
			if (conns[next].state == C_FAILED)
				done++;
			next++;
		}
		k = epoll_wait(ep, evs, 256, 1);
		for (i = 0; i < k; i++) {
			c = evs[i].data.ptr;
			if (c->state == C_CONNECTING) {
				apache_conn_connected(c);
				if (c->state == C_FAILED)
					done++;
				continue;
			}
			if (c->state != C_HEADER) {
				/* Served already: body bytes, or its end. */
				apache_conn_read(c);
				continue;
			}
			lat = apache_conn_read(c);
			if (lat != 0) {
				hist_add(h, lat);
				served++;
				done++;
			} else if (c->state == C_FAILED)
				done++;
		}
	}
	return served;
}

/* Reads and drops body bytes until SIGTERM, counting streams that end. */
static void
apache_conn_hold(void)
{
	struct epoll_event	 evs[256];
	int			 k, i;

	while (!stop) {
		k = epoll_wait(ep, evs, 256, 200);
		for (i = 0; i < k; i++)
			apache_conn_read(evs[i].data.ptr);
	}
}

static void
apache_conn_report(const char *what, int n, int served, struct hist *h,
    uint64_t wall)
{
	int		 failed = 0, ended = 0, i;

	for (i = 0; i < n; i++) {
		if (conns[i].state == C_FAILED)
			failed++;
		else if (conns[i].state == C_ENDED)
			ended++;
	}
	printf("%s: %d of %d served (%d ended since, %d failed, %d still "
	    "waiting) in %.3f s; header after p50 %.1f ms, p99 %.1f ms, "
	    "max %.1f ms\n", what, served, n, ended, failed,
	    n - served - failed, (double)wall / NS,
	    (double)hist_percentile(h, 50) / MS,
	    (double)hist_percentile(h, 99) / MS, (double)h->max / MS);
	printf("RESULT mode=%s n=%d served=%d failed=%d wall_ms=%.0f "
	    "p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", what, n, served, failed,
	    (double)wall / MS, (double)hist_percentile(h, 50) / MS,
	    (double)hist_percentile(h, 99) / MS, (double)h->max / MS);
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	struct rlimit		 rl;
	struct sigaction	 sa;
	struct hist		 h;
	uint64_t		 t0;
	long			 rate = 0, timeout = 30;
	int			 ch, n = 1000, hold = 0, wave = 0, served, i;

	while ((ch = getopt(argc, argv, "Hn:p:r:t:u:W")) != -1) {
		switch (ch) {
		case 'H': hold = 1; break;
		case 'n': n = (int)apache_conn_arg(optarg, 1, 100000); break;
		case 'p': port = (int)apache_conn_arg(optarg, 1, 65535); break;
		case 'r': rate = apache_conn_arg(optarg, 0, 1000000); break;
		case 't': timeout = apache_conn_arg(optarg, 1, 3600); break;
		case 'u': path = optarg; break;
		case 'W': wave = 1; break;
		default: usage();
		}
	}
	if (port == 0 || (hold && wave))
		usage();

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = apache_conn_signal_cb;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	nconns = n;
	if ((conns = calloc((size_t)n, sizeof(*conns))) == NULL ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1 || hist_init(&h) == -1) {
		perror("apache_conn");
		return 1;
	}
	for (i = 0; i < n; i++)
		conns[i].fd = -1;

	t0 = hist_now_ns();
	served = apache_conn_open(n, rate, t0 + (uint64_t)timeout * NS, &h);
	apache_conn_report(wave ? "first" : "open", n, served, &h,
	    hist_now_ns() - t0);
	if (hold) {
		printf("READY %d\n", served);
		fflush(stdout);
		apache_conn_hold();
	}
	if (wave && !stop) {
		/* The first crowd leaves: every connection closed at once. */
		for (i = 0; i < n; i++)
			apache_conn_close(&conns[i], C_IDLE);
		hist_reset(&h);
		t0 = hist_now_ns();
		served = apache_conn_open(n, 0, t0 + (uint64_t)timeout * NS,
		    &h);
		apache_conn_report("wave", n, served, &h, hist_now_ns() - t0);
	}
	for (i = 0; i < n; i++)
		apache_conn_close(&conns[i], C_IDLE);
	hist_free(&h);
	free(conns);
	return 0;
}
