#!/bin/sh
# SPDX-License-Identifier: ISC
# broker/redisconn.c against a real redis-server started here on private
# sockets (and one loopback TCP port): connecting, AUTH (URL and password
# file), SELECT, the FUNCTION library loaded on every connect, the
# subscriber context, a Redis missing at start (logged once), killed and
# restarted (backoff, `up` again, pending commands failed first), stopped
# with SIGSTOP (deadline, `down`, back after SIGCONT), -LOADING retried,
# the pending bound, and redisconn_free with commands in flight.
# The probe (tests/integration/redisprobe) prints what redisconn reports.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

if ! command -v redis-server >/dev/null 2>&1 ||
    ! command -v redis-cli >/dev/null 2>&1; then
	echo "1..0 # SKIP redis-server not installed"
	exit 77
fi
PROBE=$top_builddir/tests/integration/redisprobe

# start_redis NAME [OPTIONS...]: a redis-server on $T/NAME.sock with its
# files in $T/NAME.d, no persistence unless OPTIONS say; sets NAME_pid and
# waits until it answers (even if only to say it needs a password or is
# loading).
start_redis() {
	_n=$1
	shift
	mkdir -p "$T/$_n.d"
	redis-server --port 0 --unixsocket "$T/$_n.sock" --unixsocketperm 700 \
	    --save '' --appendonly no --dir "$T/$_n.d" --logfile "$T/$_n.log" \
	    "$@" &
	_pid=$!
	bg_pids="$bg_pids $_pid"
	eval "${_n}_pid=$_pid"
	wait_until redis_answers "$T/$_n.sock" "$_pid"
}

redis_answers() {
	alive "$2" && [ -S "$1" ] &&
	    redis-cli -s "$1" PING 2>&1 | grep -q -e PONG -e NOAUTH -e LOADING
}

stop_redis() {
	eval "_pid=\$${1}_pid"
	kill -KILL "$_pid" 2>/dev/null
	wait "$_pid" 2>/dev/null
	rm -f "$T/$1.sock"
}

# start_probe NAME PROBE-OPTIONS...: the probe reads commands from a FIFO
# held open on fd 3; its output is $T/NAME.out, its log $T/NAME.err.
start_probe() {
	P=$T/$1
	shift
	rm -f "$P.in"
	mkfifo "$P.in"
	"$PROBE" "$@" <"$P.in" >"$P.out" 2>"$P.err" &
	probe_pid=$!
	bg_pids="$bg_pids $probe_pid"
	exec 3>"$P.in"
	cmdn=0
}

# stop_probe: quit, close its input, and return its exit status (ASan's
# leak check makes a leak fail it).
stop_probe() {
	send quit
	exec 3>&-
	wait "$probe_pid"
}

send() {
	printf '%s\n' "$*" >&3
}

# cmd ARGS...: sends a Redis command; $cmdn is its number in the output.
cmd() {
	cmdn=$((cmdn + 1))
	send "$@"
}

# has_lines REGEX N: the probe printed at least N lines matching REGEX.
has_lines() {
	[ "$(grep -c -e "$1" "$P.out")" -ge "$2" ]
}

# wait_lines REGEX [N]
wait_lines() {
	wait_until has_lines "$1" "${2:-1}"
}

# grep_ge FILE REGEX N: at least N lines of FILE match REGEX.
grep_ge() {
	[ "$(grep -c -e "$2" "$1")" -ge "$3" ]
}

# line_of REGEX: the number of the first output line matching REGEX.
line_of() {
	grep -n -e "$1" "$P.out" | head -n 1 | cut -d: -f1
}

# stat NAME: asks the probe for its counters and prints one.
stat() {
	_k=$(grep -c '^stats ' "$P.out")
	send stats
	wait_lines '^stats ' $((_k + 1)) || return 1
	grep '^stats ' "$P.out" | tail -n 1 | tr ' ' '\n' |
	    sed -n "s/^$1=//p"
}

# stat_ge NAME N: that counter is at least N (for wait_until).
stat_ge() {
	_v=$(stat "$1")
	[ -n "$_v" ] && [ "$_v" -ge "$2" ]
}

# reply N: the probe's line for command N.
reply() {
	wait_lines "^reply $1 " && grep "^reply $1 " "$P.out" | head -n 1 |
	    cut -d' ' -f3-
}

# 1. Redis missing at start: the probe starts, logs once, connects when
# Redis appears.  Its debug log (-v) shows the backoff doubling to 2 s.
start_probe p1 -v -s ev "unix:$T/r1.sock"
check "missing Redis: the failure is logged" \
    wait_until grep -q 'cannot connect.*; retrying$' "$P.err"
