/* SPDX-License-Identifier: ISC */
/*
 * fastsse: the command-line client of the broker, built on libfastsse.
 *
 *	fastsse publish [-s socket] [-e type] [-k key] channel [data]
 *	fastsse publish --lines [-s socket] [-e type] channel
 *	fastsse tail [-s socket] [-i last-id] [-n count] [-v] channel ...
 *	fastsse stats [-s socket] [--prometheus] [channel ...]
 *	fastsse token --key file --ttl seconds [--sub s] [--jti j] channel ...
 *	fastsse revoke [-s socket] --sub s | --jti j [--until epoch-seconds]
 *
 * Exit status: 0 done, 1 the broker refused or could not be reached, 2
 * usage.  Functions here are named cmd_* because fastsse_* belongs to
 * the library.
 *
 * Bounds: one event's data is at most CMD_MAX_DATA bytes (the protocol's
 * frame limit); a longer stdin or line is refused before sending.  With
 * --lines at most CMD_WINDOW publishes are in flight: the oldest answer is
 * taken before another line is sent.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "eventid.h"
#include "fastsse.h"
#include "jsonstr.h"
#include "optnum.h"
#include "prom.h"
#include "promstats.h"
#include "sse.h"
#include "token.h"

#define CMD_MAX_DATA	(1024 * 1024)
#define CMD_WINDOW	64
#define CMD_REVOKE_TTL	86400	/* revoke: default --until, from now */

#define CMD_OK		0
#define CMD_ERR		1
#define CMD_USAGE	2

static const char *cmd_name = "fastsse";

#define CMD_PUBLISH_TIMEOUT	30	/* s, for an answer to a publish */
#define CMD_TIMEOUT_MAX		86400

static void
cmd_usage(FILE *f)
{
	fprintf(f,
	    "usage: %s publish [--socket path] [--event type] [--timeout secs]\n"
	    "                  [--idempotency-key key] channel [data]\n"
	    "       %s publish --lines [--socket path] [--event type]\n"
	    "                  [--timeout secs] channel\n"
	    "       %s tail [--socket path] [--last-event-id id] "
	    "[--count n] [--verbose]\n"
	    "               channel ...\n"
	    "       %s stats [--socket path] [--prometheus] [channel ...]\n"
	    "       %s --help | --version\n",
	    cmd_name, cmd_name, cmd_name, cmd_name, cmd_name);
	fprintf(f,
	    "       %s token --key file --ttl seconds [--sub subject] "
	    "[--jti id]\n"
	    "               channel|prefix* ...\n"
	    "       %s revoke [--socket path] --sub subject | --jti id "
	    "[--until time]\n", cmd_name, cmd_name);
}

static int
cmd_badusage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "%s: %s\n", cmd_name, msg);
	cmd_usage(stderr);
	return (CMD_USAGE);
}

#define CMD_OPT_EXIT	0	/* from cmd_getopt: return *code */

/*
 * getopt_long for a subcommand, handling here what they all share:
 * --socket (where optstring has it) is stored in *socket and the next
 * option read; --help prints the usage and an unknown option is refused,
 * both answered CMD_OPT_EXIT with the exit code in *code.  Otherwise the
 * subcommand's own next option, or -1 at the end.
 */
static int
cmd_getopt(int argc, char **argv, const char *optstring,
    const struct option *opts, const char **socket, int *code)
{
	int	ch;

	for (;;) {
		switch ((ch = getopt_long(argc, argv, optstring, opts,
		    NULL))) {
		case 's':
			*socket = optarg;
			continue;
		case 'h':
			cmd_usage(stdout);
			*code = CMD_OK;
			return (CMD_OPT_EXIT);
		case '?':
			*code = cmd_badusage(NULL);
			return (CMD_OPT_EXIT);
		default:
			return (ch);
		}
	}
}

/* Reports the last error of c. */
static void
cmd_error(struct fastsse *c)
{
	fprintf(stderr, "%s: %s\n", cmd_name, fastsse_error(c));
}

static struct fastsse *
cmd_connect(const char *socket, int role)
{
	struct fastsse	*c;
	char		 err[512];

	if ((c = fastsse_connect(socket, role, err, sizeof(err))) == NULL)
		fprintf(stderr, "%s: %s\n", cmd_name, err);
	return (c);
}

