/* SPDX-License-Identifier: ISC */
/*
 * fdatasync off the event loop, for --fsync everysec (bgsync.c).
 */
#ifndef BGSYNC_H
#define BGSYNC_H

#include <pthread.h>

#include <ev.h>

typedef void	(*bgsync_cb)(int, void *);	/* errno or 0, arg */

struct bgsync {
	struct ev_loop	*loop;
	ev_async	 done;		/* the thread ended a sync */
	bgsync_cb	 cb;
	void		*arg;
	int		 started;	/* the thread runs */
	int		 busy;		/* asked, not yet reported (loop only) */

	pthread_t	 thread;
	pthread_mutex_t	 lock;		/* guards what follows */
	pthread_cond_t	 cond;
	int		 fd;		/* to sync next, -1 when none */
	int		 syncing;	/* the thread holds a request */
	int		 result;	/* errno of the last sync, 0 when good */
	int		 quit;
};

void	 bgsync_init(struct bgsync *, struct ev_loop *, bgsync_cb, void *);
int	 bgsync_request(struct bgsync *, int);
int	 bgsync_busy(const struct bgsync *);
void	 bgsync_stop(struct bgsync *);

#endif
