/* SPDX-License-Identifier: ISC */
/*
 * One thread that runs fdatasync for the event loop, as Redis's bio does
 * for appendfsync everysec: a sync of a second's worth of journal can
 * take tens of milliseconds, and on the loop every stream and publisher
 * would wait for it.  The loop hands over a duplicate of the segment's
 * file descriptor (so that a rotation may close its own), the thread
 * syncs and closes it and wakes the loop (ev_async), and the loop reports
 * the result through the callback.
 *
 * Bounds and policy: at most one sync is asked at a time; while one runs,
 * bgsync_request refuses the next (the caller skips that second: the
 * running sync covers what was written before it began, and the next
 * tick covers the rest).  The thread starts at the first request, after
 * the broker has daemonized.  bgsync_stop waits for a running sync.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "bgsync.h"
#include "log.h"

static void	*bgsync_main(void *);
static void	 bgsync_done_cb(struct ev_loop *, ev_async *, int);

void
bgsync_init(struct bgsync *b, struct ev_loop *loop, bgsync_cb cb, void *arg)
{
	memset(b, 0, sizeof(*b));
	b->loop = loop;
	b->cb = cb;
	b->arg = arg;
	b->fd = -1;
	ev_async_init(&b->done, bgsync_done_cb);
	b->done.data = b;
}

/* The thread: waits for a descriptor, syncs it, closes it, tells the loop. */
static void *
bgsync_main(void *arg)
{
	struct bgsync	*b = arg;
	int		 fd, r;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		while (b->fd == -1 && !b->quit)
			pthread_cond_wait(&b->cond, &b->lock);
		if (b->fd == -1)
			break;			/* quit, nothing left to sync */
		fd = b->fd;
		b->fd = -1;
		pthread_mutex_unlock(&b->lock);
		r = fdatasync(fd) == -1 ? errno : 0;
		close(fd);
		pthread_mutex_lock(&b->lock);
		b->result = r;
		b->syncing = 0;
		pthread_cond_broadcast(&b->cond);
		ev_async_send(b->loop, &b->done);
	}
	pthread_mutex_unlock(&b->lock);
	return (NULL);
}

/* On the loop: a sync ended; report it. */
static void
bgsync_done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct bgsync	*b = w->data;
	int		 r;

	(void)loop;
	(void)revents;
	if (!b->busy)
		return;
	pthread_mutex_lock(&b->lock);
	r = b->result;
	pthread_mutex_unlock(&b->lock);
	b->busy = 0;
	b->cb(r, b->arg);
}

/*
 * Asks the thread to sync fd and close it (fd is the thread's from now
 * on, even when refused: it is closed then).  -1 when a sync is still
 * running or the thread cannot start.
 */
int
bgsync_request(struct bgsync *b, int fd)
{
	sigset_t	all, old;
	int		r;

	if (b->busy) {
		close(fd);
		return (-1);
	}
	if (!b->started) {
		if (pthread_mutex_init(&b->lock, NULL) != 0 ||
		    pthread_cond_init(&b->cond, NULL) != 0) {
			close(fd);
			log_warnx("bgsync: cannot set up the sync thread");
			return (-1);
		}
		/* Signals stay the loop's: the thread starts with all blocked. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = pthread_create(&b->thread, NULL, bgsync_main, b);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r != 0) {
			pthread_cond_destroy(&b->cond);
			pthread_mutex_destroy(&b->lock);
			close(fd);
			log_warnx("bgsync: cannot start the sync thread: %s",
			    strerror(r));
			return (-1);
		}
		ev_async_start(b->loop, &b->done);
		ev_unref(b->loop);	/* it alone keeps no loop running */
		b->started = 1;
	}
	pthread_mutex_lock(&b->lock);
	b->fd = fd;
	b->syncing = 1;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	b->busy = 1;
	return (0);
}

/* Whether a sync was asked and its result not yet reported. */
int
bgsync_busy(const struct bgsync *b)
{
	return (b->busy);
}

/*
 * Waits for a running sync and ends the thread; the result of that last
 * sync is reported through the callback, as the loop would have.
 */
void
bgsync_stop(struct bgsync *b)
{
	int	r;

	if (!b->started)
		return;
	pthread_mutex_lock(&b->lock);
	while (b->syncing)
		pthread_cond_wait(&b->cond, &b->lock);
	r = b->result;
	b->quit = 1;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	ev_ref(b->loop);
	ev_async_stop(b->loop, &b->done);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	b->started = 0;
	if (b->busy) {
		b->busy = 0;
		b->cb(r, b->arg);
	}
}
