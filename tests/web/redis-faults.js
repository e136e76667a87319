// SPDX-License-Identifier: ISC
'use strict';
// Redis out of reach, with two hosts on it (see redis-hosts.js) and
// clients that stay on their host:
// - host 2's link to Redis cut while host 1 publishes: publishing on
//   host 2 fails at once with a clear error, its streams stay open with
//   heartbeats, and once the link is back they get every event published
//   meanwhile, once each, in order; then both links cut, and back;
// - a broker started while Redis is out of reach starts, says so once,
//   and connects when it can;
// - Redis stopped (SIGSTOP) for 5 s: a publish gives up or succeeds,
//   never hangs; streams stay open; everything flows afterwards, nothing
//   lost and nothing twice.
// The brokers' --redis-timeout is 5 s here, so that failing at once
// while Redis is known to be down (under 2.5 s, counting the start of
// the fastsse command) is told apart from timing out.
const h = require('./lib/harness');
const r = require('./lib/redis');
const { tap, waitFor, sleep, now } = h;

r.needs();

const QUERY = 'channel=fa&channel=fb';
const TIMEOUT = 5;

// Publishes once on env and says how it went: {ok, id, err, secs}.
async function tryPublish(env, ch, data) {
	const t0 = now();
	try {
		const id = await env.publish(ch, data);
		return { ok: true, id, secs: (now() - t0) / 1000 };
	} catch (e) {
		return { ok: false, err: String(e.message).trim(),
		    secs: (now() - t0) / 1000 };
	}
}

// Publishes n events on env alternating channels; returns their ids.
async function publishN(env, n, tag) {
	const ids = [];
	for (let i = 0; i < n; i++)
		ids.push(await env.publish(i % 2 ? 'fb' : 'fa', tag + '-' + i));
	return ids;
}

// Every client's messages are want exactly.
function exact(cs, want, what) {
	const bad = cs.map((c) => r.exactDiff(c.messages().map((e) => e.id),
	    want)).filter((d) => d !== null);
	return tap.ok(bad.length === 0, what + ': every stream got every ' +
	    'event exactly once, in order (' + want.length + ' events, ' +
	    cs.length + ' streams)', bad.length + ' wrong; ' +
	    JSON.stringify(bad[0]));
}

const last = (a) => a[a.length - 1];
const has = (cs, id) => waitFor(() => cs.every((c) => c.events.some((e) =>
    e.id === id)), 30000, 50);
const open = (cs) => cs.every((c) => c.opens === 1 && !c.cur.ended);

