// SPDX-License-Identifier: ISC
'use strict';
// Churn behind lighttpd: 100,000 streams opened and reset by the client
// (tests/integration/faultchurn), 64 at a time.  Afterwards the
// responder's and the broker's open fds and resident memory are back to
// what they were after a warm-up churn (within 10%), and streams work.
const fs = require('fs');
const path = require('path');
const { execFile } = require('child_process');
const h = require('./lib/harness');
const { tap, waitFor, now } = h;

h.needs(['build', 'node_modules', 'lighttpd']);
const EventSource = h.requireModule('eventsource').EventSource;
const churnBin = path.join(h.builddir, 'tests', 'integration', 'faultchurn');
if (!fs.existsSync(churnBin))
	tap.skipAll('not built: ' + churnBin);

const N = Number(process.env.FASTSSE_CHURN || 100000);

const fds = (pid) => fs.readdirSync('/proc/' + pid + '/fd').length;
const rss = (pid) => Number(/VmRSS:\s*(\d+)/.exec(fs.readFileSync('/proc/' +
    pid + '/status', 'utf8'))[1]);
// Under AddressSanitizer RSS measures its shadow and quarantine.
const sanitized = () => fs.readFileSync(h.bin.responder).includes(
    '__asan_init');

function churn(env, n) {
	return new Promise((resolve) => execFile(churnBin, [String(env.port),
	    '/events?channel=churn', String(n), '64'], { encoding: 'utf8',
	    timeout: 240000 }, (err, out, errout) => resolve({ code: err ?
	    err.code || 1 : 0, out: (out + errout).trim() })));
}

h.main('lighttpd', {}, async (env) => {
	const procs = { responder: env.responder.pid, broker: env.broker.pid };
	const settled = async () => waitFor(async () =>
	    (await env.stats()).subscribers === 0, 60000, 100);

	// Warm-up: the allocators and the servers' pools grow once.
	const w = await churn(env, 5000);
	tap.is(w.code, 0, 'warm-up churn of 5000 streams: ' + w.out);
	tap.ok(await settled(), 'the broker drops every warm-up subscriber');
	const base = {};
	for (const [k, pid] of Object.entries(procs))
		base[k] = { fds: fds(pid), rss: rss(pid) };

	const t0 = now();
	const r = await churn(env, N);
	const secs = (now() - t0) / 1000;
	tap.is(r.code, 0, N + ' streams opened and reset in ' +
	    secs.toFixed(1) + ' s: ' + r.out);
	tap.note('RESULT churn ' + Math.round(N / secs) + ' streams/s');
	tap.ok(await settled(), 'the broker drops every subscriber');
	for (const [k, pid] of Object.entries(procs)) {
		const b = base[k];
		const back = await waitFor(() => fds(pid) <= Math.ceil(
		    b.fds * 1.1), 30000, 100);
		tap.ok(back, k + ': open fds back to the baseline (' + b.fds +
		    ' before, ' + fds(pid) + ' after)');
		if (sanitized()) {
			tap.ok(true, k + ': RSS # SKIP not meaningful under ' +
			    'the sanitizers');
			continue;
		}
		const now_ = rss(pid);
		tap.ok(now_ <= b.rss * 1.1, k + ': RSS back within 10% of ' +
		    'the baseline (' + b.rss + ' KiB before, ' + now_ +
		    ' KiB after)');
	}

	// And streams still work.
	const c = new h.Client(EventSource, env.sseUrl('channel=after'));
	await waitFor(() => c.opens >= 1, 10000);
	let got = false;
	for (let i = 0; i < 50 && !got; i++) {
		await env.publish('after', 'x');
		got = await waitFor(() => c.events.length > 0, 200);
	}
	tap.ok(got, 'a new stream gets events after the churn');
	c.close();
});
