// SPDX-License-Identifier: ISC
'use strict';
// The scenarios over TLS + HTTP/2, for each web server with the -h2
// variant of its config (fcgi/conf/*-h2.conf) and a certificate made by the
// test: a page in headless Chromium opening more EventSources than
// HTTP/1.1's six connections allow, each server's limit on streams per
// connection, and with node's http2 client what works over HTTP/1.1:
// events at once, heartbeats, a closed stream leaving within a heartbeat
// interval, Last-Event-ID, the "responder down" answer, CORS.

const fs = require('fs');
const os = require('os');
const path = require('path');
const h = require('./harness');
const h2 = require('./h2');
const { tap, waitFor, sleep, now } = h;

const chromiumPath = process.env.FASTSSE_CHROMIUM || '/usr/bin/chromium';

// What each server allows on one connection, as measured (README,
// "Many streams per page"): the SETTINGS_MAX_CONCURRENT_STREAMS it
// announces, how many never-ending streams run at once on a fresh
// connection, and whether closing one lets a waiting one start.  Apache's
// mod_http2 starts a connection at six requests in progress and doubles
// that each time a request on it completes (at most once per 100 ms):
// `warm` such requests first lift it above ten.  It also lowers the limit
// (6, 4, 2) when the client resets a running stream, which is how a
// browser closes an EventSource: a waiting stream then stays waiting.
const limits = {
	'nginx': { settings: 128, cold: Infinity, refill: true },
	'lighttpd': { settings: 8, cold: 8, refill: true },
	'apache-proxy': { settings: 100, cold: 6, warm: 3, refill: false,
	    // The page's own request completes on the connection too: if
	    // that happens 100 ms or more after the connection opened (a
	    // slow or loaded machine), the limit is 12 before the page's
	    // EventSources ask.
	    coldPage: [6, 12] },
};

const fmt = (ms) => ms.toFixed(1) + ' ms';
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
const isStream = (s) => /^retry: \d+$/m.test(s.text);

// A stream on a channel whose subscription is live: publish markers until
// one arrives (events published before the responder subscribed are not
// replayed).
async function openLive(env, session, channel, headers = {}) {
	const s = new h2.Stream(session, '/events?channel=' + channel, headers);
	if (!await waitFor(() => isStream(s) || s.ended, 10000) || s.ended)
		throw new Error('no HTTP/2 stream on ' + channel + ': ' + s.text);
	for (let i = 0; i < 50; i++) {
		await env.publish(channel, 'warm-up', 'warmup');
		if (await waitFor(() => /^event: warmup$/m.test(s.text), 200))
			return s;
	}
	throw new Error('no event on ' + channel + ' after warm-up');
}

// The session is HTTP/2 over TLS, with the server's stream limit.
function session(env, s) {
	tap.is(s.alpnProtocol, 'h2', env.kind + ': TLS with ALPN h2');
	const want = limits[env.kind].settings;
	tap.is(s.remoteSettings.maxConcurrentStreams, want, env.kind +
	    ': the server allows ' + want + ' concurrent streams per ' +
	    'connection (SETTINGS_MAX_CONCURRENT_STREAMS)');
}

