#!/bin/sh
# SPDX-License-Identifier: ISC
# The broker's Redis mode with real redis-servers on private sockets: two
# brokers share channels and ids (each event reaches the subscribers of
# both, once, in id order); a cursor from one resumes on the other; a
# cursor the mirror does not cover is read from Redis, with an exact
# "pruned"; a cursor ahead waits for the mirror; Redis down makes a
# publish fail fast and brokers catch up when it is back; a Redis that
# lost its data gives one reset "epoch"; a Redis that lost its last
# events (seq below one delivered) gets a new epoch; many publishers at
# once on two brokers (their publishes batched) get gap-free increasing
# ids and every stream every event once in order; a batch over several
# channels keeps each channel's previous seq (p) exact.
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

start_redis r1 --appendonly yes --appendfsync everysec
ok $? "redis starts (append-only file)"
A=$T/a.sock
B=$T/b.sock
start_broker a "$A" --redis "unix:$T/r1.sock" --redis-timeout 5 \
    --max-output-buffer 16M --history-max-events 5000
ok $? "broker a starts in Redis mode"
start_broker b "$B" --redis "unix:$T/r1.sock" --redis-timeout 5 \
    --history-max-events 5000
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
start_broker c "$C" --redis "unix:$T/r1.sock" --redis-timeout 5 \
    --history-max-events 5000
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
start_redis r1 --appendonly yes --appendfsync everysec
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
# Redis drops a's pub/sub connection once 1 MiB waits for it (a stopped;
# 2 MB is more than that and the socket buffers; b, reading, never lags
# that much).
rcli r1 config set client-output-buffer-limit "pubsub 1mb 0 0" >/dev/null
before=$(count_events "$T/ta.out")
kill -STOP $a_pid
awk 'BEGIN { pad = sprintf("%01000d", 0)
	for (i = 1; i <= 2000; i++) printf "cu%d %s\n", i, pad }' |
    "$FASTSSE" publish --lines --socket "$B" c1 >"$T/cu.ids"
is "$(wc -l <"$T/cu.ids" | tr -d ' ')" 2000 "2000 publishes on b while a is stopped"
kill -CONT $a_pid
check "a's subscriber gets all 2000" wait_until has_events "$T/ta.out" $((before + 2000))
diag "a's subscriber: $(count_events "$T/ta.out") events, $before before"
[ "$(count_events "$T/ta.out")" -ge $((before + 2000)) ] || diag_file "$T/a.log"
diag_file "$T/ta.err"
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

# --- Batches: many publishers at once on two brokers (own prefix). ------------
D=$T/d.sock
E=$T/e.sock
start_broker d "$D" --redis "unix:$T/r1.sock" --redis-prefix bt \
    --redis-timeout 5 --history-max-events 10000 --max-output-buffer 16M
ok $? "broker d starts (prefix bt)"
start_broker e "$E" --redis "unix:$T/r1.sock" --redis-prefix bt \
    --redis-timeout 5 --history-max-events 10000 --max-output-buffer 16M
ok $? "broker e starts (prefix bt)"
check "d is connected" wait_until connected "$D"
check "e is connected" wait_until connected "$E"
bg "$FASTSSE" tail --socket "$D" --verbose b1 b2 b3 >"$T/td.out" 2>"$T/td.err"
bg "$FASTSSE" tail --socket "$E" --verbose b1 b2 b3 >"$T/te.out" 2>"$T/te.err"
wait_until grep -q subscribed "$T/td.err" && wait_until grep -q subscribed "$T/te.err"
ok $? "a subscriber on d and one on e"
rcli r1 config resetstat >/dev/null
pubs=""
for h in d e; do
	for c in b1 b2 b3; do
		awk -v p="$h$c" 'BEGIN { for (i = 1; i <= 500; i++) print p "-" i }' |
		    "$FASTSSE" publish --lines --socket "$T/$h.sock" "$c" \
		    >"$T/bt.$h.$c.ids" &
		pubs="$pubs $!"
	done
done
for p in $pubs; do
	wait "$p" || diag "publisher $p failed"
done
cat "$T"/bt.*.ids >"$T/bt.ids"
is "$(wc -l <"$T/bt.ids" | tr -d ' ')" 3000 "6 publishers at once: 3000 publishes answered"
unordered=0
for f in "$T"/bt.*.*.ids; do
	if ! ids_ascending "$f"; then
		unordered=1
		diag "$f: $(sed 's/.*-//' "$f" | awk 'NR > 1 && $1 <= prev { print NR ": " prev " then " $1 } { prev = $1 }' | head -n 3)"
	fi
