#!/bin/bash
# SPDX-License-Identifier: ISC
# redis_bench.sh: several hosts sharing channels through one Redis, fastsse
# against Nchan on the same Redis, in one run.  Run from the build
# directory (or set BUILD):
#
#   tests/bench/redis_bench.sh [-q] [-s "single redis nchan"] [-S "p a b w v"]
#       [-W nginx|lighttpd]
#       [-n streams-per-host] [-e events] [-w window] [-d secs] [-p publishes]
#       [-m wave-browsers] [-k wave-events] [-z size] [-A redis-server-args]
#
# Systems, each on freshly started servers:
#   redis   two "hosts": on each a fastsse-broker --redis, a responder and
#           a web server (-W, nginx by default), all on one Redis;
#   nchan   two nginx with Nchan, nchan_redis_url on the same Redis;
#   single  one host, one broker without --redis: the same load on our
#           own single-host setup, for the "within 2x" aim;
#   redis-base  as redis, with the broker binary $BROKER_BASE (e.g. one
#           built from an earlier commit): before and after in one run.
# Scenarios, in order, events of -z bytes published on both hosts (one
# publisher per host, half the events each; fastsse over the wire
# protocol to the host's broker, Nchan with pipelined HTTP POSTs):
#   (p) -p publishes with no streams, at most -w unacknowledged: publishes/s;
#   (a) -n streams per host on one channel, -e events as fast as the
#       window allows: delivered events/s, latency;
#   (b) the same streams, 100 events/s for -d seconds: p50/p99 latency;
#   (w) the resume wave: a marker event, then -k events with no stream
#       open; then -m browsers at once (half per host) with
#       Last-Event-ID = the marker: the time until every one has exactly
#       the -k events, and the Redis commands it cost (CONFIG RESETSTAT
#       before, INFO commandstats after);
#   (v) the same wave after host b's broker (Nchan: host b's nginx) was
#       restarted between the publishing and the wave, so that its memory
#       does not hold the missed events: what a resume costs Redis then.
# For every scenario it also reads the Redis commands (calls: every
# command Redis ran, those inside functions and scripts included), the
# brokers' own Redis counters (redis_reads: replays read from Redis,
# redis_catchups) and the CPU time of the servers (web, responder,
# broker, Redis).
#
# Everything listens on 127.0.0.1, on ports picked at run time, in a
# private mktemp -d directory; Redis runs with --save '' --appendonly no
# and then -A's arguments (e.g. -A '--appendonly yes --appendfsync
# everysec' to see what persistence costs).
# Every process started here is stopped by pid on exit; each client run
# is bounded by sseload -t and timeout(1).
set -u

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
. "$srcdir/tests/bench/bench_lib.sh"
bench_paths

systems="single redis nchan"
scenarios="p a b w v"
web=nginx
nper=500
nevents=2000
window=100
rate=100
rate_secs=10
npub=20000
wave=1000
wave_events=100
size=64
workers=2
nginx_extra=""
redis_args=""
quick=0
while getopts "qs:S:W:n:e:w:d:p:m:k:z:A:" opt; do
	case $opt in
	q) quick=1 ;;
	s) systems=$OPTARG ;;
	S) scenarios=$OPTARG ;;
	W) web=$OPTARG ;;
	n) nper=$OPTARG ;;
	e) nevents=$OPTARG ;;
	w) window=$OPTARG ;;
	d) rate_secs=$OPTARG ;;
	p) npub=$OPTARG ;;
	m) wave=$OPTARG ;;
	k) wave_events=$OPTARG ;;
	z) size=$OPTARG ;;
	A) redis_args=$OPTARG ;;
	*) echo "usage: $0 [-q] [-s systems] [-S scenarios] [-W nginx|lighttpd] [-n streams-per-host] [-e events] [-w window] [-d secs] [-p publishes] [-m wave-browsers] [-k wave-events] [-z size] [-A redis-server-args]" >&2
	   exit 2 ;;
	esac
