#!/bin/bash
# SPDX-License-Identifier: ISC
# apache_scale.sh: the Apache aims, with nginx and lighttpd in the same run
# as references.  Run from the build directory (or set BUILD):
#
#   SRC/tests/bench/apache_scale.sh [-s "apache nginx lighttpd apache-lighttpd"]
#       [-S "rate rate2 cap wave free events"] [-m 5000] [-n 2000] [-o 2000]
#       [-w 1000] [-e 200] [-A FILE] [-a CONF] [-F "responder args"]
#
# Each scenario runs on freshly started servers (broker, responder, web
# server), so Apache starts from its configured StartServers every time:
#   rate   -n streams opened at -o per second: header p50/p99/max
#          (aim: p99 < 200 ms at 2,000/s);
#   rate2  rate twice on the same server (threads that served before);
#   cap    -m idle streams opened at -o per second and held: how many were
#          served, and the RSS and PSS of web server, responder and broker,
#          per stream: the growth while they opened, and the web server's
#          whole size divided by the streams (aims: 5,000 streams,
#          < 30 KB per stream);
#   wave   -w streams open, all closed at once, -w new ones opened at once:
#          the time until the last new one is served (aim: < 5 s);
#   free   -w streams open, all closed at once: how long until the web
#          server has let go of them (Apache frees a stream's thread only
#          when a write to the browser fails: see the responder's
#          --heartbeat);
#   events -w streams on one channel, -e events/s for 5 s, published to
#          the broker: latency p50/p99 (aim: p99 < 100 ms at 200/s).
# Apache uses fcgi/conf/apache-proxy-fcgi.conf (-a another template, e.g.
# an older one to compare), with the directives of -A FILE appended, which
# override the MPM sizing; nginx and lighttpd are rendered and widened for
# many streams exactly as bench_web.sh does; apache-lighttpd is Apache
# proxying the SSE location over HTTP (mod_proxy_http) to that lighttpd.  -F adds responder options
# (e.g. "--heartbeat 4").
#
# Everything listens on 127.0.0.1 on ports picked at run time, in a
# private mktemp -d directory; every process started here is stopped by
# pid; each client run is bounded by its -t and by timeout(1).
set -u

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
. "$srcdir/tests/bench/bench_lib.sh"
bench_paths
CONN=${CONN:-$BUILD/tests/bench/apache_conn}

systems="apache nginx lighttpd"
scenarios="rate cap wave free events"
ncap=5000
nrate=2000
orate=2000
nwave=1000
evrate=200
apache_conf=$CONFDIR/apache-proxy-fcgi.conf
apache_extra=""
fcgi_extra=""
workers=2		# nginx worker_processes, for bench_conf_nginx
nginx_extra=""
while getopts "s:S:m:n:o:w:e:A:a:F:" opt; do
	case $opt in
	s) systems=$OPTARG ;;
	S) scenarios=$OPTARG ;;
	m) ncap=$OPTARG ;;
	n) nrate=$OPTARG ;;
	o) orate=$OPTARG ;;
	w) nwave=$OPTARG ;;
	e) evrate=$OPTARG ;;
	A) apache_extra=$(cd "$(dirname "$OPTARG")" && pwd)/$(basename "$OPTARG") ;;
	a) apache_conf=$OPTARG ;;
	F) fcgi_extra=$OPTARG ;;
	*) echo "usage: $0 [-s systems] [-S scenarios] [-m cap] [-n rate-streams] [-o opens/s] [-w wave] [-e events/s] [-A apache-extra] [-a apache-template] [-F responder-args]" >&2
	   exit 2 ;;
	esac
done

for f in "$BROKER" "$RESPONDER" "$SSELOAD" "$CONN"; do
	[ -x "$f" ] || { echo "missing $f (run from the build dir or set BUILD)" >&2; exit 1; }
done

bench_tmpdir apache_scale

