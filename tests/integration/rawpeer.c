/* SPDX-License-Identifier: ISC */
/*
 * rawpeer: a broker client that misbehaves on purpose, for the integration
 * tests.  It speaks raw bytes on the socket, so it can send what
 * libfastsse never would.
 *
 *	rawpeer SOCKET garbage		bytes that are no frame; expect a close
 *	rawpeer SOCKET oversize		HELLO, then a 16 MiB length; expect a close
 *	rawpeer SOCKET half DATA	HELLO, half a PUBLISH of DATA, hang up
 *	rawpeer SOCKET nohello		PUBLISH before HELLO; expect ERROR, close
 *	rawpeer SOCKET version		HELLO of version 99; expect ERROR, close
 *	rawpeer SOCKET unknown		HELLO, then message type 99; expect a close
 *	rawpeer SOCKET noread CHANNEL FILE
 *		subscribes to CHANNEL with a small receive buffer, says
 *		"subscribed", reads nothing until FILE exists, then drains
 *		the socket and says "eof" when the broker had closed it, or
 *		"open" when it was still open after RAWPEER_WAIT seconds.
 *	rawpeer SOCKET stall N [hello]
 *		opens N connections that each send (after HELLO, with
 *		"hello") all but the last byte of a 1 MiB frame, says
 *		"stalled", then waits until the broker has closed them all
 *		and says "closed N", "error CODE K" for each ERROR code
 *		received and "open K" for those still open after
 *		RAWPEER_WAIT seconds (then exit 1).
 *	rawpeer SOCKET channels N PREFIX FILE
 *		subscribes to N channels PREFIX-1..N, 64 per SUBSCRIBE, says
 *		"subscribed K refused R" (R SUBSCRIBEs answered with ERROR
 *		TOO_MANY), then holds them until FILE exists.
 *	rawpeer SOCKET replay CHANNEL LASTID FILE
 *		subscribes to CHANNEL from LASTID with a small receive buffer
 *		and says "subscribed" or "error CODE" for the answer, then
 *		reads nothing until FILE exists.
 *	rawpeer SOCKET burst N CHANNEL...
 *		sends N PUBLISHes in one write, to the channels in turn,
 *		data "burst<i>", then prints the answer of each in order:
 *		the id of a PUBLISHED, "error CODE" of an ERROR.
 *
 * A broker ERROR is printed as "error CODE".  Exit status: 0 when the
 * broker did what is expected (closed the connection), 1 otherwise, 2 on
 * usage or local errors.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "proto.h"

#define RAWPEER_WAIT	20	/* seconds before giving up on the broker */

static int
rawpeer_connect(const char *path, int rcvbuf)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "rawpeer: path too long\n");
		exit(2);
	}
	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
		perror("rawpeer: socket");
		exit(2);
	}
	if (rcvbuf > 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == -1)
		perror("rawpeer: SO_RCVBUF");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror("rawpeer: connect");
		exit(2);
	}
	return (fd);
}

