#!/bin/sh
# SPDX-License-Identifier: ISC
# Installs the node packages the web tests use (eventsource, playwright-core;
# pinned by package-lock.json) with `npm ci`, into DIR/node_modules.
#   tests/web/setup.sh [--optional] [DIR]
# DIR defaults to tests/web/npm under the current directory, which is where
# the tests look first when the current directory is the build directory
# (tests/run.sh calls it from there; `make check` also calls it, with
# --optional, before running the tests).  The tests also look in
# $FASTSSE_NODE_MODULES and in tests/web/npm/node_modules of the source tree.
# Idempotent (nothing is done when DIR already holds this lockfile's
# packages) and safe to run concurrently (a lock serialises installs).
# Without the packages the web tests skip, giving the reason this script
# found (kept in DIR/.failed).  An install failure is an error in CI and a
# warning elsewhere; with --optional a failed npm ci is reported only
# once: an --optional run after one with the same lockfile does nothing.
# npm ci runs once, with its network retries cut short, so an unreachable
# registry costs seconds, not minutes.
set -eu
optional=no
if [ "${1:-}" = --optional ]; then
	optional=yes
	shift
fi
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$PWD/tests/web/npm}
want=$(cksum < "$here/package-lock.json")

fail() {
	echo "tests/web/setup.sh: $*" >&2
	if [ -d "$dest" ]; then
		printf '%s\n%s\n' "$want" "$*" > "$dest/.failed" || true
	fi
	if [ "$optional" = no ] && [ "${CI:-}" = true ]; then
		exit 1
	fi
	echo "tests/web/setup.sh: the web tests will be skipped" >&2
	exit 0
}

mkdir -p "$dest" || fail "cannot create $dest"
dest=$(cd "$dest" && pwd)
exec 9>"$dest/.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi
if [ -d "$dest/node_modules" ] && [ -f "$dest/.installed" ] &&
    [ "$(cat "$dest/.installed")" = "$want" ]; then
	exit 0
fi
# A failed download is not tried again by `make check` (the caller was
# told); a missing node is looked for again, which costs nothing.
if [ "$optional" = yes ] && [ -f "$dest/.failed" ] &&
    [ "$(head -n 1 "$dest/.failed")" = "$want" ] &&
    sed -n 2p "$dest/.failed" | grep -q '^npm ci failed'; then
	exit 0
fi
rm -f "$dest/.installed" "$dest/.failed"

command -v node >/dev/null 2>&1 || fail "node is not installed"
command -v npm >/dev/null 2>&1 || fail "npm is not installed"
# The pinned clients run on Debian 12's nodejs (18.x); an older node is
# named here rather than left to fail as the packages load.
need=$(sed -n 's/^ *"node": *">= *\([0-9][0-9]*\).*/\1/p' "$here/package.json")
have=$(node -p 'process.versions.node' 2>/dev/null) ||
    fail "node does not run"
if [ -n "$need" ] && [ "${have%%.*}" -lt "$need" ]; then
	fail "node $have is too old: the web test clients need node >= $need"
fi

cp "$here/package.json" "$here/package-lock.json" "$dest/"
if ! (cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts \
    --fetch-retries=1 --fetch-retry-mintimeout=1000 \
    --fetch-retry-maxtimeout=2000 --fetch-timeout=60000 \
    --loglevel=error >npm.log 2>&1); then
	# npm's first message line, past its code/errno/syscall lines.
	why=$(grep -E '^npm (ERR!|error) ' "$dest/npm.log" |
	    sed -E 's/^npm (ERR!|error) +//' |
	    grep -v -m 1 -E '^(code|errno|syscall|path|dest|cwd|command) ') ||
	    true
	[ -n "$why" ] || why=$(grep -m 1 . "$dest/npm.log") || true
	fail "npm ci failed: ${why:-no output} (see $dest/npm.log)"
fi
echo "$want" > "$dest/.installed"
echo "tests/web/setup.sh: node packages installed in $dest/node_modules"
