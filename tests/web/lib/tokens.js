// SPDX-License-Identifier: ISC
'use strict';
// Private channels through a real web server: the responder runs with
// --token-key (two keys: rotation) and public channels; tokens minted by
// `fastsse token`, by the README's Python and PHP examples and forged
// here come as a query parameter, an Authorization: Bearer header or a
// cookie.  Checked: 403 and its reason for no, forged, alg-swapped and
// wrong-channel tokens; 200 and the in-band token-expired event for an
// expired one and at expiry of an open stream; revocation of an open
// stream by sub and the refusal of the token afterwards.

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { execFile, execFileSync } = require('child_process');
const h = require('./harness');
const { tap, waitFor, RawStream } = h;

const KEYS = 'k2026:current-secret-0123456789abcdef\n' +
    'k2025:previous-secret-0123456789abcdef\n';

const b64url = (b) => Buffer.from(b).toString('base64url');

// A token of any header and claims, signed with secret (no signature
// when secret is null).
function forge(header, claims, secret) {
	const signed = b64url(JSON.stringify(header)) + '.' +
	    b64url(JSON.stringify(claims));
	const sig = secret === null ? '' : crypto.createHmac('sha256', secret)
	    .update(signed).digest('base64url');
	return signed + '.' + sig;
}

function run(cmd, args, env) {
	return new Promise((resolve, reject) => {
		execFile(cmd, args, { encoding: 'utf8', env, timeout: 60000 },
		    (err, out, errout) => err ? reject(new Error(cmd + ': ' +
		    err.message + ' ' + errout)) : resolve(out.trim()));
	});
}

// The parsed SSE events in a stream's text.
function events(text) {
	const out = [];
	for (const block of text.split('\n\n')) {
		const e = { type: 'message', data: [], retry: null };
		let any = false;
		for (const line of block.split('\n')) {
			const m = /^([a-z]+): ?(.*)$/.exec(line);
			if (m === null)
				continue;
			any = true;
			if (m[1] === 'event')
				e.type = m[2];
			else if (m[1] === 'data')
				e.data.push(m[2]);
			else if (m[1] === 'retry')
				e.retry = Number(m[2]);
		}
		if (any && e.data.length > 0)
			out.push(Object.assign(e, { data: e.data.join('\n') }));
	}
	return out;
}

function expiredEvent(s) {
	return events(s.text).find((e) => e.type === 'token-expired');
}

