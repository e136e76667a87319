/* SPDX-License-Identifier: ISC */
/*
 * fastsse-fcgi: the FastCGI responder that holds browsers' Server-Sent
 * Events streams for a web server (nginx, lighttpd, Apache).
 *
 * The model, and why:
 *
 * - One thread, one libev loop, nothing blocks.  The loop accepts on the
 *   listening socket and reads each request as its bytes arrive
 *   (accept.c, with the pure FastCGI parser of request.c), so a web
 *   server that passes a request on slowly, or a peer that connects and
 *   sends nothing, holds only its own connection until --request-timeout
 *   closes it; the next browser's request is read beside it.  libfcgi's
 *   FCGX_Accept_r reads a request with blocking reads and no deadline,
 *   so no number of threads around it could promise that; only its
 *   fastcgi.h (the specification's own header) is used.
 *
 * - Short answers (400/405/431 errors, OPTIONS preflights, "come back
 *   later" at the stream cap) are written by the loop as FastCGI records
 *   (record.c) and the connection is closed.  A valid stream gets its
 *   headers and first lines ("retry:" and a comment) the same way, and
 *   once they are written the connection becomes a stream (stream.c).
 *
 * - The loop owns everything after that too: the one broker connection
 *   (upstream.c) and all streams (stream.c).  It writes FCGI_STDOUT
 *   records with the request's id, padded to 8 bytes, and at the end an
 *   empty FCGI_STDOUT plus FCGI_END_REQUEST, which both nginx and
 *   lighttpd need to end the response cleanly.
 *
 * - Signals are ev_signal watchers: SIGTERM/SIGINT end every stream
 *   properly (each first told a random retry: within --drain-spread, so
 *   the browsers come back spread out), stop accepting and exit; SIGUSR1
 *   logs the counters.  SIGHUP reopens --log-file (shared/log.c).
 *   SIGPIPE is ignored: writes fail with EPIPE, which ends that stream.
 *
 * Sockets: with --listen the responder opens its own FastCGI socket (for
 * nginx fastcgi_pass and Apache mod_proxy_fcgi).  A Unix socket follows
 * the broker's rules: a path that is not a socket, or one where something
 * answers, is refused; a stale socket is replaced; at exit the socket is
 * removed only if it is still the one created (same device and inode).
 * An flock()ed "PATH.lock" (no symlink, owned by us or root) makes two
 * responders starting together refuse each other.  Without --listen, fd 0
 * is the listening socket, as lighttpd's bin-path and mod_fcgid pass it,
 * unless systemd passed one (socket activation: LISTEN_PID is ours and
 * LISTEN_FDS is 1; the socket is fd 3).  That protocol is two environment
 * variables and a fixed fd, read by main_listen_fds, rather than a link
 * to libsystemd for sd_listen_fds: the same binary then runs on hosts
 * without systemd's library (the hosting this responder is also for).
 */
#include "config.h"

#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "accept.h"
#include "auth.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "optnum.h"
#include "pubconn.h"
#include "pubreq.h"
#include "responder.h"
#include "sockpath.h"
#include "spawn.h"
#include "stream.h"
#include "upstream.h"

struct responder_conf	 conf;

static struct sockpath_own main_sock;	/* ours to remove at exit */
static int		 main_lock_fd = -1;
static ev_signal	 main_sigterm, main_sigint, main_sigusr1;
static ev_timer		 main_grace;
static struct ev_loop	*main_loop;
static int		 main_stopping;

enum {
	OPT_LISTEN = 256,
	OPT_SOCKET_MODE,
	OPT_BROKER,
	OPT_CHANNEL_PARAM,
	OPT_MAX_CHANNELS,
	OPT_MAX_STREAMS,
	OPT_MAX_QUEUE,
	OPT_RETRY,
	OPT_RETRY_JITTER,
	OPT_HEARTBEAT,
	OPT_CORS_ORIGIN,
	OPT_CORS_MAX_AGE,
	OPT_ACCEPT_THREADS,
	OPT_REQUEST_TIMEOUT,
	OPT_BACKLOG,
	OPT_TOKEN_KEY,
	OPT_PUBLIC_CHANNEL,
	OPT_TOKEN_COOKIE,
	OPT_PUBLISH_KEY,
	OPT_METRICS_PATH,
	OPT_METRICS_ALLOW,
	OPT_HEALTH_PATH,
	OPT_DRAIN_SPREAD,
	OPT_LOG_FILE,
	OPT_SYSLOG,
	OPT_SPAWN_BROKER,
};

