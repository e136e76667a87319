#!/bin/sh
# SPDX-License-Identifier: ISC
# Publishing over HTTP at the responder's own socket, with the FastCGI
# records a web server would send (tests/integration/httppub_peer.py):
# a body without Content-Length, a body over the bound refused before its
# end, a declared length over it, retries with one Idempotency-Key, a
# broker that never answers (503 at the publish deadline), an abort
# while the broker is asked, and bad key files refused at start.  The
# web tests (tests/web/httppub-*.js) do the rest through real servers.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

FCGI=$top_builddir/fcgi/fastsse-fcgi
export PYTHONDONTWRITEBYTECODE=1	# nothing written into the source tree
# Debian's python3: a version manager's shim can take seconds to start.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PEER="$PY $top_srcdir/tests/integration/httppub_peer.py"
if [ ! -x "$FCGI" ] || ! command -v "$PY" >/dev/null 2>&1; then
	echo "1..0 # SKIP $FCGI not built or no python3"
	exit 77
fi
KEY=integration-key-0123456789
printf '%s\n' "$KEY" > "$T/keys"

start_broker b "$T/b.sock" || { echo "Bail out! no broker"; exit 1; }

# start_fcgi NAME BROKER [OPTIONS...]: a responder with the key file on
# $T/NAME.sock, logging to $T/NAME.log; sets $NAME_pid.
start_fcgi() {
	_n=$1
	_b=$2
	shift 2
	"$FCGI" -d --listen "unix:$T/$_n.sock" --broker "$_b" \
	    --publish-key "$T/keys" "$@" >"$T/$_n.log" 2>&1 &
	_pid=$!
	bg_pids="$bg_pids $_pid"
	eval "${_n}_pid=$_pid"
	wait_until grep -q 'ready:' "$T/$_n.log" && alive "$_pid"
}

start_fcgi f "$T/b.sock" || { diag_file "$T/f.log"; echo "Bail out! no responder"; exit 1; }
F=$T/f.sock

out=$($PEER post "$F" channel=news "$KEY" 'no length' --no-length)
check "a body without Content-Length is read to its end: 201 ($out)" \
    matches "$out" '201 [0-9a-z]*-[0-9]*$'