done
ok $unordered "each publisher's ids increase in its order"
is "$(sed 's/-[0-9]*$//' "$T/bt.ids" | sort -u | wc -l | tr -d ' ')" 1 \
    "one epoch"
sed 's/.*-//' "$T/bt.ids" | sort -n >"$T/bt.seqs"
is "$(uniq -d "$T/bt.seqs" | wc -l | tr -d ' ')" 0 "no id given twice"
is "$(($(tail -n 1 "$T/bt.seqs") - $(head -n 1 "$T/bt.seqs") + 1))" 3000 \
    "no id skipped (gap-free over both brokers)"
rpub=$(rcli r1 info commandstats | sed -n 's/^cmdstat_publish:calls=\([0-9]*\),.*/\1/p')
diag "3000 publishes in ${rpub:-?} batches (Redis PUBLISH calls)"
check "publishes were batched (fewer PUBLISH calls than events)" \
    test "${rpub:-3000}" -lt 3000
check "d's subscriber gets all 3000" wait_until has_events "$T/td.out" 3000
check "e's subscriber gets all 3000" wait_until has_events "$T/te.out" 3000
check "d: in id order" increasing "$T/td.out"
check "e: in id order" increasing "$T/te.out"
is "$(datas "$T/td.out" | uniq -d | wc -l | tr -d ' ')" 0 "d: each event once"
is "$(datas "$T/td.out" | wc -l | tr -d ' ')" 3000 "d: every event"
is "$(seqs "$T/td.out")" "$(seqs "$T/te.out")" "d and e: the same ids in the same order"
is "$(seqs "$T/td.out" | sort -n)" "$(cat "$T/bt.seqs")" "the ids the publishers got"

# --- A batch over several channels keeps each channel's p exact. -------------
# p_exact KEY: in stream KEY of prefix bt, each entry's p is the seq of the
# entry before it (0 for the first).
p_exact() {
	rcli r1 xrange "{bt}:ch:$1" - + | awk '
	    NR % 9 == 1 { id = $1; sub(/-0$/, "", id) }
	    NR % 9 == 5 { if ($1 != prev) bad = 1; prev = id }
	    END { exit bad || NR == 0 }'
}
rcli r1 config resetstat >/dev/null
"$RAWPEER" "$D" burst 200 m1 m2 m3 m4 >"$T/burst1.ids"
"$RAWPEER" "$E" burst 200 m1 m2 m3 m4 >"$T/burst2.ids"
cat "$T/burst1.ids" "$T/burst2.ids" >"$T/burst.ids"
is "$(grep -c -- - "$T/burst.ids")" 400 "two bursts of 200 over 4 channels, each answered PUBLISHED"
check "in order" ids_ascending "$T/burst.ids"
rz=$(rcli r1 info commandstats | sed -n 's/^cmdstat_zscore:calls=\([0-9]*\),.*/\1/p')
rpub=$(rcli r1 info commandstats | sed -n 's/^cmdstat_publish:calls=\([0-9]*\),.*/\1/p')
diag "400 publishes: ${rpub:-?} PUBLISH, ${rz:-?} ZSCORE calls"
check "batches spanned several channels (ZSCORE calls > PUBLISH calls)" \
    test "${rz:-0}" -gt "${rpub:-0}"
for c in m1 m2 m3 m4; do
	check "$c: p of every entry is the channel's previous seq" p_exact $c
	is "$(rcli r1 xlen "{bt}:ch:$c")" 100 "$c: 100 entries"
done
first=$(head -n 1 "$T/burst2.ids")
timeout 30 "$FASTSSE" tail --socket "$E" --count 1 --last-event-id \
    "$(sed -n 1p "$T/burst1.ids")" m2 >"$T/bpr.out"
check "a cursor on m2 from the first burst: no reset" \
    test "$(grep -c '^event: reset' "$T/bpr.out")" -eq 0
is "$(sed -n 's/^data: //p' "$T/bpr.out")" burst1 "and m2's next event"

# --- PUBLISH_ONCE in batches: the key's id is kept (local). ------------------
k1=$("$FASTSSE" publish --socket "$D" --idempotency-key k1 b1 once)
k2=$("$FASTSSE" publish --socket "$D" --idempotency-key k1 b1 once)
is "$k2" "$k1" "a PUBLISH_ONCE repeated on the same broker gets the same id"
stop_broker d
ok $? "d stops cleanly"
stop_broker e
ok $? "e stops cleanly"

stop_broker a
ok $? "a stops cleanly"
stop_broker b
ok $? "b stops cleanly"
stop_broker c
ok $? "c stops cleanly"
stop_broker p
ok $? "p stops cleanly"
done_testing
