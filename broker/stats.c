/* SPDX-License-Identifier: ISC */
/*
 * STATS_REPLY: every counter of struct stats plus the history's own and
 * the browser streams the responders reported, as a map of names to
 * unsigned integers; CHANNEL_STATS_REPLY: the same for single channels.
 * Pure: the caller passes the time.
 */
#include "config.h"

#include "history.h"
#include "proto.h"
#include "stats.h"
#include "streams.h"

#define STATS_MAX	80

/* Appends the STATS_REPLY frame for ref; -1 when b's bound is reached. */
int
stats_reply(struct buf *b, uint64_t ref, const struct stats *s,
    const struct history *h, const struct streams *st, double now)
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
	STAT("resets_pruned", s->resets_pruned);
	STAT("resets_epoch", s->resets_epoch);
	STAT("resets_malformed", s->resets_malformed);
	STAT("streams", st->total);
	STAT("stream_count_refusals", st->refusals);
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
	STAT("redis", s->redis);
	STAT("redis_connected", s->redis_connected);
	STAT("redis_reconnects", s->redis_reconnects);
	STAT("redis_publish_errors", s->redis_publish_errors);
	STAT("redis_catchups", s->redis_catchups);
	STAT("redis_catchup_events", s->redis_catchup_events);
	STAT("redis_reads", s->redis_reads);
	STAT("redis_reads_shared", s->redis_reads_shared);
	STAT("redis_epoch_changes", s->redis_epoch_changes);
	STAT("redis_last_seq", s->redis_last_seq);
#undef STAT
	return (proto_encode_stats_reply(b, ref, names, values, n));
}

void
stats_reset(struct stats *s, int reason)
{
	switch (reason) {
	case HISTORY_PRUNED:
		s->resets_pruned++;
		break;
	case HISTORY_EPOCH:
		s->resets_epoch++;
		break;
	default:
		s->resets_malformed++;
		break;
	}
}

/*
 * One CHANNEL_STATS_REPLY per channel asked for, in the order asked: its
 * browser streams, the events and bytes its history holds, and its
 * oldest and last held ids (nil when it holds none).  A channel the
 * broker does not know is all zeros.  The names were validated by the
 * caller.  -1 when b's bound is reached.
 */
int
stats_channels(struct buf *b, const struct proto_msg *msg, struct history *h,
    const struct streams *st)
{
	static const char *const names[] = { "streams", "history_events",
	    "history_bytes", "subscribers" };
	const msgpack_object	*o;
	struct channel		*ch;
	uint64_t		 values[4];
	char			 oldest[EVENTID_MAX], last[EVENTID_MAX];
	size_t			 oldestlen, lastlen, i;
	uint32_t		 k;

	for (k = 0; k < msg->u.subscribe.nchannels; k++) {
		o = &msg->u.subscribe.channels[k];
		ch = channel_find(&h->channels, o->via.str.ptr,
		    o->via.str.size);
		values[0] = streams_channel(st, o->via.str.ptr,
		    o->via.str.size);
		values[1] = values[2] = values[3] = 0;
		oldestlen = lastlen = 0;
		if (ch != NULL) {
			values[1] = ch->rcount;
			for (i = 0; i < ch->rcount; i++)
				values[2] += event_size(channel_at(ch, i));
			values[3] = ch->nsubs;
			if (ch->rcount > 0) {
				oldestlen = history_format_id(h,
				    channel_oldest(ch)->seq, oldest,
				    sizeof(oldest));
				lastlen = history_format_id(h, channel_at(ch,
				    ch->rcount - 1)->seq, last, sizeof(last));
			}
		}
		if (proto_encode_channel_stats_reply(b, msg->ref,
		    o->via.str.ptr, o->via.str.size, names, values, 4,
		    oldestlen > 0 ? oldest : NULL, oldestlen,
		    lastlen > 0 ? last : NULL, lastlen) == -1)
			return (-1);
	}
	return (0);
}