check "missing Redis: retries with backoff (1.6 s reached)" \
    wait_until grep -q 'retrying in 1.6 s' "$P.err"
wait_until grep_ge "$P.err" 'retrying in 2.0 s' 2
delays=$(sed -n 's/.*retrying in \([0-9.]*\) s$/\1/p' "$P.err" |
    head -n 6 | tr '\n' ' ')
is "$delays" "0.2 0.4 0.8 1.6 2.0 2.0 " "backoff doubles from 0.1 s to 2 s"
cmd GET k
check "commands fail fast while down" wait_lines "^refused $cmdn\$"
check "Redis missing at start" start_redis r1
check "up once Redis appears" wait_lines '^up$'
is "$(grep -c 'retrying$' "$P.err")" 1 "the outage was logged once (warning)"
check "and its end with how long it took" \
    grep -q 'connected after [0-9.]* s' "$P.err"

# 2. Commands and the subscriber context.
cmd SET k v1
is "$(reply $cmdn)" "status OK" "SET answered"
cmd GET k
is "$(reply $cmdn)" "string v1" "GET answered"
redis-cli -s "$T/r1.sock" PUBLISH ev hello >/dev/null
check "a message on the subscribed channel arrives" \
    wait_lines '^message hello$'
redis-cli -s "$T/r1.sock" PUBLISH other nope >/dev/null
redis-cli -s "$T/r1.sock" PUBLISH ev again >/dev/null
wait_lines '^message again$'
check "other channels are not passed on" \
    test "$(grep -c '^message nope' "$P.out")" -eq 0

# 3. Redis killed with a command in flight, then restarted.
cmd BLPOP nolist 0
inflight=$cmdn
wait_until stat_ge pending 1
stop_redis r1
check "down after Redis is killed" wait_lines '^down '
is "$(grep '^down ' "$P.out" | head -n 1)" "down pending=0" \
    "nothing pending when down fires"
is "$(reply $inflight)" "null" "the command in flight got NULL"
check "... before down fired" \
    test "$(line_of "^reply $inflight null")" -lt "$(line_of '^down ')"
cmd GET k
check "commands fail fast while Redis is gone" \
    wait_lines "^refused $cmdn\$"
start_redis r1
check "up again after the restart" wait_lines '^up$' 2
is "$(stat reconnects)" 1 "one reconnect counted"
redis-cli -s "$T/r1.sock" PUBLISH ev resubscribed >/dev/null
check "the subscription is back" wait_lines '^message resubscribed$'
cmd SET k v2
is "$(reply $cmdn)" "status OK" "commands flow again"
is "$(grep -c 'retrying$' "$P.err")" 2 "the second outage logged once more"

# 4. The subscriber context alone killed: both go down and come back.
redis-cli -s "$T/r1.sock" CLIENT KILL TYPE pubsub >/dev/null
check "losing the subscriber context drops both" wait_lines '^down ' 2
check "and both come back" wait_lines '^up$' 3
check "probe exits cleanly, nothing leaked" stop_probe

# 5. SIGSTOP with commands in flight and while idle; timeout 1 s.
start_probe p2 -t 1 -s ev "unix:$T/r1.sock"
wait_lines '^up$'
kill -STOP "$r1_pid"
cmd GET k
check "stopped Redis: the command fails after the timeout" \
    wait_lines "^reply $cmdn null\$"
check "and down fires" wait_lines '^down pending=0$'
check "a timeout counted" test "$(stat timeouts)" -ge 1
check "connect attempts to the stopped Redis time out too" \
    wait_until stat_ge timeouts 2
kill -CONT "$r1_pid"
check "after SIGCONT it comes back up" wait_lines '^up$' 2
cmd GET k
is "$(reply $cmdn)" "string v2" "and answers"
kill -STOP "$r1_pid"
check "stopped while idle: the keep-alive notices" wait_lines '^down ' 2
kill -CONT "$r1_pid"
check "and it comes back" wait_lines '^up$' 3
check "probe exits cleanly" stop_probe

# 6. The pending bound: 100,001 commands in one go (a timeout long enough
# for a loaded machine to answer them all).
start_probe p2b -t 20 "unix:$T/r1.sock"
wait_lines '^up$'
send flood 100001 PING
wait_lines '^flooded '
sent=$(sed -n 's/^flooded sent=\([0-9]*\) .*/\1/p' "$P.out")
refused=$(sed -n 's/^flooded .*refused=\([0-9]*\)$/\1/p' "$P.out")
check "at most 100000 pending ($sent sent)" test "$sent" -le 100000
check "the rest refused ($refused)" test "$refused" -ge 1 -a \
    $((sent + refused)) -eq 100001
check "the refusals counted" test "$(stat refused)" -ge "$refused"
check "every sent command answered" \
    wait_until stat_ge flood_replies "$sent"
