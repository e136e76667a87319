# shellcheck shell=bash
# SPDX-License-Identifier: ISC
# bench_lib.sh: shell shared by the full-path benchmarks (bench_web.sh,
# redis_bench.sh, apache_scale.sh), sourced, never run.  The paths of the
# programs under test, the run's private directory, starting and stopping
# processes by pid, waiting for ports and sockets with a bound, reading RSS
# and CPU time from /proc, and writing the web servers' configs from
# fcgi/conf/*.
#
# The caller sets srcdir (the source tree), calls bench_paths, and after
# its options bench_tmpdir; for the configs also workers (nginx
# worker_processes) and nginx_extra (directives for the SSE location, or
# "").  Every process started with `start` is recorded in pids, and
# bench_cleanup, run on exit, stops them all by pid.

log() { printf '%s\n' "$*" >&2; }

# The programs under test and the configs, each overridable from the
# environment; BUILD is the build directory, the current one by default.
bench_paths() {
	BUILD=${BUILD:-$(pwd)}
	BROKER=${BROKER:-$BUILD/broker/fastsse-broker}
	RESPONDER=${RESPONDER:-$BUILD/fcgi/fastsse-fcgi}
	SSELOAD=${SSELOAD:-$BUILD/tests/bench/sseload}
	CONFDIR=$srcdir/fcgi/conf
	NCHAN_MODULE=${NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}
}

