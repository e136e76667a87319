#!/bin/sh
# SPDX-License-Identifier: ISC
# The socket path across broker lives: a broker killed with SIGKILL leaves
# its socket file, and the next one starts on the same path anyway (with a
# new epoch, so old ids get a reset); a second broker on the path of a
# running one refuses to start and leaves the first one serving.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

S=$T/b.sock
start_broker one "$S"
ok $? "first broker starts"
old=$("$FASTSSE" publish --socket "$S" c before)
ok $? "it serves"

kill -9 $one_pid
wait $one_pid 2>/dev/null
check "SIGKILL leaves a stale socket file" test -S "$S"
"$FASTSSE" publish --socket "$S" c x >/dev/null 2>&1
is $? 1 "nobody answers on the stale socket"

start_broker two "$S"
ok $? "a new broker starts on the stale socket's path"
new=$("$FASTSSE" publish --socket "$S" c after)
ok $? "it serves"
check "its ids have a new epoch" test "$(epoch_of "$new")" != "$(epoch_of "$old")"
is "$(timeout 30 "$FASTSSE" tail --socket "$S" --count 1 --last-event-id "$old" c | sed -n 3p)" \
    "data: {\"reason\":\"epoch\",\"oldest\":\"$new\"}" "an id of the killed run gets a reset epoch"

# A second broker on a path in use: refuses, quickly, and says why.
timeout 30 "$BROKER" -d --socket "$S" >"$T/three.log" 2>&1
rc=$?
check "a second broker on the same path exits non-zero" test $rc -ne 0 -a $rc -ne 124
diag_file "$T/three.log"
check "and says why on stderr" test -s "$T/three.log"
check "the socket file is still there" test -S "$S"
again=$("$FASTSSE" publish --socket "$S" c again)
ok $? "the first broker still serves"
is "$(epoch_of "$again")" "$(epoch_of "$new")" "it is still the same broker"
check "it is still running" alive $two_pid

stop_broker two
ok $? "broker exits 0 on SIGTERM"
check "a clean stop removes the socket file" test ! -e "$S"
done_testing
