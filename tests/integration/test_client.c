/* SPDX-License-Identifier: ISC */
/*
 * libfastsse against a real broker (started by client.sh, socket in
 * $FASTSSE_SOCKET): the default socket lookup, publishing, per-request
 * refusals that leave the handle usable, pipelined publishes, one handle
 * that both publishes and subscribes (answers and events interleaved),
 * replay, reset notices, unsubscribing, stats and the local bounds.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastsse.h"
#include "tap.h"

#define NPIPE	200

struct stats_seen {
	int			 calls;
	unsigned long long	 published;
	int			 has_published;
};

static int
stats_cb(const char *name, unsigned long long value, void *arg)
{
	struct stats_seen	*s = arg;

	s->calls++;
	if (strcmp(name, "events_published") == 0) {
		s->published = value;
		s->has_published = 1;
	}
	return (0);
}

static int
stats_stop_cb(const char *name, unsigned long long value, void *arg)
{
	(void)name;
	(void)value;
	(*(int *)arg)++;
	return (1);
}

static unsigned long long
seq_of(const char *id)
{
	const char	*p = strrchr(id, '-');

	return (p != NULL ? strtoull(p + 1, NULL, 10) : 0);
}

/* Reads the next thing from c, waiting at most 10 s; kind 0 on failure. */
static int
next(struct fastsse *c, struct fastsse_event *ev)
{
	int	r;

	r = fastsse_read_event(c, ev, 10000);
	if (r != 1) {
		tap_diag("read_event: %d: %s", r, fastsse_error(c));
		memset(ev, 0, sizeof(*ev));
		return (0);
	}
	return (ev->kind);
}

