/* SPDX-License-Identifier: ISC */
/*
 * Browser streams as the responders report them (STREAM_COUNTS): per
 * reporting connection, how many streams it holds on each channel, and
 * the totals over all of them, per channel and broker-wide.
 */
#ifndef STREAMS_H
#define STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "nametab.h"

#define STREAMS_MAX_COUNT	(UINT64_C(1) << 32)	/* per entry */

struct streams_peer;

struct streams {
	struct nametab	 chans;		/* channel name -> total */
	uint64_t	 total;		/* streams over all channels */
	uint64_t	 refusals;	/* entries refused (bounds, names) */
	size_t		 max_per_peer;	/* channels one peer may report */
};

int	 streams_init(struct streams *, size_t max_per_peer);
void	 streams_free(struct streams *);
/*
 * Applies one STREAM_COUNTS (its n channel: count pairs; full replaces
 * everything *peer reported before).  Creates *peer on first use.
 * Returns the number of entries refused; -1 when memory ran out.
 */
int	 streams_report(struct streams *, struct streams_peer **, int full,
	    const msgpack_object_kv *, uint32_t n);
/* Forgets what peer reported (its connection closed); NULL is fine. */
void	 streams_peer_free(struct streams *, struct streams_peer *);
/* Streams on one channel over all peers. */
uint64_t streams_channel(const struct streams *, const char *, size_t);

#endif
