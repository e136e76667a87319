// SPDX-License-Identifier: ISC
'use strict';
// HTTP/2 clients for the web tests, on node's own http2 module: a session
// to a server's TLS port that trusts only the test's certificate, one
// request with its whole answer, and a streaming GET that records what
// arrives.  Many of them share one session, as a browser's tabs share one
// connection.

const fs = require('fs');
const http2 = require('http2');
const { now } = require('./harness');

// A session to env's TLS port; resolves once TLS (ALPN h2) is up and the
// server's SETTINGS have arrived.
function connect(env) {
	return new Promise((resolve, reject) => {
		const s = http2.connect(env.tlsUrl('/'),
		    { ca: fs.readFileSync(env.tlsCert) });
		const t = setTimeout(() => {
			s.destroy();
			reject(new Error('no HTTP/2 session within 10 s'));
		}, 10000);
		s.once('error', (e) => { clearTimeout(t); reject(e); });
		s.once('remoteSettings', () => {
			clearTimeout(t);
			s.removeAllListeners('error');
			s.on('error', () => { /* seen by the streams */ });
			resolve(s);
		});
	});
}

// A streaming GET on session: status, headers, the text with arrival
// times, until closed.
class Stream {
	constructor(session, path, headers = {}) {
		this.chunks = [];
		this.text = '';
		this.status = null;
		this.headers = null;
		this.ended = false;
		this.req = session.request(Object.assign({ ':path': path },
		    headers), { endStream: true });
		this.req.setEncoding('utf8');
		this.req.on('response', (hd) => {
			this.status = hd[':status'];
			this.headers = hd;
		});
		this.req.on('data', (d) => {
			this.chunks.push({ t: now(), d });
			this.text += d;
		});
		this.req.on('end', () => { this.ended = true; });
		this.req.on('close', () => { this.ended = true; });
		this.req.on('error', () => { this.ended = true; });
	}

	// The data: lines seen so far.
	datas() { return (this.text.match(/^data: .*$/mg) || [])
	    .map((l) => l.slice(6)); }

	// Resets the stream (RST_STREAM CANCEL), as a browser closing a tab.
	close() { this.req.close(http2.constants.NGHTTP2_CANCEL); }
}

// One request on session; resolves with status, headers and body.
function request(session, path, opts = {}) {
	return new Promise((resolve, reject) => {
		const hd = Object.assign({ ':path': path,
		    ':method': opts.method || 'GET' }, opts.headers || {});
		const req = session.request(hd, { endStream: !opts.body });
		let res = null;
		let body = '';
		req.setEncoding('utf8');
		req.setTimeout(opts.timeout || 5000, () =>
		    req.close(http2.constants.NGHTTP2_CANCEL));
		req.on('response', (h) => { res = h; });
		req.on('data', (d) => { body += d; });
		req.on('end', () => resolve({ status: res && res[':status'],
		    headers: res || {}, body }));
		req.on('error', reject);
		req.on('close', () => {
			if (res === null)
				reject(new Error('no answer to ' + path));
		});
		if (opts.body)
			req.end(opts.body);
	});
}

module.exports = { connect, Stream, request };