/* Writes all of p; a broker that already hung up is not an error here. */
static void
rawpeer_write(int fd, const void *p, size_t len)
{
	const char	*s = p;
	ssize_t		 n;

	while (len > 0) {
		n = send(fd, s, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

static void
rawpeer_send_buf(int fd, struct buf *b)
{
	rawpeer_write(fd, buf_head(b), buf_used(b));
	buf_reset(b);
}

/*
 * Reads until the broker closes the connection, printing each ERROR it
 * sends.  Returns 0 on EOF (or a reset), 1 when RAWPEER_WAIT passes.
 */
static int
rawpeer_expect_close(int fd)
{
	struct pollfd	 pfd;
	struct proto_msg m;
	struct buf	 in;
	time_t		 end = time(NULL) + RAWPEER_WAIT;
	size_t		 used;
	ssize_t		 n;
	char		 err[128];
	int		 r;

	buf_init(&in, 4 * PROTO_MAX_FRAME);
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, 200);
		if (r == -1 && errno != EINTR)
			break;
		if (r <= 0) {
			if (time(NULL) >= end)
				break;
			continue;
		}
		if (buf_reserve(&in, 65536) == -1) {
			buf_reset(&in);		/* not frames; forget them */
			continue;
		}
		n = read(fd, buf_tail(&in), 65536);
		if (n == 0 || (n == -1 && errno == ECONNRESET)) {
			buf_free(&in);
			return (0);
		}
		if (n == -1)
			continue;
		buf_commit(&in, (size_t)n);
		while (proto_decode(buf_head(&in), buf_used(&in),
		    PROTO_MAX_FRAME, &m, &used, err, sizeof(err)) == PROTO_OK) {
			if (m.type == PROTO_ERROR) {
				printf("error %llu\n",
				    (unsigned long long)m.u.error.code);
				fflush(stdout);
			}
			proto_msg_free(&m);
			buf_consume(&in, used);
		}
	}
	buf_free(&in);
	printf("open\n");
	return (1);
}

/* Sends HELLO and reads until the WELCOME (or anything else). */
static void
rawpeer_hello(int fd, uint64_t version, uint64_t role)
{
	struct buf	 b;
	struct proto_msg m;
	char		 in[4096], err[128];
	size_t		 len = 0, used;
	ssize_t		 n;

	buf_init(&b, 0);
	if (proto_encode_hello(&b, version, role) == -1) {
		fprintf(stderr, "rawpeer: encode\n");
		exit(2);
	}
	rawpeer_send_buf(fd, &b);
	buf_free(&b);
	while (len < sizeof(in)) {
		n = read(fd, in + len, sizeof(in) - len);
		if (n <= 0) {
			fprintf(stderr, "rawpeer: no WELCOME\n");
			exit(1);
		}
		len += (size_t)n;
		if (proto_decode(in, len, PROTO_MAX_FRAME, &m, &used, err,
		    sizeof(err)) == PROTO_OK) {
			proto_msg_free(&m);
			return;
		}
	}
	exit(1);
}

/* Waits for path to exist, checking every 10 ms, for RAWPEER_WAIT s. */
static void
rawpeer_wait_file(const char *path)
{
	struct stat	st;
	struct timespec	ts = { 0, 10 * 1000 * 1000 };
	time_t		end = time(NULL) + 10 * RAWPEER_WAIT;

	while (stat(path, &st) == -1 && time(NULL) < end)
		nanosleep(&ts, NULL);
}

static int
rawpeer_noread(int fd, const char *channel, const char *file)
{
	struct proto_str ch;
	struct buf	 b;
	char		 c;
	ssize_t		 n;
	int		 r;

	buf_init(&b, 0);
	ch.ptr = channel;
	ch.len = (uint32_t)strlen(channel);
	if (proto_encode_subscribe(&b, 1, &ch, 1, NULL, 0) == -1)
		exit(2);
	rawpeer_send_buf(fd, &b);
	buf_free(&b);
	/* One byte proves the broker took the request; read no more. */
	n = read(fd, &c, 1);
	if (n != 1) {
		fprintf(stderr, "rawpeer: no answer to SUBSCRIBE\n");
		return (1);
	}
	printf("subscribed\n");
	fflush(stdout);
	rawpeer_wait_file(file);
	r = rawpeer_expect_close(fd);
	if (r == 0) {
		printf("eof\n");
		fflush(stdout);
	}
	return (r);
}

/* Reads exactly one frame (blocking); exits 1 when the broker closes. */
static void
rawpeer_read_frame(int fd, struct proto_msg *m)
{
	static char	 in[PROTO_HEADER_LEN + PROTO_MAX_FRAME];
	char		 err[128];
	size_t		 len = 0, want = PROTO_HEADER_LEN, used;
	ssize_t		 n;

	while (len < want) {
		n = read(fd, in + len, want - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "rawpeer: connection closed\n");
			exit(1);
		}
		len += (size_t)n;
		if (len == PROTO_HEADER_LEN)
			want = PROTO_HEADER_LEN + (((size_t)(unsigned char)in[0]
			    << 24) | ((size_t)(unsigned char)in[1] << 16) |
			    ((size_t)(unsigned char)in[2] << 8) |
			    (unsigned char)in[3]);
		if (want > sizeof(in))
			exit(1);
	}
	if (proto_decode(in, len, PROTO_MAX_FRAME, m, &used, err,
	    sizeof(err)) != PROTO_OK) {
		fprintf(stderr, "rawpeer: %s\n", err);
		exit(1);
	}
}

