#!/bin/sh
# SPDX-License-Identifier: ISC
# How many slow peers it takes before a new stream waits more than 100 ms
# (the worst of 5 tries per step, peers added in doubling steps):
# directly on the responder's socket (BEGIN + 5 bytes of PARAMS on a unix
# socket, silent TCP connections, POST bodies at 1 byte/s) and through
# Apache with the shipped mod_proxy_fcgi config (bodies at 1 byte/s, and
# bodies never sent).  Prints each step and a RESULT line per case.
#   BUILD=build tests/bench/slowpeers.sh        (from the source tree)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${BUILD:-$top/build}" && pwd)
make -s -C "$BUILD" tests/integration/fcgipeer >/dev/null
T=$(mktemp -d "${TMPDIR:-/tmp}/fastsse-slow.XXXXXX")
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

"$BUILD/broker/fastsse-broker" -d --socket "$T/b.sock" >"$T/b.log" 2>&1 &
pids="$pids $!"
port=$((20000 + $$ % 30000))
"$BUILD/fcgi/fastsse-fcgi" -d --listen "unix:$T/f.sock" \
	--broker "$T/b.sock" >"$T/u.log" 2>&1 &
pids="$pids $!"
"$BUILD/fcgi/fastsse-fcgi" -d --listen "127.0.0.1:$port" \
	--broker "$T/b.sock" >"$T/t.log" 2>&1 &
pids="$pids $!"
i=0
until grep -q ready: "$T/u.log" && grep -q ready: "$T/t.log"; do
	i=$((i + 1))
	if [ $i -gt 500 ]; then
		cat "$T/u.log" "$T/t.log" >&2
		exit 1
	fi
	sleep 0.02
done

echo "== on the socket"
"$BUILD/tests/integration/fcgipeer" bench params "unix:$T/f.sock"
"$BUILD/tests/integration/fcgipeer" bench silent "127.0.0.1:$port"
"$BUILD/tests/integration/fcgipeer" bench trickle "unix:$T/f.sock"
echo "== through Apache (mod_proxy_fcgi)"
for kind in trickle silent; do
	top_srcdir=$top top_builddir=$BUILD node "$top/tests/bench/slow-apache.js" $kind
done