async function unreachable(w) {
	const [h1, h2] = w.hosts;
	const c1 = await r.openClients(w.EventSource, [h1], QUERY, 3,
	    { switching: false });
	const c2 = await r.openClients(w.EventSource, [h2], QUERY, 3,
	    { switching: false });
	const all = c1.concat(c2);
	const want = await publishN(h1, 4, 'before');
	const s0 = await r.stats(h2);

	// Host 2 alone loses Redis.
	w.links[1].down();
	tap.ok(await waitFor(async () => !await r.connected(h2), 10000, 50),
	    'one link cut: host 2\'s broker reports redis_connected 0');
	const p = await tryPublish(h2, 'fa', 'refused');
	tap.ok(!p.ok && p.secs < 2.5, 'one link cut: publishing on host 2 ' +
	    'fails at once (' + p.secs.toFixed(2) + ' s)', p);
	tap.ok(/redis|unavailable/i.test(p.err || ''), 'one link cut: with ' +
	    'a clear error', p.err);
	let hp = null;
	try {
		hp = await r.httpPublish(h2, 'fa', 'refused');
	} catch (e) {
		hp = e;
	}
	tap.ok(hp.status === 503, 'one link cut: publishing over HTTP on ' +
	    'host 2 answers 503', String(hp));
	const pings0 = c2.map((c) => c.pings());
	const during = await publishN(h1, 10, 'during');
	want.push(...during);
	tap.ok(await has(c1, last(during)), 'one link cut: host 1\'s ' +
	    'streams get host 1\'s events');
	await waitFor(() => c2.every((c, i) => c.pings() >= pings0[i] + 3),
	    10000, 50);
	tap.ok(open(c2) && c2.every((c, i) => c.pings() >= pings0[i] + 3),
	    'one link cut: host 2\'s streams stay open, with heartbeats',
	    c2.map((c, i) => c.pings() - pings0[i]));
	tap.ok(c2.every((c) => !c.events.some((e) => during.includes(e.id))),
	    'one link cut: host 2\'s streams have none of them yet');
	await w.links[1].up();
	tap.ok(await waitFor(() => r.connected(h2), 15000, 50),
	    'link back: host 2\'s broker reconnects');
	tap.ok(await has(c2, last(during)), 'link back: host 2\'s streams ' +
	    'get the events published meanwhile');
	want.push(...await publishN(h2, 4, 'after'));
	const s1 = await r.stats(h2);
	tap.ok(Number(s1.redis_reconnects) > Number(s0.redis_reconnects || 0) &&
	    Number(s1.redis_catchups) > Number(s0.redis_catchups || 0),
	    'link back: host 2 counts a reconnect and a catch-up', s1);

	// Both hosts lose Redis.
	w.links[0].down();
	w.links[1].down();
	await waitFor(async () => !await r.connected(h1) &&
	    !await r.connected(h2), 10000, 50);
	const q = [await tryPublish(h1, 'fa', 'refused'),
	    await tryPublish(h2, 'fb', 'refused')];
	tap.ok(q.every((x) => !x.ok && x.secs < 2.5), 'both links cut: ' +
	    'publishing fails at once on both hosts', q);
	const pings1 = all.map((c) => c.pings());
	await waitFor(() => all.every((c, i) => c.pings() >= pings1[i] + 3),
	    10000, 50);
	tap.ok(open(all) && all.every((c, i) => c.pings() >= pings1[i] + 3),
	    'both links cut: every stream stays open, with heartbeats');
	await w.links[0].up();
	await w.links[1].up();
	tap.ok(await waitFor(async () => await r.connected(h1) &&
	    await r.connected(h2), 15000, 50), 'links back: both brokers ' +
	    'reconnect');
	want.push(...await publishN(h2, 3, 'back2'));
	want.push(...await publishN(h1, 3, 'back1'));
	await has(all, last(want));
	exact(all, want, 'unreachable');
	tap.ok(open(all) && all.every((c) => c.resets().length === 0),
	    'unreachable: no stream was closed or reset');
	for (const c of all)
		c.close();
}

async function startWhileDown(w) {
	const [h1, h2] = w.hosts;
	await h2.broker.stop('SIGTERM');
	w.links[1].down();
	const t0 = now();
	await h2.startBroker();
	tap.ok(true, 'down at start: the broker starts (' +
	    ((now() - t0) / 1000).toFixed(2) + ' s)');
	// A stream opened meanwhile on host 2.
	const c2 = new r.SwitchingClient(w.EventSource, [h2], QUERY,
	    { switching: false });
	// Not a synchronisation: the broker retries for 3 s (backoff 0.1 s
	// doubling to 2 s: five attempts or so) and must say so once.
	await sleep(3000);
	const log = h2.broker.log();
	const n = (log.match(/cannot connect/g) || []).length;
	tap.is(n, 1, 'down at start: it logs "cannot connect" once in 3 s');
	tap.ok(!await r.connected(h2), 'down at start: and reports ' +
	    'redis_connected 0');
	tap.ok(c2.opens >= 1, 'down at start: a stream opened meanwhile ' +
	    'is answered');
	await w.links[1].up();
	tap.ok(await waitFor(() => r.connected(h2), 15000, 50),
	    'down at start: it connects once Redis is reachable');
	// The stream may have been ended (ERROR 14) and come back without
	// a cursor: make sure it is subscribed before publishing.
	await r.warmUp([c2], h1, 'fa');
	const c1 = await r.openClients(w.EventSource, [h1], QUERY, 1,
	    { switching: false });
	const ids = await publishN(h1, 3, 'late');
	ids.push(...await publishN(h2, 3, 'late2'));
	await has([c2, c1[0]], last(ids));
	exact([c1[0]], ids, 'down at start, host 1');
	// The stream of host 2 began with the broker's own epoch: when it
	// reached Redis it was resubscribed and may have had a reset "epoch"
	// and the history Redis holds.  From its last reset on, every event
	// once, in order, ending with these.
	const k = c2.events.map((e) => e.type).lastIndexOf('reset');
	const tail = c2.events.slice(k + 1).filter((e) => e.type !==
	    'warmup').map((e) => e.id);
	const sorted = Array.from(new Set(tail)).sort((a, b) => r.seqOf(a) -
	    r.seqOf(b));
	tap.ok(r.exactDiff(tail, sorted) === null &&
	    r.exactDiff(tail.slice(-ids.length), ids) === null, 'down at ' +
	    'start, host 2: the stream opened meanwhile got every event ' +
	    'once, in order (' + c2.resets().length + ' reset)', c2.events);
	c1[0].close();
	c2.close();
}

