// SPDX-License-Identifier: ISC
'use strict';
// Publishing over HTTP through a real web server: N POSTs one after the
// other on a keep-alive connection, each waited for, with an open stream
// on the channel.  Prints the POST round trip (to the 201) and the time
// from sending the POST to the event arriving on the stream, as
// percentiles, plus the load average.  Run from the build directory:
//   node SRC/tests/bench/httppub.js [nginx|lighttpd|apache-proxy] [N]
// (top_srcdir/top_builddir as for the web tests; default nginx, 2000).

const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const h = require('../web/lib/harness');

const kind = process.argv[2] || 'nginx';
const n = Number(process.argv[3] || 2000);
const KEY = 'bench-publish-key-0123456789abcdef';

function pct(a, p) {
	const s = a.slice().sort((x, y) => x - y);
	return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
}

async function bench(env) {
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	const sent = new Map();
	const lat = [];
	const s = new h.RawStream(env.sseUrl('channel=bench'));
	if (!await h.waitFor(() => /^:/m.test(s.text), 5000))
		throw new Error('no stream');
	// Each event timed from its POST's sending to the arrival of the
	// chunk that completed its data line.
	const scan = () => {
		let text = '';
		lat.length = 0;
		for (const c of s.chunks) {
			const before = text.length;
			text += c.d;
			const re = /^data: (\d+)\n/mg;
			re.lastIndex = Math.max(0, text.lastIndexOf('\n',
			    before - 1) + 1);
			let m;
			while ((m = re.exec(text)) !== null)
				if (m.index + m[0].length > before &&
				    sent.has(m[1]))
					lat.push(c.t - sent.get(m[1]));
		}
	};
	const rtt = [];
	const start = h.now();
	for (let i = 0; i < n; i++) {
		const t0 = h.now();
		sent.set(String(i), t0);
		const r = await new Promise((resolve, reject) => {
			const req = http.request(env.url('/events?channel=bench'),
			    { method: 'POST', agent, headers: {
			    Authorization: 'Bearer ' + KEY,
			    'Content-Type': 'text/plain' } }, (res) => {
				res.resume();
				res.on('end', () => resolve(res.statusCode));
			});
			req.on('error', reject);
			req.end(String(i));
		});
		if (r !== 201)
			throw new Error('POST ' + i + ': ' + r);
		rtt.push(h.now() - t0);
	}
	const secs = (h.now() - start) / 1000;
	await h.waitFor(() => { scan(); return lat.length >= n; }, 10000);
	s.close();
	const f = (a) => ['p50', 'p90', 'p99', 'max'].map((k, j) =>
	    k + ' ' + pct(a, [50, 90, 99, 100][j]).toFixed(2) + ' ms')
	    .join(', ');
	console.log('# ' + kind + ': ' + n + ' POSTs in ' + secs.toFixed(2) +
	    ' s (' + (n / secs).toFixed(0) + '/s, one at a time)');
	console.log('# POST -> 201:    ' + f(rtt));
	console.log('# POST -> stream: ' + f(lat) + ' (' + lat.length +
	    ' events seen)');
	console.log('# load average: ' + os.loadavg().map((x) =>
	    x.toFixed(2)).join(' '));
	h.tap.ok(lat.length === n, 'every event reached the stream');
}

h.needs(['build', kind]);
const keydir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastsse-key-'));
fs.chmodSync(keydir, 0o755);
fs.writeFileSync(path.join(keydir, 'k'), KEY + '\n', { mode: 0o644 });
process.on('exit', () => fs.rmSync(keydir, { recursive: true, force: true }));
h.main(kind, { respArgs: ['--publish-key', path.join(keydir, 'k')] }, bench);