// N never-ending streams on one connection: how many run at once, and a
// waiting one starts when a running one is closed.
async function manyStreams(env, s, n, warm) {
	const lim = limits[env.kind];
	const want = Math.min(n, warm ? Infinity : lim.cold);
	const base = (await env.stats()).subscribers;
	const st = [];
	const t0 = now();
	for (let i = 0; i < n; i++)
		st.push(new h2.Stream(s, '/events?channel=many-' + i));
	await waitFor(() => st.filter(isStream).length >= n, 3000);
	// Give a stream over the limit time to show up wrongly.
	await sleep(want < n ? 300 : 0);
	const running = st.filter(isStream).length;
	const what = env.kind + (warm ? ' (after ' + lim.warm +
	    ' short requests)' : '') + ': ' + n + ' streams on one connection';
	tap.note(what + ': ' + running + ' running after ' + fmt(now() - t0));
	tap.is(running, want, what + ': ' + want + ' run at once');
	if (running < n && running > 0) {
		st.find(isStream).close();
		const more = await waitFor(() => st.filter(isStream).length >
		    running, lim.refill ? 5000 : 2000);
		if (lim.refill)
			tap.ok(more, what + ': closing one lets a waiting one ' +
			    'start');
		else
			tap.ok(!more, what + ': closing one does not let a ' +
			    'waiting one start (the reset lowers the limit)');
	}
	for (const x of st)
		x.close();
	// Let the closed streams leave the responder and the broker.
	await waitFor(async () => (await env.stats()).subscribers <= base,
	    env.heartbeat * 3000 + 2000, 20);
}

// mod_http2's limit grows only as requests on the connection complete.
async function warmUp(s, k) {
	for (let i = 0; i < k; i++) {
		await sleep(250);
		await h2.request(s, '/');
	}
}

// Published events arrive at once: no buffering in the HTTP/2 layer.
async function delivery(env, s, results) {
	const st = await openLive(env, s, 'lat');
	const pub = env.linePublisher('lat');
	const lat = [];
	for (let i = 0; i < 20; i++) {
		const data = 'h2-' + i;
		const t0 = now();
		pub.send(data);
		if (!await waitFor(() => st.text.includes('data: ' + data +
		    '\n'), 2000, 1))
			break;
		lat.push(now() - t0);
	}
	await pub.end();
	st.close();
	tap.is(lat.length, 20, env.kind + ': 20 events published, 20 arrived ' +
	    'over HTTP/2');
	if (lat.length === 0)
		return;
	results.lines = { median: median(lat), max: Math.max(...lat) };
	tap.note(env.kind + ': fastsse publish --lines -> HTTP/2 stream: ' +
	    'median ' + fmt(median(lat)) + ', max ' + fmt(Math.max(...lat)));
	tap.ok(median(lat) < 100, env.kind + ': median latency < 100 ms',
	    lat.map(fmt).join(' '));
	tap.ok(Math.max(...lat) < 1000, env.kind + ': every event within 1 s',
	    lat.map(fmt).join(' '));
}

// Heartbeats on an idle stream; a stream the client resets leaves the
// broker's subscriber count within a heartbeat interval (two allowed).
async function heartbeat(env, s, results) {
	const hb = env.heartbeat * 1000;
	const idle = new h2.Stream(s, '/events?channel=h2-idle');
	await waitFor(() => (idle.text.match(/^:/mg) || []).length >= 3,
	    hb * 4 + 2000);
	const comments = idle.chunks.filter((c) => /^:/m.test(c.d));
	tap.ok(comments.length >= 3, env.kind + ': heartbeat comments on an ' +
	    'idle HTTP/2 stream', idle.text);
	if (comments.length >= 3) {
		const gap = comments[2].t - comments[1].t;
		tap.ok(gap > hb * 0.25 && gap < hb, env.kind +
		    ': heartbeats about ' + env.heartbeat / 2 + ' s apart (' +
		    fmt(gap) + ')');
	}
	idle.close();
	await waitFor(async () => (await env.stats()).subscribers === 0,
	    hb * 3 + 2000, 20);

	const base = (await env.stats()).subscribers;
	const st = await openLive(env, s, 'h2-gone');
	let during = base;
	await waitFor(async () =>
	    (during = (await env.stats()).subscribers) > base, 5000, 20);
	tap.ok(during > base, env.kind + ': an open HTTP/2 stream counts as ' +
	    'a subscriber', { base, during });
	const t0 = now();
	st.close();
	const gone = await waitFor(async () =>
	    (await env.stats()).subscribers <= base, hb * 3 + 2000, 20);
	const dt = now() - t0;
	results.goneAfter = dt;
	// Usually within one interval; a second one is allowed for a loaded
	// machine (late pings, teardown, stats polling).
	tap.ok(gone && dt < hb * 2 + 1000, env.kind + ': a reset stream ' +
	    'leaves the subscriber count within two heartbeat intervals (' +
	    fmt(dt) + ')');
}