# bench_tmpdir NAME: the fd limit raised to the hard limit, and tmp, the
# run's private directory /tmp/NAME.XXXXXX, removed on exit with every
# process started stopped.  nginx's workers (www-data when run as root)
# reach the sockets, configs and files in there, and only in there: the
# source tree may be a clone in a directory only root can enter.
bench_tmpdir() {
	ulimit -n "$(ulimit -Hn)" 2>/dev/null
	umask 022
	tmp=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
	chmod 755 "$tmp"
	pids=""
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_cleanup() {
	local p
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}

# A port nothing listens on now (10000-29999: below the ephemeral range).
pick_port() {
	local p i
	for i in $(seq 1 100); do
		p=$((10000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Polls (bounded) until a TCP port or a Unix socket accepts.
wait_port() {
	local i
	for i in $(seq 1 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	log "port $1 never opened"
	return 1
}
wait_sock() {
	local i
	for i in $(seq 1 200); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	log "socket $1 never appeared"
	return 1
}

# wait_ready OUT PID SECS: polls (every 0.1 s, SECS at most) until the
# client PID has written READY to OUT; 1 when it exited or time ran out.
wait_ready() {
	local i
	for i in $(seq 1 $(($3 * 10))); do
		grep -q '^READY' "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

start() {	# start LOGFILE CMD...: runs CMD in the background, records its pid
	local logf=$1
	shift
	"$@" >"$logf" 2>&1 &
	LASTPID=$!
	pids="$pids $LASTPID"
}

# Starts the broker and a responder (with the words of fcgi_extra, if
# set) on sockets in tmp: BSOCK, FSOCK, BROKER_PID, FCGI_PID.
start_fastsse() {
	BSOCK=$tmp/broker.sock
	FSOCK=$tmp/fcgi.sock
	rm -f "$BSOCK" "$FSOCK"
	start "$tmp/broker.log" "$BROKER" --foreground --socket "$BSOCK"
	BROKER_PID=$LASTPID
	wait_sock "$BSOCK" || return 1
	# shellcheck disable=SC2086
	start "$tmp/fcgi.log" "$RESPONDER" -d --listen "unix:$FSOCK" \
	    --socket-mode 0666 --broker "$BSOCK" --backlog 4096 ${fcgi_extra:-}
	FCGI_PID=$LASTPID
	wait_sock "$FSOCK" || return 1
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	pids=$(echo "$pids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# RSS in kB of one pid, or of a pid plus its children (nginx master+workers).
rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}
rss_tree() {
	local t=0 p
	for p in "$1" $(pgrep -P "$1"); do
		t=$((t + $(rss "$p")))
	done
	echo "$t"
}
# CPU seconds (user+system, ticks) of a pid plus its children.
cpu_tree() {
	local t=0 p
	for p in "$1" $(pgrep -P "$1"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

# Pulls key=value out of sseload's RESULT line.
field() {
	sed -n 's/^RESULT .*[ ]'"$2"'=\([^ ]*\).*/\1/p' "$1" | tail -1
}

# bench_conf_nginx OUT PORT RESPONDER_SOCKET BROKER_SOCKET DIR: the shipped
# nginx.conf rendered with its state under DIR, scaled for 10k streams.
bench_conf_nginx() {
	local out=$1 port=$2 fsock=$3 bsock=$4 dir=$5
	mkdir -p "$dir/web" "$dir/www"
	"$CONFDIR/render.sh" "$CONFDIR/nginx.conf" PORT="$port" \
	    RESPONDER_SOCKET="$fsock" BROKER_SOCKET="$bsock" \
	    STATEDIR="$dir/web" DOCROOT="$dir/www" CONFDIR="$dir/conf" \
	    RUNDIR="$dir" >"$out" || return 1
	sed -i -e "s/^worker_processes .*/worker_processes $workers;/" \
	    -e 's/^worker_rlimit_nofile .*/worker_rlimit_nofile 20000;/' \
	    -e 's/worker_connections .*/worker_connections 19000;/' \
	    -e "s/listen 127.0.0.1:$port;/listen 127.0.0.1:$port backlog=4096 reuseport;/" \
	    -e 's/access_log .*/access_log off;/' \
	    -e 's/^error_log \(.*\);/error_log \1 warn;/' "$out"
	# Extra directives for the SSE location, to try tunings (-X).
	if [ -n "$nginx_extra" ]; then
		sed -i "s|fastcgi_buffering off;|fastcgi_buffering off; $nginx_extra|" \
		    "$out"
		grep -qF "$nginx_extra" "$out" ||
		    { log "could not add -X directives"; return 1; }
	fi
	grep -q "worker_processes $workers;" "$out" &&
	    grep -q 'worker_connections 19000;' "$out" &&
	    grep -q 'reuseport' "$out" ||
	    { log "fcgi/conf/nginx.conf changed shape; adjust bench_conf_nginx"; return 1; }
}

# bench_conf_lighttpd OUT PORT RESPONDER_SOCKET BROKER_SOCKET DIR
bench_conf_lighttpd() {
	local out=$1 port=$2 fsock=$3 bsock=$4 dir=$5
	mkdir -p "$dir/web" "$dir/www" "$dir/conf"
	cp "$CONFDIR/sse-down.cgi" "$dir/conf/sse-down.cgi"
	"$CONFDIR/render.sh" "$CONFDIR/lighttpd.conf" PORT="$port" \
	    RESPONDER_SOCKET="$fsock" BROKER_SOCKET="$bsock" \
	    STATEDIR="$dir/web" DOCROOT="$dir/www" CONFDIR="$dir/conf" \
	    RUNDIR="$dir" >"$out" || return 1
	sed -i -e 's/^server.max-fds .*/server.max-fds = 20000/' \
	    -e 's/^server.max-connections .*/server.max-connections = 9950/' \
	    "$out"
	grep -q 'max-fds = 20000' "$out" ||
	    { log "fcgi/conf/lighttpd.conf changed shape; adjust bench_conf_lighttpd"; return 1; }
}

# bench_conf_nchan OUT PORT DIR [REDIS_URL]: nginx with Nchan, subscribers
# on /sub/<channel> (EventSource), publishers on /pub/<channel>; with
# REDIS_URL, both locations keep their messages in that Redis.
bench_conf_nchan() {
	local out=$1 port=$2 dir=$3 redis="" use=""
	if [ -n "${4:-}" ]; then
		redis="nchan_redis_url \"$4\";"
		use="nchan_use_redis on;"
	fi
	mkdir -p "$dir/web"
	cat >"$out" <<CONF
load_module $NCHAN_MODULE;
worker_processes $workers;
worker_rlimit_nofile 20000;
pid $dir/web/nchan.pid;
error_log $dir/web/nchan-error.log warn;
events { worker_connections 19000; }
http {
	access_log off;
	# nginx closes a keep-alive connection after 1000 requests by
	# default; the publisher uses one connection for the whole run.
	keepalive_requests 100000000;
	client_body_temp_path $dir/web/body;
	proxy_temp_path $dir/web/proxy;
	fastcgi_temp_path $dir/web/fastcgi;
	uwsgi_temp_path $dir/web/uwsgi;
	scgi_temp_path $dir/web/scgi;
	$redis
	server {
		listen 127.0.0.1:$port backlog=4096 reuseport;
		location ~ ^/sub/([A-Za-z0-9_-]+)\$ {
			nchan_subscriber eventsource;
			nchan_channel_id \$1;
			nchan_subscriber_first_message newest;
			$use
		}
		location ~ ^/pub/([A-Za-z0-9_-]+)\$ {
			nchan_publisher;
			nchan_channel_id \$1;
			nchan_message_buffer_length 1000;
			nchan_message_timeout 1h;
			$use
		}
	}
}
CONF
}
