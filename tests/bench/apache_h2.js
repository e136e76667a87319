// SPDX-License-Identifier: ISC
'use strict';
// Memory per idle stream over HTTP/2 (mod_http2 runs each stream in one of
// its own workers): starts the broker, the responder and KIND with the -h2
// variant of its config (tests/web/lib/harness.js), opens S sessions, lifts
// each one's stream limit with WARM short requests (Apache starts a
// connection at six running streams, see the README's "Many streams per
// page"), opens N streams on each, and prints how many run and the web
// server's RSS and PSS growth per running stream (all its processes).
//   node tests/bench/apache_h2.js KIND [S [N [WARM]]]
// KIND: apache-proxy (default), nginx or lighttpd; S 10, N 100, WARM 7.
// Run from the build directory (or set top_builddir) after
// tests/web/setup.sh.
const fs = require('fs');
const path = require('path');
process.env.top_srcdir = process.env.top_srcdir ||
    path.join(__dirname, '..', '..');
process.env.top_builddir = process.env.top_builddir || process.cwd();
const h = require('../web/lib/harness');
const h2 = require('../web/lib/h2');

const [kind = 'apache-proxy', ns = 10, n = 100, warm = 7] =
    process.argv.slice(2);
const isStream = (s) => /^retry: \d+$/m.test(s.text);

// RSS and PSS (kB) of pid and its children.
function memTree(pid) {
	let pids = [pid];
	try {
		const ch = fs.readFileSync('/proc/' + pid + '/task/' + pid +
		    '/children', 'utf8').trim();
		if (ch)
			pids = pids.concat(ch.split(/\s+/).map(Number));
	} catch (e) { /* no children file: the pid alone */ }
	let rss = 0, pss = 0;
	for (const p of pids) {
		try {
			const t = fs.readFileSync('/proc/' + p + '/smaps_rollup',
			    'utf8');
			rss += Number((t.match(/^Rss:\s+(\d+)/m) || [0, 0])[1]);
			pss += Number((t.match(/^Pss:\s+(\d+)/m) || [0, 0])[1]);
		} catch (e) { /* gone */ }
	}
	return { rss, pss };
}

(async () => {
	const env = new h.Env(kind, { tls: true });
	let status = 0;
	try {
		await env.start();
		await h.sleep(3000);	// Apache starts its threads
		const pid = env.web.child.pid;
		const m0 = memTree(pid);
		const sessions = [];
		for (let i = 0; i < Number(ns); i++)
			sessions.push(h2.connect(env));
		const ss = await Promise.all(sessions);
		await Promise.all(ss.map(async (s) => {
			for (let i = 0; i < Number(warm); i++) {
				await h.sleep(150);
				await h2.request(s, '/');
			}
		}));
		const st = [];
		ss.forEach((s, j) => {
			for (let i = 0; i < Number(n); i++)
				st.push(new h2.Stream(s,
				    '/events?channel=h2-' + j + '-' + i));
		});
		await h.waitFor(() => st.every(isStream), 10000, 50);
		await h.sleep(2000);
		const running = st.filter(isStream).length;
		const m1 = memTree(pid);
		console.log(kind + ' over HTTP/2: ' + ns + ' sessions, ' +
		    warm + ' short requests each, ' + running + ' of ' +
		    st.length + ' streams running; web server kB RSS/PSS ' +
		    m0.rss + '/' + m0.pss + ' -> ' + m1.rss + '/' + m1.pss +
		    (running ? '; per running stream ' +
		    Math.round((m1.rss - m0.rss) * 1024 / running) + '/' +
		    Math.round((m1.pss - m0.pss) * 1024 / running) +
		    ' bytes' : ''));
		for (const x of st)
			x.close();
		for (const s of ss)
			s.close();
	} catch (e) {
		console.error(String(e && e.stack || e) + env.stateLogs());
		status = 1;
	}
	await env.stop();
	process.exit(status);
})();
