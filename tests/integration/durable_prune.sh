#!/bin/sh
# SPDX-License-Identifier: ISC
# Disk use follows retention: a journal segment is deleted once every
# event in it has left the history.  Events of 65000 bytes fill three
# 64 MiB segments while the history keeps 5; the prune timer deletes the
# two older segments, STATS and the directory agree, and a new broker on
# the directory reads only what is left (a cursor before it is reset as
# "pruned", never silently skipped).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

S=$T/b.sock
D=$T/data
BENCH=$top_builddir/tests/bench/bench_broker
N=2100
MIB=1048576

start_broker one "$S" --data-dir "$D" --fsync no --history-max-events 5
ok $? "a broker starts with --data-dir and 5 events per channel"
id0=$("$FASTSSE" publish --socket "$S" bench-pub first)
ok $? "a first event published"
"$BENCH" -s "$S" -p $N -z 65000 -n 0 -N 0 -t 120 >"$T/bench.log" 2>&1
ok $? "$N events of 65000 bytes published (past two 64 MiB segments)"
grep -q " 0 errors" "$T/bench.log" || diag_file "$T/bench.log"

segments() {
	_st=$("$FASTSSE" stats --socket "$S")
	test "$(stat_of "$_st" journal_segments)" -eq 1
}
check "the two older segments are deleted (journal_segments 1)" \
    wait_until segments
st=$("$FASTSSE" stats --socket "$S")
is "$(stat_of "$st" history_events)" 5 "the history holds its 5 events"
is "$(ls "$D" | grep -c '\.jnl$')" 1 "one segment file is left"
check "and it is not the first one" test ! -e "$D/0000000000000001.jnl"
bytes=$(stat_of "$st" journal_bytes)
check "journal_bytes is under one segment ($bytes)" \
    test "$bytes" -gt 0 -a "$bytes" -le $((64 * MIB))
used=$(du -k "$D" | cut -f1)
check "the directory holds under 64 MiB (${used} KiB)" \
    test "$used" -le $((64 * 1024 + 64))
stop_broker one
ok $? "SIGTERM: the broker exits 0"

start_broker two "$S" --data-dir "$D" --history-max-events 5
ok $? "a new broker starts on the pruned directory"
read=$(sed -n 's/.* \([0-9][0-9]*\) events read.*/\1/p' "$T/two.log")
check "it reads only the newest segment's events ($read)" \
    test "${read:-0}" -gt 0 -a "${read:-$N}" -lt 1100
out=$(timeout 30 "$FASTSSE" tail --socket "$S" --last-event-id "$id0" \
    --count 1 bench-pub)
check "a cursor in a deleted segment gets reset pruned" \
    matches "$out" '.*"reason":"pruned"'
stop_broker two

done_testing
