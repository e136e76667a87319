#!/bin/sh
# SPDX-License-Identifier: ISC
# A damaged journal at start-up.  A torn tail (a crash during a write) is
# cut and start-up goes on; damage in the middle stops start-up with the
# file and the offset, and --recover starts from what is intact before it,
# never using the lost ids again.  Then the journal is cut or corrupted at
# random offsets: start-up never crashes, and keeps every whole record
# before the damage (the journal's unit test does 100 trials of this on
# the module; these few go through the real broker).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

S=$T/b.sock
SEG=0000000000000001.jnl
HEAD=29		# bytes of a segment's HEAD record
REC=51		# bytes of one record: channel "c", type "message", 10 bytes

start_broker tpl "$S" --data-dir "$T/tpl"
ok $? "a broker starts"
awk 'BEGIN { for (i = 0; i < 100; i++) print "xxxxxxxxxx" }' | \
    "$FASTSSE" publish --lines --socket "$S" c >"$T/ids"
ok $? "100 events published"
epoch=$(epoch_of "$(sed -n 1p "$T/ids")")
stop_broker tpl
is "$(wc -c <"$T/tpl/$SEG")" $((HEAD + 100 * REC)) "the segment is as long as expected"

# kept_before OFFSET: whole records before a damaged byte (or a cut) there.
kept_before() {
	if [ "$1" -lt $HEAD ]; then echo 0; else echo $((($1 - HEAD) / REC)); fi
}

# flip FILE OFFSET: inverts the byte at OFFSET.
flip() {
	_b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((_b ^ 255)))" | \
	    dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# events NAME: history_events of the broker on $S.
events() {
	stat_of "$("$FASTSSE" stats --socket "$S")" history_events
}

# up_or_gone PID: the broker answers on $S, or has exited.
up_or_gone() {
	answers "$S" || ! alive "$1"
}

fresh() {
	rm -rf "$T/d"
	cp -r "$T/tpl" "$T/d"
}

# A torn tail: half a record at the end.
fresh
head -c $((HEAD + 100 * REC - 20)) "$T/tpl/$SEG" >"$T/d/$SEG"
start_broker torn "$S" --data-dir "$T/d"
ok $? "a torn tail: start-up goes on"
check "it is logged with the offset" grep -q "torn record at offset $((HEAD + 99 * REC))" "$T/torn.log"
is "$(events)" 99 "the 99 whole records are back"
is "$(stat_of "$("$FASTSSE" stats --socket "$S")" journal_torn)" 1 "stats: one torn tail cut"
id=$("$FASTSSE" publish --socket "$S" c after)
check "a new id is never the cut one's" test "$(seq_of "$id")" -gt 100
stop_broker torn

# Damage in the middle: record 50 of 100.
fresh
flip "$T/d/$SEG" $((HEAD + 50 * REC + 10))
"$BROKER" -d --socket "$S" --data-dir "$T/d" >"$T/mid.log" 2>&1
is $? 1 "damage in the middle: start-up stops (exit 1)"
check "naming the file and the offset" grep -q "$SEG: damaged at offset $((HEAD + 50 * REC))" "$T/mid.log"
check "and how to recover" grep -q -- "--recover" "$T/mid.log"
diag_file "$T/mid.log"
check "no socket left behind" test ! -e "$S"
start_broker rec "$S" --data-dir "$T/d" --recover
ok $? "--recover starts"
is "$(events)" 50 "with the 50 events before the damage"
check "the damaged segment is set aside" test -f "$T/d/$SEG.damaged"
id=$("$FASTSSE" publish --socket "$S" c after)
is "$(epoch_of "$id")" "$epoch" "the epoch is kept"
check "the lost ids are not used again" test "$(seq_of "$id")" -gt 100
out=$(timeout 30 "$FASTSSE" tail --socket "$S" --last-event-id "$epoch-60" --count 1 c)
check "a cursor among them gets reset lost" matches "$out" '.*"reason":"lost"'
out=$(timeout 30 "$FASTSSE" tail --socket "$S" --last-event-id "$epoch-49" --count 2 c)
is "$(printf '%s\n' "$out" | sed -n 's/^id: //p' | tr '\n' ' ')" "$epoch-50 $id " \
    "a cursor before the damage resumes with what is kept, then the new event"
stop_broker rec
start_broker again "$S" --data-dir "$T/d"
ok $? "after recovery a plain start works"
is "$(events)" 51 "with what was kept and published since"
stop_broker again

# Random cuts and corruptions.
seed=${FASTSSE_SEED:-$$}
diag "seed $seed (set FASTSSE_SEED to repeat)"
awk -v seed="$seed" -v n=$((HEAD + 100 * REC)) 'BEGIN {
	srand(seed); for (i = 0; i < 12; i++) print int(rand() * n) }' >"$T/offsets"
bad=0
i=0
while read -r off; do
	i=$((i + 1))
	want=$(kept_before "$off")
	fresh
	if [ $i -le 6 ]; then
		head -c "$off" "$T/tpl/$SEG" >"$T/d/$SEG"
		what="cut at $off"
		set --
	else
		flip "$T/d/$SEG" "$off"
		what="byte $off corrupted"
		set -- --recover
	fi
	if start_broker trial "$S" --data-dir "$T/d" "$@"; then
		got=$(events)
		stop_broker trial || { diag "$what: bad exit"; bad=$((bad + 1)); }
	else
		wait "$trial_pid"
		got="exit $?"
	fi
	if [ "$got" != "$want" ]; then
		diag "$what: got $got, want $want events"
		diag_file "$T/trial.log"
		bad=$((bad + 1))
	fi
done <"$T/offsets"
is $bad 0 "6 cuts and 6 corruptions (with --recover): every start works and keeps exactly the whole records before the damage"

# Corruption without --recover: either the tail (cut, start) or a refusal
# that exits 1, never a crash.
bad=0
while read -r off; do
	fresh
	flip "$T/d/$SEG" "$off"
	timeout 30 "$BROKER" -d --socket "$S" --data-dir "$T/d" >"$T/plain.log" 2>&1 &
	p=$!
	bg_pids="$bg_pids $p"
	wait_until up_or_gone $p
	if answers "$S"; then
		got=$(events)
		kill -TERM $p
		wait $p
		[ "$got" = "$(kept_before "$off")" ] || { diag "byte $off: $got events"; bad=$((bad + 1)); }
	else
		wait $p
		rc=$?
		if [ $rc -ne 1 ] || ! grep -q "damaged at offset" "$T/plain.log"; then
			diag "byte $off: exit $rc"
			diag_file "$T/plain.log"
			bad=$((bad + 1))
		fi
	fi
done <<EOT
$(sed -n '1,4p' "$T/offsets")
EOT
is $bad 0 "4 corruptions without --recover: a clean refusal or the whole records before"
done_testing
