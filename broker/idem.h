/* SPDX-License-Identifier: ISC */
/*
 * The broker's memory of idempotency keys (PUBLISH_ONCE): which key
 * published which event id in the last IDEM_TTL seconds, so a publisher
 * that retries after a lost answer gets the first id back and nothing is
 * published twice.  Pure: the time is passed in; no socket, unit-tested.
 */
#ifndef IDEM_H
#define IDEM_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "nametab.h"

#define IDEM_TTL		300.0		/* seconds a key is kept */
#define IDEM_MAX_KEYS		100000		/* keys held at once */
#define IDEM_MAX_BYTES		(32UL << 20)	/* memory for them */
#define IDEM_BUCKETS0		1024

struct idem_entry;

struct idem {
	struct nametab		 tab;		/* by channel NUL key */
	TAILQ_HEAD(, idem_entry) fifo;		/* oldest first */
	size_t			 bytes;		/* held by the entries */
	size_t			 max_keys;
	size_t			 max_bytes;
	uint64_t		 repeats;	/* seen again: not published */
	uint64_t		 evictions;	/* dropped early: at a bound */
};

/* An empty table; -1 when memory fails.  max 0 takes the default. */
int	 idem_init(struct idem *, size_t max_keys, size_t max_bytes);
void	 idem_free(struct idem *);
/*
 * The id a key of the channel published within IDEM_TTL of now, or NULL
 * (then *idlen is untouched).  Expired keys are forgotten on the way.
 */
const char *idem_find(struct idem *, const char *channel, size_t chlen,
	    const char *key, size_t keylen, double now, size_t *idlen);
/*
 * Remembers that the key of the channel published id at now.  At either
 * bound the oldest keys are dropped first (counted in evictions); -1 only
 * when memory fails, and the publish stands.
 */
int	 idem_add(struct idem *, const char *channel, size_t chlen,
	    const char *key, size_t keylen, const char *id, size_t idlen,
	    double now);
/* Forgets the keys older than IDEM_TTL. */
void	 idem_expire(struct idem *, double now);
size_t	 idem_count(const struct idem *);

#endif
