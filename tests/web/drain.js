// SPDX-License-Identifier: ISC
'use strict';
// A responder stopped with SIGTERM tells each stream a random retry:
// within --drain-spread before ending it, so its browsers come back spread
// over that window, not all in the same second.  Behind nginx, with WHATWG
// EventSource clients: their reconnect times (from the SIGTERM) must lie
// in [1 s, spread] (plus slack for a loaded machine) and be spread out,
// not bunched: a range of at least a third of the window, and no one
// second holding more than half of them.  A responder started with
// --drain-spread 0 ends its streams plainly, and the browsers come back
// after their usual retry: (the control).
const h = require('./lib/harness');
const { tap, now } = h;

h.needs(['build', 'node_modules', 'nginx']);
const { EventSource } = h.requireModule('eventsource');

const N = 30;
const SPREAD = 8;	/* seconds */

// N EventSources on one channel, each recording the times it opened.
async function openClients(env, channel) {
	const cs = [];
	for (let i = 0; i < N; i++) {
		const c = new h.Client(EventSource, env.sseUrl('channel=' +
		    channel));
		c.openTimes = [];
		c.es.addEventListener('open', () => c.openTimes.push(now()));
		cs.push(c);
	}
	const okk = await h.waitFor(() => cs.every((c) => c.opens >= 1),
	    15000);
	tap.ok(okk, N + ' EventSources open on ' + channel);
	return cs;
}

// Stops the responder with SIGTERM, starts the next one on the same
// socket, and resolves with each client's reconnect time after the
// SIGTERM, in seconds (null for one that did not come back).
async function restart(env, cs) {
	const t0 = now();
	const code = await env.responder.stop('SIGTERM', 10000);
	tap.is(code, 0, 'the responder exits 0 on SIGTERM');
	await env.startResponder();
	await h.waitFor(() => cs.every((c) => c.openTimes.length >= 2),
	    (SPREAD + 15) * 1000, 50);
	return cs.map((c) => (c.openTimes.length >= 2 ?
	    (c.openTimes[1] - t0) / 1000 : null));
}

h.main('nginx', { retry: 300, respArgs: ['--drain-spread',
    String(SPREAD)] }, async (env) => {
	let cs = await openClients(env, 'drain');
	let t = await restart(env, cs);
	tap.ok(t.every((x) => x !== null), 'every EventSource came back',
	    JSON.stringify(t));
	t = t.filter((x) => x !== null).sort((a, b) => a - b);
	const lo = t[0], hi = t[t.length - 1];
	tap.note('reconnects after SIGTERM (s): min ' + lo.toFixed(2) +
	    ', median ' + t[t.length >> 1].toFixed(2) + ', max ' +
	    hi.toFixed(2));
	tap.ok(lo >= 0.9, 'none came back before the 1 s floor',
	    'first at ' + lo.toFixed(2) + ' s');
	tap.ok(hi <= SPREAD + 3, 'all came back within the window (+3 s)',
	    'last at ' + hi.toFixed(2) + ' s');
	tap.ok(hi - lo >= SPREAD / 3, 'reconnects spread over at least a ' +
	    'third of the window', 'range ' + (hi - lo).toFixed(2) + ' s');
	const bucket = new Map();
	for (const x of t)
		bucket.set(Math.floor(x), (bucket.get(Math.floor(x)) || 0) + 1);
	const most = Math.max(...bucket.values());
	tap.ok(most <= N / 2, 'no one second holds more than half',
	    'busiest second: ' + most + ' of ' + N);
	for (const c of cs)
		c.close();

	// The control: --drain-spread 0, everybody back after retry: 300.
	await env.responder.stop('SIGTERM', 10000);
	env.respArgs = ['--drain-spread', '0'];
	await env.startResponder();
	cs = await openClients(env, 'plain');
	t = await restart(env, cs);
	tap.ok(t.every((x) => x !== null), 'control: every EventSource came ' +
	    'back');
	t = t.filter((x) => x !== null).sort((a, b) => a - b);
	tap.ok(t[t.length - 1] < 2.5, 'control: without a spread all came ' +
	    'back within 2.5 s', 'last at ' + t[t.length - 1].toFixed(2) +
	    ' s');
	for (const c of cs)
		c.close();
});
