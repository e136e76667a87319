/* SPDX-License-Identifier: ISC */
/*
 * fastsse-broker: options, start-up, the event loop.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "broker.h"
#include "eventid.h"
#include "log.h"
#include "optnum.h"
#include "redisurl.h"
#include "rstore.h"
#include "server.h"
#include "sockpath.h"


static void	main_usage(FILE *);
static void	main_redis(struct rstore_config *, const char *, const char *,
		    const char *);

/* The option summary of --help (stdout) or of a usage error (stderr). */
static void
main_usage(FILE *f)
{
	fprintf(f,
"usage: " BROKER_NAME " [-dhnvV] [-s path] [-m mode] [-D dir] [options]\n"
"  -s, --socket PATH            listening socket (default $FASTSSE_SOCKET,\n"
"                               else " SOCKPATH_DEFAULT ")\n"
"  -m, --socket-mode OCTAL      socket permissions (default %o)\n"
"      --history-max-age SECS   keep events this long (default %d)\n"
"      --history-max-events N   keep this many events per channel (default %d)\n"
"      --max-memory SIZE        history bytes, all channels, and unsent\n"
"                               replayed bytes, all connections (default 256M)\n"
"      --max-event-size SIZE    data bytes per event (default 64K)\n"
"      --max-output-buffer SIZE unsent bytes per connection (default 4M)\n"
"      --max-input SIZE         input buffers, all connections (default 64M)\n"
"      --input-timeout SECS     for HELLO and for the rest of a frame\n"
"                               (default %d)\n"
"      --max-channels N         channels in total (default %d)\n"
"      --max-subscriptions N    channels per connection (default %d)\n"
"  -D, --data-dir DIR|none      keep the history on disk in DIR (default\n"
"                               " FASTSSE_STATEDIR " when it exists,\n"
"                               else none: memory only)\n"
"      --fsync always|everysec|no  when the journal is synced (default\n"
"                               everysec)\n"
"      --recover                start from what is intact of a damaged\n"
"                               journal (the rest is set aside)\n"
"      --redis URL              share channels, ids and history with every\n"
"                               broker on this Redis: redis://[:pw@]host[:port]\n"
"                               [/db] or unix:/path[?db=N]\n"
"      --redis-password-file FILE  the Redis password (first line)\n"
"      --redis-timeout SECS     Redis connect and command timeout (default 2)\n"
"      --redis-prefix P         Redis keys are {P}:... (default fastsse)\n"
"  -d, --foreground             stay in the foreground, log to stderr\n"
"      --log-file PATH          log to PATH (absolute; SIGHUP reopens it)\n"
"      --syslog                 log to syslog even with -d\n"
"  -v, --verbose                log debug messages\n"
"  -n, --check                  check the options and exit\n"
"  -h, --help                   show this help\n"
"  -V, --version                show the version\n"
"SIZE takes a K, M or G suffix (powers of 1024).\n",
	    BROKER_SOCKET_MODE, BROKER_HISTORY_MAX_AGE,
	    BROKER_HISTORY_MAX_EVENTS, BROKER_INPUT_TIMEOUT,
	    BROKER_MAX_CHANNELS, BROKER_MAX_SUBSCRIPTIONS);
}

/* Parses a byte count with an optional K/M/G suffix; -1 when invalid. */
static int
main_size(const char *s, size_t *out)
{
	unsigned long long	 v;
	char			*end;
	int			 shift = 0;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return (-1);
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default:
		return (-1);
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v > (SIZE_MAX >> shift))
		return (-1);
	*out = (size_t)(v << shift);
	return (0);
}

/*
 * The Redis mode's configuration from its flags: the URL parsed, the
 * password read from the first line of its file (it overrides the URL's),
 * the prefix checked.  Start-up errors are fatal, with what is wrong.
 */
