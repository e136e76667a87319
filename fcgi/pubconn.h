/* SPDX-License-Identifier: ISC */
/*
 * The responder's publishing connection to the broker (publisher role),
 * apart from the subscriber connection of upstream.c so that publishes
 * over HTTP never wait behind a stream's replay.  Only in use with
 * --publish-key.
 */
#ifndef PUBCONN_H
#define PUBCONN_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#define PUBCONN_MAX_PENDING	256	/* publishes awaiting an answer */
#define PUBCONN_TIMEOUT		5.0	/* seconds for the broker's answer */

/* How a publish ended, for the callback. */
#define PUBCONN_OK		0	/* text is the event id */
#define PUBCONN_DOWN		(-1)	/* no broker, timeout, lost: retry */
#define PUBCONN_FULL		(-2)	/* PUBCONN_MAX_PENDING reached */
/* Otherwise the broker's error code (PROTO_E_*), text its message. */

typedef void	(*pubconn_cb)(void *arg, int result, const char *text,
		    size_t len);

struct pubconn_stats {
	uint64_t	connects;
	uint64_t	published;	/* answered with an id */
	uint64_t	refused;	/* answered with ERROR */
	uint64_t	timeouts;	/* no answer in PUBCONN_TIMEOUT */
	uint64_t	unavailable;	/* broker down or connection lost */
	uint64_t	full;		/* PUBCONN_MAX_PENDING reached */
};

extern struct pubconn_stats pubconn_stats;

void	pubconn_init(struct ev_loop *, const char *path);
void	pubconn_shutdown(void);
/* Logs the counters (SIGUSR1, exit); nothing when never started. */
void	pubconn_log_stats(void);
int	pubconn_ready(void);
/*
 * Sends one publish (PUBLISH_ONCE when key is not NULL).  Returns a
 * reference for pubconn_cancel and calls cb once, later, with the
 * outcome; or returns 0 and calls nothing when the publish cannot be
 * sent (*result says why: PUBCONN_DOWN or PUBCONN_FULL).
 */
uint64_t pubconn_publish(const char *channel, size_t chlen,
	    const char *type, size_t typelen, const char *data, size_t datalen,
	    const char *key, size_t keylen, pubconn_cb cb, void *arg,
	    int *result);
/* Forgets a publish: its callback will not be called. */
void	pubconn_cancel(uint64_t ref);

#endif
