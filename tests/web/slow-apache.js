// SPDX-License-Identifier: ISC
'use strict';
// Slow clients through Apache with the shipped mod_proxy_fcgi config:
// Apache passes a request body on as it arrives, so two clients sending
// `POST /events?channel=x` (or a GET) with Content-Length: 100000 and
// then 1 byte per second, or nothing, reach the responder as requests
// that never finish.  Beside each pair a new browser must get its stream
// at once, and events must reach it.
const net = require('net');
const h = require('./lib/harness');
const { tap, waitFor, now, RawStream } = h;

h.needs(['build', 'curl', 'apache-proxy']);
h.main('apache-proxy', { respArgs: ['--request-timeout', '3'] },
    async (env) => {
	// One slow client: the request head, then a byte a second or nothing.
	const slow = (method, trickle) => {
		const c = { text: '', closed: false, timer: null };
		c.sock = net.connect(env.port, '127.0.0.1', () => {
			c.sock.write(method + ' /events?channel=x HTTP/1.1\r\n' +
			    'Host: 127.0.0.1\r\nContent-Length: 100000\r\n' +
			    'Content-Type: text/plain\r\n\r\n');
			if (trickle)
				c.timer = setInterval(() => {
					if (!c.closed)
						c.sock.write('b');
				}, 1000);
		});
		c.sock.setEncoding('latin1');
		c.sock.on('data', (d) => { c.text += d; });
		c.sock.on('close', () => { c.closed = true; });
		c.sock.on('error', () => { c.closed = true; });
		c.stop = () => {
			clearInterval(c.timer);
			c.sock.destroy();
		};
		return c;
	};

	for (const method of ['POST', 'GET']) {
		for (const trickle of [true, false]) {
			const what = method + (trickle ?
			    ' bodies at 1 byte/s' : ' bodies never sent');
			const pair = [slow(method, trickle), slow(method, trickle)];
			// Both requests in Apache and passed on to the responder.
			await h.sleep(300);
			const t0 = now();
			const s = new RawStream(env.sseUrl('channel=slow-' +
			    method + trickle));
			const opened = await waitFor(() =>
			    s.text.includes('retry:') || s.ended, 5000);
			const ms = now() - t0;
			tap.ok(opened && s.status === 200 &&
			    s.text.includes('retry:'), 'beside two ' + what +
			    ' a new stream opens (' + ms.toFixed(0) + ' ms)',
			    s.text);
			tap.ok(ms < 1000, 'within 1 s', ms);
			// And it is live: an event published now reaches it.
			let got = false;
			for (let i = 0; i < 20 && !got; i++) {
				await env.publish('slow-' + method + trickle,
				    'hello ' + i);
				got = await waitFor(() =>
				    s.text.includes('data: hello'), 250);
			}
			tap.ok(got, 'and an event reaches it', s.text);
			s.close();
			// Apache forwards the answer when it next reads the
			// client; one that sends nothing waits for Apache's
			// own Timeout, not for the responder.
			for (const c of pair)
				if (!trickle)
					c.stop();
			if (!trickle)
				continue;
			const code = method === 'POST' ? '405' : '400';
			const answered = await waitFor(() =>
			    pair.every((c) => c.text.includes(' ' + code + ' ')),
			    5000);
			tap.ok(answered, 'the two slow ones are answered ' + code +
			    ' without their body', pair.map((c) =>
			    c.text.slice(0, 120)).join(' | '));
			for (const c of pair)
				c.stop();
		}
	}
});
