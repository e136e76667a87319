#!/bin/sh
# SPDX-License-Identifier: ISC
# Running as a service, and without one:
# - the systemd units (rendered here for the build tree) pass
#   `systemd-analyze verify` (skipped where it is not installed);
# - the responder takes a socket passed by systemd (LISTEN_FDS), started
#   by systemd-socket-activate, and answers a FastCGI request on it;
# - --log-file: both daemons write there, and after the file is moved
#   away SIGHUP makes them write a new one (and does not stop them);
# - --spawn-broker: three responders started at once end with one broker,
#   started by one of them, that all three are connected to; a socket
#   directory writable by others is refused.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

FCGI=$top_builddir/fcgi/fastsse-fcgi
if [ ! -x "$FCGI" ]; then
	echo "1..0 # SKIP $FCGI not built"
	exit 77
fi

# skip DESCRIPTION REASON: a TAP result skipped for a missing tool.
skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

# ---- the units ------------------------------------------------------------
mkdir "$T/units"
for f in broker/systemd/fastsse-broker.service.in \
    fcgi/systemd/fastsse-fcgi.service.in fcgi/systemd/fastsse-fcgi.socket.in
do
	sed -e "s|@sbindir@|$top_builddir/broker|g" \
	    -e "s|@bindir@|$top_builddir/fcgi|g" \
	    -e "s|@rundir@|$T/run|g" "$top_srcdir/$f" \
	    >"$T/units/$(basename "$f" .in)"
done
check "the units have no placeholder left" \
    sh -c "! grep -q '@[a-z_]*@' '$T'/units/*"
if command -v systemd-analyze >/dev/null 2>&1; then
	(cd "$T/units" && systemd-analyze verify --man=no \
	    ./fastsse-broker.service ./fastsse-fcgi.socket \
	    ./fastsse-fcgi.service) >"$T/verify.log" 2>&1
	rc=$?
	# It says what it ignores but still exits 0: any such line fails.
	grep -Eqi 'ignoring|unknown|fail|error|warn' "$T/verify.log" && rc=1
	ok $rc "systemd-analyze verify passes the units, saying nothing"
	[ $rc -ne 0 ] && diag_file "$T/verify.log"
	# It must be able to fail: a unit with a bad setting.
	sed 's/^ProtectSystem=strict/ProtectSystem=sometimes/' \
	    "$T/units/fastsse-broker.service" >"$T/units/bad.service"
	(cd "$T/units" && systemd-analyze verify --man=no ./bad.service) \
	    >"$T/verify-bad.log" 2>&1
	check "and speaks up about a bad setting" \
	    grep -q 'sometimes' "$T/verify-bad.log"
else
	skip "systemd-analyze verify passes the units, saying nothing" \
	    "systemd-analyze is not installed"
	skip "and speaks up about a bad setting" \
	    "systemd-analyze is not installed"
fi
check "the sysusers.d entry makes the fastsse user" \
    grep -q '^u fastsse ' "$top_srcdir/broker/systemd/fastsse.sysusers"

start_broker b "$T/b.sock" -v --log-file "$T/broker.log"
ok $? "a broker with --log-file runs"

# ---- socket activation -------------------------------------------------
# fcgi_get SOCKET: a FastCGI GET of a stream; prints what the responder
# wrote in its first STDOUT record (the headers and the preamble).
fcgi_get() {
	python3 - "$1" <<'EOF'
import socket, struct, sys
def rec(t, body):
    return struct.pack('>BBHHBx', 1, t, 1, len(body), 0) + body
def nv(k, v):
    return bytes([len(k), len(v)]) + k + v
params = b''.join(nv(k, v) for k, v in [(b'REQUEST_METHOD', b'GET'),
    (b'QUERY_STRING', b'channel=act'), (b'SCRIPT_NAME', b'/events'),
    (b'SERVER_PROTOCOL', b'HTTP/1.1')])
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall(rec(1, struct.pack('>HBxxxxx', 1, 0)) + rec(4, params) +
    rec(4, b'') + rec(5, b''))
buf = b''
while True:
    while len(buf) >= 8:
        _, t, _, n, p = struct.unpack('>BBHHBx', buf[:8])
        if len(buf) < 8 + n + p:
            break
        if t == 6 and n > 0:
            sys.stdout.write(buf[8:8 + n].decode())
            sys.exit(0)
        buf = buf[8 + n + p:]
    d = s.recv(4096)
    if not d:
        sys.exit(1)
    buf += d
EOF
}

