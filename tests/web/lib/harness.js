// SPDX-License-Identifier: ISC
'use strict';
// The web tests' harness: finds the built programs and the node packages,
// starts the broker, the responder and a real web server (from Debian's
// packages) on private sockets and free ports in a private temp dir,
// renders the example configs of fcgi/conf for them, and stops everything
// on exit.  Readiness is always polled for, with a deadline.

const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const http = require('http');
const { spawn, execFile, execFileSync } = require('child_process');
const { createRequire } = require('module');
const tap = require('./tap');

const srcdir = path.resolve(process.env.top_srcdir ||
    path.join(__dirname, '..', '..', '..'));
const builddir = path.resolve(process.env.top_builddir || srcdir);
const confdir = path.join(srcdir, 'fcgi', 'conf');

const bin = {
	broker: process.env.FASTSSE_BROKER ||
	    path.join(builddir, 'broker', 'fastsse-broker'),
	cli: process.env.FASTSSE_CLI || path.join(builddir, 'broker', 'fastsse'),
	responder: process.env.FASTSSE_FCGI ||
	    path.join(builddir, 'fcgi', 'fastsse-fcgi'),
};

// The fastsse command, run as the real binary when libtool built it
// as a wrapper script around a shared library: the wrapper costs about
// 0.2 s per run here, which would swamp the latency being measured.
function cliCommand() {
	const real = path.join(path.dirname(bin.cli), '.libs',
	    path.basename(bin.cli));
	const libs = path.join(builddir, 'shared', '.libs');
	if (process.env.FASTSSE_CLI || !fs.existsSync(real) ||
	    !fs.existsSync(libs))
		return [bin.cli, process.env];
	const env = Object.assign({}, process.env);
	env.LD_LIBRARY_PATH = libs + (env.LD_LIBRARY_PATH ?
	    ':' + env.LD_LIBRARY_PATH : '');
	return [real, env];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6;

// Polls cond (sync or async) every `every` ms until it is true or the
// deadline passes; returns whether it became true.
async function waitFor(cond, ms, every = 10) {
	const end = now() + ms;
	for (;;) {
		try {
			if (await cond())
				return true;
		} catch (e) { /* not yet */ }
		if (now() > end)
			return false;
		await sleep(every);
	}
}

// A program from Debian's packages, which may live in an sbin directory
// that a non-root PATH lacks.
function findProgram(name) {
	const dirs = (process.env.PATH || '').split(':')
	    .concat(['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin']);
	for (const d of dirs) {
		const p = path.join(d, name);
		try {
			fs.accessSync(p, fs.constants.X_OK);
			return p;
		} catch (e) { /* next */ }
	}
	return null;
}

// The node packages installed by tests/web/setup.sh, or null.
function nodeModules() {
	const cands = [];
	if (process.env.FASTSSE_NODE_MODULES)
		cands.push(process.env.FASTSSE_NODE_MODULES);
	cands.push(path.join(builddir, 'tests', 'web', 'npm', 'node_modules'));
	cands.push(path.join(srcdir, 'tests', 'web', 'npm', 'node_modules'));
	cands.push(path.join(srcdir, 'tests', 'web', 'node_modules'));
	for (const c of cands)
		if (fs.existsSync(path.join(c, 'eventsource', 'package.json')))
			return c;
	return null;
}

// Why the node packages are missing: the reason tests/web/setup.sh gave
// when it could not install them, or that it has not run.
function whyNoModules() {
	for (const d of [builddir, srcdir]) {
		const f = path.join(d, 'tests', 'web', 'npm', '.failed');
		try {
			const why = fs.readFileSync(f, 'utf8').split('\n')[1];
			if (why)
				return why;
		} catch (e) { /* next */ }
	}
	return 'run tests/web/setup.sh';
}

function requireModule(name) {
	const nm = nodeModules();
	if (nm === null)
		return null;
	return createRequire(path.join(nm, 'noop.js'))(name);
}

// What each kind of web server needs installed (Debian's packages), and
// 'webuser' where the server, started as root, works as www-data (nginx's
// workers, Apache's children and the responder mod_fcgid spawns; the
// lighttpd configs set no server.username, so lighttpd stays root).
const apacheModules = '/usr/lib/apache2/modules';
const serverNeeds = {
	'lighttpd': ['lighttpd'],
	'lighttpd-spawn': ['lighttpd'],
	'nginx': ['nginx', 'webuser'],
	'apache-proxy': ['apache2', apacheModules + '/mod_proxy_fcgi.so',
	    apacheModules + '/mod_asis.so', 'webuser'],
	'apache-fcgid': ['apache2', apacheModules + '/mod_fcgid.so', 'webuser'],
	// The TLS + HTTP/2 variants (Env option tls).
	'tls': ['openssl'],
	'lighttpd-tls': ['lighttpd', '/usr/lib/lighttpd/mod_openssl.so'],
	'nginx-tls': ['nginx', 'webuser'],
	'apache-proxy-tls': ['apache2', apacheModules + '/mod_proxy_fcgi.so',
	    apacheModules + '/mod_asis.so', apacheModules + '/mod_ssl.so',
	    apacheModules + '/mod_http2.so', 'webuser'],
};

// The first directory from dir up to / that user (uid, gids) cannot
// search, or null.  Mode bits only (no ACLs), as Debian sets them.
function unsearchable(dir, uid, gids) {
	for (let d = path.resolve(dir); ; d = path.dirname(d)) {
		const st = fs.statSync(d);
		let bit = 0o001;
		if (st.uid === uid)
			bit = 0o100;
		else if (gids.includes(st.gid))
			bit = 0o010;
		if ((st.mode & bit) === 0)
			return { dir: d, mode: st.mode & 0o7777 };
		if (d === path.dirname(d))
			return null;
	}
}

// Everything the web server's user reads or runs (configs, document
// root, sockets, error handlers, a spawned responder) is put in the
// test's temp dir, never taken from the source or build tree, which may
// be a clone in a directory only root can enter (/root is 0700).  That
// leaves the temp dir's parents, which the user must be able to search.
function webUserReachesTmp() {
	if (process.getuid() !== 0)
		return null;
	const [u] = webUser();
	let uid, gids;
	try {
		uid = Number(execFileSync('id', ['-u', u], { encoding: 'utf8' }));
		gids = execFileSync('id', ['-G', u], { encoding: 'utf8' })
		    .trim().split(/\s+/).map(Number);
	} catch (e) {
		return 'no user ' + u + ' for the web server to run as';
	}
	const bad = unsearchable(os.tmpdir(), uid, gids);
	if (bad === null)
		return null;
	return 'the web server runs as ' + u + ', which cannot search ' +
	    bad.dir + ' (mode ' + bad.mode.toString(8).padStart(4, '0') +
	    ')' + (bad.dir === path.resolve(os.tmpdir()) ? '' : ' above') +
	    ' the temp dir ' + os.tmpdir() + '; set TMPDIR to a ' +
	    'directory it can reach';
}

// Skips the whole file unless what it needs exists: 'build' (our
// programs), 'node_modules', 'webuser' (see webUserReachesTmp), a program
// name, an absolute path, or a kind of web server.
function needs(what) {
	what = what.flatMap((w) => serverNeeds[w] || [w]);
	for (const w of what) {
		if (w === 'webuser') {
			const why = webUserReachesTmp();
			if (why !== null)
				tap.skipAll(why);
		} else if (w === 'build') {
			for (const b of Object.values(bin))
				if (!fs.existsSync(b))
					tap.skipAll('not built: ' + b);
		} else if (w === 'node_modules') {
			if (nodeModules() === null)
				tap.skipAll('node packages missing: ' +
				    whyNoModules());
		} else if (w.startsWith('/')) {
			if (!fs.existsSync(w))
				tap.skipAll(w + ' is not installed');
		} else if (findProgram(w) === null)
			tap.skipAll(w + ' is not installed');
	}
}

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const p = s.address().port;
			s.close(() => resolve(p));
		});
	});
}

