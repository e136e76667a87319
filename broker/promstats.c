/* SPDX-License-Identifier: ISC */
/*
 * The broker's counters as Prometheus metrics.  One table: a row per
 * STATS counter, rows of one metric family next to each other (one HELP
 * and TYPE line per family, as the format wants); adding a metric is
 * adding a row.  Names follow Prometheus's conventions: the fastsse_
 * prefix, _total for counters, base units (bytes, seconds).  Pure: no
 * socket; tested in test_prom.c.
 *
 * Bounds: the text goes to the caller's buffer; when its bound is
 * reached the call fails and the buffer is left as it was.  Counters the
 * broker sends that have no row are left out (a newer broker may send
 * more).
 */
#include "config.h"

#include <string.h>

#include "prom.h"
#include "promstats.h"

struct promstats_row {
	const char	*stat;		/* name in STATS_REPLY */
	const char	*metric;
	const char	*type;
	const char	*label;		/* NULL, or "name=value" */
	const char	*help;
};

static const struct promstats_row promstats_rows[] = {
	{ "streams", "fastsse_broker_streams", "gauge", NULL,
	    "Browser streams open, over all responders, as they report them." },
	{ "connections", "fastsse_broker_connections_open", "gauge", NULL,
	    "Client connections open (responders, publishers, commands)." },
	{ "connections_total", "fastsse_broker_connections_total", "counter",
	    NULL, "Client connections accepted." },
	{ "channels", "fastsse_broker_channels", "gauge", NULL,
	    "Channels with subscribers or history." },
	{ "subscribers", "fastsse_broker_subscriptions", "gauge", NULL,
	    "(connection, channel) subscriptions." },
	{ "events_published", "fastsse_events_published_total", "counter",
	    NULL, "Events published." },
	{ "publish_errors", "fastsse_publish_errors_total", "counter", NULL,
	    "PUBLISH requests refused." },
	{ "events_delivered", "fastsse_broker_events_delivered_total",
	    "counter", NULL,
	    "Events queued to subscribed connections, live or replayed." },
	{ "replays", "fastsse_replays_total", "counter", NULL,
	    "Subscriptions with a last id whose replay was honoured." },
	{ "replayed_events", "fastsse_replayed_events_total", "counter", NULL,
	    "Events sent as replay." },
	{ "resets_pruned", "fastsse_resets_total", "counter",
	    "reason=pruned", "Subscriptions whose last id could not be "
	    "honoured, by reason." },
	{ "resets_epoch", "fastsse_resets_total", "counter", "reason=epoch",
	    NULL },
	{ "resets_malformed", "fastsse_resets_total", "counter",
	    "reason=malformed", NULL },
	{ "slow_consumer_drops", "fastsse_broker_slow_consumers_dropped_total",
	    "counter", NULL,
	    "Connections closed for reading too slowly (--max-output-buffer)." },
	{ "evictions_age", "fastsse_history_evictions_total", "counter",
	    "reason=age", "Events dropped from the history, by bound." },
	{ "evictions_count", "fastsse_history_evictions_total", "counter",
	    "reason=count", NULL },
	{ "evictions_memory", "fastsse_history_evictions_total", "counter",
	    "reason=memory", NULL },
	{ "history_events", "fastsse_history_events", "gauge", NULL,
	    "Events held in the history." },
	{ "history_bytes", "fastsse_history_bytes", "gauge", NULL,
	    "Bytes the history holds (its --max-memory counts these)." },
	{ "output_bytes", "fastsse_broker_output_bytes", "gauge", NULL,
	    "Bytes queued to connections and not yet written." },
	{ "input_bytes", "fastsse_broker_input_bytes", "gauge", NULL,
	    "Bytes of input buffers (--max-input counts these)." },
	{ "protocol_errors", "fastsse_broker_closed_total", "counter",
	    "reason=protocol_error", "Connections the broker closed, by "
	    "reason." },
	{ "input_timeouts", "fastsse_broker_closed_total", "counter",
	    "reason=input_timeout", NULL },
	{ "input_drops", "fastsse_broker_closed_total", "counter",
	    "reason=input_budget", NULL },
	{ "accept_errors", "fastsse_broker_accept_errors_total", "counter",
	    NULL, "Failed accepts (connections refused, out of fds)." },
	{ "channel_refusals", "fastsse_broker_refusals_total", "counter",
	    "bound=max_channels", "Requests refused at a bound, by bound." },
	{ "subscription_refusals", "fastsse_broker_refusals_total", "counter",
	    "bound=max_subscriptions", NULL },
	{ "replay_refusals", "fastsse_broker_refusals_total", "counter",
	    "bound=replay_memory", NULL },
	{ "stream_count_refusals", "fastsse_broker_refusals_total", "counter",
	    "bound=stream_counts", NULL },
	{ "uptime_seconds", "fastsse_broker_uptime_seconds", "gauge", NULL,
	    "Seconds since the broker started." },
};

/* The value of counter name, or -1 when the broker did not send it. */
static int
promstats_find(const char *name, const char *const *names,
    const uint64_t *values, size_t n, uint64_t *v)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0) {
			*v = values[i];
			return (0);
		}
	return (-1);
}

int
promstats_broker(struct buf *b, const char *const *names,
    const uint64_t *values, size_t n)
{
	const struct promstats_row	*r;
	const char			*family = NULL, *help = NULL;
	uint64_t			 v;
	size_t				 i, mark = buf_used(b);

	if (prom_family(b, "fastsse_broker_up", "gauge",
	    "1 when the broker answered.") == -1 ||
	    prom_sample(b, "fastsse_broker_up", NULL, 0, 1) == -1)
		goto fail;
	for (i = 0; i < sizeof(promstats_rows) / sizeof(promstats_rows[0]);
	    i++) {
		r = &promstats_rows[i];
		if (r->help != NULL)
			help = r->help;
		if (promstats_find(r->stat, names, values, n, &v) == -1)
			continue;
		if (family == NULL || strcmp(family, r->metric) != 0) {
			if (prom_family(b, r->metric, r->type, help) == -1)
				goto fail;
			family = r->metric;
		}
		if (prom_sample_label(b, r->metric, r->label, v) == -1)
			goto fail;
	}
	return (0);
fail:
	buf_truncate(b, mark);
	return (-1);
}

int
promstats_broker_down(struct buf *b)
{
	size_t	mark = buf_used(b);

	if (prom_family(b, "fastsse_broker_up", "gauge",
	    "1 when the broker answered.") == -1 ||
	    prom_sample(b, "fastsse_broker_up", NULL, 0, 0) == -1) {
		buf_truncate(b, mark);
		return (-1);
	}
	return (0);
}
