#!/bin/sh
# SPDX-License-Identifier: ISC
# The broker's Redis mode with real redis-servers on private sockets: two
# brokers share channels and ids (each event reaches the subscribers of
# both, once, in id order); a cursor from one resumes on the other; a
# cursor the mirror does not cover is read from Redis, with an exact
# "pruned"; a cursor ahead waits for the mirror; Redis down makes a
# publish fail fast and brokers catch up when it is back; a Redis that
# lost its data gives one reset "epoch"; a Redis that lost its last
# events (seq below one delivered) gets a new epoch.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

if ! command -v redis-server >/dev/null 2>&1 ||
    ! command -v redis-cli >/dev/null 2>&1; then
	echo "1..0 # SKIP redis-server not installed"
	exit 77
fi

# start_redis NAME [OPTIONS...]: a redis-server on $T/NAME.sock (no TCP),
# its pid in $NAME_pid; waits until it answers.
start_redis() {
	_name=$1
	shift
	redis-server --port 0 --unixsocket "$T/$_name.sock" \
	    --unixsocketperm 700 --save '' --appendonly no --dir "$T" \
	    --dbfilename "$_name.rdb" --appendfilename "$_name.aof" \
	    "$@" >"$T/$_name.redis.log" 2>&1 &
	_pid=$!
	bg_pids="$bg_pids $_pid"
	eval "${_name}_pid=$_pid"
	wait_until pong "$_name"
}

# pong NAME: that server answers (and has loaded its data).
pong() {
	[ "$(rcli "$1" ping 2>/dev/null)" = PONG ]
}

# rcli NAME ARGS...: redis-cli on that server.
rcli() {
	_s=$1
	shift
	redis-cli -s "$T/$_s.sock" "$@"
}

# stat SOCKET NAME: one counter of that broker.
stat() {
	stat_of "$("$FASTSSE" stats --socket "$1")" "$2"
}

# stat_is SOCKET NAME VALUE: that counter has that value now.
stat_is() {
	[ "$(stat "$1" "$2")" = "$3" ]
}

# xlen_is KEY N: the stream KEY of r1 holds N entries now.
xlen_is() {
	[ "$(rcli r1 xlen "$1")" = "$2" ]
}

# connected SOCKET: the broker is connected to Redis (and has its epoch).
connected() {
	[ "$(stat "$1" redis_connected)" = 1 ] &&
	    [ "$(stat "$1" redis_last_seq)" != "" ]
}

# seqs FILE: the seqs of the events of a tail output, one a line.
seqs() {
	sed -n 's/^id: .*-\([0-9]*\)$/\1/p' "$1"
}

# increasing FILE: the events' seqs strictly increase.
increasing() {
	seqs "$1" | ascending
}

# ascending: the numbers on stdin, one a line, strictly increase.
ascending() {
	awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1 } END { exit bad }'
}

# ids_ascending FILE: the seqs of the ids in FILE (one a line) increase.
ids_ascending() {
	sed 's/.*-//' "$1" | ascending
}

# datas FILE: the data lines of a tail output, sorted.
datas() {
	sed -n 's/^data: //p' "$1" | sort
}

start_redis r1 --appendonly yes --appendfsync always
ok $? "redis starts (append-only file, fsync always)"
A=$T/a.sock
B=$T/b.sock
start_broker a "$A" --redis "unix:$T/r1.sock" --redis-timeout 1
ok $? "broker a starts in Redis mode"
start_broker b "$B" --redis "unix:$T/r1.sock" --redis-timeout 1
ok $? "broker b starts in Redis mode"
check "a is connected to Redis" wait_until connected "$A"
check "b is connected to Redis" wait_until connected "$B"

# --- Two brokers, one set of channels and ids. ------------------------------
bg "$FASTSSE" tail --socket "$A" --verbose c1 c2 >"$T/ta.out" 2>"$T/ta.err"
ta_pid=$bg_pid
bg "$FASTSSE" tail --socket "$B" --verbose c1 c2 >"$T/tb.out" 2>"$T/tb.err"
tb_pid=$bg_pid
wait_until grep -q subscribed "$T/ta.err" && wait_until grep -q subscribed "$T/tb.err"
ok $? "a subscriber on each broker"
: >"$T/ids"
: >"$T/want"
i=1
while [ $i -le 20 ]; do
	if [ $((i % 2)) -eq 0 ]; then s=$A; else s=$B; fi
	"$FASTSSE" publish --socket "$s" "c$((i % 2 + 1))" "ev$i" >>"$T/ids" ||
	    break
	echo "ev$i" >>"$T/want"
	i=$((i + 1))