done
if [ "$quick" = 1 ]; then
	# A quick look: a fifth of the work, same shape.
	nper=$((nper / 5)); nevents=$((nevents / 5)); npub=$((npub / 5))
	rate_secs=3; wave=$((wave / 5)); wave_events=$((wave_events / 2))
fi
case $web in nginx|lighttpd) ;; *) echo "-W nginx or lighttpd" >&2; exit 2 ;; esac

for f in "$SSELOAD" "$BROKER" "$RESPONDER"; do
	[ -x "$f" ] || { echo "missing $f (run from the build dir or set BUILD)" >&2; exit 1; }
done
if ! command -v "$REDIS_SERVER" >/dev/null || ! command -v "$REDIS_CLI" >/dev/null; then
	echo "redis-server and redis-cli are needed" >&2
	exit 1
fi

bench_tmpdir redis_bench
declare -A R	# results: R[system.key]=value
declare -A H_BROKER H_BROKER_ARGS H_WEB H_PORT	# by host name
declare -A H_BROKER_BIN	# by host name, when not $BROKER

rcli() { "$REDIS_CLI" -h 127.0.0.1 -p "$RPORT" "$@"; }

# The private Redis, for the whole run (each system uses its own keys).
start_redis() {
	RPORT=$(pick_port) || return 1
	mkdir -p "$tmp/redis"
	# shellcheck disable=SC2086
	start "$tmp/redis.log" "$REDIS_SERVER" --port "$RPORT" --bind 127.0.0.1 \
	    --save '' --appendonly no --dir "$tmp/redis" --maxclients 10000 \
	    $redis_args
	REDIS_PID=$LASTPID
	wait_port "$RPORT" || return 1
	REDIS_URL="redis://127.0.0.1:$RPORT"
}

# Total calls in INFO commandstats, and the busiest commands ("cmd=n ...").
redis_calls() {
	rcli info commandstats | tr -d '\r' |
	    sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\).*/\1 \2/p' |
	    grep -v -e '^info ' -e '^config|resetstat ' -e '^config ' |
	    sort -k2 -n -r >"$tmp/cmdstats"
	awk '{ t += $2 } END { print t + 0 }' "$tmp/cmdstats"
}
redis_top() {
	head -5 "$tmp/cmdstats" | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $1, $2 }'
}

# start_host NAME: broker (with $1 = "redis": --redis), responder and web
# server under $tmp/NAME; sets URL_<NAME>, PUB_<NAME> and the pids.
start_host() {
	local name=$1 mode=$2 dir=$tmp/$1 port bsock fsock extra=""
	mkdir -p "$dir"
	port=$(pick_port) || return 1
	bsock=$dir/broker.sock
	fsock=$dir/fcgi.sock
	[ "$mode" = redis ] && extra="--redis $REDIS_URL"
	H_BROKER_BIN[$name]=$BROKER
	if [ "$mode" = redis-base ]; then
		extra="--redis $REDIS_URL"
		H_BROKER_BIN[$name]=${BROKER_BASE:?set BROKER_BASE for redis-base}
	fi
	H_BROKER_ARGS[$name]="--foreground --socket $bsock --data-dir none $extra"
	start_broker "$name" || return 1
	start "$dir/fcgi.log" "$RESPONDER" -d --listen "unix:$fsock" \
	    --socket-mode 0666 --broker "$bsock" --backlog 4096
	HOSTPIDS="$HOSTPIDS $LASTPID"
	RESPONDERS="$RESPONDERS $LASTPID"
	wait_sock "$fsock" || return 1
	if [ "$web" = nginx ]; then
		bench_conf_nginx "$dir/nginx.conf" "$port" "$fsock" "$bsock" "$dir" ||
		    return 1
		start "$dir/nginx.out" nginx -c "$dir/nginx.conf" -p "$dir/web/" \
		    -g 'daemon off;'
	else
		bench_conf_lighttpd "$dir/lighttpd.conf" "$port" "$fsock" "$bsock" \
		    "$dir" || return 1
		start "$dir/lighttpd.out" lighttpd -D -f "$dir/lighttpd.conf"
	fi
	HOSTPIDS="$HOSTPIDS $LASTPID"
	WEBS="$WEBS $LASTPID"
	H_WEB[$name]=$LASTPID
	wait_port "$port" || return 1
	URLS="$URLS -u http://127.0.0.1:$port/events?channel=@CH@"
	PUBS="$PUBS -P wire:$bsock"
	BSOCKS="$BSOCKS $bsock"
}

