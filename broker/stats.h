/* SPDX-License-Identifier: ISC */
/*
 * The broker's counters and the STATS_REPLY built from them.
 */
#ifndef STATS_H
#define STATS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct history;
struct proto_msg;
struct streams;

struct stats {
	uint64_t	connections;		/* open now */
	uint64_t	connections_total;	/* accepted since start */
	uint64_t	subscribers;		/* (connection, channel) pairs now */
	uint64_t	events_published;
	uint64_t	events_delivered;	/* queued to subscribers, live or replay */
	uint64_t	publish_errors;		/* PUBLISH answered with ERROR */
	uint64_t	replays;		/* SUBSCRIBE with a last id honoured */
	uint64_t	replayed_events;
	uint64_t	resets;
	uint64_t	resets_pruned;		/* resets by reason */
	uint64_t	resets_epoch;
	uint64_t	resets_malformed;
	uint64_t	slow_consumer_drops;
	uint64_t	protocol_errors;	/* connections closed for bad input */
	uint64_t	accept_errors;		/* incl. EMFILE, connection refused */
	uint64_t	output_bytes;		/* queued now, all connections */
	uint64_t	input_bytes;		/* input buffers now, all connections */
	uint64_t	replay_bytes;		/* replayed, queued now, all */
	uint64_t	input_timeouts;		/* closed: no HELLO / frame in time */
	uint64_t	input_drops;		/* closed: input budget used up */
	uint64_t	channel_refusals;	/* --max-channels reached */
	uint64_t	subscription_refusals;	/* --max-subscriptions reached */
	uint64_t	replay_refusals;	/* replay budget used up */
	uint64_t	max_memory;
	uint64_t	max_output_buffer;
	uint64_t	max_event_size;
	uint64_t	max_input;
	uint64_t	max_channels;
	uint64_t	max_subscriptions;
	uint64_t	input_timeout;		/* seconds */
	uint64_t	idem_repeats;		/* PUBLISH_ONCE of a known key */
	uint64_t	idem_evictions;		/* keys dropped early: bound */
	double		start;			/* when the broker started */
	uint64_t	journal;		/* 1: --data-dir, 0: memory only */
	uint64_t	journal_fsync;		/* enum journal_fsync */
	uint64_t	journal_bytes;		/* all segments */
	uint64_t	journal_segments;
	uint64_t	journal_syncs;
	double		journal_last_sync;	/* wall clock, 0: none yet */
	uint64_t	journal_write_errors;	/* failed writes and syncs */
	uint64_t	journal_torn;		/* torn tails cut at start-up */
	uint64_t	store_refusals;		/* publishes refused: ERROR STORE */
	uint64_t	redis;			/* 1: --redis */
	uint64_t	redis_connected;
	uint64_t	redis_reconnects;
	uint64_t	redis_publish_errors;	/* ERROR UNAVAILABLE to a publish */
	uint64_t	redis_catchups;
	uint64_t	redis_catchup_events;
	uint64_t	redis_reads;		/* replays read from Redis */
	uint64_t	redis_reads_shared;	/* replays answered by a read
						   shared with others */
	uint64_t	redis_epoch_changes;
	uint64_t	redis_last_seq;		/* the mirror's head */
};

int	stats_reply(struct buf *, uint64_t, const struct stats *,
	    const struct history *, const struct streams *, double);
/* Counts a RESET by its reason (a history_cursor() result). */
void	stats_reset(struct stats *, int);
/* The CHANNEL_STATS_REPLY frames answering a CHANNEL_STATS. */
int	stats_channels(struct buf *, const struct proto_msg *,
	    struct history *, const struct streams *);

#endif
