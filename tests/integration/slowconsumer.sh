#!/bin/sh
# SPDX-License-Identifier: ISC
# A subscriber that never reads is dropped once its output passes
# --max-output-buffer, and counted in slow_consumer_drops, while a
# subscriber that reads receives every event of the same stream.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

if [ ! -x "$RAWPEER" ]; then
	echo "1..0 # SKIP $RAWPEER not built"
	exit 77
fi

N=60
S=$T/b.sock
start_broker b "$S" --max-output-buffer 64K
ok $? "broker starts with --max-output-buffer 64K"

stats=$("$FASTSSE" stats --socket "$S")
is "$(stat_of "$stats" slow_consumer_drops)" 0 "no slow consumer dropped yet"

bg "$RAWPEER" "$S" noread slow "$T/go" >"$T/noread.out" 2>"$T/noread.err"
noread_pid=$bg_pid
check "a subscriber that will not read subscribes" wait_until grep -q subscribed "$T/noread.out"
bg "$FASTSSE" tail --socket "$S" --verbose --count $N slow >"$T/tail.out" 2>"$T/tail.err"
tail_pid=$bg_pid
check "a subscriber that reads subscribes" wait_until grep -q subscribed "$T/tail.err"

# A fastsse tail that is stopped reads nothing either.
bg "$FASTSSE" tail --socket "$S" --verbose slow >"$T/stopped.out" 2>"$T/stopped.err"
stopped_pid=$bg_pid
check "a tail that will be stopped subscribes" wait_until grep -q subscribed "$T/stopped.err"
kill -STOP $stopped_pid

# 60 events of 16 KiB: far more than the kernel's socket buffer plus 64K.
pad=$(printf '%016384d' 0)
i=1
: >"$T/pub.ids"
while [ $i -le $N ]; do
	"$FASTSSE" publish --socket "$S" slow "$i $pad" >>"$T/pub.ids" || break
	i=$((i + 1))
done
is "$(wc -l <"$T/pub.ids" | tr -d ' ')" $N "all $N big events published"

drops() {
	test "$(stat_of "$("$FASTSSE" stats --socket "$S")" slow_consumer_drops)" -ge 1
}
check "slow_consumer_drops counts the drop" wait_until drops

wait $tail_pid
ok $? "the reading subscriber got its $N events"
sed -n 's/^id: //p' "$T/tail.out" >"$T/got.ids"
cmp -s "$T/pub.ids" "$T/got.ids"
ok $? "exactly the published ids, in order"
is "$(grep -c "^data: [0-9]* $pad\$" "$T/tail.out")" $N "with all their data"

touch "$T/go"
wait $noread_pid
ok $? "the subscriber that did not read finds its connection closed"
is "$(tail -n 1 "$T/noread.out")" eof "it reads to EOF, not to a stall"

kill -CONT $stopped_pid
wait $stopped_pid
is $? 1 "the stopped tail, resumed, exits 1"
check "saying that the broker closed the connection" grep -q 'closed' "$T/stopped.err"
diag_file "$T/stopped.err"
check "after printing only part of the events" test "$(count_events "$T/stopped.out")" -lt $N
drops2() {
	test "$(stat_of "$("$FASTSSE" stats --socket "$S")" slow_consumer_drops)" -ge 2
}
check "slow_consumer_drops counts both drops" wait_until drops2

stats=$("$FASTSSE" stats --socket "$S")
is "$(stat_of "$stats" connections)" 1 "only the stats request is connected at the end"

stop_broker b
ok $? "broker exits 0 on SIGTERM"
done_testing
