# SPDX-License-Identifier: ISC
# Shared by the integration tests (sourced, POSIX sh): TAP output, a
# private directory, and starting, waiting for and stopping real brokers.
# Every wait polls for its condition with a deadline; nothing sleeps to
# let time pass.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
BROKER=$top_builddir/broker/fastsse-broker
FASTSSE=$top_builddir/broker/fastsse
RAWPEER=$top_builddir/tests/integration/rawpeer

# Steps of 0.02 s: 1500 of them make the 30 s deadline of every wait, long
# enough for a loaded machine running sanitizer builds.
STEPS=1500

tap_n=0
tap_failed=0
bg_pids=

if [ ! -x "$BROKER" ] || [ ! -x "$FASTSSE" ]; then
	echo "1..0 # SKIP $BROKER or $FASTSSE not built"
	exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/fastsse-it.XXXXXX") || exit 99

cleanup() {
	pkill -P "$watchdog_pid" 2>/dev/null
	for p in $bg_pids; do
		kill "$p" 2>/dev/null
	done
	for p in $bg_pids; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP

# A test that hangs fails instead of holding up the whole suite: after
# FASTSSE_TEST_TIMEOUT seconds (default 300) it bails out and its children
# are stopped (stopped ones are continued so that they can end).  The TERM
# to the test waits until the child it is blocked on is gone; cleanup()
# stops the watchdog of a test that finished.
(
	sleep "${FASTSSE_TEST_TIMEOUT:-300}" || exit 0
	echo "Bail out! $(basename "$0") did not finish in" \
	    "${FASTSSE_TEST_TIMEOUT:-300} s"
	kill -TERM $$
	pkill -TERM -P $$
	# A child the test stopped (SIGSTOP) takes the TERM only once it runs.
	pkill -CONT -P $$
) 2>/dev/null &
watchdog_pid=$!

# ok STATUS DESCRIPTION: one TAP result; STATUS 0 passes.
ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=1
	fi
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	_d=$1
	shift
	if "$@"; then ok 0 "$_d"; else ok 1 "$_d"; fi
}

# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:  '$1'"
		diag "want: '$2'"
	fi
}

# matches STRING REGEX: the whole string matches the basic regex.
matches() {
	expr "x$1" : "x$2" >/dev/null
}

diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# Shows a file in the TAP output (for a failure's context).
diag_file() {
	[ -f "$1" ] && sed "s|^|# $(basename "$1"): |" "$1" | head -n 40
}

done_testing() {
	echo "1..$tap_n"
	exit $tap_failed
}

# wait_until COMMAND...: polls until the command succeeds; 1 on deadline.
wait_until() {
	_i=0
	while ! "$@" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -ge $STEPS ] && return 1
		sleep 0.02
	done
	return 0
}

alive() {
	kill -0 "$1" 2>/dev/null
}

# The broker answers on socket $1 (a stale socket file does not count).
answers() {
	"$FASTSSE" stats --socket "$1" >/dev/null 2>&1
}

# start_broker NAME SOCKET [OPTIONS...]: starts a broker in the foreground
# (-d) with its log in $T/NAME.log, sets $NAME_pid, and waits until it
# answers.  Returns 1 when it exits or does not answer in time.  Its
# history is in memory only unless OPTIONS name a --data-dir: a test never
# uses an installed broker's state directory.
start_broker() {
	_name=$1
	_sock=$2
	shift 2
	case " $* " in
	*" --data-dir"*|*" -D"*) ;;
	*) set -- --data-dir none "$@" ;;
	esac
	"$BROKER" -d --socket "$_sock" "$@" >"$T/$_name.log" 2>&1 &
	_pid=$!
	bg_pids="$bg_pids $_pid"
	eval "${_name}_pid=$_pid"
	_i=0
	while ! answers "$_sock"; do
		if ! alive "$_pid"; then
			diag "broker $_name exited at start-up"
			diag_file "$T/$_name.log"
			return 1
		fi
		_i=$((_i + 1))
		if [ $_i -ge $STEPS ]; then
			diag "broker $_name did not answer on $_sock"
			return 1
		fi
		sleep 0.02
	done
	return 0
}

# stop_broker NAME: SIGTERM and wait; returns the broker's exit status.
stop_broker() {
	eval "_pid=\$${1}_pid"
	kill -TERM "$_pid" 2>/dev/null
	wait "$_pid"
	_rc=$?
	[ $_rc -ne 0 ] && diag_file "$T/$1.log"
	return $_rc
}

# bg COMMAND...: runs a command in the background, killed at exit; sets
# $bg_pid.
bg() {
	"$@" &
	bg_pid=$!
	bg_pids="$bg_pids $bg_pid"
}

# count_events FILE: the number of SSE events (id lines) in a tail output.
count_events() {
	if [ -f "$1" ]; then grep -c '^id: ' "$1"; else echo 0; fi
}

# has_events FILE N: the tail output holds at least N events.
has_events() {
	[ "$(count_events "$1")" -ge "$2" ]
}

# stat_of JSON NAME: one counter from `fastsse stats` output.
stat_of() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\":\([0-9][0-9]*\).*/\1/p"
}

# seq_of ID: the sequence number of an event id.
seq_of() {
	printf '%s\n' "${1##*-}"
}

# epoch_of ID: the epoch part of an event id.
epoch_of() {
	printf '%s\n' "${1%-*}"
}

# rss_kb PID: the resident set of a process, in KiB.
rss_kb() {
	sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$1/status"
}

# sanitized: the broker is built with AddressSanitizer, whose shadow
# memory and quarantine make its RSS no measure of what it holds.
sanitized() {
	grep -q __asan_init "$BROKER"
}

# rss_below PID BASE_KB MAX_GROWTH_KB DESCRIPTION: one TAP result, skipped
# under sanitizers or without /proc.
rss_below() {
	if sanitized || [ ! -r "/proc/$1/status" ]; then
		tap_n=$((tap_n + 1))
		echo "ok $tap_n - $4 # SKIP RSS not meaningful here"
		return
	fi
	_rss=$(rss_kb "$1")
	diag "RSS $2 KiB before, $_rss KiB now"
	check "$4" test $((_rss - $2)) -lt "$3"
}
