// SPDX-License-Identifier: ISC
'use strict';
// Out of file descriptors, behind lighttpd (a low `ulimit -n`):
// - the responder under `ulimit -n 160`: browsers past what its fds allow
//   get a 200 with a `retry:` (come back later), the streams already open
//   keep getting events, and once some leave a new browser streams again;
// - the broker under `ulimit -n 32`, its fds taken by idle clients: it
//   keeps running, the responder's connection and a publisher connected
//   before keep working, new browsers get their 200 with `retry:` and
//   events, and once the idle clients leave new publishers connect again.
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const h = require('./lib/harness');
const { tap, waitFor, RawStream } = h;

h.needs(['build', 'lighttpd']);

// A copy of prog's command that runs it under ulimit -n n.
function limited(env, prog, n) {
	const w = path.join(env.tmp, path.basename(prog) + '-nofile-' + n);
	fs.writeFileSync(w, '#!/bin/sh\nulimit -n ' + n + ' || exit 1\n' +
	    'exec ' + JSON.stringify(path.resolve(prog)) + ' "$@"\n',
	    { mode: 0o755 });
	return w;
}

async function openStreams(env, channel, n, headers = {}) {
	const ss = [];
	for (let i = 0; i < n; i++)
		ss.push(new RawStream(env.sseUrl('channel=' + channel),
		    headers));
	await waitFor(() => ss.every((s) => s.ended || /^retry: /m.test(s.text)),
	    30000, 50);
	return ss;
}

const live = (s) => !s.ended && /^retry: 300$/m.test(s.text);

async function responderFds(env) {
	const real = h.bin.responder;
	await env.responder.stop('SIGTERM');
	h.bin.responder = limited(env, real, 160);
	try {
		await env.startResponder();
	} finally {
		h.bin.responder = real;
	}
	// 160 fds: 96 streams (64 kept for the rest), then "come back".
	const ss = await openStreams(env, 'fds', 110);
	const n = ss.filter(live).length;
	const later = ss.filter((s) => s.ended && s.status === 200 &&
	    /^retry: [1-9][0-9]{4}$/m.test(s.text));
	tap.ok(n >= 80 && n <= 96, 'responder at its fd limit: ' + n +
	    ' of 110 streams live');
	tap.is(later.length, 110 - n, 'the others get a 200 with a retry: ' +
	    'of 30 to 60 s');
	const id = await env.publish('fds', 'kept');
	tap.ok(await waitFor(() => ss.filter(live).every((s) =>
	    s.text.includes(id)), 10000), 'the open streams keep getting ' +
	    'events');
	for (const s of ss.filter(live).slice(0, 20))
		s.close();
	const ok2 = await waitFor(async () => {
		const [s] = await openStreams(env, 'fds', 1);
		const good = live(s);
		s.close();
		return good;
	}, 20000, 200);
	tap.ok(ok2, 'once streams leave, a new browser streams again');
	for (const s of ss)
		s.close();
	await env.responder.stop('SIGTERM');
	await env.startResponder();
}

// A client that said HELLO and holds its connection; resolves whether
// the broker welcomed it.
function idleClient(sock) {
	return new Promise((resolve) => {
		const c = net.connect(sock);
		let data = Buffer.alloc(0), done = false;
		const finish = (v) => {
			if (!done) {
				done = true;
				resolve({ c, welcomed: v });
			}
		};
		c.on('connect', () => c.write(Buffer.from([0, 0, 0, 4, 0x93, 1,
		    1, 1])));
		c.on('data', (d) => {
			data = Buffer.concat([data, d]);
			if (data.length >= 6)
				finish(data[5] === 2);	/* WELCOME */
		});
		c.on('error', () => finish(false));
		c.on('close', () => finish(false));
		setTimeout(() => finish(false), 10000);
	});
}

async function brokerFds(env) {
	const real = h.bin.broker;
	await env.broker.stop('SIGTERM');
	h.bin.broker = limited(env, real, 32);
	try {
		await env.startBroker();
	} finally {
		h.bin.broker = real;
	}
	await env.waitStreaming();
	const before = await openStreams(env, 'bfds', 3);
	// A publisher connected before the fds run out.
	const pub = spawn(env.cli[0], ['publish', '--lines', '--timeout',
	    '20', '--socket', env.brokerSock, 'bfds'], { env: env.cli[1],
	    stdio: ['pipe', 'pipe', 'inherit'] });
	let ids = '';
	pub.stdout.setEncoding('utf8');
	pub.stdout.on('data', (d) => { ids += d; });
	pub.stdin.write('warm\n');
	await waitFor(() => ids.includes('\n'), 10000);

	const idle = [];
	for (let i = 0; i < 40; i++)
		idle.push(await idleClient(env.brokerSock));
	const welcomed = idle.filter((x) => x.welcomed).length;
	tap.ok(welcomed > 0 && welcomed < 40, 'broker at its fd limit: ' +
	    welcomed + ' of 40 idle clients got in, the rest were turned ' +
	    'away');
	tap.ok(!env.broker.exited, 'the broker keeps running');
	// The stream's 200 leaves before its subscription reaches the
	// broker; resuming from the warm-up event makes the check below not
	// depend on which of the subscription and the next publish is first.
	const fresh = await openStreams(env, 'bfds', 2,
	    { 'Last-Event-ID': ids.split('\n')[0] });
	tap.ok(fresh.every(live), 'new browsers get a 200 with a retry:');
	pub.stdin.write('during\n');
	await waitFor(() => ids.split('\n').length > 2, 20000);
	const id = ids.split('\n')[1];
	tap.ok(/^[0-9a-z]+-[0-9]+$/.test(id), 'a publisher connected ' +
	    'before keeps publishing', ids);
	tap.ok(await waitFor(() => before.concat(fresh).every((s) =>
	    s.text.includes('id: ' + id + '\n')), 20000), 'open and new ' +
	    'streams get its event', { ids, texts: before.concat(fresh)
	    .map((s) => s.text) });
	for (const x of idle)
		x.c.destroy();
	let again = null;
	await waitFor(async () => {
		again = await env.publish('bfds', 'after');
		return true;
	}, 20000, 200);
	tap.ok(again !== null, 'once the idle clients leave, a new ' +
	    'publisher connects');
	pub.stdin.end();
	for (const s of before.concat(fresh))
		s.close();
}

h.main('lighttpd', {}, async (env) => {
	await responderFds(env);
	await brokerFds(env);
});
