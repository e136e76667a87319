/* SPDX-License-Identifier: ISC */
/*
 * The broker's listening socket, signals, timers, the list of connections
 * and the state they share (history, counters).
 */
#ifndef SERVER_H
#define SERVER_H

#include <sys/queue.h>
#include <sys/types.h>

#include <ev.h>

#include "broker.h"
#include "buf.h"
#include "history.h"
#include "idem.h"
#include "sockpath.h"
#include "stats.h"
#include "store.h"
#include "streams.h"

struct conn;
struct event;
struct rstore;

TAILQ_HEAD(conn_list, conn);

struct server {
	struct ev_loop		*loop;
	struct broker_opts	 opts;
	int			 fd;
	struct sockpath_own	 sock;		/* to remove only our socket */
	int			 spare_fd;	/* given up to accept at EMFILE */
	ev_io			 accept_io;
	ev_timer		 accept_timer;	/* resume accepting */
	ev_signal		 sigterm;
	ev_signal		 sigint;
	ev_timer		 prune_timer;
	ev_prepare		 flush_prepare;	/* writes the pending list */
	ev_timer		 timeout_timer;	/* for the head of timed */
	struct history		 history;
	struct stats		 stats;
	struct store		 store;		/* history on disk */
	struct streams		 streams;	/* browser streams reported */
	struct buf		 data;		/* rendered event data */
	struct conn_list	 conns;
	struct conn_list	 doomed;	/* to close after the current work */
	struct conn_list	 pending;	/* output queued this iteration */
	struct conn_list	 timed;		/* input deadlines, earliest first */
	int			 warned_channels; /* --max-channels logged */
	uint64_t		 next_id;
	struct idem		 idem;		/* PUBLISH_ONCE keys */
	struct rstore		*rstore;	/* Redis mode, else NULL */
};

int	 server_listen(struct server *, const struct broker_opts *);
int	 server_restore(struct server *, uint64_t);
int	 server_start(struct server *, struct ev_loop *);
void	 server_stop(struct server *);
void	 server_fanout(struct server *, struct event *);

#endif
