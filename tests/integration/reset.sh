#!/bin/sh
# SPDX-License-Identifier: ISC
# Reset notices: a last id whose successors were pruned (--history-max-events
# 5), one from another broker run (then the replay of this run), and one
# that is no id at all; replay
# at the pruning boundary; several channels resumed by one id.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

S=$T/b.sock
start_broker b "$S" --history-max-events 5
ok $? "broker starts with --history-max-events 5"

i=1
while [ $i -le 10 ]; do
	eval "id$i=\$(\"\$FASTSSE\" publish --socket \"\$S\" r \"r$i\")"
	i=$((i + 1))
done
check "ten events published" test -n "$id10"

# tail_n N [OPTIONS] CHANNELS: what a tail prints for its first N events.
tail_n() {
	_n=$1
	shift
	timeout 30 "$FASTSSE" tail --socket "$S" --count "$_n" "$@" 2>"$T/tail.err"
}

reset_text() {
	printf 'id: %s\nevent: reset\ndata: {"reason":"%s","oldest":%s}\n' "$1" "$2" "$3"
}

is "$(tail_n 1 --last-event-id "$id1" r)" "$(reset_text "$id10" pruned "\"$id6\"")" \
    "an id whose successors were pruned: reset pruned, oldest and head"
is "$(tail_n 1 --last-event-id "$id4" r)" "$(reset_text "$id10" pruned "\"$id6\"")" \
    "the id just before the last pruned one: reset"
out=$(tail_n 5 --last-event-id "$id5" r)
is "$(printf '%s\n' "$out" | sed -n 's/^id: //p' | tr '\n' ' ')" \
    "$id6 $id7 $id8 $id9 $id10 " "the last pruned id itself: full replay of what is held"
out=$(tail_n 3 --last-event-id "$id7" r)
is "$out" "$(printf 'id: %s\ndata: r8\n\nid: %s\ndata: r9\n\nid: %s\ndata: r10' "$id8" "$id9" "$id10")" \
    "an id still held: replay of the events after it"

epoch=$(epoch_of "$id1")
other=1$epoch
is "$(tail_n 1 --last-event-id "$other-3" r)" "$(reset_text "$epoch-0" epoch "\"$id6\"")" \
    "an id of another broker run: reset epoch, the cursor to the run's start"
out=$(tail_n 6 --last-event-id "$other-3" r)
is "$(printf '%s\n' "$out" | sed -n 's/^id: //p' | tr '\n' ' ')" \
    "$epoch-0 $id6 $id7 $id8 $id9 $id10 " "then the replay of all this run holds on the channel"
is "$(tail_n 1 --last-event-id "$other-3" never-used)" "$(reset_text "$epoch-0" epoch null)" \
    "reset on a channel holding nothing: oldest is null"
for bad in garbage "$epoch-" "$epoch-x1" "-5" "$epoch-5-5"; do
	is "$(tail_n 1 --last-event-id "$bad" r)" "$(reset_text "$id10" malformed "\"$id6\"")" \
	    "a malformed id ($bad): reset malformed"
done

# Live events follow a reset, with nothing replayed.
bg sh -c 'exec timeout 30 "$0" tail --socket "$1" --verbose --count 2 \
    --last-event-id garbage r >"$2" 2>"$3"' "$FASTSSE" "$S" "$T/live.out" "$T/live.err"
live_pid=$bg_pid
check "tail after a reset subscribes" wait_until grep -q subscribed "$T/live.err"
check "the subscription after a reset replays nothing" grep -q ', 0 to replay' "$T/live.err"
id11=$("$FASTSSE" publish --socket "$S" r r11)
wait $live_pid
ok $? "tail exits after the reset and one live event"
is "$(sed -n 5,6p "$T/live.out")" "$(printf 'id: %s\ndata: r11' "$id11")" \
    "the live event follows the reset notice"

# Several channels in one subscription, resumed by one id.
a1=$("$FASTSSE" publish --socket "$S" ma a1)
b1=$("$FASTSSE" publish --socket "$S" mb b1)
a2=$("$FASTSSE" publish --socket "$S" ma a2)
"$FASTSSE" publish --socket "$S" other o1 >/dev/null
b2=$("$FASTSSE" publish --socket "$S" mb b2)
out=$(tail_n 3 --last-event-id "$a1" ma mb)
is "$out" "$(printf 'id: %s\ndata: b1\n\nid: %s\ndata: a2\n\nid: %s\ndata: b2' "$b1" "$a2" "$b2")" \
    "two channels resumed by one id: merged in id order, other channels left out"
# Five more on ma prune a1 and a2 there; mb still holds b1 and b2.
printf 'x\nx\nx\nx\nx\n' | "$FASTSSE" publish --socket "$S" --lines ma >"$T/ma.ids"
a7=$(tail -n 1 "$T/ma.ids")
is "$(tail_n 1 --last-event-id "$b1" ma mb)" "$(reset_text "$a7" pruned "\"$b1\"")" \
    "pruned on one channel of two: reset pruned, oldest over both"
out=$(tail_n 5 --last-event-id "$b1" mb)
is "$(printf '%s\n' "$out" | sed -n 's/^id: //p' | head -n 1)" "$b2" \
    "the other channel alone still replays"

stats=$("$FASTSSE" stats --socket "$S")
check "stats counted resets" test "$(stat_of "$stats" resets)" -ge 9
check "stats counted evictions" test "$(stat_of "$stats" evictions)" -ge 5
# r: 5 of 11, ma: 5 of 7, mb: 2, other: 1.
is "$(stat_of "$stats" history_events)" 13 "history holds at most 5 events per channel"

stop_broker b
ok $? "broker exits 0 on SIGTERM"
done_testing
