/* SPDX-License-Identifier: ISC */
/*
 * The responder's front door, in the event loop: accepts FastCGI
 * connections, reads their requests without blocking, answers the short
 * ones and hands streams to stream.c.
 */
#ifndef ACCEPT_H
#define ACCEPT_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

struct accept_stats {
	uint64_t	accepted;
	uint64_t	streams;	/* handed to stream.c */
	uint64_t	answered;	/* short answers: errors, preflights */
	uint64_t	timeouts;	/* not read whole in --request-timeout */
	uint64_t	evicted;	/* closed for a newer one (count, fds) */
	uint64_t	refused;	/* closed at once: out of fds */
	uint64_t	aborted;	/* FCGI_ABORT_REQUEST */
	uint64_t	bad;		/* not FastCGI, or not reading answers */
};

extern struct accept_stats accept_stats;

/* Accepts on listen_fd (made non-blocking); stopped_cb runs when the
   listening socket fails for good (the web server went away). */
void	accept_start(struct ev_loop *, int listen_fd, void (*stopped_cb)(void));
/* Requests being read or answered. */
size_t	accept_pending(void);
/* Stops accepting and closes the requests not yet answered. */
void	accept_stop(void);

#endif
