// SPDX-License-Identifier: ISC
'use strict';
// Publishing over HTTP (fastsse-fcgi --publish-key) through a real web
// server: curl, PHP's file_get_contents and Python's urllib each POST an
// event, get 201 and its id, and the event reaches a stream; the errors
// (400, 401, 405, 413, 415, 503) come with their reasons and headers; a
// retry with the same Idempotency-Key after the client dropped the first
// connection makes no duplicate.

const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const { execFile } = require('child_process');
const h = require('./harness');
const { tap } = h;

const KEY = 'test-publish-key-0123456789abcdef';
const OLDKEY = 'an-older-key-still-valid-42';
const exdir = path.join(h.srcdir, 'tests', 'web', 'httppub');
// Debian's python3: a version manager's shim can take seconds to start.
const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function run(prog, args, env = {}) {
	return new Promise((resolve) => {
		execFile(prog, args, { encoding: 'utf8', timeout: 30000,
		    env: Object.assign({}, process.env, env) },
		    (err, out, errout) => resolve({ code: err ? (err.code || 1) :
		    0, out: out.trim(), err: errout }));
	});
}

// A POST with node's http, for the cases curl makes awkward.
function post(env, query, body, headers = {}) {
	return h.request(env.url('/events' + query), { method: 'POST',
	    headers: Object.assign({ 'Content-Type': 'text/plain' }, headers),
	    body });
}

function auth(k = KEY) { return { Authorization: 'Bearer ' + k }; }

// Events of a raw stream, parsed from its text: [{id, type, data}].
function events(s) {
	const out = [];
	for (const block of s.text.split('\n\n')) {
		const ev = { id: null, type: 'message', data: [] };
		let any = false;
		for (const line of block.split('\n')) {
			const m = /^(id|event|data): ?(.*)$/.exec(line);
			if (m === null)
				continue;
			if (m[1] === 'id')
				ev.id = m[2];
			else if (m[1] === 'event')
				ev.type = m[2];
			else {
				ev.data.push(m[2]);
				any = true;
			}
		}
		if (any) {
			ev.data = ev.data.join('\n');
			out.push(ev);
		}
	}
	return out;
}

async function openStream(env, channel) {
	const s = new h.RawStream(env.sseUrl('channel=' + channel));
	if (!await h.waitFor(() => /^:/m.test(s.text), 5000))
		throw new Error('stream on ' + channel + ' did not open');
	return s;
}

// Waits until the stream has an event with this data; returns them all.
async function waitData(s, data, ms = 5000) {
	await h.waitFor(() => events(s).some((e) => e.data === data), ms);
	return events(s).filter((e) => e.data === data);
}