done
is "$(wc -l <"$T/ids" | tr -d ' ')" 20 "20 publishes on both brokers answered"
is "$(sed 's/-[0-9]*$//' "$T/ids" | sort -u | wc -l | tr -d ' ')" 1 \
    "every id has Redis's one epoch"
check "ids increase over both brokers" ids_ascending "$T/ids"
check "a's subscriber gets all 20" wait_until has_events "$T/ta.out" 20
check "b's subscriber gets all 20" wait_until has_events "$T/tb.out" 20
sort "$T/want" >"$T/want.sorted"
is "$(datas "$T/ta.out")" "$(cat "$T/want.sorted")" "a: each event once"
is "$(datas "$T/tb.out")" "$(cat "$T/want.sorted")" "b: each event once"
check "a: in id order" increasing "$T/ta.out"
is "$(seqs "$T/ta.out")" "$(seqs "$T/tb.out")" "a and b: the same ids in the same order"

# --- Resume on the other broker, from the mirror. ---------------------------
id10=$(sed -n 10p "$T/ids")
timeout 30 "$FASTSSE" tail --socket "$A" --count 10 --last-event-id "$id10" \
    c1 c2 >"$T/resume.out"
is "$(seqs "$T/resume.out" | head -n 1)" "$(($(seq_of "$id10") + 1))" \
    "an id b gave resumes on a right after it"
is "$(count_events "$T/resume.out")" 10 "with the 10 events after it"
is "$(stat "$A" redis_reads)" 0 "answered from a's mirror (no Redis read)"

# --- A broker that saw none of it reads the replay from Redis. ---------------
C=$T/c.sock
start_broker c "$C" --redis "unix:$T/r1.sock" --redis-timeout 1
ok $? "broker c starts"
check "c is connected" wait_until connected "$C"
id5=$(sed -n 5p "$T/ids")
timeout 30 "$FASTSSE" tail --socket "$C" --count 15 --last-event-id "$id5" \
    c1 c2 >"$T/cread.out"
is "$(count_events "$T/cread.out")" 15 "c replays the 15 events after the 5th"
check "in id order" increasing "$T/cread.out"
is "$(seqs "$T/cread.out" | head -n 1)" "$(($(seq_of "$id5") + 1))" "from the one after"
is "$(stat "$C" redis_reads)" 1 "with one read from Redis"

# --- A cursor ahead of the mirror waits for it. -------------------------------
last=$(tail -n 1 "$T/ids")
ahead="$(epoch_of "$last")-$(($(seq_of "$last") + 1))"
bg timeout 30 "$FASTSSE" tail --socket "$C" --verbose --count 1 \
    --last-event-id "$ahead" c1 >"$T/ahead.out" 2>"$T/ahead.err"
ahead_pid=$bg_pid
n1=$("$FASTSSE" publish --socket "$A" c1 next1)
n2=$("$FASTSSE" publish --socket "$A" c1 next2)
wait $ahead_pid
is "$(sed -n 's/^id: //p' "$T/ahead.out")" "$n2" \
    "a cursor one ahead of c's head is answered, with the event after it"
check "no reset for it" test "$(grep -c reset "$T/ahead.out")" -eq 0

# --- Redis down: publishes fail fast; up again: the brokers catch up. ---------
kill -TERM $r1_pid
wait $r1_pid 2>/dev/null
t0=$(date +%s)
timeout 30 "$FASTSSE" publish --socket "$A" c1 during >/dev/null 2>"$T/down.err"
rc=$?
t1=$(date +%s)
is $rc 1 "a publish while Redis is down fails"
check "at once" test $((t1 - t0)) -le 2
check "saying Redis is unreachable" grep -q "Redis" "$T/down.err"
diag_file "$T/down.err"
check "a's subscriber stays connected" alive $ta_pid
start_redis r1 --appendonly yes --appendfsync always
ok $? "redis is back, with its data"
check "a reconnects" wait_until connected "$A"
check "b reconnects" wait_until connected "$B"
after=$("$FASTSSE" publish --socket "$B" c2 after)
ok $? "publishing works again"
check "a's subscriber gets it" wait_until grep -q "^data: after$" "$T/ta.out"
is "$(stat "$A" redis_epoch_changes)" 0 "same epoch: no reset"
check "no event twice on a" test "$(datas "$T/ta.out" | uniq -d | wc -l)" -eq 0
check "still in id order" increasing "$T/ta.out"