// Last-Event-ID on a new stream replays exactly the missed events.
async function lastEventId(env, s) {
	const ids = [];
	for (let i = 1; i <= 5; i++)
		ids.push(await env.publish('h2-resume', 'r' + i));
	const st = new h2.Stream(s, '/events?channel=h2-resume',
	    { 'last-event-id': ids[1] });
	await waitFor(() => st.datas().length >= 3, 5000);
	await sleep(100);	// time for anything extra to show up
	st.close();
	tap.is(st.datas(), ['r3', 'r4', 'r5'], env.kind + ': Last-Event-ID ' +
	    'over HTTP/2 replays exactly the missed events');
	const got = (st.text.match(/^id: .*$/mg) || []).map((l) => l.slice(4));
	tap.is(got, ids.slice(2), env.kind + ': with their ids');
}

// The CORS answers pass through HTTP/2.
async function cors(env, s, allowed) {
	const st = new h2.Stream(s, '/events?channel=h2-cors',
	    { origin: allowed });
	await waitFor(() => st.headers !== null || st.ended, 5000);
	st.close();
	tap.is(st.headers && st.headers['access-control-allow-origin'], allowed,
	    env.kind + ': allowed origin gets Access-Control-Allow-Origin ' +
	    'over HTTP/2');
	const r = await h2.request(s, '/events?channel=h2-cors', {
	    method: 'OPTIONS', headers: { origin: allowed,
	    'access-control-request-method': 'GET',
	    'access-control-request-headers': 'last-event-id' } });
	tap.ok(r.status === 200 || r.status === 204, env.kind +
	    ': preflight answered over HTTP/2', r.status);
	tap.is(r.headers['access-control-allow-origin'], allowed, env.kind +
	    ': preflight allows the origin');
	tap.ok(/last-event-id/i.test(r.headers['access-control-allow-headers'] ||
	    ''), env.kind + ': preflight allows Last-Event-ID',
	    r.headers['access-control-allow-headers']);
}

// With the responder down, the answer that keeps an EventSource
// reconnecting comes through HTTP/2 too.
async function downAnswer(env, s) {
	await env.responder.stop('SIGTERM');
	const r = await h2.request(s, '/events?channel=x');
	tap.is(r.status, 200, env.kind + ': responder down, over HTTP/2: ' +
	    'status 200');
	tap.ok(/^text\/event-stream/.test(r.headers['content-type'] || ''),
	    env.kind + ': responder down: text/event-stream',
	    r.headers['content-type']);
	tap.is(r.body.trim(), 'retry: ' + env.downRetry, env.kind +
	    ': responder down: the body is only retry:');
	await env.startResponder();
}