# start_broker NAME: (again) the broker of host NAME, as start_host set it.
start_broker() {
	local name=$1
	# shellcheck disable=SC2086
	start "$tmp/$name/broker.log" "${H_BROKER_BIN[$name]}" ${H_BROKER_ARGS[$name]}
	HOSTPIDS="$HOSTPIDS $LASTPID"
	BROKERS="$BROKERS $LASTPID"
	H_BROKER[$name]=$LASTPID
	wait_sock "$tmp/$name/broker.sock"
}

start_nchan_web() {
	local name=$1 dir=$tmp/$1
	start "$dir/nchan.out" nginx -c "$dir/nchan.conf" -p "$dir/web/" \
	    -g 'daemon off;'
	HOSTPIDS="$HOSTPIDS $LASTPID"
	WEBS="$WEBS $LASTPID"
	H_WEB[$name]=$LASTPID
	wait_port "${H_PORT[$name]}"
}

# Drops pid $1 from the lists of this system's processes.
forget_pid() {
	HOSTPIDS=$(echo "$HOSTPIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
	BROKERS=$(echo "$BROKERS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
	WEBS=$(echo "$WEBS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# Restarts what holds host b's recent history in memory (its broker, or
# Nchan's nginx), so that a resume from before cannot be served from it.
restart_b() {
	local sys=$1 _
	if [ "$sys" = redis ]; then
		stop_pid "${H_BROKER[b]}"
		forget_pid "${H_BROKER[b]}"
		start_broker b || return 1
		wait_redis_connected || return 1
		# The responder reconnects by itself: wait for it (bounded).
		for _ in $(seq 1 100); do
			[ "$("$BUILD/broker/fastsse" stats --socket "$tmp/b/broker.sock" 2>/dev/null |
			    grep -o '"connections":[0-9]*' | cut -d: -f2)" -ge 2 ] 2>/dev/null &&
			    return 0
			sleep 0.1
		done
		log "host b's responder did not come back to its broker"
		return 1
	fi
	stop_pid "${H_WEB[b]}"
	forget_pid "${H_WEB[b]}"
	start_nchan_web b && sleep 0.3
}

start_nchan() {
	local name=$1 dir=$tmp/$1 port
	mkdir -p "$dir"
	port=$(pick_port) || return 1
	bench_conf_nchan "$dir/nchan.conf" "$port" "$dir" "$REDIS_URL"
	H_PORT[$name]=$port
	start_nchan_web "$name" || return 1
	URLS="$URLS -u http://127.0.0.1:$port/sub/@CH@"
	PUBS="$PUBS -P http://127.0.0.1:$port/pub/@CH@"
}

# The sum of one counter of fastsse stats over the brokers.
broker_stat() {
	local s t=0 v
	for s in $BSOCKS; do
		v=$("$BUILD/broker/fastsse" stats --socket "$s" 2>/dev/null |
		    grep -o "\"$1\":[0-9]*" | cut -d: -f2)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# Waits (bounded) until every broker says it is connected to Redis.
wait_redis_connected() {
	local s ok
	for _ in $(seq 1 100); do
		ok=1
		for s in $BSOCKS; do
			"$BUILD/broker/fastsse" stats --socket "$s" 2>/dev/null |
			    grep -q '"redis_connected":1' || ok=0
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.1
	done
	log "the brokers did not connect to Redis in 10 s"
	return 1
}

start_system() {
	local sys=$1
	HOSTPIDS=""; WEBS=""; BROKERS=""; RESPONDERS=""; URLS=""; PUBS=""; BSOCKS=""
	case $sys in
	single)
		start_host a single || return 1
		# One host: both publishers on its broker, all streams on it.
		URLS="$URLS $URLS"
		PUBS="$PUBS $PUBS"
		;;
	redis|redis-base)
		start_host a "$sys" && start_host b "$sys" || return 1
		wait_redis_connected || return 1
		;;
	nchan)
		start_nchan a && start_nchan b || return 1
		;;
	*)
		log "unknown system $sys"
		return 1 ;;
	esac
	sleep 0.3	# let nginx's workers come up
}

stop_system() {
	local p
	for p in $HOSTPIDS; do
		stop_pid "$p"
	done
}

# CPU ticks of a list of pids (with their children).
cpu_list() {
	local t=0 p
	for p in "$@"; do
		t=$((t + $(cpu_tree "$p")))
	done
	echo "$t"
}
# "web W ms, responder F ms, broker B ms, redis R ms" since the snapshot.
cpu_snap() {
	# shellcheck disable=SC2086
	echo "$(cpu_list $WEBS) $(cpu_list $RESPONDERS) $(cpu_list $BROKERS) $(cpu_tree "$REDIS_PID")"
}
cpu_since() {
	local now
	now=$(cpu_snap)
	echo "$1 $now" | awk '{ printf "web %d ms, responder %d ms, broker %d ms, redis %d ms", \
	    ($5 - $1) * 10, ($6 - $2) * 10, ($7 - $3) * 10, ($8 - $4) * 10 }'
}

# sseload with the system's hosts and publishers on channel CH.
load() {	# load CH OUT TIMEOUT SSELOAD-ARGS...
	local ch=$1 out=$2 t=$3
	shift 3
	# shellcheck disable=SC2046
	timeout "$t" "$SSELOAD" $(echo "$*" | sed "s/@CH@/$ch/g") -C "$ch" \
	    -z "$size" >"$out" 2>&1
	sed 's/^/    /' "$out" >&2
}

# URLS and PUBS are lists of options, split on purpose.
# shellcheck disable=SC2086
run_scenario() {	# run_scenario SYSTEM TAG
	local sys=$1 tag=$2 ch=r$2$RANDOM out=$tmp/$2.$1.out c0 calls k=$1.$2 m g t
	local r0 u0
	rcli config resetstat >/dev/null
	c0=$(cpu_snap)
	r0=$(broker_stat redis_reads)
	u0=$(broker_stat redis_catchups)
	case $tag in
	p)
		load "$ch" "$out" 120 -p $PUBS -e "$npub" -w "$window" -t 100
		R[$k.pps]=$(field "$out" pps)
		R[$k.err]=$(field "$out" pub_errors)
		;;
	a)
		load "$ch" "$out" 200 $URLS -n $((2 * nper)) $PUBS -e "$nevents" \
		    -w "$window" -t 120
		;;
	b)
		load "$ch" "$out" 200 $URLS -n $((2 * nper)) $PUBS \
		    -e $((rate * rate_secs)) -r "$rate" -w 100000000 -t 120
		;;
	w|v)
		if [ "$tag" = v ] && [ "$sys" = single ]; then
			log "single (v): no second host to restart; skipped"
			return
		fi
		load "$ch" "$out.pub" 60 -p $PUBS -e "$wave_events" -w "$window" -t 50
		if [ "$tag" = v ] && ! restart_b "$sys"; then
			log "$sys (v): could not restart host b"
			return
		fi
		m=$(sed -n 's/^MARKER //p' "$out.pub")
		if [ -z "$m" ]; then
			log "$sys (w): no marker id"
			return
		fi
		rcli config resetstat >/dev/null
		c0=$(cpu_snap)
		r0=$(broker_stat redis_reads)
		u0=$(broker_stat redis_catchups)
		load "$ch" "$out" 120 -R -L "$m" $URLS -n "$wave" -c "$wave" \
		    -e "$wave_events" -t 100
		R[$k.wave]=$(field "$out" wave_s)
		R[$k.p99s]=$(field "$out" p99_s)
		R[$k.ndone]=$(field "$out" "done")
		R[$k.extra]=$(field "$out" extra)
		;;
	esac
	calls=$(redis_calls)
	R[$k.calls]=$calls
	R[$k.top]=$(redis_top)
	R[$k.cpu]=$(cpu_since "$c0")
	if [ "$sys" = redis ]; then
		R[$k.reads]=$(( $(broker_stat redis_reads) - r0 ))
		R[$k.catchups]=$(( $(broker_stat redis_catchups) - u0 ))
	fi
	if [ "$tag" = p ]; then
		R[$k.percall]=$(awk -v c="$calls" -v n="$(field "$out" acked)" \
		    'BEGIN { if (n > 0) printf "%.1f", c / n; else print "-" }')
	fi
	if [ "$tag" = a ] || [ "$tag" = b ]; then
		R[$k.eps]=$(field "$out" eps)
		R[$k.p50]=$(field "$out" p50_ms)
		R[$k.p99]=$(field "$out" p99_ms)
		R[$k.max]=$(field "$out" max_ms)
		g=$(field "$out" gaps)
		t=$(field "$out" tailmiss)
		R[$k.lost]=$(( ${g:-0} + ${t:-0} ))
		R[$k.late]=$(field "$out" late)
		R[$k.err]=$(field "$out" pub_errors)
		R[$k.delivered]=$(field "$out" delivered)
		R[$k.expected]=$(field "$out" expected)
	fi
	[ "$sys" = single ] && R[$k.calls]="-" && R[$k.percall]="-"
	log "$sys ($tag): Redis calls ${R[$k.calls]} (${R[$k.top]}); broker reads from Redis ${R[$k.reads]:--}, catch-ups ${R[$k.catchups]:--}; CPU ${R[$k.cpu]}; load $(cut -d' ' -f1-3 /proc/loadavg)"
}

