// SPDX-License-Identifier: ISC
'use strict';
// Two hosts on one Redis (host 1: broker --redis, responder, lighttpd;
// host 2 the same behind nginx), EventSource clients on two channels
// that go to the other host at every reconnect, and a publisher on each
// host's broker:
// - reconnects forced by cutting the clients' connections and by
//   killing host 2's responder (its clients come back through the web
//   server's retry answer): every client ends with every event exactly
//   once, in id order, with no reset;
// - host 2's broker killed (-9), then its responder: host 1's clients
//   are untouched (one connection, every event once); host 2's clients
//   reconnect, to either host, and resume exactly, also on the new
//   broker of host 2, whose memory starts empty.
const h = require('./lib/harness');
const r = require('./lib/redis');
const { tap, waitFor, sleep } = h;

r.needs();

const QUERY = 'channel=ra&channel=rb';
const NCLIENTS = 8;

// Every client's messages (after its warm-up) are want exactly; one TAP
// line for all, the first difference in the diagnostics.
function allExact(cs, want, what) {
	let bad = null, nbad = 0;
	cs.forEach((c, i) => {
		const d = r.exactDiff(c.messages().map((e) => e.id), want);
		if (d !== null) {
			nbad++;
			if (bad === null)
				bad = Object.assign({ client: i }, d);
		}
	});
	return tap.ok(nbad === 0, what + ': every client got every event ' +
	    'exactly once, in order (' + want.length + ' events, ' +
	    cs.length + ' clients)', bad === null ? undefined :
	    nbad + ' clients wrong; ' + JSON.stringify(bad));
}

// The history from Redis as a stream resuming before the first of ids
// on host: the ids it replays.
async function history(w, host, ids) {
	const first = ids[0];
	const cursor = r.epochOf(first) + '-' + (r.seqOf(first) - 1);
	const last = ids[ids.length - 1];
	const t = new r.SwitchingClient(w.EventSource, [host], QUERY +
	    '&last_event_id=' + encodeURIComponent(cursor),
	    { switching: false });
	await waitFor(() => t.events.some((e) => e.id === last), 20000);
	t.close();
	return t.messages().map((e) => e.id);
}

// Waits until every client has id, or 30 s.
function allHave(cs, id) {
	return waitFor(() => cs.every((c) => c.events.some((e) =>
	    e.id === id)), 30000, 50);
}

async function switching(w) {
	const [h1, h2] = w.hosts;
	const cs = await r.openClients(w.EventSource, w.hosts, QUERY,
	    NCLIENTS);
	const p1 = r.publisher(h1, ['ra', 'rb'], 'one');
	const p2 = r.publisher(h2, ['rb', 'ra'], 'two');
	const p3 = r.publisher(h2, ['ra', 'rb'], 'web', { http: true });
	await waitFor(() => p1.acked.length >= 10 && p2.acked.length >= 10 &&
	    p3.acked.length >= 10, 20000);
	// Every client is cut three times, one client every 150 ms, so
	// that reconnects meet events in flight on the other host.
	for (let round = 0; round < 3; round++)
		for (const c of cs) {
			c.cut();
			await sleep(150);
		}
	// Host 2's responder killed: its clients' streams end; the ones
	// whose next host is 2 get nginx's retry answer, then host 1.
	// (Not while a POST to it is in flight: its event could be
	// published with the answer lost, which is no fault of Redis mode.)
	const on2 = cs.filter((c) => c.cur.host === 1).length;
	await p3.pause();
	process.kill(h2.responder.pid, 'SIGKILL');
	await h2.responder.exitPromise;
	// The clients on host 1 are sent to host 2 meanwhile.
	const t = h.now();
	const sent = cs.filter((c) => c.cur.host === 0);
	for (const c of sent)
		c.cut();
	await waitFor(() => sent.every((c) => c.conns.some((x) =>
	    x.host === 1 && x.t > t && x.ended)), 10000, 20);
	await h2.startResponder();
	p3.resume();
	for (const c of cs) {
		c.cut();
		await sleep(150);
	}
	await sleep(500);
	await p1.stop();
	await p2.stop();
	await p3.stop();
	const want = r.ackedInOrder([p1, p2, p3]);
	const last = want[want.length - 1];
	tap.ok(await allHave(cs, last), 'switching: every client has the ' +
	    'last event');
	tap.note(want.length + ' events published (' + p1.acked.length +
	    ' on host 1, ' + p2.acked.length + ' on host 2, ' +
	    p3.acked.length + ' over HTTP on host 2); ' + on2 +
	    ' clients on host 2 when its responder was killed');
	tap.is(p1.failures + p2.failures + p3.failures, 0, 'switching: no ' +
	    'publish failed', p1.errors.concat(p2.errors, p3.errors));
	tap.ok(cs.every((c) => new Set(c.conns.map((x) => x.host)).size ===
	    2 && c.opens >= 4), 'switching: every client was on both hosts ' +
	    'and reconnected at least 3 times', cs.map((c) => c.opens));
	tap.ok(sent.length > 0 && sent.every((c) => c.conns.some((x) =>
	    x.host === 1 && /^retry:/m.test(x.text) &&
	    !/^(:|id:|data:)/m.test(x.text))), 'switching: the clients sent ' +
	    'to host 2 while its responder was down met the web server\'s ' +
	    'retry answer');
	allExact(cs, want, 'switching');
	tap.is(cs.reduce((n, c) => n + c.resets().length, 0), 0,
	    'switching: no client got a reset');
	const byData = new Map();
	for (const a of p1.acked.concat(p2.acked, p3.acked))
		byData.set(a.data, a.id);
	tap.ok(cs.every((c) => c.messages().every((e) => byData.get(e.data) ===
	    e.id)), 'switching: each event has the id its publisher was ' +
	    'given');
	const hist = await history(w, h1, want);
	tap.is(r.exactDiff(hist, want), null, 'switching: Redis\'s history ' +
	    'holds every acknowledged event, once, in order');
	for (const c of cs)
		c.close();
}