static void
main_redis(struct rstore_config *cfg, const char *url, const char *pwfile,
    const char *prefix)
{
	static char	 pw[REDISURL_PASSWORD_MAX + 2];
	char		 err[256];
	FILE		*f;
	size_t		 i;

	if (redisurl_parse(&cfg->url, url, err, sizeof(err)) == -1)
		fatalx("--redis: %s", err);
	if (pwfile != NULL) {
		if ((f = fopen(pwfile, "r")) == NULL)
			fatal("--redis-password-file %s", pwfile);
		if (fgets(pw, sizeof(pw), f) == NULL)
			pw[0] = '\0';
		fclose(f);
		pw[strcspn(pw, "\r\n")] = '\0';
		if (strlen(pw) > REDISURL_PASSWORD_MAX)
			fatalx("--redis-password-file %s: the password is "
			    "over %d bytes", pwfile, REDISURL_PASSWORD_MAX);
		cfg->password = pw;
	}
	if (*prefix == '\0' || strlen(prefix) > RSTORE_PREFIX_MAX)
		fatalx("--redis-prefix must be 1 to %d bytes",
		    RSTORE_PREFIX_MAX);
	for (i = 0; prefix[i] != '\0'; i++)
		if ((unsigned char)prefix[i] <= ' ' || prefix[i] == '{' ||
		    prefix[i] == '}' || prefix[i] == 0x7f)
			fatalx("--redis-prefix: no space, control character, "
			    "'{' or '}'");
	cfg->prefix = prefix;
}

/* Parses a non-negative count; -1 when invalid. */
static int
main_count(const char *s, size_t *out)
{
	unsigned long long	 v;

	if (optnum_parse(s, 0, SIZE_MAX, &v) == -1)
		return (-1);
	*out = (size_t)v;
	return (0);
}

/*
 * The history's directory: the one given, none for "none", else the
 * compiled-in state directory when it exists.  The default is taken only
 * when it exists (make install creates it), so that a broker started from
 * a build tree, by the tests or by hand, never writes into a system
 * directory it was not pointed at; it says which it chose.
 */
