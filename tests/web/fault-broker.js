// SPDX-License-Identifier: ISC
'use strict';
// Broker faults behind nginx, with the journal on (--data-dir):
// - SIGSTOP for 10 s, then SIGCONT: the streams stay open with heartbeats,
//   a publisher gets a clear timeout instead of hanging, and events flow
//   again afterwards;
// - SIGTERM and a new broker on the same journal under 1,000 open streams
//   while a publisher runs: every stream gets every event of the channel
//   exactly once, in order, with no reset.  The time from the new broker's
//   start to every stream having an event published after it is noted;
// - kill -9 during a pipelined publish storm, with --fsync always and
//   everysec, under open streams: after a new broker starts on the same
//   journal, every acknowledged event is in the history and every stream
//   got the whole history exactly once, in order, with no reset.  What
//   was lost, if anything, is noted.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const h = require('./lib/harness');
const { tap, waitFor, sleep, now, RawStream } = h;

h.needs(['build', 'curl', 'nginx']);

const NSTREAMS = Number(process.env.FASTSSE_FAULT_STREAMS || 1000);

// The events of an SSE text: {id, type, data}; a bare id block is type
// "cursor", comments are left out.
function parseSse(text) {
	const out = [];
	const blocks = text.split('\n\n');
	blocks.pop();		/* unfinished */
	for (const b of blocks) {
		const ev = { id: null, type: null, data: null };
		for (const line of b.split('\n')) {
			const m = /^(id|event|data): ?(.*)$/.exec(line);
			if (m === null)
				continue;
			if (m[1] === 'id')
				ev.id = m[2];
			else if (m[1] === 'event')
				ev.type = m[2];
			else
				ev.data = ev.data === null ? m[2] :
				    ev.data + '\n' + m[2];
		}
		if (ev.id === null && ev.data === null)
			continue;
		if (ev.data === null)
			ev.type = 'cursor';
		else if (ev.type === null)
			ev.type = 'message';
		out.push(ev);
	}
	return out;
}

const pings = (s) => (s.text.match(/^: ping$/mg) || []).length;

// A `fastsse publish --lines` that stays connected; resolves each line's
// id, or its failure.
function linePublisher(env, channel, extra) {
	const p = spawn(env.cli[0], ['publish', '--lines', '--socket',
	    env.brokerSock].concat(extra, [channel]), { env: env.cli[1],
	    stdio: ['pipe', 'pipe', 'pipe'] });
	const r = { out: '', err: '', code: null };
	p.stdout.setEncoding('utf8');
	p.stderr.setEncoding('utf8');
	p.stdout.on('data', (d) => { r.out += d; });
	p.stderr.on('data', (d) => { r.err += d; });
	p.stdin.on('error', () => { /* seen in the exit code */ });
	r.exit = new Promise((res) => p.on('exit', (code) => {
		r.code = code;
		res(code);
	}));
	r.send = (line) => p.stdin.write(line + '\n');
	r.kill = () => p.kill('SIGKILL');
	return r;
}

// Opens n raw streams on channel and waits until each is live: a marker
// published until every one has it.  Returns the streams.
async function openMany(env, channel, n) {
	const ss = [];
	for (let i = 0; i < n; i++)
		ss.push(new RawStream(env.sseUrl('channel=' + channel)));
	if (!await waitFor(() => ss.every((s) => s.text.includes('retry:')),
	    60000, 50))
		throw new Error('not every stream opened: ' + ss.filter((s) =>
		    s.text.includes('retry:')).length + ' of ' + n);
	let live = false;
	for (let i = 0; i < 100 && !live; i++) {
		await env.publish(channel, 'marker-' + i, 'marker');
		live = await waitFor(() => ss.every((s) =>
		    s.text.includes('event: marker')), 1000, 50);
	}
	if (!live)
		throw new Error('not every stream got a marker');
	return ss;
}

