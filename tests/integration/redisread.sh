#!/bin/sh
# SPDX-License-Identifier: ISC
# Replays read from Redis are shared: a broker that just started (its
# mirror holds nothing older) answers a wave of subscribers resuming from
# an old cursor with about one read from Redis (the broker's redis_reads),
# however many they are: those that come while the read is in flight join
# it, later ones are answered from its result.  Each still gets exactly
# the events after its own cursor: nothing lost, nothing twice, in id
# order, reset "pruned" only when an event after it is gone.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

if ! command -v redis-server >/dev/null 2>&1 ||
    ! command -v redis-cli >/dev/null 2>&1; then
	echo "1..0 # SKIP redis-server not installed"
	exit 77
fi

WAVE=200

redis-server --port 0 --unixsocket "$T/r1.sock" --unixsocketperm 700 \
    --save '' --appendonly no --dir "$T" >"$T/r1.log" 2>&1 &
r1_pid=$!
bg_pids="$bg_pids $r1_pid"

pong() {
	[ "$(redis-cli -s "$T/r1.sock" ping 2>/dev/null)" = PONG ]
}

stat() {	# stat SOCKET NAME
	stat_of "$("$FASTSSE" stats --socket "$1")" "$2"
}

connected() {
	[ "$(stat "$1" redis_connected)" = 1 ] &&
	    [ "$(stat "$1" redis_last_seq)" != "" ]
}

# want FROM CHANNEL...: the data of the events after the FROM-th published,
# on those channels, in id order (ev<i> went to c1 when i is odd, else c2).
want() {
	_from=$1
	shift
	_i=$((_from + 1))
	while [ $_i -le 40 ]; do
		for _c in "$@"; do
			if [ "$_c" = "c$((2 - _i % 2))" ]; then
				echo "ev$_i"
			fi
		done
		_i=$((_i + 1))
	done
}

# wave NAME SOCKET N CURSOR-LIST CHANNEL-SETS: N tails at once; the k-th
# takes the (k mod n)-th cursor (an index into $T/ids) and channel set
# ("c1", "c1+c2"); each stops at the number of events it must get.  Then
# checks every output against want.  What each must get is worked out
# before any starts, so that they all start within a moment.
wave() {
	_name=$1 _sock=$2 _n=$3 _cursors=$4 _sets=$5
	_k=0
	for _j in $_cursors; do
		sed -n "${_j}p" "$T/ids" >"$T/id.$_j"
		for _set in $_sets; do
			_w=$T/$_name.$_j.$_set.want
			# shellcheck disable=SC2046
			want "$_j" $(echo "$_set" | tr '+' ' ') >"$_w"
			wc -l <"$_w" | tr -d ' ' >"$_w.n"
		done
	done
	# shellcheck disable=SC2086
	set -- $_cursors
	_nc=$#
	# shellcheck disable=SC2086
	set -- $_sets
	_ns=$#
	_pids=
	while [ $_k -lt "$_n" ]; do
		# shellcheck disable=SC2086
		set -- $_cursors
		shift $((_k % _nc))
		_j=$1
		# shellcheck disable=SC2086
		set -- $_sets
		shift $((_k % _ns))
		_set=$1
		_w=$T/$_name.$_j.$_set.want
		read -r _cnt <"$_w.n"
		read -r _id <"$T/id.$_j"
		IFS=+
		# shellcheck disable=SC2086
		set -- $_set
		IFS=' 	
'
		timeout 60 "$FASTSSE" tail --socket "$_sock" --count "$_cnt" \
		    --last-event-id "$_id" "$@" >"$T/$_name.$_k.out" \
		    2>"$T/$_name.$_k.err" &
		_pids="$_pids $!"
		echo "$_w" >"$T/$_name.$_k.which"
		_k=$((_k + 1))
	done
	# shellcheck disable=SC2086
	wait $_pids
	_bad=0
	_k=0
	while [ $_k -lt "$_n" ]; do
		if ! sed -n 's/^data: //p' "$T/$_name.$_k.out" |
		    cmp -s - "$(cat "$T/$_name.$_k.which")" ||
		    grep -q '^event: reset' "$T/$_name.$_k.out"; then
			[ $_bad -eq 0 ] && diag_file "$T/$_name.$_k.out" &&
			    diag_file "$T/$_name.$_k.err"
			_bad=$((_bad + 1))
		fi
		_k=$((_k + 1))
	done
	return $_bad
}

