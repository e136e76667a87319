#!/bin/sh
# Subscribers that ask for a replay and never read cannot hold more than
# --max-memory of replayed events between them: a SUBSCRIBE whose replay
# would pass it is answered with ERROR BUSY, and the broker serves live
# subscribers and publishers meanwhile, and replays again once the
# backlog is gone.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

if [ ! -x "$RAWPEER" ]; then
	echo "1..0 # SKIP $RAWPEER not built"
	exit 77
fi

N=20
S=$T/b.sock
start_broker b "$S" --max-memory 4M
ok $? "broker starts with --max-memory 4M"
base=$(rss_kb $b_pid)

# About 3.9 MiB of history: 240 events of 16 KiB.
pad=$(printf '%016384d' 0)
first=$("$FASTSSE" publish --socket "$S" r start)
ok $? "a first event marks where the replays start"
i=0
while [ $i -lt 240 ]; do
	echo "$i $pad"
	i=$((i + 1))
done >"$T/lines"
"$FASTSSE" publish --lines --socket "$S" r <"$T/lines" >"$T/ids1"
ok $? "240 events of 16 KiB published"

i=0
while [ $i -lt $N ]; do
	bg "$RAWPEER" "$S" replay r "$first" "$T/go" >"$T/z$i.out" 2>"$T/z$i.err"
	i=$((i + 1))
done
answered() {
	test "$(cat "$T"/z*.out | wc -l)" -eq $N
}
check "$N subscribers that never read ask for the replay" wait_until answered
got=$(cat "$T"/z*.out | grep -c '^subscribed$')
busy=$(cat "$T"/z*.out | grep -c '^error 12$')
diag "$got replays accepted, $busy refused"
check "the first is replayed" test "$got" -ge 1
check "the others are refused with ERROR BUSY (12)" test "$busy" -ge $((N - 2))
is $((got + busy)) $N "each got one or the other"
stats=$("$FASTSSE" stats --socket "$S")
is "$(stat_of "$stats" replay_refusals)" "$busy" "replay_refusals counts them"
check "replay_bytes stays within --max-memory" \
    test "$(stat_of "$stats" replay_bytes)" -le 4194304

# Live subscribers and publishers are served; the history turns over, so
# what the replays hold is all that is kept alive beyond it.
bg "$FASTSSE" tail --socket "$S" --verbose --count 240 r >"$T/tail.out" 2>"$T/tail.err"
tail_pid=$bg_pid
check "a live subscriber subscribes" wait_until grep -q subscribed "$T/tail.err"
"$FASTSSE" publish --lines --socket "$S" r <"$T/lines" >"$T/ids2"
ok $? "240 more events published"
wait $tail_pid
ok $? "the live subscriber gets all 240"
stats=$("$FASTSSE" stats --socket "$S")
check "the history evicted the replayed events" \
    test "$(stat_of "$stats" evictions_memory)" -ge 200
rss_below $b_pid "$base" 24576 "RSS grew by less than 24 MiB ($N x 4 MiB asked)"

touch "$T/go"
nobacklog() {
	test "$(stat_of "$("$FASTSSE" stats --socket "$S")" replay_bytes)" -eq 0
}
check "the replayed bytes are released with their subscribers" wait_until nobacklog
from=$(sed -n 200p "$T/ids2")
"$RAWPEER" "$S" replay r "$from" "$T/go" >"$T/again.out" 2>"$T/again.err"
is "$(cat "$T/again.out")" subscribed "a replay is accepted again"

stop_broker b
ok $? "broker exits 0 on SIGTERM"
done_testing
