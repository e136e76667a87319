/*
 * fastsse-fcgi: the FastCGI responder that holds browsers' Server-Sent
 * Events streams for a web server (nginx, lighttpd, Apache).
 *
 * The model, and why:
 *
 * - libfcgi accepts.  A few accept threads (accept.c, --accept-threads,
 *   default 2) call FCGX_Accept_r, read the parameters, drain the request
 *   body to EOF and answer everything short completely with libfcgi:
 *   400/405 errors, OPTIONS preflights, "come back later" at the stream
 *   cap.  libfcgi is a blocking, one-request-per-thread library; it is
 *   used only where that costs nothing.
 *
 * - The event loop streams.  For a valid stream the accept thread writes
 *   the headers and the first line ("retry:" and a comment) with libfcgi
 *   and flushes, so the browser sees the stream open at once.  Then it
 *   takes the connection away from libfcgi (FCGX_Free(&req, 0), then
 *   req.ipcFd = -1 so the next accept does not finish it), makes it
 *   non-blocking and hands it to the single libev loop thread through a
 *   mutex-protected queue and an ev_async.  A thread per stream would
 *   cost ~25 KB each; a handed-over stream costs a few hundred bytes.
 *
 * - The loop thread owns everything after that: the one broker
 *   connection (upstream.c) and all streams (stream.c).  It writes the
 *   FastCGI records itself (record.c): FCGI_STDOUT records with the
 *   request's id, padded to 8 bytes, and at the end an empty FCGI_STDOUT
 *   plus FCGI_END_REQUEST, which both nginx and lighttpd need to end the
 *   response cleanly.  Nothing is shared between threads but the
 *   hand-off queue and an atomic stream count.
 *
 * - Signals.  FCGX_Init installs handlers (SIGTERM only sets a flag
 *   libfcgi checks in accept), so ours are installed after it, as
 *   ev_signal watchers: SIGTERM/SIGINT end every stream properly, stop
 *   the accept threads and exit; SIGUSR1 logs the counters (libfcgi's
 *   handler would have stopped accepting).  SIGPIPE is ignored: writes
 *   fail with EPIPE, which ends that stream.
 *
 * Sockets: with --listen the responder opens its own FastCGI socket (for
 * nginx fastcgi_pass and Apache mod_proxy_fcgi); a Unix socket is guarded
 * by an flock()ed "PATH.lock" taken before FCGX_OpenSocket, which would
 * otherwise unlink a running instance's socket.  Without --listen, fd 0
 * is the listening socket, as lighttpd's bin-path and mod_fcgid pass it.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <fcgiapp.h>

#include "accept.h"
#include "http.h"
#include "log.h"
#include "responder.h"
#include "stream.h"
#include "upstream.h"

#ifndef FASTSSE_RUNDIR
#define FASTSSE_RUNDIR	"/run/fastsse"
#endif

struct responder_conf	 conf;

static const char	*main_sock_path;	/* ours to remove at exit */
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
	OPT_BACKLOG,
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
	{ "backlog",		required_argument, NULL, OPT_BACKLOG },
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
"                    [--accept-threads N] [--backlog N]\n"
"\n"
"  -d                   stay in the foreground, log to stderr\n"
"  -v                   verbose (debug) logging\n"
"  --listen ADDR        own FastCGI socket (default: fd 0, as spawned)\n"
"  --socket-mode MODE   mode of a unix: socket (default %04o)\n"
"  --broker PATH        broker socket (default $FASTSSE_SOCKET, else\n"
"                       " FASTSSE_RUNDIR "/fastsse.sock)\n"
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
"  --accept-threads N   libfcgi accept threads (default %d)\n"
"  --backlog N          listen backlog (default %d)\n",
	    RESPONDER_SOCKET_MODE, RESPONDER_CHANNEL_PARAM,
	    RESPONDER_MAX_CHANNELS, HTTP_MAX_CHANNELS, RESPONDER_FD_RESERVE,
	    RESPONDER_MAX_QUEUE, RESPONDER_RETRY_MS, RESPONDER_HEARTBEAT,
	    RESPONDER_CORS_MAX_AGE, RESPONDER_ACCEPT_THREADS,
	    RESPONDER_BACKLOG);
}

