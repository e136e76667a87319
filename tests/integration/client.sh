#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs test_client (libfastsse's API, TAP) against a real broker on a
# private socket, then checks that the broker stops cleanly.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

CLIENT=$top_builddir/tests/integration/test_client
if [ ! -x "$CLIENT" ]; then
	echo "1..0 # SKIP $CLIENT not built"
	exit 77
fi

S=$T/b.sock
if ! start_broker b "$S" --max-event-size 64K >&2; then
	echo "Bail out! the broker did not start"
	exit 1
fi
FASTSSE_SOCKET=$S timeout 300 "$CLIENT"
rc=$?
if ! stop_broker b >&2; then
	echo "# the broker did not exit cleanly"
	[ $rc -eq 0 ] && rc=1
fi
exit $rc
