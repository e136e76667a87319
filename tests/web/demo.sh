#!/bin/sh
# SPDX-License-Identifier: ISC
# The demo script (fcgi/demo/run-demo.sh) as the README runs it: it starts,
# serves the page and a stream on its port, the publish command it prints
# works, and on SIGTERM it stops everything and removes its temp dir.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PATH=$PATH:/usr/sbin:/sbin

skip() {
	echo "1..0 # SKIP $1"
	exit 0
}
[ -x "$top_builddir/broker/fastsse-broker" ] || skip "not built"
command -v lighttpd >/dev/null 2>&1 || skip "lighttpd is not installed"
command -v curl >/dev/null 2>&1 || skip "curl is not installed"
command -v node >/dev/null 2>&1 || skip "node is not installed"

n=0
fails=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}

# Polls a command for up to 15 s.
wait_for() {
	i=0
	until "$@"; do
		i=$((i + 1))
		[ "$i" -gt 300 ] && return 1
		sleep 0.05
	done
}

work=$(mktemp -d "${TMPDIR:-/tmp}/fastsse-demo-test.XXXXXX")
demo=
cleanup() {
	[ -n "$demo" ] && kill "$demo" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=$(node -e 'const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
PORT=$port CHANNEL=demotest TMPDIR=$work \
    "$top_srcdir/fcgi/demo/run-demo.sh" "$top_builddir" >"$work/out" 2>&1 &
demo=$!

page() { curl -sf -o "$work/page" --max-time 1 "http://127.0.0.1:$port/"; }
wait_for page
ok $? "the demo serves its page on port $port"
grep -q 'new EventSource' "$work/page" 2>/dev/null
ok $? "the page is the EventSource demo"

wait_for grep -q 'publish --socket' "$work/out"
ok $? "the demo prints the publish command"
pubcmd=$(sed -n 's/^  \(.*publish --socket [^ ]*\) demotest .hello, world.$/\1/p' \
    "$work/out")

curl -sN --max-time 10 "http://127.0.0.1:$port/events?channel=demotest" \
    >"$work/stream" 2>/dev/null &
curlpid=$!
wait_for grep -q '^retry:' "$work/stream"
ok $? "the stream answers through lighttpd"
# The stream subscribes as it opens; publish until an event shows.
got=1
i=0
while [ $i -lt 50 ]; do
	$pubcmd demotest "hello from the demo test" >/dev/null 2>&1
	if grep -q '^data: hello from the demo test' "$work/stream"; then
		got=0
		break
	fi
	i=$((i + 1))
	sleep 0.1
done
ok $got "an event published with the printed command arrives"
kill $curlpid 2>/dev/null
wait $curlpid 2>/dev/null

# A private channel: refused without a token, open with the token the demo
# mints into its page directory, passed as the cookie.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    "http://127.0.0.1:$port/events?channel=private.demo")
[ "$code" = 403 ]
ok $? "a private channel without a token: 403 ($code)"
wait_for curl -sf -o "$work/token" --max-time 1 \
    "http://127.0.0.1:$port/token.txt"
ok $? "the demo serves a token at /token.txt"
curl -sN --max-time 2 -b "fastsse_token=$(cat "$work/token")" \
    "http://127.0.0.1:$port/events?channel=private.demo" \
    >"$work/private" 2>/dev/null
grep -q '^retry:' "$work/private" && ! grep -q token "$work/private"
ok $? "with that token as the cookie the private stream opens"

demotmp=$(sed -n 's/^Logs: \(.*\)\/\*\.log.*/\1/p' "$work/out")
# Every process the demo started, to check that none outlives it.
descendants() {
	for c in $(ps -o pid= --ppid "$1"); do
		echo "$c"
		descendants "$c"
	done
}
kids=$(descendants "$demo")
kill -TERM "$demo"
wait_for sh -c "! kill -0 $demo 2>/dev/null"
ok $? "the demo stops on SIGTERM"
wait "$demo" 2>/dev/null
demo=
[ -n "$demotmp" ] && [ ! -e "$demotmp" ]
ok $? "its temp dir is gone"
gone() { ! ps -eo args | grep -F "$demotmp/" | grep -v grep >/dev/null; }
wait_for gone
ok $? "its broker, responder and lighttpd are gone"
none_left() {
	for p in $kids; do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}
wait_for none_left
ok $? "no process it started is left (of $(echo $kids | wc -w))"
! curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"
ok $? "the port is free again"

echo "1..$n"
if [ "$fails" -ne 0 ]; then
	sed 's/^/# /' "$work/out"
	exit 1
fi
exit 0
