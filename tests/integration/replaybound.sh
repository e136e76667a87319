#!/bin/sh
# SPDX-License-Identifier: ISC
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

# $N generations of about 3.9 MiB of history (240 events of 16 KiB), each
# on its own channel and pushing the one before out of the history, and
# after each a subscriber that replays it and never reads: unbounded, each
# would keep its own generation alive, and nothing live would reach it to
# make it a slow consumer.
pad=$(printf '%016384d' 0)
i=0
while [ $i -lt 240 ]; do
	echo "$i $pad"
	i=$((i + 1))
done >"$T/lines"
i=0
while [ $i -lt $N ]; do
	mark=$("$FASTSSE" publish --socket "$S" r$i "mark $i") || break
	"$FASTSSE" publish --lines --socket "$S" r$i <"$T/lines" >/dev/null || break
	bg "$RAWPEER" "$S" replay r$i "$mark" "$T/go" >"$T/z$i.out" 2>"$T/z$i.err"
	wait_until test -s "$T/z$i.out" || break
	i=$((i + 1))
done
is $i $N "$N generations published, each replayed by a subscriber that does not read"
got=$(cat "$T"/z*.out | grep -c '^subscribed$')
busy=$(cat "$T"/z*.out | grep -c '^error 12$')
diag "$got replays accepted, $busy refused"
check "the first is replayed" grep -qx subscribed "$T/z0.out"
is "$got $busy" "1 $((N - 1))" "the others are refused with ERROR BUSY (12)"
stats=$("$FASTSSE" stats --socket "$S")
is "$(stat_of "$stats" replay_refusals)" "$busy" "replay_refusals counts them"
check "replay_bytes stays within --max-memory" \
    test "$(stat_of "$stats" replay_bytes)" -le 4194304

stats=$("$FASTSSE" stats --socket "$S")
check "the history evicted the replayed generations" \
    test "$(stat_of "$stats" evictions_memory)" -ge $((240 * (N - 2)))
rss_below $b_pid "$base" 24576 "RSS grew by less than 24 MiB ($N x 3.9 MiB asked)"

# Live subscribers and publishers are served meanwhile.
bg "$FASTSSE" tail --socket "$S" --verbose --count 240 o >"$T/tail.out" 2>"$T/tail.err"
tail_pid=$bg_pid
check "a live subscriber subscribes" wait_until grep -q subscribed "$T/tail.err"
"$FASTSSE" publish --lines --socket "$S" o <"$T/lines" >"$T/ids2"
ok $? "240 more events published"
wait $tail_pid
ok $? "the live subscriber gets all 240"

touch "$T/go"
nobacklog() {
	test "$(stat_of "$("$FASTSSE" stats --socket "$S")" replay_bytes)" -eq 0
}
check "the replayed bytes are released with their subscribers" wait_until nobacklog
from=$(sed -n 1p "$T/ids2")
"$RAWPEER" "$S" replay o "$from" "$T/go" >"$T/again.out" 2>"$T/again.err"
is "$(cat "$T/again.out")" subscribed "a replay is accepted again"

stop_broker b
ok $? "broker exits 0 on SIGTERM"
done_testing
