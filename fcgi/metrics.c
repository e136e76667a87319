/* SPDX-License-Identifier: ISC */
/*
 * The responder's metrics and health answers, routed by path: a GET whose
 * REQUEST_URI path (before any '?') is exactly --metrics-path or
 * --health-path is answered here, before anything of a stream is looked
 * at.  REQUEST_URI because lighttpd, nginx (fastcgi_params) and Apache's
 * mod_proxy_fcgi and mod_fcgid all send it as the browser sent it, while
 * SCRIPT_NAME and PATH_INFO split the path differently in each; being
 * the raw path, it is compared exactly (a percent-encoded or dotted
 * variant is not the metrics path, and goes on to be a stream request).
 *
 * Metrics: the text exposition format 0.0.4 (shared/prom.c), to the
 * addresses in --metrics-allow only (REMOTE_ADDR as the web server gives
 * it; default 127.0.0.1 and ::1); others get 403 (counted in
 * metrics_refused).  Only this responder's own metrics: the broker's are
 * `fastsse stats --prometheus`, because several responders share one
 * broker, and each serving the broker's counters would make a sum over
 * responders count them once per responder.  One table, one row per
 * sample, rows of a family together: adding a metric is adding a row.
 *
 * Latency (fastsse_publish_to_write_seconds): from the loop iteration in
 * which the responder read the broker's EVENT frame (ev_now, taken once
 * per iteration just after the poll returned) to the end of the writev(2)
 * that passed the event to the web server, once per event and stream.
 * It leaves out the broker's own part (the publish is fanned out and
 * written in the broker's same loop iteration, microseconds) and the web
 * server's; it includes what the responder adds, queueing behind a slow
 * socket included.  EVENT stays as it is: no timestamp on the wire.
 *
 * Health: 200 "ok" while the broker connection is up (WELCOME received),
 * 503 otherwise; to everyone, as load balancers ask from anywhere.
 *
 * Bounds: the answer is built in a buffer of at most METRICS_MAX_OUT
 * bytes (the table is fixed, so it is far below); past it the request
 * gets 500.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "accept.h"
#include "auth.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "prom.h"
#include "request.h"
#include "responder.h"
#include "stream.h"
#include "upstream.h"

#define METRICS_MAX_OUT	(128 * 1024)

struct metrics_conf	 metrics_conf;

static struct prom_hist	 metrics_latency;
static uint64_t		 metrics_resets[5];	/* pruned epoch malformed lost
						   other */
static uint64_t		 metrics_replays, metrics_replayed;
static uint64_t		 metrics_refused;	/* 403 on the metrics path */

/* Seconds: from 100 us to 10 s. */
static const double	 metrics_bounds[] = { 0.0001, 0.00025, 0.0005,
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10 };

static uint64_t
metrics_up(void)
{
	return (upstream_connected() ? 1 : 0);
}

static uint64_t
metrics_open(void)
{
	return (stream_count());
}

static uint64_t
metrics_slow(void)
{
	return (stream_stats.closed_overflow + stream_stats.closed_stalled);
}

struct metrics_row {
	const char	*name;
	const char	*type;
	const char	*label;		/* NULL, or "name=value" */
	const char	*help;		/* on the first row of a family */
	const uint64_t	*value;		/* a counter, or */
	uint64_t	(*get)(void);	/* a function for gauges */
};

