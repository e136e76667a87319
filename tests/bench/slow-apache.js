// SPDX-License-Identifier: ISC
'use strict';
// How many slow clients behind Apache (shipped mod_proxy_fcgi config) it
// takes before a new stream waits more than 100 ms: each slow client
// sends `POST /events?channel=x` with Content-Length: 100000 and then a
// byte a second (KIND trickle, the default) or nothing (KIND silent).
// Prints one line per step and a RESULT line.  Run from a build tree:
//   top_srcdir=.. top_builddir=. node ../tests/bench/slow-apache.js [KIND]
const net = require('net');
const h = require('../web/lib/harness');
const { waitFor, now, RawStream } = h;

const kind = process.argv[2] || 'trickle';

async function main() {
	const env = new h.Env('apache-proxy');
	await env.start();
	const slow = [];
	const timer = setInterval(() => {
		if (kind === 'trickle')
			for (const s of slow)
				if (!s.destroyed)
					s.write('b');
	}, 1000);
	const steps = [0, 50, 100, 200, 400, 600, 800, 900, 1000, 1100,
	    1200, 1600, 2000];
	let result = null;
	for (const n of steps) {
		while (slow.length < n) {
			const s = net.connect(env.port, '127.0.0.1', () => {
				s.write('POST /events?channel=x HTTP/1.1\r\n' +
				    'Host: 127.0.0.1\r\n' +
				    'Content-Length: 100000\r\n\r\n');
			});
			s.on('error', () => {});
			slow.push(s);
		}
		// Apache starts workers gradually (MinSpareThreads): let it.
		await h.sleep(Number(process.env.SETTLE_MS || 3000));
		let worst = 0;
		for (let i = 0; i < 5; i++) {
			const t0 = now();
			const st = new RawStream(env.sseUrl('channel=bench'));
			const okk = await waitFor(() => st.text.includes('retry:'),
			    5000);
			const ms = okk ? now() - t0 : 5000;
			st.close();
			worst = Math.max(worst, ms);
		}
		const open = slow.filter((s) => !s.destroyed).length;
		console.log(n + ' slow clients (' + kind + ', ' + open +
		    ' still open): new stream ' + worst.toFixed(1) + ' ms');
		if (worst > 100) {
			result = n;
			break;
		}
	}
	clearInterval(timer);
	for (const s of slow)
		s.destroy();
	console.log(result === null ?
	    'RESULT: none up to ' + steps[steps.length - 1] + ' slow clients' :
	    'RESULT: ' + result + ' slow clients (' + kind +
	    ') make a new stream wait > 100 ms behind Apache ' +
	    '(MaxRequestWorkers in the shipped config)');
	await env.stop();
	process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
