#!/bin/sh
# SPDX-License-Identifier: ISC
# kill -9 of a broker with --data-dir during a publish storm.  With
# --fsync always every acknowledged id comes back to a client that resumes
# from before the first one.  With everysec (acknowledged once written,
# before the sync) a process crash loses nothing acknowledged either; the
# ids the dead run had reserved are never used again, and a cursor among
# them gets reset "lost", never a silent gap.  After a machine crash (the
# data directory's journal.run names another boot) with everysec, events
# that were sent may be gone from the disk: every cursor before the dead
# run's ids is reset "lost" then, even one at an id that was kept.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

S=$T/b.sock
H="--history-max-events 1000000"
N=1000000

# lines_ge FILE N: FILE holds at least N lines.
lines_ge() {
	test "$(wc -l <"$1")" -ge "$2"
}

# storm MODE: publishes up to N lines pipelined (the acknowledged ids go
# to $T/MODE.ids), kills the broker with SIGKILL once 2000 are
# acknowledged, and starts a new one on the same directory.
storm() {
	start_broker "$1" "$S" --data-dir "$T/$1" --fsync "$1" $H
	ok $? "$1: broker starts"
	awk -v n=$N 'BEGIN { for (i = 1; i <= n; i++) printf "event %06d\n", i }' \
	    >"$T/lines"
	"$FASTSSE" publish --lines --socket "$S" c <"$T/lines" \
	    >"$T/$1.ids" 2>"$T/$1.err" &
	pub=$!
	bg_pids="$bg_pids $pub"
	wait_until lines_ge "$T/$1.ids" 2000
	ok $? "$1: publishes are acknowledged"
	eval "kill -9 \$${1}_pid"
	wait "$pub"
	check "$1: the publisher sees the broker die" test $? -ne 0
	# Only whole lines were acknowledged.
	sed -n '/^[0-9a-z]*-[0-9]*$/p' "$T/$1.ids" >"$T/$1.acked"
	acked=$(wc -l <"$T/$1.acked")
	diag "$1: $acked acknowledged before SIGKILL"
	check "$1: killed during the storm" test "$acked" -lt $N
	start_broker "$1b" "$S" --data-dir "$T/$1" --fsync "$1" $H
	ok $? "$1: a new broker starts on the same directory"
	first=$(sed -n 1p "$T/$1.acked")
	last=$(sed -n '$p' "$T/$1.acked")
	epoch=$(epoch_of "$first")
	timeout 60 "$FASTSSE" tail --socket "$S" \
	    --last-event-id "$epoch-$(($(seq_of "$first") - 1))" \
	    --count "$acked" c >"$T/$1.replay"
	ok $? "$1: a client resuming from before the first id gets $acked events"
	sed -n 's/^id: //p' "$T/$1.replay" >"$T/$1.back"
	check "$1: every acknowledged id comes back, in order, no reset" \
	    cmp -s "$T/$1.acked" "$T/$1.back"
	[ $? -eq 0 ] || diff "$T/$1.acked" "$T/$1.back" | head -5 | \
	    while read -r l; do diag "$l"; done
}

storm always
new=$("$FASTSSE" publish --socket "$S" c after)
is "$(epoch_of "$new")" "$epoch" "always: the epoch is kept"
check "always: the new id is after every acknowledged one" \
    test "$(seq_of "$new")" -gt "$(seq_of "$last")"
stop_broker alwaysb

storm everysec
new=$("$FASTSSE" publish --socket "$S" c after)
is "$(epoch_of "$new")" "$epoch" "everysec: the epoch is kept"
next=$(($(seq_of "$last") + 1))
check "everysec: the ids the dead run reserved are skipped" \
    test "$(seq_of "$new")" -gt "$next"
diag "last acknowledged $(seq_of "$last"), next after the crash $(seq_of "$new")"
out=$(timeout 30 "$FASTSSE" tail --socket "$S" \
    --last-event-id "$epoch-$(($(seq_of "$new") - 2))" --count 1 c)
check "a cursor among the ids that may be lost gets reset lost" \
    matches "$out" '.*"reason":"lost"'
out=$(timeout 30 "$FASTSSE" tail --socket "$S" --last-event-id "$last" \
    --count 1 c)
got=$(printf '%s\n' "$out" | sed -n 's/^id: //p')
check "a cursor at an id that was kept resumes with no reset" \
    test "$(printf '%s\n' "$out" | grep -c 'event: reset')" -eq 0 -a \
    "$(seq_of "$got")" -gt "$(seq_of "$last")"
stop_broker everysecb
ok $? "broker exits 0"

# A machine crash: a run killed with the kernel's buffers, which only a
# reboot loses, so the boot is changed in journal.run by hand.
start_broker machine "$S" --data-dir "$T/everysec" --fsync everysec $H
ok $? "machine: a broker starts"
sent=$("$FASTSSE" publish --socket "$S" c sent)
kill -9 "$machine_pid"
wait "$machine_pid" 2>/dev/null
check "machine: the run is recorded as running" \
    grep -q '^running boot [^ ]* fsync everysec ' "$T/everysec/journal.run"
sed 's/ boot [^ ]* / boot 00000000-0000-0000-0000-000000000000 /' \
    "$T/everysec/journal.run" >"$T/run" && cp "$T/run" "$T/everysec/journal.run"
start_broker machineb "$S" --data-dir "$T/everysec" --fsync everysec $H
ok $? "machine: a new broker starts after the machine crash"
check "machine: it says cursors before the lost ids are reset" \
    grep -q 'ended with the machine' "$T/machineb.log"
for cur in "$last" "$sent"; do
	out=$(timeout 30 "$FASTSSE" tail --socket "$S" --last-event-id "$cur" \
	    --count 1 c)
	check "machine: a cursor at a kept id ($cur) gets reset lost" \
	    matches "$out" '.*"reason":"lost"'
done
new=$("$FASTSSE" publish --socket "$S" c new)
"$FASTSSE" publish --socket "$S" c newer >/dev/null
out=$(timeout 30 "$FASTSSE" tail --socket "$S" --last-event-id "$new" \
    --count 1 c)
check "machine: a cursor at an id of the new run resumes with no reset" \
    test "$(printf '%s\n' "$out" | grep -c 'event: reset')" -eq 0 -a \
    "$(printf '%s\n' "$out" | grep -c 'data: newer')" -eq 1
stop_broker machineb
ok $? "machine: broker exits 0"
check "machine: a clean stop is recorded" \
    grep -q '^stopped ' "$T/everysec/journal.run"
start_broker machinec "$S" --data-dir "$T/everysec" --fsync everysec $H
ok $? "machine: a clean restart"
out=$(timeout 30 "$FASTSSE" tail --socket "$S" --last-event-id "$last" \
    --count 1 c)
check "machine: the cursor before the lost ids is still reset lost" \
    matches "$out" '.*"reason":"lost"'
stop_broker machinec
done_testing
