// SPDX-License-Identifier: ISC
'use strict';
// The demo page (fcgi/demo/index.html) behind lighttpd, in a real browser:
// headless Chromium driven by playwright-core.  A published event shows on
// the page; then the responder is killed, events are published while it is
// down, and the page shows the reconnect and every missed event, once, in
// order.

const fs = require('fs');
const os = require('os');
const path = require('path');
const h = require('./lib/harness');
const { tap, waitFor } = h;

const chromiumPath = process.env.FASTSSE_CHROMIUM || '/usr/bin/chromium';
h.needs(['build', 'node_modules', 'lighttpd']);
if (!fs.existsSync(chromiumPath))
	tap.skipAll('no Chromium at ' + chromiumPath);
const { chromium } = h.requireModule('playwright-core');

// The texts of the events shown on the page, oldest first.
const shown = (page) => page.evaluate(() =>
    Array.from(document.querySelectorAll('#log li.event .data'))
	.map((e) => e.textContent).reverse());
const counter = (page, id) => page.evaluate((i) =>
    Number(document.getElementById(i).textContent), id);

h.main('lighttpd', { retry: 300, downRetry: 300 }, async (env) => {
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
		await page.goto(env.url('/?channel=browser'));
		await page.waitForFunction(() => document.getElementById(
		    'status').textContent === 'open', null, { timeout: 15000 });
		tap.ok(true, 'the demo page connects (status "open")');

		// The first event may be published before the responder has
		// subscribed; publish until one shows (no cursor, no replay).
		let first = false, last = -1;
		for (let i = 0; i < 50 && !first; i++) {
			await env.publish('browser', 'hello browser ' + i);
			last = i;
			first = await waitFor(async () => (await shown(page))
			    .some((t) => t.startsWith('hello browser')), 200);
		}
		tap.ok(first, 'a published event shows on the page');
		// The subscription was live before the last one was published,
		// so it shows too; count the page's events only after it has.
		await waitFor(async () => (await shown(page)).includes(
		    'hello browser ' + last), 5000);
		const before = (await shown(page)).length;
		const opens0 = await counter(page, 'opens');

		await env.responder.stop('SIGKILL');
		const missed = [];
		for (let i = 1; i <= 5; i++) {
			const d = 'missed ' + i + ' — ünïcødé ✓';
			await env.publish('browser', d);
			missed.push(d);
		}
		// While the responder is down the page keeps trying.
		const errors0 = await counter(page, 'errors');
		tap.ok(await waitFor(async () => await counter(page, 'errors') >=
		    errors0 + 2, 10000), 'the page keeps reconnecting while ' +
		    'the responder is down');
		await env.startResponder();
		const all = await waitFor(async () => (await shown(page))
		    .length >= before + missed.length, 15000);
		const texts = await shown(page);
		tap.ok(all, 'the missed events show after the reconnect');
		tap.is(texts.slice(before), missed, 'every missed event ' +
		    'shows once, in order');
		tap.ok(await counter(page, 'opens') > opens0,
		    'the page counted the reconnect');
		const notes = await page.evaluate(() =>
		    Array.from(document.querySelectorAll('#log li.note'))
			.map((e) => e.textContent));
		tap.ok(notes.some((n) => /reconnected, resuming after /.test(n)),
		    'the page shows the reconnect with the id it resumed after',
		    notes);
		tap.is(consoleErrors, [], 'no script errors on the page');
		if (process.env.FASTSSE_SCREENSHOT)
			await page.screenshot({ path:
			    process.env.FASTSSE_SCREENSHOT });
	} finally {
		if (ctx !== null)
			await ctx.close().catch(() => {});
		fs.rmSync(profile, { recursive: true, force: true });
	}
});
