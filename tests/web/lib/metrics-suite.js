// SPDX-License-Identifier: ISC
'use strict';
// What an operator sees, through a real web server with the shipped
// config: the responder's /events/metrics parsed by a strict parser
// (prometheus_client's, from Debian's python3-prometheus-client), stream
// counts going up and back down as EventSource and curl clients come and
// go (in the responder's metrics, `fastsse stats` and `fastsse stats
// CHANNEL`), the latency histogram, `fastsse stats --prometheus`, the
// health answer following the broker down and up, and --metrics-allow
// refusing another source address (127.0.0.2).

const fs = require('fs');
const http = require('http');
const path = require('path');
const { execFile, execFileSync, spawn } = require('child_process');
const h = require('./harness');
const { tap, waitFor, Client } = h;

const promparse = path.join(__dirname, 'promparse.py');

// A python3 that has prometheus_client, or null.
function findPython() {
	for (const p of ['/usr/bin/python3', 'python3']) {
		try {
			execFileSync(p, ['-c', 'import prometheus_client'],
			    { stdio: 'ignore' });
			return p;
		} catch (e) { /* next */ }
	}
	return null;
}

// Parses exposition text strictly; resolves with { families, samples }
// or rejects with the parser's complaint.
function parse(python, text) {
	return new Promise((resolve, reject) => {
		const p = execFile(python, [promparse], { encoding: 'utf8' },
		    (err, out, errout) => {
			if (err)
				reject(new Error('not valid exposition text: ' +
				    errout + '\n' + text));
			else
				resolve(JSON.parse(out));
		});
		p.stdin.end(text);
	});
}

// The value of one sample (name and labels), or undefined.
function value(parsed, name, labels = {}) {
	const s = parsed.samples.find((x) => x[0] === name &&
	    Object.entries(labels).every(([k, v]) => x[1][k] === v));
	return s === undefined ? undefined : s[2];
}

// GET with an optional source address.
function get(url, localAddress) {
	return new Promise((resolve, reject) => {
		const req = http.get(url, { agent: false, localAddress },
		    (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { body += d; });
			res.on('end', () => resolve({ status: res.statusCode,
			    headers: res.headers, body }));
		});
		req.setTimeout(5000, () => req.destroy(new Error('timeout')));
		req.on('error', reject);
	});
}

function cli(env, args) {
	return new Promise((resolve) => {
		execFile(env.cli[0], args, { encoding: 'utf8', env: env.cli[1] },
		    (err, out, errout) => resolve({ code: err ? err.code : 0,
		    out, err: errout }));
	});
}

async function channelStats(env, ch) {
	const r = await cli(env, ['stats', '--socket', env.brokerSock, ch]);
	return JSON.parse(r.out)[ch];
}

// Whether 127.0.0.2 can be a source address here (Linux: all of
// 127.0.0.0/8 is local).
async function canUse127002(env) {
	try {
		await get(env.url('/'), '127.0.0.2');
		return true;
	} catch (e) {
		return false;
	}
}

