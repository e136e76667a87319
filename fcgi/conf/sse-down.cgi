#!/bin/sh
# SPDX-License-Identifier: ISC
# lighttpd error handler for the SSE location (see lighttpd.conf).  When the
# responder is unreachable (502/503/504) it answers 200 text/event-stream
# carrying only a "retry:" field: an EventSource treats any other status as
# fatal and stops reconnecting, while a 200 stream that ends makes it come
# back after the retry delay, with its Last-Event-ID, until the responder
# is up again.  Any other error status is passed through unchanged.
retry=${FASTSSE_DOWN_RETRY:-5000}
case "$REDIRECT_STATUS" in
502|503|504)
	printf 'Status: 200 OK\r\nContent-Type: text/event-stream\r\n'
	printf 'Cache-Control: no-cache\r\n\r\n'
	printf 'retry: %s\n\n' "$retry"
	;;
*)
	printf 'Status: %s\r\nContent-Type: text/plain\r\n\r\n' "${REDIRECT_STATUS:-500}"
	printf 'error %s\n' "${REDIRECT_STATUS:-500}"
	;;
esac
