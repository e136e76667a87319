// SPDX-License-Identifier: ISC
'use strict';
// The Redis web tests' harness, on top of harness.js: a private
// redis-server (unix socket in a temp dir, no persistence unless asked),
// "hosts" (host 1 = broker --redis + responder + lighttpd, host 2 the same
// behind nginx, each an Env of harness.js), and between each broker and
// Redis a link the test can cut (a byte pipe in this process: the broker
// finds Redis unreachable while Redis keeps its data and the other host
// keeps its own link).  Host 1 reaches its link over TCP
// (redis://127.0.0.1:PORT), host 2 over a unix socket (unix:/path), so
// both URL forms are used.
//
// Clients are WHATWG EventSources (the eventsource package) whose fetch
// goes to the next host at every (re)connect, so a stream resumes on the
// other host with the Last-Event-ID the library keeps; the test can cut
// a client's connection, which the EventSource sees as the server ending
// the stream (it reconnects).  Every connection's raw text is kept, for
// heartbeats.
//
// Everything is stopped on exit, and a scenario that hangs fails with
// every server's log.

const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const http = require('http');
const { execFile, execFileSync } = require('child_process');
const h = require('./harness');
const { tap, waitFor, now } = h;

// What every Redis web test needs: SKIP names the first thing missing.
function needs() {
	h.needs(['redis-server', 'redis-cli', 'build', 'node_modules',
	    'curl', 'lighttpd', 'nginx']);
}

// Whether the broker has a Redis mode (its usage names --redis).
function brokerHasRedis() {
	let out = '';
	try {
		out = execFileSync(h.bin.broker, ['--help'], { encoding: 'utf8',
		    stdio: ['ignore', 'pipe', 'pipe'] });
	} catch (e) {
		out = String(e.stdout || '') + String(e.stderr || '');
	}
	return /--redis\b/.test(out);
}

// Runs fn with its checks marked TODO (reason) when reason is given: a
// scenario whose feature is not built yet is run and reported but does
// not fail the file.  Its exception is a TODO failure too, and ends the
// file (the servers are in no known state).
async function scenario(reason, fn) {
	tap.setTodo(reason || null);
	try {
		await fn();
	} catch (e) {
		if (!reason)
			throw e;
		tap.ok(false, 'no exception', String(e && e.stack || e));
		const stop = new Error('a TODO scenario failed');
		stop.todo = true;
		throw stop;
	} finally {
		tap.setTodo(null);
	}
}

// A redis-server of our own on a unix socket in dir.  opts.aof: append
// only with fsync every second (else no persistence at all).
class Redis {
	constructor(dir, opts = {}) {
		this.dir = dir;
		this.sock = path.join(dir, 'redis.sock');
		this.aof = !!opts.aof;
		this.proc = null;
		this.n = 0;
	}

	args() {
		const a = ['--port', '0', '--unixsocket', this.sock,
		    '--unixsocketperm', '700', '--dir', this.dir, '--save', '',
		    '--daemonize', 'no', '--logfile', ''];
		if (this.aof)
			a.push('--appendonly', 'yes', '--appendfsync', 'everysec',
			    '--appenddirname', 'aof');
		else
			a.push('--appendonly', 'no');
		return a;
	}

	async start() {
		const n = ++this.n;
		this.proc = new h.Proc('redis', h.findProgram('redis-server'),
		    this.args(), path.join(this.dir, 'redis-' + n + '.log'));
		// PING answers -LOADING until an AOF is loaded.
		const okk = await waitFor(async () => {
			if (this.proc.exited)
				throw new Error('exited');
			return (await this.cli('PING')) === 'PONG';
		}, 15000, 20);
		if (!okk || this.proc.exited)
			throw new Error('redis-server did not start: ' +
			    this.proc.log());
	}

	// SIGTERM: without persistence, everything Redis held is gone.
	async stop() {
		if (this.proc !== null)
			await this.proc.stop('SIGTERM', 10000);
	}

	async kill9() {
		process.kill(this.proc.pid, 'SIGKILL');
		await this.proc.exitPromise;
	}

	signal(sig) { process.kill(this.proc.pid, sig); }

	// One redis-cli command; resolves with its output, trimmed.
	cli(...args) {
		return new Promise((resolve, reject) => {
			execFile(h.findProgram('redis-cli'), ['-s', this.sock]
			    .concat(args.map(String)), { encoding: 'utf8',
			    timeout: 10000 }, (err, out, errout) => {
				if (err)
					reject(new Error('redis-cli ' + args.join(' ') +
					    ': ' + errout));
				else
					resolve(out.trim());
			});
		});
	}

