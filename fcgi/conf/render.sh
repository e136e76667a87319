#!/bin/sh
# SPDX-License-Identifier: ISC
# Fills in the @NAME@ placeholders of one of the example web server configs
# in this directory and writes the result to standard output, so the same
# files serve as documentation, as the demo's configs and as the configs of
# the web tests.  Usage:
#   render.sh TEMPLATE [NAME=VALUE]...
# e.g.  render.sh nginx.conf PORT=8081 RESPONDER_SOCKET=/run/fastsse/fcgi.sock
# Every placeholder has a default (below); a placeholder that is neither
# given nor defaulted is an error, so a typo never reaches a web server.
set -e
if [ $# -lt 1 ] || [ ! -r "$1" ]; then
	echo "usage: render.sh TEMPLATE [NAME=VALUE]..." >&2
	exit 2
fi
template=$1
shift
# Defaults: a production-like layout.  Later NAME=VALUE arguments win.
exec awk -v defaults='
ADDR=127.0.0.1
PORT=8080
SSE_PATH=/events
RUNDIR=/run/fastsse
RESPONDER_SOCKET=/run/fastsse/fcgi.sock
BROKER_SOCKET=/run/fastsse/fastsse.sock
RESPONDER=/usr/local/bin/fastsse-fcgi
RESPONDER_ARGS=
STATEDIR=/run/fastsse/web
CONFDIR=/etc/fastsse
DOCROOT=/var/www/html
DOWN_RETRY=5000
WEBUSER=www-data
WEBGROUP=www-data
APACHE_MODULES=/usr/lib/apache2/modules
TLS_PORT=443
TLS_CERT=/etc/fastsse/tls/cert.pem
TLS_KEY=/etc/fastsse/tls/key.pem
' '
BEGIN {
	n = split(defaults, lines, "\n")
	for (i = 1; i <= n; i++)
		if ((eq = index(lines[i], "=")) > 0)
			val[substr(lines[i], 1, eq - 1)] = substr(lines[i], eq + 1)
	for (i = 1; i < ARGC - 1; i++) {
		if ((eq = index(ARGV[i], "=")) == 0) {
			print "render.sh: bad argument: " ARGV[i] > "/dev/stderr"
			exit 2
		}
		val[substr(ARGV[i], 1, eq - 1)] = substr(ARGV[i], eq + 1)
		delete ARGV[i]
	}
	ARGV[1] = ARGV[ARGC - 1]; ARGC = 2
}
{
	out = ""
	line = $0
	while (match(line, /@[A-Z_]+@/)) {
		name = substr(line, RSTART + 1, RLENGTH - 2)
		if (!(name in val)) {
			print "render.sh: no value for @" name "@" > "/dev/stderr"
			bad = 1
			exit 1
		}
		out = out substr(line, 1, RSTART - 1) val[name]
		line = substr(line, RSTART + RLENGTH)
	}
	print out line
}
END { if (bad) exit 1 }
' "$@" "$template"
