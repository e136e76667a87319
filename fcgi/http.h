/* SPDX-License-Identifier: ISC */
/*
 * The HTTP side of a request as FastCGI hands it over: the query string,
 * the method, the Origin and Last-Event-ID headers, and the CGI response
 * headers the responder answers with.  Pure functions, tested without a
 * socket; accept.c calls them.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

#include "buf.h"
#include "protodefs.h"

#define HTTP_MAX_CHANNELS	PROTO_MAX_CHANNELS	/* hard cap */
#define HTTP_LASTID_MAX		64	/* longer cursors are malformed */
#define HTTP_QUERY_MAX		16384	/* longer query strings are refused */

/* What a request asks for once its query and headers are parsed. */
struct http_req {
	size_t		 nchan;
	size_t		 chan_off[HTTP_MAX_CHANNELS];	/* into names */
	size_t		 chan_len[HTTP_MAX_CHANNELS];
	struct buf	 names;		/* decoded names, each NUL-terminated */
	int		 lastid_state;
	char		 lastid[HTTP_LASTID_MAX + 1];
	size_t		 lastidlen;
};
#define HTTP_LASTID_NONE	0
#define HTTP_LASTID_SET		1
#define HTTP_LASTID_TOOLONG	2	/* given but over HTTP_LASTID_MAX */

/* Cross-origin policy: nothing, everyone ("*"), or a list of origins. */
struct http_cors {
	int		 any;
	size_t		 n;
	char		**origins;
	unsigned long	 max_age;
};

enum http_method {
	HTTP_GET,
	HTTP_OPTIONS,
	HTTP_OTHER,
};

void	http_req_init(struct http_req *);
void	http_req_free(struct http_req *);
const char *http_req_channel(const struct http_req *, size_t, size_t *);
/*
 * Parses the query string: every param (percent-decoded, "+" as space)
 * names a channel, at most max_channels, each valid by validate_channel,
 * duplicates kept once; last_event_id gives a cursor.  Returns 0, or -1
 * with a short reason for a 400 in err.
 */
int	http_parse_query(struct http_req *, const char *query,
	    const char *param, size_t max_channels, char *err, size_t errlen);
/* Takes the Last-Event-ID header as cursor (it wins over the query). */
void	http_set_lastid(struct http_req *, const char *, size_t);
/* Decodes %XX and "+"; out has room for len bytes.  -1 on a bad escape. */
int	http_pct_decode(const char *, size_t, char *out, size_t *outlen);
enum http_method http_method(const char *);

/* Adds origins from a comma-separated list or "*"; -1 on a bad entry. */
int	http_cors_add(struct http_cors *, const char *list);
void	http_cors_free(struct http_cors *);
/* The Access-Control-Allow-Origin value for origin, or NULL for none. */
const char *http_cors_allow(const struct http_cors *, const char *origin);

/* Response headers (CGI style, ending with the blank line). */
int	http_stream_headers(struct buf *, const struct http_cors *,
	    const char *origin);
int	http_error(struct buf *, int status, const char *reason,
	    const struct http_cors *, const char *origin);
int	http_preflight(struct buf *, const struct http_cors *,
	    const char *origin, const char *req_headers);

#endif