echo "redis_bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$($REDIS_SERVER --version | cut -d' ' -f1-3) ${redis_args:+($redis_args)}; fastsse behind $web; nginx worker_processes $workers; $nper streams per host; events of $size B"
start_redis || { log "redis-server did not start"; cat "$tmp/redis.log" >&2; exit 1; }
for sys in $systems; do
	log "=== $sys"
	if ! start_system "$sys"; then
		log "$sys: could not start; see the logs below"
		tail -5 "$tmp"/*/*.log "$tmp"/*/*.out "$tmp"/*/web/*error.log 2>/dev/null >&2
		stop_system
		continue
	fi
	for tag in $scenarios; do
		run_scenario "$sys" "$tag"
	done
	stop_system
	rcli flushall >/dev/null
done

ratio() {	# ratio A B: A/B with two decimals, or "-"
	if [ -n "${1:-}" ] && [ -n "${2:-}" ] && [ "$1" != - ] && [ "$2" != - ]; then
		awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'
	else
		echo "-"
	fi
}
v() { echo "${R[$1]:--}"; }

echo
echo "(p) publishes/s with no stream, $npub over two publishers, <= $window unacknowledged;"
echo "(a) $((2 * nper)) streams (half per host), $nevents events, window $window: delivered events/s;"
echo "(b) the same streams at $rate events/s for $rate_secs s: latency publish -> browser;"
echo "(w) $wave browsers resume at once from one Last-Event-ID, $wave_events events each to catch up."
echo "Redis calls: commands Redis ran during the scenario, inside functions and scripts too"
echo "(INFO commandstats; /pub: per publish); reads: replays the brokers read from Redis."
printf '%-7s | %9s %5s | %10s %7s %7s %5s %7s | %7s %7s %7s %5s %7s\n' \
    system "(p) pub/s" "/pub" "(a) ev/s" "p50 ms" "p99 ms" lost calls \
    "(b) p50" "p99 ms" "max ms" lost calls
for sys in $systems; do
	printf '%-7s | %9s %5s | %10s %7s %7s %5s %7s | %7s %7s %7s %5s %7s\n' "$sys" \
	    "$(v $sys.p.pps)" "$(v $sys.p.percall)" \
	    "$(v $sys.a.eps)" "$(v $sys.a.p50)" "$(v $sys.a.p99)" "$(v $sys.a.lost)" "$(v $sys.a.calls)" \
	    "$(v $sys.b.p50)" "$(v $sys.b.p99)" "$(v $sys.b.max)" "$(v $sys.b.lost)" "$(v $sys.b.calls)"
done
echo
echo "Resume waves: seconds until the last browser had all its events, p99 of the browsers,"
echo "browsers done, events replayed from before the cursor, Redis calls, brokers' reads."
printf '%-7s | %7s %7s %5s %5s %6s %5s | %7s %7s %5s %5s %6s %5s\n' \
    system "(w) s" "p99 s" "done" extra calls reads "(v) s" "p99 s" "done" extra calls reads
for sys in $systems; do
	printf '%-7s | %7s %7s %5s %5s %6s %5s | %7s %7s %5s %5s %6s %5s\n' "$sys" \
	    "$(v $sys.w.wave)" "$(v $sys.w.p99s)" "$(v $sys.w.ndone)" "$(v $sys.w.extra)" \
	    "$(v $sys.w.calls)" "$(v $sys.w.reads)" \
	    "$(v $sys.v.wave)" "$(v $sys.v.p99s)" "$(v $sys.v.ndone)" "$(v $sys.v.extra)" \
	    "$(v $sys.v.calls)" "$(v $sys.v.reads)"
done
echo
for sys in $systems; do
	for tag in $scenarios; do
		[ -n "${R[$sys.$tag.cpu]:-}" ] &&
		    echo "$sys ($tag): CPU ${R[$sys.$tag.cpu]}; Redis ${R[$sys.$tag.top]:-}"
	done
done
echo
case " $systems " in *" redis "*)
	case " $systems " in *" nchan "*)
		echo "fastsse+Redis / Nchan+Redis: (p) publishes/s x$(ratio "$(v redis.p.pps)" "$(v nchan.p.pps)");" \
		    "(a) delivered ev/s x$(ratio "$(v redis.a.eps)" "$(v nchan.a.eps)") (aim >= 2);" \
		    "(b) p99 x$(ratio "$(v redis.b.p99)" "$(v nchan.b.p99)") ($(v redis.b.p99) ms, aim < 50);" \
		    "(w) wave time x$(ratio "$(v redis.w.wave)" "$(v nchan.w.wave)"), Redis calls x$(ratio "$(v redis.w.calls)" "$(v nchan.w.calls)");" \
		    "(v) wave time x$(ratio "$(v redis.v.wave)" "$(v nchan.v.wave)"), Redis calls x$(ratio "$(v redis.v.calls)" "$(v nchan.v.calls)")"
		;;
	esac
	case " $systems " in *" redis-base "*)
		echo "fastsse+Redis / redis-base: (p) publishes/s x$(ratio "$(v redis.p.pps)" "$(v redis-base.p.pps)");" \
		    "Redis calls per publish $(v redis.p.percall) vs $(v redis-base.p.percall)"
		;;
	esac
	case " $systems " in *" single "*)
		echo "fastsse+Redis / fastsse single host: (p) publishes/s x$(ratio "$(v redis.p.pps)" "$(v single.p.pps)");" \
		    "(a) delivered ev/s x$(ratio "$(v redis.a.eps)" "$(v single.a.eps)") (aim >= 0.5);" \
		    "(b) p99 x$(ratio "$(v redis.b.p99)" "$(v single.b.p99)") (aim <= 2);" \
		    "(w) wave time x$(ratio "$(v redis.w.wave)" "$(v single.w.wave)") (aim <= 2)"
		;;
	esac
	;;
esac
