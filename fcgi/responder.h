/* SPDX-License-Identifier: ISC */
/*
 * Settings of the FastCGI responder, shared by its parts; the defaults
 * are named here so the man page and --help can quote one place.
 */
#ifndef RESPONDER_H
#define RESPONDER_H

#include <stddef.h>

#include "http.h"

#define RESPONDER_RETRY_MS		3000	/* retry: sent to browsers */
#define RESPONDER_FULL_RETRY_MS		30000	/* retry: when at the cap */
#define RESPONDER_HEARTBEAT		15	/* seconds between pings */
#define RESPONDER_MAX_CHANNELS		16	/* per stream */
#define RESPONDER_CHANNEL_PARAM		"channel"
#define RESPONDER_MAX_QUEUE		(256 * 1024)	/* bytes per stream */
#define RESPONDER_REQUEST_TIMEOUT	10	/* seconds to read a request */
#define RESPONDER_MAX_PENDING		1024	/* requests read at once */
#define RESPONDER_BACKLOG		1024
#define RESPONDER_SOCKET_MODE		0660
#define RESPONDER_FD_RESERVE		64	/* fds kept for the rest */
#define RESPONDER_CORS_MAX_AGE		600
#define RESPONDER_SHUTDOWN_GRACE	2.0	/* seconds to flush at exit */
#define RESPONDER_DRAIN_SPREAD		10	/* seconds: retry: spread at exit */
#define RESPONDER_DRAIN_MIN_MS		1000	/* shortest retry: at exit */

struct responder_conf {
	const char	*broker;	/* broker socket path */
	const char	*channel_param;
	size_t		 max_channels;
	size_t		 max_streams;
	size_t		 max_queue;
	unsigned long	 retry_ms;
	unsigned long	 retry_jitter_ms;
	unsigned long	 drain_spread_ms;	/* 0: end streams plainly */
	double		 heartbeat;
	double		 request_timeout;
	struct http_cors cors;
	const char	*publish_key;	/* --publish-key file: POST publishes */
};

extern struct responder_conf conf;

#endif
