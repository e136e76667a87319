#!/bin/sh
# SPDX-License-Identifier: ISC
# Peers that start frames and never finish them (before or after HELLO)
# hold no more than --max-input of the broker's memory together, are closed
# with ERROR BUSY past it and with ERROR TIMEOUT after --input-timeout, and
# the broker serves everybody else meanwhile.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

if [ ! -x "$RAWPEER" ]; then
	echo "1..0 # SKIP $RAWPEER not built"
	exit 77
fi

S=$T/b.sock
start_broker b "$S" --max-input 8M --input-timeout 3
ok $? "broker starts with --max-input 8M --input-timeout 3"
base=$(rss_kb $b_pid)

bg "$FASTSSE" tail --socket "$S" --verbose --count 1 live >"$T/tail.out" 2>"$T/tail.err"
tail_pid=$bg_pid
check "a subscriber subscribes" wait_until grep -q subscribed "$T/tail.err"

# 60 peers each send all but one byte of a 1 MiB frame, never HELLO.
bg "$RAWPEER" "$S" stall 60 >"$T/stall.out" 2>"$T/stall.err"
stall_pid=$bg_pid
check "60 peers stall inside a 1 MiB frame" wait_until grep -q stalled "$T/stall.out"

stats=$("$FASTSSE" stats --socket "$S")
diag "input_bytes $(stat_of "$stats" input_bytes), input_drops $(stat_of "$stats" input_drops)"
check "input_bytes stays within --max-input" \
    test "$(stat_of "$stats" input_bytes)" -le 8388608
check "input_drops counts the peers refused past it" \
    test "$(stat_of "$stats" input_drops)" -ge 1
is "$(stat_of "$stats" max_input)" 8388608 "stats shows max_input"
is "$(stat_of "$stats" input_timeout)" 3 "stats shows input_timeout"
rss_below $b_pid "$base" 32768 "RSS grew by less than 32 MiB (60 MiB sent)"

id=$("$FASTSSE" publish --socket "$S" live "still here")
ok $? "publishing works while they stall"
wait $tail_pid
ok $? "the subscriber gets the event"
check "with its id" grep -q "^id: $id\$" "$T/tail.out"

wait $stall_pid
ok $? "the broker closes every stalled peer"
diag_file "$T/stall.out"
check "all 60 closed" grep -qx "closed 60" "$T/stall.out"
check "some with ERROR BUSY (12)" grep -q "^error 12 " "$T/stall.out"
check "the rest with ERROR TIMEOUT (11)" grep -q "^error 11 " "$T/stall.out"
busy=$(sed -n 's/^error 12 //p' "$T/stall.out")
late=$(sed -n 's/^error 11 //p' "$T/stall.out")
is $((busy + late)) 60 "each got one of the two"

# After HELLO the deadline is for the unfinished frame.
"$RAWPEER" "$S" stall 2 hello >"$T/stall2.out" 2>"$T/stall2.err"
ok $? "two publishers that stall after HELLO are closed"
check "with ERROR TIMEOUT" grep -qx "error 11 2" "$T/stall2.out"

stats=$("$FASTSSE" stats --socket "$S")
is "$(stat_of "$stats" input_timeouts)" $((late + 2)) "input_timeouts counts them"
check "no input memory is held afterwards (but the stats request's read)" \
    test "$(stat_of "$stats" input_bytes)" -le 65536
is "$(stat_of "$stats" connections)" 1 "only the stats request is connected"
check "the log says why, once per peer" test \
    "$(grep -c 'no HELLO in 3 s' "$T/b.log")" -eq "$late"

stop_broker b
ok $? "broker exits 0 on SIGTERM"
done_testing
