#!/bin/sh
# SPDX-License-Identifier: ISC
# History on disk across a clean restart (SIGTERM, start on the same
# --data-dir): the epoch is kept, ids continue, a cursor from before the
# restart resumes with no reset; the bounds apply to what comes back; a
# second broker on the same directory refuses to start; STATS shows the
# journal.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

S=$T/b.sock
D=$T/data

start_broker one "$S" --data-dir "$D"
ok $? "a broker starts with --data-dir (created)"
check "the directory exists" test -d "$D"
id1=$("$FASTSSE" publish --socket "$S" c one)
id2=$("$FASTSSE" publish --socket "$S" c two)
id3=$("$FASTSSE" publish --socket "$S" d three)
ok $? "three events published"
epoch=$(epoch_of "$id1")

# Two brokers, one directory: the second refuses and says why.
timeout 30 "$BROKER" -d --socket "$T/other.sock" --data-dir "$D" \
    >"$T/two.log" 2>&1
rc=$?
check "a second broker on the same data directory exits non-zero" \
    test $rc -ne 0 -a $rc -ne 124
check "and says the directory is in use" grep -q "in use by another broker" "$T/two.log"
diag_file "$T/two.log"
check "it left no socket behind" test ! -e "$T/other.sock"
check "the first one still serves" "$FASTSSE" publish --socket "$S" d four
id4=$(seq_of "$("$FASTSSE" publish --socket "$S" d five)")

st=$("$FASTSSE" stats --socket "$S")
is "$(stat_of "$st" journal)" 1 "stats: the journal is on"
is "$(stat_of "$st" journal_fsync)" 1 "stats: fsync everysec by default"
check "stats: journal bytes counted" test "$(stat_of "$st" journal_bytes)" -gt 100
journal_synced() {
	_st=$("$FASTSSE" stats --socket "$S")
	test "$(stat_of "$_st" journal_last_sync)" -gt 0
}
check "stats: the everysec timer synced, and says when" wait_until journal_synced
check "the sync runs on a thread of its own, off the event loop" \
    test "$(ls "/proc/$one_pid/task" | wc -l)" -ge 2

stop_broker one
ok $? "SIGTERM: the broker exits 0"

start_broker two "$S" --data-dir "$D"
ok $? "a new broker starts on the same directory"
grep -q "5 events read" "$T/two.log"
ok $? "it read the five events back"
id6=$("$FASTSSE" publish --socket "$S" c six)
is "$(epoch_of "$id6")" "$epoch" "the epoch is kept"
is "$(seq_of "$id6")" "$((id4 + 1))" "ids continue after the last one"

out=$(timeout 30 "$FASTSSE" tail --socket "$S" --last-event-id "$id1" \
    --count 2 c)
ok $? "a cursor from before the restart is honoured"
is "$(printf '%s\n' "$out" | grep -c 'event: reset')" 0 "no reset"
is "$(printf '%s\n' "$out" | sed -n 's/^id: //p' | tr '\n' ' ')" \
    "$id2 $id6 " "it resumes exactly: the event after it, then the new one"
out=$(timeout 30 "$FASTSSE" tail --socket "$S" --last-event-id "$id2" \
    --count 4 c d)
is "$(printf '%s\n' "$out" | sed -n 's/^data: //p' | tr '\n' ' ')" \
    "three four five six " "across channels too, in id order"
stop_broker two

# What comes back obeys the bounds: with 2 events per channel, c keeps
# two and a cursor before them is reset as pruned, not silently skipped.
start_broker three "$S" --data-dir "$D" --history-max-events 2
ok $? "a broker with smaller bounds starts on the same directory"
st=$("$FASTSSE" stats --socket "$S")
is "$(stat_of "$st" history_events)" 4 "two events per channel came back"
out=$(timeout 30 "$FASTSSE" tail --socket "$S" --last-event-id "$epoch-0" \
    --count 1 c)
check "a cursor before the dropped one gets reset pruned" \
    matches "$out" '.*"reason":"pruned"'
stop_broker three

# --data-dir none: memory only, nothing written.
start_broker four "$S" --data-dir none
ok $? "--data-dir none starts"
st=$("$FASTSSE" stats --socket "$S")
is "$(stat_of "$st" journal)" 0 "stats: no journal"
id=$("$FASTSSE" publish --socket "$S" c mem)
check "a new epoch: nothing was read" test "$(epoch_of "$id")" != "$epoch"
stop_broker four

"$BROKER" --data-dir "$D" --fsync sometimes --check >"$T/bad.log" 2>&1
check "a bad --fsync is refused" test $? -ne 0
check "naming the choices" grep -q "always, everysec or no" "$T/bad.log"
done_testing