	log() { return this.proc === null ? '' : this.proc.log(); }
}

// A link from a broker to Redis that the test can cut: connections
// accepted on `listen` ({port} on 127.0.0.1, or a unix socket path) are
// piped to Redis's socket.  down() refuses new connections and drops the
// open ones (Redis unreachable); up() listens again on the same address.
class Link {
	constructor(listen, target) {
		this.listen = listen;
		this.target = target;
		this.server = null;
		this.socks = new Set();
		this.accepted = 0;
	}

	url() {
		return typeof this.listen === 'string' ? 'unix:' + this.listen :
		    'redis://127.0.0.1:' + this.listen.port;
	}

	up() {
		if (this.server !== null)
			return Promise.resolve();
		if (typeof this.listen === 'string')
			fs.rmSync(this.listen, { force: true });
		this.server = net.createServer((c) => {
			this.accepted++;
			const u = net.connect(this.target);
			for (const [a, b] of [[c, u], [u, c]]) {
				this.socks.add(a);
				a.pipe(b);
				a.on('error', () => b.destroy());
				a.on('close', () => {
					this.socks.delete(a);
					b.destroy();
				});
			}
		});
		return new Promise((resolve, reject) => {
			this.server.once('error', reject);
			if (typeof this.listen === 'string')
				this.server.listen(this.listen, resolve);
			else
				this.server.listen(this.listen.port, '127.0.0.1',
				    resolve);
		});
	}

	down() {
		if (this.server === null)
			return;
		this.server.close();
		this.server = null;
		for (const s of this.socks)
			s.destroy();
		this.socks.clear();
	}
}

// A broker's statistics, or {} while it cannot answer.
async function stats(env) {
	try {
		return await env.stats();
	} catch (e) {
		return {};
	}
}

// Whether the host's broker reports being connected to Redis.
async function connected(env) {
	return Number((await stats(env)).redis_connected) === 1;
}

// The seq of an id <epoch>-<seq>, and its epoch.
const seqOf = (id) => Number(id.slice(id.lastIndexOf('-') + 1));
const epochOf = (id) => id.slice(0, id.lastIndexOf('-'));

// An EventSource whose every (re)connect goes to the next of hosts
// (starting at hosts[first]); cut() ends the current connection as if
// the server had closed it.  Records events like harness.js's Client,
// plus the host each connection went to and its raw text.
class SwitchingClient {
	constructor(EventSource, hosts, query, opts = {}) {
		this.hosts = hosts;
		this.next = opts.first || 0;
		this.switching = opts.switching !== false;
		this.events = [];
		this.conns = [];	// {host, text, ended, t}
		this.opens = 0;
		this.errors = 0;
		this.cur = null;
		const types = (opts.types || []).concat(['reset', 'warmup']);
		this.es = new EventSource(hosts[this.next].sseUrl(query), {
		    fetch: (url, init) => this.fetch(url, init) });
		this.es.onopen = () => { this.opens++; };
		this.es.onerror = () => { this.errors++; };
		const rec = (e) => this.events.push({ t: now(), type: e.type,
		    data: e.data, id: e.lastEventId,
		    host: this.cur && this.cur.host });
		this.es.onmessage = rec;
		for (const t of new Set(types))
			this.es.addEventListener(t, rec);
	}

	// The fetch the EventSource calls: the same path and query on the
	// next host, over node's http, with a body this object can end.
	fetch(url, init) {
		const hi = this.next;
		if (this.switching)
			this.next = (this.next + 1) % this.hosts.length;
		const u = new URL(url);
		const target = new URL(u.pathname + u.search,
		    this.hosts[hi].url('/'));
		const conn = { host: hi, text: '', ended: false, t: now(),
		    req: null, end: null };
		this.conns.push(conn);
		this.cur = conn;
		return new Promise((resolve, reject) => {
			const req = http.get(target, { headers: init.headers,
			    agent: false }, (res) => {
				const body = new ReadableStream({
					start: (ctl) => {
						let closed = false;
						conn.end = () => {
							if (closed)
								return;
							closed = true;
							conn.ended = true;
							req.destroy();
							ctl.close();
						};
						res.on('data', (d) => {
							if (closed)
								return;
							conn.text += d.toString('utf8');
							ctl.enqueue(new Uint8Array(d));
						});
						res.on('end', conn.end);
						res.on('error', conn.end);
						res.on('close', conn.end);
					},
					cancel: () => { if (conn.end) conn.end(); },
				});
				resolve({ status: res.statusCode, redirected: false,
				    url: target.href, body, headers: { get: (k) =>
				    res.headers[k.toLowerCase()] || null } });
			});
			conn.req = req;
			req.on('error', (e) => {
				conn.ended = true;
				reject(e);
			});
			if (init.signal)
				init.signal.addEventListener('abort', () => {
					conn.ended = true;
					req.destroy();
				});
		});
	}