static const struct option main_opts[] = {
	{ "listen",		required_argument, NULL, OPT_LISTEN },
	{ "socket-mode",	required_argument, NULL, OPT_SOCKET_MODE },
	{ "broker",		required_argument, NULL, OPT_BROKER },
	{ "channel-param",	required_argument, NULL, OPT_CHANNEL_PARAM },
	{ "max-channels",	required_argument, NULL, OPT_MAX_CHANNELS },
	{ "max-streams",	required_argument, NULL, OPT_MAX_STREAMS },
	{ "max-queue",		required_argument, NULL, OPT_MAX_QUEUE },
	{ "retry",		required_argument, NULL, OPT_RETRY },
	{ "retry-jitter",	required_argument, NULL, OPT_RETRY_JITTER },
	{ "heartbeat",		required_argument, NULL, OPT_HEARTBEAT },
	{ "cors-origin",	required_argument, NULL, OPT_CORS_ORIGIN },
	{ "cors-max-age",	required_argument, NULL, OPT_CORS_MAX_AGE },
	{ "accept-threads",	required_argument, NULL, OPT_ACCEPT_THREADS },
	{ "request-timeout",	required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "backlog",		required_argument, NULL, OPT_BACKLOG },
	{ "token-key",		required_argument, NULL, OPT_TOKEN_KEY },
	{ "public-channel",	required_argument, NULL, OPT_PUBLIC_CHANNEL },
	{ "token-cookie",	required_argument, NULL, OPT_TOKEN_COOKIE },
	{ "publish-key",	required_argument, NULL, OPT_PUBLISH_KEY },
	{ "metrics-path",	required_argument, NULL, OPT_METRICS_PATH },
	{ "metrics-allow",	required_argument, NULL, OPT_METRICS_ALLOW },
	{ "health-path",	required_argument, NULL, OPT_HEALTH_PATH },
	{ "drain-spread",	required_argument, NULL, OPT_DRAIN_SPREAD },
	{ "log-file",		required_argument, NULL, OPT_LOG_FILE },
	{ "syslog",		no_argument,	   NULL, OPT_SYSLOG },
	{ "spawn-broker",	optional_argument, NULL, OPT_SPAWN_BROKER },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL,			0,		   NULL, 0 }
};