static const struct metrics_row metrics_rows[] = {
	{ "fastsse_broker_connection_up", "gauge", NULL,
	    "1 while the responder is connected to the broker.", NULL,
	    metrics_up },
	{ "fastsse_broker_connects_total", "counter", NULL,
	    "Connections to the broker made (WELCOME received).",
	    &upstream_stats.connects, NULL },
	{ "fastsse_broker_disconnects_total", "counter", NULL,
	    "Broker connections lost.", &upstream_stats.disconnects, NULL },
	{ "fastsse_streams_open", "gauge", NULL, "Browser streams open.",
	    NULL, metrics_open },
	{ "fastsse_streams_opened_total", "counter", NULL,
	    "Browser streams opened.", &stream_stats.opened, NULL },
	{ "fastsse_streams_closed_total", "counter", "reason=client",
	    "Browser streams closed, by reason: the browser or server went "
	    "away, the queue passed --max-queue, output stalled.",
	    &stream_stats.closed_client, NULL },
	{ "fastsse_streams_closed_total", "counter", "reason=overflow", NULL,
	    &stream_stats.closed_overflow, NULL },
	{ "fastsse_streams_closed_total", "counter", "reason=stalled", NULL,
	    &stream_stats.closed_stalled, NULL },
	{ "fastsse_slow_consumers_dropped_total", "counter", NULL,
	    "Browser streams ended for not taking their events (overflow or "
	    "stalled); the browser reconnects and replays.", NULL,
	    metrics_slow },
	{ "fastsse_events_received_total", "counter", NULL,
	    "EVENT frames received from the broker.", &upstream_stats.events,
	    NULL },
	{ "fastsse_events_delivered_total", "counter", NULL,
	    "Events queued to browser streams, live or replayed.",
	    &stream_stats.events, NULL },
	{ "fastsse_replays_total", "counter", NULL,
	    "Stream subscriptions whose missed events were replayed.",
	    &metrics_replays, NULL },
	{ "fastsse_replayed_events_total", "counter", NULL,
	    "Events replayed to streams.", &metrics_replayed, NULL },
	{ "fastsse_resets_total", "counter", "reason=pruned",
	    "Reset notices sent to streams, by reason.", &metrics_resets[0],
	    NULL },
	{ "fastsse_resets_total", "counter", "reason=epoch", NULL,
	    &metrics_resets[1], NULL },
	{ "fastsse_resets_total", "counter", "reason=malformed", NULL,
	    &metrics_resets[2], NULL },
	{ "fastsse_resets_total", "counter", "reason=lost", NULL,
	    &metrics_resets[3], NULL },
	{ "fastsse_resets_total", "counter", "reason=other", NULL,
	    &metrics_resets[4], NULL },
	{ "fastsse_pings_total", "counter", NULL,
	    "Heartbeat comments written to idle streams.",
	    &stream_stats.pings, NULL },
	{ "fastsse_requests_total", "counter", "outcome=stream",
	    "Requests read, by outcome: became a stream, answered at once "
	    "(errors, preflights, metrics, health, come back later), or "
	    "closed (deadline, evicted, refused, aborted, bad).",
	    &accept_stats.streams, NULL },
	{ "fastsse_requests_total", "counter", "outcome=answered", NULL,
	    &accept_stats.answered, NULL },
	{ "fastsse_requests_total", "counter", "outcome=timeout", NULL,
	    &accept_stats.timeouts, NULL },
	{ "fastsse_requests_total", "counter", "outcome=evicted", NULL,
	    &accept_stats.evicted, NULL },
	{ "fastsse_requests_total", "counter", "outcome=refused", NULL,
	    &accept_stats.refused, NULL },
	{ "fastsse_requests_total", "counter", "outcome=aborted", NULL,
	    &accept_stats.aborted, NULL },
	{ "fastsse_requests_total", "counter", "outcome=bad", NULL,
	    &accept_stats.bad, NULL },
	{ "fastsse_metrics_refused_total", "counter", NULL,
	    "Metrics requests refused (address not in --metrics-allow).",
	    &metrics_refused, NULL },
	{ "fastsse_tokens_accepted_total", "counter", "kind=token",
	    "Stream requests let in: with a valid token, or for public "
	    "channels only.", &auth_stats.accepted, NULL },
	{ "fastsse_tokens_accepted_total", "counter", "kind=public", NULL,
	    &auth_stats.public, NULL },
	{ "fastsse_tokens_refused_total", "counter", "reason=missing",
	    "Stream requests refused for their token, by reason (403, or "
	    "for expired and revoked a 200 with the token-expired event).",
	    &auth_stats.refused_missing, NULL },
	{ "fastsse_tokens_refused_total", "counter", "reason=malformed", NULL,
	    &auth_stats.refused_malformed, NULL },
	{ "fastsse_tokens_refused_total", "counter", "reason=alg", NULL,
	    &auth_stats.refused_alg, NULL },
	{ "fastsse_tokens_refused_total", "counter", "reason=signature", NULL,
	    &auth_stats.refused_signature, NULL },
	{ "fastsse_tokens_refused_total", "counter", "reason=claims", NULL,
	    &auth_stats.refused_claims, NULL },
	{ "fastsse_tokens_refused_total", "counter", "reason=channel", NULL,
	    &auth_stats.refused_channel, NULL },
	{ "fastsse_tokens_refused_total", "counter", "reason=expired", NULL,
	    &auth_stats.expired, NULL },
	{ "fastsse_tokens_refused_total", "counter", "reason=revoked", NULL,
	    &auth_stats.revoked, NULL },
	{ "fastsse_token_streams_ended_total", "counter", "reason=expired",
	    "Open streams ended when their token expired or was revoked.",
	    &auth_stats.expired_open, NULL },
	{ "fastsse_token_streams_ended_total", "counter", "reason=revoked",
	    NULL, &auth_stats.revoked_open, NULL },
};

void
metrics_init(void)
{
	if (metrics_conf.path != NULL && metrics_conf.path[0] != '/')
		fatalx("--metrics-path %s: must start with /",
		    metrics_conf.path);
	if (metrics_conf.health_path == NULL)
		metrics_conf.health_path = METRICS_HEALTH_PATH;
	if (metrics_conf.health_path[0] != '/' &&
	    metrics_conf.health_path[0] != '\0')
		fatalx("--health-path %s: must start with / (or be empty)",
		    metrics_conf.health_path);
	if (!metrics_conf.allow_set &&
	    cidr_list_add(&metrics_conf.allow, METRICS_ALLOW) == -1)
		fatalx("bad default --metrics-allow");
	if (prom_hist_init(&metrics_latency, metrics_bounds,
	    sizeof(metrics_bounds) / sizeof(metrics_bounds[0])) == -1)
		fatalx("bad latency buckets");
}

