#!/bin/sh
# SPDX-License-Identifier: ISC
# A full disk: the journal is on a small tmpfs, filled up by another file.
# Publishing is refused with ERROR STORE and `fastsse publish` exits
# non-zero saying why; what was acknowledged before stays; publishing
# works again once space is back, and a restart brings back exactly the
# acknowledged events.  Needs root to mount the tmpfs: skipped without.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

M=$T/mnt
mkdir -p "$M"
if ! mount -t tmpfs -o size=256k tmpfs "$M" 2>/dev/null; then
	echo "1..0 # SKIP cannot mount a tmpfs here (needs root)"
	exit 77
fi
trap 'umount -l "$M" 2>/dev/null; cleanup' EXIT

S=$T/b.sock
D=$M/data
DATA=$(awk 'BEGIN { for (i = 0; i < 1000; i++) printf "x" }')

start_broker one "$S" --data-dir "$D" --fsync always
ok $? "a broker starts on the tmpfs"
: >"$T/acked"
for i in 1 2 3; do
	"$FASTSSE" publish --socket "$S" c "$DATA" >>"$T/acked"
done
is "$(wc -l <"$T/acked")" 3 "three events published"

# Fill the file system.
dd if=/dev/zero of="$M/filler" bs=4k 2>/dev/null
check "the file system is full" test "$(df -P "$M" | awk 'NR == 2 { print $4 }')" -eq 0

refused=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	if id=$("$FASTSSE" publish --socket "$S" c "$DATA" 2>"$T/err"); then
		printf '%s\n' "$id" >>"$T/acked"
	else
		refused=1
		break
	fi
done
is $refused 1 "a publish is refused once the disk is full"
check "fastsse publish says why" grep -q "could not store the event.*No space left" "$T/err"
diag_file "$T/err"
st=$("$FASTSSE" stats --socket "$S")
check "stats: store_refusals counted" test "$(stat_of "$st" store_refusals)" -ge 1
check "stats: write errors counted" test "$(stat_of "$st" journal_write_errors)" -ge 1
"$FASTSSE" publish --socket "$S" c "$DATA" >/dev/null 2>&1
check "publishing stays refused while the disk is full" test $? -ne 0
check "the broker logged it" grep -q "refusing publishes" "$T/one.log"
n=$(wc -l <"$T/acked")
out=$(timeout 30 "$FASTSSE" tail --socket "$S" --last-event-id \
    "$(epoch_of "$(sed -n 1p "$T/acked")")-0" --count "$n" c | sed -n 's/^id: //p')
is "$out" "$(cat "$T/acked")" "every acknowledged event is still served"

rm -f "$M/filler"
id=$("$FASTSSE" publish --socket "$S" c "$DATA")
ok $? "space back: publishing works again"
printf '%s\n' "$id" >>"$T/acked"
check "the broker logged that too" grep -q "takes events again" "$T/one.log"
stop_broker one
ok $? "broker exits 0"

start_broker two "$S" --data-dir "$D"
ok $? "a new broker starts on the same directory"
n=$(wc -l <"$T/acked")
out=$(timeout 30 "$FASTSSE" tail --socket "$S" --last-event-id \
    "$(epoch_of "$id")-0" --count "$n" c | sed -n 's/^id: //p')
is "$out" "$(cat "$T/acked")" "exactly the acknowledged events come back"
st=$("$FASTSSE" stats --socket "$S")
is "$(stat_of "$st" history_events)" "$n" "and nothing that was refused"
stop_broker two
done_testing
