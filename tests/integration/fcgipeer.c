/* SPDX-License-Identifier: ISC */
/*
 * A FastCGI peer for testing the responder's front door directly on its
 * socket, as a web server would talk to it, and as a hostile one might.
 * The records are built here by hand from the specification, not with
 * the responder's own code, so the two check each other.
 *
 *   fcgipeer test TIMEOUT ADDR...  TAP: slow peers (silent ones on TCP),
 *                                  bodies trickled, roles, GET_VALUES,
 *                                  abort, oversized params (TIMEOUT is
 *                                  the responder's --request-timeout)
 *   fcgipeer bench KIND ADDR       prints how many slow peers of KIND
 *                                  (silent, params, trickle) it takes
 *                                  before a new stream waits > 100 ms
 *
 * ADDR is unix:PATH or 127.0.0.1:PORT.  Every wait is a poll() with a
 * deadline; nothing sleeps to let time pass except the trickle's 1 s.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define T_BEGIN		1
#define T_ABORT		2
#define T_END		3
#define T_PARAMS	4
#define T_STDIN		5
#define T_STDOUT	6
#define T_GET_VALUES	9
#define T_GET_VALUES_RESULT 10

static const char	*addr;

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* A non-blocking connection to the responder, or -1. */
static int
peer_connect(void)
{
	struct sockaddr_un	 sun;
	struct sockaddr_in	 sin;
	char			 host[64];
	const char		*colon;
	int			 fd, r;

	if (strncmp(addr, "unix:", 5) == 0) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr + 5);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			return (-1);
		r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	} else {
		colon = strrchr(addr, ':');
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
		inet_pton(AF_INET, host, &sin.sin_addr);
		sin.sin_port = htons((uint16_t)atoi(colon + 1));
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			return (-1);
		r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	}
	if (r == -1) {
		close(fd);
		return (-1);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return (fd);
}

/* Appends one record (padded to 8) to p at *n. */
static void
rec(uint8_t *p, size_t *n, int type, int id, const void *c, size_t len)
{
	size_t	pad = (8 - len % 8) % 8;

	p[(*n)++] = 1;
	p[(*n)++] = (uint8_t)type;
	p[(*n)++] = (uint8_t)(id >> 8);
	p[(*n)++] = (uint8_t)id;
	p[(*n)++] = (uint8_t)(len >> 8);
	p[(*n)++] = (uint8_t)len;
	p[(*n)++] = (uint8_t)pad;
	p[(*n)++] = 0;
	memcpy(p + *n, c, len);
	*n += len;
	memset(p + *n, 0, pad);
	*n += pad;
}

static void
begin(uint8_t *p, size_t *n, int role)
{
	uint8_t	c[8] = { 0, (uint8_t)role, 0 };

	rec(p, n, T_BEGIN, 1, c, 8);
}

/* One name-value pair with 1-byte lengths (names and values < 128). */
static size_t
nv(uint8_t *p, const char *name, const char *value)
{
	size_t	nl = strlen(name), vl = strlen(value);

	p[0] = (uint8_t)nl;
	p[1] = (uint8_t)vl;
	memcpy(p + 2, name, nl);
	memcpy(p + 2 + nl, value, vl);
	return (2 + nl + vl);
}

/* The params of a request to /events?channel=x with method and length. */
static size_t
params(uint8_t *p, const char *method, const char *clen)
{
	size_t	n = 0;

	n += nv(p + n, "REQUEST_METHOD", method);
	n += nv(p + n, "QUERY_STRING", "channel=x");
	n += nv(p + n, "REQUEST_URI", "/events?channel=x");
	if (clen != NULL)
		n += nv(p + n, "CONTENT_LENGTH", clen);
	return (n);
}

/* A whole GET as nginx sends it: BEGIN, PARAMS, empty PARAMS, empty STDIN. */
static size_t
get_request(uint8_t *p)
{
	uint8_t	pp[512];
	size_t	n = 0, pn;

	begin(p, &n, 1);
	pn = params(pp, "GET", NULL);
	rec(p, &n, T_PARAMS, 1, pp, pn);
	rec(p, &n, T_PARAMS, 1, "", 0);
	rec(p, &n, T_STDIN, 1, "", 0);
	return (n);
}

