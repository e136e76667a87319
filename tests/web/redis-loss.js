// SPDX-License-Identifier: ISC
'use strict';
// Redis loses data under two hosts (see redis-hosts.js) and their
// streams; Redis runs with appendonly yes, appendfsync everysec:
// - Redis restarted with its data gone (no persistence): every stream
//   gets one reset "epoch", then the new events, and no id is given
//   twice;
// - Redis loses its last second: its counter goes back below ids the
//   brokers already delivered, with the same epoch.  A kill -9 alone
//   loses nothing (what Redis wrote is in the kernel's page cache, which
//   outlives the process; only the machine's crash loses it), so the
//   crash is made certain: the AOF directory is copied while no command
//   runs (the disk as of the last fsync), more events are published and
//   delivered, Redis is killed -9 and the copy put back before it
//   starts.  Every stream must get a reset, never silence, and no id is
//   given twice.
const fs = require('fs');
const path = require('path');
const h = require('./lib/harness');
const r = require('./lib/redis');
const { tap, waitFor, sleep } = h;

r.needs();

const QUERY = 'channel=la&channel=lb';

async function publishN(env, n, tag) {
	const ids = [];
	for (let i = 0; i < n; i++)
		ids.push(await env.publish(i % 2 ? 'lb' : 'la', tag + '-' + i));
	return ids;
}

// Publishes n events, retrying each until acknowledged (the brokers may
// still be reconnecting).
async function publishRetry(env, n, tag) {
	const ids = [];
	for (let i = 0, tries = 0; i < n && tries < 200; tries++) {
		try {
			ids.push(await env.publish(i % 2 ? 'lb' : 'la', tag + '-' +
			    i));
			i++;
		} catch (e) {
			await sleep(100);
		}
	}
	return ids;
}

const last = (a) => a[a.length - 1];
const has = (cs, id) => waitFor(() => cs.every((c) => c.events.some((e) =>
    e.id === id)), 30000, 50);

async function clients(w) {
	const [h1, h2] = w.hosts;
	return (await r.openClients(w.EventSource, [h1], QUERY, 3,
	    { switching: false })).concat(await r.openClients(w.EventSource,
	    [h2], QUERY, 3, { switching: false }));
}

async function epochChanges(w) {
	let n = 0;
	for (const e of w.hosts)
		n += Number((await r.stats(e)).redis_epoch_changes || 0);
	return n;
}

// What each stream got from index from[i] on: the events before (old),
// one reset "epoch", then the new events (fresh), each once, in order,
// and no id twice over the whole stream.  After the reset, before fresh,
// the new epoch's replay may bring again events that Redis still held
// (held(data)), with ids of the new epoch.
function checkReset(cs, from, old, fresh, what, held = () => false) {
	let bad = null, nbad = 0;
	cs.forEach((c, i) => {
		const evs = c.events.slice(from[i]).filter((e) =>
		    e.type !== 'warmup');
		const resets = evs.filter((e) => e.type === 'reset');
		const k = evs.findIndex((e) => e.type === 'reset');
		const before = evs.slice(0, k < 0 ? evs.length : k)
		    .map((e) => e.id);
		const after = k < 0 ? [] : evs.slice(k + 1);
		const n = Math.max(0, after.length - fresh.length);
		const again = after.slice(0, n);
		let reason = null;
		try {
			reason = resets.length ? JSON.parse(resets[0].data).reason :
			    null;
		} catch (e) { /* stays null */ }
		const ids = c.events.filter((e) => e.type !== 'reset')
		    .map((e) => e.id);
		const diff = (a, b) => JSON.stringify(r.exactDiff(a, b));
		const why = resets.length !== 1 ? resets.length + ' resets' :
		    reason !== 'epoch' ? 'reason ' + reason :
		    r.exactDiff(before, old) !== null ? 'before: ' +
		    diff(before, old) :
		    r.exactDiff(after.slice(n).map((e) => e.id), fresh) !== null ?
		    'after: ' + diff(after.slice(n).map((e) => e.id), fresh) :
		    !again.every((e, j) => held(e.data) && r.epochOf(e.id) ===
		    r.epochOf(fresh[0]) && (j === 0 || r.seqOf(e.id) >
		    r.seqOf(again[j - 1].id))) ? 'replayed: ' +
		    JSON.stringify(again) :
		    new Set(ids).size !== ids.length ? 'an id twice' : null;
		if (why !== null) {
			nbad++;
			if (bad === null)
				bad = 'stream ' + i + ': ' + why;
		}
	});
	tap.ok(nbad === 0, what + ': every stream got the events before, ' +
	    'one reset "epoch", then the new events, each once, in order (' +
	    cs.length + ' streams)', nbad + ' wrong; ' + bad);
}

