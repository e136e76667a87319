// SPDX-License-Identifier: ISC
'use strict';
// How many never-ending SSE streams one HTTP/2 connection runs at once
// behind a web server with the -h2 variant of its config (fcgi/conf):
// starts the broker, the responder and the server with TLS on free ports
// (tests/web/lib/harness.js), opens one HTTP/2 session, optionally
// completes WARM short requests GAP ms apart first (they lift Apache
// mod_http2's per-connection limit), then opens N streams on N channels
// and prints how many got their first bytes within 3 s.
//   node tests/bench/h2_streams.js KIND [N [WARM [GAP]]]
// KIND: nginx, lighttpd or apache-proxy.  Run from the build directory
// (or set top_builddir), after tests/web/setup.sh.
const path = require('path');
process.env.top_srcdir = process.env.top_srcdir ||
    path.join(__dirname, '..', '..');
process.env.top_builddir = process.env.top_builddir || process.cwd();
const h = require('../web/lib/harness');
const h2 = require('../web/lib/h2');

const [kind, n = 10, warm = 0, gap = 250] = process.argv.slice(2);
if (!kind) {
	console.error('usage: h2_streams.js nginx|lighttpd|apache-proxy ' +
	    '[N [WARM [GAP]]]');
	process.exit(2);
}
const isStream = (s) => /^retry: \d+$/m.test(s.text);

(async () => {
	const env = new h.Env(kind, { tls: true });
	let status = 0;
	try {
		await env.start();
		const s = await h2.connect(env);
		for (let i = 0; i < Number(warm); i++) {
			await h.sleep(Number(gap));
			await h2.request(s, '/');
		}
		const st = [];
		const t0 = h.now();
		for (let i = 0; i < Number(n); i++)
			st.push(new h2.Stream(s, '/events?channel=bench-' + i));
		await h.waitFor(() => st.every(isStream), 3000, 5);
		const running = st.filter(isStream).length;
		console.log(kind + ': SETTINGS_MAX_CONCURRENT_STREAMS ' +
		    s.remoteSettings.maxConcurrentStreams + '; after ' + warm +
		    ' short requests ' + gap + ' ms apart, ' + running + ' of ' +
		    n + ' streams running after ' +
		    (h.now() - t0).toFixed(0) + ' ms');
		for (const x of st)
			x.close();
		s.close();
	} catch (e) {
		console.error(String(e && e.stack || e) + env.stateLogs());
		status = 1;
	}
	await env.stop();
	process.exit(status);
})();