static int
send_all(int fd, const void *p, size_t len)
{
	struct pollfd	pfd = { fd, POLLOUT, 0 };
	size_t		off = 0;
	ssize_t		w;

	while (off < len) {
		w = write(fd, (const char *)p + off, len - off);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			return (-1);
		if (poll(&pfd, 1, 5000) <= 0)
			return (-1);
	}
	return (0);
}

/*
 * What came back on a connection: STDOUT content (up to a bound), the
 * types seen, the END_REQUEST protocol status, EOF.
 */
struct answer {
	char	 out[8192];
	size_t	 outlen;
	int	 ended;		/* END_REQUEST seen */
	int	 pstatus;
	int	 eof;
	int	 types;		/* bit per record type */
	char	 raw[65536];
	size_t	 rawlen;
};

/* Parses whole records out of a->raw. */
static void
answer_parse(struct answer *a)
{
	size_t	off = 0, clen, plen, n;
	int	type;

	while (a->rawlen - off >= 8) {
		type = (uint8_t)a->raw[off + 1];
		clen = (size_t)((uint8_t)a->raw[off + 4] << 8 |
		    (uint8_t)a->raw[off + 5]);
		plen = (uint8_t)a->raw[off + 6];
		if (a->rawlen - off < 8 + clen + plen)
			break;
		a->types |= 1 << (type & 15);
		if (type == T_STDOUT) {
			n = clen;
			if (n > sizeof(a->out) - 1 - a->outlen)
				n = sizeof(a->out) - 1 - a->outlen;
			memcpy(a->out + a->outlen, a->raw + off + 8, n);
			a->outlen += n;
			a->out[a->outlen] = '\0';
		} else if (type == T_END && clen >= 5) {
			a->ended = 1;
			a->pstatus = (uint8_t)a->raw[off + 8 + 4];
		} else if (type == T_GET_VALUES_RESULT) {
			n = clen < sizeof(a->out) - 1 ? clen : sizeof(a->out) - 1;
			memcpy(a->out, a->raw + off + 8, n);
			a->outlen = n;
		}
		off += 8 + clen + plen;
	}
	memmove(a->raw, a->raw + off, a->rawlen - off);
	a->rawlen -= off;
}

/*
 * Reads until want() holds, EOF, or the deadline (seconds); returns the
 * time it took, or -1 on the deadline.
 */
static double
answer_wait(int fd, struct answer *a, int (*want)(const struct answer *),
    double deadline)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	double		t0 = now(), left;
	ssize_t		r;

	while (!want(a) && !a->eof) {
		left = t0 + deadline - now();
		if (left <= 0)
			return (-1);
		if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		r = read(fd, a->raw + a->rawlen, sizeof(a->raw) - a->rawlen);
		if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
			a->eof = 1;
			break;
		}
		if (r > 0) {
			a->rawlen += (size_t)r;
			answer_parse(a);
		}
	}
	return (want(a) || a->eof ? now() - t0 : -1);
}

static int
want_stream(const struct answer *a)
{
	return (strstr(a->out, "retry:") != NULL);
}

static int
want_end(const struct answer *a)
{
	return (a->ended);
}

static int
want_values(const struct answer *a)
{
	return ((a->types & (1 << T_GET_VALUES_RESULT)) != 0);
}

static int
want_nothing(const struct answer *a)
{
	(void)a;
	return (0);
}

/*
 * Opens one stream and returns how long its headers took to arrive
 * (seconds), or -1; the connection is closed after.
 */
static double
open_stream(double deadline, char *first, size_t firstlen)
{
	static struct answer	a;
	uint8_t			req[1024];
	double			t0 = now(), t;
	int			fd;

	memset(&a, 0, sizeof(a));
	if ((fd = peer_connect()) == -1)
		return (-1);
	if (send_all(fd, req, get_request(req)) == -1) {
		close(fd);
		return (-1);
	}
	t = answer_wait(fd, &a, want_stream, deadline);
	close(fd);
	if (first != NULL && firstlen > 0) {
		memcpy(first, a.out, a.outlen < firstlen - 1 ? a.outlen :
		    firstlen - 1);
		first[a.outlen < firstlen - 1 ? a.outlen : firstlen - 1] = '\0';
	}
	if (t < 0 || !want_stream(&a))
		return (-1);
	return (now() - t0);
}

