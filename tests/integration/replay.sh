#!/bin/sh
# SPDX-License-Identifier: ISC
# Resuming after a disconnect loses nothing and repeats nothing while
# publishing goes on: a publisher puts N events on two channels while a
# tail of both channels disconnects after every few events (with more
# already on its socket) and resumes with the last id it printed.  The
# union of what the tails printed must be exactly the published ids, in
# order.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

N=100
S=$T/b.sock
start_broker b "$S"
ok $? "broker starts"

start=$("$FASTSSE" publish --socket "$S" ra start)
ok $? "a first event marks where the tails start"

# One process per event, so publishing is spread over the whole test.
publisher() {
	i=1
	while [ $i -le $N ]; do
		if [ $((i % 2)) -eq 0 ]; then ch=ra; else ch=rb; fi
		"$FASTSSE" publish --socket "$S" $ch "event $i" >>"$T/pub.ids" ||
		    echo failed >>"$T/pub.ids"
		i=$((i + 1))
	done
}
bg publisher
pub_pid=$bg_pid

last=$start
rounds=0
during=0
: >"$T/tail.out"
while [ "$(count_events "$T/tail.out")" -lt $N ] && [ $rounds -lt 200 ]; do
	rounds=$((rounds + 1))
	alive $pub_pid && during=$((during + 1))
	# 5, 9, 13 or 17 events per connection.
	k=$((5 + (rounds % 4) * 4))
	left=$((N - $(count_events "$T/tail.out")))
	[ $k -gt $left ] && k=$left
	timeout 60 "$FASTSSE" tail --socket "$S" --last-event-id "$last" \
	    --count $k ra rb >>"$T/tail.out" 2>>"$T/tail.err" || break
	last=$(sed -n 's/^id: //p' "$T/tail.out" | tail -n 1)
done
wait $pub_pid
diag "$rounds connections, $during of them while publishing went on"
check "the tail resumed several times while publishing went on" test $during -ge 3

sed -n 's/^id: //p' "$T/tail.out" >"$T/got.ids"
check "every publish succeeded" test "$(grep -c failed "$T/pub.ids")" -eq 0
is "$(wc -l <"$T/pub.ids" | tr -d ' ')" $N "the publisher got $N ids"
is "$(wc -l <"$T/got.ids" | tr -d ' ')" $N "the tails printed $N events"
cmp -s "$T/pub.ids" "$T/got.ids"
ok $? "the tails printed exactly the published ids, in order, no duplicate"
[ $? -eq 0 ] || diff "$T/pub.ids" "$T/got.ids" | head -n 20 | sed 's/^/# /'
seq 1 $N | sed 's/^/data: event /' >"$T/want.data"
grep '^data: ' "$T/tail.out" | cmp -s - "$T/want.data"
ok $? "and their data, in order"
check "no reset was needed" test "$(grep -c '^event: reset' "$T/tail.out")" -eq 0

stats=$("$FASTSSE" stats --socket "$S")
check "stats counted the replays" test "$(stat_of "$stats" replays)" -ge 1

stop_broker b
ok $? "broker exits 0 on SIGTERM"
done_testing
