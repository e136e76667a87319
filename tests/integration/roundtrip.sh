#!/bin/sh
# SPDX-License-Identifier: ISC
# Publish and tail through a real broker: ids, SSE text, pipelined
# --lines, refusals that leave the connection usable (invalid channel,
# reserved type, bad UTF-8, --max-event-size), stats fields, usage errors.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

S=$T/b.sock
start_broker b "$S" --max-event-size 4096
ok $? "broker starts and answers on a private socket"

# A tail that is subscribed before anything is published sees it all.
bg "$FASTSSE" tail --socket "$S" --verbose --count 6 rt >"$T/tail.out" 2>"$T/tail.err"
tail_pid=$bg_pid
check "tail subscribes" wait_until grep -q subscribed "$T/tail.err"

id1=$("$FASTSSE" publish --socket "$S" rt hello)
ok $? "publish exits 0"
check "publish prints an id" matches "$id1" '[0-9a-z]*-[0-9][0-9]*$'

id2=$(printf 'line one\nline two\r\nline three\n' |
    "$FASTSSE" publish --socket "$S" --event greeting rt)
ok $? "publish from stdin with an event type"
id3=$(printf '' | "$FASTSSE" publish --socket "$S" rt -)
ok $? "publish of empty data"

printf 'l1\nl2\nl3\n' | "$FASTSSE" publish --socket "$S" --lines rt >"$T/lines.out"
ok $? "publish --lines exits 0"
is "$(wc -l <"$T/lines.out" | tr -d ' ')" 3 "publish --lines prints one id per line"
i=0
prev=$(seq_of "$id3")
inorder=0
while read -r id; do
	s=$(seq_of "$id")
	[ "$s" -gt "$prev" ] || inorder=1
	prev=$s
done <"$T/lines.out"
ok $inorder "--lines ids are in line order"
is "$(epoch_of "$id1")" "$(epoch_of "$id3")" "ids share the broker's epoch"

check "tail receives all six events" wait_until has_events "$T/tail.out" 6
wait "$tail_pid"
ok $? "tail --count exits 0 after its count"
l1=$(sed -n 1p "$T/lines.out")
l2=$(sed -n 2p "$T/lines.out")
l3=$(sed -n 3p "$T/lines.out")
expected=$(printf 'id: %s\ndata: hello\n\nid: %s\nevent: greeting\ndata: line one\ndata: line two\ndata: line three\n\nid: %s\ndata: \n\nid: %s\ndata: l1\n\nid: %s\ndata: l2\n\nid: %s\ndata: l3\n' \
    "$id1" "$id2" "$id3" "$l1" "$l2" "$l3")
is "$(cat "$T/tail.out")" "$expected" "tail prints the events as SSE text, in order"

# Refusals: each exits 1 with the broker's message.
refused() {
	_what=$1
	shift
	timeout 30 "$@" >"$T/out" 2>"$T/err"
	_rc=$?
	if [ $_rc -eq 1 ] && [ -s "$T/err" ] && [ ! -s "$T/out" ]; then
		ok 0 "$_what is refused: $(head -n 1 "$T/err")"
	else
		ok 1 "$_what is refused with status 1 and a message"
		diag "status $_rc"
		diag_file "$T/err"
	fi
}
refused "an empty channel name" "$FASTSSE" publish --socket "$S" "" x
refused "a channel name with a space" "$FASTSSE" publish --socket "$S" "a b" x
refused "a channel name with a line break" "$FASTSSE" publish --socket "$S" "a
b" x
refused "a channel name with a tab" "$FASTSSE" publish --socket "$S" "$(printf 'a\tb')" x
long=$(printf '%0256d' 0)
refused "a 256-byte channel name" "$FASTSSE" publish --socket "$S" "$long" x
"$FASTSSE" publish --socket "$S" "$(printf '%0255d' 0)" x >/dev/null
ok $? "a 255-byte channel name is accepted"
"$FASTSSE" publish --socket "$S" "café/ünïcode:1" x >/dev/null
ok $? "a UTF-8 channel name is accepted"
refused "a channel name with a no-break space" "$FASTSSE" publish --socket "$S" "$(printf 'a\302\240b')" x
refused "a channel name with a C1 control" "$FASTSSE" publish --socket "$S" "$(printf 'a\302\205b')" x
refused "a channel name that is not UTF-8" "$FASTSSE" publish --socket "$S" "$(printf 'a\377')" x
refused "an event type with a line break" "$FASTSSE" publish --socket "$S" --event "$(printf 'a\nb')" rt x
refused "a 256-byte event type" "$FASTSSE" publish --socket "$S" --event "$long" rt x
refused "the reserved event type reset" "$FASTSSE" publish --socket "$S" --event reset rt x
refused "invalid UTF-8 data" sh -c "printf 'a\\377b' | \"\$0\" publish --socket \"\$1\" rt" "$FASTSSE" "$S"
big=$(printf '%05000d' 0)
refused "an event over --max-event-size" "$FASTSSE" publish --socket "$S" rt "$big"
refused "tail of an invalid channel" "$FASTSSE" tail --socket "$S" --count 1 good "bad channel"

# A refusal in the middle of --lines leaves the connection usable.
printf 'before\n%s\nafter\n' "$big" |
    "$FASTSSE" publish --socket "$S" --lines rt >"$T/lines2.out" 2>"$T/lines2.err"
ok $([ $? -eq 1 ] && echo 0 || echo 1) "--lines with one oversized line exits 1"
is "$(wc -l <"$T/lines2.out" | tr -d ' ')" 2 "the lines around it are published on the same connection"
check "the refused line is named on stderr" grep -q 'line 2' "$T/lines2.err"

# Stats: one JSON object with every counter the protocol promises.
stats=$("$FASTSSE" stats --socket "$S")
ok $? "stats exits 0"
check "stats is one JSON object" matches "$stats" '{.*}$'
for f in connections channels subscribers events_published events_delivered \
    replays resets evictions slow_consumer_drops history_events \
    history_bytes uptime_seconds; do
	v=$(stat_of "$stats" $f)
	check "stats has $f" test -n "$v"
done
# 6 + the 255-byte and UTF-8 channels + before/after.
is "$(stat_of "$stats" events_published)" 10 "events_published counts accepted events only"
check "events_delivered counts the tail's events" test "$(stat_of "$stats" events_delivered)" -ge 6

# The command's own errors.
"$FASTSSE" >/dev/null 2>&1
is $? 2 "no command: status 2"
"$FASTSSE" frobnicate >/dev/null 2>&1
is $? 2 "unknown command: status 2"
"$FASTSSE" publish --socket "$S" >/dev/null 2>&1
is $? 2 "publish without a channel: status 2"
"$FASTSSE" tail --socket "$S" --count 0 rt >/dev/null 2>&1
is $? 2 "tail --count 0: status 2"
"$FASTSSE" --version | grep -q '^fastsse '
ok $? "--version"
"$FASTSSE" --help | grep -q 'usage'
ok $? "--help"
"$FASTSSE" publish --socket "$T/nothing.sock" rt x 2>"$T/err"
is $? 1 "no broker: status 1"
check "no broker: the socket is named" grep -q nothing.sock "$T/err"

stop_broker b
ok $? "broker exits 0 on SIGTERM"
done_testing
