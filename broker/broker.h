/* SPDX-License-Identifier: ISC */
/*
 * The broker's defaults and options, in one place.
 */
#ifndef BROKER_H
#define BROKER_H

#include <sys/types.h>

#include <stddef.h>

#include "journal.h"
#include "protodefs.h"

#define BROKER_NAME			"fastsse-broker"
#define BROKER_SOCKET_MODE		0660
#define BROKER_HISTORY_MAX_AGE		1200		/* seconds */
#define BROKER_HISTORY_MAX_EVENTS	1000		/* per channel */
#define BROKER_MAX_MEMORY		(256UL << 20)	/* history bytes */
#define BROKER_MAX_EVENT_SIZE		(64UL << 10)	/* data bytes */
#define BROKER_MAX_OUTPUT		(4UL << 20)	/* per connection */
#define BROKER_MAX_INPUT		(64UL << 20)	/* all connections */
#define BROKER_INPUT_TIMEOUT		10		/* seconds */
#define BROKER_MAX_CHANNELS		100000		/* in total */
#define BROKER_MAX_SUBSCRIPTIONS	50000		/* per connection */
#define BROKER_PRUNE_INTERVAL		1.0		/* seconds */
#define BROKER_READ_SIZE		(64 * 1024)	/* per read() */
#define BROKER_IOV_MAX			256		/* per writev() */
#define BROKER_FSYNC			JOURNAL_FSYNC_EVERYSEC
#ifndef FASTSSE_STATEDIR
#define FASTSSE_STATEDIR		"/var/lib/fastsse"
#endif

/*
 * An event's data must leave room in its EVENT frame for the channel, id,
 * type and MessagePack overhead.
 */
#define BROKER_EVENT_SIZE_LIMIT		(PROTO_MAX_FRAME - 1024)

struct rstore_config;

struct broker_opts {
	const char	*socket;	/* path of the listening socket */
	int		 socket_default; /* path is the compiled-in default */
	mode_t		 socket_mode;
	double		 max_age;
	size_t		 max_events;
	size_t		 max_memory;
	size_t		 max_event_size;
	size_t		 max_output;
	size_t		 max_input;	/* partial input, all connections */
	double		 input_timeout;	/* HELLO, or the rest of a frame */
	size_t		 max_channels;	/* in total */
	size_t		 max_subs;	/* channels per connection */
	const char	*data_dir;	/* NULL: history in memory only */
	enum journal_fsync fsync;
	int		 recover;	/* keep what is intact of a damaged journal */
	const struct rstore_config *redis; /* NULL: no Redis mode */
	int		 foreground;
	int		 verbose;
};

#endif
