/* SPDX-License-Identifier: ISC */
/*
 * faultchurn: opens event streams and drops them abruptly, many times.
 *
 *	faultchurn PORT PATH COUNT CONCURRENCY
 *
 * Each of COUNT streams is a GET of PATH on 127.0.0.1:PORT, held until
 * the response's "retry:" line shows the stream was answered, then closed
 * with a reset (SO_LINGER 0), as a browser tab that is killed; at most
 * CONCURRENCY at once.  Prints "opened N failed M" and exits 0 when every
 * stream was answered.  A stream not answered within 30 s counts as
 * failed.  Written by hand: no load tool in the packages opens and
 * resets HTTP streams at this rate, and this is the whole of it.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHURN_MAX	1024		/* concurrency bound */
#define CHURN_BUF	4096		/* response bytes looked at */
#define CHURN_TIMEOUT	30.0		/* s per stream */

struct slot {
	int	 fd;
	int	 sent;
	size_t	 len;
	double	 start;
	char	 buf[CHURN_BUF];
};

static double
churn_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Closes with a reset rather than a FIN. */
static void
churn_drop(struct slot *s)
{
	struct linger	l = { 1, 0 };

	setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(s->fd);
	s->fd = -1;
}

static int
churn_open(struct slot *s, const struct sockaddr_in *sin)
{
	if ((s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return (-1);
	if (connect(s->fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1 &&
	    errno != EINPROGRESS) {
		close(s->fd);
		s->fd = -1;
		return (-1);
	}
	s->sent = 0;
	s->len = 0;
	s->start = churn_now();
	return (0);
}

int
main(int argc, char **argv)
{
	static struct slot	 slots[CHURN_MAX];
	struct pollfd		 pfd[CHURN_MAX];
	struct sockaddr_in	 sin;
	char			 req[1024];
	long			 count, conc, started = 0, opened = 0, failed = 0;
	int			 i, n, reqlen;
	ssize_t			 r;

	if (argc != 5) {
		fprintf(stderr, "usage: faultchurn port path count "
		    "concurrency\n");
		return (2);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	count = atol(argv[3]);
	conc = atol(argv[4]);
	if (conc < 1 || conc > CHURN_MAX || count < 0) {
		fprintf(stderr, "faultchurn: bad count or concurrency\n");
		return (2);
	}
	reqlen = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: "
	    "127.0.0.1\r\nAccept: text/event-stream\r\n\r\n", argv[2]);
	if (reqlen < 0 || (size_t)reqlen >= sizeof(req))
		return (2);
	for (i = 0; i < conc; i++)
		slots[i].fd = -1;

	while (opened + failed < count) {
		for (i = 0; i < conc; i++) {
			if (slots[i].fd == -1 && started < count) {
				started++;
				if (churn_open(&slots[i], &sin) == -1)
					failed++;
			}
			pfd[i].fd = slots[i].fd;
			pfd[i].events = slots[i].sent ? POLLIN : POLLOUT;
		}
		if ((n = poll(pfd, (nfds_t)conc, 1000)) == -1) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return (1);
		}
		for (i = 0; i < conc; i++) {
			struct slot *s = &slots[i];

			if (s->fd == -1)
				continue;
			if (churn_now() - s->start > CHURN_TIMEOUT) {
				churn_drop(s);
				failed++;
				continue;
			}
			if (pfd[i].revents == 0)
				continue;
			if (!s->sent) {
				if (write(s->fd, req, (size_t)reqlen) !=
				    reqlen) {
					churn_drop(s);
					failed++;
				} else
					s->sent = 1;
				continue;
			}
			r = read(s->fd, s->buf + s->len,
			    sizeof(s->buf) - 1 - s->len);
			if (r == -1 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				churn_drop(s);
				failed++;
				continue;
			}
			s->len += (size_t)r;
			s->buf[s->len] = '\0';
			if (strstr(s->buf, "\nretry:") != NULL) {
				churn_drop(s);
				opened++;
			} else if (s->len == sizeof(s->buf) - 1) {
				churn_drop(s);
				failed++;
			}
		}
	}
	printf("opened %ld failed %ld\n", opened, failed);
	return (failed == 0 ? 0 : 1);
}
