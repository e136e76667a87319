/* SPDX-License-Identifier: ISC */
/*
 * The listening socket and what the whole broker shares: accepting, the
 * fan-out of a new event, the watcher that writes queued output, the
 * pruning timer, signals.
 *
 * Bounds and policy: connections are limited only by file descriptors; at
 * EMFILE/ENFILE the spare descriptor is given up to accept and close the
 * pending connection at once (it is refused rather than left to spin the
 * loop), counted in accept_errors, and accepting pauses for a moment.
 * Connections over their own bounds are closed by conn_reap after the
 * work that marked them (see conn.c).  One timer serves every input
 * deadline: it is set for the earliest one on the timed list (conn.c).
 *
 * Output is written once per loop iteration just before the loop blocks
 * (server_flush_cb runs conn_flush_pending), for the connections that had
 * something queued (the pending list; see conn.c).  With --data-dir the
 * publishes of the iteration are committed to the journal just before
 * (store_commit, see store.c).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "event.h"
#include "log.h"
#include "rstore.h"
#include "server.h"
#include "sockpath.h"

#define SERVER_ACCEPT_BATCH	64	/* accepts per callback */
#define SERVER_ACCEPT_PAUSE	0.1	/* seconds, after EMFILE */

static void	server_accept_cb(struct ev_loop *, ev_io *, int);
static void	server_accept_timer_cb(struct ev_loop *, ev_timer *, int);
static void	server_signal_cb(struct ev_loop *, ev_signal *, int);
static void	server_prune_cb(struct ev_loop *, ev_timer *, int);
static void	server_flush_cb(struct ev_loop *, ev_prepare *, int);

/*
 * Creates the listening socket at opts->socket with opts->socket_mode,
 * replacing a stale socket left by a dead broker but refusing to start
 * when a broker answers there.  Done before daemonizing so errors reach
 * the terminal.
 */
int
server_listen(struct server *s, const struct broker_opts *opts)
{
	const char		*path = opts->socket;
	char			 dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char			 err[256], *slash;
	int			 fd;

	memset(s, 0, sizeof(*s));
	s->fd = s->spare_fd = -1;
	s->opts = *opts;
	if (opts->socket_default) {
		strncpy(dir, path, sizeof(dir) - 1);
		dir[sizeof(dir) - 1] = '\0';
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
				log_warn("mkdir %s", dir);
				return (-1);
			}
		}
	}

	if ((fd = sockpath_listen(path, opts->socket_mode, SOMAXCONN,
	    SOCK_NONBLOCK, &s->sock, err, sizeof(err))) == -1) {
		log_warnx("%s", err);
		return (-1);
	}
	if (s->sock.replaced)
		log_info("replaced the stale socket %s", path);
	if ((s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("open /dev/null");
		sockpath_unlink(&s->sock);
		close(fd);
		return (-1);
	}
	s->fd = fd;
	return (0);
}

/*
 * Creates the history, with the given epoch for a new one, and rebuilds
 * it from --data-dir (store.c).  Before daemonizing, so that a refusal
 * reaches the terminal.
 */
int
server_restore(struct server *s, uint64_t epoch)
{
	struct history_limits	 lim;

	lim.max_age = s->opts.max_age;
	lim.max_events = s->opts.max_events;
	lim.max_memory = s->opts.max_memory;
	if (history_init(&s->history, epoch, &lim) == -1) {
		log_warnx("out of memory");
		return (-1);
	}
	return (store_open(s, s->opts.data_dir, s->opts.fsync,
	    s->opts.recover));
}

/*
 * Starts serving on loop: watchers for the socket, signals, pruning and
 * the journal's sync.
 */
int
server_start(struct server *s, struct ev_loop *loop)
{
	s->loop = loop;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->doomed);
	TAILQ_INIT(&s->pending);
	TAILQ_INIT(&s->timed);
	if (streams_init(&s->streams, s->opts.max_subs) == -1) {
		log_warnx("out of memory");
		return (-1);
	}
	buf_init(&s->data, s->opts.max_event_size);
	if (idem_init(&s->idem, 0, 0) == -1) {
		log_warnx("out of memory");
		return (-1);
	}
	s->stats.start = ev_now(loop);
	s->stats.max_memory = s->opts.max_memory;
	s->stats.max_output_buffer = s->opts.max_output;
	s->stats.max_event_size = s->opts.max_event_size;
	s->stats.max_input = s->opts.max_input;
	s->stats.max_channels = s->opts.max_channels;
	s->stats.max_subscriptions = s->opts.max_subs;
	s->stats.input_timeout = (uint64_t)s->opts.input_timeout;

	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&s->sigterm, server_signal_cb, SIGTERM);
	ev_signal_init(&s->sigint, server_signal_cb, SIGINT);
	s->sigterm.data = s->sigint.data = s;
	ev_signal_start(loop, &s->sigterm);
	ev_signal_start(loop, &s->sigint);

	ev_io_init(&s->accept_io, server_accept_cb, s->fd, EV_READ);
	s->accept_io.data = s;
	ev_io_start(loop, &s->accept_io);
	ev_timer_init(&s->accept_timer, server_accept_timer_cb,
	    SERVER_ACCEPT_PAUSE, 0);
	s->accept_timer.data = s;

	ev_timer_init(&s->prune_timer, server_prune_cb, BROKER_PRUNE_INTERVAL,
	    BROKER_PRUNE_INTERVAL);
	s->prune_timer.data = s;
	ev_timer_start(loop, &s->prune_timer);

	ev_timer_init(&s->timeout_timer, conn_timeout_cb, 0, 0);
	s->timeout_timer.data = s;

	ev_prepare_init(&s->flush_prepare, server_flush_cb);
	s->flush_prepare.data = s;
	ev_prepare_start(loop, &s->flush_prepare);
	store_start(s);
	if (s->opts.redis != NULL && rstore_open(s, s->opts.redis) == -1)
		return (-1);
	return (0);
}