function run(kind) {
	h.needs(['build', 'node_modules', 'curl', kind]);
	const python = findPython();
	if (python === null)
		tap.skipAll('python3-prometheus-client is not installed');
	const EventSource = h.requireModule('eventsource').EventSource;
	const mpath = '/events/metrics';
	h.main(kind, { respArgs: ['--metrics-path', mpath] }, async (env) => {
		const scrape = async () => {
			const r = await get(env.url(mpath));
			if (r.status !== 200)
				throw new Error('metrics: ' + r.status + ' ' +
				    r.body);
			return parse(python, r.body);
		};
		const k = env.kind + ': ';

		// The format, strictly parsed, and its content type.
		const r0 = await get(env.url(mpath));
		tap.is(r0.status, 200, k + 'GET ' + mpath + ': 200', r0.body);
		tap.ok(/^text\/plain; version=0\.0\.4/.test(
		    r0.headers['content-type'] || ''), k + 'content type of ' +
		    'the text format 0.0.4', r0.headers['content-type']);
		const m0 = await parse(python, r0.body);
		const fams = new Map(m0.families.map((f) => [f[0], f[1]]));
		for (const [n, t] of [['fastsse_streams_open', 'gauge'],
		    ['fastsse_streams_opened', 'counter'],
		    ['fastsse_events_delivered', 'counter'],
		    ['fastsse_replays', 'counter'],
		    ['fastsse_resets', 'counter'],
		    ['fastsse_slow_consumers_dropped', 'counter'],
		    ['fastsse_broker_connection_up', 'gauge'],
		    ['fastsse_publish_to_write_seconds', 'histogram']])
			tap.is(fams.get(n), t, k + n + ' is a ' + t);
		tap.is(value(m0, 'fastsse_broker_connection_up'), 1,
		    k + 'broker connection up');

		// Counts go up with clients: 3 EventSource on m1, 1 curl on m2.
		await waitFor(async () => value(await scrape(),
		    'fastsse_streams_open') === 0, 10000, 50);
		await waitFor(async () => (await env.stats()).streams === 0,
		    10000, 50);
		const opened0 = value(await scrape(),
		    'fastsse_streams_opened_total');
		const es = [];
		for (let i = 0; i < 3; i++)
			es.push(new Client(EventSource, env.sseUrl('channel=m1')));
		const curl = spawn('curl', ['-sN', env.sseUrl('channel=m2')]);
		let up = await waitFor(async () => value(await scrape(),
		    'fastsse_streams_open') === 4, 10000, 50);
		tap.ok(up, k + 'metrics: 4 streams open');
		const m1 = await scrape();
		tap.is(value(m1, 'fastsse_streams_opened_total') - opened0, 4,
		    k + 'metrics: 4 streams opened');
		up = await waitFor(async () => (await env.stats()).streams === 4,
		    10000, 50);
		tap.ok(up, k + 'fastsse stats: "streams" 4 (reported by the ' +
		    'responder)');
		up = await waitFor(async () =>
		    (await channelStats(env, 'm1')).streams === 3, 10000, 50);
		tap.ok(up, k + 'fastsse stats m1: 3 streams');
		tap.is((await channelStats(env, 'm2')).streams, 1,
		    k + 'fastsse stats m2: 1 stream');

		// Events: delivered counts, latency observed, channel figures.
		const before = await scrape();
		const ids = [];
		for (let i = 0; i < 5; i++) {
			ids.push(await env.publish('m1', 'event ' + i));
			if (i === 0)
				await waitFor(() => es.every((c) =>
				    c.events.length > 0), 5000);
		}
		const got = await waitFor(() => es.every((c) =>
		    c.events.length >= 5), 10000);
		tap.ok(got, k + 'the 3 EventSource clients got the events');
		const after = await scrape();
		const delivered = value(after, 'fastsse_events_delivered_total') -
		    value(before, 'fastsse_events_delivered_total');
		tap.ok(delivered >= 15, k + 'events delivered went up by at ' +
		    'least 15 (' + delivered + ')');
		const nlat = value(after, 'fastsse_publish_to_write_seconds_count') -
		    value(before, 'fastsse_publish_to_write_seconds_count');
		tap.ok(nlat >= 15, k + 'latency observed per event and stream (' +
		    nlat + ')');
		const inf = value(after, 'fastsse_publish_to_write_seconds_bucket',
		    { le: '+Inf' });
		tap.is(inf, value(after, 'fastsse_publish_to_write_seconds_count'),
		    k + 'the +Inf bucket is the count');
		const cs = await channelStats(env, 'm1');
		tap.is(cs.history_events, 5, k + 'fastsse stats m1: 5 events held');
		tap.ok(cs.history_bytes > 0, k + 'fastsse stats m1: bytes held');
		tap.is(cs.oldest_id, ids[0], k + 'fastsse stats m1: oldest id');
		tap.is(cs.last_id, ids[4], k + 'fastsse stats m1: last id');
		const none = await channelStats(env, 'nosuchchannel');
		tap.ok(none.streams === 0 && none.history_events === 0 &&
		    none.oldest_id === null && none.last_id === null,
		    k + 'an unknown channel: zeros and nulls', JSON.stringify(none));

		// fastsse stats --prometheus, strictly parsed too.
		const pr = await cli(env, ['stats', '--socket', env.brokerSock,
		    '--prometheus', 'm1']);
		tap.is(pr.code, 0, k + 'fastsse stats --prometheus exits 0');
		const bp = await parse(python, pr.out);
		tap.is(value(bp, 'fastsse_broker_up'), 1, k + 'broker up 1');
		tap.is(value(bp, 'fastsse_broker_streams'), 4,
		    k + 'broker: fastsse_broker_streams 4');
		tap.is(value(bp, 'fastsse_channel_streams', { channel: 'm1' }), 3,
		    k + 'broker: fastsse_channel_streams{channel="m1"} 3');
		tap.ok(value(bp, 'fastsse_events_published_total') >= 5,
		    k + 'broker: events published counted');

		// ... and back down as the clients go.
		for (const c of es)
			c.close();
		curl.kill();
		const down = await waitFor(async () => value(await scrape(),
		    'fastsse_streams_open') === 0, 15000, 50);
		tap.ok(down, k + 'metrics: back to 0 streams open');
		const bdown = await waitFor(async () =>
		    (await env.stats()).streams === 0, 15000, 50);
		tap.ok(bdown, k + 'fastsse stats: back to 0 streams');
		tap.is((await channelStats(env, 'm1')).streams, 0,
		    k + 'fastsse stats m1: 0 streams');

		// --metrics-allow: 127.0.0.2 is refused, 127.0.0.1 is not.
		if (await canUse127002(env)) {
			const r = await get(env.url(mpath), '127.0.0.2');
			tap.is(r.status, 403, k + 'metrics from 127.0.0.2: 403',
			    r.body);
			tap.ok(!/fastsse_/.test(r.body), k + 'no metrics in the ' +
			    '403');
			const m = await scrape();
			tap.ok(value(m, 'fastsse_metrics_refused_total') >= 1,
			    k + 'the refusal is counted');
		} else
			tap.ok(true, k + '# SKIP 127.0.0.2 is not usable here');

		// Health follows the broker.
		let hr = await get(env.url('/events/health'));
		tap.is(hr.status, 200, k + 'health: 200 with the broker up',
		    hr.body);
		await env.broker.stop();
		const h503 = await waitFor(async () =>
		    (await get(env.url('/events/health'))).status === 503,
		    10000, 50);
		tap.ok(h503, k + 'health: 503 with the broker down');
		tap.is(value(await scrape(), 'fastsse_broker_connection_up'), 0,
		    k + 'metrics: broker connection down');
		const pd = await cli(env, ['stats', '--socket', env.brokerSock,
		    '--prometheus']);
		tap.ok(pd.code !== 0 && value(await parse(python, pd.out),
		    'fastsse_broker_up') === 0, k + 'fastsse stats --prometheus: ' +
		    'broker_up 0, exit status 1', pd.out + pd.err);
		await env.startBroker();
		const h200 = await waitFor(async () =>
		    (await get(env.url('/events/health'))).status === 200,
		    10000, 50);
		tap.ok(h200, k + 'health: 200 again once the broker is back');
		hr = await get(env.url('/events/health'));
		tap.is(hr.body, 'ok\n', k + 'health body');

		// A responder that dies: the broker forgets its streams.
		const es2 = [new Client(EventSource, env.sseUrl('channel=m3')),
		    new Client(EventSource, env.sseUrl('channel=m3'))];
		tap.ok(await waitFor(async () =>
		    (await env.stats()).streams === 2, 10000, 50),
		    k + 'fastsse stats: 2 new streams');
		await env.responder.stop('SIGKILL');
		tap.ok(await waitFor(async () =>
		    (await env.stats()).streams === 0, 10000, 50),
		    k + 'responder killed: the broker drops its counts');
		for (const c of es2)
			c.close();

		// The responder gone: health must not be the stream's "retry".
		hr = await get(env.url('/events/health'));
		tap.ok(hr.status >= 500, k + 'health with the responder down: ' +
		    hr.status, hr.body);
		await env.startResponder();
	});
}

module.exports = { run };