async function scenarios(env, dir) {
	const keyFile = path.join(dir, 'keys');
	const oldKey = path.join(dir, 'old-key');
	const cli = env.cli;
	const token = (args, keyf = keyFile) => run(cli[0], ['token', '--key',
	    keyf].concat(args), cli[1]);
	const get = (q, headers = {}) => h.request(env.sseUrl(q), { headers,
	    timeout: 10000 });
	const k = env.kind;

	// Refusals: 403 and a reason.
	let r = await get('channel=news');
	tap.is(r.status, 403, k + ': no token, private channel: 403');
	tap.ok(/token required/.test(r.body), k + ': ... with the reason',
	    r.body);
	const good = await token(['--ttl', '60', 'news', 'user.7.*']);
	const parts = good.split('.');
	const forged = parts[0] + '.' + b64url(JSON.stringify({
	    channels: ['*'], exp: 4000000000 })) + '.' + parts[2];
	r = await get('channel=news&token=' + forged);
	tap.is(r.status, 403, k + ': forged claims: 403');
	tap.ok(/signature/.test(r.body), k + ': ... bad signature', r.body);
	r = await get('channel=news&token=' + forge({ alg: 'none',
	    typ: 'JWT' }, { channels: ['news'], exp: 4000000000 }, null));
	tap.is(r.status, 403, k + ': alg none: 403');
	r = await get('channel=news&token=' + forge({ alg: 'HS512' },
	    { channels: ['news'], exp: 4000000000 },
	    'current-secret-0123456789abcdef'));
	tap.ok(r.status === 403 && /alg/.test(r.body), k + ': alg swapped ' +
	    '(HS512): 403', r.body);
	r = await get('channel=user.8.inbox&token=' + good);
	tap.ok(r.status === 403 && /does not cover/.test(r.body), k +
	    ': wrong channel: 403', r.body);
	r = await get('channel=news&channel=sport&token=' + good);
	tap.is(r.status, 403, k + ': one channel of two not covered: 403');

	// Accepted: query, Bearer, a public channel beside a private one.
	let s = new RawStream(env.sseUrl('channel=news&channel=public.x&' +
	    'token=' + good));
	tap.ok(await waitFor(() => /^: /m.test(s.text), 10000) &&
	    s.status === 200, k + ': token in the query: the stream opens');
	s.close();
	s = new RawStream(env.sseUrl('channel=user.7.inbox'),
	    { Authorization: 'Bearer ' + good });
	tap.ok(await waitFor(() => /^: /m.test(s.text), 10000) &&
	    s.status === 200, k + ': Authorization: Bearer reaches the ' +
	    'responder (HTTP_AUTHORIZATION)', s.text);
	let got = false;
	for (let i = 0; i < 50 && !got; i++) {
		await env.publish('user.7.inbox', 'private ' + i);
		got = await waitFor(() => /data: private/.test(s.text), 200);
	}
	tap.ok(got, k + ': events of a prefix* channel arrive');
	s.close();

	// Key rotation: a token of the second key still verifies.
	const old = await token(['--ttl', '60', 'news'], oldKey);
	s = new RawStream(env.sseUrl('channel=news&token=' + old));
	tap.ok(await waitFor(() => /^: /m.test(s.text), 10000) &&
	    s.status === 200, k + ': a token of the previous key (rotation)');
	s.close();

	// The README's Python and PHP examples mint tokens the responder
	// takes.
	const exdir = path.join(h.srcdir, 'tests', 'integration', 'examples');
	const exenv = Object.assign({}, process.env,
	    { FASTSSE_TOKEN_KEY: keyFile });
	for (const [what, cmd, file] of [['Python', 'python3', 'token.py'],
	    ['PHP', 'php', 'token.php']]) {
		if (h.findProgram(cmd) === null) {
			tap.ok(true, k + ': ' + what + ' example # SKIP no ' +
			    cmd);
			continue;
		}
		const t = await run(cmd, [path.join(exdir, file)], exenv);
		s = new RawStream(env.sseUrl('channel=user.42.feed&token=' +
		    t));
		tap.ok(await waitFor(() => /^: /m.test(s.text), 10000) &&
		    s.status === 200, k + ': a token minted by the ' + what +
		    ' example', s.text);
		s.close();
	}

	// Expired: 200, token-expired with a long retry, then the end.
	const exp = forge({ alg: 'HS256', kid: 'k2026' }, { channels: ['news'],
	    exp: Math.floor(Date.now() / 1000) - 5, sub: 'eve' },
	    'current-secret-0123456789abcdef');
	s = new RawStream(env.sseUrl('channel=news&token=' + exp));
	tap.ok(await waitFor(() => s.ended, 10000), k + ': an expired ' +
	    'token: the response ends');
	let e = expiredEvent(s);
	tap.ok(s.status === 200 && e !== undefined, k + ': ... as a 200 ' +
	    'with a token-expired event', s.text);
	tap.ok(e && JSON.parse(e.data).reason === 'expired' &&
	    e.retry >= 600000, k + ': ... reason expired, a long retry:',
	    e);

	// An open stream gets the event at expiry.  The token is made here,
	// not by a process, so that it is fresh when the stream opens.
	const short = forge({ alg: 'HS256', kid: 'k2026' }, {
	    channels: ['news'], exp: Math.floor(Date.now() / 1000) + 5 },
	    'current-secret-0123456789abcdef');
	s = new RawStream(env.sseUrl('channel=news&token=' + short));
	tap.ok(await waitFor(() => /^: /m.test(s.text), 10000),
	    k + ': a token valid for 5 s opens a stream');
	tap.ok(await waitFor(() => s.ended, 20000) &&
	    expiredEvent(s) !== undefined, k + ': at expiry the open stream ' +
	    'gets token-expired and ends', s.text);

	// Revocation of an open stream, then of the token.
	const bob = await token(['--ttl', '600', '--sub', 'bob', 'news']);
	const b1 = new RawStream(env.sseUrl('channel=news&token=' + bob));
	const b2 = new RawStream(env.sseUrl('channel=news&token=' + good));
	tap.ok(await waitFor(() => /^: /m.test(b1.text) &&
	    /^: /m.test(b2.text), 10000), k + ': two streams open');
	await run(cli[0], ['revoke', '--socket', env.brokerSock, '--sub',
	    'bob'], cli[1]);
	tap.ok(await waitFor(() => b1.ended, 10000), k + ': revoking sub ' +
	    'bob ends his open stream');
	e = expiredEvent(b1);
	tap.ok(e && JSON.parse(e.data).reason === 'revoked', k +
	    ': ... with token-expired, reason revoked', b1.text);
	tap.ok(!b2.ended, k + ': ... and not the other one');
	b2.close();
	s = new RawStream(env.sseUrl('channel=news&token=' + bob));
	tap.ok(await waitFor(() => s.ended, 10000) && s.status === 200 &&
	    (e = expiredEvent(s)) && JSON.parse(e.data).reason === 'revoked',
	    k + ': the revoked token is answered revoked on reconnect',
	    s.text);

	// The refusals above are counted by reason in the metrics.
	if (!env.spawnsResponder()) {
		const r = await h.request(env.url('/events/metrics'));
		const count = (name, label) => {
			const m = r.body.match(new RegExp('^' + name + '\\{' +
			    label + '\\} (\\d+)$', 'm'));
			return m ? Number(m[1]) : -1;
		};
		tap.ok(r.status === 200 &&
		    count('fastsse_tokens_refused_total',
		    'reason="signature"') >= 1 &&
		    count('fastsse_tokens_refused_total',
		    'reason="missing"') >= 1 &&
		    count('fastsse_tokens_refused_total',
		    'reason="revoked"') >= 1 &&
		    count('fastsse_tokens_accepted_total', 'kind="token"') >= 1,
		    k + ': refusals counted by reason in the metrics', r.body);
	}

	// A responder that connects later learns the revocation from the
	// broker.
	if (!env.spawnsResponder()) {
		await env.responder.stop();
		await env.startResponder();
		s = new RawStream(env.sseUrl('channel=news&token=' + bob));
		tap.ok(await waitFor(() => s.ended, 10000) &&
		    (e = expiredEvent(s)) &&
		    JSON.parse(e.data).reason === 'revoked', k + ': a ' +
		    'restarted responder still refuses the revoked token',
		    s.text);
		s = new RawStream(env.sseUrl('channel=news&token=' + good));
		tap.ok(await waitFor(() => /^: /m.test(s.text), 10000) &&
		    !s.ended, k + ': ... and takes the others');
		s.close();
	}
}

// Runs the scenarios behind the web server kind.
function suite(kind) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastsse-tok-'));
	fs.chmodSync(dir, 0o755);
	fs.writeFileSync(path.join(dir, 'keys'), KEYS, { mode: 0o644 });
	fs.writeFileSync(path.join(dir, 'old-key'), KEYS.split('\n')[1] +
	    '\n', { mode: 0o644 });
	process.on('exit', () => fs.rmSync(dir, { recursive: true,
	    force: true }));
	h.needs(['build', kind]);
	h.main(kind, { respArgs: ['--token-key', path.join(dir, 'keys'),
	    '--public-channel', 'probe', '--public-channel', 'public.*',
	    '--metrics-path', '/events/metrics'] },
	    (env) => scenarios(env, dir));
}

module.exports = { suite, forge, events, KEYS };
