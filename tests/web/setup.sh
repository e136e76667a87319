#!/bin/sh
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
# Without the packages the web tests skip (exit 77).  An install failure is
# an error, except with --optional, and outside CI, where it is a warning.
set -eu
optional=no
if [ "${1:-}" = --optional ]; then
	optional=yes
	shift
fi
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$PWD/tests/web/npm}

fail() {
	echo "tests/web/setup.sh: $*" >&2
	if [ "$optional" = no ] && [ "${CI:-}" = true ]; then
		exit 1
	fi
	echo "tests/web/setup.sh: the web tests will be skipped" >&2
	exit 0
}

command -v node >/dev/null 2>&1 || fail "node is not installed"
command -v npm >/dev/null 2>&1 || fail "npm is not installed"
mkdir -p "$dest" || fail "cannot create $dest"
dest=$(cd "$dest" && pwd)

want=$(cksum < "$here/package-lock.json")
exec 9>"$dest/.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi
if [ -d "$dest/node_modules" ] && [ -f "$dest/.installed" ] &&
    [ "$(cat "$dest/.installed")" = "$want" ]; then
	exit 0
fi
rm -f "$dest/.installed"
cp "$here/package.json" "$here/package-lock.json" "$dest/"
tries=0
until (cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts \
    --loglevel=error >npm.log 2>&1); do
	tries=$((tries + 1))
	if [ "$tries" -ge 3 ]; then
		cat "$dest/npm.log" >&2
		fail "npm ci failed in $dest"
	fi
	sleep 2
done
echo "$want" > "$dest/.installed"
echo "tests/web/setup.sh: node packages installed in $dest/node_modules"
