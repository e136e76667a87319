#!/bin/bash
# SPDX-License-Identifier: ISC
# bench_web.sh: the full path, browser-like clients -> web server ->
# fastsse-fcgi -> fastsse-broker, against nginx + Nchan on the same
# machine in the same run.  Run from the build directory (or set BUILD):
#
#   tests/bench/bench_web.sh [-s "nginx lighttpd nchan"] [-n 1000] [-m 10000]
#                            [-e 1000] [-w 100] [-z 64]
#
# For each system, on freshly started servers:
#   (c) -m idle streams: RSS delta of web server, responder and broker
#       divided by the number of streams (lighttpd: at most -l, since it
#       needs two fds per stream in one process and the hard fd limit is
#       usually 20000);
#   (a) -n clients on one channel, -e events of -z bytes published as fast
#       as the window (-w events not yet received by every client) allows:
#       delivered events/s, latency;
#   (b) -n clients, 100 events/s for -d seconds: p50/p99 latency.
# fastsse is fed over the wire protocol straight to the broker; Nchan with
# pipelined HTTP POSTs on one keep-alive connection.  Both by sseload.
#
# Everything listens on 127.0.0.1 on ports picked at run time, in a
# private mktemp -d directory; every process started here is stopped by
# pid on exit.  Each client run is bounded by sseload -t and timeout(1).
set -u

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
. "$srcdir/tests/bench/bench_lib.sh"
bench_paths

systems="nginx lighttpd nchan"
nclients=1000
nidle=10000
nidle_lighttpd=9000
nevents=1000
window=100
size=64
rate=100
rate_secs=10
workers=2
scenarios="c a b"
nginx_extra=""
repeats=1
while getopts "s:S:n:m:l:e:w:z:d:W:X:r:" opt; do
	case $opt in
	s) systems=$OPTARG ;;
	S) scenarios=$OPTARG ;;
	n) nclients=$OPTARG ;;
	m) nidle=$OPTARG ;;
	l) nidle_lighttpd=$OPTARG ;;
	e) nevents=$OPTARG ;;
	w) window=$OPTARG ;;
	z) size=$OPTARG ;;
	d) rate_secs=$OPTARG ;;
	W) workers=$OPTARG ;;
	X) nginx_extra=$OPTARG ;;
	r) repeats=$OPTARG ;;
	*) echo "usage: $0 [-s systems] [-S scenarios] [-n clients] [-m idle] [-l idle-lighttpd] [-e events] [-w window] [-z size] [-d secs] [-W nginx-workers] [-X nginx-sse-directives] [-r repeats]" >&2
	   exit 2 ;;
	esac
done

for f in "$SSELOAD"; do
	[ -x "$f" ] || { echo "missing $f (run from the build dir or set BUILD)" >&2; exit 1; }
done
case " $systems " in *" nginx "*|*" lighttpd "*)
	for f in "$BROKER" "$RESPONDER"; do
		[ -x "$f" ] || { echo "missing $f" >&2; exit 1; }
	done ;;
esac

bench_tmpdir bench_web
declare -A R	# results: R[system.key]=value

stop_fastsse() {
	stop_pid "$FCGI_PID"
	stop_pid "$BROKER_PID"
}

conf_nginx() {
	bench_conf_nginx "$tmp/nginx.conf" "$PORT" "$FSOCK" "$BSOCK" "$tmp"
}

conf_lighttpd() {
	bench_conf_lighttpd "$tmp/lighttpd.conf" "$PORT" "$FSOCK" "$BSOCK" "$tmp"
}

conf_nchan() {
	bench_conf_nchan "$tmp/nchan.conf" "$PORT" "$tmp"
}

# Starts one system's web server (and the fastsse daemons it needs).
start_system() {
	local sys=$1
	PORT=$(pick_port) || return 1
	case $sys in
	nginx)
		start_fastsse || return 1
		conf_nginx || return 1
		start "$tmp/nginx.out" nginx -c "$tmp/nginx.conf" -p "$tmp/web/" \
		    -g 'daemon off;'
		WEB_PID=$LASTPID
		SUB_URL="http://127.0.0.1:$PORT/events?channel="
		;;
	lighttpd)
		start_fastsse || return 1
		conf_lighttpd || return 1
		start "$tmp/lighttpd.out" lighttpd -D -f "$tmp/lighttpd.conf"
		WEB_PID=$LASTPID
		SUB_URL="http://127.0.0.1:$PORT/events?channel="
		;;
	nchan)
		conf_nchan
		start "$tmp/nchan.out" nginx -c "$tmp/nchan.conf" -p "$tmp/web/" \
		    -g 'daemon off;'
		WEB_PID=$LASTPID
		BROKER_PID=""
		FCGI_PID=""
		SUB_URL="http://127.0.0.1:$PORT/sub/"
		;;
	esac
	wait_port "$PORT" || return 1
	sleep 0.3	# let nginx's workers come up
}