async function brokerKilled(w) {
	const [h1, h2] = w.hosts;
	// Clients that stay on host 1, and switching ones now on host 2.
	const pinned = await r.openClients(w.EventSource, [h1], QUERY, 4,
	    { switching: false });
	// (Their host 0 is host 2.)
	const movers = await r.openClients(w.EventSource, [h2, h1], QUERY, 4,
	    { first: 0 });
	const p1 = r.publisher(h1, ['ra', 'rb'], 'k1');
	await waitFor(() => p1.acked.length >= 10, 20000);
	process.kill(h2.broker.pid, 'SIGKILL');
	await h2.broker.exitPromise;
	const n0 = p1.acked.length;
	await waitFor(() => p1.acked.length >= n0 + 10, 20000);
	// Host 2's streams outlive its broker (heartbeats); cut, its
	// clients resume on host 1.
	tap.ok(movers.every((c) => c.cur.host === 0 && !c.cur.ended),
	    'broker killed: host 2\'s streams stay open');
	for (const c of movers)
		c.cut();
	const n1 = p1.acked.length;
	await waitFor(() => p1.acked.length >= n1 + 10, 20000);
	// Then its responder: the next reconnect of each client meets the
	// web server's retry answer on host 2 and goes on to host 1.
	process.kill(h2.responder.pid, 'SIGKILL');
	await h2.responder.exitPromise;
	for (const c of movers)
		c.cut();
	const n2 = p1.acked.length;
	await waitFor(() => p1.acked.length >= n2 + 10, 20000);
	// Host 2 comes back, with a broker whose memory is empty, and the
	// clients resume there too.
	await h2.startBroker();
	await h2.startResponder();
	const back = h.now();
	tap.ok(await waitFor(() => r.connected(h2), 15000, 50),
	    'broker killed: the new broker of host 2 connects to Redis');
	const reads0 = Number((await r.stats(h2)).redis_reads || 0);
	const p2 = r.publisher(h2, ['rb', 'ra'], 'k2');
	for (let i = 0; i < 2; i++)
		for (const c of movers) {
			c.cut();
			await sleep(200);
		}
	await waitFor(() => p2.acked.length >= 10, 20000);
	await p1.stop();
	await p2.stop();
	const want = r.ackedInOrder([p1, p2]);
	const last = want[want.length - 1];
	await allHave(pinned.concat(movers), last);
	tap.ok(pinned.every((c) => c.opens === 1 && c.conns.length === 1 &&
	    c.resets().length === 0), 'broker killed: host 1\'s clients kept ' +
	    'their one connection');
	allExact(pinned, want, 'broker killed, host 1');
	const streamed = (x) => /^(:|id:|data:)/m.test(x.text);
	tap.ok(movers.every((c) => c.conns.some((x) => x.host === 1 &&
	    streamed(x)) && c.conns.some((x) => x.host === 0 && x.t > back &&
	    streamed(x))), 'broker killed: host 2\'s clients resumed on ' +
	    'host 1, then on host 2\'s new broker');
	allExact(movers, want, 'broker killed, host 2\'s clients');
	// A cursor from before the new broker started: the events after
	// it come from Redis, exactly.
	const old = r.ackedInOrder([p1])[0];
	const t = new r.SwitchingClient(w.EventSource, [h2], QUERY +
	    '&last_event_id=' + encodeURIComponent(old), { switching: false });
	await waitFor(() => t.events.some((e) => e.id === last), 20000);
	t.close();
	const reads = Number((await r.stats(h2)).redis_reads || 0) - reads0;
	tap.is(r.exactDiff(t.messages().map((e) => e.id), want.slice(1)),
	    null, 'broker killed: a cursor older than the new broker of ' +
	    'host 2 resumes there exactly');
	tap.ok(reads >= 1, 'broker killed: from Redis (' + reads +
	    ' reads)');
	tap.is(movers.reduce((n, c) => n + c.resets().length, 0), 0,
	    'broker killed: no client got a reset');
	for (const c of pinned.concat(movers))
		c.close();
}

r.main({}, async (w) => {
	await switching(w);
	await brokerKilled(w);
});
