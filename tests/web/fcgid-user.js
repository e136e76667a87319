// SPDX-License-Identifier: ISC
'use strict';
// Hosting without root: Apache with mod_fcgid run by an unprivileged
// user (as a hoster runs it, or the user's own instance), the site set up
// by the user alone, with a .htaccess and the two programs in a
// directory of the user's: fastsse-fcgi --spawn-broker starts the broker
// on the first stream.  The hoster's part is generic (mod_fcgid loaded,
// AllowOverride FileInfo Options=ExecCGI for the user's directory) but
// for one line: FcgidOutputBufferSize 0, which .htaccess cannot set and
// without which no event gets through (mod_fcgid's filter reads the
// response with blocking reads and passes it on only past 64 KiB).  End to end with WHATWG EventSource clients: events arrive,
// several streams (one responder process each) share one broker, and the
// memory each stream costs is measured (PSS and RSS of the responder
// processes; FASTSSE_FCGID_STREAMS sets how many streams, default 10).
// Run as root, Apache runs as the web server's user (www-data) instead.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const h = require('./lib/harness');
const { tap, waitFor } = h;

const mods = '/usr/lib/apache2/modules';
h.needs(['build', 'node_modules', 'apache2', mods + '/mod_fcgid.so',
    'webuser']);
const { EventSource } = h.requireModule('eventsource');
const NSTREAMS = Number(process.env.FASTSSE_FCGID_STREAMS || 10);

// The user Apache runs as: ourselves, or www-data when we are root.
function user() {
	if (process.getuid() !== 0)
		return null;
	if (h.findProgram('setpriv') === null)
		tap.skipAll('running as root, and setpriv is missing');
	try {
		const uid = Number(execFileSync('id', ['-u', 'www-data'],
		    { encoding: 'utf8' }));
		const gid = Number(execFileSync('id', ['-g', 'www-data'],
		    { encoding: 'utf8' }));
		return { uid, gid };
	} catch (e) {
		tap.skipAll('running as root, and there is no user www-data');
	}
	return null;
}

// Every process whose program is path: [pid, ...].
function pidsOf(prog) {
	const out = [];
	for (const d of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(d))
			continue;
		try {
			if (fs.readlinkSync('/proc/' + d + '/exe') === prog)
				out.push(Number(d));
		} catch (e) { /* gone, or not ours to read */ }
	}
	return out;
}

// Sum of Pss and Rss (KiB) over pids.
function memOf(pids) {
	let pss = 0, rss = 0;
	for (const p of pids) {
		try {
			const t = fs.readFileSync('/proc/' + p + '/smaps_rollup',
			    'utf8');
			pss += Number(/^Pss:\s+(\d+)/m.exec(t)[1]);
			rss += Number(/^Rss:\s+(\d+)/m.exec(t)[1]);
		} catch (e) { /* gone */ }
	}
	return { pss, rss };
}

function chownR(p, u) {
	if (u === null)
		return;
	fs.chownSync(p, u.uid, u.gid);
	if (fs.statSync(p).isDirectory())
		for (const e of fs.readdirSync(p))
			chownR(path.join(p, e), u);
}