# Memory in kB of a pid and its children: "RSS PSS".
mem_tree() {
	local r=0 s=0 p a b
	for p in "$1" $(pgrep -P "$1"); do
		read -r a b < <(awk '/^Rss:/ { r = $2 } /^Pss:/ { s = $2 }
		    END { print r + 0, s + 0 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		r=$((r + ${a:-0}))
		s=$((s + ${b:-0}))
	done
	echo "$r $s"
}
# Threads of a pid and its children.
threads_tree() {
	local t=0 p
	for p in "$1" $(pgrep -P "$1"); do
		t=$((t + $(awk '/^Threads:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

render() {	# render TEMPLATE OUT
	"$CONFDIR/render.sh" "$1" PORT="$PORT" \
	    RESPONDER_SOCKET="$FSOCK" BROKER_SOCKET="$BSOCK" \
	    STATEDIR="$tmp/web" DOCROOT="$tmp/www" CONFDIR="$tmp/conf" \
	    RUNDIR="$tmp" >"$2"
}

# lighttpd on LPORT, widened for many streams as in bench_web.sh.
start_lighttpd() {
	bench_conf_lighttpd "$tmp/lighttpd.conf" "$LPORT" "$FSOCK" "$BSOCK" \
	    "$tmp" || return 1
	start "$tmp/lighttpd.out" lighttpd -D -f "$tmp/lighttpd.conf"
	[ "$LPORT" = "$PORT" ] || wait_port "$LPORT"
}

start_system() {
	local sys=$1
	PORT=$(pick_port) || return 1
	LPORT=$(pick_port) || return 1
	LIGHTTPD_PID=""
	rm -rf "$tmp/web" "$tmp/www" "$tmp/conf"
	mkdir -p "$tmp/web" "$tmp/www" "$tmp/conf"
	start_fastsse || return 1
	case $sys in
	apache)
		render "$apache_conf" "$tmp/apache.conf" || return 1
		render "$CONFDIR/apache-sse-down.asis" "$tmp/conf/sse-down.asis"
		[ -n "$apache_extra" ] &&
		    echo "Include $apache_extra" >>"$tmp/apache.conf"
		start "$tmp/apache.out" apache2 -f "$tmp/apache.conf" -DFOREGROUND
		;;
	apache-lighttpd)
		# Apache proxying the SSE location over HTTP to lighttpd,
		# which holds the FastCGI side.
		start_lighttpd || return 1
		LIGHTTPD_PID=$LASTPID
		render "$apache_conf" "$tmp/apache.conf" || return 1
		render "$CONFDIR/apache-sse-down.asis" "$tmp/conf/sse-down.asis"
		sed -i -e "s|ProxyPass \"unix:[^\"]*\"|ProxyPass \"http://127.0.0.1:$LPORT/events\"|" \
		    -e 's|^LoadModule proxy_fcgi_module \(.*\)/mod_proxy_fcgi.so|&\nLoadModule proxy_http_module \1/mod_proxy_http.so|' \
		    "$tmp/apache.conf"
		grep -q "ProxyPass \"http://127.0.0.1:$LPORT/events\"" "$tmp/apache.conf" ||
		    { log "apache-proxy-fcgi.conf changed shape"; return 1; }
		[ -n "$apache_extra" ] &&
		    echo "Include $apache_extra" >>"$tmp/apache.conf"
		start "$tmp/apache.out" apache2 -f "$tmp/apache.conf" -DFOREGROUND
		;;
	nginx)
		bench_conf_nginx "$tmp/nginx.conf" "$PORT" "$FSOCK" "$BSOCK" \
		    "$tmp" || return 1
		start "$tmp/nginx.out" nginx -c "$tmp/nginx.conf" -p "$tmp/web/" \
		    -g 'daemon off;'
		;;
	lighttpd)
		LPORT=$PORT
		start_lighttpd || return 1
		;;
	*)
		log "unknown system $sys"
		return 1 ;;
	esac
	WEB_PID=$LASTPID
	wait_port "$PORT" || return 1
	# Let the workers come up: Apache's children start their threads
	# one by one, so wait until the count holds still (at most 30 s).
	local i t=-1 n
	for i in $(seq 1 60); do
		sleep 0.5
		n=$(threads_tree "$WEB_PID")
		[ "$n" = "$t" ] && break
		t=$n
	done
	log "    $sys up: $n threads"
	URL_PATH="/events?channel=scale$RANDOM"
}

stop_system() {
	stop_pid "$WEB_PID"
	[ -n "$LIGHTTPD_PID" ] && stop_pid "$LIGHTTPD_PID"
	stop_pid "$FCGI_PID"
	stop_pid "$BROKER_PID"
}

mode_field() {	# mode_field FILE MODE KEY
	sed -n 's/^RESULT mode='"$2"' .*[ ]'"$3"'=\([^ ]*\).*/\1/p' "$1" | tail -1
}

run_rate() {
	local sys=$1 out=$tmp/rate.out c0 c1 f0 f1
	c0=$(cpu_tree "$WEB_PID"); f0=$(cpu_tree "$FCGI_PID")
	timeout 60 "$CONN" -p "$PORT" -u "$URL_PATH" -n "$nrate" -r "$orate" \
	    -t 20 >"$out" 2>&1
	c1=$(cpu_tree "$WEB_PID"); f1=$(cpu_tree "$FCGI_PID")
	sed 's/^/    /' "$out" >&2
	echo "$sys rate: $nrate streams at $orate/s: served $(mode_field "$out" open served)," \
	    "header p50 $(mode_field "$out" open p50_ms) ms, p99 $(mode_field "$out" open p99_ms) ms," \
	    "max $(mode_field "$out" open max_ms) ms (aim p99 < 200); CPU per stream opened:" \
	    "web $(( (c1 - c0) * 10000 / nrate )) us, responder $(( (f1 - f0) * 10000 / nrate )) us"
}

# The same twice on one server: the second crowd finds threads that have
# served a stream before (their stack pages already in memory).
run_rate2() {
	run_rate "$1"
	sleep 2		# let the first crowd's streams end
	run_rate "$1 again"
}

run_cap() {
	local sys=$1 out=$tmp/cap.$1.out w0 f0 b0 w1 f1 b1 l0 ready t0 t1
	w0=$(mem_tree "$WEB_PID"); f0=$(mem_tree "$FCGI_PID"); b0=$(mem_tree "$BROKER_PID")
	[ -n "$LIGHTTPD_PID" ] && l0=$(mem_tree "$LIGHTTPD_PID")
	t0=$(threads_tree "$WEB_PID")
	timeout 120 "$CONN" -p "$PORT" -u "$URL_PATH" -n "$ncap" -r "$orate" \
	    -t 60 -H >"$out" 2>&1 &
	local lpid=$!
	pids="$pids $lpid"
	wait_ready "$out" "$lpid" 90
	sleep "${SETTLE:-2}"	# let the servers settle (seconds)
	ready=$(sed -n 's/^READY //p' "$out")
	ready=${ready:-0}
	w1=$(mem_tree "$WEB_PID"); f1=$(mem_tree "$FCGI_PID"); b1=$(mem_tree "$BROKER_PID")
	[ -n "$LIGHTTPD_PID" ] &&
	    echo "$sys cap: lighttpd behind it, kB RSS PSS $l0 -> $(mem_tree "$LIGHTTPD_PID")"
	t1=$(threads_tree "$WEB_PID")
	stop_pid "$lpid"
	sed 's/^/    /' "$out" >&2
	log "    kB RSS PSS: web $w0 -> $w1 (threads $t0 -> $t1), responder $f0 -> $f1, broker $b0 -> $b1"
	[ "$ready" -gt 0 ] || { echo "$sys cap: no stream served"; return; }
	# Each of w0 ... b1 is "RSS PSS".
	set -- $w0 $w1 $f0 $f1 $b0 $b1
	echo "$sys cap: $ready of $ncap streams held (aim 5000); per stream, RSS/PSS bytes:" \
	    "web growth $(( ($3 - $1) * 1024 / ready ))/$(( ($4 - $2) * 1024 / ready ))," \
	    "web whole $(( $3 * 1024 / ready ))/$(( $4 * 1024 / ready ))," \
	    "responder $(( ($7 - $5) * 1024 / ready ))/$(( ($8 - $6) * 1024 / ready ))," \
	    "broker $(( (${11} - $9) * 1024 / ready ))/$(( (${12} - ${10}) * 1024 / ready ))" \
	    "(aim < 30 KB); web threads $t0 -> $t1"
}

# Sockets held by a pid and its children.
socks_tree() {
	local t=0 p
	for p in "$1" $(pgrep -P "$1"); do
		t=$((t + $(ls -l "/proc/$p/fd" 2>/dev/null | grep -c 'socket:')))
	done
	echo "$t"
}

# How long the web server keeps a departed browser's stream: -w streams
# open, all closed at once, then the web server's sockets counted every
# 0.2 s until they are back to where they were before (at most 40 s).
run_free() {
	local sys=$1 out=$tmp/free.$1.out s0 s1 i t0 t1 left
	s0=$(socks_tree "$WEB_PID")
	timeout 120 "$CONN" -p "$PORT" -u "$URL_PATH" -n "$nwave" -t 30 -H \
	    >"$out" 2>&1 &
	local lpid=$!
	pids="$pids $lpid"
	wait_ready "$out" "$lpid" 30
	s1=$(socks_tree "$WEB_PID")
	t0=$(date +%s%N)
	stop_pid "$lpid"
	for i in $(seq 1 200); do
		left=$(socks_tree "$WEB_PID")
		[ "$left" -le $((s0 + 10)) ] && break
		sleep 0.2
	done
	t1=$(date +%s%N)
	sed 's/^/    /' "$out" >&2
	echo "$sys free: $(sed -n 's/^READY //p' "$out") streams left at once;" \
	    "web server sockets $s0 -> $s1 -> $left after $(( (t1 - t0) / 1000000 )) ms"
}

run_wave() {
	local sys=$1 out=$tmp/wave.$1.out
	timeout 60 "$CONN" -p "$PORT" -u "$URL_PATH" -n "$nwave" -t 20 -W \
	    >"$out" 2>&1
	sed 's/^/    /' "$out" >&2
	echo "$sys wave: $nwave left, $nwave new: served $(mode_field "$out" wave served)" \
	    "in $(mode_field "$out" wave wall_ms) ms, header p99 $(mode_field "$out" wave p99_ms) ms" \
	    "(aim all within 5000 ms)"
}

run_events() {
	local sys=$1 out=$tmp/events.$1.out ch
	ch=${URL_PATH#*channel=}
	timeout 120 "$SSELOAD" -u "http://127.0.0.1:$PORT$URL_PATH" -n "$nwave" \
	    -C "$ch" -P "wire:$BSOCK" -z 64 -t 60 -e $((evrate * 5)) \
	    -r "$evrate" -w 100000000 >"$out" 2>&1
	sed 's/^/    /' "$out" >&2
	echo "$sys events: $nwave streams, $evrate ev/s: p50 $(field "$out" p50_ms) ms," \
	    "p99 $(field "$out" p99_ms) ms, max $(field "$out" max_ms) ms," \
	    "delivered $(field "$out" delivered) of $(field "$out" expected)" \
	    "(aim p99 < 100)"
}

echo "apache_scale: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, fd hard limit $(ulimit -Hn), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "apache: $(basename "$apache_conf")${apache_extra:+ + $apache_extra}; responder extra: ${fcgi_extra:-none}"
[ -n "$apache_extra" ] && sed 's/^/    /' "$apache_extra"
for sys in $systems; do
	for sc in $scenarios; do
		log "=== $sys $sc (load $(cut -d' ' -f1 /proc/loadavg))"
		if ! start_system "$sys"; then
			log "$sys: could not start; see $tmp"
			tail -5 "$tmp"/*.log "$tmp"/*.out "$tmp"/web/*error.log 2>/dev/null >&2
			stop_system
			continue
		fi
		"run_$sc" "$sys"
		grep -h 'AH0\|scoreboard' "$tmp"/web/*error.log 2>/dev/null |
		    sort | uniq -c | sort -rn | head -3 >&2
		stop_system
	done
done
