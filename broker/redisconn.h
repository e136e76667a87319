/* SPDX-License-Identifier: ISC */
/*
 * The broker's connection to Redis: two hiredis 0.14 async contexts on the
 * broker's libev loop, one for commands and one subscribed to a pub/sub
 * channel, with what hiredis 0.14 lacks added around them: a connect
 * timeout, a deadline per command, reconnection with backoff, and a retry
 * while Redis is still loading its data set.
 *
 * The two contexts are up and down together: losing either drops both and
 * reconnects both, so a subscriber of this layer can treat `up` as "start
 * over" (resubscribe and catch up) and `down` as "nothing in flight".
 *
 * Rules for callers:
 *   - a reply is valid only during its callback (hiredis frees it after);
 *   - a reply callback gets NULL when the command failed, timed out or the
 *     connection went down; it is called exactly once per accepted command;
 *   - redisconn_command and redisconn_commandargv return -1 at once (and
 *     call nothing) while not up, or at the pending bound: fail fast;
 *   - redisconn_free must not be called from inside a redisconn callback
 *     (it is a fatal error); no callback is called once it has returned.
 *     It does not call `down`.
 */
#ifndef REDISCONN_H
#define REDISCONN_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <hiredis/hiredis.h>

#include "redisurl.h"

#define REDISCONN_DEFAULT_TIMEOUT	2.0	/* seconds */
#define REDISCONN_MAX_PENDING		100000	/* commands awaiting replies */
#define REDISCONN_BACKOFF_MIN		0.1	/* seconds, doubled per failure */
#define REDISCONN_BACKOFF_MAX		2.0

struct redisconn_config {
	struct redisurl	 url;		/* parsed (redisurl.h): host/port or path, db, password */
	const char	*password;	/* NULL, or overrides url's (from --redis-password-file) */
	double		 timeout;	/* connect and per-command, seconds (<= 0: default 2) */
	const char	*library;	/* Lua FUNCTION library source, loaded with FUNCTION LOAD
					   REPLACE on every connect before `up`; NULL: none */
	const char	*subscribe;	/* pub/sub channel for the second context; NULL: none
					   (then there is no second context) */
};

struct redisconn_cbs {
	void	(*up)(void *arg);	/* both contexts connected, AUTH/SELECT done, library
					   loaded, SUBSCRIBE confirmed */
	void	(*down)(void *arg);	/* lost (either context, error, or timeout); every pending
					   command callback has already been called with NULL */
	void	(*message)(const char *payload, size_t len, void *arg); /* from `subscribe`,
					   only between `up` and `down`: what was published
					   before `up` is for the caller to read back */
};

struct redisconn_stats {
	uint64_t	connects;	/* times it came up */
	uint64_t	reconnects;	/* times it came up again after being up */
	uint64_t	timeouts;	/* connections dropped: connect or a command too slow */
	uint64_t	errors;		/* connections dropped or refused for any other reason */
	uint64_t	refused;	/* commands refused at REDISCONN_MAX_PENDING */
	uint64_t	pending;	/* commands awaiting their replies now */
	int		up;		/* redisconn_is_up() */
};

/* NULL: failed, timed out or down.  Valid only during the call. */
typedef void (*redisconn_reply_cb)(const redisReply *reply, void *arg);

struct redisconn;

struct redisconn *redisconn_new(struct ev_loop *, const struct redisconn_config *,
		    const struct redisconn_cbs *, void *arg);	/* starts connecting */
int	 redisconn_command(struct redisconn *, redisconn_reply_cb, void *arg,
	    const char *fmt, ...);
int	 redisconn_commandargv(struct redisconn *, redisconn_reply_cb, void *arg,
	    int argc, const char **argv, const size_t *argvlen);
int	 redisconn_is_up(const struct redisconn *);
void	 redisconn_stats(const struct redisconn *, struct redisconn_stats *);
void	 redisconn_free(struct redisconn *);	/* pending callbacks get NULL first */

#endif