stop_system() {
	stop_pid "$WEB_PID"
	[ -n "${FCGI_PID:-}" ] && stop_fastsse
	BROKER_PID=""
	FCGI_PID=""
}

publisher() {	# publisher SYSTEM CHANNEL
	if [ "$1" = nchan ]; then
		echo "http://127.0.0.1:$PORT/pub/$2"
	else
		echo "wire:$BSOCK"
	fi
}

# (c) idle streams: RSS per stream.
run_idle() {
	local sys=$1 n=$nidle out=$tmp/idle.$1.out base_w base_f=0 base_b=0
	local w f=0 b=0 ready
	[ "$sys" = lighttpd ] && [ "$nidle" -gt "$nidle_lighttpd" ] && n=$nidle_lighttpd
	base_w=$(rss_tree "$WEB_PID")
	[ -n "$FCGI_PID" ] && base_f=$(rss "$FCGI_PID") && base_b=$(rss "$BROKER_PID")
	timeout 200 "$SSELOAD" -u "${SUB_URL}idle" -n "$n" -c 1000 -t 90 -H \
	    >"$out" 2>&1 &
	local lpid=$!
	pids="$pids $lpid"
	wait_ready "$out" "$lpid" 100
	sleep 2		# let the servers finish setting the streams up
	ready=$(sed -n 's/^READY //p' "$out")
	w=$(rss_tree "$WEB_PID")
	[ -n "$FCGI_PID" ] && f=$(rss "$FCGI_PID") && b=$(rss "$BROKER_PID")
	stop_pid "$lpid"
	ready=${ready:-0}
	R[$sys.idle_n]=$ready
	R[$sys.idle_req]=$n
	if [ "$ready" -gt 0 ]; then
		R[$sys.mem_web]=$(( (w - base_w) * 1024 / ready ))
		R[$sys.mem_fcgi]=$(( (f - base_f) * 1024 / ready ))
		R[$sys.mem_broker]=$(( (b - base_b) * 1024 / ready ))
		R[$sys.mem_total]=$(( ( (w - base_w) + (f - base_f) + (b - base_b) ) * 1024 / ready ))
	fi
	log "$sys (c): $ready of $n idle streams; RSS kB web $base_w -> $w, responder $base_f -> $f, broker $base_b -> $b; bytes/stream total ${R[$sys.mem_total]:-?}"
	# Give the servers a moment to notice the RST and free the streams.
	sleep 2
}

# (a)/(b) streaming runs.
run_stream() {	# run_stream SYSTEM TAG SSELOAD-ARGS...
	local sys=$1 tag=$2 out=$tmp/$2.$1.out c0w c0f=0 c0b=0 c1w c1f=0 c1b=0
	shift 2
	local ch="b$tag$RANDOM"
	c0w=$(cpu_tree "$WEB_PID")
	[ -n "$FCGI_PID" ] && c0f=$(cpu_tree "$FCGI_PID") && c0b=$(cpu_tree "$BROKER_PID")
	timeout 300 /usr/bin/time -o "$out.time" -f '%U %S' \
	    "$SSELOAD" -u "${SUB_URL}$ch" -n "$nclients" -C "$ch" \
	    -P "$(publisher "$sys" "$ch")" -z "$size" -t 120 "$@" >"$out" 2>&1
	c1w=$(cpu_tree "$WEB_PID")
	[ -n "$FCGI_PID" ] && c1f=$(cpu_tree "$FCGI_PID") && c1b=$(cpu_tree "$BROKER_PID")
	sed 's/^/    /' "$out" >&2
	local k="run.$sys.$tag" g t better=0
	R[$k.eps]=$(field "$out" eps)
	R[$k.p50]=$(field "$out" p50_ms)
	R[$k.p99]=$(field "$out" p99_ms)
	R[$k.max]=$(field "$out" max_ms)
	R[$k.delivered]=$(field "$out" delivered)
	R[$k.expected]=$(field "$out" expected)
	g=$(field "$out" gaps)
	t=$(field "$out" tailmiss)
	R[$k.lost]=$(( ${g:-0} + ${t:-0} ))
	R[$k.cpu]="web $(( (c1w - c0w) * 10 )) ms, responder $(( (c1f - c0f) * 10 )) ms, broker $(( (c1b - c0b) * 10 )) ms, sseload $(awk '{ printf "%d", ($1 + $2) * 1000 }' "$out.time" 2>/dev/null) ms"
	# Server-side CPU (web + responder + broker) per delivered event.
	R[$k.us]=$(awk -v t=$(( (c1w - c0w) + (c1f - c0f) + (c1b - c0b) )) \
	    -v d="${R[$k.delivered]:-0}" \
	    'BEGIN { if (d > 0) printf "%.1f", t * 10000 / d; else print "-" }')
	log "$sys ($tag): CPU ${R[$k.cpu]} (servers ${R[$k.us]} us per delivery); load $(cut -d' ' -f1-3 /proc/loadavg)"
	# Keep the best of the repeats: (a) by delivered ev/s, (b) by p99.
	if [ -z "${R[$sys.$tag.eps]:-}" ]; then
		better=1
	elif [ "$tag" = a ]; then
		better=$(awk -v n="${R[$k.eps]:-0}" -v o="${R[$sys.$tag.eps]}" 'BEGIN { print (n > o) ? 1 : 0 }')
	else
		better=$(awk -v n="${R[$k.p99]:-1e9}" -v o="${R[$sys.$tag.p99]}" 'BEGIN { print (n < o) ? 1 : 0 }')
	fi
	if [ "$better" = 1 ]; then
		for f in eps p50 p99 max delivered expected lost cpu us; do
			R[$sys.$tag.$f]=${R[$k.$f]:-}
		done
	fi
	R[$sys.$tag.all]="${R[$sys.$tag.all]:-}${R[$sys.$tag.all]:+ / }$( [ "$tag" = a ] && echo "${R[$k.eps]}" || echo "${R[$k.p99]}")"
}