/* Writes s as a JSON string, quotes included. */
static void
cmd_json_string(FILE *f, const char *s)
{
	struct buf	b;

	buf_init(&b, 0);
	if (jsonstr_append(&b, s, strlen(s)) == 0)
		fwrite(buf_head(&b), 1, buf_used(&b), f);
	buf_free(&b);
}

/*
 * Prints one event or reset notice as SSE text, the very bytes the
 * responder sends a browser (shared/sse.c), and flushes it.
 */
static int
cmd_sse_event(FILE *f, const struct fastsse_event *ev)
{
	struct buf	b;
	char		id[EVENTID_MAX];
	size_t		n;
	int		r;

	buf_init(&b, 0);
	if (ev->kind == FASTSSE_KIND_EVENT)
		r = sse_event(&b, ev->id, strlen(ev->id), ev->type,
		    strlen(ev->type), ev->data, ev->data_len);
	else if ((n = sse_reset_id(ev->reason, strlen(ev->reason), ev->head,
	    strlen(ev->head), id, sizeof(id))) == 0)
		r = -1;
	else
		r = sse_reset(&b, ev->reason, strlen(ev->reason), ev->oldest,
		    ev->oldest != NULL ? strlen(ev->oldest) : 0, id, n);
	if (r == 0 && fwrite(buf_head(&b), 1, buf_used(&b), f) != buf_used(&b))
		r = -1;
	buf_free(&b);
	if (r == -1 || fflush(f) == EOF || ferror(f))
		return (-1);
	return (0);
}

/*
 * Reads all of stdin into a new buffer (at most CMD_MAX_DATA bytes) and
 * drops one final line break, so `echo text | fastsse publish ch` sends
 * "text".
 */
static char *
cmd_read_stdin(size_t *lenp)
{
	char	*data = NULL, *p;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (cap - len < 65536) {
			if (cap > CMD_MAX_DATA) {
				fprintf(stderr, "%s: data longer than %d "
				    "bytes\n", cmd_name, CMD_MAX_DATA);
				goto fail;
			}
			cap = cap ? cap * 2 : 65536;
			if ((p = realloc(data, cap)) == NULL) {
				fprintf(stderr, "%s: out of memory\n",
				    cmd_name);
				goto fail;
			}
			data = p;
		}
		n = read(STDIN_FILENO, data + len, cap - len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: stdin: %s\n", cmd_name,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CMD_MAX_DATA) {
		fprintf(stderr, "%s: data longer than %d bytes\n", cmd_name,
		    CMD_MAX_DATA);
		goto fail;
	}
	if (len > 0 && data[len - 1] == '\n') {
		len--;
		if (len > 0 && data[len - 1] == '\r')
			len--;
	}
	*lenp = len;
	return (data);

fail:
	free(data);
	return (NULL);
}

/* Takes the answer to the oldest publish in flight and prints it. */
static int
cmd_lines_wait(struct fastsse *c, unsigned long lineno, int *failed)
{
	char	id[FASTSSE_ID_MAX];

	if (fastsse_publish_wait(c, id, sizeof(id)) == 0) {
		printf("%s\n", id);
		return (0);
	}
	if (fastsse_error_code(c) == 0) {
		cmd_error(c);
		return (-1);
	}
	fprintf(stderr, "%s: line %lu: %s\n", cmd_name, lineno,
	    fastsse_error(c));
	*failed = 1;
	return (0);
}

/*
 * A line reader over stdin that can tell whether a line is at hand without
 * blocking, so that answers are printed as soon as input pauses.  It holds
 * at most CMD_MAX_DATA + CMD_CHUNK bytes; a longer line is skipped.
 */
#define CMD_CHUNK	65536
struct cmd_lines {
	char	*buf;
	size_t	 off, len, cap;
	int	 eof;
	int	 skipping;	/* inside a line that was too long */
};

/* The end of the first buffered line, or NULL. */
static char *
cmd_lines_find(struct cmd_lines *r)
{
	if (r->len == r->off)
		return (NULL);
	return (memchr(r->buf + r->off, '\n', r->len - r->off));
}

/* 1: a line is buffered or stdin is at EOF; 0: reading would block. */
static int
cmd_lines_ready(struct cmd_lines *r)
{
	struct pollfd	pfd;

	if (r->eof || cmd_lines_find(r) != NULL)
		return (1);
	pfd.fd = STDIN_FILENO;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return (poll(&pfd, 1, 0) != 0);
}