static void
main_usage(FILE *f)
{
	fprintf(f,
"usage: fastsse-fcgi [-dhv] [--listen unix:PATH | --listen HOST:PORT]\n"
"                    [--socket-mode MODE] [--broker PATH]\n"
"                    [--channel-param NAME] [--max-channels N]\n"
"                    [--max-streams N] [--max-queue BYTES] [--retry MS]\n"
"                    [--retry-jitter MS] [--heartbeat SECONDS]\n"
"                    [--cors-origin ORIGINS|*] [--cors-max-age SECONDS]\n"
"                    [--request-timeout SECONDS] [--backlog N]\n"
"                    [--token-key FILE] [--public-channel PATTERN]\n"
"                    [--token-cookie NAME]\n"
"                    [--publish-key FILE]\n"
"                    [--metrics-path PATH] [--metrics-allow CIDRS]\n"
"                    [--health-path PATH]\n"
"                    [--drain-spread SECONDS] [--log-file PATH] [--syslog]\n"
"                    [--spawn-broker[=PROGRAM]]\n"
"\n"
"  -d                   stay in the foreground, log to stderr\n"
"  -v                   verbose (debug) logging\n"
"  --listen ADDR        own FastCGI socket (default: fd 0, as spawned)\n"
"  --socket-mode MODE   mode of a unix: socket (default %04o)\n"
"  --broker PATH        broker socket (default $FASTSSE_SOCKET, else\n"
"                       " SOCKPATH_DEFAULT ")\n"
"  --channel-param NAME query parameter naming channels (default %s)\n"
"  --max-channels N     channels per stream (default %d, at most %d)\n"
"  --max-streams N      streams per process (default: fd limit - %d)\n"
"  --max-queue BYTES    output waiting per stream (default %d)\n"
"  --retry MS           retry: sent to browsers (default %d)\n"
"  --retry-jitter MS    random extra retry per connection (default 0)\n"
"  --heartbeat SECONDS  notice gone browsers within this; idle streams\n"
"                       are pinged twice per interval (default %d)\n"
"  --cors-origin LIST   allowed origins, comma-separated, or * (repeatable)\n"
"  --cors-max-age SECS  preflight cache time (default %d)\n"
"  --request-timeout S  seconds to read a request whole (default %d)\n"
"  --backlog N          listen backlog (default %d)\n"
"  --token-key FILE     streams need a signed token (kid:secret lines)\n"
"  --public-channel PAT channel (or prefix*) open without a token\n"
"                       (repeatable)\n"
"  --token-cookie NAME  also take the token from this cookie\n"
"  --publish-key FILE   keys (one a line) that may POST events\n"
"  --metrics-path PATH  serve Prometheus metrics at PATH (default: none)\n"
"  --metrics-allow LIST addresses/networks given metrics, comma-separated,\n"
"                       repeatable (default " METRICS_ALLOW ")\n"
"  --health-path PATH   200 while connected to the broker, else 503\n"
"                       (default " METRICS_HEALTH_PATH "; \"\" for none)\n"
"  --drain-spread SECS  at exit, tell each browser to come back after a\n"
"                       random 1 to SECS seconds (default %d; 0: no)\n"
"  --log-file PATH      log to PATH (absolute; SIGHUP reopens it)\n"
"  --syslog             log to syslog even with -d\n"
"  --spawn-broker[=P]   start the broker (program P) if none answers\n",
	    RESPONDER_SOCKET_MODE, RESPONDER_CHANNEL_PARAM,
	    RESPONDER_MAX_CHANNELS, HTTP_MAX_CHANNELS, RESPONDER_FD_RESERVE,
	    RESPONDER_MAX_QUEUE, RESPONDER_RETRY_MS, RESPONDER_HEARTBEAT,
	    RESPONDER_CORS_MAX_AGE, RESPONDER_REQUEST_TIMEOUT,
	    RESPONDER_BACKLOG, RESPONDER_DRAIN_SPREAD);
}

/* A number option in [min, max], or exit with a message. */
static unsigned long long
main_number(const char *name, const char *s, unsigned long long min,
    unsigned long long max)
{
	unsigned long long	 v;

	if (optnum_parse(s, min, max, &v) == -1)
		fatalx("--%s: %s is not a number in [%llu, %llu]", name, s,
		    min, max);
	return (v);
}

/* Raises the soft fd limit to the hard one; returns the limit. */
static rlim_t
main_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit");
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (rl.rlim_cur);
}

/*
 * Takes PATH.lock: opened without following a symlink, and only if it is
 * a regular file of ours (or root's), so another user of a shared
 * directory can neither redirect it nor hold it; each wrong case is said
 * as it is, and "in use" only when the flock really is held.
 */
static void
main_lock(const char *path)
{
	struct stat	 st;
	char		*lock;
	int		 fd;

	if (asprintf(&lock, "%s.lock", path) == -1)
		fatal("asprintf");
	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0600);
	if (fd == -1 && errno == ELOOP)
		fatalx("%s is a symlink: refusing to use it", lock);
	if (fd == -1)
		fatal("%s", lock);
	if (fstat(fd, &st) == -1)
		fatal("fstat %s", lock);
	if (!S_ISREG(st.st_mode))
		fatalx("%s is not a regular file", lock);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		fatalx("%s is owned by uid %lu, not by us (uid %lu)", lock,
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			fatalx("%s is in use by another fastsse-fcgi (lock %s "
			    "held)", path, lock);
		fatal("flock %s", lock);
	}
	main_lock_fd = fd;
	free(lock);
}

/*
 * Listens on a Unix socket at path with the broker's rules (see
 * shared/sockpath.c): the lock first, since a second responder must be
 * told it is one rather than find the socket busy.
 */
static int
main_listen_unix(const char *path, mode_t mode, int backlog)
{
	char	err[256];
	int	fd;

	if (*path == '\0')
		fatalx("--listen unix: needs a path");
	main_lock(path);
	if ((fd = sockpath_listen(path, mode, backlog, 0, &main_sock, err,
	    sizeof(err))) == -1)
		fatalx("%s", err);
	if (main_sock.replaced)
		log_info("replaced the stale socket %s", path);
	return (fd);
}