/* Whether the path of uri (up to '?') is path. */
static int
metrics_path_is(const char *uri, const char *path)
{
	size_t	len;

	if (uri == NULL || path == NULL || *path == '\0')
		return (0);
	len = strcspn(uri, "?");
	return (len == strlen(path) && memcmp(uri, path, len) == 0);
}

/* The exposition: every row, then the latency histogram. */
static int
metrics_text(struct buf *b)
{
	const struct metrics_row	*r;
	const char			*family = NULL, *help = NULL;
	size_t				 i;

	for (i = 0; i < sizeof(metrics_rows) / sizeof(metrics_rows[0]); i++) {
		r = &metrics_rows[i];
		if (r->help != NULL)
			help = r->help;
		if ((family == NULL || strcmp(family, r->name) != 0) &&
		    prom_family(b, r->name, r->type, help) == -1)
			return (-1);
		family = r->name;
		if (prom_sample_label(b, r->name, r->label, r->value != NULL ?
		    *r->value : r->get()) == -1)
			return (-1);
	}
	return (prom_histogram(b, "fastsse_publish_to_write_seconds",
	    "From the read of the broker's EVENT frame to the write(2) of "
	    "the event to the web server, per event and stream.",
	    &metrics_latency));
}

/* A short text answer with its status. */
static int
metrics_plain(struct buf *out, int status, const char *ctype,
    const struct buf *body)
{
	if (buf_printf(out, "Status: %d %s\r\nContent-Type: %s\r\n"
	    "Cache-Control: no-store\r\n\r\n", status, status == 200 ? "OK" :
	    "Service Unavailable", ctype) == -1 ||
	    buf_append(out, buf_head(body), buf_used(body)) == -1)
		return (-1);
	return (0);
}

int
metrics_answer(const struct request *req, struct buf *out)
{
	const char	*uri = request_param(req, "REQUEST_URI");
	const char	*method = request_param(req, "REQUEST_METHOD");
	const char	*addr;
	struct buf	 body;
	int		 health, r;

	health = metrics_path_is(uri, metrics_conf.health_path);
	if (!health && !metrics_path_is(uri, metrics_conf.path))
		return (0);
	if (method == NULL || (strcmp(method, "GET") != 0 &&
	    strcmp(method, "HEAD") != 0)) {
		if (http_error(out, 405, "GET only", &conf.cors, NULL) == -1)
			buf_reset(out);
		return (1);
	}
	buf_init(&body, METRICS_MAX_OUT);
	if (health) {
		if (upstream_connected())
			r = buf_printf(&body, "ok\n") == -1 ? -1 :
			    metrics_plain(out, 200, "text/plain; charset=utf-8",
			    &body);
		else
			r = buf_printf(&body, "broker not connected\n") == -1 ?
			    -1 : metrics_plain(out, 503,
			    "text/plain; charset=utf-8", &body);
		goto done;
	}
	addr = request_param(req, "REMOTE_ADDR");
	if (!cidr_list_match(&metrics_conf.allow, addr)) {
		metrics_refused++;
		log_debug("metrics refused to %s", addr != NULL ? addr :
		    "(no REMOTE_ADDR)");
		r = http_error(out, 403, "metrics: address not allowed",
		    &conf.cors, NULL);
		goto done;
	}
	r = metrics_text(&body) == -1 ? -1 :
	    metrics_plain(out, 200, PROM_CONTENT_TYPE, &body);
done:
	buf_free(&body);
	if (r == -1) {
		buf_reset(out);
		if (http_error(out, 500, "metrics too big", &conf.cors,
		    NULL) == -1)
			buf_reset(out);
	}
	return (1);
}

void
metrics_reset(const char *reason, size_t len)
{
	static const char *const names[] = { "pruned", "epoch", "malformed",
	    "lost" };
	size_t	i;

	for (i = 0; i < 4; i++)
		if (strlen(names[i]) == len && memcmp(names[i], reason,
		    len) == 0)
			break;
	metrics_resets[i]++;
}

void
metrics_replay(unsigned long long nevents)
{
	metrics_replays++;
	metrics_replayed += nevents;
}

/* Takes the birth times of the messages at the queue's head. */
void
metrics_peek(struct metrics_peek *p, const struct sendq *q)
{
	size_t	i;

	p->n = q != NULL ? sendq_count(q) : 0;
	p->npeek = p->n < SENDQ_IOV ? p->n : SENDQ_IOV;
	for (i = 0; i < p->npeek; i++)
		p->born[i] = sendq_at(q, i)->born;
}

/* Every event that left the queue since metrics_peek was written now. */
void
metrics_written(const struct metrics_peek *p, const struct sendq *q)
{
	size_t		 gone, i;
	double		 now = 0;

	gone = p->n - (q != NULL ? sendq_count(q) : 0);
	for (i = 0; i < gone && i < p->npeek; i++) {
		if (p->born[i] <= 0)
			continue;
		if (now == 0)
			now = ev_time();
		prom_hist_observe(&metrics_latency, now > p->born[i] ?
		    now - p->born[i] : 0);
	}
}
