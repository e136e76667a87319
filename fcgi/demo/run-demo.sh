#!/bin/sh
# SPDX-License-Identifier: ISC
# The fastsse demo: starts the broker, the FastCGI responder and lighttpd
# (fcgi/conf/lighttpd.conf) serving fcgi/demo/index.html on
# http://127.0.0.1:8080/, prints the command to publish an event, and stops
# everything on Ctrl-C.  Usage, from a built tree:
#   fcgi/demo/run-demo.sh [BUILDDIR]
# BUILDDIR is where fastsse was built (default: $BUILDDIR, else build/ in
# the source tree, else the source tree itself).  PORT=8081 picks another
# port; CHANNEL=news another channel.
#
# Private channels: the responder runs with a token key made here;
# $CHANNEL and the channels starting with "demo" are public, every other
# one needs a token.  The script mints one for "private.*" (fastsse token,
# valid 60 s) into the page's directory as token.txt every 30 s, standing
# in for the application endpoint that would hand a logged-in user a
# token; the page (?channel=private.demo&tokenurl=/token.txt) fetches it,
# passes it as a cookie, and renews it when the stream says
# token-expired.  A static file keeps the demo to one web server and no
# application; a real site mints per user, behind its login.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
port=${PORT:-8080}
channel=${CHANNEL:-demo}

builddir=${1:-${BUILDDIR:-}}
if [ -z "$builddir" ]; then
	for d in "$top/build" "$top" "$PWD"; do
		if [ -x "$d/broker/fastsse-broker" ]; then
			builddir=$d
			break
		fi
	done
fi
if [ -z "$builddir" ] || [ ! -x "$builddir/broker/fastsse-broker" ] ||
    [ ! -x "$builddir/fcgi/fastsse-fcgi" ]; then
	echo "run-demo.sh: no built fastsse found; build first (see README.md)" \
	    "or name the build directory: run-demo.sh BUILDDIR" >&2
	exit 1
fi
builddir=$(cd "$builddir" && pwd)

lighttpd=$(PATH="$PATH:/usr/sbin:/sbin" command -v lighttpd || true)
if [ -z "$lighttpd" ]; then
	echo "run-demo.sh: lighttpd is not installed (apt-get install lighttpd)" >&2
	exit 1
fi
if command -v curl >/dev/null 2>&1 &&
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
	echo "run-demo.sh: something already answers on port $port;" \
	    "try PORT=8081 $0" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fastsse-demo.XXXXXX")
chmod 755 "$tmp"
mkdir "$tmp/www" "$tmp/conf" "$tmp/state"
cp "$here/index.html" "$tmp/www/index.html"
# A random secret for this run (kid "demo").
printf 'demo:%s\n' "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" \
    >"$tmp/token.key"
pids=""

cleanup() {
	trap - INT TERM EXIT
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
	echo
	echo "demo stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

broker_sock=$tmp/broker.sock
fcgi_sock=$tmp/fcgi.sock

# Waits up to 10 s for a condition (a command) to hold.
wait_for() {
	i=0
	until "$@"; do
		i=$((i + 1))
		if [ "$i" -gt 200 ]; then
			return 1
		fi
		sleep 0.05
	done
}

"$builddir/broker/fastsse-broker" -d --socket "$broker_sock" \
    --socket-mode 666 2>"$tmp/broker.log" &
pids="$pids $!"
wait_for test -S "$broker_sock" || {
	cat "$tmp/broker.log" >&2
	exit 1
}

# The responder, restarted 3 s after it stops, so that killing it shows
# the page reconnecting (lighttpd answers "retry" meanwhile) and then
# catching up on the events it missed.
(
	trap 'kill "$(cat "$tmp/responder.pid")" 2>/dev/null; exit 0' TERM
	while :; do
		"$builddir/fcgi/fastsse-fcgi" -d --listen "unix:$fcgi_sock" \
		    --socket-mode 0666 --broker "$broker_sock" --retry 2000 \
		    --token-key "$tmp/token.key" --token-cookie fastsse_token \
		    --public-channel "$channel" --public-channel 'demo*' \
		    2>>"$tmp/responder.log" &
		echo $! >"$tmp/responder.pid"
		wait $! || true
		sleep 3
	done
) &
pids="$pids $!"
wait_for test -S "$fcgi_sock" || {
	cat "$tmp/responder.log" >&2
	exit 1
}

sh "$top/fcgi/conf/render.sh" "$top/fcgi/conf/lighttpd.conf" \
    PORT="$port" STATEDIR="$tmp/state" CONFDIR="$tmp/conf" \
    DOCROOT="$tmp/www" RESPONDER_SOCKET="$fcgi_sock" DOWN_RETRY=2000 \
    >"$tmp/conf/lighttpd.conf"
cp "$top/fcgi/conf/sse-down.cgi" "$tmp/conf/sse-down.cgi"
"$lighttpd" -D -f "$tmp/conf/lighttpd.conf" 2>"$tmp/lighttpd.log" &
pids="$pids $!"
ready() {
	if command -v curl >/dev/null 2>&1; then
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"
	else
		test -f "$tmp/state/lighttpd.pid"
	fi
}
wait_for ready || {
	cat "$tmp/lighttpd.log" "$tmp/state/lighttpd-error.log" >&2
	exit 1
}

# The token minter (see the top).
(
	nap=
	trap 'kill $nap 2>/dev/null; exit 0' TERM
	while :; do
		"$builddir/broker/fastsse" token --key "$tmp/token.key" \
		    --ttl 60 'private.*' >"$tmp/www/token.txt.new" &&
		    chmod 644 "$tmp/www/token.txt.new" &&
		    mv "$tmp/www/token.txt.new" "$tmp/www/token.txt"
		sleep 30 &
		nap=$!
		wait $nap || true
	done
) &
pids="$pids $!"

publish="$builddir/broker/fastsse publish --socket $broker_sock"
cat <<EOT

fastsse demo running: open http://127.0.0.1:$port/?channel=$channel

Publish an event (in another terminal):
  $publish $channel 'hello, world'
  $publish --event greeting $channel 'typed events need ?types=greeting'
  date | $publish $channel
A private channel (a token, renewed every minute, as a cookie):
  open http://127.0.0.1:$port/?channel=private.demo&tokenurl=/token.txt
  $publish private.demo 'for token holders'
Stop the responder to watch the page reconnect and catch up (events
published meanwhile are replayed; lighttpd answers "retry" in between):
  kill $(cat $tmp/responder.pid)     (it comes back 3 s later)

Logs: $tmp/*.log    Ctrl-C stops the demo.
EOT
wait