int
main(void)
{
	struct fastsse		*pub = NULL, *both = NULL, *sub = NULL, *c;
	struct fastsse_event	 ev = { 0 };
	struct stats_seen	 st;
	const char		*chans[2] = { "ca", "cb" };
	const char		*bad[2] = { "ok", "not ok" };
	char			 id[FASTSSE_ID_MAX], first[FASTSSE_ID_MAX];
	char			 ids[NPIPE][FASTSSE_ID_MAX], err[256], data[32];
	char			*big;
	unsigned long long	 prev;
	int			 i, r, inorder, calls;

	/* Connecting. */
	c = fastsse_connect("/nonexistent/fastsse.sock", FASTSSE_ROLE_BOTH,
	    err, sizeof(err));
	ok(c == NULL && strstr(err, "/nonexistent/fastsse.sock") != NULL,
	    "connect to a missing socket fails naming it: %s", err);
	pub = fastsse_connect(NULL, FASTSSE_ROLE_PUBLISHER, err, sizeof(err));
	if (pub == NULL) {
		tap_diag("connect: %s", err);
		tap_skip_all("no broker at $FASTSSE_SOCKET");
		return (0);
	}
	ok(1, "connect with no path uses $FASTSSE_SOCKET");
	ok(fastsse_epoch(pub)[0] != '\0', "the broker's epoch is known");
	is_int(fastsse_ping(pub), 0, "ping");

	/* Publishing and refusals. */
	r = fastsse_publish(pub, "ca", NULL, "first", 5, first, sizeof(first));
	is_int(r, 0, "publish");
	ok(strncmp(first, fastsse_epoch(pub), strlen(fastsse_epoch(pub))) == 0
	    && seq_of(first) > 0, "the id is <epoch>-<seq>: %s", first);
	r = fastsse_publish(pub, "bad channel", NULL, "x", 1, id, sizeof(id));
	is_int(r, -1, "publish on an invalid channel fails");
	is_int(fastsse_error_code(pub), FASTSSE_E_CHANNEL,
	    "with the broker's code: %s", fastsse_error(pub));
	r = fastsse_publish(pub, "ca", "reset", "x", 1, id, sizeof(id));
	is_int(fastsse_error_code(pub), FASTSSE_E_TYPE,
	    "the reserved type is refused: %s", fastsse_error(pub));
	r = fastsse_publish(pub, "ca", NULL, "\xff\xfe", 2, id, sizeof(id));
	is_int(fastsse_error_code(pub), FASTSSE_E_DATA,
	    "invalid UTF-8 is refused: %s", fastsse_error(pub));
	if ((big = malloc(2 * 1024 * 1024)) == NULL)
		return (99);
	memset(big, 'x', 2 * 1024 * 1024);
	r = fastsse_publish(pub, "ca", NULL, big, 2 * 1024 * 1024, id,
	    sizeof(id));
	ok(r == -1 && fastsse_error_code(pub) == 0,
	    "an event over the frame limit fails locally: %s",
	    fastsse_error(pub));
	r = fastsse_publish(pub, "ca", NULL, big, 100 * 1024, id, sizeof(id));
	is_int(fastsse_error_code(pub), FASTSSE_E_TOO_BIG,
	    "an event over --max-event-size is refused: %s",
	    fastsse_error(pub));
	free(big);
	is_int(fastsse_ping(pub), 0, "the handle is still usable after all that");

	/* One handle that subscribes and publishes. */
	both = fastsse_connect(NULL, FASTSSE_ROLE_BOTH, err, sizeof(err));
	ok(both != NULL, "connect as publisher and subscriber");
	if (both == NULL)
		goto out;
	is_int(fastsse_subscribe(both, chans, 2, NULL), 0, "subscribe to two "
	    "channels");
	r = next(both, &ev);
	ok(r == FASTSSE_KIND_SUBSCRIBED && ev.nreplay == 0 &&
	    seq_of(ev.head) >= seq_of(first),
	    "SUBSCRIBED without a last id: head %s, nothing replayed", ev.head);
	r = fastsse_publish(both, "cb", "greeting", "h\xc3\xa9llo\nw", 8, id,
	    sizeof(id));
	is_int(r, 0, "publish on the subscribing handle");
	ok(next(both, &ev) == FASTSSE_KIND_EVENT && strcmp(ev.id, id) == 0 &&
	    strcmp(ev.channel, "cb") == 0 && strcmp(ev.type, "greeting") == 0,
	    "its own event arrives after the answer was taken");
	tap_is_mem(ev.data, ev.data_len, "h\xc3\xa9llo\nw", 8,
	    "with the data intact");
	is_int(ev.data[ev.data_len], '\0', "and NUL-terminated");

	/* Pipelining: NPIPE sends, then the answers, then the events. */
	for (i = 0, r = 0; i < NPIPE && r == 0; i++) {
		snprintf(data, sizeof(data), "p%d", i);
		r = fastsse_publish_send(both, "ca", NULL, data, strlen(data));
	}
	is_int(r, 0, "%d pipelined publish_send", NPIPE);
	is_int(fastsse_inflight(both), NPIPE, "all in flight");
	inorder = 1;
	for (i = 0, r = 0; i < NPIPE && r == 0; i++) {
		r = fastsse_publish_wait(both, ids[i], sizeof(ids[i]));
		if (i > 0 && seq_of(ids[i]) <= seq_of(ids[i - 1]))
			inorder = 0;
	}
	is_int(r, 0, "%d publish_wait", NPIPE);
	ok(inorder, "answers in sending order, ids increasing");
	is_int(fastsse_publish_wait(both, id, sizeof(id)), -1,
	    "publish_wait with nothing in flight fails");
	for (i = 0, r = 1; i < NPIPE && r; i++) {
		snprintf(data, sizeof(data), "p%d", i);
		r = next(both, &ev) == FASTSSE_KIND_EVENT &&
		    strcmp(ev.id, ids[i]) == 0 && strcmp(ev.data, data) == 0;
	}
	ok(r, "the events kept while waiting come out in order, all %d",
	    NPIPE);
	is_int(fastsse_read_event(both, &ev, 0), 0,
	    "read_event with timeout 0 and nothing pending returns 0");

	/* Unsubscribing one of two channels. */
	is_int(fastsse_unsubscribe(both, chans, 1), 0, "unsubscribe from ca");
	fastsse_publish(pub, "ca", NULL, "gone", 4, NULL, 0);
	fastsse_publish(pub, "cb", NULL, "kept", 4, id, sizeof(id));
	ok(next(both, &ev) == FASTSSE_KIND_EVENT && strcmp(ev.id, id) == 0,
	    "after unsubscribing, only the other channel's events arrive");

	/* A refused subscription, then the handle goes on. */
	is_int(fastsse_subscribe(both, bad, 2, NULL), 0, "subscribe request "
	    "with an invalid channel is sent");
	r = fastsse_read_event(both, &ev, 10000);
	ok(r == -1 && fastsse_error_code(both) == FASTSSE_E_CHANNEL,
	    "read_event reports the refusal: %s", fastsse_error(both));
	is_int(fastsse_ping(both), 0, "the handle is still usable");

	/* Replay and resets on a fresh subscriber. */
	sub = fastsse_connect(NULL, FASTSSE_ROLE_SUBSCRIBER, err, sizeof(err));
	ok(sub != NULL, "connect as subscriber");
	if (sub == NULL)
		goto out;
	is_int(fastsse_subscribe(sub, chans, 1, ids[NPIPE - 4]), 0,
	    "subscribe with a last id");
	r = next(sub, &ev);
	ok(r == FASTSSE_KIND_SUBSCRIBED && ev.nreplay == 4,
	    "SUBSCRIBED announces 4 to replay (%llu)", ev.nreplay);
	r = 1;
	for (i = NPIPE - 3; i < NPIPE && r; i++)
		r = next(sub, &ev) == FASTSSE_KIND_EVENT &&
		    strcmp(ev.id, ids[i]) == 0;
	ok(r && next(sub, &ev) == FASTSSE_KIND_EVENT &&
	    strcmp(ev.data, "gone") == 0, "the replay is those 4, in order");
	is_int(fastsse_subscribe(sub, chans, 1, "not-an-id"), 0,
	    "subscribe again with a malformed id");
	r = next(sub, &ev);
	ok(r == FASTSSE_KIND_RESET &&
	    strcmp(ev.reason, "malformed") == 0 && ev.head != NULL &&
	    ev.oldest != NULL, "RESET malformed, with oldest %s and head %s",
	    ev.oldest ? ev.oldest : "(null)", ev.head ? ev.head : "(null)");
	ok(next(sub, &ev) == FASTSSE_KIND_SUBSCRIBED && ev.nreplay == 0,
	    "then SUBSCRIBED with nothing replayed");
	r = fastsse_publish(sub, "ca", NULL, "x", 1, id, sizeof(id));
	is_int(fastsse_error_code(sub), FASTSSE_E_ROLE,
	    "a subscriber may not publish: %s", fastsse_error(sub));

	/* Stats. */
	memset(&st, 0, sizeof(st));
	is_int(fastsse_stats(pub, stats_cb, &st), 0, "stats");
	ok(st.calls >= 12 && st.has_published && st.published >= NPIPE + 4,
	    "%d counters, events_published %llu", st.calls, st.published);
	calls = 0;
	is_int(fastsse_stats(pub, stats_stop_cb, &calls), 0,
	    "stats with a callback that stops");
	is_int(calls, 1, "the walk stopped after one counter");

	/* The in-flight bound. */
	for (i = 0, r = 0; i < FASTSSE_MAX_INFLIGHT && r == 0; i++)
		r = fastsse_publish_send(pub, "cc", NULL, "x", 1);
	is_int(r, 0, "%d publishes in flight", FASTSSE_MAX_INFLIGHT);
	r = fastsse_publish_send(pub, "cc", NULL, "x", 1);
	ok(r == -1 && fastsse_error_code(pub) == 0,
	    "one more is refused locally: %s", fastsse_error(pub));
	prev = 0;
	inorder = 1;
	for (i = 0, r = 0; i < FASTSSE_MAX_INFLIGHT && r == 0; i++) {
		r = fastsse_publish_wait(pub, id, sizeof(id));
		if (seq_of(id) <= prev)
			inorder = 0;
		prev = seq_of(id);
	}
	ok(r == 0 && inorder, "and all the answers come, in order");

out:
	fastsse_close(sub);
	fastsse_close(both);
	fastsse_close(pub);
	fastsse_close(NULL);
	tap_done();
	return (tap_exit_status());
}
