// SPDX-License-Identifier: ISC
'use strict';
// Minimal TAP producer for the web tests: numbered ok/not ok lines, "#"
// diagnostics, the plan printed at the end (automake's tap-driver accepts
// a trailing plan), and a skip that reports the whole file as skipped.

let n = 0;
let failed = 0;
let todo = null;

// From now on (until setTodo(null)) each check is marked TODO with reason:
// reported, but a failure does not fail the file (a feature not built
// yet).
function setTodo(reason) {
	todo = reason || null;
}

function ok(cond, name, diag) {
	n++;
	let line = (cond ? 'ok ' : 'not ok ') + n + ' - ' + name;
	if (todo !== null)
		line += ' # TODO ' + todo;
	process.stdout.write(line + '\n');
	if (!cond) {
		if (todo === null)
			failed++;
		if (diag !== undefined)
			note(typeof diag === 'string' ? diag : JSON.stringify(diag));
	}
	return !!cond;
}

function is(got, want, name) {
	const g = JSON.stringify(got), w = JSON.stringify(want);
	return ok(g === w, name, 'got:  ' + g + '\n  want: ' + w);
}

function note(text) {
	for (const l of String(text).split('\n'))
		process.stdout.write('# ' + l + '\n');
}

// The whole file is skipped: TAP "1..0 # SKIP", exit 0 (tap-driver turns
// any non-zero exit status, 77 included, into an error).
function skipAll(reason) {
	process.stdout.write('1..0 # SKIP ' + reason + '\n');
	process.exit(0);
}

function bail(reason) {
	process.stdout.write('Bail out! ' + String(reason).split('\n')[0] + '\n');
}

function done() {
	process.stdout.write('1..' + n + '\n');
	return failed === 0 ? 0 : 1;
}

module.exports = { ok, is, note, skipAll, bail, done, setTodo, get failed() { return failed; } };