/* Slow peers: what each has sent, and when it next sends a byte. */
enum kind { SILENT, PARAMS5, TRICKLE_POST, TRICKLE_GET };

struct slow {
	int	 fd;
	double	 next;
	double	 closed;	/* when EOF was seen, or 0 */
	struct answer *a;
};

/* Starts n slow peers of a kind; returns how many connected. */
static size_t
slow_start(struct slow *s, size_t n, enum kind k)
{
	uint8_t	buf[1024], pp[512];
	size_t	i, len, pn, ok = 0;

	for (i = 0; i < n; i++) {
		s[i].fd = peer_connect();
		s[i].closed = 0;
		s[i].next = now() + 1;
		s[i].a = NULL;
		if (s[i].fd == -1)
			continue;
		ok++;
		len = 0;
		switch (k) {
		case SILENT:
			break;
		case PARAMS5:
			begin(buf, &len, 1);
			pn = params(pp, "GET", NULL);
			/* a header for all of them, then only 5 bytes */
			rec(buf, &len, T_PARAMS, 1, pp, pn);
			len -= pn + (8 - pn % 8) % 8 - 5;
			break;
		case TRICKLE_POST:
		case TRICKLE_GET:
			begin(buf, &len, 1);
			pn = params(pp, k == TRICKLE_POST ? "POST" : "GET",
			    "100000");
			rec(buf, &len, T_PARAMS, 1, pp, pn);
			rec(buf, &len, T_PARAMS, 1, "", 0);
			/* a STDIN header announcing 1000 bytes */
			memcpy(buf + len, "\1\5\0\1\3\350\0\0", 8);
			len += 8;
			break;
		}
		if (len > 0)
			send_all(s[i].fd, buf, len);
	}
	return (ok);
}

/*
 * Runs the slow peers until the deadline: a trickler sends one byte a
 * second; every peer's EOF is noted when it comes; answers are kept.
 */
static void
slow_run(struct slow *s, size_t n, enum kind k, double until)
{
	struct pollfd	*pfd = calloc(n, sizeof(*pfd));
	char		 tmp[4096];
	size_t		 i;
	ssize_t		 r;

	while (now() < until) {
		for (i = 0; i < n; i++)
			if (s[i].fd != -1 && s[i].closed == 0)
				break;
		if (i == n)
			break;	/* all closed */
		for (i = 0; i < n; i++) {
			pfd[i].fd = s[i].closed || s[i].fd == -1 ? -1 : s[i].fd;
			pfd[i].events = POLLIN;
			if ((k == TRICKLE_POST || k == TRICKLE_GET) &&
			    pfd[i].fd != -1 && now() >= s[i].next) {
				if (write(s[i].fd, "b", 1) == -1 &&
				    errno != EAGAIN) {
					/* the responder closed: seen below */
				}
				s[i].next += 1;
			}
		}
		if (poll(pfd, (nfds_t)n, 50) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if (s[i].a != NULL) {
				r = read(s[i].fd, s[i].a->raw + s[i].a->rawlen,
				    sizeof(s[i].a->raw) - s[i].a->rawlen);
				if (r > 0) {
					s[i].a->rawlen += (size_t)r;
					answer_parse(s[i].a);
				}
			} else
				r = read(s[i].fd, tmp, sizeof(tmp));
			if (r == 0 || (r == -1 && errno != EAGAIN &&
			    errno != EINTR))
				s[i].closed = now();
		}
	}
	free(pfd);
}

static void
slow_close(struct slow *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (s[i].fd != -1)
			close(s[i].fd);
		free(s[i].a);
	}
}

static const char *kind_name[] = {
	"silent connections", "BEGIN + 5 bytes of PARAMS",
	"POSTs with a body at 1 byte/s", "GETs with a body at 1 byte/s"
};

/*
 * N slow peers of a kind: a new stream opens promptly beside them, and
 * each is closed at the deadline (or answered at once, for a body).
 */
