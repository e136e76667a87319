#!/bin/sh
# SPDX-License-Identifier: ISC
# Subscribers asking for more channels than --max-subscriptions (per
# connection) or --max-channels (in total) get ERROR TOO_MANY for the
# SUBSCRIBE past it, keep what they have, and the broker's channels and
# memory stay bounded while it serves everybody else.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

if [ ! -x "$RAWPEER" ]; then
	echo "1..0 # SKIP $RAWPEER not built"
	exit 77
fi

# 29952 channels are 468 SUBSCRIBEs of 64: the second subscriber fills
# the total exactly, so that a PUBLISH to a new channel is refused.
S=$T/b.sock
start_broker b "$S" --max-memory 8M --max-channels 29952 \
    --max-subscriptions 20000
ok $? "broker starts with --max-channels 29952 --max-subscriptions 20000"
base=$(rss_kb $b_pid)

# One subscriber asks for 200000 channels, 64 per SUBSCRIBE.
bg "$RAWPEER" "$S" channels 200000 a "$T/go" >"$T/a.out" 2>"$T/a.err"
check "a subscriber asks for 200000 channels" wait_until grep -q subscribed "$T/a.out"
diag_file "$T/a.out"
set -- $(cat "$T/a.out")
is "$2" 19968 "it gets the 312 SUBSCRIBEs that fit in 20000"
check "the SUBSCRIBEs past that are refused with TOO_MANY" test "$4" -ge 1
stats=$("$FASTSSE" stats --socket "$S")
is "$(stat_of "$stats" subscription_refusals)" "$4" "subscription_refusals counts them"
is "$(stat_of "$stats" channels)" "$2" "the broker holds only the channels subscribed"
rss_below $b_pid "$base" 40960 "RSS grew by less than 40 MiB"

# Two more take the total to --max-channels.
bg "$RAWPEER" "$S" channels 20000 b "$T/go" >"$T/b.out" 2>"$T/b.err"
check "a second subscriber subscribes" wait_until grep -q subscribed "$T/b.out"
set -- $(cat "$T/b.out")
is "$2 $4" "9984 157" "it is refused past the total, short of its 20000"
stats=$("$FASTSSE" stats --socket "$S")
check "channel_refusals counts the refusals at the total" \
    test "$(stat_of "$stats" channel_refusals)" -ge 1
is "$(stat_of "$stats" channels)" 29952 "channels stop at --max-channels"
check "the log says so once" test "$(grep -c 'max-channels 29952 reached' "$T/b.log")" -eq 1

# The broker still serves: a new channel is refused while full, an old one works.
"$FASTSSE" publish --socket "$S" brand-new x >/dev/null 2>"$T/pub.err"
is $? 1 "a PUBLISH creating a channel past the total is refused"
check "saying why" grep -q "holds 29952 channels, at most 29952" "$T/pub.err"
bg "$FASTSSE" tail --socket "$S" --verbose --count 1 a-1 >"$T/tail.out" 2>"$T/tail.err"
tail_pid=$bg_pid
check "a tail subscribes to a held channel" wait_until grep -q subscribed "$T/tail.err"
id=$("$FASTSSE" publish --socket "$S" a-1 "still here")
ok $? "publishing to it works"
wait $tail_pid
ok $? "the tail gets the event"

touch "$T/go"
gone() {
	test "$(stat_of "$("$FASTSSE" stats --socket "$S")" channels)" -le 1
}
check "the channels go with their subscribers" wait_until gone

stop_broker b
ok $? "broker exits 0 on SIGTERM"
done_testing