/*
 * Returns the next line (without its line break) in *line, *len: 1, or 0
 * at the end of input, or -1 on a read error.  For a line over
 * CMD_MAX_DATA bytes it returns 1 with *toolong set and no usable line.
 */
static int
cmd_lines_next(struct cmd_lines *r, char **line, size_t *len, int *toolong)
{
	char	*nl, *p;
	ssize_t	 n;

	*toolong = 0;
	for (;;) {
		nl = cmd_lines_find(r);
		if (nl != NULL || (r->eof && r->len > r->off)) {
			*line = r->buf + r->off;
			*len = nl != NULL ? (size_t)(nl - *line) :
			    r->len - r->off;
			r->off += *len + (nl != NULL);
			if (*len > 0 && (*line)[*len - 1] == '\r')
				(*len)--;
			if (r->skipping || *len > CMD_MAX_DATA) {
				r->skipping = 0;
				*toolong = 1;
			}
			return (1);
		}
		if (r->eof && r->skipping) {
			r->skipping = 0;
			*toolong = 1;
			return (1);
		}
		if (r->eof)
			return (0);
		if (r->off > 0) {
			memmove(r->buf, r->buf + r->off, r->len - r->off);
			r->len -= r->off;
			r->off = 0;
		}
		if (r->len > CMD_MAX_DATA + 1) {
			r->skipping = 1;	/* drop what we have of it */
			r->len = 0;
		}
		if (r->cap - r->len < CMD_CHUNK) {
			if ((p = realloc(r->buf, r->len + CMD_CHUNK)) == NULL)
				return (-1);
			r->buf = p;
			r->cap = r->len + CMD_CHUNK;
		}
		n = read(STDIN_FILENO, r->buf + r->len, r->cap - r->len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0)
			r->eof = 1;
		r->len += (size_t)n;
	}
}

/*
 * Publishes each line of stdin as one event over one connection, keeping
 * up to CMD_WINDOW requests in flight, and prints the ids in line order;
 * when input pauses, every answer due is printed before reading on.  A
 * refused line is reported on stderr (and makes the exit status 1) without
 * stopping the others.
 */
static int
cmd_publish_lines(struct fastsse *c, const char *channel, const char *type)
{
	struct cmd_lines r;
	unsigned long	 ring[CMD_WINDOW], lineno = 0;
	size_t		 head = 0, count = 0, len;
	char		*line;
	int		 failed = 0, toolong, n, rv = CMD_ERR;

	memset(&r, 0, sizeof(r));
	for (;;) {
		while (count > 0 && (count == CMD_WINDOW ||
		    !cmd_lines_ready(&r))) {
			if (fflush(stdout) == EOF)
				goto out;
			if (cmd_lines_wait(c, ring[head], &failed) == -1)
				goto out;
			head = (head + 1) % CMD_WINDOW;
			count--;
		}
		if (fflush(stdout) == EOF)
			goto out;
		if ((n = cmd_lines_next(&r, &line, &len, &toolong)) == -1) {
			fprintf(stderr, "%s: stdin: %s\n", cmd_name,
			    strerror(errno));
			goto out;
		}
		if (toolong) {
			fprintf(stderr, "%s: line %lu: longer than %d bytes\n",
			    cmd_name, ++lineno, CMD_MAX_DATA);
			failed = 1;
			continue;
		}
		if (n == 0)
			break;
		lineno++;
		if (fastsse_publish_send(c, channel, type, line, len) == -1) {
			cmd_error(c);
			goto out;
		}
		ring[(head + count) % CMD_WINDOW] = lineno;
		count++;
	}
	while (count > 0) {
		if (cmd_lines_wait(c, ring[head], &failed) == -1)
			goto out;
		head = (head + 1) % CMD_WINDOW;
		count--;
	}
	rv = failed ? CMD_ERR : CMD_OK;
out:
	free(r.buf);
	if (fflush(stdout) == EOF)
		rv = CMD_ERR;
	return (rv);
}