	// Ends the current connection: the EventSource reconnects after
	// the retry delay, to the next host.
	cut() {
		const c = this.cur;
		if (c !== null && c.end !== null)
			c.end();
		else if (c !== null && c.req !== null)
			c.req.destroy();
	}

	messages() { return this.events.filter((e) => e.type !== 'warmup' &&
	    e.type !== 'reset'); }

	resets() { return this.events.filter((e) => e.type === 'reset'); }

	pings() {
		return this.conns.reduce((n, c) => n +
		    (c.text.match(/^: ping$/mg) || []).length, 0);
	}

	// Whether the current connection is open with a stream (not a
	// "down" answer): it has sent a comment or an event.
	streaming() {
		const c = this.cur;
		return c !== null && !c.ended && /(^|\n)(:|id:|data:)/.test(c.text);
	}

	close() { this.es.close(); }
}

// Whether got (ids in arrival order) is want exactly: every one once, in
// order, nothing else.  Returns null, or what is wrong.
function exactDiff(got, want) {
	if (got.join(' ') === want.join(' '))
		return null;
	const seen = new Set(), twice = [];
	for (const id of got) {
		if (seen.has(id))
			twice.push(id);
		seen.add(id);
	}
	const w = new Set(want);
	const missing = want.filter((id) => !seen.has(id));
	const extra = got.filter((id) => !w.has(id));
	let order = -1;
	for (let i = 1; i < got.length && order < 0; i++)
		if (seqOf(got[i]) <= seqOf(got[i - 1]) &&
		    epochOf(got[i]) === epochOf(got[i - 1]))
			order = i;
	return { got: got.length, want: want.length,
	    missing: missing.slice(0, 10), nmissing: missing.length,
	    twice: twice.slice(0, 10), extra: extra.slice(0, 10),
	    disorder_at: order };
}

// Opens n switching clients on query (client i starts on host i % #hosts)
// and waits until each is live: warm-up events published on host 1 until
// every client has one.
async function openClients(EventSource, hosts, query, n, opts = {}) {
	const cs = [];
	for (let i = 0; i < n; i++)
		cs.push(new SwitchingClient(EventSource, hosts, query,
		    Object.assign({ first: i % hosts.length }, opts)));
	if (!await waitFor(() => cs.every((c) => c.opens >= 1), 20000))
		throw new Error('not every client opened: ' + cs.filter((c) =>
		    c.opens >= 1).length + ' of ' + n);
	await warmUp(cs, hosts[0], new URLSearchParams(query).get('channel'));
	return cs;
}

// Publishes "warmup" events on channel ch through env until each of the
// clients cs has one after the call (their subscriptions are live).
async function warmUp(cs, env, ch) {
	const from = cs.map((c) => c.events.length);
	for (let i = 0; i < 100; i++) {
		await env.publish(ch, 'warm-' + i, 'warmup');
		if (await waitFor(() => cs.every((c, j) => c.events.slice(from[j])
		    .some((e) => e.type === 'warmup')), 500))
			return;
	}
	throw new Error('not every client got a warm-up event');
}

// The responders' publishing key (fastsse-fcgi --publish-key).
const KEY = 'redis-test-publish-key-0123456789';

// Publishes one event over HTTP through env's web server; resolves with
// its id (201), or rejects with the status and body.
async function httpPublish(env, channel, data) {
	const res = await h.request(env.url('/events?channel=' +
	    encodeURIComponent(channel)), { method: 'POST', body: data,
	    headers: { 'Content-Type': 'text/plain', Authorization:
	    'Bearer ' + KEY } });
	if (res.status !== 201)
		throw Object.assign(new Error('HTTP ' + res.status + ': ' +
		    res.body.trim()), { status: res.status });
	return res.body.trim();
}

