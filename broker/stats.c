/* SPDX-License-Identifier: ISC */
/*
 * STATS_REPLY: every counter of struct stats plus the history's own, as a
 * map of names to unsigned integers.  Pure: the caller passes the time.
 */
#include "config.h"

#include "history.h"
#include "proto.h"
#include "stats.h"

#define STATS_MAX	64

/* Appends the STATS_REPLY frame for ref; -1 when b's bound is reached. */
int
stats_reply(struct buf *b, uint64_t ref, const struct stats *s,
    const struct history *h, double now)
{
	const char	*names[STATS_MAX];
	uint64_t	 values[STATS_MAX];
	size_t		 n = 0;

#define STAT(name, value) do {			\
	names[n] = (name);			\
	values[n] = (uint64_t)(value);		\
	n++;					\
} while (0)
	STAT("connections", s->connections);
	STAT("connections_total", s->connections_total);
	STAT("channels", h->channels.names.count);
	STAT("subscribers", s->subscribers);
	STAT("events_published", s->events_published);
	STAT("events_delivered", s->events_delivered);
	STAT("publish_errors", s->publish_errors);
	STAT("replays", s->replays);
	STAT("replayed_events", s->replayed_events);
	STAT("resets", s->resets);
	STAT("evictions", h->evictions);
	STAT("evictions_age", h->evict_age);
	STAT("evictions_count", h->evict_count);
	STAT("evictions_memory", h->evict_memory);
	STAT("slow_consumer_drops", s->slow_consumer_drops);
	STAT("protocol_errors", s->protocol_errors);
	STAT("accept_errors", s->accept_errors);
	STAT("history_events", h->nevents);
	STAT("history_bytes", h->nbytes);
	STAT("output_bytes", s->output_bytes);
	STAT("input_bytes", s->input_bytes);
	STAT("replay_bytes", s->replay_bytes);
	STAT("input_timeouts", s->input_timeouts);
	STAT("input_drops", s->input_drops);
	STAT("channel_refusals", s->channel_refusals);
	STAT("subscription_refusals", s->subscription_refusals);
	STAT("replay_refusals", s->replay_refusals);
	STAT("last_seq", h->seq);
	STAT("max_memory", s->max_memory);
	STAT("max_output_buffer", s->max_output_buffer);
	STAT("max_event_size", s->max_event_size);
	STAT("max_input", s->max_input);
	STAT("max_channels", s->max_channels);
	STAT("max_subscriptions", s->max_subscriptions);
	STAT("input_timeout", s->input_timeout);
	STAT("history_max_events", h->lim.max_events);
	STAT("history_max_age", h->lim.max_age);
	STAT("uptime_seconds", now > s->start ? now - s->start : 0);
	STAT("journal", s->journal);
	STAT("journal_fsync", s->journal_fsync);
	STAT("journal_bytes", s->journal_bytes);
	STAT("journal_segments", s->journal_segments);
	STAT("journal_syncs", s->journal_syncs);
	STAT("journal_last_sync", s->journal_last_sync);
	STAT("journal_write_errors", s->journal_write_errors);
	STAT("journal_torn", s->journal_torn);
	STAT("store_refusals", s->store_refusals);
	STAT("idem_repeats", s->idem_repeats);
	STAT("idem_evictions", s->idem_evictions);
#undef STAT
	return (proto_encode_stats_reply(b, ref, names, values, n));
}