// The user a web server started as root switches to; it must reach the
// sockets in our temp dir.
function webUser() {
	if (process.getuid() !== 0) {
		const u = os.userInfo().username;
		let g = u;
		try {
			g = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
		} catch (e) { /* keep */ }
		return [u, g];
	}
	try {
		execFileSync('id', ['www-data'], { stdio: 'ignore' });
		return ['www-data', 'www-data'];
	} catch (e) {
		return ['nobody', 'nogroup'];
	}
}

// Copies a built program into dir (mode 0755) and returns the copy's
// path.  A libtool wrapper script cannot be copied (it runs the real
// program from the build tree): the file is skipped, saying so.
function copyProgram(prog, dir) {
	const head = Buffer.alloc(2);
	const fd = fs.openSync(prog, 'r');
	fs.readSync(fd, head, 0, 2, 0);
	fs.closeSync(fd);
	if (head.toString() === '#!')
		tap.skipAll(prog + ' is a libtool wrapper script, which the ' +
		    'web server\'s user could not run from a copy');
	fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
	const copy = path.join(dir, path.basename(prog));
	fs.copyFileSync(prog, copy);
	fs.chmodSync(copy, 0o755);
	return copy;
}

const procs = new Set();

// A child process whose output goes to a log file in the temp dir.
class Proc {
	constructor(name, cmd, args, logfile, opts = {}) {
		this.name = name;
		this.logfile = logfile;
		const fd = fs.openSync(logfile, 'a');
		this.child = spawn(cmd, args, { stdio: ['ignore', fd, fd],
		    env: opts.env || process.env });
		fs.closeSync(fd);
		this.exited = false;
		this.code = null;
		this.exitPromise = new Promise((resolve) => {
			this.child.on('exit', (code, sig) => {
				this.exited = true;
				this.code = code === null ? sig : code;
				procs.delete(this);
				resolve(this.code);
			});
			this.child.on('error', (e) => {
				this.exited = true;
				this.code = String(e);
				procs.delete(this);
				resolve(this.code);
			});
		});
		procs.add(this);
	}