async function stopCont(env) {
	const ss = await openMany(env, 'stop', 5);
	const pub = linePublisher(env, 'stop', ['--timeout', '3']);
	pub.send('before');
	if (!await waitFor(() => pub.out.split('\n').length > 1, 10000))
		throw new Error('publisher never answered: ' + pub.err);
	const pings0 = ss.map(pings);
	process.kill(env.broker.pid, 'SIGSTOP');
	const t0 = now();
	pub.send('during');
	const gaveUp = await waitFor(() => pub.code !== null, 9000, 20);
	const waited = (now() - t0) / 1000;
	tap.ok(gaveUp && pub.code !== 0, 'SIGSTOP: a publisher with ' +
	    '--timeout 3 gives up (' + waited.toFixed(1) + ' s)', pub);
	tap.ok(/timed out/.test(pub.err), 'SIGSTOP: and says it timed out',
	    pub.err);
	// The rest of the 10 s: streams stay open with their heartbeats.
	await sleep(Math.max(0, 10000 - (now() - t0)));
	tap.ok(ss.every((s) => !s.ended), 'SIGSTOP: every stream stayed ' +
	    'open for 10 s');
	const got = ss.map((s, i) => pings(s) - pings0[i]);
	tap.ok(got.every((n) => n >= 5), 'SIGSTOP: with heartbeats ' +
	    '(' + got.join(' ') + ' pings in 10 s)');
	process.kill(env.broker.pid, 'SIGCONT');
	const id = await env.publish('stop', 'after');
	tap.ok(await waitFor(() => ss.every((s) => s.text.includes(id)),
	    10000), 'SIGCONT: an event published afterwards reaches every ' +
	    'stream');
	// The line that timed out may have been published once the broker
	// read it; either way every stream saw the same, and "after" once.
	const seen = ss.map((s) => parseSse(s.text).filter((e) =>
	    e.type === 'message').map((e) => e.data).join(','));
	tap.ok(seen.every((x) => x === seen[0]) &&
	    (seen[0] === 'before,after' || seen[0] === 'before,during,after'),
	    'SIGCONT: every stream saw each event once', seen[0]);
	for (const s of ss)
		s.close();
}

async function restart(env) {
	const ss = await openMany(env, 'many', NSTREAMS);
	tap.ok(true, 'restart: ' + NSTREAMS + ' streams open and live');
	const starts = ss.map((s) => s.text.length);

	// The publisher: one event at a time, retried until acknowledged.
	let stop = false, n = 0, failures = 0;
	const acked = [];
	const publisher = (async () => {
		while (!stop) {
			try {
				acked.push(await env.publish('many', 'p-' + n));
				n++;
			} catch (e) {
				failures++;
				await sleep(20);
			}
		}
	})();
	await waitFor(() => acked.length >= 20, 30000);
	await env.broker.stop('SIGTERM');
	const t0 = now();
	await env.startBroker();
	const started = now();
	const firstNew = acked.length;
	await waitFor(() => acked.length > firstNew, 30000);
	const marker = acked[firstNew];
	const live = await waitFor(() => ss.every((s) =>
	    s.text.includes('id: ' + marker + '\n')), 60000, 50);
	const tLive = now();
	tap.ok(live, 'restart: every stream gets an event published after ' +
	    'the restart');
	tap.note('RESULT restart-to-live ' + ((tLive - started) / 1000)
	    .toFixed(2) + ' s from the new broker answering (' +
	    ((tLive - t0) / 1000).toFixed(2) + ' s from its spawn), ' +
	    NSTREAMS + ' streams');
	await waitFor(() => acked.length >= firstNew + 20, 30000);
	stop = true;
	await publisher;
	const last = acked[acked.length - 1];
	await waitFor(() => ss.every((s) => s.text.includes('id: ' + last +
	    '\n')), 60000, 50);

	// What the broker holds for the channel, from before the first
	// acknowledged event: the truth every stream must have seen.
	const first = acked[0];
	const seq = Number(first.slice(first.lastIndexOf('-') + 1));
	const cursor = first.slice(0, first.lastIndexOf('-') + 1) + (seq - 1);
	const truth = new RawStream(env.sseUrl('channel=many'),
	    { 'Last-Event-ID': cursor });
	await waitFor(() => truth.text.includes('id: ' + last + '\n'),
	    30000, 50);
	truth.close();
	const want = parseSse(truth.text).filter((e) => e.type === 'message')
	    .map((e) => e.id);
	tap.ok(acked.every((id) => want.includes(id)), 'restart: every ' +
	    'acknowledged id is in the history (' + acked.length + ', ' +
	    failures + ' publishes retried)');
	let bad = 0, resets = 0, example = null;
	ss.forEach((s, i) => {
		const evs = parseSse(s.text.slice(starts[i]));
		resets += evs.filter((e) => e.type === 'reset').length;
		const got = evs.filter((e) => e.type === 'message')
		    .map((e) => e.id);
		const from = got.indexOf(want[0]);
		const tail = got.slice(from);
		if (from < 0 || tail.join(' ') !== want.slice(0,
		    tail.length).join(' ') || tail.length < want.length ||
		    new Set(got).size !== got.length) {
			bad++;
			if (example === null)
				example = { got, want };
		}
	});
	tap.is(resets, 0, 'restart: no stream got a reset');
	tap.is(bad, 0, 'restart: every stream got every event exactly ' +
	    'once, in order (' + want.length + ' events)');
	if (example !== null)
		tap.note(JSON.stringify(example).slice(0, 2000));
	for (const s of ss)
		s.close();
}

