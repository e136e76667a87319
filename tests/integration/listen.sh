#!/bin/sh
# SPDX-License-Identifier: ISC
# --listen unix:PATH leaves alone what it does not own: a regular file or
# a live broker's socket at PATH is refused, a stale socket is replaced,
# and at exit only the socket the responder made is removed.  PATH.lock
# is not followed when it is a symlink, must be a regular file of ours,
# and "in use" is said only when another responder really holds it.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

FCGI=$top_builddir/fcgi/fastsse-fcgi
if [ ! -x "$FCGI" ]; then
	echo "1..0 # SKIP $FCGI not built"
	exit 77
fi

# refuses NAME PATH: the responder exits non-zero at once on
# unix:PATH; its message is in $T/NAME.err.
refuses() {
	"$FCGI" -d --listen "unix:$2" --broker "$T/b.sock" \
	    >"$T/$1.err" 2>&1 </dev/null
	[ $? -ne 0 ]
}

# start_fcgi NAME PATH: a responder on unix:PATH; sets $NAME_pid.
start_fcgi() {
	"$FCGI" -d --listen "unix:$2" --broker "$T/b.sock" \
	    >"$T/$1.log" 2>&1 &
	_pid=$!
	bg_pids="$bg_pids $_pid"
	eval "${1}_pid=$_pid"
	wait_until grep -q 'ready:' "$T/$1.log" && alive "$_pid"
}

stop_fcgi() {
	eval "_pid=\$${1}_pid"
	kill -TERM "$_pid"
	wait "$_pid"
}

start_broker b "$T/b.sock"
ok $? "a broker runs"

# A regular file is neither removed nor replaced.
echo precious >"$T/file"
check "a regular file at PATH is refused" refuses file "$T/file"
check "with a message saying so" grep -q 'is not a socket' "$T/file.err"
is "$(cat "$T/file")" precious "and its content is intact"

# A live broker's socket stays the broker's.
check "a live broker's socket is refused" refuses live "$T/b.sock"
check "with a message saying so" grep -q 'something is listening' "$T/live.err"
check "and the broker still answers there" answers "$T/b.sock"

# A stale socket (its owner killed) is replaced.
start_fcgi s1 "$T/f.sock"
ok $? "a responder starts on a fresh path"
kill -KILL "$s1_pid"
wait "$s1_pid" 2>/dev/null
check "a killed one leaves its socket behind" test -S "$T/f.sock"
start_fcgi s2 "$T/f.sock"
ok $? "the stale socket is replaced"
check "and said so" grep -q 'replaced the stale socket' "$T/s2.log"

# A second responder on the same path: the lock is really held.
check "a second responder on the path is refused" refuses second "$T/f.sock"
check "as in use by another fastsse-fcgi" grep -q 'in use by another fastsse-fcgi' "$T/second.err"
check "and the first still listens" test -S "$T/f.sock"

# At exit only our own socket is removed.
stop_fcgi s2
ok $? "the responder exits cleanly"
check "removing its socket" test ! -e "$T/f.sock"
start_fcgi s3 "$T/f.sock"
ok $? "a responder starts again: a lock left unheld is not 'in use'"
rm -f "$T/f.sock"
echo other >"$T/f.sock"
stop_fcgi s3
is "$(cat "$T/f.sock" 2>/dev/null)" other "what replaced its socket is left alone at exit"
rm -f "$T/f.sock"

# The lock file.
ln -s "$T/target" "$T/g.sock.lock"
check "a symlinked PATH.lock is refused" refuses link "$T/g.sock"
check "as a symlink" grep -q 'g.sock.lock is a symlink' "$T/link.err"
check "and its target is not created" test ! -e "$T/target"
rm -f "$T/g.sock.lock"
mkdir "$T/g.sock.lock"
check "a PATH.lock that is not a regular file is refused" refuses dir "$T/g.sock"
check "as such" grep -q 'not a regular file\|Is a directory' "$T/dir.err"
rmdir "$T/g.sock.lock"
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	: >"$T/g.sock.lock"
	chown nobody "$T/g.sock.lock"
	check "a PATH.lock owned by another user is refused" refuses owner "$T/g.sock"
	check "naming its owner" grep -q "owned by uid $(id -u nobody)" "$T/owner.err"
	check "and not as 'in use'" sh -c "! grep -q 'in use' '$T/owner.err'"
else
	ok 0 "# SKIP a lock owned by another user needs root to make"
	ok 0 "# SKIP a lock owned by another user needs root to make"
	ok 0 "# SKIP a lock owned by another user needs root to make"
fi
done_testing