static void
test_slow(enum kind k, size_t n, double timeout)
{
	struct slow	*s = calloc(n, sizeof(*s));
	double		 t0, t, first = 0, last = 0;
	size_t		 i, got, closed = 0, answered = 0;
	char		 head[256];

	t0 = now();
	got = slow_start(s, n, k);
	ok(got == n, "%zu %s connected", n, kind_name[k]);
	for (i = 0; i < n; i++)
		if ((k == TRICKLE_POST || k == TRICKLE_GET) && s[i].fd != -1)
			s[i].a = calloc(1, sizeof(*s[i].a));
	/* Let them be accepted and read before the new stream comes. */
	slow_run(s, n, k, now() + 0.2);
	t = open_stream(5, head, sizeof(head));
	ok(t >= 0 && t < 1.0, "beside %zu %s a new stream opens in %.0f ms "
	    "(< 1000)", n, kind_name[k], t * 1000);
	slow_run(s, n, k, t0 + timeout + 3);
	for (i = 0; i < n; i++) {
		if (s[i].closed == 0)
			continue;
		closed++;
		t = s[i].closed - t0;
		if (first == 0 || t < first)
			first = t;
		if (t > last)
			last = t;
		if (s[i].a != NULL && s[i].a->ended &&
		    strstr(s[i].a->out, k == TRICKLE_POST ? "Status: 405" :
		    "Status: 400") != NULL)
			answered++;
	}
	if (k == SILENT || k == PARAMS5) {
		ok(closed == n, "all %zu closed by the responder (%zu)", n,
		    closed);
		ok(closed > 0 && first >= timeout * 0.9 &&
		    last <= timeout + 2.5, "at the %.1f s deadline (%.2f to "
		    "%.2f s)", timeout, first, last);
	} else {
		ok(answered == n, "all %zu answered %s without their body "
		    "(%zu)", n, k == TRICKLE_POST ? "405" : "400", answered);
		ok(closed == n && last <= timeout + 2.5, "and closed by the "
		    "deadline (%zu, last after %.2f s)", closed, last);
	}
	slow_close(s, n);
	free(s);
}

/* Sends raw bytes on a new connection and collects the answer. */
static int
exchange(const uint8_t *p, size_t len, struct answer *a,
    int (*want)(const struct answer *), double deadline)
{
	int	fd;

	memset(a, 0, sizeof(*a));
	if ((fd = peer_connect()) == -1)
		return (-1);
	if (send_all(fd, p, len) == -1) {
		close(fd);
		return (-1);
	}
	answer_wait(fd, a, want, deadline);
	close(fd);
	return (0);
}

static void
test_protocol(void)
{
	static struct answer	a;
	uint8_t			buf[80000], pp[512], big[300];
	size_t			n, pn, i;
	int			role;

	for (role = 2; role <= 3; role++) {
		n = 0;
		begin(buf, &n, role);
		pn = params(pp, "GET", NULL);
		rec(buf, &n, T_PARAMS, 1, pp, pn);
		rec(buf, &n, T_PARAMS, 1, "", 0);
		rec(buf, &n, T_STDIN, 1, "", 0);
		exchange(buf, n, &a, want_end, 5);
		ok(a.ended && a.pstatus == 3 && a.outlen == 0,
		    "the %s role gets FCGI_UNKNOWN_ROLE and no output",
		    role == 2 ? "authorizer" : "filter");
	}

	n = 0;
	pn = nv(pp, "FCGI_MPXS_CONNS", "");
	pn += nv(pp + pn, "FCGI_MAX_CONNS", "");
	rec(buf, &n, T_GET_VALUES, 0, pp, pn);
	exchange(buf, n, &a, want_values, 5);
	ok(want_values(&a) && memmem(a.out, a.outlen, "FCGI_MPXS_CONNS0",
	    16) != NULL, "GET_VALUES: FCGI_MPXS_CONNS is 0");

	n = 0;
	begin(buf, &n, 1);
	pn = params(pp, "GET", NULL);
	rec(buf, &n, T_PARAMS, 1, pp, pn);
	rec(buf, &n, T_PARAMS, 1, "", 0);
	rec(buf, &n, T_ABORT, 1, "", 0);
	exchange(buf, n, &a, want_end, 5);
	ok(a.ended && a.pstatus == 0 && a.outlen == 0,
	    "ABORT_REQUEST: END_REQUEST, no stream");

	/* 520 params of 132 bytes: over 64 KiB. */
	n = 0;
	begin(buf, &n, 1);
	memset(big, 'v', sizeof(big));
	big[120] = '\0';
	for (i = 0; i < 520; i++) {
		char	name[16];

		snprintf(name, sizeof(name), "HTTP_X%04zu", i);
		pn = nv(pp, name, (char *)big);
		rec(buf, &n, T_PARAMS, 1, pp, pn);
	}
	rec(buf, &n, T_PARAMS, 1, "", 0);
	exchange(buf, n, &a, want_end, 5);
	ok(a.ended && strstr(a.out, "Status: 431") != NULL,
	    "params over 64 KiB: 431");

	n = 0;
	begin(buf, &n, 1);
	pn = params(pp, "GET", NULL);
	rec(buf, &n, T_PARAMS, 1, pp, pn);
	rec(buf, &n, T_PARAMS, 1, "", 0);
	buf[0] = 2;
	exchange(buf, n, &a, want_nothing, 5);
	ok(a.eof && a.outlen == 0, "not FastCGI version 1: closed");
}

