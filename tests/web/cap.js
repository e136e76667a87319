// SPDX-License-Identifier: ISC
'use strict';
// The responder's stream cap, behind nginx: at --max-streams a browser
// gets a complete 200 text/event-stream asking it to come back in 30 to
// 60 s (never an error status, which would stop an EventSource for good),
// and once a stream leaves, the next browser gets a live stream again.
const h = require('./lib/harness');
const { tap, waitFor, RawStream } = h;

h.needs(['build', 'curl', 'nginx']);
h.main('nginx', { respArgs: ['--max-streams', '2'] }, async (env) => {
	const open = async (ch) => {
		const s = new RawStream(env.sseUrl('channel=' + ch));
		await waitFor(() => s.text.includes('retry:') || s.ended, 10000);
		return s;
	};
	// The harness's own readiness probe may still be leaving.
	await waitFor(async () => (await env.stats()).subscribers === 0,
	    5000, 20);
	const a = await open('cap-a');
	const b = await open('cap-b');
	tap.ok(/^retry: 300$/m.test(a.text) && /^retry: 300$/m.test(b.text),
	    'two streams under the cap are live', a.text + b.text);

	const c = await open('cap-c');
	await waitFor(() => c.ended, 5000);
	tap.is(c.status, 200, 'over the cap: status 200');
	tap.ok(/^text\/event-stream/.test(c.headers['content-type'] || ''),
	    'over the cap: text/event-stream');
	const m = /^retry: (\d+)$/m.exec(c.text);
	tap.ok(m !== null && Number(m[1]) >= 30000 && Number(m[1]) <= 60000,
	    'over the cap: retry of 30 to 60 s (' + (m && m[1]) + ')', c.text);
	tap.ok(c.ended, 'over the cap: the response ends');

	a.close();
	let d = null;
	const again = await waitFor(async () => {
		d = await open('cap-d');
		if (/^retry: 300$/m.test(d.text))
			return true;
		d.close();
		return false;
	}, 10000, 100);
	tap.ok(again, 'after a stream leaves, the next one is live', d && d.text);
	b.close();
	if (d !== null)
		d.close();
});
