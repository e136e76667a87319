#!/bin/sh
# SPDX-License-Identifier: ISC
# The responder's front door on its own socket: slow peers (half a
# request, silent TCP connections, bodies trickled at 1 byte/s) cost only
# themselves: a new stream opens at once beside them and they are closed
# at --request-timeout.  Also the answers to other roles, GET_VALUES,
# ABORT_REQUEST and oversized params.  tests/integration/fcgipeer speaks
# FastCGI from records it builds itself.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

FCGI=$top_builddir/fcgi/fastsse-fcgi
PEER=$top_builddir/tests/integration/fcgipeer
if [ ! -x "$FCGI" ] || [ ! -x "$PEER" ]; then
	echo "1..0 # SKIP $FCGI or $PEER not built"
	exit 77
fi
TIMEOUT=2

start_broker b "$T/b.sock" || { echo "Bail out! no broker"; exit 1; }

# start_fcgi NAME ADDR: a responder in the foreground, logging to
# $T/NAME.log; sets $NAME_pid; 1 if it exits before it is ready.
start_fcgi() {
	"$FCGI" -d --listen "$2" --broker "$T/b.sock" \
	    --request-timeout $TIMEOUT >"$T/$1.log" 2>&1 &
	_pid=$!
	bg_pids="$bg_pids $_pid"
	eval "${1}_pid=$_pid"
	wait_until grep -q 'ready:' "$T/$1.log" && alive "$_pid"
}

start_fcgi u "unix:$T/f.sock" || { diag_file "$T/u.log"; echo "Bail out! no responder"; exit 1; }
# A free port: try a few, the responder refuses one that is taken.
port=$((20000 + $$ % 30000))
tries=0
until start_fcgi t "127.0.0.1:$port"; do
	tries=$((tries + 1))
	if [ $tries -ge 20 ]; then
		diag_file "$T/t.log"
		echo "Bail out! no free TCP port"
		exit 1
	fi
	port=$((port + 7))
done

"$PEER" test $TIMEOUT "unix:$T/f.sock" "127.0.0.1:$port" >"$T/peer.out" 2>&1
grep -v '^1\.\.' "$T/peer.out"
tap_n=$(grep -c '^\(not \)\{0,1\}ok' "$T/peer.out")
grep -q '^not ok' "$T/peer.out" && tap_failed=1

kill -USR1 "$u_pid" "$t_pid"
check "the counters are logged on SIGUSR1" \
    wait_until grep -q 'requests:' "$T/u.log"
check "timeouts are counted (unix)" \
    grep -q 'closed [1-9][0-9]* at the deadline' "$T/u.log"
check "timeouts are counted (TCP)" \
    wait_until grep -q 'closed [1-9][0-9]* at the deadline' "$T/t.log"
kill -TERM "$u_pid"
wait "$u_pid"
ok $? "the responder exits cleanly"
check "and removes its socket" test ! -e "$T/f.sock"
done_testing
