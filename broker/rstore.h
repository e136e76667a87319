/* SPDX-License-Identifier: ISC */
/*
 * The broker's Redis mode (--redis): Redis holds the history and assigns
 * the ids; the broker's history is a mirror of its recent part, fed by
 * pub/sub.  See rstore.c.
 */
#ifndef RSTORE_H
#define RSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "redisurl.h"

#define RSTORE_PREFIX_DEFAULT	"fastsse"
#define RSTORE_PREFIX_MAX	64		/* bytes of --redis-prefix */
#define RSTORE_TIMEOUT_DEFAULT	2.0		/* seconds, --redis-timeout */
#define RSTORE_BUFFER_MAX	100000		/* pub/sub messages held while
						   catching up */
#define RSTORE_BUFFER_BYTES	(64UL << 20)	/* and their bytes */
#define RSTORE_CATCHUP_MAX	100000		/* events per catch-up read */
#define RSTORE_TRIM_INTERVAL	1.0		/* seconds */
#define RSTORE_TRIM_BUDGET	100		/* channels per trim call */

struct conn;
struct event;
struct server;
struct channel;

struct rstore_config {
	struct redisurl	 url;
	const char	*password;	/* NULL, or from --redis-password-file */
	double		 timeout;
	const char	*prefix;
};

/*
 * A replay read from Redis for a SUBSCRIBE, kept on its connection until
 * the SUBSCRIBE is handled again (conn.c).
 */
struct rstore_read {
	uint64_t	 ref;
	int		 unavailable;	/* Redis failed: ERROR UNAVAILABLE */
	int		 reason;	/* HISTORY_OK, _PRUNED or _EPOCH */
	uint64_t	 after;		/* replay events after this seq */
	uint64_t	 oldest;	/* oldest seq read, 0: none */
	struct rstore_chread {
		char		 name[256];
		size_t		 namelen;
		uint64_t	 last;	/* the mirror replays after it */
	}		*chans;
	size_t		 nchans;
	struct event	**evs;		/* in seq order, our references */
	size_t		 nevs;
};

enum rstore_cursor {
	RSTORE_MIRROR,		/* the mirror covers it: answer now */
	RSTORE_ASYNC,		/* a read or a wait started: the SUBSCRIBE is
				   handled again once it is done */
	RSTORE_UNAVAILABLE,	/* answer ERROR UNAVAILABLE */
	RSTORE_READ,		/* answered by reads already made: the
				   connection's rread holds the answer */
};

/*
 * The library's version (fastsse_version); brokers on one Redis must all
 * run the same one.  2: batched publishes (fastsse_publish_batch).
 */
#define RSCRIPT_VERSION		2
#define RSCRIPT_VERSION_S	"2"

extern const char rscript_library[];

int	 rstore_open(struct server *, const struct rstore_config *);
void	 rstore_close(struct server *);
int	 rstore_publish(struct server *, struct conn *, uint64_t,
	    const char *, size_t, const char *, size_t, const char *, size_t,
	    const char *, size_t);
int	 rstore_defer_error(struct server *, struct conn *, uint64_t, int,
	    const char *, size_t);
enum rstore_cursor rstore_cursor(struct server *, struct conn *, uint64_t,
	    const char *, size_t, struct channel *const *, size_t, int);
size_t	 rstore_replay(struct server *, struct rstore_read *,
	    struct channel *const *, size_t, struct event ***);
void	 rstore_read_free(struct rstore_read *);
void	 rstore_forget(struct server *, struct conn *);
void	 rstore_stats(struct server *);

#endif
