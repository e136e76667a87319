// SPDX-License-Identifier: ISC
'use strict';
// A memory-only broker restarts, behind lighttpd with the shipped config:
// every event published after a stream's response headers were sent
// reaches that stream, whether the stream arrived with a cursor of the
// old run or without a cursor while the broker was down (to a responder
// that knew the old run, or to one that never reached a broker), and
// even when the responder has not yet reconnected when the event is
// published; also when the broker's run (kept by its journal) began
// before the stream opened, and for a browser whose Last-Event-ID is no
// id at all (reset "malformed", then those events).
const fs = require('fs');
const path = require('path');
const h = require('./lib/harness');
const { tap, waitFor } = h;

h.needs(['build', 'node_modules', 'curl', 'lighttpd']);
const EventSource = h.requireModule('eventsource').EventSource;

const epochOf = (id) => id.slice(0, id.lastIndexOf('-'));

h.main('lighttpd', {}, async (env) => {
	// 1. A cursor of the old run, opened at once after the restart.
	const old = await env.publish('rs', 'before');
	await env.broker.stop('SIGTERM');
	// Not a synchronisation: an outage of 2 s lets the responder's
	// reconnect backoff grow past a second, the window in which a new
	// stream and a new event meet a broker the responder has not
	// reached yet.
	await h.sleep(2000);
	await env.startBroker();
	const c = new h.Client(EventSource, env.sseUrl('channel=rs&' +
	    'last_event_id=' + encodeURIComponent(old)), ['reset']);
	if (!await waitFor(() => c.opens >= 1, 10000))
		throw new Error('the stream with an old cursor never opened');
	const after = await env.publish('rs', 'after');
	const got = await waitFor(() => c.events.some((e) =>
	    e.data === 'after'), 15000);
	tap.ok(got, 'old cursor: the event published after the headers ' +
	    'arrives', c.events);
	tap.is(c.events.map((e) => e.type + ':' + (e.type === 'reset' ?
	    JSON.parse(e.data).reason : e.data)).join(' '),
	    'reset:epoch message:after',
	    'old cursor: a reset "epoch", then the new event, once');
	const r = c.ofType('reset')[0];
	tap.is(r && r.id, epochOf(after) + '-0', 'old cursor: the reset ' +
	    'moves the cursor to the start of the new run');
	// The oldest held event when the responder got there, if any.
	const oldest = r && JSON.parse(r.data).oldest;
	tap.ok(oldest === after || oldest === null, 'old cursor: the ' +
	    'reset names the oldest event the new run holds', r);
	const m = c.events.find((e) => e.data === 'after');
	tap.is(m && m.id, after, 'old cursor: the event has its id');
	c.close();

	// 2. No cursor, opened while the broker is down; events published
	// as soon as the broker is back, before the responder reconnects.
	await env.broker.stop('SIGTERM');
	const d = new h.Client(EventSource, env.sseUrl('channel=rs'),
	    ['reset']);
	if (!await waitFor(() => d.opens >= 1, 10000))
		throw new Error('the stream without a cursor never opened');
	await h.sleep(2000);	/* the backoff grows, as above */
	await env.startBroker();
	const ids = [];
	for (let i = 0; i < 3; i++)
		ids.push(await env.publish('rs', 'down-' + i));
	const got2 = await waitFor(() => d.events.length >= 3, 15000);
	tap.ok(got2, 'no cursor while down: the events published after ' +
	    'the headers arrive', d.events);
	tap.is(d.events.map((e) => e.type + ':' + e.data).join(' '),
	    'message:down-0 message:down-1 message:down-2',
	    'no cursor while down: each once, in order, and no reset');
	tap.is(d.events.map((e) => e.id).join(' '), ids.join(' '),
	    'no cursor while down: with their ids');
	// And the stream is live afterwards.
	const live = await env.publish('rs', 'live');
	tap.ok(await waitFor(() => d.events.some((e) => e.data === 'live'),
	    10000), 'no cursor while down: live events follow');
	tap.is(d.events[d.events.length - 1].id, live,
	    'no cursor while down: the live event is the last');
	d.close();

	// 3. The same through a responder that never reached any broker:
	// the run began after the stream opened, so all of it is new.
	await env.responder.stop('SIGTERM');
	await env.broker.stop('SIGTERM');
	await env.startResponder();
	const f = new h.Client(EventSource, env.sseUrl('channel=rs'),
	    ['reset']);
	if (!await waitFor(() => f.opens >= 1, 10000))
		throw new Error('the stream of a fresh responder never opened');
	await env.startBroker();
	const ids3 = [await env.publish('rs', 'fresh-0'),
	    await env.publish('rs', 'fresh-1')];
	tap.ok(await waitFor(() => f.events.length >= 2, 15000),
	    'fresh responder: the events published after the headers ' +
	    'arrive', f.events);
	tap.is(f.events.map((e) => e.type + ':' + e.data + ':' + e.id)
	    .join(' '), 'message:fresh-0:' + ids3[0] + ' message:fresh-1:' +
	    ids3[1], 'fresh responder: each once, in order, and no reset');
	f.close();

	// 4. A responder that never reached a broker again, but the run began
	// before the streams opened: a journal keeps the broker's epoch.  The
	// responder is stopped (SIGSTOP) while the broker starts and takes
	// events, so that it reaches the broker only after they are published.
	const dir = path.join(env.tmp, 'journal');
	fs.mkdirSync(dir);
	env.brokerArgs = ['--data-dir', dir];
	await env.responder.stop('SIGTERM');
	await env.broker.stop('SIGTERM');
	await env.startBroker();
	const old4 = await env.publish('rj', 'before-the-streams');
	await env.broker.stop('SIGTERM');
	await env.startResponder();
	// Not a synchronisation: the responder asks for what was published
	// from a second before each stream opened (the clocks of two event
	// loops); the event above must be older than that.
	await h.sleep(1500);
	const g = new h.Client(EventSource, env.sseUrl('channel=rj'),
	    ['reset']);
	const bad = new h.Client(EventSource, env.sseUrl('channel=rj&' +
	    'last_event_id=not-an-id'), ['reset']);
	if (!await waitFor(() => g.opens >= 1 && bad.opens >= 1, 10000))
		throw new Error('the streams of a fresh responder never opened');
	process.kill(env.responder.pid, 'SIGSTOP');
	let ids4;
	try {
		await env.startBroker();
		ids4 = [await env.publish('rj', 'kept-0'),
		    await env.publish('rj', 'kept-1')];
	} finally {
		process.kill(env.responder.pid, 'SIGCONT');
	}
	tap.is(epochOf(ids4[0]), epochOf(old4), 'journal: the run keeps ' +
	    'its epoch, which is older than the streams');
	tap.ok(await waitFor(() => g.events.length >= 2 &&
	    bad.events.length >= 3, 15000), 'older run: the events ' +
	    'published after the headers arrive', [g.events, bad.events]);
	tap.is(g.events.map((e) => e.type + ':' + e.data + ':' + e.id)
	    .join(' '), 'message:kept-0:' + ids4[0] + ' message:kept-1:' +
	    ids4[1], 'older run, no cursor: each once, in order, and no ' +
	    'reset');
	tap.is(bad.events.map((e) => e.type + ':' + (e.type === 'reset' ?
	    JSON.parse(e.data).reason : e.data)).join(' '),
	    'reset:malformed message:kept-0 message:kept-1', 'a malformed ' +
	    'id while no broker was reached: reset "malformed", then each ' +
	    'event published after the headers, once');
	tap.is(bad.events.slice(1).map((e) => e.id).join(' '),
	    ids4.join(' '), 'malformed id: the events have their ids');
	const live4 = await env.publish('rj', 'live');
	tap.ok(await waitFor(() => g.events.some((e) => e.data === 'live') &&
	    bad.events.some((e) => e.data === 'live'), 10000),
	    'older run: live events follow on both streams');
	tap.is(bad.events[bad.events.length - 1].id, live4,
	    'malformed id: the live event is the last');
	g.close();
	bad.close();

	// 5. A malformed id with the broker reached: the broker's own reset,
	// at the head, and live events after it.
	const bad5 = new h.Client(EventSource, env.sseUrl('channel=rj&' +
	    'last_event_id=not-an-id'), ['reset']);
	if (!await waitFor(() => bad5.events.length >= 1, 10000))
		throw new Error('no reset for a malformed id');
	const live5 = await env.publish('rj', 'live-5');
	tap.ok(await waitFor(() => bad5.events.some((e) =>
	    e.data === 'live-5'), 10000), 'malformed id, broker reached: ' +
	    'the live event arrives');
	tap.is(bad5.events.map((e) => e.type + ':' + e.id).join(' '),
	    'reset:' + live4 + ' message:' + live5, 'malformed id, broker ' +
	    'reached: reset at the head, then the live event');
	tap.is(JSON.parse(bad5.events[0].data).reason, 'malformed',
	    'malformed id, broker reached: its reason');
	bad5.close();
});