async function restarted(w) {
	const [h1, h2] = w.hosts;
	const cs = await clients(w);
	const from = cs.map((c) => c.events.length);
	const old = await publishN(h1, 4, 'old');
	old.push(...await publishN(h2, 4, 'old2'));
	old.sort((a, b) => r.seqOf(a) - r.seqOf(b));
	await has(cs, last(old));
	const e0 = await epochChanges(w);
	await w.redis.stop();
	fs.rmSync(path.join(w.redis.dir, 'aof'), { recursive: true,
	    force: true });
	await w.redis.start();
	tap.ok(await waitFor(async () => await epochChanges(w) >= e0 + 2,
	    15000, 50), 'data gone: both brokers see the epoch change');
	tap.ok(await waitFor(async () => await r.connected(h1) &&
	    await r.connected(h2), 15000, 50), 'data gone: both brokers ' +
	    'are connected');
	const fresh = await publishRetry(h2, 3, 'new2');
	fresh.push(...await publishRetry(h1, 3, 'new'));
	tap.is(fresh.length, 6, 'data gone: publishing works again');
	tap.ok(fresh.every((id) => r.epochOf(id) !== r.epochOf(old[0])),
	    'data gone: the new ids are of a new epoch');
	tap.ok(await has(cs, last(fresh)), 'data gone: every stream gets ' +
	    'the new events');
	checkReset(cs, from, old, fresh, 'data gone');
	for (const c of cs)
		c.close();
}

async function lostSecond(w) {
	const [h1, h2] = w.hosts;
	const cs = await clients(w);
	const from = cs.map((c) => c.events.length);
	const kept = await publishN(h1, 3, 'kept');
	kept.push(...await publishN(h2, 3, 'kept2'));
	await has(cs, last(kept));
	// The disk as of the last fsync: every command above was written
	// before its answer, and none runs now but the brokers' trim,
	// which writes nothing while no event is old.
	const aof = path.join(w.redis.dir, 'aof');
	const disk = path.join(w.redis.dir, 'aof-synced');
	fs.cpSync(aof, disk, { recursive: true });
	const lost = await publishN(h1, 4, 'lost');
	lost.push(...await publishN(h2, 4, 'lost2'));
	tap.ok(await has(cs, last(lost)), 'lost second: the events after ' +
	    'the last fsync were delivered');
	const e0 = await epochChanges(w);
	// The brokers reach it again only once its counter is read.
	for (const l of w.links)
		l.down();
	await w.redis.kill9();
	fs.rmSync(aof, { recursive: true, force: true });
	fs.renameSync(disk, aof);
	await w.redis.start();
	const seq = Number(await w.redis.cli('HGET', '{fastsse}:meta', 'seq'));
	tap.ok(seq < r.seqOf(last(lost)), 'lost second: Redis\'s counter ' +
	    'is back at ' + seq + ', below ' + last(lost) + ' delivered');
	for (const l of w.links)
		await l.up();
	tap.ok(await waitFor(async () => await epochChanges(w) >= e0 + 2,
	    15000, 50), 'lost second: both brokers change epoch');
	tap.ok(await waitFor(async () => await r.connected(h1) &&
	    await r.connected(h2), 15000, 50), 'lost second: both brokers ' +
	    'are connected');
	const fresh = await publishRetry(h1, 3, 'after');
	fresh.push(...await publishRetry(h2, 3, 'after2'));
	tap.is(fresh.length, 6, 'lost second: publishing works again');
	const given = new Set(kept.concat(lost));
	tap.ok(fresh.every((id) => !given.has(id) &&
	    r.epochOf(id) !== r.epochOf(kept[0])), 'lost second: no id is ' +
	    'given twice (the epoch changed)', fresh);
	tap.ok(await has(cs, last(fresh)), 'lost second: every stream gets ' +
	    'the new events');
	// Redis still holds the new events of the first scenario, and kept.
	checkReset(cs, from, kept.concat(lost).sort((a, b) => r.seqOf(a) -
	    r.seqOf(b)), fresh, 'lost second', (d) => /^(new|kept)/.test(d));
	for (const c of cs)
		c.close();
}

r.main({ redis: { aof: true } }, async (w) => {
	await restarted(w);
	await lostSecond(w);
});
