/* SPDX-License-Identifier: ISC */
/*
 * redisprobe: broker/redisconn.c on its own, for tests/integration/
 * redisconn.sh.  It connects as the broker would and reports, one line
 * each on stdout:
 *   up | down pending=N | message PAYLOAD | sent N | refused N |
 *   reply N TYPE TEXT | reply N null | stats k=v ... | freed
 * It reads commands from stdin, one per line, split on spaces:
 *   stats			print the counters
 *   flood N ARGS...		send ARGS N times (replies are not printed)
 *   quit			redisconn_free, then exit
 *   ARGS...			send ARGS as a Redis command
 * Lines longer than the input buffer (64 KiB) end the program: it is a
 * test tool fed by the test itself.
 *
 * usage: redisprobe [-v] [-t secs] [-P password-file] [-l library-file]
 *        [-s channel] URL
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "log.h"
#include "redisconn.h"

#define PROBE_LINE_MAX	65536
#define PROBE_ARGS_MAX	64

struct probe {
	struct ev_loop		*loop;
	struct redisconn	*rc;
	ev_io			 in;
	char			 buf[PROBE_LINE_MAX];
	size_t			 len;
	unsigned long		 n;		/* commands sent */
	unsigned long		 flood_replies;
	unsigned long		 flood_nulls;
};

static struct probe	probe;

static void
probe_up_cb(void *arg)
{
	(void)arg;
	printf("up\n");
}

static void
probe_down_cb(void *arg)
{
	struct redisconn_stats	 st;

	(void)arg;
	redisconn_stats(probe.rc, &st);
	printf("down pending=%llu\n", (unsigned long long)st.pending);
}

static void
probe_message_cb(const char *payload, size_t len, void *arg)
{
	(void)arg;
	printf("message %.*s\n", (int)len, payload);
}

static void
probe_reply_cb(const redisReply *r, void *arg)
{
	unsigned long	 n = (unsigned long)(uintptr_t)arg;

	if (r == NULL) {
		printf("reply %lu null\n", n);
		return;
	}
	switch (r->type) {
	case REDIS_REPLY_STRING:
		printf("reply %lu string %.*s\n", n, (int)r->len, r->str);
		break;
	case REDIS_REPLY_STATUS:
		printf("reply %lu status %.*s\n", n, (int)r->len, r->str);
		break;
	case REDIS_REPLY_ERROR:
		printf("reply %lu error %.*s\n", n, (int)r->len, r->str);
		break;
	case REDIS_REPLY_INTEGER:
		printf("reply %lu integer %lld\n", n, r->integer);
		break;
	case REDIS_REPLY_NIL:
		printf("reply %lu nil\n", n);
		break;
	case REDIS_REPLY_ARRAY:
		printf("reply %lu array %zu\n", n, r->elements);
		break;
	default:
		printf("reply %lu type %d\n", n, r->type);
	}
}

/* Flooded commands: counted, and the count printed when the last is in. */
static void
probe_flood_cb(const redisReply *r, void *arg)
{
	(void)arg;
	probe.flood_replies++;
	if (r == NULL)
		probe.flood_nulls++;
}

static void
probe_stats(void)
{
	struct redisconn_stats	 st;

	redisconn_stats(probe.rc, &st);
	printf("stats connects=%llu reconnects=%llu timeouts=%llu errors=%llu "
	    "refused=%llu pending=%llu up=%d flood_replies=%lu "
	    "flood_nulls=%lu\n",
	    (unsigned long long)st.connects, (unsigned long long)st.reconnects,
	    (unsigned long long)st.timeouts, (unsigned long long)st.errors,
	    (unsigned long long)st.refused, (unsigned long long)st.pending,
	    st.up, probe.flood_replies, probe.flood_nulls);
}

static void
probe_quit(void)
{
	redisconn_free(probe.rc);
	probe.rc = NULL;
	printf("freed\n");
	ev_io_stop(probe.loop, &probe.in);
	ev_break(probe.loop, EVBREAK_ALL);
}