/* Listens on HOST:PORT (an IPv6 host in brackets), TCP. */
static int
main_listen_tcp(const char *addr, int backlog)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		*host, *port;
	int		 fd = -1, e, one = 1;

	if ((host = strdup(addr)) == NULL)
		fatal("strdup");
	if ((port = strrchr(host, ':')) == NULL || port == host ||
	    port[1] == '\0')
		fatalx("--listen wants unix:PATH or HOST:PORT (got %s)", addr);
	*port++ = '\0';
	if (*host == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0)
		fatalx("--listen %s: %s", addr, gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, backlog) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1)
		fatal("cannot listen on %s", addr);
	freeaddrinfo(res);
	free(host);
	return (fd);
}

/* Opens --listen: "unix:PATH" or "HOST:PORT". */
static int
main_listen(const char *addr, mode_t mode, int backlog)
{
	if (strncmp(addr, "unix:", 5) == 0)
		return (main_listen_unix(addr + 5, mode, backlog));
	return (main_listen_tcp(addr, backlog));
}

/*
 * Is fd 0 a listening socket (as a spawning web server passes it)?
 * SO_ACCEPTCONN says so on Linux; elsewhere, a socket with no peer, as
 * libfcgi's FCGX_IsCGI decides.
 */
static int
main_fd0_listens(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	int			 on = 0;

	if (getsockname(0, (struct sockaddr *)&ss, &len) == -1)
		return (0);
#ifdef SO_ACCEPTCONN
	len = sizeof(on);
	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0)
		return (on != 0);
#endif
	len = sizeof(ss);
	return (getpeername(0, (struct sockaddr *)&ss, &len) == -1 &&
	    errno == ENOTCONN);
}

/*
 * The socket systemd passed (socket activation), or -1: LISTEN_PID must
 * be ours (the variables are meant for one process, not its children,
 * so they are removed) and exactly one socket passed, at fd 3.
 */
static int
main_listen_fds(void)
{
	const char		*pid = getenv("LISTEN_PID");
	const char		*fds = getenv("LISTEN_FDS");
	unsigned long long	 p, n;
	int			 flags;

	if (pid == NULL || fds == NULL)
		return (-1);
	if (optnum_parse(pid, 1, LLONG_MAX, &p) == -1 ||
	    p != (unsigned long long)getpid())
		return (-1);
	if (optnum_parse(fds, 0, INT_MAX, &n) == -1 || n != 1)
		fatalx("LISTEN_FDS=%s: want exactly one socket", fds);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if ((flags = fcntl(3, F_GETFD)) == -1)
		fatal("LISTEN_FDS: fd 3");
	fcntl(3, F_SETFD, flags | FD_CLOEXEC);
	return (3);
}

/* Removes the socket at exit, only if it is still the one we made. */
static void
main_unlink_socket(void)
{
	if (main_sock.path != NULL && !sockpath_unlink(&main_sock))
		log_info("%s is not our socket any more: left alone",
		    main_sock.path);
}

/*
 * --spawn-broker: a broker answering on conf.broker, started by us if
 * none does (spawn.c).  A failure is said and the responder goes on: it
 * connects to a broker whenever one answers.
 */
static void
main_spawn_broker(const char *program)
{
	char	 err[512];
	int	 started;

	if (spawn_broker(program, conf.broker, &started, err,
	    sizeof(err)) == -1)
		log_warnx("no broker on %s: %s", conf.broker, err);
	else if (started)
		log_info("started %s on %s (its log: %s.log)", program,
		    conf.broker, conf.broker);
	else
		log_debug("a broker answers on %s", conf.broker);
}

static void
main_exit_cb(void)
{
	ev_break(main_loop, EVBREAK_ALL);
}

static void
main_grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	log_info("%zu stream(s) did not end in time", stream_count());
	ev_break(loop, EVBREAK_ALL);
}

/*
 * Stops accepting, ends every stream with a proper END_REQUEST, and
 * leaves the loop once all are written or the grace time is over.
 */
static void
main_stop(void)
{
	if (main_stopping)
		return;
	main_stopping = 1;
	log_info("stopping: %zu stream(s) to end", stream_count());
	accept_stop();
	upstream_shutdown();
	ev_timer_init(&main_grace, main_grace_cb, RESPONDER_SHUTDOWN_GRACE,
	    0.);
	ev_timer_start(main_loop, &main_grace);
	stream_shutdown(main_exit_cb);
}