	get pid() { return this.child.pid; }

	// SIGTERM (or sig), then SIGKILL if it has not exited after ms.
	async stop(sig = 'SIGTERM', ms = 5000) {
		if (this.exited)
			return this.code;
		try { this.child.kill(sig); } catch (e) { /* gone */ }
		const t = setTimeout(() => {
			try { this.child.kill('SIGKILL'); } catch (e) { /* gone */ }
		}, ms);
		const c = await this.exitPromise;
		clearTimeout(t);
		return c;
	}

	log() {
		try { return fs.readFileSync(this.logfile, 'utf8'); } catch (e) {
			return '';
		}
	}
}

// On an early exit: a web server gets SIGTERM so that it stops its own
// children (Apache's workers, a spawned responder); the rest SIGKILL.
// On an early exit (a failure, the watchdog, a signal): every child but
// the web server gets SIGKILL; the web server gets SIGTERM so that it
// stops its own children (Apache's workers, a spawned responder).  A
// detached reaper repeats the SIGTERM after 2 s (a server still starting
// may miss the first), kills it after 10 s, and only then removes the
// temp dirs (unless FASTSSE_KEEP_TMP), which hold the server's files.
const tmpdirs = new Set();
process.on('exit', () => {
	const web = [];
	for (const p of procs) {
		try {
			if (p.name === 'web') {
				p.child.kill('SIGTERM');
				web.push(p.pid);
			} else
				p.child.kill('SIGKILL');
		} catch (e) { /* gone */ }
	}
	const dirs = process.env.FASTSSE_KEEP_TMP ? [] : Array.from(tmpdirs);
	if (web.length === 0 && dirs.length === 0)
		return;
	const q = (x) => "'" + String(x).replace(/'/g, "'\\''") + "'";
	const pids = web.join(' ');
	let script = '';
	if (web.length > 0)
		script = 'i=0; while [ $i -lt 100 ]; do alive=; ' +
		    'for p in ' + pids + '; do kill -0 $p 2>/dev/null && ' +
		    'alive=1; done; [ -z "$alive" ] && break; ' +
		    'i=$((i + 1)); [ $i -eq 20 ] && kill -TERM ' + pids +
		    ' 2>/dev/null; sleep 0.1; done; kill -KILL ' + pids +
		    ' 2>/dev/null; ';
	script += dirs.length ? 'rm -rf ' + dirs.map(q).join(' ') : 'true';
	try {
		spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' })
		    .unref();
	} catch (e) { /* best effort */ }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
	process.on(sig, () => process.exit(1));

function connectUnix(sock) {
	return new Promise((resolve, reject) => {
		const c = net.connect(sock);
		c.on('connect', () => { c.destroy(); resolve(true); });
		c.on('error', reject);
	});
}

// One HTTP request; resolves with status, headers and the whole body.
function request(url, opts = {}) {
	return new Promise((resolve, reject) => {
		const req = http.request(url, { method: opts.method || 'GET',
		    headers: opts.headers || {}, agent: false }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { body += d; });
			res.on('end', () => resolve({ status: res.statusCode,
			    headers: res.headers, body }));
			res.on('error', reject);
		});
		req.setTimeout(opts.timeout || 5000, () => req.destroy(
		    new Error('timeout')));
		req.on('error', reject);
		req.end(opts.body);
	});
}

// A raw streaming GET: collects the body with arrival times until closed.
class RawStream {
	constructor(url, headers = {}) {
		this.chunks = [];
		this.text = '';
		this.status = null;
		this.headers = null;
		this.ended = false;
		this.req = http.get(url, { headers, agent: false }, (res) => {
			this.status = res.statusCode;
			this.headers = res.headers;
			res.setEncoding('utf8');
			res.on('data', (d) => {
				this.chunks.push({ t: now(), d });
				this.text += d;
			});
			res.on('end', () => { this.ended = true; });
			res.on('error', () => { this.ended = true; });
		});
		this.req.on('error', () => { this.ended = true; });
	}

	close() { this.req.destroy(); }
}

class Env {
	constructor(kind, opts = {}) {
		this.kind = kind;
		this.opts = opts;
		// A web server started as root works as another user, which
		// must read, run and reach what is in here: whatever the
		// user's umask, files are 0644 and directories 0755.
		process.umask(0o022);
		this.tmp = fs.mkdtempSync(path.join(os.tmpdir(),
		    'fastsse-web-' + kind + '-'));
		tmpdirs.add(this.tmp);
		fs.chmodSync(this.tmp, 0o755);
		this.state = path.join(this.tmp, 'state');
		this.conf = path.join(this.tmp, 'conf');
		this.www = path.join(this.tmp, 'www');
		for (const d of [this.state, this.conf, this.www])
			fs.mkdirSync(d, { mode: 0o755 });
		// A spawned responder runs as that user too: it runs from a
		// copy in here, not from the build tree.
		this.responderBin = path.resolve(bin.responder);
		if (this.spawnsResponder())
			this.responderBin = copyProgram(bin.responder,
			    path.join(this.tmp, 'bin'));
		// The demo page is the document root's index (the browser test
		// opens it; the others use it to see the server is up).
		const page = path.join(srcdir, 'fcgi', 'demo', 'index.html');
		fs.writeFileSync(path.join(this.www, 'index.html'),
		    fs.existsSync(page) ? fs.readFileSync(page) :
		    '<!doctype html><title>fastsse</title>\n');
		this.brokerSock = path.join(this.tmp, 'broker.sock');
		this.respSock = path.join(this.tmp, 'fcgi.sock');
		this.heartbeat = opts.heartbeat || 1;
		this.retry = opts.retry || 300;
		this.downRetry = opts.downRetry || 300;
		this.brokerArgs = opts.brokerArgs || [];
		this.respArgs = opts.respArgs || [];
		this.broker = null;
		this.responder = null;
		this.web = null;
		this.nstarts = { broker: 0, responder: 0, web: 0 };
		this.cli = cliCommand();
		// opts.tls: the server also listens with TLS + HTTP/2 on
		// tlsPort, with the -h2 variant of its config and a
		// self-signed certificate for 127.0.0.1 made here.
		this.tls = !!opts.tls;
		this.tlsCert = path.join(this.conf, 'tls-cert.pem');
		this.tlsKey = path.join(this.conf, 'tls-key.pem');
	}

	spawnsResponder() {
		return this.kind === 'lighttpd-spawn' || this.kind === 'apache-fcgid';
	}

	url(p = '/') { return 'http://127.0.0.1:' + this.port + p; }

	sseUrl(query) { return this.url('/events?' + query); }

	tlsUrl(p = '/') { return 'https://127.0.0.1:' + this.tlsPort + p; }

	// A self-signed certificate for IP 127.0.0.1, valid for a day; the
	// node clients take it as their only CA.
	makeCert() {
		if (fs.existsSync(this.tlsCert))
			return;
		execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048',
		    '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
		    '-addext', 'subjectAltName=IP:127.0.0.1',
		    '-addext', 'basicConstraints=critical,CA:FALSE',
		    '-keyout', this.tlsKey, '-out', this.tlsCert],
		    { stdio: 'ignore' });
		// The server's user (when started as root) must read both.
		fs.chmodSync(this.tlsKey, 0o644);
	}

	// The TLS + HTTP/2 variant of the server's config: the plain config
	// rendered under its own name in conf/, which the variant includes
	// (nginx's is one whole file).
	tlsWebCommand() {
		this.makeCert();
		const c = path.join(this.conf, 'server.conf');
		const extra = { TLS_PORT: String(this.tlsPort),
		    TLS_CERT: this.tlsCert, TLS_KEY: this.tlsKey };
		switch (this.kind) {
		case 'lighttpd':
			this.render('lighttpd.conf', path.join(this.conf,
			    'lighttpd.conf'));
			this.render('lighttpd-h2.conf', c, extra);
			this.render('sse-down.cgi',
			    path.join(this.conf, 'sse-down.cgi'));
			return [findProgram('lighttpd'), ['-D', '-f', c]];
		case 'nginx':
			this.render('nginx-h2.conf', c, extra);
			return [findProgram('nginx'), ['-c', c, '-e',
			    path.join(this.state, 'nginx-error.log'),
			    '-g', 'daemon off;']];
		case 'apache-proxy':
			this.render('apache-proxy-fcgi.conf', path.join(this.conf,
			    'apache-proxy-fcgi.conf'));
			this.render('apache-proxy-fcgi-h2.conf', c, extra);
			this.render('apache-sse-down.asis',
			    path.join(this.conf, 'sse-down.asis'));
			return [findProgram('apache2'), ['-f', c, '-DFOREGROUND']];
		default:
			throw new Error('no TLS variant for ' + this.kind);
		}
	}

	async startBroker(extra = []) {
		const n = ++this.nstarts.broker;
		const args = ['-d', '--socket', this.brokerSock,
		    '--socket-mode', '666']
		    .concat(this.brokerArgs, extra);
		this.broker = new Proc('broker', bin.broker, args,
		    path.join(this.tmp, 'broker-' + n + '.log'));
		const okk = await waitFor(async () => {
			if (this.broker.exited)
				throw new Error('exited');
			await connectUnix(this.brokerSock);
			return true;
		}, 10000);
		if (!okk || this.broker.exited)
			throw new Error('broker did not start: ' + this.broker.log());
	}

	// The responder options besides where it listens and the broker.
	responderArgs() {
		return ['--heartbeat', String(this.heartbeat), '--retry',
		    String(this.retry)].concat(this.respArgs);
	}

	async startResponder() {
		if (this.spawnsResponder())
			return;
		const n = ++this.nstarts.responder;
		const args = ['-d', '--listen', 'unix:' + this.respSock,
		    '--socket-mode', '0666', '--broker', this.brokerSock]
		    .concat(this.responderArgs());
		this.responder = new Proc('responder', bin.responder, args,
		    path.join(this.tmp, 'responder-' + n + '.log'));
		const okk = await waitFor(() => {
			if (this.responder.exited)
				throw new Error('exited');
			return fs.existsSync(this.respSock);
		}, 10000);
		if (!okk || this.responder.exited)
			throw new Error('responder did not start: ' +
			    this.responder.log());
		if (this.web !== null)
			await this.waitStreaming();
	}

	render(template, out, extra = {}) {
		const [u, g] = webUser();
		const vars = Object.assign({
			ADDR: '127.0.0.1', PORT: String(this.port),
			STATEDIR: this.state, CONFDIR: this.conf,
			DOCROOT: this.www, RESPONDER_SOCKET: this.respSock,
			BROKER_SOCKET: this.brokerSock,
			RESPONDER: this.responderBin,
			RESPONDER_ARGS: this.responderArgs().join(' '),
			DOWN_RETRY: String(this.downRetry),
			WEBUSER: u, WEBGROUP: g,
		}, extra);
		const args = [path.join(confdir, template)];
		for (const [k, v] of Object.entries(vars))
			args.push(k + '=' + v);
		const text = execFileSync('sh', [path.join(confdir,
		    'render.sh')].concat(args), { encoding: 'utf8' });
		fs.writeFileSync(out, text);
		return out;
	}

	webCommand() {
		if (this.tls)
			return this.tlsWebCommand();
		const c = path.join(this.conf, 'server.conf');
		switch (this.kind) {
		case 'lighttpd':
			this.render('lighttpd.conf', c);
			this.render('sse-down.cgi',
			    path.join(this.conf, 'sse-down.cgi'));
			return [findProgram('lighttpd'), ['-D', '-f', c]];
		case 'lighttpd-spawn':
			this.render('lighttpd-spawn.conf', c);
			return [findProgram('lighttpd'), ['-D', '-f', c]];
		case 'nginx':
			this.render('nginx.conf', c);
			return [findProgram('nginx'), ['-c', c, '-e',
			    path.join(this.state, 'nginx-error.log'),
			    '-g', 'daemon off;']];
		case 'apache-proxy':
			this.render('apache-proxy-fcgi.conf', c);
			this.render('apache-sse-down.asis',
			    path.join(this.conf, 'sse-down.asis'));
			return [findProgram('apache2'), ['-f', c, '-DFOREGROUND']];
		case 'apache-fcgid':
			this.render('apache-fcgid.conf', c);
			return [findProgram('apache2'), ['-f', c, '-DFOREGROUND']];
		default:
			throw new Error('unknown web server ' + this.kind);
		}
	}

	async startWeb() {
		if (this.port === undefined)
			this.port = await freePort();
		if (this.tls && this.tlsPort === undefined)
			this.tlsPort = await freePort();
		const n = ++this.nstarts.web;
		const [cmd, args] = this.webCommand();
		this.web = new Proc('web', cmd, args,
		    path.join(this.tmp, 'web-' + n + '.log'));
		const okk = await waitFor(async () => {
			if (this.web.exited)
				throw new Error('exited');
			const r = await request(this.url('/'), { timeout: 1000 });
			return r.status === 200;
		}, 15000, 25);
		if (!okk || this.web.exited)
			throw new Error(this.kind + ' did not start: ' +
			    this.web.log() + this.stateLogs());
	}

	// Stops the web server; a spawned responder goes with it.
	async stopWeb() {
		if (this.web !== null)
			await this.web.stop('SIGTERM', 10000);
		this.web = null;
	}

	async restartWeb() {
		await this.stopWeb();
		await this.startWeb();
	}

	// Whether a stream from the responder (not the "down" answer, which
	// has no comment line) comes through the web server.
	async probeStreaming() {
		return new Promise((resolve) => {
			const s = new RawStream(this.sseUrl('channel=probe'));
			const end = now() + 3000;
			const tick = () => {
				if (/\n:[^\n]*\n/.test('\n' + s.text) ||
				    /^:/.test(s.text)) {
					s.close();
					resolve(true);
				} else if (s.ended || now() > end) {
					s.close();
					resolve(false);
				} else
					setTimeout(tick, 10);
			};
			tick();
		});
	}

	async waitStreaming(ms = 15000) {
		if (!await waitFor(() => this.probeStreaming(), ms, 50))
			throw new Error('no stream through ' + this.kind + ': ' +
			    this.stateLogs());
	}

	async start() {
		await this.startBroker();
		await this.startResponder();
		await this.startWeb();
		await this.waitStreaming();
	}

	// Publishes with the fastsse command; resolves with the event id.
	publish(channel, data, type) {
		const args = ['publish', '--socket', this.brokerSock];
		if (type !== undefined)
			args.push('--event', type);
		args.push(channel, data);
		return new Promise((resolve, reject) => {
			execFile(this.cli[0], args, { encoding: 'utf8',
			    env: this.cli[1] },
			    (err, out, errout) => {
				if (err)
					reject(new Error('publish: ' + errout));
				else
					resolve(out.trim());
			});
		});
	}

	// A long-lived `fastsse publish --lines`: one event per line written,
	// without the cost of starting a process per event.
	linePublisher(channel) {
		const p = spawn(this.cli[0], ['publish', '--lines', '--socket',
		    this.brokerSock, channel], { env: this.cli[1],
		    stdio: ['pipe', 'pipe', 'inherit'] });
		const ids = [];
		let buf = '';
		p.stdout.setEncoding('utf8');
		p.stdout.on('data', (d) => {
			buf += d;
			let i;
			while ((i = buf.indexOf('\n')) >= 0) {
				ids.push(buf.slice(0, i));
				buf = buf.slice(i + 1);
			}
		});
		let exited = false;
		const exit = new Promise((r) => p.on('exit', (code) => {
			exited = true;
			r(code);
		}));
		p.stdin.on('error', () => { /* it died: seen at end() */ });
		return {
			ids,
			send: (line) => { if (!exited) p.stdin.write(line + '\n'); },
			// Closes its input; resolves with its exit status.
			end: async () => {
				p.stdin.end();
				const t = setTimeout(() => p.kill('SIGKILL'), 5000);
				const code = await exit;
				clearTimeout(t);
				return code;
			},
		};
	}

	stats() {
		return new Promise((resolve, reject) => {
			execFile(this.cli[0], ['stats', '--socket',
			    this.brokerSock], { encoding: 'utf8', env: this.cli[1] }, (err, out, errout) => {
				if (err)
					reject(new Error('stats: ' + errout));
				else
					resolve(JSON.parse(out));
			});
		});
	}

	curl(args) {
		return new Promise((resolve) => {
			execFile('curl', ['-s', '-S'].concat(args),
			    { encoding: 'utf8', timeout: 15000 },
			    (err, out, errout) => resolve({ code: err ? err.code :
			    0, out, err: errout }));
		});
	}

	stateLogs() {
		let s = '';
		for (const dir of [this.tmp, this.state]) {
			let names = [];
			try { names = fs.readdirSync(dir); } catch (e) { /* */ }
			for (const f of names.filter((x) => x.endsWith('.log'))) {
				const text = fs.readFileSync(path.join(dir, f),
				    'utf8');
				s += '\n--- ' + f + '\n' + text.split('\n')
				    .slice(-25).join('\n');
			}
		}
		return s;
	}

	async stop() {
		await this.stopWeb();
		for (const p of [this.responder, this.broker])
			if (p !== null)
				await p.stop();
		if (!process.env.FASTSSE_KEEP_TMP) {
			fs.rmSync(this.tmp, { recursive: true, force: true });
			tmpdirs.delete(this.tmp);
		}
	}
}