async function scenarios(env, keydir) {
	const url = env.url('/events');
	const s = await openStream(env, 'pub');

	// curl, text/plain.
	let r = await env.curl(['-i', '-X', 'POST', '-H', 'Authorization: '
	    + 'Bearer ' + KEY, '-H', 'Content-Type: text/plain',
	    '--data-binary', 'from curl', url + '?channel=pub']);
	const m = /^HTTP\/\S+ (\d+)[^]*?\r\n\r\n([^]*)$/.exec(r.out);
	tap.ok(m !== null && m[1] === '201', 'curl: 201 Created', r.out);
	const curlId = m !== null ? m[2] : '';
	let got = await waitData(s, 'from curl');
	tap.ok(got.length === 1 && got[0].id === curlId,
	    'curl: the event reaches the stream with the id answered',
	    { curlId, got });

	// The README's PHP (no extension) and Python (standard library)
	// examples: each prints "published as ID"; the event reaches the
	// stream with that id.  The Python one uses the file's second key.
	const news = await openStream(env, 'news');
	const examples = [[PY, 'publish.py', OLDKEY]];
	if (h.findProgram('php') !== null)
		examples.unshift(['php', 'publish.php', KEY]);
	else
		tap.ok(true, '# SKIP php is not installed');
	for (const [prog, file, key] of examples) {
		r = await run(prog, [path.join(exdir, file)],
		    { FASTSSE_URL: url, FASTSSE_PUBLISH_KEY: key });
		const pm = /^published as (\S+)$/.exec(r.out);
		tap.ok(r.code === 0 && pm !== null, file + ': 201 and an id', r);
		await h.waitFor(() => pm !== null && events(news).some((e) =>
		    e.id === pm[1]), 5000);
		got = events(news).filter((e) => pm !== null && e.id === pm[1]);
		tap.ok(got.length === 1 && got[0].type === 'update' &&
		    /^\{"price": ?42\}$/.test(got[0].data), file + ': the event '
		    + 'reaches the stream with its type and id', got);
		r = await run(prog, [path.join(exdir, file)],
		    { FASTSSE_URL: url, FASTSSE_PUBLISH_KEY: 'wrong' + KEY });
		tap.ok(r.code !== 0 && /refused: 401/.test(r.err),
		    file + ': a wrong key is refused with 401', r);
	}
	news.close();

	// JSON body and answer.
	r = await post(env, '?channel=pub&type=price', '{"p":1}', Object.assign(
	    { 'Content-Type': 'application/json', Accept: 'application/json' },
	    auth()));
	let body = null;
	try { body = JSON.parse(r.body); } catch (e) { /* checked below */ }
	tap.ok(r.status === 201 && body !== null && typeof body.id ===
	    'string', 'JSON: 201 with {"id": ...}', r);
	got = await waitData(s, '{"p":1}');
	tap.ok(got.length === 1 && got[0].type === 'price' && body !== null &&
	    got[0].id === body.id, 'JSON: the event, its type and id', got);

	// Mercure's form fields.
	r = await post(env, '', 'topic=pub&type=note&data=line+1%0Aline+2',
	    Object.assign({ 'Content-Type':
	    'application/x-www-form-urlencoded' }, auth()));
	tap.ok(r.status === 201, 'form: 201', r);
	got = await waitData(s, 'line 1\nline 2');
	tap.ok(got.length === 1 && got[0].type === 'note' &&
	    got[0].id === r.body, 'form: topic, type and two-line data', got);

	// Errors, each with its reason.
	r = await post(env, '?channel=pub', 'x');
	tap.ok(r.status === 401 && /Bearer/.test(r.headers['www-authenticate']
	    || '') && /key/.test(r.body), '401 without a key, '
	    + 'WWW-Authenticate: Bearer', r);
	r = await post(env, '?channel=pub', 'x', auth(KEY + 'x'));
	tap.ok(r.status === 401 && /wrong/.test(r.body), '401 wrong key', r);
	r = await post(env, '?channel=pub', 'x', auth(KEY.slice(0, -1)));
	tap.ok(r.status === 401, '401 a prefix of the key', r);
	r = await post(env, '', 'x', auth());
	tap.ok(r.status === 400 && /channel/.test(r.body),
	    '400 without a channel', r);
	r = await post(env, '?channel=a%20b', 'x', auth());
	tap.ok(r.status === 400 && /channel/.test(r.body),
	    '400 invalid channel', r);
	r = await post(env, '?channel=pub&type=reset', 'x', auth());
	tap.ok(r.status === 400 && /type/.test(r.body), '400 invalid type', r);
	r = await post(env, '?channel=pub', 'x', Object.assign(auth(),
	    { 'Content-Type': 'image/png' }));
	tap.ok(r.status === 415, '415 other content type', r);
	r = await post(env, '?channel=pub', 'x'.repeat(300 * 1024), auth());
	tap.ok(r.status === 413 && /body/.test(r.body), '413 body too big', r);
	r = await post(env, '?channel=pub', '\xff', Object.assign(auth(),
	    { 'Content-Type': 'text/plain; charset=latin1' }));
	tap.ok(r.status === 201 || r.status === 400,
	    'non-UTF-8 body: refused or sent as UTF-8 by node', r);
	r = await h.request(env.url('/events?channel=pub'), { method: 'PUT',
	    headers: auth(), body: 'x' });
	tap.ok(r.status === 405, '405 PUT', r);

	// Idempotency: the first attempt's client goes away before reading
	// the answer; the retry gets the id of the one event published.
	const raw = 'retry me ' + process.pid;
	await new Promise((resolve) => {
		const c = net.connect(env.port, '127.0.0.1', () => {
			c.end('POST /events?channel=pub HTTP/1.1\r\n' +
			    'Host: 127.0.0.1\r\nAuthorization: Bearer ' + KEY +
			    '\r\nIdempotency-Key: k-' + process.pid + '\r\n' +
			    'Content-Type: text/plain\r\nContent-Length: ' +
			    Buffer.byteLength(raw) + '\r\nConnection: close' +
			    '\r\n\r\n' + raw);
			c.destroy();
			resolve();
		});
		c.on('error', resolve);
	});
	await waitData(s, raw, 3000);	/* it may or may not have gone */
	const ids = [];
	for (let i = 0; i < 3; i++) {
		r = await post(env, '?channel=pub', raw, Object.assign(auth(),
		    { 'Idempotency-Key': 'k-' + process.pid }));
		ids.push(r.status + ' ' + r.body);
	}
	const cu = await env.curl(['-X', 'POST', '-H', 'Authorization: Bearer '
	    + KEY, '-H', 'Idempotency-Key: k-' + process.pid, '--data-binary',
	    raw, url + '?channel=pub']);
	await env.publish('pub', 'marker');
	await waitData(s, 'marker');
	got = events(s).filter((e) => e.data === raw);
	tap.ok(got.length === 1, 'dropped first attempt + 4 retries with one '
	    + 'Idempotency-Key: one event', got);
	tap.ok(got.length === 1 && ids.every((x) => x === '201 ' + got[0].id)
	    && cu.out === got[0].id, 'every retry answers the first id',
	    { ids, cu, got });
	// Ten at once with one new key: one event, one id in every answer
	// (with mod_fcgid they spread over several responder processes).
	const burst = 'burst ' + process.pid;
	const answers = await Promise.all(Array.from({ length: 10 }, () =>
	    post(env, '?channel=pub', burst, Object.assign(auth(),
	    { 'Idempotency-Key': 'b-' + process.pid })).catch((e) => ({
	    status: 0, body: String(e) }))));
	await env.publish('pub', 'marker2');
	await waitData(s, 'marker2');
	const bursts = events(s).filter((e) => e.data === burst);
	tap.ok(bursts.length === 1 && answers.every((a) => a.status === 201 &&
	    a.body === bursts[0].id), '10 concurrent POSTs, one key: one '
	    + 'event, its id in every answer', { answers, bursts });
	r = await post(env, '?channel=other', raw, Object.assign(auth(),
	    { 'Idempotency-Key': 'k-' + process.pid }));
	tap.ok(r.status === 201 && got.length === 1 && r.body !== got[0].id,
	    'the same key on another channel is another key', r);
	s.close();

	// Broker down: 503 with Retry-After, then back.
	await env.broker.stop();
	r = await post(env, '?channel=pub', 'x', auth());
	tap.ok(r.status === 503 && r.headers['retry-after'] !== undefined &&
	    /broker/.test(r.body), '503 + Retry-After with the broker down', r);
	await env.startBroker();
	tap.ok(await h.waitFor(async () => (await post(env, '?channel=pub',
	    'back', auth())).status === 201, 10000, 100),
	    'publishing works again once the broker is back');

	// Without --publish-key a POST stays 405.
	env.respArgs = [];
	if (env.spawnsResponder())
		await env.restartWeb();
	else {
		await env.responder.stop();
		await env.startResponder();
	}
	r = await post(env, '?channel=pub', 'x', auth());
	tap.ok(r.status === 405, 'without --publish-key: 405', r);
	fs.rmSync(keydir, { recursive: true, force: true });
}

function main(kind) {
	h.needs(['build', kind, 'curl', PY]);
	const keydir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastsse-key-'));
	fs.chmodSync(keydir, 0o755);
	const keyfile = path.join(keydir, 'publish.keys');
	// A spawned responder runs as the web server's user: it reads it too.
	fs.writeFileSync(keyfile, '# publishers\n' + KEY + '\n\n' + OLDKEY +
	    '\n', { mode: 0o644 });
	h.main(kind, { respArgs: ['--publish-key', keyfile] },
	    (env) => scenarios(env, keydir));
}

module.exports = { main };