is "$(stat flood_nulls)" 0 "none failed"

# 7. redisconn_free with a command in flight.
cmd BLPOP nolist 0
inflight=$cmdn
wait_until stat_ge pending 1
check "free with a command in flight: clean exit" stop_probe
check "the command got NULL before the free returned" \
    test "$(line_of "^reply $inflight null")" -lt "$(line_of '^freed$')"
stop_redis r1

# 8. Passwords: in the URL, from a file (which overrides the URL), wrong;
# SELECT of a db; over loopback TCP.
port=$((20000 + $$ % 30000))
i=0
while :; do
	mkdir -p "$T/r2.d"
	redis-server --port "$port" --bind 127.0.0.1 --save '' \
	    --appendonly no --dir "$T/r2.d" --logfile "$T/r2.log" \
	    --requirepass s3cret &
	r2_pid=$!
	bg_pids="$bg_pids $r2_pid"
	if wait_until sh -c "redis-cli -h 127.0.0.1 -p $port PING 2>&1 |
	    grep -q NOAUTH || ! kill -0 $r2_pid"; then
		alive "$r2_pid" && break
	fi
	i=$((i + 1))
	[ $i -ge 10 ] && break
	port=$((port + 7))
done
check "a Redis with a password on 127.0.0.1:$port" alive "$r2_pid"
start_probe p3 -s ev "redis://:s3cret@127.0.0.1:$port/3"
check "password in the URL: up" wait_lines '^up$'
cmd SET dbkey in3
is "$(reply $cmdn)" "status OK" "SET in the selected db"
is "$(redis-cli -h 127.0.0.1 -p "$port" -a s3cret --no-auth-warning -n 3 \
    GET dbkey)" "in3" "the URL's db was selected"
redis-cli -h 127.0.0.1 -p "$port" -a s3cret --no-auth-warning \
    PUBLISH ev authsub >/dev/null
check "the subscriber context authenticated too" \
    wait_lines '^message authsub$'
stop_probe
printf 's3cret\nsecond line ignored\n' >"$T/pw"
start_probe p4 -P "$T/pw" -s ev "redis://:wrong@127.0.0.1:$port"
check "a password file overrides the URL's" wait_lines '^up$'
stop_probe
start_probe p5 -s ev "redis://:wrong@127.0.0.1:$port"
check "a wrong password is logged as such" \
    wait_until grep -q 'wrong password' "$P.err"
check "and never comes up" test "$(stat up)" -eq 0
stop_probe
start_probe p6 "redis://127.0.0.1:$port"
check "no password: logged as needing one" \
    wait_until grep -q 'needs a password' "$P.err"
stop_probe
kill -KILL "$r2_pid"
wait "$r2_pid" 2>/dev/null

# 9. The FUNCTION library: loaded before up, and again after a Redis
# without persistence restarts (its functions gone).
cat >"$T/lib.lua" <<'EOF'
#!lua name=probe
redis.register_function('probe_echo', function(keys, args) return args[1] end)
EOF
start_redis r3
start_probe p7 -l "$T/lib.lua" "unix:$T/r3.sock"
wait_lines '^up$'
cmd FCALL probe_echo 0 hi
is "$(reply $cmdn)" "string hi" "the library is loaded before up"
stop_redis r3
wait_lines '^down '
start_redis r3
wait_lines '^up$' 2
cmd FCALL probe_echo 0 again
is "$(reply $cmdn)" "string again" "and loaded again after a restart"
stop_probe
printf '#!lua name=broken\nthis is not lua\n' >"$T/bad.lua"
start_probe p8 -l "$T/bad.lua" "unix:$T/r3.sock"
check "a library Redis refuses is logged" \
    wait_until grep -q 'Error compiling function' "$P.err"
check "and never comes up" test "$(stat up)" -eq 0
stop_probe
stop_redis r3

# 10. -LOADING: a Redis slow to load its data set; retried until loaded.
start_redis r4 --enable-debug-command local
redis-cli -s "$T/r4.sock" DEBUG POPULATE 2000 k 100 >/dev/null
redis-cli -s "$T/r4.sock" SAVE >/dev/null
stop_redis r4
start_redis r4 --dbfilename dump.rdb --key-load-delay 1000 \
    --loading-process-events-interval-bytes 1024
start_probe p9 "unix:$T/r4.sock"
check "a loading Redis: logged as loading" \
    wait_until grep -q 'loading its data' "$P.err"
check "up once loaded" wait_lines '^up$'
cmd DBSIZE
is "$(reply $cmdn)" "integer 2000" "with the whole data set"
check "the loading replies counted as errors" test "$(stat errors)" -ge 1
stop_probe
stop_redis r4

done_testing