/* See the top of this file. */
static int
rawpeer_stall(const char *path, int n, int hello)
{
	static char	 frame[PROTO_HEADER_LEN + PROTO_MAX_FRAME];
	struct pollfd	*pfd;
	struct proto_msg m;
	struct buf	 in;
	unsigned long	 codes[16] = { 0 };
	time_t		 end;
	size_t		 used;
	ssize_t		 r;
	char		 tmp[4096], err[128];
	int		 i, left, closed = 0;

	if ((pfd = calloc((size_t)n, sizeof(*pfd))) == NULL)
		return (2);
	/* A PING frame of 1 MiB announced; the bytes are never all sent. */
	frame[0] = 0x00;
	frame[1] = 0x10;
	frame[2] = 0x00;
	frame[3] = 0x00;
	memset(frame + PROTO_HEADER_LEN, 0xc0, PROTO_MAX_FRAME);
	frame[PROTO_HEADER_LEN] = (char)0x92;
	for (i = 0; i < n; i++) {
		pfd[i].fd = rawpeer_connect(path, 4096);
		pfd[i].events = POLLIN;
		if (hello)
			rawpeer_hello(pfd[i].fd, PROTO_VERSION,
			    PROTO_ROLE_PUBLISHER);
		rawpeer_write(pfd[i].fd, frame, sizeof(frame) - 1);
	}
	printf("stalled\n");
	fflush(stdout);
	buf_init(&in, 0);
	end = time(NULL) + RAWPEER_WAIT;
	for (left = n; left > 0 && time(NULL) < end;) {
		if (poll(pfd, (nfds_t)n, 200) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			r = read(pfd[i].fd, tmp, sizeof(tmp));
			if (r > 0) {
				/* An ERROR is one small frame, read whole. */
				buf_reset(&in);
				(void)buf_append(&in, tmp, (size_t)r);
				if (proto_decode(buf_head(&in), buf_used(&in),
				    PROTO_MAX_FRAME, &m, &used, err,
				    sizeof(err)) == PROTO_OK) {
					if (m.type == PROTO_ERROR &&
					    m.u.error.code < 16)
						codes[m.u.error.code]++;
					proto_msg_free(&m);
				}
				continue;
			}
			if (r == -1 && errno != ECONNRESET)
				continue;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			closed++;
			left--;
		}
	}
	buf_free(&in);
	printf("closed %d\n", closed);
	for (i = 0; i < 16; i++)
		if (codes[i] > 0)
			printf("error %d %lu\n", i, codes[i]);
	if (left > 0)
		printf("open %d\n", left);
	free(pfd);
	return (left > 0);
}

/* See the top of this file. */
static int
rawpeer_channels(int fd, int n, const char *prefix, const char *file)
{
	struct proto_str chs[PROTO_MAX_CHANNELS];
	struct proto_msg m;
	struct buf	 b;
	char		 names[PROTO_MAX_CHANNELS][64];
	int		 i = 0, k, ok = 0, refused = 0;
	uint64_t	 ref = 0;

	buf_init(&b, 0);
	while (i < n) {
		for (k = 0; k < PROTO_MAX_CHANNELS && i < n; k++, i++) {
			snprintf(names[k], sizeof(names[k]), "%s-%d", prefix,
			    i + 1);
			chs[k].ptr = names[k];
			chs[k].len = (uint32_t)strlen(names[k]);
		}
		if (proto_encode_subscribe(&b, ++ref, chs, (uint32_t)k, NULL,
		    0) == -1)
			return (2);
		rawpeer_send_buf(fd, &b);
		rawpeer_read_frame(fd, &m);
		if (m.type == PROTO_SUBSCRIBED)
			ok += k;
		else if (m.type == PROTO_ERROR &&
		    m.u.error.code == PROTO_E_TOO_MANY)
			refused++;
		else {
			fprintf(stderr, "rawpeer: unexpected answer %d\n",
			    m.type);
			return (1);
		}
		proto_msg_free(&m);
	}
	buf_free(&b);
	printf("subscribed %d refused %d\n", ok, refused);
	fflush(stdout);
	rawpeer_wait_file(file);
	return (0);
}

/* See the top of this file. */
static int
rawpeer_replay(int fd, const char *channel, const char *last,
    const char *file)
{
	struct proto_str ch;
	struct proto_msg m;
	struct buf	 b;

	buf_init(&b, 0);
	ch.ptr = channel;
	ch.len = (uint32_t)strlen(channel);
	if (proto_encode_subscribe(&b, 1, &ch, 1, last, strlen(last)) == -1)
		return (2);
	rawpeer_send_buf(fd, &b);
	buf_free(&b);
	rawpeer_read_frame(fd, &m);
	if (m.type == PROTO_SUBSCRIBED)
		printf("subscribed\n");
	else if (m.type == PROTO_ERROR)
		printf("error %llu\n", (unsigned long long)m.u.error.code);
	else
		printf("answer %d\n", m.type);
	fflush(stdout);
	proto_msg_free(&m);
	rawpeer_wait_file(file);
	return (0);
}