id=${out#201 }
"$FASTSSE" tail --socket "$T/b.sock" --last-event-id "$(epoch_of "$id")-0" \
    --count 1 news > "$T/tail.out" 2>&1
check "its event is on the channel with that id" \
    grep -qx "id: $id" "$T/tail.out"
check "and its data" grep -qx 'data: no length' "$T/tail.out"

out=$($PEER big "$F" "$KEY")
check "a body over 256 KiB gets 413 before its end, and the request ends ($out)" \
    matches "$out" '413 ended body over'
out=$($PEER post "$F" channel=news "$KEY" x --ctype text/plain)
check "the responder goes on ($out)" matches "$out" '201 '

# Content-Length over the bound: answered without the body.
out=$($PY - "$F" "$KEY" <<'PY'
import sys
sys.path.insert(0, __import__("os").environ["top_srcdir"] +
    "/tests/integration")
import httppub_peer as p
s = p.connect(sys.argv[1])
s.sendall(p.head(p.params("channel=news", sys.argv[2],
    {"CONTENT_LENGTH": "999999999"})))
st, hdr, body = p.status_of(p.read_answer(s)[0])
print(st, body.strip())
PY
)
check "a Content-Length over the bound: 413 with no body sent ($out)" \
    matches "$out" '413 body over'

out=$($PEER post "$F" channel=news "" x)
check "no key: 401 ($out)" matches "$out" '401 '
out=$($PEER post "$F" channel=news "$KEY" x 'bad key')
check "a bad Idempotency-Key: 400 ($out)" matches "$out" '400 Idempotency-Key'

a=$($PEER post "$F" channel=once "$KEY" first K1)
b=$($PEER post "$F" channel=once "$KEY" second K1)
c=$($PEER post "$F" channel=once "$KEY" third K2)
check "the first publish with a key: 201 ($a)" matches "$a" '201 '
is "$b" "$a" "a retry with the key: the first id"
check "another key publishes ($c)" test "$c" != "$a"
n=$(stat_of "$("$FASTSSE" stats --socket "$T/b.sock")" events_published)
"$FASTSSE" publish --socket "$T/b.sock" --idempotency-key K1 once again \
    > "$T/cli.out"
is "201 $(cat "$T/cli.out")" "$a" "fastsse publish --idempotency-key: the same id"
stats=$("$FASTSSE" stats --socket "$T/b.sock")
check "events_published is counted ($n)" matches "$n" '[0-9][0-9]*$'
is "$(stat_of "$stats" events_published)" "$n" "and nothing published"
is "$(stat_of "$stats" idem_repeats)" 2 "two repeats counted by the broker"

# A broker that takes the publish and never answers: 503 at 5 s.
$PY "$top_srcdir/tests/integration/httppub_peer.py" mute \
    "$T/mute.sock" "$T/mark" 2>"$T/mute.log" &
bg_pids="$bg_pids $!"
wait_until test -S "$T/mute.sock"
start_fcgi m "$T/mute.sock" || diag_file "$T/m.log"
wait_until grep -q 'connected to the broker' "$T/m.log"
out=$(HTTPPUB_TOOK=$T/took $PEER post "$T/m.sock" channel=news "$KEY" x)
took=$(cat "$T/took")
check "no answer from the broker: 503 ($out)" \
    matches "$out" '503 broker unavailable: no answer'
check "at the 5 s deadline (took $took s)" \
    matches "$took" '[5-8]\.[0-9]$'
rm -f "$T/mark"
out=$(HTTPPUB_TOOK=$T/took $PEER abort "$T/m.sock" "$KEY" "$T/mark")
took=$(cat "$T/took")
check "an abort while the broker is asked ends the request ($out)" \
    matches "$out" 'ended'
check "at once, not at the deadline (took $took s)" \
    matches "$took" '[0-3]\.[0-9]$'
check "the mute broker had the publish" test -e "$T/mark"
# 300 at once to the mute broker: 256 wait for it, the rest are
# refused at once.
$PEER flood "$T/m.sock" "$KEY" 300 > "$T/flood.out"
check "300 at once: 256 wait for the broker, then 503" \
    grep -qx '256 503 broker unavailable: no answer from the broker in time' \
    "$T/flood.out" || diag_file "$T/flood.out"
check "44 refused at the bound of 256 pending" \
    grep -qx '44 503 too many publishes waiting for the broker' "$T/flood.out"
out=$($PEER post "$F" channel=news "$KEY" y)
check "the other responder is unaffected ($out)" matches "$out" '201 '
kill -USR1 "$m_pid"
check "publishing counters are logged" \
    wait_until grep -q 'publishing:.* 257 timed out.* 44 over' "$T/m.log" ||
    diag_file "$T/m.log"

kill -TERM "$f_pid" "$m_pid"
wait "$f_pid"
ok $? "the responder exits cleanly"
wait "$m_pid"
ok $? "the responder of the mute broker exits cleanly"

# Key files refused at start.
for bad in short '0123456789abcdef 0123' ''; do
	printf '%s\n' "$bad" > "$T/badkeys"
	"$FCGI" -d --listen "unix:$T/x.sock" --broker "$T/b.sock" \
	    --publish-key "$T/badkeys" >"$T/x.log" 2>&1
	st=$?
	check "key file '$bad': refused at start (status $st)" \
	    test $st -eq 1 -a ! -S "$T/x.sock"
	check "with a reason" grep -q 'publish-key' "$T/x.log"
done
"$FCGI" -d --listen "unix:$T/x.sock" --broker "$T/b.sock" \
    --publish-key "$T/nonexistent" >"$T/x.log" 2>&1
ok $(( $? == 1 ? 0 : 1 )) "a missing key file: refused at start"

check "the broker stops cleanly" stop_broker b
done_testing