// Publishes on env in a loop (one `fastsse publish` per event, or one
// HTTP POST with opts.http, to the channels in turn) until stop() is
// called; failures are counted and retried after a pause.  Keeps each
// acknowledged id by channel.
function publisher(env, channels, tag, opts = {}) {
	const p = { acked: [], failures: 0, errors: [], stopped: false,
	    paused: false, inflight: Promise.resolve() };
	let i = 0;
	const one = async () => {
		const ch = channels[i % channels.length];
		try {
			const id = opts.http ? await httpPublish(env, ch,
			    tag + '-' + i) : await env.publish(ch, tag + '-' + i);
			p.acked.push({ ch, id, data: tag + '-' + i });
			i++;
		} catch (e) {
			p.failures++;
			if (p.errors.length < 5)
				p.errors.push(String(e.message).trim());
			await h.sleep(50);
		}
	};
	p.done = (async () => {
		while (!p.stopped) {
			if (p.paused) {
				await h.sleep(20);
				continue;
			}
			p.inflight = one();
			await p.inflight;
		}
	})();
	p.stop = async () => {
		p.stopped = true;
		await p.done;
	};
	// No publish in flight from when pause() resolves to resume().
	p.pause = async () => {
		p.paused = true;
		await p.inflight;
	};
	p.resume = () => { p.paused = false; };
	return p;
}

// The acknowledged ids of publishers, in id order (Redis's seq is one
// counter for every channel and every host).
function ackedInOrder(pubs) {
	const all = [];
	for (const p of pubs)
		for (const a of p.acked)
			all.push(a.id);
	return all.sort((a, b) => seqOf(a) - seqOf(b));
}

// Runs body({redis, hosts, links, EventSource}) with a started Redis and
// nhosts started hosts, with TAP bookkeeping; exits with the TAP status.
// opts.redis: Redis's options; opts.host: each Env's extra options.
async function main(opts, body) {
	const nhosts = opts.hosts || 2;
	const kinds = ['lighttpd', 'nginx'];
	const w = { redis: null, hosts: [], links: [],
	    EventSource: h.requireModule('eventsource').EventSource };
	const logs = () => {
		let s = '';
		if (w.redis !== null)
			s += '\n--- redis\n' + w.redis.log().split('\n')
			    .slice(-30).join('\n');
		w.hosts.forEach((e, i) => {
			s += '\n=== host ' + (i + 1) + ' (' + e.kind + ')' +
			    e.stateLogs();
		});
		return s;
	};
	let status = 1;
	const limit = Number(process.env.FASTSSE_WEB_TIMEOUT || 300) * 1000;
	const watchdog = setTimeout(() => {
		tap.ok(false, 'finished within ' + limit / 1000 + ' s');
		tap.note(logs());
		tap.done();
		process.exit(1);
	}, limit);
	if (!brokerHasRedis()) {
		tap.setTodo('the broker\'s Redis mode is not built yet');
		tap.ok(false, 'fastsse-broker has --redis');
		clearTimeout(watchdog);
		process.exit(tap.done());
	}
	process.umask(0o022);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastsse-redis-'));
	// Redis and the links' sockets; harness.js reaps the processes.
	process.on('exit', () => {
		if (!process.env.FASTSSE_KEEP_TMP)
			fs.rmSync(dir, { recursive: true, force: true });
	});
	try {
		const keyfile = path.join(dir, 'publish.keys');
		fs.writeFileSync(keyfile, KEY + '\n', { mode: 0o644 });
		w.redis = new Redis(dir, opts.redis || {});
		await w.redis.start();
		for (let i = 0; i < nhosts; i++) {
			const l = new Link(i % 2 === 0 ? { port: await h.freePort() }
			    : path.join(dir, 'link-' + (i + 1) + '.sock'),
			    w.redis.sock);
			await l.up();
			w.links.push(l);
			const e = new h.Env(kinds[i % 2], Object.assign({
			    heartbeat: 1, retry: 300, downRetry: 300 },
			    opts.host || {}));
			e.brokerArgs = ['--data-dir', 'none', '--redis', l.url()]
			    .concat(e.brokerArgs);
			e.respArgs = ['--publish-key', keyfile].concat(e.respArgs);
			w.hosts.push(e);
			await e.start();
		}
		for (const e of w.hosts)
			if (!await waitFor(() => connected(e), 15000, 50))
				throw new Error(e.kind + ': the broker did not ' +
				    'report redis_connected');
		await body(w);
		status = tap.done();
		if (status !== 0)
			tap.note(logs());
	} catch (e) {
		if (e && e.todo)
			tap.note('the rest of the file is not run');
		else
			tap.ok(false, 'no exception', String(e && e.stack || e));
		tap.note(logs());
		status = tap.done();
	}
	for (const l of w.links)
		l.down();
	for (const e of w.hosts) {
		try { await e.stop(); } catch (err) { /* best effort */ }
	}
	try { await w.redis.stop(); } catch (err) { /* best effort */ }
	clearTimeout(watchdog);
	process.exit(status);
}

module.exports = { needs, brokerHasRedis, scenario, Redis, Link, SwitchingClient, stats, connected,
    seqOf, epochOf, exactDiff, openClients, warmUp, httpPublish, publisher, ackedInOrder, main };
