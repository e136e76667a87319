/* SPDX-License-Identifier: ISC */
/*
 * The broker's side of the journal: history restored at start-up, every
 * accepted publish written, group commit once per loop iteration, the
 * everysec sync, pruning, and the close on shutdown.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "bgsync.h"
#include "journal.h"

#define STORE_BATCH_MAX		4096	/* publishes waiting for one commit */
#define STORE_SYNC_INTERVAL	1.0	/* seconds, --fsync everysec */

struct conn;
struct event;
struct server;

/* One publish accepted and not yet answered. */
struct store_pending {
	struct conn	*conn;		/* NULL once the connection is gone */
	uint64_t	 ref;
	struct event	*ev;		/* a reference of our own */
};

struct store {
	struct journal	*journal;	/* NULL: history in memory only */
	enum journal_fsync fsync;
	struct store_pending *batch;
	size_t		 nbatch;
	size_t		 batchcap;
	ev_timer	 sync_timer;	/* everysec */
	struct bgsync	 bgsync;	/* everysec: its fdatasync thread */
	int		 failing;	/* last write failed (logged once) */
	uint64_t	 refused;	/* publishes refused by the store */
};

int	 store_open(struct server *, const char *, enum journal_fsync, int);
void	 store_start(struct server *);
void	 store_daemonized(struct server *);
int	 store_accept(struct server *, struct conn *, uint64_t,
	    struct event *, const char *, size_t, const char *, size_t);
void	 store_commit(struct server *);
void	 store_forget(struct server *, struct conn *);
void	 store_prune(struct server *);
void	 store_close(struct server *);
void	 store_stats(struct server *);

#endif