# --- A broker cut off while the other publishes: catch-up. ---------------------
# Redis drops a's pub/sub connection once 64 KiB wait for it (a stopped;
# 2 MB is more than the socket buffers take).
rcli r1 config set client-output-buffer-limit "pubsub 64kb 0 0" >/dev/null
before=$(count_events "$T/ta.out")
kill -STOP $a_pid
awk 'BEGIN { pad = sprintf("%04000d", 0)
	for (i = 1; i <= 500; i++) printf "cu%d %s\n", i, pad }' |
    "$FASTSSE" publish --lines --socket "$B" c1 >"$T/cu.ids"
is "$(wc -l <"$T/cu.ids" | tr -d ' ')" 500 "500 publishes on b while a is stopped"
kill -CONT $a_pid
check "a's subscriber gets all 500" wait_until has_events "$T/ta.out" $((before + 500))
check "a caught up from Redis" test "$(stat "$A" redis_catchup_events)" -gt 0
check "nothing twice" test "$(datas "$T/ta.out" | uniq -d | wc -l)" -eq 0
check "in id order" increasing "$T/ta.out"
rcli r1 config set client-output-buffer-limit "pubsub 32mb 8mb 60" >/dev/null

# --- Redis lost its last events (seq below one delivered): a new epoch. ------
old=$(tail -n 1 "$T/ids")
seq=$(rcli r1 hget "{fastsse}:meta" seq)
rcli r1 hset "{fastsse}:meta" seq $((seq - 3)) >/dev/null
rcli r1 client kill type pubsub >/dev/null
check "a sees the seq went back and takes a new epoch" \
    wait_until stat_is "$A" redis_epoch_changes 1
check "b too, once" wait_until stat_is "$B" redis_epoch_changes 1
bump=$("$FASTSSE" publish --socket "$A" c1 bumped)
check "ids have a new epoch" test "$(epoch_of "$bump")" != "$(epoch_of "$old")"
check "a's subscribers were closed to start over" \
    wait_until grep -q closed "$T/ta.err"

# --- Redis restarted without its data: one reset "epoch". ---------------------
kill -9 $r1_pid
wait $r1_pid 2>/dev/null
rm -rf "$T/appendonlydir"
start_redis r1
ok $? "redis restarts empty"
check "a adopts the new epoch" wait_until stat_is "$A" redis_epoch_changes 2
new=$("$FASTSSE" publish --socket "$B" c1 fresh)
check "new ids have another epoch" test "$(epoch_of "$new")" != "$(epoch_of "$bump")"
timeout 30 "$FASTSSE" tail --socket "$A" --count 2 --last-event-id "$bump" c1 \
    >"$T/epoch.out"
is "$(grep -c '^event: reset' "$T/epoch.out")" 1 "an old id gets one reset"
check "reason epoch" grep -q '"reason":"epoch"' "$T/epoch.out"
check "then the new epoch's event" grep -q '^data: fresh$' "$T/epoch.out"

# --- Pruned: exact, from the entries' previous seq (own prefix, 3 s age). ------
P=$T/p.sock
start_broker p "$P" --redis "unix:$T/r1.sock" --redis-prefix pr \
    --history-max-age 3
ok $? "a broker with a 3 s history on its own prefix"
check "connected" wait_until connected "$P"
p1=$("$FASTSSE" publish --socket "$P" pc one)
"$FASTSSE" publish --socket "$P" pc two >/dev/null
check "Redis trims by age" wait_until xlen_is '{pr}:ch:pc' 0
p3=$("$FASTSSE" publish --socket "$P" pc three)
timeout 30 "$FASTSSE" tail --socket "$P" --count 1 --last-event-id "$p1" pc \
    >"$T/pruned.out"
check "a cursor whose next events were trimmed gets reset pruned" \
    grep -q '"reason":"pruned"' "$T/pruned.out"
timeout 30 "$FASTSSE" tail --socket "$P" --count 1 --last-event-id "$(epoch_of "$p3")-$(($(seq_of "$p3") - 1))" pc \
    >"$T/notpruned.out"
is "$(sed -n 's/^data: //p' "$T/notpruned.out")" three \
    "the cursor just before the kept event is not pruned"

stop_broker a
ok $? "a stops cleanly"
stop_broker b
ok $? "b stops cleanly"
stop_broker c
ok $? "c stops cleanly"
stop_broker p
ok $? "p stops cleanly"
done_testing