/* Everything, against each address in turn. */
static int
test_main(double timeout, char **addrs, int naddrs)
{
	char	head[256];
	double	t;
	int	i, tcp;

	for (i = 0; i < naddrs; i++) {
		addr = addrs[i];
		tcp = strncmp(addr, "unix:", 5) != 0;
		tap_diag("the responder on %s", addr);
		t = open_stream(5, head, sizeof(head));
		ok(t >= 0, "%s: a stream opens (%.0f ms)", addr, t * 1000);
		ok(strstr(head, "Status: 200") != NULL &&
		    strstr(head, "text/event-stream") != NULL,
		    "with its headers first");
		test_protocol();
		test_slow(PARAMS5, 50, timeout);
		if (tcp)
			test_slow(SILENT, 50, timeout);
		test_slow(TRICKLE_POST, 2, timeout);
		test_slow(TRICKLE_GET, 2, timeout);
	}
	tap_done();
	return (tap_exit_status());
}

/*
 * Adds slow peers in steps and measures a new stream's wait beside them
 * (the worst of 5 tries per step); prints the first count at which it
 * passes 100 ms, or that none up to the fd limit did.
 */
static int
bench_main(enum kind k)
{
	struct rlimit	 rl;
	struct slow	*s;
	size_t		 have = 0, step, max, got, i;
	double		 t, worst;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	max = rl.rlim_cur > 200 ? (size_t)rl.rlim_cur - 100 : 100;
	if (max > 20000)
		max = 20000;
	s = calloc(max, sizeof(*s));
	for (step = 0; have < max; ) {
		got = slow_start(s + have, step, k);
		have += step;
		slow_run(s, have, k, now() + 0.1);
		worst = 0;
		for (i = 0; i < 5; i++) {
			t = open_stream(5, NULL, 0);
			if (t < 0)
				t = 5;
			if (t > worst)
				worst = t;
		}
		printf("%zu %s (%zu connected): new stream %.1f ms\n", have,
		    kind_name[k], have - step + got, worst * 1000);
		fflush(stdout);
		if (worst > 0.1) {
			printf("RESULT: %zu %s make a new stream wait > 100 "
			    "ms\n", have, kind_name[k]);
			slow_close(s, have);
			return (0);
		}
		step = have == 0 ? 100 : have;	/* doubling */
		if (have + step > max)
			step = max - have;
	}
	printf("RESULT: none up to %zu %s (the fd limit): a new stream "
	    "never waited > 100 ms\n", have, kind_name[k]);
	slow_close(s, have);
	return (0);
}

int
main(int argc, char *argv[])
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 4 && strcmp(argv[1], "test") == 0)
		return (test_main(atof(argv[2]), argv + 3, argc - 3));
	if (argc == 4 && strcmp(argv[1], "bench") == 0) {
		addr = argv[3];
		return (bench_main(strcmp(argv[2], "silent") == 0 ? SILENT :
		    strcmp(argv[2], "params") == 0 ? PARAMS5 : TRICKLE_POST));
	}
	fprintf(stderr, "usage: fcgipeer test TIMEOUT ADDR... | "
	    "fcgipeer bench silent|params|trickle ADDR\n");
	return (2);
}