wait_until pong
ok $? "redis starts"
A=$T/a.sock
start_broker a "$A" --redis "unix:$T/r1.sock" --redis-timeout 5 \
    --history-max-events 5000
ok $? "broker a starts"
wait_until connected "$A"
: >"$T/ids"
i=1
while [ $i -le 40 ]; do
	"$FASTSSE" publish --socket "$A" "c$((2 - i % 2))" "ev$i" >>"$T/ids" ||
	    break
	i=$((i + 1))
done
is "$(wc -l <"$T/ids" | tr -d ' ')" 40 "40 events published on c1 and c2"
i=1
while [ $i -le 20 ]; do
	"$FASTSSE" publish --socket "$A" c3 "old$i" >/dev/null || break
	i=$((i + 1))
done

# --- A broker that saw none of it: one cursor, WAVE subscribers. ------------
B=$T/b.sock
start_broker b "$B" --redis "unix:$T/r1.sock" --redis-timeout 5
ok $? "broker b starts (its mirror holds none of those events)"
check "b is connected" wait_until connected "$B"
t0=$(date +%s)
wave same "$B" $WAVE 10 c1
ok $? "$WAVE subscribers from the 10th event's id each get exactly the c1 events after it, in order"
reads=$(stat "$B" redis_reads)
diag "redis_reads $reads, shared $(stat "$B" redis_reads_shared) for $WAVE subscribers in $(($(date +%s) - t0)) s"
# A read's result is kept 30 s (RSTORE_RCACHE_AGE): a slow machine that
# takes longer to start them all may read once more per 30 s.
check "about one read from Redis for all of them" test "$reads" -ge 1 -a \
    "$reads" -le $((2 + ($(date +%s) - t0) / 30))
check "the others shared it" test "$(stat "$B" redis_reads_shared)" -ge \
    $((WAVE - reads))

# --- A mix: different cursors, one or two channels, at once. ----------------
stop_broker b
start_broker b "$B" --redis "unix:$T/r1.sock" --redis-timeout 5
ok $? "broker b restarts (nothing kept)"
check "b is connected again" wait_until connected "$B"
wave mix "$B" 70 "5 10 15 20 25 30 35" "c1 c1+c2 c2 c2+c1 c1"
ok $? "70 subscribers, 7 cursors, c1, c2 or both: each gets exactly the events after its cursor, in id order"
reads=$(stat "$B" redis_reads)
diag "redis_reads $reads, shared $(stat "$B" redis_reads_shared) for 70 subscribers"
check "at most one read per cursor and channel set" test "$reads" -le 21

# --- The pruned rule holds for a shared result. -----------------------------
C=$T/c.sock
start_broker c "$C" --redis "unix:$T/r1.sock" --redis-timeout 5 \
    --history-max-events 5
ok $? "broker c starts, keeping 5 events per channel"
check "c is connected" wait_until connected "$C"
c3ids=$(redis-cli -s "$T/r1.sock" xrange "{fastsse}:ch:c3" - + |
    sed -n 's/^\([0-9]*\)-0$/\1/p')
epoch=$(sed -n 1p "$T/ids" | sed 's/-[0-9]*$//')
s1=$(echo "$c3ids" | sed -n 1p)
s16=$(echo "$c3ids" | sed -n 16p)
s17=$(echo "$c3ids" | sed -n 17p)
for k in 1 2; do
	timeout 30 "$FASTSSE" tail --socket "$C" --count 1 \
	    --last-event-id "$epoch-$s1" c3 >"$T/pruned$k.out"
	check "an old cursor ($k): reset pruned, the 5 newest kept" \
	    grep -q "\"reason\":\"pruned\",\"oldest\":\"$epoch-$s16\"" \
	    "$T/pruned$k.out"
done
timeout 30 "$FASTSSE" tail --socket "$C" --count 3 \
    --last-event-id "$epoch-$s17" c3 >"$T/later.out"
is "$(sed -n 's/^data: //p' "$T/later.out" | tr '\n' ' ')" \
    "old18 old19 old20 " "a later cursor gets the events after it"
check "without a reset" test "$(grep -c '^event: reset' "$T/later.out")" -eq 0
is "$(stat "$C" redis_reads)" 1 "one read from Redis for the three"

done_testing