static const char *
main_data_dir(const char *arg)
{
	struct stat	 st;

	if (arg != NULL)
		return (strcmp(arg, "none") == 0 ? NULL : arg);
	if (stat(FASTSSE_STATEDIR, &st) == 0 && S_ISDIR(st.st_mode))
		return (FASTSSE_STATEDIR);
	return (NULL);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",		required_argument, NULL, 's' },
		{ "socket-mode",	required_argument, NULL, 'm' },
		{ "history-max-age",	required_argument, NULL, 'A' },
		{ "history-max-events",	required_argument, NULL, 'E' },
		{ "max-memory",		required_argument, NULL, 'M' },
		{ "max-event-size",	required_argument, NULL, 'S' },
		{ "max-output-buffer",	required_argument, NULL, 'O' },
		{ "max-input",		required_argument, NULL, 'I' },
		{ "input-timeout",	required_argument, NULL, 'T' },
		{ "max-channels",	required_argument, NULL, 'C' },
		{ "max-subscriptions",	required_argument, NULL, 'U' },
		{ "data-dir",		required_argument, NULL, 'D' },
		{ "fsync",		required_argument, NULL, 'F' },
		{ "recover",		no_argument, NULL, 'R' },
		{ "foreground",		no_argument, NULL, 'd' },
		{ "verbose",		no_argument, NULL, 'v' },
		{ "check",		no_argument, NULL, 'n' },
		{ "help",		no_argument, NULL, 'h' },
		{ "version",		no_argument, NULL, 'V' },
		{ "log-file",		required_argument, NULL, 'L' + 256 },
		{ "syslog",		no_argument, NULL, 'Y' + 256 },
		{ "redis",		required_argument, NULL, 'Q' + 256 },
		{ "redis-password-file", required_argument, NULL, 'P' + 256 },
		{ "redis-timeout",	required_argument, NULL, 'W' + 256 },
		{ "redis-prefix",	required_argument, NULL, 'X' + 256 },
		{ NULL, 0, NULL, 0 }
	};
	struct broker_opts	 opts;
	struct server		 server;
	struct ev_loop		*loop;
	struct timespec		 ts;
	struct sockaddr_un	 sun;
	unsigned long		 mode;
	size_t			 age, secs;
	uint64_t		 epoch;
	const char		*data_dir = NULL, *log_path = NULL;
	const char		*redis_url = NULL, *redis_pwfile = NULL;
	const char		*redis_prefix = RSTORE_PREFIX_DEFAULT;
	static struct rstore_config redis;
	double			 redis_timeout = RSTORE_TIMEOUT_DEFAULT;
	char			*end;
	int			 ch, check = 0, use_syslog = 0;

	memset(&opts, 0, sizeof(opts));
	opts.socket_mode = BROKER_SOCKET_MODE;
	opts.max_age = BROKER_HISTORY_MAX_AGE;
	opts.max_events = BROKER_HISTORY_MAX_EVENTS;
	opts.max_memory = BROKER_MAX_MEMORY;
	opts.max_event_size = BROKER_MAX_EVENT_SIZE;
	opts.max_output = BROKER_MAX_OUTPUT;
	opts.max_input = BROKER_MAX_INPUT;
	opts.input_timeout = BROKER_INPUT_TIMEOUT;
	opts.max_channels = BROKER_MAX_CHANNELS;
	opts.max_subs = BROKER_MAX_SUBSCRIPTIONS;
	opts.fsync = BROKER_FSYNC;
	log_init(BROKER_NAME, 1, 0);

	while ((ch = getopt_long(argc, argv, "dD:hm:ns:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			opts.socket = optarg;
			break;
		case 'm':
			if (optnum_mode(optarg, &mode) == -1)
				fatalx("bad socket mode: %s", optarg);
			opts.socket_mode = (mode_t)mode;
			break;
		case 'A':
			if (main_count(optarg, &age) == -1)
				fatalx("bad history max age: %s", optarg);
			opts.max_age = (double)age;
			break;
		case 'E':
			if (main_count(optarg, &opts.max_events) == -1)
				fatalx("bad history max events: %s", optarg);
			break;
		case 'M':
			if (main_size(optarg, &opts.max_memory) == -1)
				fatalx("bad max memory: %s", optarg);
			break;
		case 'S':
			if (main_size(optarg, &opts.max_event_size) == -1)
				fatalx("bad max event size: %s", optarg);
			break;
		case 'O':
			if (main_size(optarg, &opts.max_output) == -1)
				fatalx("bad max output buffer: %s", optarg);
			break;
		case 'I':
			if (main_size(optarg, &opts.max_input) == -1)
				fatalx("bad max input: %s", optarg);
			break;
		case 'T':
			if (main_count(optarg, &secs) == -1 || secs == 0 ||
			    secs > 86400)
				fatalx("bad input timeout (1 to 86400 s): %s",
				    optarg);
			opts.input_timeout = (double)secs;
			break;
		case 'C':
			if (main_count(optarg, &opts.max_channels) == -1 ||
			    opts.max_channels == 0)
				fatalx("bad max channels: %s", optarg);
			break;
		case 'U':
			if (main_count(optarg, &opts.max_subs) == -1 ||
			    opts.max_subs == 0)
				fatalx("bad max subscriptions: %s", optarg);
			break;
		case 'D':
			data_dir = optarg;
			break;
		case 'F':
			if (journal_fsync_parse(optarg, &opts.fsync) == -1)
				fatalx("bad fsync mode (always, everysec or "
				    "no): %s", optarg);
			break;
		case 'R':
			opts.recover = 1;
			break;
		case 'd':
			opts.foreground = 1;
			break;
		case 'v':
			opts.verbose = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			main_usage(stdout);
			exit(0);
		case 'V':
			printf(BROKER_NAME " " PACKAGE_VERSION "\n");
			exit(0);
		case 'L' + 256:
			if (*optarg != '/')
				fatalx("--log-file: %s is not an absolute path",
				    optarg);
			log_path = optarg;
			break;
		case 'Y' + 256:
			use_syslog = 1;
			break;
		case 'Q' + 256:
			redis_url = optarg;
			break;
		case 'P' + 256:
			redis_pwfile = optarg;
			break;
		case 'W' + 256:
			redis_timeout = strtod(optarg, &end);
			if (end == optarg || *end != '\0' ||
			    !(redis_timeout >= 0.01 && redis_timeout <= 3600))
				fatalx("bad Redis timeout (0.01 to 3600 s): %s",
				    optarg);
			break;
		case 'X' + 256:
			redis_prefix = optarg;
			break;
		default:
			main_usage(stderr);
			exit(1);
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		exit(1);
	}
	if (opts.max_event_size == 0 ||
	    opts.max_event_size > BROKER_EVENT_SIZE_LIMIT)
		fatalx("max event size must be 1 to %d bytes",
		    BROKER_EVENT_SIZE_LIMIT);
	if (opts.max_output == 0)
		fatalx("max output buffer must not be 0");
	if (opts.max_input < 2 * (PROTO_HEADER_LEN + PROTO_MAX_FRAME))
		fatalx("max input must be at least %zu bytes (room to grow "
		    "a buffer to one whole frame)",
		    (size_t)2 * (PROTO_HEADER_LEN + PROTO_MAX_FRAME));
	if (opts.socket == NULL)
		opts.socket = sockpath_default(&opts.socket_default);
	if (sockpath_addr(&sun, opts.socket) == -1)
		fatalx("socket path too long: %s", opts.socket);
	opts.data_dir = main_data_dir(data_dir);
	if (redis_url != NULL) {
		if (data_dir != NULL && strcmp(data_dir, "none") != 0)
			fatalx("--redis and --data-dir %s: in Redis mode the "
			    "history's durable home is Redis (the broker keeps "
			    "a copy in memory); use one or the other", data_dir);
		opts.data_dir = NULL;
		redis.timeout = redis_timeout;
		main_redis(&redis, redis_url, redis_pwfile, redis_prefix);
		opts.redis = &redis;
	} else if (redis_pwfile != NULL)
		fatalx("--redis-password-file needs --redis");
	if (check) {
		fprintf(stderr, BROKER_NAME ": configuration OK (socket %s, "
		    "history %s)\n", opts.socket, opts.redis != NULL ?
		    "in Redis" : opts.data_dir != NULL ? opts.data_dir :
		    "in memory only");
		exit(0);
	}
	log_setverbose(opts.verbose);
	if (use_syslog)
		log_syslog();
	if (log_path != NULL && log_file(log_path) == -1)
		fatal("--log-file %s", log_path);
	log_sighup();

	if (server_listen(&server, &opts) == -1)
		exit(1);
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal("clock_gettime");
	epoch = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	if (server_restore(&server, epoch) == -1) {
		sockpath_unlink(&server.sock);	/* why is logged */
		exit(1);
	}
	if (!opts.foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init(BROKER_NAME, 0, opts.verbose);
		store_daemonized(&server);
	}
	if ((loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot start the event loop");
	if (server_start(&server, loop) == -1)
		exit(1);
	log_info("listening on %s (history %zu events, %.0f s, %zu bytes, "
	    "%s%s)", opts.socket, opts.max_events, opts.max_age,
	    opts.max_memory, opts.data_dir != NULL ? "kept in " :
	    "in memory only", opts.data_dir != NULL ? opts.data_dir : "");
	ev_run(loop, 0);
	server_stop(&server);
	ev_loop_destroy(loop);
	log_info("stopped");
	return (0);
}