/* A number option in [min, max], or exit with a message. */
static unsigned long long
main_number(const char *name, const char *s, unsigned long long min,
    unsigned long long max)
{
	unsigned long long	 v;
	char			*end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0 ||
	    v < min || v > max)
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
 * Opens --listen: "unix:PATH" (locked, chmod'ed) or "HOST:PORT".  The
 * lock is what makes a second instance refuse: FCGX_OpenSocket unlinks
 * whatever is at the path.
 */
static int
main_listen(const char *addr, mode_t mode, int backlog)
{
	char	*lock = NULL;
	int	 fd;
	mode_t	 old;

	if (strncmp(addr, "unix:", 5) == 0) {
		addr += 5;
		if (*addr == '\0')
			fatalx("--listen unix: needs a path");
		if (asprintf(&lock, "%s.lock", addr) == -1)
			fatal("asprintf");
		main_lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (main_lock_fd == -1)
			fatal("%s", lock);
		if (flock(main_lock_fd, LOCK_EX | LOCK_NB) == -1) {
			if (errno == EWOULDBLOCK)
				fatalx("%s is in use by another fastsse-fcgi "
				    "(lock %s held)", addr, lock);
			fatal("flock %s", lock);
		}
		free(lock);
		old = umask(0077);
		fd = FCGX_OpenSocket(addr, backlog);
		umask(old);
		if (fd < 0)
			fatal("cannot listen on %s", addr);
		if (chmod(addr, mode) == -1)
			fatal("chmod %s", addr);
		main_sock_path = addr;
		return (fd);
	}
	if (strchr(addr, ':') == NULL || *addr == ':')
		fatalx("--listen wants unix:PATH or HOST:PORT (got %s)", addr);
	if ((fd = FCGX_OpenSocket(addr, backlog)) < 0)
		fatal("cannot listen on %s", addr);
	return (fd);
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
	log_info("broker: %llu connects, %llu disconnects, %llu dropped at "
	    "the output bound; %llu events, %llu subscribes, %llu resets",
	    (unsigned long long)upstream_stats.connects,
	    (unsigned long long)upstream_stats.disconnects,
	    (unsigned long long)upstream_stats.dropped_out,
	    (unsigned long long)upstream_stats.events,
	    (unsigned long long)upstream_stats.subscribes,
	    (unsigned long long)upstream_stats.resets);
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
	const char	*listen_addr = NULL, *env;
	unsigned long	 mode = RESPONDER_SOCKET_MODE;
	unsigned long long max_streams = 0;
	int		 ch, foreground = 0, verbose = 0, fd, backlog;
	rlim_t		 nofile;
	struct stat	 st;

	conf.channel_param = RESPONDER_CHANNEL_PARAM;
	conf.max_channels = RESPONDER_MAX_CHANNELS;
	conf.max_queue = RESPONDER_MAX_QUEUE;
	conf.retry_ms = RESPONDER_RETRY_MS;
	conf.heartbeat = RESPONDER_HEARTBEAT;
	conf.accept_threads = RESPONDER_ACCEPT_THREADS;
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
		case OPT_SOCKET_MODE: {
			char	*end;

			errno = 0;
			mode = strtoul(optarg, &end, 8);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    mode > 0777)
				fatalx("--socket-mode: bad octal mode %s",
				    optarg);
			break;
		}
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
			conf.accept_threads = main_number("accept-threads",
			    optarg, 1, 64);
			break;
		case OPT_BACKLOG:
			backlog = main_number("backlog", optarg, 1, INT_MAX);
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
	if (conf.broker == NULL) {
		if ((env = getenv("FASTSSE_SOCKET")) != NULL && *env != '\0')
			conf.broker = env;
		else
			conf.broker = FASTSSE_RUNDIR "/fastsse.sock";
	}

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

	if (FCGX_Init() != 0)
		fatalx("FCGX_Init failed");
	if (listen_addr != NULL)
		fd = main_listen(listen_addr, (mode_t)mode, backlog);
	else {
		if (fstat(0, &st) == -1 || !S_ISSOCK(st.st_mode))
			fatalx("fd 0 is not a listening socket: use --listen "
			    "(or let the web server spawn fastsse-fcgi)");
		fd = 0;
	}
	if (!foreground && listen_addr != NULL && daemon(1, 0) == -1)
		fatal("daemon");

	/* After FCGX_Init, which installs handlers of its own. */
	signal(SIGPIPE, SIG_IGN);
	if ((main_loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot initialise libev");
	ev_signal_init(&main_sigterm, main_signal_cb, SIGTERM);
	ev_signal_start(main_loop, &main_sigterm);
	ev_signal_init(&main_sigint, main_signal_cb, SIGINT);
	ev_signal_start(main_loop, &main_sigint);
	/* libfcgi's SIGUSR1 handler would stop accepting: ours logs. */
	ev_signal_init(&main_sigusr1, main_usr1_cb, SIGUSR1);
	ev_signal_start(main_loop, &main_sigusr1);

	stream_init(main_loop);
	upstream_init(main_loop, conf.broker);
	accept_start(main_loop, fd, conf.accept_threads, main_stop);
	log_info("ready: %s, broker %s, up to %zu streams",
	    listen_addr != NULL ? listen_addr : "fd 0", conf.broker,
	    conf.max_streams);

	ev_run(main_loop, 0);

	if (!main_stopping) {
		accept_stop();
		upstream_shutdown();
	}
	main_log_stats();
	stream_free_all();
	upstream_free();
	ev_timer_stop(main_loop, &main_grace);
	ev_signal_stop(main_loop, &main_sigterm);
	ev_signal_stop(main_loop, &main_sigint);
	ev_signal_stop(main_loop, &main_sigusr1);
	ev_loop_destroy(main_loop);
	if (main_sock_path != NULL)
		unlink(main_sock_path);
	if (fd > 0)
		close(fd);
	if (main_lock_fd != -1)
		close(main_lock_fd);
	http_cors_free(&conf.cors);
	return (0);
}