// An EventSource that records what it sees, for assertions.
class Client {
	constructor(EventSource, url, types = [], init = {}) {
		this.events = [];
		this.warm = [];		// "warmup" events, kept apart
		this.opens = 0;
		this.errors = 0;
		this.es = new EventSource(url, init);
		this.es.onopen = () => { this.opens++; };
		this.es.onerror = () => { this.errors++; };
		const rec = (e) => (e.type === 'warmup' ? this.warm :
		    this.events).push({ t: now(), type: e.type, data: e.data,
		    id: e.lastEventId });
		this.es.onmessage = rec;
		for (const t of types)
			this.es.addEventListener(t, rec);
	}

	ofType(type) { return this.events.filter((e) => e.type === type); }

	waitEvents(n, ms = 5000, type) {
		return waitFor(() => (type ? this.ofType(type) : this.events)
		    .length >= n, ms);
	}

	close() { this.es.close(); }
}

// Runs body(env) with a started Env and TAP bookkeeping; exits with the
// TAP status.  Any exception fails the file with the servers' logs.
async function main(kind, opts, body) {
	let env = null;
	let status = 1;
	// A hung scenario must not hang make check: fail with the logs.
	const limit = Number(process.env.FASTSSE_WEB_TIMEOUT || 300) * 1000;
	const watchdog = setTimeout(() => {
		tap.ok(false, 'finished within ' + limit / 1000 + ' s');
		if (env !== null)
			tap.note(env.stateLogs());
		tap.done();
		process.exit(1);
	}, limit);
	try {
		env = new Env(kind, opts);
		await env.start();
		await body(env);
		status = tap.done();
		if (status !== 0)
			tap.note(env.stateLogs());
	} catch (e) {
		tap.ok(false, 'no exception', String(e && e.stack || e));
		if (env !== null)
			tap.note(env.stateLogs());
		tap.done();
		status = 1;
	}
	if (env !== null) {
		try { await env.stop(); } catch (e) { /* best effort */ }
	}
	clearTimeout(watchdog);
	process.exit(status);
}

module.exports = { bin, srcdir, builddir, confdir, waitFor, sleep, now,
    findProgram, nodeModules, requireModule, needs, freePort, Proc, Env,
    Client, RawStream, request, main, tap };