static int
cmd_publish(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "event", required_argument, NULL, 'e' },
		{ "lines", no_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 't' },
		{ "idempotency-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct fastsse	*c = NULL;
	const char	*socket = NULL, *type = NULL, *channel, *key = NULL;
	char		*data = NULL, id[FASTSSE_ID_MAX];
	size_t		 len = 0;
	unsigned long long timeout = CMD_PUBLISH_TIMEOUT;
	int		 ch, lines = 0, rv = CMD_ERR;

	while ((ch = cmd_getopt(argc, argv, "s:e:lt:k:h", opts, &socket,
	    &rv)) != -1) {
		switch (ch) {
		case CMD_OPT_EXIT:
			return (rv);
		case 't':
			if (optnum_parse(optarg, 0, CMD_TIMEOUT_MAX,
			    &timeout) == -1)
				return (cmd_badusage("--timeout takes 0 to "
				    "86400 seconds"));
			break;
		case 'k':
			key = optarg;
			break;
		case 'e':
			type = optarg;
			break;
		case 'l':
			lines = 1;
			break;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2 || (lines && argc != 1))
		return (cmd_badusage("publish takes a channel and, without "
		    "--lines, optional data"));
	if (lines && key != NULL)
		return (cmd_badusage("--idempotency-key is for one event, "
		    "not --lines"));
	channel = argv[0];

	if (!lines) {
		if (argc == 2 && strcmp(argv[1], "-") != 0) {
			len = strlen(argv[1]);
			if (len > CMD_MAX_DATA) {
				fprintf(stderr, "%s: data longer than %d "
				    "bytes\n", cmd_name, CMD_MAX_DATA);
				return (CMD_ERR);
			}
			if ((data = strdup(argv[1])) == NULL) {
				fprintf(stderr, "%s: out of memory\n",
				    cmd_name);
				return (CMD_ERR);
			}
		} else if ((data = cmd_read_stdin(&len)) == NULL)
			return (CMD_ERR);
	}

	if ((c = cmd_connect(socket, FASTSSE_ROLE_PUBLISHER)) == NULL)
		goto out;
	/* A stopped or stuck broker is an error, not a hang. */
	if (timeout > 0)
		fastsse_set_timeout(c, (int)(timeout * 1000));
	if (lines) {
		rv = cmd_publish_lines(c, channel, type);
		goto out;
	}
	if ((key != NULL ? fastsse_publish_once(c, channel, type, data, len,
	    key, id, sizeof(id)) : fastsse_publish(c, channel, type, data, len,
	    id, sizeof(id))) == -1) {
		cmd_error(c);
		if (fastsse_error_code(c) == FASTSSE_E_UNAVAILABLE)
			fprintf(stderr, "%s: not published: the broker's Redis "
			    "is unreachable; publish it again later\n",
			    cmd_name);
		goto out;
	}
	printf("%s\n", id);
	rv = fflush(stdout) == EOF ? CMD_ERR : CMD_OK;
out:
	fastsse_close(c);
	free(data);
	return (rv);
}

static int
cmd_tail(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "last-event-id", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct fastsse		*c = NULL;
	struct fastsse_event	 ev;
	const char		*socket = NULL, *last_id = NULL;
	unsigned long long	 count = 0, seen = 0;
	int			 ch, verbose = 0, rv = CMD_ERR;

	while ((ch = cmd_getopt(argc, argv, "s:i:n:vh", opts, &socket,
	    &rv)) != -1) {
		switch (ch) {
		case CMD_OPT_EXIT:
			return (rv);
		case 'i':
			last_id = optarg;
			break;
		case 'n':
			if (optnum_parse(optarg, 1, ULLONG_MAX, &count) == -1)
				return (cmd_badusage("--count takes a "
				    "positive number"));
			break;
		case 'v':
			verbose = 1;
			break;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 64)
		return (cmd_badusage("tail takes 1 to 64 channels"));

	if ((c = cmd_connect(socket, FASTSSE_ROLE_SUBSCRIBER)) == NULL)
		goto out;
	if (fastsse_subscribe(c, (const char *const *)argv, (size_t)argc,
	    last_id) == -1) {
		cmd_error(c);
		goto out;
	}
	for (;;) {
		if (fastsse_read_event(c, &ev, -1) != 1) {
			cmd_error(c);
			goto out;
		}
		if (ev.kind == FASTSSE_KIND_SUBSCRIBED) {
			if (verbose)
				fprintf(stderr, "%s: subscribed at %s, %llu "
				    "to replay\n", cmd_name, ev.head,
				    ev.nreplay);
			continue;
		}
		if (cmd_sse_event(stdout, &ev) == -1) {
			fprintf(stderr, "%s: stdout: %s\n", cmd_name,
			    strerror(errno));
			goto out;
		}
		if (count != 0 && ++seen == count)
			break;
	}
	rv = CMD_OK;
out:
	fastsse_close(c);
	return (rv);
}

/* Prints one counter as a member of the JSON object. */
static int
cmd_stats_cb(const char *name, unsigned long long value, void *arg)
{
	int	*first = arg;

	if (!*first)
		fputc(',', stdout);
	*first = 0;
	cmd_json_string(stdout, name);
	printf(":%llu", value);
	return (0);
}

/* Collects the counters for the Prometheus exposition. */
struct cmd_prom {
	const char	*names[128];
	uint64_t	 values[128];
	char		*copies[128];
	size_t		 n;
};

static int
cmd_prom_cb(const char *name, unsigned long long value, void *arg)
{
	struct cmd_prom	*p = arg;

	if (p->n == sizeof(p->names) / sizeof(p->names[0]))
		return (1);
	if ((p->copies[p->n] = strdup(name)) == NULL)
		return (1);
	p->names[p->n] = p->copies[p->n];
	p->values[p->n++] = value;
	return (0);
}

/* Per-channel figures, kept for the Prometheus exposition. */
struct cmd_chan {
	char			*channel;
	unsigned long long	 v[4];
};

struct cmd_chans {
	struct cmd_chan	 c[64];
	size_t		 n;
	int		 first;
	int		 prometheus;
};

/* Prints one channel as a member of the JSON object, or keeps it. */
static int
cmd_chan_cb(const struct fastsse_channel_stats *st, void *arg)
{
	struct cmd_chans	*cs = arg;
	struct cmd_chan		*c;

	if (cs->prometheus) {
		if (cs->n == 64)
			return (1);
		c = &cs->c[cs->n];
		if ((c->channel = strdup(st->channel)) == NULL)
			return (1);
		c->v[0] = st->streams;
		c->v[1] = st->history_events;
		c->v[2] = st->history_bytes;
		c->v[3] = st->subscribers;
		cs->n++;
		return (0);
	}
	if (!cs->first)
		fputc(',', stdout);
	cs->first = 0;
	cmd_json_string(stdout, st->channel);
	printf(":{\"streams\":%llu,\"history_events\":%llu,"
	    "\"history_bytes\":%llu,\"subscribers\":%llu,\"oldest_id\":",
	    st->streams, st->history_events, st->history_bytes,
	    st->subscribers);
	if (st->oldest_id != NULL)
		cmd_json_string(stdout, st->oldest_id);
	else
		fputs("null", stdout);
	fputs(",\"last_id\":", stdout);
	if (st->last_id != NULL)
		cmd_json_string(stdout, st->last_id);
	else
		fputs("null", stdout);
	fputc('}', stdout);
	return (0);
}

/* The per-channel families, one sample per channel each. */
static int
cmd_prom_channels(struct buf *b, const struct cmd_chans *cs)
{
	static const struct {
		const char	*name;
		const char	*help;
	} fam[4] = {
		{ "fastsse_channel_streams", "Browser streams on the channel, "
		    "over all responders." },
		{ "fastsse_channel_history_events", "Events the channel's "
		    "history holds." },
		{ "fastsse_channel_history_bytes", "Bytes of the channel's "
		    "history." },
		{ "fastsse_channel_subscriptions", "Connections subscribed to "
		    "the channel." },
	};
	struct prom_label	 l = { "channel", NULL };
	size_t			 i, j;

	for (i = 0; i < 4; i++) {
		if (prom_family(b, fam[i].name, "gauge", fam[i].help) == -1)
			return (-1);
		for (j = 0; j < cs->n; j++) {
			l.value = cs->c[j].channel;
			if (prom_sample(b, fam[i].name, &l, 1,
			    cs->c[j].v[i]) == -1)
				return (-1);
		}
	}
	return (0);
}

/*
 * fastsse stats: the broker's counters as one JSON object, or with
 * channels the figures of each channel as a JSON object of objects; with
 * --prometheus both in the Prometheus text format (the counters always,
 * the channels' gauges when channels are given).  When the broker cannot
 * be reached, --prometheus still prints fastsse_broker_up 0 (and exits
 * 1), so a textfile collector's file says so.
 */
static int
cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct fastsse		*c;
	struct cmd_prom		 p;
	struct cmd_chans	 cs;
	struct buf		 b;
	const char		*socket = NULL;
	size_t			 i;
	int			 ch, first = 1, prometheus = 0, rv = CMD_ERR;

	while ((ch = cmd_getopt(argc, argv, "s:ph", opts, &socket,
	    &rv)) != -1) {
		switch (ch) {
		case CMD_OPT_EXIT:
			return (rv);
		case 'p':
			prometheus = 1;
			break;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 64)
		return (cmd_badusage("stats takes at most 64 channels"));
	memset(&p, 0, sizeof(p));
	memset(&cs, 0, sizeof(cs));
	cs.first = 1;
	cs.prometheus = prometheus;
	buf_init(&b, 0);
	if ((c = cmd_connect(socket, FASTSSE_ROLE_PUBLISHER)) == NULL) {
		if (prometheus && promstats_broker_down(&b) == 0)
			fwrite(buf_head(&b), 1, buf_used(&b), stdout);
		goto out;
	}
	if (prometheus) {
		if (fastsse_stats(c, cmd_prom_cb, &p) == -1 || (argc > 0 &&
		    fastsse_channel_stats(c, (const char *const *)argv,
		    (size_t)argc, cmd_chan_cb, &cs) == -1)) {
			cmd_error(c);
			if (promstats_broker_down(&b) == 0)
				fwrite(buf_head(&b), 1, buf_used(&b), stdout);
			goto out;
		}
		if (promstats_broker(&b, p.names, p.values, p.n) == -1 ||
		    cmd_prom_channels(&b, &cs) == -1) {
			fprintf(stderr, "%s: out of memory\n", cmd_name);
			goto out;
		}
		fwrite(buf_head(&b), 1, buf_used(&b), stdout);
		rv = CMD_OK;
		goto out;
	}
	fputc('{', stdout);
	if ((argc == 0 ? fastsse_stats(c, cmd_stats_cb, &first) :
	    fastsse_channel_stats(c, (const char *const *)argv, (size_t)argc,
	    cmd_chan_cb, &cs)) == -1) {
		fputc('\n', stdout);
		fflush(stdout);
		cmd_error(c);
		goto out;
	}
	fputs("}\n", stdout);
	rv = CMD_OK;
out:
	if (fflush(stdout) == EOF)
		rv = CMD_ERR;
	fastsse_close(c);
	buf_free(&b);
	for (i = 0; i < p.n; i++)
		free(p.copies[i]);
	for (i = 0; i < cs.n; i++)
		free(cs.c[i].channel);
	return (rv);
}

/*
 * Prints a subscribe token for the channels (names or prefix* patterns),
 * signed with the key file's first key, valid for ttl seconds.
 */
static int
cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "ttl", required_argument, NULL, 't' },
		{ "sub", required_argument, NULL, 'u' },
		{ "jti", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct token_keys	*keys;
	struct buf		 out;
	const char		*key = NULL, *sub = NULL, *jti = NULL;
	unsigned long long	 ttl = 0;
	char			 err[256];
	int			 ch, i, rv = CMD_ERR;

	while ((ch = cmd_getopt(argc, argv, "k:t:u:j:h", opts, NULL,
	    &rv)) != -1) {
		switch (ch) {
		case CMD_OPT_EXIT:
			return (rv);
		case 'k':
			key = optarg;
			break;
		case 't':
			if (optnum_parse(optarg, 1, 10ULL * 366 * 86400,
			    &ttl) == -1)
				return (cmd_badusage("--ttl: a number of "
				    "seconds, at least 1"));
			break;
		case 'u':
			sub = optarg;
			break;
		case 'j':
			jti = optarg;
			break;
		}
	}
	if (key == NULL || ttl == 0)
		return (cmd_badusage("token needs --key and --ttl"));
	if (optind == argc || argc - optind > TOKEN_MAX_CHANNELS)
		return (cmd_badusage("token needs 1 to 64 channels"));
	if ((sub != NULL && (*sub == '\0' || strlen(sub) > TOKEN_ID_MAX)) ||
	    (jti != NULL && (*jti == '\0' || strlen(jti) > TOKEN_ID_MAX)))
		return (cmd_badusage("--sub and --jti: 1 to 128 bytes"));
	for (i = optind; i < argc; i++)
		if (!token_pattern_valid(argv[i], strlen(argv[i]))) {
			fprintf(stderr, "%s: %s is not a channel name or "
			    "prefix*\n", cmd_name, argv[i]);
			return (CMD_USAGE);
		}
	if ((keys = malloc(sizeof(*keys))) == NULL) {
		fprintf(stderr, "%s: out of memory\n", cmd_name);
		return (CMD_ERR);
	}
	buf_init(&out, 0);
	if (token_keys_load(keys, key, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", cmd_name, err);
		goto out;
	}
	if (token_sign(&out, &keys->k[0], (const char *const *)argv + optind,
	    (size_t)(argc - optind), (int64_t)time(NULL) + (int64_t)ttl, sub,
	    jti) == -1) {
		fprintf(stderr, "%s: cannot sign the token\n", cmd_name);
		goto out;
	}
	buf_append_byte(&out, '\n');
	if (fwrite(buf_head(&out), 1, buf_used(&out), stdout) ==
	    buf_used(&out) && fflush(stdout) == 0)
		rv = CMD_OK;
out:
	token_keys_clear(keys);
	free(keys);
	buf_free(&out);
	return (rv);
}

/*
 * Revokes the tokens of a subject or the token of an id until a time
 * (default: a day from now, as long as the tokens should live at most).
 */
static int
cmd_revoke(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "sub", required_argument, NULL, 'u' },
		{ "jti", required_argument, NULL, 'j' },
		{ "until", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct fastsse		*c;
	const char		*socket = NULL, *kind = NULL, *value = NULL;
	unsigned long long	 until = 0;
	int			 ch, rv = CMD_ERR;

	while ((ch = cmd_getopt(argc, argv, "s:u:j:t:h", opts, &socket,
	    &rv)) != -1) {
		switch (ch) {
		case CMD_OPT_EXIT:
			return (rv);
		case 'u':
		case 'j':
			if (kind != NULL)
				return (cmd_badusage("revoke takes one of "
				    "--sub and --jti"));
			kind = ch == 'u' ? FASTSSE_REVOKE_SUB :
			    FASTSSE_REVOKE_JTI;
			value = optarg;
			break;
		case 't':
			if (optnum_parse(optarg, 1, ULLONG_MAX, &until) == -1)
				return (cmd_badusage("--until: seconds since "
				    "the epoch"));
			break;
		}
	}
	if (kind == NULL || optind != argc)
		return (cmd_badusage("revoke takes --sub or --jti and no "
		    "arguments"));
	if (until == 0)
		until = (unsigned long long)time(NULL) + CMD_REVOKE_TTL;
	if ((c = cmd_connect(socket, FASTSSE_ROLE_PUBLISHER)) == NULL)
		return (CMD_ERR);
	if (fastsse_revoke(c, kind, value, until) == -1)
		cmd_error(c);
	else
		rv = CMD_OK;
	fastsse_close(c);
	return (rv);
}

int
main(int argc, char **argv)
{
	const char	*cmd;

	if (argc < 2)
		return (cmd_badusage(NULL));
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		cmd_usage(stdout);
		return (CMD_OK);
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("%s %s\n", cmd_name, PACKAGE_VERSION);
		return (CMD_OK);
	}
	/* Subcommands parse their own options, from argv[1] on. */
	if (strcmp(cmd, "publish") == 0)
		return (cmd_publish(argc - 1, argv + 1));
	if (strcmp(cmd, "tail") == 0)
		return (cmd_tail(argc - 1, argv + 1));
	if (strcmp(cmd, "stats") == 0)
		return (cmd_stats(argc - 1, argv + 1));
	if (strcmp(cmd, "token") == 0)
		return (cmd_token(argc - 1, argv + 1));
	if (strcmp(cmd, "revoke") == 0)
		return (cmd_revoke(argc - 1, argv + 1));
	fprintf(stderr, "%s: unknown command: %s\n", cmd_name, cmd);
	cmd_usage(stderr);
	return (CMD_USAGE);
}
