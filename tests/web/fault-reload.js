// SPDX-License-Identifier: ISC
'use strict';
// Web servers reloaded while events are published: `nginx -s reload` and
// Apache's `-k graceful` (mod_proxy_fcgi, on an instance of our own), each
// twice while a publisher runs; EventSource clients end with every event
// exactly once, in order.  (A killed and restarted responder, and a
// restarted web server, are in every server's suite: lib/suite.js, cut.)
const { execFile } = require('child_process');
const path = require('path');
const h = require('./lib/harness');
const { tap, waitFor, sleep, Client } = h;

h.needs(['build', 'node_modules', 'curl', 'nginx']);
const EventSource = h.requireModule('eventsource').EventSource;

const run = (cmd, args) => new Promise((resolve) => execFile(cmd, args,
    { encoding: 'utf8', timeout: 30000 }, (err, out, errout) =>
    resolve({ code: err ? err.code || 1 : 0, out: out + errout })));

// Opens n EventSources on channel, live once each has a marker.
async function openLive(env, channel, n) {
	const cs = [];
	for (let i = 0; i < n; i++)
		cs.push(new Client(EventSource, env.sseUrl('channel=' +
		    channel), ['warmup']));
	if (!await waitFor(() => cs.every((c) => c.opens >= 1), 20000))
		throw new Error('EventSources on ' + channel + ' never opened');
	for (let i = 0; i < 50; i++) {
		await env.publish(channel, 'warm-up', 'warmup');
		if (await waitFor(() => cs.every((c) => c.warm.length > 0), 300))
			return cs;
	}
	throw new Error('no warm-up event on ' + channel);
}

// Publishes on channel while reload() runs twice; checks the clients.
async function underReload(env, name, reload) {
	const ch = 'reload-' + env.kind;
	const cs = await openLive(env, ch, 5);
	const acked = [];
	let stop = false;
	const publisher = (async () => {
		for (let i = 0; !stop; i++) {
			acked.push(await env.publish(ch, 'r-' + i));
			await sleep(10);
		}
	})();
	for (let k = 0; k < 2; k++) {
		await waitFor(() => acked.length >= 15 * (k + 1), 30000);
		const r = await reload();
		tap.is(r.code, 0, env.kind + ': ' + name + ' ' + (k + 1) +
		    ' succeeds', r.out);
		// The server takes new streams again before going on.
		await env.waitStreaming();
	}
	await waitFor(() => acked.length >= 45, 30000);
	stop = true;
	await publisher;
	const last = acked[acked.length - 1];
	const all = await waitFor(() => cs.every((c) => c.events.some((e) =>
	    e.id === last)), 20000);
	await sleep(200);	/* time for a duplicate to show up */
	tap.ok(all, env.kind + ': every client got the last event after ' +
	    name);
	const bad = cs.filter((c) => c.events.map((e) => e.id).join(' ') !==
	    acked.join(' '));
	tap.is(bad.length, 0, env.kind + ': every client got all ' +
	    acked.length + ' events exactly once, in order, across ' + name);
	if (bad.length > 0)
		tap.note(JSON.stringify(bad[0].events.map((e) => e.id)));
	tap.note(env.kind + ': ' + name + ': ' + cs.reduce((n, c) => n +
	    c.opens - 1, 0) + ' reconnects over ' + cs.length + ' clients');
	for (const c of cs)
		c.close();
}

h.main('nginx', {}, async (env) => {
	const conf = path.join(env.conf, 'server.conf');
	const nginx = h.findProgram('nginx');
	await underReload(env, 'nginx -s reload', () => run(nginx, ['-c',
	    conf, '-e', path.join(env.state, 'nginx-error.log'), '-s',
	    'reload']));

	// Apache: an instance of our own beside the nginx one, same broker.
	const apache = h.findProgram('apache2');
	const mod = '/usr/lib/apache2/modules/mod_proxy_fcgi.so';
	if (apache === null || !require('fs').existsSync(mod)) {
		tap.ok(true, '# SKIP apache2 with mod_proxy_fcgi is not ' +
		    'installed');
		return;
	}
	const a = new h.Env('apache-proxy');
	a.brokerSock = env.brokerSock;
	a.respSock = env.respSock;
	try {
		await a.startWeb();
		await a.waitStreaming();
		const aconf = path.join(a.conf, 'server.conf');
		await underReload(a, 'apache2 -k graceful', () => run(apache,
		    ['-f', aconf, '-k', 'graceful']));
	} finally {
		await a.stopWeb();
	}
});