echo "bench_web: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r), fd hard limit $(ulimit -Hn), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "nginx worker_processes $workers (fastsse and Nchan alike); $nclients clients; events of $size B"
for rep in $(seq 1 "$repeats"); do
for sys in $systems; do
	log "=== $sys (run $rep of $repeats)"
	if ! start_system "$sys"; then
		log "$sys: could not start; see $tmp"
		tail -5 "$tmp"/*.log "$tmp"/*.out "$tmp"/web/*error.log 2>/dev/null >&2
		stop_system
		continue
	fi
	if [ "$rep" = 1 ]; then
		case " $scenarios " in *" c "*) run_idle "$sys" ;; esac
	fi
	case " $scenarios " in *" a "*)
		run_stream "$sys" a -e "$nevents" -w "$window" ;;
	esac
	case " $scenarios " in *" b "*)
		run_stream "$sys" b -e $((rate * rate_secs)) -r "$rate" \
		    -w 100000000 ;;
	esac
	stop_system
done
done

ratio() {	# ratio A B: A/B with two decimals, or "-"
	if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then
		awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'
	else
		echo "-"
	fi
}

echo
echo "(a) delivered events/s, latency, losses, server CPU per delivery; (b) latency at $rate ev/s;"
echo "(c) idle streams held and RSS bytes per stream: total = web server + responder + broker"
printf '%-9s | %9s %8s %8s %5s %6s | %8s %8s %8s %6s %5s | %6s %6s %6s %5s %5s\n' \
    system "(a) ev/s" "p50 ms" "p99 ms" lost "us/ev" "(b) p50" "p99 ms" "max ms" "us/ev" lost \
    "(c) n" total web resp brkr
for sys in $systems; do
	printf '%-9s | %9s %8s %8s %5s %6s | %8s %8s %8s %6s %5s | %6s %6s %6s %5s %5s\n' "$sys" \
	    "${R[$sys.a.eps]:--}" "${R[$sys.a.p50]:--}" "${R[$sys.a.p99]:--}" \
	    "${R[$sys.a.lost]:--}" "${R[$sys.a.us]:--}" \
	    "${R[$sys.b.p50]:--}" "${R[$sys.b.p99]:--}" "${R[$sys.b.max]:--}" \
	    "${R[$sys.b.us]:--}" "${R[$sys.b.lost]:--}" \
	    "${R[$sys.idle_n]:--}" "${R[$sys.mem_total]:--}" \
	    "${R[$sys.mem_web]:--}" "${R[$sys.mem_fcgi]:--}" "${R[$sys.mem_broker]:--}"
done
echo
for sys in $systems; do
	for tag in a b; do
		[ -n "${R[$sys.$tag.cpu]:-}" ] &&
		    echo "CPU during ($tag) $sys: ${R[$sys.$tag.cpu]}"
	done
done
if [ "$repeats" -gt 1 ]; then
	echo "best of $repeats runs shown; every run: (a) delivered ev/s, (b) p99 ms:"
	for sys in $systems; do
		echo "  $sys (a) ${R[$sys.a.all]:--}; (b) ${R[$sys.b.all]:--}"
	done
fi
for sys in nginx lighttpd; do
	case " $systems " in *" $sys "*) ;; *) continue ;; esac
	case " $systems " in *" nchan "*) ;; *) continue ;; esac
	echo "fastsse via $sys / Nchan: (a) delivered ev/s x$(ratio "${R[$sys.a.eps]:-}" "${R[nchan.a.eps]:-}")" \
	    "(aim >= 2), server CPU/delivery x$(ratio "${R[$sys.a.us]:-}" "${R[nchan.a.us]:-}");" \
	    "(b) p99 x$(ratio "${R[$sys.b.p99]:-}" "${R[nchan.b.p99]:-}")" \
	    "(${R[$sys.b.p99]:--} ms, aim < 50), CPU/delivery x$(ratio "${R[$sys.b.us]:-}" "${R[nchan.b.us]:-}");" \
	    "(c) bytes/stream x$(ratio "${R[$sys.mem_total]:-}" "${R[nchan.mem_total]:-}") (aim <= 1)"
done