if ! command -v systemd-socket-activate >/dev/null 2>&1; then
	skip "a socket passed by systemd is taken" \
	    "systemd-socket-activate is not installed"
	skip "and a stream is served on it" "(same)"
elif ! command -v python3 >/dev/null 2>&1; then
	skip "a socket passed by systemd is taken" "python3 is not installed"
	skip "and a stream is served on it" "(same)"
else
	bg systemd-socket-activate -l "$T/act.sock" "$FCGI" -d \
	    --broker "$T/b.sock" --log-file "$T/act.log"
	act_pid=$bg_pid
	wait_until test -S "$T/act.sock"
	fcgi_get "$T/act.sock" >"$T/act.out" 2>"$T/act.err"
	check "a socket passed by systemd is taken" \
	    grep -q "ready: systemd's socket" "$T/act.log"
	check "and a stream is served on it" grep -q '^retry: ' "$T/act.out"
	[ -s "$T/act.err" ] && diag_file "$T/act.err"
	kill -TERM "$act_pid"
	wait "$act_pid"
	ok $? "the activated responder exits 0 on SIGTERM"
fi

# ---- --log-file and SIGHUP ---------------------------------------------
"$FCGI" -d --listen "unix:$T/f.sock" --broker "$T/b.sock" \
    --log-file "$T/fcgi.log" >"$T/fcgi.out" 2>&1 &
f_pid=$!
bg_pids="$bg_pids $f_pid"
check "the responder logs to its --log-file" \
    wait_until grep -q 'connected to the broker' "$T/fcgi.log"
check "the broker logs to its --log-file" \
    wait_until grep -q 'opened' "$T/broker.log"
check "and nothing goes to stderr" test ! -s "$T/fcgi.out"
mv "$T/broker.log" "$T/broker.log.1"
mv "$T/fcgi.log" "$T/fcgi.log.1"
kill -HUP "$b_pid" "$f_pid"
check "after SIGHUP the broker writes a new file" \
    wait_until sh -c "'$FASTSSE' stats --socket '$T/b.sock' >/dev/null; \
    grep -q opened '$T/broker.log'"
kill -USR1 "$f_pid"
check "and so does the responder" \
    wait_until grep -q 'streams:' "$T/fcgi.log"
check "SIGHUP stopped neither" sh -c "kill -0 $b_pid && kill -0 $f_pid"
kill -TERM "$f_pid"
wait "$f_pid"

# ---- --spawn-broker ------------------------------------------------------
mkdir -m 0700 "$T/home"
S=$T/home/run/fastsse.sock
for i in 1 2 3; do
	"$FCGI" -d --listen "unix:$T/s$i.sock" --broker "$S" \
	    --spawn-broker="$BROKER" >"$T/s$i.log" 2>&1 &
	eval "s${i}_pid=$!"
	bg_pids="$bg_pids $!"
done
for i in 1 2 3; do
	check "responder $i connects to a broker" \
	    wait_until grep -q 'connected to the broker' "$T/s$i.log"
done
is "$(cat "$T"/s?.log | grep -c 'started .*fastsse-broker')" 1 \
    "exactly one of them started the broker"
is "$(grep -c 'listening on' "$S.log")" 1 "one broker ran"
is "$(stat -c %a "$T/home/run")" 700 "in a directory made 0700"
spawned=$(sed -n 's/.*fastsse-broker\[\([0-9]*\)\]: main: listening.*/\1/p' \
    "$S.log")
check "it answers on the socket" answers "$S"
check "the three responders and this query are connected to it" \
    wait_until sh -c "[ \$('$FASTSSE' stats --socket '$S' | \
    sed -n 's/.*\"connections\":\([0-9]*\).*/\1/p') -ge 4 ]"
for i in 1 2 3; do
	eval "kill -TERM \$s${i}_pid; wait \$s${i}_pid"
done
check "it outlives the responders" answers "$S"
[ -n "$spawned" ] && kill -TERM "$spawned"
check "and stops on SIGTERM" \
    wait_until sh -c "! '$FASTSSE' stats --socket '$S' >/dev/null 2>&1"

mkdir -m 0777 "$T/open"
"$FCGI" -d --listen "unix:$T/o.sock" --broker "$T/open/fastsse.sock" \
    --spawn-broker="$BROKER" >"$T/o.log" 2>&1 &
o_pid=$!
bg_pids="$bg_pids $o_pid"
check "a socket directory writable by others is refused" \
    wait_until grep -q 'writable by others' "$T/o.log"
check "and no broker is started there" test ! -e "$T/open/fastsse.sock"
kill -TERM "$o_pid"
wait "$o_pid"

stop_broker b
ok $? "the broker exits 0"
done_testing