async function main() {
	const u = user();
	process.umask(0o022);
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastsse-fcgid-'));
	fs.chmodSync(tmp, 0o755);
	const home = path.join(tmp, 'home');	// the user's
	const www = path.join(home, 'public_html');
	const bin = path.join(home, 'bin');
	const run = path.join(home, 'run');	// made by --spawn-broker
	const state = path.join(tmp, 'apache');	// the hoster's
	for (const d of [home, www, bin, state])
		fs.mkdirSync(d, { recursive: true, mode: 0o755 });
	const progs = {};
	for (const [k, p] of [['fcgi', h.bin.responder], ['broker',
	    h.bin.broker]]) {
		progs[k] = path.join(bin, path.basename(p));
		fs.copyFileSync(p, progs[k]);
		fs.chmodSync(progs[k], 0o755);
	}
	const sock = path.join(run, 'fastsse.sock');
	// The user's whole setup: this file and an empty "events".
	fs.writeFileSync(path.join(www, '.htaccess'), [
		'# fastsse under mod_fcgid, set up without root.',
		'Options +ExecCGI',
		'<Files "events">',
		'\tSetHandler fcgid-script',
		'\tFcgidWrapper "' + progs.fcgi + ' --broker ' + sock +
		    ' --spawn-broker --heartbeat 15" virtual',
		'</Files>', ''].join('\n'));
	fs.writeFileSync(path.join(www, 'events'), '');
	fs.writeFileSync(path.join(www, 'index.html'), 'hello\n');
	const port = await h.freePort();
	// The hoster's part: nothing fastsse-specific beyond AllowOverride.
	const conf = path.join(state, 'apache.conf');
	fs.writeFileSync(conf, [
		'ServerRoot "' + state + '"',
		'LoadModule mpm_event_module ' + mods + '/mod_mpm_event.so',
		'LoadModule authz_core_module ' + mods + '/mod_authz_core.so',
		'LoadModule mime_module ' + mods + '/mod_mime.so',
		'LoadModule dir_module ' + mods + '/mod_dir.so',
		'LoadModule fcgid_module ' + mods + '/mod_fcgid.so',
		'Listen 127.0.0.1:' + port,
		'ServerName 127.0.0.1',
		'PidFile ' + state + '/apache.pid',
		'ErrorLog ' + state + '/error.log',
		'LogLevel warn',
		'Mutex file:' + state + ' default',
		'DefaultRuntimeDir ' + state,
		'TypesConfig /etc/mime.types',
		'FcgidIPCDir ' + state + '/fcgid',
		'FcgidProcessTableFile ' + state + '/fcgid-shm',
		// The one server-level line a site needs from its hoster:
		// mod_fcgid holds back a response until 64 KiB of it are read
		// (its default), which only the server config can change.
		'FcgidOutputBufferSize 0',
		'DocumentRoot "' + www + '"',
		'DirectoryIndex index.html',
		'<Directory />',
		'\tAllowOverride None',
		'\tRequire all denied',
		'</Directory>',
		'<Directory "' + www + '">',
		'\tAllowOverride FileInfo Options=ExecCGI',
		'\tRequire all granted',
		'</Directory>', ''].join('\n'));
	chownR(tmp, u);
	const cmd = u === null ? [h.findProgram('apache2'), ['-f', conf,
	    '-DFOREGROUND']] : [h.findProgram('setpriv'), ['--reuid=' + u.uid,
	    '--regid=' + u.gid, '--clear-groups', h.findProgram('apache2'),
	    '-f', conf, '-DFOREGROUND']];
	const web = new h.Proc('web', cmd[0], cmd[1], path.join(tmp,
	    'apache.out'));
	const clients = [];
	const cleanup = async () => {
		for (const c of clients)
			c.close();
		await web.stop('SIGTERM', 10000);
		// The broker was started by a responder and outlives Apache.
		for (const p of pidsOf(progs.broker))
			try { process.kill(p, 'SIGTERM'); } catch (e) { /* gone */ }
		await waitFor(() => pidsOf(progs.broker).length === 0, 5000);
		if (!process.env.FASTSSE_KEEP_TMP)
			fs.rmSync(tmp, { recursive: true, force: true });
	};
	const logs = () => ['apache.out', 'apache/error.log',
	    'home/run/fastsse.sock.log'].map((f) => {
		try {
			return '--- ' + f + '\n' + fs.readFileSync(path.join(tmp,
			    f), 'utf8');
		} catch (e) { return ''; }
	}).join('\n');
	try {
		const up = await waitFor(async () => (await h.request(
		    'http://127.0.0.1:' + port + '/', { timeout: 1000 }))
		    .status === 200, 15000, 50);
		tap.ok(up, 'Apache runs as ' + (u === null ? 'us' : 'uid ' +
		    u.uid) + ' with mod_fcgid');
		if (!up)
			throw new Error('Apache did not start');
		tap.ok(!fs.existsSync(sock), 'no broker runs before the first ' +
		    'stream');

		const url = 'http://127.0.0.1:' + port + '/events?channel=home';
		const a = new h.Client(EventSource, url);
		clients.push(a);
		tap.ok(await waitFor(() => a.opens >= 1, 20000),
		    'the first EventSource opens (a responder is spawned)');
		tap.ok(await waitFor(() => fs.existsSync(sock), 10000),
		    'it started the broker, in the user\'s directory');
		const st = fs.statSync(run);
		tap.is((st.mode & 0o777).toString(8), '700',
		    'which is closed to others');
		if (u !== null)
			tap.is(fs.statSync(sock).uid, u.uid,
			    'the broker runs as the user');

		const env = Object.assign({}, process.env);
		const publish = (data) => execFileSync(h.bin.cli, ['publish',
		    '--socket', sock, 'home', data], { encoding: 'utf8', env });
		// The subscription is live once an event published after the
		// open arrives: publish until one does.
		let n = 0;
		tap.ok(await waitFor(() => {
			publish('warm ' + n++);
			return a.events.length > 0;
		}, 15000, 200), 'events reach it');
		const b = new h.Client(EventSource, url);
		clients.push(b);
		tap.ok(await waitFor(() => b.opens >= 1, 20000),
		    'a second EventSource opens (a second responder process)');
		await waitFor(() => {
			publish('warm b');
			return b.events.length > 0;
		}, 15000, 200);
		const before = a.events.length;
		publish('to both');
		tap.ok(await waitFor(() => a.events.slice(before).some(
		    (e) => e.data === 'to both') && b.events.some(
		    (e) => e.data === 'to both'), 10000),
		    'an event reaches both');
		const brokerLog = fs.readFileSync(sock + '.log', 'utf8');
		tap.is((brokerLog.match(/listening on/g) || []).length, 1,
		    'one broker serves both');

		// Memory: NSTREAMS streams, one responder process each; the
		// web server's share is what grew since the first two.
		const apache0 = memOf(pidsOf(h.findProgram('apache2')));
		for (let i = clients.length; i < NSTREAMS; i++)
			clients.push(new h.Client(EventSource, url));
		const all = await waitFor(() => clients.every((c) =>
		    c.opens >= 1), 60000, 50);
		tap.ok(all, NSTREAMS + ' streams open');
		const rp = pidsOf(progs.fcgi);
		tap.ok(rp.length >= NSTREAMS, 'one responder process per ' +
		    'stream (' + rp.length + ' for ' + NSTREAMS + ')');
		const m = memOf(rp);
		const ap = memOf(pidsOf(h.findProgram('apache2')));
		const bm = memOf(pidsOf(progs.broker));
		tap.note('mod_fcgid, ' + NSTREAMS + ' streams: responders PSS ' +
		    m.pss + ' KiB (' + (m.pss / rp.length).toFixed(0) +
		    ' per process), RSS ' + m.rss + ' KiB (' +
		    (m.rss / rp.length).toFixed(0) + ' per process); Apache ' +
		    'PSS ' + ap.pss + ' KiB (' + ((ap.pss - apache0.pss) /
		    (NSTREAMS - 2)).toFixed(0) + ' per stream past the first ' +
		    'two); broker PSS ' + bm.pss + ' KiB');
		// AddressSanitizer's shadow memory makes PSS no measure.
		if (fs.readFileSync(h.bin.responder).includes('__asan_init'))
			tap.note('PSS per process not checked: built with ' +
			    'AddressSanitizer');
		else
			tap.ok(m.pss / rp.length < 1024, 'a responder process ' +
			    'costs under 1 MiB PSS');
	} catch (e) {
		tap.ok(false, 'no exception', String(e && e.stack || e));
	}
	if (tap.failed)
		tap.note(logs());
	await cleanup();
	process.exit(tap.done());
}

const watchdog = setTimeout(() => {
	tap.ok(false, 'finished within 300 s');
	process.exit(tap.done());
}, 300000);
main().finally(() => clearTimeout(watchdog));