/*
 * Closes the journal (what waits is committed and answered), every
 * connection, removes our socket, frees the history.
 */
void
server_stop(struct server *s)
{
	store_close(s);		/* answers what waits, before the close */
	rstore_close(s);
	conn_close_all(s);
	ev_io_stop(s->loop, &s->accept_io);
	ev_timer_stop(s->loop, &s->accept_timer);
	ev_timer_stop(s->loop, &s->prune_timer);
	ev_timer_stop(s->loop, &s->timeout_timer);
	ev_prepare_stop(s->loop, &s->flush_prepare);
	ev_signal_stop(s->loop, &s->sigterm);
	ev_signal_stop(s->loop, &s->sigint);
	sockpath_unlink(&s->sock);
	close(s->fd);
	if (s->spare_fd != -1)
		close(s->spare_fd);
	history_free(&s->history);
	streams_free(&s->streams);
	buf_free(&s->data);
	idem_free(&s->idem);
}

/*
 * Queues ev for every subscriber of its channel: the same frame by
 * reference.  A subscriber that goes over its bound is only marked here;
 * conn_reap closes it after the loop.
 */
void
server_fanout(struct server *s, struct event *ev)
{
	struct sub	*sub;

	(void)s;
	TAILQ_FOREACH(sub, &ev->channel->subs, chentry)
		conn_send_event(sub->conn, ev, 0);
}

/*
 * Runs once per loop iteration, after every callback and before the loop
 * blocks: writes the queue of each connection that had something queued
 * since, so that all of it goes out together (one writev, usually) and,
 * unless a socket is full, no watcher changes.  Then closes what a write
 * error marked.
 */
static void
server_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct server	*s = w->data;

	(void)loop;
	(void)revents;
	store_commit(s);	/* group commit: before anything is sent */
	conn_flush_pending(s);
}

/* Refuses one pending connection when out of descriptors (see top). */
static void
server_shed(struct server *s)
{
	int	 fd;

	s->stats.accept_errors++;
	if (s->spare_fd != -1) {
		close(s->spare_fd);
		s->spare_fd = -1;
		if ((fd = accept(s->fd, NULL, NULL)) != -1)
			close(fd);
		s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	ev_io_stop(s->loop, &s->accept_io);
	ev_timer_set(&s->accept_timer, SERVER_ACCEPT_PAUSE, 0);
	ev_timer_start(s->loop, &s->accept_timer);
}

/* Accepts a batch of pending connections (a bounded one, to stay fair). */
static void
server_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct server	*s = w->data;
	int		 fd, i;

	(void)loop;
	(void)revents;
	for (i = 0; i < SERVER_ACCEPT_BATCH; i++) {
		fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR || errno == ECONNABORTED)
				return;
			if (errno == EMFILE || errno == ENFILE) {
				log_warnx("out of file descriptors, "
				    "refusing a connection");
				server_shed(s);
				return;
			}
			log_warn("accept");
			s->stats.accept_errors++;
			return;
		}
		if (conn_new(s, fd) == NULL) {
			log_warnx("out of memory, refusing a connection");
			s->stats.accept_errors++;
			close(fd);
		}
	}
}

/* The pause after EMFILE is over: accept again. */
static void
server_accept_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server	*s = w->data;

	(void)revents;
	ev_io_start(loop, &s->accept_io);
}

/* SIGTERM, SIGINT: leave the loop; main then closes and cleans up. */
static void
server_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_info("signal %d, shutting down", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

/*
 * Drops aged events even when nothing is published, and the journal's
 * segments that hold only dropped events.
 */
static void
server_prune_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server	*s = w->data;

	(void)revents;
	history_expire(&s->history, ev_now(loop));
	store_prune(s);
}
