#!/bin/sh
# SPDX-License-Identifier: ISC
# A misbehaving peer costs only its own connection: garbage, an oversized
# frame header, half a frame and a hang-up, no HELLO, a wrong version, an
# unknown message type.  After each, the broker serves others, and a
# subscriber connected throughout receives every event, nothing more.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

if [ ! -x "$RAWPEER" ]; then
	echo "1..0 # SKIP $RAWPEER not built"
	exit 77
fi

S=$T/b.sock
start_broker b "$S"
ok $? "broker starts"

bg "$FASTSSE" tail --socket "$S" --verbose m >"$T/tail.out" 2>"$T/tail.err"
tail_pid=$bg_pid
check "a subscriber is connected throughout" wait_until grep -q subscribed "$T/tail.err"

n=0
: >"$T/pub.ids"
# publish_ok WHEN: one good publish, recorded for the final comparison.
publish_ok() {
	n=$((n + 1))
	timeout 30 "$FASTSSE" publish --socket "$S" m "good $n" >>"$T/pub.ids"
	ok $? "publishing works $1"
}
publish_ok "at first"

for mode in garbage oversize nohello version unknown; do
	timeout 60 "$RAWPEER" "$S" $mode >"$T/raw.$mode" 2>&1
	ok $? "$mode: the broker closes that connection"
	publish_ok "after $mode"
done
is "$(cat "$T/raw.version")" "error 1" "wrong version: the broker answers error 1 before closing"
is "$(cat "$T/raw.nohello")" "error 9" "no HELLO: the broker answers error 9 before closing"
is "$(cat "$T/raw.unknown")" "error 3" "unknown message type: the broker answers error 3 before closing"

timeout 60 "$RAWPEER" "$S" half "half event" >"$T/raw.out" 2>&1
ok $? "half a PUBLISH frame, then a hang-up"
publish_ok "after a half frame"

# Many bad peers at once.
i=0
pids=
while [ $i -lt 20 ]; do
	"$RAWPEER" "$S" garbage >/dev/null 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
bad=0
for p in $pids; do
	wait "$p" || bad=$((bad + 1))
done
is $bad 0 "twenty garbage peers at once are all dropped"
publish_ok "after twenty garbage peers"

check "the subscriber received every good event" wait_until has_events "$T/tail.out" $n
check "the subscriber is still connected" alive $tail_pid
sed -n 's/^id: //p' "$T/tail.out" >"$T/got.ids"
cmp -s "$T/pub.ids" "$T/got.ids"
ok $? "it received exactly the good events, in order"
check "no half event was published" test "$(grep -c 'half event' "$T/tail.out")" -eq 0

stats=$("$FASTSSE" stats --socket "$S")
is "$(stat_of "$stats" events_published)" $n "events_published counts only the good events"
is "$(stat_of "$stats" connections)" 2 "only the subscriber and this stats request remain connected"

stop_broker b
ok $? "broker exits 0 on SIGTERM"
done_testing