/* The counters of every bound and policy, for operators (and SIGUSR1). */
static void
main_log_stats(void)
{
	log_info("streams: %zu open, %llu opened; closed %llu by clients, "
	    "%llu over the queue bound, %llu stalled; %llu events, "
	    "%llu pings, %llu queued writes", stream_count(),
	    (unsigned long long)stream_stats.opened,
	    (unsigned long long)stream_stats.closed_client,
	    (unsigned long long)stream_stats.closed_overflow,
	    (unsigned long long)stream_stats.closed_stalled,
	    (unsigned long long)stream_stats.events,
	    (unsigned long long)stream_stats.pings,
	    (unsigned long long)stream_stats.queued);
	log_info("requests: %zu pending, %llu accepted; %llu streams, "
	    "%llu answered; closed %llu at the deadline, %llu for newer "
	    "ones, %llu out of fds, %llu aborted, %llu bad",
	    accept_pending(), (unsigned long long)accept_stats.accepted,
	    (unsigned long long)accept_stats.streams,
	    (unsigned long long)accept_stats.answered,
	    (unsigned long long)accept_stats.timeouts,
	    (unsigned long long)accept_stats.evicted,
	    (unsigned long long)accept_stats.refused,
	    (unsigned long long)accept_stats.aborted,
	    (unsigned long long)accept_stats.bad);
	log_info("broker: %llu connects, %llu disconnects, %llu dropped at "
	    "the output bound; %llu events, %llu subscribes, %llu resets",
	    (unsigned long long)upstream_stats.connects,
	    (unsigned long long)upstream_stats.disconnects,
	    (unsigned long long)upstream_stats.dropped_out,
	    (unsigned long long)upstream_stats.events,
	    (unsigned long long)upstream_stats.subscribes,
	    (unsigned long long)upstream_stats.resets);
	if (auth_conf.on)
		log_info("tokens: %llu let in, %llu public; refused %llu "
		    "missing, %llu malformed, %llu alg, %llu signature, %llu "
		    "claims, %llu channel; %llu expired, %llu revoked at open; "
		    "%llu expired, %llu revoked while open; %llu revocations "
		    "dropped", (unsigned long long)auth_stats.accepted,
		    (unsigned long long)auth_stats.public,
		    (unsigned long long)auth_stats.refused_missing,
		    (unsigned long long)auth_stats.refused_malformed,
		    (unsigned long long)auth_stats.refused_alg,
		    (unsigned long long)auth_stats.refused_signature,
		    (unsigned long long)auth_stats.refused_claims,
		    (unsigned long long)auth_stats.refused_channel,
		    (unsigned long long)auth_stats.expired,
		    (unsigned long long)auth_stats.revoked,
		    (unsigned long long)auth_stats.expired_open,
		    (unsigned long long)auth_stats.revoked_open,
		    (unsigned long long)auth_stats.revokes_dropped);
	pubconn_log_stats();
	if (main_stopping)
		log_info("drain: %llu stream(s) told a retry: within %lu s",
		    (unsigned long long)stream_stats.drained,
		    conf.drain_spread_ms / 1000);
}

/* Loads the token keys; the settings that go with them need them. */
static void
main_auth(const char *path)
{
	char	err[256];

	if (path == NULL) {
		if (auth_conf.npublic > 0 || auth_conf.cookie != NULL)
			log_warnx("--public-channel and --token-cookie mean "
			    "nothing without --token-key: every channel is "
			    "public");
		return;
	}
	if (token_keys_load(&auth_conf.keys, path, err, sizeof(err)) == -1)
		fatalx("--token-key: %s", err);
	if (strcmp(conf.channel_param, AUTH_QUERY_PARAM) == 0)
		fatalx("--channel-param %s is the token's parameter",
		    AUTH_QUERY_PARAM);
	auth_conf.on = 1;
}

static void
main_usr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	main_log_stats();
}

static void
main_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	log_info("signal %d", w->signum);
	main_stop();
}