// The stream's message ids from the first of want on: every one of want,
// once, in order, and nothing else; and no reset.
function exactly(s, start, want) {
	const evs = parseSse(s.text.slice(start));
	const got = evs.filter((e) => e.type === 'message').map((e) => e.id);
	const from = got.indexOf(want[0]);
	return evs.every((e) => e.type !== 'reset') && from >= 0 &&
	    got.slice(from).join(' ') === want.join(' ');
}

// kill -9 of the broker during a pipelined publish storm, with --fsync
// mode, under open streams; a new broker on the same journal.
async function kill9(env, mode) {
	const dir = path.join(env.tmp, 'journal-' + mode);
	fs.mkdirSync(dir);
	env.brokerArgs = ['--data-dir', dir, '--fsync', mode,
	    '--history-max-events', '100000'];
	await env.broker.stop('SIGTERM');
	await env.startBroker();
	const ch = 'storm-' + mode;
	const ss = await openMany(env, ch, 20);
	const starts = ss.map((s) => s.text.length);
	const pub = linePublisher(env, ch, []);
	let lines = '';
	for (let i = 0; i < 200000; i++)
		lines += 's-' + i + '\n';
	pub.send(lines.slice(0, -1));
	await waitFor(() => pub.out.split('\n').length > 2000, 30000, 5);
	process.kill(env.broker.pid, 'SIGKILL');
	await env.broker.exitPromise;
	await pub.exit;
	const acked = pub.out.split('\n').filter((l) =>
	    /^[0-9a-z]+-[0-9]+$/.test(l));
	await env.startBroker();
	const after = await env.publish(ch, 'after');
	const all = await waitFor(() => ss.every((s) =>
	    s.text.includes('id: ' + after + '\n')), 30000, 50);
	tap.ok(all, mode + ': kill -9 during a storm of ' + acked.length +
	    ' acknowledged events, and every stream gets an event ' +
	    'published after the restart');
	const first = acked[0];
	const seq = Number(first.slice(first.lastIndexOf('-') + 1));
	const truth = new RawStream(env.sseUrl('channel=' + ch),
	    { 'Last-Event-ID': first.slice(0, first.lastIndexOf('-') + 1) +
	    (seq - 1) });
	await waitFor(() => truth.text.includes('id: ' + after + '\n'),
	    30000, 50);
	truth.close();
	const want = parseSse(truth.text).filter((e) => e.type === 'message')
	    .map((e) => e.id);
	const held = new Set(want);
	const lost = acked.filter((id) => !held.has(id));
	tap.note('RESULT kill-9 ' + mode + ': ' + acked.length +
	    ' acknowledged, ' + lost.length + ' of them lost; ' +
	    (want.length - 1 - (acked.length - lost.length)) +
	    ' written but not acknowledged; new ids continue at ' + after +
	    ' (last acknowledged ' + acked[acked.length - 1] + ')');
	tap.is(lost.length, 0, mode + ': every acknowledged event is ' +
	    'replayed to a client resuming from before the first one');
	tap.is(ss.filter((s, i) => !exactly(s, starts[i], want)).length, 0,
	    mode + ': every stream got the whole history exactly once, in ' +
	    'order, with no reset (' + want.length + ' events)');
	// A browser whose cursor is among the ids the dead run may have
	// given out without keeping them is told so.  The last id of the
	// dead run's reservation (the one just before "after") is the head
	// the new run reports before its first event, which a client that
	// subscribed then holds: it is not among them, so take the one
	// before it.
	const aseq = Number(after.slice(after.lastIndexOf('-') + 1));
	const gap = new RawStream(env.sseUrl('channel=' + ch), {
	    'Last-Event-ID': after.slice(0, after.lastIndexOf('-') + 1) +
	    (aseq - 2) });
	await waitFor(() => gap.text.includes('event: reset'), 10000);
	gap.close();
	tap.ok(/"reason":"lost"/.test(gap.text), mode + ': a cursor among ' +
	    'the ids the dead run did not keep gets reset "lost"', gap.text);
	for (const s of ss)
		s.close();
}

h.main('nginx', { heartbeat: 1 }, async (env) => {
	// The journal: the restarted broker continues the same run.
	const dir = path.join(env.tmp, 'journal');
	fs.mkdirSync(dir);
	env.brokerArgs = ['--data-dir', dir, '--fsync', 'everysec'];
	await env.broker.stop('SIGTERM');
	await env.startBroker();
	await stopCont(env);
	await restart(env);
	await kill9(env, 'always');
	await kill9(env, 'everysec');
});