/* See the top of this file. */
static int
rawpeer_burst(int fd, int n, char **chans, int nchans)
{
	struct proto_msg m;
	struct buf	 b;
	char		 data[32];
	int		 i, len;

	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		len = snprintf(data, sizeof(data), "burst%d", i);
		if (proto_encode_publish(&b, (uint64_t)i + 1, chans[i % nchans],
		    strlen(chans[i % nchans]), NULL, 0, data, (size_t)len) ==
		    -1)
			return (2);
	}
	rawpeer_send_buf(fd, &b);
	buf_free(&b);
	for (i = 0; i < n; i++) {
		rawpeer_read_frame(fd, &m);
		if (m.type == PROTO_PUBLISHED)
			printf("%.*s\n", (int)m.u.published.id.len,
			    m.u.published.id.ptr);
		else if (m.type == PROTO_ERROR)
			printf("error %llu\n",
			    (unsigned long long)m.u.error.code);
		else
			printf("answer %d\n", m.type);
		proto_msg_free(&m);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	struct buf	 b;
	const char	*mode, *data = "x";
	unsigned char	 hdr[8] = { 0x01, 0x00, 0x00, 0x00, 0x93, 1, 2, 3 };
	static const char garbage[] =
	    "GET /events HTTP/1.1\r\nHost: x\r\n\r\nthis is not a frame";
	int		 fd;

	if (argc < 3) {
		fprintf(stderr, "usage: rawpeer socket mode [args]\n");
		return (2);
	}
	mode = argv[2];
	buf_init(&b, 0);
	if (strcmp(mode, "noread") == 0) {
		if (argc != 5)
			return (2);
		fd = rawpeer_connect(argv[1], 4096);
		rawpeer_hello(fd, PROTO_VERSION, PROTO_ROLE_SUBSCRIBER);
		return (rawpeer_noread(fd, argv[3], argv[4]));
	}
	if (strcmp(mode, "stall") == 0) {
		if (argc < 4)
			return (2);
		return (rawpeer_stall(argv[1], atoi(argv[3]), argc > 4 &&
		    strcmp(argv[4], "hello") == 0));
	}
	if (strcmp(mode, "channels") == 0) {
		if (argc != 6)
			return (2);
		fd = rawpeer_connect(argv[1], 0);
		rawpeer_hello(fd, PROTO_VERSION, PROTO_ROLE_SUBSCRIBER);
		return (rawpeer_channels(fd, atoi(argv[3]), argv[4], argv[5]));
	}
	if (strcmp(mode, "replay") == 0) {
		if (argc != 6)
			return (2);
		fd = rawpeer_connect(argv[1], 4096);
		rawpeer_hello(fd, PROTO_VERSION, PROTO_ROLE_SUBSCRIBER);
		return (rawpeer_replay(fd, argv[3], argv[4], argv[5]));
	}
	if (strcmp(mode, "burst") == 0) {
		if (argc < 5)
			return (2);
		fd = rawpeer_connect(argv[1], 0);
		rawpeer_hello(fd, PROTO_VERSION, PROTO_ROLE_PUBLISHER);
		return (rawpeer_burst(fd, atoi(argv[3]), argv + 4, argc - 4));
	}
	fd = rawpeer_connect(argv[1], 0);
	if (strcmp(mode, "garbage") == 0) {
		rawpeer_write(fd, garbage, sizeof(garbage) - 1);
		return (rawpeer_expect_close(fd));
	}
	if (strcmp(mode, "oversize") == 0) {
		rawpeer_hello(fd, PROTO_VERSION, PROTO_ROLE_PUBLISHER);
		rawpeer_write(fd, hdr, sizeof(hdr));
		return (rawpeer_expect_close(fd));
	}
	if (strcmp(mode, "half") == 0) {
		if (argc > 3)
			data = argv[3];
		rawpeer_hello(fd, PROTO_VERSION, PROTO_ROLE_PUBLISHER);
		if (proto_encode_publish(&b, 1, "m", 1, NULL, 0, data,
		    strlen(data)) == -1)
			return (2);
		rawpeer_write(fd, buf_head(&b), buf_used(&b) / 2);
		buf_free(&b);
		close(fd);
		return (0);
	}
	if (strcmp(mode, "nohello") == 0) {
		if (proto_encode_publish(&b, 1, "m", 1, NULL, 0, "nohello",
		    7) == -1)
			return (2);
		rawpeer_send_buf(fd, &b);
		buf_free(&b);
		return (rawpeer_expect_close(fd));
	}
	if (strcmp(mode, "version") == 0) {
		if (proto_encode_hello(&b, 99, PROTO_ROLE_PUBLISHER) == -1)
			return (2);
		rawpeer_send_buf(fd, &b);
		buf_free(&b);
		return (rawpeer_expect_close(fd));
	}
	if (strcmp(mode, "unknown") == 0) {
		/* [99, 1]: a well-formed array of an unknown type. */
		static const unsigned char frame[] = { 0, 0, 0, 3, 0x92, 99, 1 };

		rawpeer_hello(fd, PROTO_VERSION, PROTO_ROLE_PUBLISHER);
		rawpeer_write(fd, frame, sizeof(frame));
		return (rawpeer_expect_close(fd));
	}
	fprintf(stderr, "rawpeer: unknown mode %s\n", mode);
	return (2);
}