int
main(int argc, char *argv[])
{
	const char	*listen_addr = NULL, *token_key = NULL, *log_path = NULL;
	const char	*spawn_program = NULL;
	int		 use_syslog = 0;
	unsigned long	 mode = RESPONDER_SOCKET_MODE;
	unsigned long long max_streams = 0;
	int		 ch, foreground = 0, verbose = 0, fd, backlog;
	rlim_t		 nofile;

	conf.channel_param = RESPONDER_CHANNEL_PARAM;
	conf.max_channels = RESPONDER_MAX_CHANNELS;
	conf.max_queue = RESPONDER_MAX_QUEUE;
	conf.retry_ms = RESPONDER_RETRY_MS;
	conf.drain_spread_ms = RESPONDER_DRAIN_SPREAD * 1000UL;
	conf.heartbeat = RESPONDER_HEARTBEAT;
	conf.request_timeout = RESPONDER_REQUEST_TIMEOUT;
	conf.cors.max_age = RESPONDER_CORS_MAX_AGE;
	backlog = RESPONDER_BACKLOG;
	log_init("fastsse-fcgi", 1, 0);

	while ((ch = getopt_long(argc, argv, "dhv", main_opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			main_usage(stdout);
			return (0);
		case OPT_LISTEN:
			listen_addr = optarg;
			break;
		case OPT_SOCKET_MODE:
			if (optnum_mode(optarg, &mode) == -1)
				fatalx("--socket-mode: bad octal mode %s",
				    optarg);
			break;
		case OPT_BROKER:
			conf.broker = optarg;
			break;
		case OPT_CHANNEL_PARAM:
			if (*optarg == '\0' || strpbrk(optarg, "&=") != NULL)
				fatalx("--channel-param: bad name %s", optarg);
			conf.channel_param = optarg;
			break;
		case OPT_MAX_CHANNELS:
			conf.max_channels = main_number("max-channels", optarg,
			    1, HTTP_MAX_CHANNELS);
			break;
		case OPT_MAX_STREAMS:
			max_streams = main_number("max-streams", optarg, 1,
			    SIZE_MAX / 2);
			break;
		case OPT_MAX_QUEUE:
			conf.max_queue = main_number("max-queue", optarg, 1024,
			    SIZE_MAX / 2);
			break;
		case OPT_RETRY:
			conf.retry_ms = main_number("retry", optarg, 0,
			    86400000);
			break;
		case OPT_RETRY_JITTER:
			conf.retry_jitter_ms = main_number("retry-jitter",
			    optarg, 0, 86400000);
			break;
		case OPT_HEARTBEAT:
			conf.heartbeat = (double)main_number("heartbeat",
			    optarg, 1, 86400);
			break;
		case OPT_CORS_ORIGIN:
			if (http_cors_add(&conf.cors, optarg) == -1)
				fatalx("--cors-origin: bad origin in %s "
				    "(want scheme://host[:port] or *)", optarg);
			break;
		case OPT_CORS_MAX_AGE:
			conf.cors.max_age = main_number("cors-max-age", optarg,
			    0, 86400 * 365);
			break;
		case OPT_ACCEPT_THREADS:
			/* Obsolete: requests are read in the event loop. */
			(void)main_number("accept-threads", optarg, 1, 64);
			log_warnx("--accept-threads is obsolete and ignored");
			break;
		case OPT_REQUEST_TIMEOUT: {
			char	*end;

			errno = 0;
			conf.request_timeout = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    !(conf.request_timeout >= 0.1 &&
			    conf.request_timeout <= 3600))
				fatalx("--request-timeout: %s is not a number "
				    "of seconds in [0.1, 3600]", optarg);
			break;
		}
		case OPT_BACKLOG:
			backlog = main_number("backlog", optarg, 1, INT_MAX);
			break;
		case OPT_TOKEN_KEY:
			token_key = optarg;
			break;
		case OPT_PUBLIC_CHANNEL:
			if (auth_add_public(&auth_conf, optarg) == -1)
				fatalx("--public-channel: %s is not a channel "
				    "name or prefix* (at most %d)", optarg,
				    AUTH_MAX_PUBLIC);
			break;
		case OPT_TOKEN_COOKIE:
			if (*optarg == '\0' || strlen(optarg) > AUTH_COOKIE_MAX ||
			    strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
			    "klmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~") !=
			    strlen(optarg))
				fatalx("--token-cookie: bad cookie name %s",
				    optarg);
			auth_conf.cookie = optarg;
			break;
		case OPT_PUBLISH_KEY:
			conf.publish_key = optarg;
			break;
		case OPT_METRICS_PATH:
			metrics_conf.path = optarg;
			break;
		case OPT_METRICS_ALLOW:
			if (cidr_list_add(&metrics_conf.allow, optarg) == -1)
				fatalx("--metrics-allow: bad address or network "
				    "in %s (or more than %d)", optarg, CIDR_MAX);
			metrics_conf.allow_set = 1;
			break;
		case OPT_HEALTH_PATH:
			metrics_conf.health_path = optarg;
			break;
		case OPT_DRAIN_SPREAD:
			conf.drain_spread_ms = 1000UL * main_number(
			    "drain-spread", optarg, 0, 3600);
			break;
		case OPT_LOG_FILE:
			if (*optarg != '/')
				fatalx("--log-file: %s is not an absolute path",
				    optarg);
			log_path = optarg;
			break;
		case OPT_SYSLOG:
			use_syslog = 1;
			break;
		case OPT_SPAWN_BROKER:
			spawn_program = optarg != NULL ? optarg :
			    spawn_default_program();
			break;
		default:
			main_usage(stderr);
			return (1);
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		return (1);
	}
	log_init("fastsse-fcgi", foreground, verbose);
	if (use_syslog)
		log_syslog();
	if (log_path != NULL && log_file(log_path) == -1)
		fatal("--log-file %s", log_path);
	log_sighup();
	main_auth(token_key);
	metrics_init();
	if (conf.broker == NULL)
		conf.broker = sockpath_default(NULL);
	if (conf.publish_key != NULL)
		pubreq_init(conf.publish_key);
	if (spawn_program != NULL)
		main_spawn_broker(spawn_program);

	nofile = main_raise_nofile();
	conf.max_streams = nofile > RESPONDER_FD_RESERVE * 2 ?
	    nofile - RESPONDER_FD_RESERVE : RESPONDER_FD_RESERVE;
	if (max_streams != 0) {
		if (max_streams > conf.max_streams)
			log_warnx("--max-streams %llu is over the fd limit "
			    "allows; using %zu", max_streams,
			    conf.max_streams);
		else
			conf.max_streams = max_streams;
	}

	if (listen_addr != NULL)
		fd = main_listen(listen_addr, (mode_t)mode, backlog);
	else if ((fd = main_listen_fds()) != -1)
		;	/* systemd's socket */
	else {
		if (!main_fd0_listens())
			fatalx("fd 0 is not a listening socket: use --listen "
			    "(or let the web server spawn fastsse-fcgi)");
		fd = 0;
	}
	if (!foreground && listen_addr != NULL && daemon(1, 0) == -1)
		fatal("daemon");

	signal(SIGPIPE, SIG_IGN);
	if ((main_loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot initialise libev");
	ev_signal_init(&main_sigterm, main_signal_cb, SIGTERM);
	ev_signal_start(main_loop, &main_sigterm);
	ev_signal_init(&main_sigint, main_signal_cb, SIGINT);
	ev_signal_start(main_loop, &main_sigint);
	ev_signal_init(&main_sigusr1, main_usr1_cb, SIGUSR1);
	ev_signal_start(main_loop, &main_sigusr1);

	stream_init(main_loop);
	upstream_init(main_loop, conf.broker);
	if (conf.publish_key != NULL)
		pubreq_start(main_loop, conf.broker);
	accept_start(main_loop, fd, main_stop);
	log_info("ready: %s, broker %s, up to %zu streams",
	    listen_addr != NULL ? listen_addr : fd == 3 ? "systemd's socket" :
	    "fd 0", conf.broker,
	    conf.max_streams);

	ev_run(main_loop, 0);

	if (!main_stopping) {
		accept_stop();
		upstream_shutdown();
	}
	pubreq_shutdown();
	main_log_stats();
	stream_free_all();
	upstream_free();
	ev_timer_stop(main_loop, &main_grace);
	ev_signal_stop(main_loop, &main_sigterm);
	ev_signal_stop(main_loop, &main_sigint);
	ev_signal_stop(main_loop, &main_sigusr1);
	ev_loop_destroy(main_loop);
	main_unlink_socket();
	if (fd > 0)
		close(fd);
	if (main_lock_fd != -1)
		close(main_lock_fd);
	http_cors_free(&conf.cors);
	auth_conf_free(&auth_conf);
	auth_revokes_free(&auth_revokes);
	return (0);
}