async function stopped(w) {
	const [h1, h2] = w.hosts;
	const all = (await r.openClients(w.EventSource, [h1], QUERY, 3,
	    { switching: false })).concat(await r.openClients(w.EventSource,
	    [h2], QUERY, 3, { switching: false }));
	const acked = await publishN(h1, 3, 'pre');
	acked.push(...await publishN(h2, 3, 'pre2'));
	const pings0 = all.map((c) => c.pings());
	w.redis.signal('SIGSTOP');
	const t0 = now();
	let q;
	try {
		q = await Promise.all([tryPublish(h1, 'fa', 'stopped-1'),
		    tryPublish(h2, 'fb', 'stopped-2')]);
	} finally {
		// At 5 s, whatever the publishes did.
		await sleep(Math.max(0, 5000 - (now() - t0)));
		w.redis.signal('SIGCONT');
	}
	// Bounded by the timeout: the command deadline is the oldest
	// pending command's own, whatever was sent after it.
	tap.ok(q.every((x) => x.secs < TIMEOUT + 2), 'SIGSTOP: a ' +
	    'publish returns within the timeout (' + q.map((x) => (x.ok ? 'ok' :
	    'failed') + ' in ' + x.secs.toFixed(2) + ' s').join(', ') + ')', q);
	tap.ok(q.every((x) => x.ok || /redis|unavailable|timed out/i.test(
	    x.err)), 'SIGSTOP: one that fails says why', q);
	tap.ok(open(all) && all.every((c, i) => c.pings() >= pings0[i] + 3),
	    'SIGSTOP: every stream stayed open with heartbeats',
	    all.map((c, i) => c.pings() - pings0[i]));
	tap.ok(await waitFor(async () => await r.connected(h1) &&
	    await r.connected(h2), 20000, 50), 'SIGCONT: both brokers are ' +
	    'connected');
	for (const x of q)
		if (x.ok)
			acked.push(x.id);
	let post = [];
	const t1 = now();
	while (post.length < 6 && now() - t1 < 20000) {
		const x = await tryPublish(post.length % 2 ? h2 : h1,
		    post.length % 2 ? 'fb' : 'fa', 'post-' + post.length);
		if (x.ok)
			post.push(x.id);
		else
			await sleep(100);
	}
	tap.is(post.length, 6, 'SIGCONT: publishing works on both hosts');
	acked.push(...post);
	acked.sort((a, b) => r.seqOf(a) - r.seqOf(b));
	await has(all, last(acked));
	// A publish that timed out may still have been done by Redis once
	// it ran again: the truth is what the streams got, which must be
	// the same for all, in id order, once each, and hold every
	// acknowledged event.
	const got = all.map((c) => c.messages().map((e) => e.id));
	tap.ok(got.every((g) => g.join(' ') === got[0].join(' ')),
	    'SIGCONT: every stream got the same events', got);
	const truth = Array.from(new Set(got[0])).sort((a, b) =>
	    r.seqOf(a) - r.seqOf(b));
	exact(all, truth, 'SIGCONT');
	tap.ok(acked.every((id) => truth.includes(id)),
	    'SIGCONT: every acknowledged event reached every stream');
	const extra = truth.filter((id) => !acked.includes(id));
	tap.ok(extra.length <= 2, 'SIGCONT: besides the acknowledged ones, ' +
	    'at most the two that timed out', extra);
	for (const c of all)
		c.close();
}

r.main({ host: { brokerArgs: ['--redis-timeout', String(TIMEOUT)] } },
    async (w) => {
	await unreachable(w);
	await startWhileDown(w);
	await stopped(w);
});