static void
probe_line(char *line)
{
	const char	*argv[PROBE_ARGS_MAX];
	size_t		 argvlen[PROBE_ARGS_MAX];
	char		*p, *save = NULL;
	int		 argc = 0, i;
	unsigned long	 count = 1, sent = 0, refused = 0;

	for (p = strtok_r(line, " ", &save); p != NULL && argc <
	    PROBE_ARGS_MAX; p = strtok_r(NULL, " ", &save)) {
		argv[argc] = p;
		argvlen[argc++] = strlen(p);
	}
	if (argc == 0)
		return;
	if (strcmp(argv[0], "stats") == 0) {
		probe_stats();
		return;
	}
	if (strcmp(argv[0], "quit") == 0) {
		probe_quit();
		return;
	}
	if (strcmp(argv[0], "flood") == 0 && argc > 2) {
		count = strtoul(argv[1], NULL, 10);
		for (i = 0; i < (int)count; i++) {
			if (redisconn_commandargv(probe.rc, probe_flood_cb,
			    NULL, argc - 2, argv + 2, argvlen + 2) == 0)
				sent++;
			else
				refused++;
		}
		printf("flooded sent=%lu refused=%lu\n", sent, refused);
		return;
	}
	probe.n++;
	if (redisconn_commandargv(probe.rc, probe_reply_cb,
	    (void *)(uintptr_t)probe.n, argc, argv, argvlen) == 0)
		printf("sent %lu\n", probe.n);
	else
		printf("refused %lu\n", probe.n);
}

static void
probe_input_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	ssize_t	 n;
	char	*nl;

	(void)loop;
	(void)revents;
	n = read(w->fd, probe.buf + probe.len, sizeof(probe.buf) - probe.len);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		probe_quit();
		return;
	}
	probe.len += (size_t)n;
	while (probe.rc != NULL &&
	    (nl = memchr(probe.buf, '\n', probe.len)) != NULL) {
		*nl = '\0';
		probe_line(probe.buf);
		probe.len -= (size_t)(nl + 1 - probe.buf);
		memmove(probe.buf, nl + 1, probe.len);
	}
	if (probe.len == sizeof(probe.buf)) {
		fprintf(stderr, "redisprobe: input line too long\n");
		exit(2);
	}
}

/* The whole file, NUL-terminated; the first line only when firstline. */
static char *
probe_readfile(const char *path, int firstline)
{
	FILE	*f;
	char	*s;
	long	 n;

	if ((f = fopen(path, "r")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) == -1 ||
	    (s = calloc(1, (size_t)n + 1)) == NULL ||
	    fread(s, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "redisprobe: %s: cannot read\n", path);
		exit(2);
	}
	fclose(f);
	if (firstline)
		s[strcspn(s, "\r\n")] = '\0';
	return (s);
}

int
main(int argc, char *argv[])
{
	struct redisconn_config	 cfg;
	struct redisconn_cbs	 cbs = { probe_up_cb, probe_down_cb,
	    probe_message_cb };
	char			 err[256];
	char			*password = NULL, *library = NULL;
	int			 ch, verbose = 0;

	memset(&cfg, 0, sizeof(cfg));
	while ((ch = getopt(argc, argv, "l:P:s:t:v")) != -1) {
		switch (ch) {
		case 'l':
			library = probe_readfile(optarg, 0);
			break;
		case 'P':
			password = probe_readfile(optarg, 1);
			break;
		case 's':
			cfg.subscribe = optarg;
			break;
		case 't':
			cfg.timeout = strtod(optarg, NULL);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 1)
		goto usage;
	if (redisurl_parse(&cfg.url, argv[optind], err, sizeof(err)) == -1) {
		fprintf(stderr, "redisprobe: %s\n", err);
		return (2);
	}
	cfg.password = password;
	cfg.library = library;
	log_init("redisprobe", 1, verbose);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);

	probe.loop = EV_DEFAULT;
	if ((probe.rc = redisconn_new(probe.loop, &cfg, &cbs, NULL)) == NULL) {
		fprintf(stderr, "redisprobe: redisconn_new failed\n");
		return (1);
	}
	ev_io_init(&probe.in, probe_input_cb, STDIN_FILENO, EV_READ);
	ev_io_start(probe.loop, &probe.in);
	ev_run(probe.loop, 0);
	ev_loop_destroy(probe.loop);
	free(password);
	free(library);
	return (0);
usage:
	fprintf(stderr, "usage: redisprobe [-v] [-t secs] [-P password-file] "
	    "[-l library-file] [-s channel] URL\n");
	return (2);
}
