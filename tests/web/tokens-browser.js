// SPDX-License-Identifier: ISC
'use strict';
// A private channel in a real browser (headless Chromium, as browser.js)
// behind lighttpd: the demo page (fcgi/demo/index.html?tokenurl=...)
// fetches a token, hands it over as a cookie (--token-cookie), shows the
// channel's events; when its token expires the stream ends with
// token-expired, the page fetches a fresh token and reopens from its last
// id, and the events published meanwhile show once, in order.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const h = require('./lib/harness');
const { tap, waitFor } = h;
const { KEYS } = require('./lib/tokens');

const chromiumPath = process.env.FASTSSE_CHROMIUM || '/usr/bin/chromium';
h.needs(['build', 'node_modules', 'lighttpd']);
if (!fs.existsSync(chromiumPath))
	tap.skipAll('no Chromium at ' + chromiumPath);
const { chromium } = h.requireModule('playwright-core');

const shown = (page) => page.evaluate(() =>
    Array.from(document.querySelectorAll('#log li.event .data'))
	.map((e) => e.textContent).reverse());
const counter = (page, id) => page.evaluate((i) =>
    Number(document.getElementById(i).textContent), id);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastsse-tokb-'));
fs.chmodSync(dir, 0o755);
const keyFile = path.join(dir, 'keys');
fs.writeFileSync(keyFile, KEYS, { mode: 0o644 });
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

h.main('lighttpd', { retry: 300, respArgs: ['--token-key', keyFile,
    '--token-cookie', 'fastsse_token', '--public-channel', 'probe'] },
    async (env) => {
	const mint = (ttl) => execFileSync(env.cli[0], ['token', '--key',
	    keyFile, '--ttl', String(ttl), 'private.*'], { env: env.cli[1],
	    encoding: 'utf8' }).trim();
	const tokenFile = path.join(env.www, 'token.txt');

	const profile = fs.mkdtempSync(path.join(os.tmpdir(),
	    'fastsse-chromium-'));
	let ctx = null;
	try {
		ctx = await chromium.launchPersistentContext(profile, {
			executablePath: chromiumPath,
			headless: true,
			args: ['--headless', '--no-sandbox', '--disable-gpu',
			    '--disable-quic', '--no-first-run',
			    '--disable-background-networking',
			    '--disable-component-update', '--disable-sync'],
			timeout: 60000,
		});
		const page = ctx.pages()[0] || await ctx.newPage();
		const consoleErrors = [];
		page.on('pageerror', (e) => consoleErrors.push(String(e)));
		// The first token lives 12 s (time enough for a loaded
		// machine to open the page): the page must renew it.
		fs.writeFileSync(tokenFile, mint(12) + '\n', { mode: 0o644 });
		await page.goto(env.url('/?channel=private.news' +
		    '&tokenurl=/token.txt'));
		await page.waitForFunction(() => document.getElementById(
		    'status').textContent === 'open', null, { timeout: 15000 });
		tap.ok(true, 'the page opens the private channel');
		const url = await page.evaluate(() => window.fastsseDemo.es.url);
		tap.ok(!/token/.test(url), 'the token is not in the URL: the ' +
		    'cookie carried it', url);
		// No token to fetch for a while: the page retries, and the
		// events published meanwhile must come on the new stream.
		fs.unlinkSync(tokenFile);

		let first = false;
		for (let i = 0; i < 50 && !first; i++) {
			await env.publish('private.news', 'before ' + i);
			first = await waitFor(async () => (await shown(page))
			    .some((t) => t.startsWith('before')), 200);
		}
		tap.ok(first, 'events of the private channel show');

		tap.ok(await waitFor(async () => await counter(page,
		    'renewals') >= 1, 30000), 'at expiry the page gets ' +
		    'token-expired and fetches a new token');
		tap.ok(await waitFor(() => page.evaluate(() => Array.from(
		    document.querySelectorAll('#log li.note')).some((n) =>
		    /cannot fetch a token/.test(n.textContent))), 10000),
		    'the page retries while no token can be had');
		const before = (await shown(page)).length;
		const after = ['missed 1', 'missed 2', 'missed 3'];
		for (const d of after)
			await env.publish('private.news', d);
		fs.writeFileSync(tokenFile, mint(600) + '\n', { mode: 0o644 });
		tap.ok(await waitFor(async () => (await shown(page)).length >=
		    before + after.length, 20000), 'the events published ' +
		    'while it had no token show');
		await page.waitForFunction(() => document.getElementById(
		    'status').textContent === 'open', null, { timeout: 15000 });
		const texts = await shown(page);
		tap.is(texts.slice(before), after, 'each once, in order ' +
		    '(reopened from the last id)');
		tap.is(await counter(page, 'renewals'), 1, 'one renewal');
		const u2 = await page.evaluate(() => window.fastsseDemo.es.url);
		tap.ok(/last_event_id=/.test(u2), 'the new stream starts ' +
		    'from the last id', u2);
		tap.is(consoleErrors, [], 'no script errors on the page');

		// Without the cookie, the private channel is refused.
		await ctx.clearCookies();
		const r = await page.evaluate(async () => {
			const res = await fetch('/events?channel=private.news');
			return [res.status, await res.text()];
		});
		tap.ok(r[0] === 403 && /token required/.test(r[1]),
		    'without the cookie: 403 token required', r);
	} finally {
		if (ctx !== null)
			await ctx.close().catch(() => {});
		fs.rmSync(profile, { recursive: true, force: true });
	}
});
