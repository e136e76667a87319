/* SPDX-License-Identifier: ISC */
/*
 * The pure parts of the broker's Redis mode: the pub/sub payload, entry
 * ids, what to do with the next event of the live path, and the exact
 * "pruned" rule of a replay read from Redis.  No I/O.
 */
#ifndef RMSG_H
#define RMSG_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/*
 * A {P}:events message: the events of one publish batch, in seq order,
 * [[epoch, seq, ms, prev, channel, type, data], ...].  Bounds (refused
 * past them): RMSG_BATCH_MAX events, RMSG_MESSAGE_MAX bytes.
 */
#define RMSG_BATCH_MAX		256
#define RMSG_MESSAGE_MAX	(3UL << 20)

struct rmsg_batch {
	size_t			 n;	/* events, 1 to RMSG_BATCH_MAX */
	uint64_t		 epoch;	/* all of them */
	uint64_t		 first;	/* the first seq; then +1 each */
	const msgpack_object	*a;	/* the events, in unpacked */
	msgpack_unpacked	 unpacked;
};

/* One event of a batch (points into the batch's unpacked data). */
struct rmsg_event {
	uint64_t	 epoch;
	uint64_t	 seq;
	uint64_t	 ms;		/* Redis time of the publish */
	uint64_t	 prev;		/* the channel's previous seq, 0: none */
	const char	*channel;	/* not NUL-terminated */
	size_t		 channellen;
	const char	*type;
	size_t		 typelen;
	const char	*data;
	size_t		 datalen;
};

/* What the live path does with the next event (rmsg_next). */
enum rmsg_step {
	RMSG_APPLY,	/* seq is last + 1 */
	RMSG_OLD,	/* seq <= last: had it already, drop */
	RMSG_GAP,	/* seq > last + 1: some are missing, catch up */
	RMSG_EPOCH,	/* another epoch: Redis lost its data */
};

int		 rmsg_decode(const char *, size_t, struct rmsg_batch *);
void		 rmsg_event_at(const struct rmsg_batch *, size_t,
		    struct rmsg_event *);
void		 rmsg_free(struct rmsg_batch *);
int		 rmsg_parse_u64(const char *, size_t, uint64_t *);
int		 rmsg_parse_entry_id(const char *, size_t, uint64_t *);
enum rmsg_step	 rmsg_next(uint64_t, uint64_t, uint64_t, uint64_t);
int		 rmsg_pruned(uint64_t, uint64_t, size_t, uint64_t, uint64_t);

#endif