// The test page: ?n=N EventSources on channels page-0..page-(N-1), or with
// &multi=1 one EventSource subscribed to all N channels; &warm=K first
// completes K short requests 250 ms apart.  What it sees is in window.st.
const page = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>many streams</title></head><body><script>
'use strict';
const q = new URLSearchParams(location.search);
const n = Number(q.get('n') || 10), warm = Number(q.get('warm') || 0);
window.st = { opened: [], events: {}, errors: 0, started: false };
const ch = (i) => 'page-' + i;
const rec = (e) => {
	const m = /^to (page-\\d+)$/.exec(e.data);
	if (m) window.st.events[m[1]] = (window.st.events[m[1]] || 0) + 1;
};
function open(url, i) {
	const es = new EventSource(url);
	es.onopen = () => { if (!window.st.opened.includes(i))
	    window.st.opened.push(i); };
	es.onerror = () => { window.st.errors++; };
	es.onmessage = rec;
	es.addEventListener('warmup', rec);
}
(async () => {
	for (let i = 0; i < warm; i++) {
		await new Promise((r) => setTimeout(r, 250));
		await (await fetch('/?warm=' + i, { cache: 'no-store' })).text();
	}
	window.st.started = true;
	if (q.get('multi')) {
		const all = [];
		for (let i = 0; i < n; i++)
			all.push('channel=' + ch(i));
		open('/events?' + all.join('&'), 0);
	} else {
		for (let i = 0; i < n; i++)
			open('/events?channel=' + ch(i), i);
	}
})();
</script></body></html>
`;

// Publishes "to page-i" on every channel until each has arrived once at
// the page (a subscription is live only some time after the open);
// resolves with the channels that got one.
async function feedPage(env, pg, n, ms) {
	const end = now() + ms;
	let got = {};
	while (now() < end) {
		got = await pg.evaluate(() => window.st.events);
		const missing = [];
		for (let i = 0; i < n; i++)
			if (!got['page-' + i])
				missing.push(i);
		if (missing.length === 0)
			break;
		await Promise.all(missing.map((i) => env.publish('page-' + i,
		    'to page-' + i)));
		await sleep(100);
	}
	return Object.keys(got).length;
}

// One page in headless Chromium opening more EventSources than HTTP/1.1
// allows: over HTTP/2 (checked with the Navigation Timing API), each opens
// within 3 s and receives an event, up to the server's limit per
// connection; past it, the remedies (one stream for several channels, and
// on Apache short requests first) work; closing the tab releases every
// stream within a heartbeat interval (two allowed).
async function browser(env, results) {
	if (!fs.existsSync(chromiumPath)) {
		tap.ok(true, env.kind + ': browser checks # SKIP no Chromium at ' +
		    chromiumPath);
		return;
	}
	const pw = h.requireModule('playwright-core');
	fs.writeFileSync(path.join(env.www, 'many.html'), page);
	const n = 10;
	const lim = limits[env.kind];

	// One case in a tab: the page over h2, how many of its EventSources
	// open within 3 s (one of the limits in wants), an event on each
	// channel, and closing the tab.
	const runPage = async (ctx, query, wants, what) => {
		const base = (await env.stats()).subscribers;
		const pg = await ctx.newPage();
		await pg.goto(env.tlsUrl('/many.html?n=' + n + query));
		const proto = await pg.evaluate(() => performance
		    .getEntriesByType('navigation')[0].nextHopProtocol);
		tap.is(proto, 'h2', env.kind + ' in Chromium' + what +
		    ': the page came over HTTP/2');
		await pg.waitForFunction(() => window.st.started, null,
		    { timeout: 10000 });
		const t0 = now();
		const all = query.includes('multi') ? 1 : n;
		const okCounts = wants.map((w) => Math.min(w, all));
		await waitFor(async () => (await pg.evaluate(() =>
		    window.st.opened.length)) >= all, 3000, 20);
		await sleep(Math.min(...okCounts) < all ? 300 : 0);
		const opened = await pg.evaluate(() => window.st.opened.length);
		const dt = now() - t0;
		tap.note(env.kind + ' in Chromium' + what + ': ' + opened +
		    ' of ' + all + ' EventSources open after ' + fmt(dt));
		tap.ok(okCounts.includes(opened), env.kind + ' in Chromium' +
		    what + ': ' + okCounts.join(' or ') + ' of ' + all +
		    ' EventSources open within 3 s', { opened });
		const chans = query.includes('multi') ? n : opened;
		const got = await feedPage(env, pg, chans, 10000);
		tap.is(got, chans, env.kind + ' in Chromium' + what +
		    ': each of ' + chans + ' channels receives its event');
		const t1 = now();
		await pg.close();
		const gone = await waitFor(async () =>
		    (await env.stats()).subscribers <= base,
		    env.heartbeat * 3000 + 2000, 20);
		const dt1 = now() - t1;
		tap.ok(gone && dt1 < env.heartbeat * 2000 + 1000, env.kind +
		    ' in Chromium' + what + ': closing the tab releases its ' +
		    'streams within two heartbeat intervals (' + fmt(dt1) +
		    ')');
		return { opened, ms: dt };
	};

	// Each case in a browser of its own, so on a new connection: what
	// one page did to its connection (Apache lowers its limit when a
	// tab closes its streams) must not carry over to the next case.
	const run = async (query, want, what) => {
		const profile = fs.mkdtempSync(path.join(os.tmpdir(),
		    'fastsse-chromium-'));
		let ctx = null;
		try {
			ctx = await pw.chromium.launchPersistentContext(profile, {
				executablePath: chromiumPath,
				headless: true,
				// --ignore-certificate-errors: the test's
				// self-signed certificate (test only).
				args: ['--headless', '--no-sandbox',
				    '--disable-gpu', '--disable-quic',
				    '--no-first-run',
				    '--disable-background-networking',
				    '--disable-component-update',
				    '--disable-sync',
				    '--ignore-certificate-errors'],
				timeout: 60000,
			});
			return await runPage(ctx, query, want, what);
		} finally {
			if (ctx !== null)
				await ctx.close().catch(() => {});
			fs.rmSync(profile, { recursive: true, force: true });
		}
	};

	results.page = await run('', lim.coldPage || [lim.cold], '');
	if (lim.warm !== undefined)
		results.pageWarm = await run('&warm=' + lim.warm, [n],
		    ' (' + lim.warm + ' short requests first)');
	if (lim.cold < n)
		results.pageMulti = await run('&multi=1', [1],
		    ' (one EventSource for ' + n + ' channels)');
}

// nginx-h2.conf is a whole copy of nginx.conf plus TLS: their SSE parts
// must not drift apart.
function sameSsePart() {
	const part = (f) => {
		const t = fs.readFileSync(path.join(h.confdir, f), 'utf8');
		const a = t.indexOf('# ---- SSE'), b = t.indexOf('# ---- end of SSE');
		return a >= 0 && b > a ? t.slice(a, b) : null;
	};
	const plain = part('nginx.conf');
	tap.ok(plain !== null && plain === part('nginx-h2.conf'),
	    'nginx: nginx-h2.conf has the same SSE part as nginx.conf');
}

function run(kind) {
	h.needs(['build', 'node_modules', 'tls', kind + '-tls']);
	const allowed = 'http://allowed.example';
	// Heartbeat 2 s: "within one interval" keeps 1 s of slack for the
	// sanitizers on a loaded machine (Apache took 2.7 s with 1 s).
	h.main(kind, { tls: true, heartbeat: 2,
	    respArgs: ['--cors-origin', allowed] },
	    async (env) => {
		const results = {};
		if (kind === 'nginx')
			sameSsePart();
		let s = await h2.connect(env);
		session(env, s);
		// The harness's readiness probe may still be leaving.
		await waitFor(async () => (await env.stats()).subscribers === 0,
		    5000, 20);
		await manyStreams(env, s, 20, false);
		s.close();
		if (limits[kind].warm !== undefined) {
			s = await h2.connect(env);
			await warmUp(s, limits[kind].warm);
			await manyStreams(env, s, 10, true);
			s.close();
		}
		// A session per scenario: a server closes a connection left
		// without streams for its keep-alive time (5 s in lighttpd
		// and Apache), which a slow machine may reach in between.
		for (const f of [delivery, heartbeat, lastEventId, cors,
		    downAnswer]) {
			s = await h2.connect(env);
			await f(env, s, f === cors ? allowed : results);
			s.close();
		}
		await browser(env, results);
		tap.note('RESULT ' + kind + ' h2 ' + JSON.stringify(results));
	});
}

module.exports = { run, limits };
