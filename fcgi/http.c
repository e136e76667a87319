/* SPDX-License-Identifier: ISC */
/*
 * Request parsing and response headers for the responder.
 *
 * Bounds: a query string over HTTP_QUERY_MAX bytes, more channels than the
 * configured cap (at most HTTP_MAX_CHANNELS), or a cursor over
 * HTTP_LASTID_MAX bytes are refused or marked here, so a pending request
 * never holds more than a few KiB for one request.
 *
 * CORS: by default no Access-Control-* header is sent, so browsers allow
 * only same-origin pages.  With "*" any origin may read (no credentials).
 * With an allowlist a matching Origin is echoed with "Vary: Origin" and
 * "Access-Control-Allow-Credentials: true"; a non-matching one gets only
 * "Vary: Origin" (the answer depends on the Origin, caches must know).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "hex.h"
#include "http.h"
#include "validate.h"

#define HTTP_PARAM_LASTID	"last_event_id"

/* Request headers a preflight may ask for. */
static const char *const http_allowed_headers[] = {
	"Last-Event-ID",
	"Cache-Control",
};

void
http_req_init(struct http_req *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->names, HTTP_QUERY_MAX + HTTP_MAX_CHANNELS);
}

void
http_req_free(struct http_req *r)
{
	buf_free(&r->names);
}

/* The i-th channel name (NUL-terminated) and its length. */
const char *
http_req_channel(const struct http_req *r, size_t i, size_t *len)
{
	if (len != NULL)
		*len = r->chan_len[i];
	return (r->names.data + r->chan_off[i]);
}

int
http_pct_decode(const char *s, size_t len, char *out, size_t *outlen)
{
	size_t	i, n = 0;
	int	hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			out[n++] = ' ';
		else if (s[i] == '%') {
			if (len - i < 3)
				return (-1);
			if ((hi = hex_val((unsigned char)s[i + 1])) == -1 ||
			    (lo = hex_val((unsigned char)s[i + 2])) == -1)
				return (-1);
			out[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else
			out[n++] = s[i];
	}
	*outlen = n;
	return (0);
}

/* Adds one decoded channel name unless the request already has it. */
static int
http_add_channel(struct http_req *r, const char *name, size_t len,
    size_t max_channels, char *err, size_t errlen)
{
	const char	*why;
	size_t		 i;

	if ((why = validate_channel(name, len)) != NULL) {
		snprintf(err, errlen, "invalid channel: %s", why);
		return (-1);
	}
	for (i = 0; i < r->nchan; i++)
		if (r->chan_len[i] == len &&
		    memcmp(r->names.data + r->chan_off[i], name, len) == 0)
			return (0);
	if (r->nchan >= max_channels || r->nchan >= HTTP_MAX_CHANNELS) {
		snprintf(err, errlen, "too many channels (at most %zu)",
		    max_channels);
		return (-1);
	}
	r->chan_off[r->nchan] = buf_used(&r->names);
	r->chan_len[r->nchan] = len;
	if (buf_append(&r->names, name, len) == -1 ||
	    buf_append_byte(&r->names, '\0') == -1) {
		snprintf(err, errlen, "query too long");
		return (-1);
	}
	r->nchan++;
	return (0);
}

void
http_set_lastid(struct http_req *r, const char *v, size_t len)
{
	if (len == 0)
		return;
	if (len > HTTP_LASTID_MAX) {
		r->lastid_state = HTTP_LASTID_TOOLONG;
		r->lastidlen = 0;
		r->lastid[0] = '\0';
		return;
	}
	memcpy(r->lastid, v, len);
	r->lastid[len] = '\0';
	r->lastidlen = len;
	r->lastid_state = HTTP_LASTID_SET;
}

/*
 * Splits on "&", decodes names and values, and keeps the channel params
 * and last_event_id; other params are ignored so sites may add their own.
 */
int
http_parse_query(struct http_req *r, const char *query, const char *param,
    size_t max_channels, char *err, size_t errlen)
{
	char		 name[HTTP_QUERY_MAX], value[HTTP_QUERY_MAX];
	const char	*p, *end, *eq;
	size_t		 qlen, nlen, vlen, plen;

	if (query == NULL)
		query = "";
	if ((qlen = strlen(query)) > HTTP_QUERY_MAX) {
		snprintf(err, errlen, "query too long");
		return (-1);
	}
	plen = strlen(param);
	for (p = query; p < query + qlen; p = end + 1) {
		if ((end = strchr(p, '&')) == NULL)
			end = query + qlen;
		if (end == p)
			continue;
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL)
			eq = end;
		if (http_pct_decode(p, (size_t)(eq - p), name, &nlen) == -1)
			goto badpct;
		if (eq == end)
			vlen = 0;
		else if (http_pct_decode(eq + 1, (size_t)(end - eq - 1),
		    value, &vlen) == -1)
			goto badpct;
		if (nlen == plen && memcmp(name, param, plen) == 0) {
			if (http_add_channel(r, value, vlen, max_channels,
			    err, errlen) == -1)
				return (-1);
		} else if (nlen == strlen(HTTP_PARAM_LASTID) &&
		    memcmp(name, HTTP_PARAM_LASTID, nlen) == 0 &&
		    r->lastid_state == HTTP_LASTID_NONE)
			http_set_lastid(r, value, vlen);
	}
	if (r->nchan == 0) {
		snprintf(err, errlen, "missing %s parameter", param);
		return (-1);
	}
	return (0);
badpct:
	snprintf(err, errlen, "bad percent-encoding in query");
	return (-1);
}

enum http_method
http_method(const char *m)
{
	if (m == NULL)
		return (HTTP_OTHER);
	if (strcmp(m, "GET") == 0)
		return (HTTP_GET);
	if (strcmp(m, "OPTIONS") == 0)
		return (HTTP_OPTIONS);
	return (HTTP_OTHER);
}

/*
 * An origin as a browser sends it: scheme "://" host [":" port], no path,
 * no white space or controls (it is echoed into a header).
 */
static int
http_origin_ok(const char *o, size_t len)
{
	const char	*sep;
	size_t		 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)o[i] <= 0x20 || o[i] == 0x7f ||
		    o[i] == ',')
			return (0);
	sep = strstr(o, "://");
	if (sep == NULL || sep == o || sep + 3 >= o + len)
		return (0);
	if (memchr(sep + 3, '/', len - (size_t)(sep + 3 - o)) != NULL)
		return (0);
	return (1);
}

/*
 * Steps through a comma-separated list, as HTTP headers and our options
 * write them: returns the next element with the white space around it
 * trimmed (it may be empty), its length in *lenp, and moves *listp past
 * it; NULL at the end of the list.
 */
static const char *
http_list_next(const char **listp, size_t *lenp)
{
	const char	*p = *listp, *end;
	size_t		 len;

	if (p == NULL || *p == '\0')
		return (NULL);
	while (*p == ' ' || *p == '\t')
		p++;
	if ((end = strchr(p, ',')) == NULL)
		end = p + strlen(p);
	len = (size_t)(end - p);
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	*listp = *end != '\0' ? end + 1 : end;
	*lenp = len;
	return (p);
}

int
http_cors_add(struct http_cors *c, const char *list)
{
	const char	*p;
	char		**no, *s;
	size_t		 len;

	while ((p = http_list_next(&list, &len)) != NULL) {
		if (len == 0)
			continue;
		if (len == 1 && *p == '*') {
			c->any = 1;
			continue;
		}
		while (len > 0 && p[len - 1] == '/')	/* "https://x/" */
			len--;
		if (!http_origin_ok(p, len))
			return (-1);
		if ((s = strndup(p, len)) == NULL)
			return (-1);
		no = reallocarray(c->origins, c->n + 1, sizeof(*c->origins));
		if (no == NULL) {
			free(s);
			return (-1);
		}
		c->origins = no;
		c->origins[c->n++] = s;
	}
	return (0);
}

void
http_cors_free(struct http_cors *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		free(c->origins[i]);
	free(c->origins);
	c->origins = NULL;
	c->n = 0;
}

/*
 * Origins compare exactly except for the case of scheme and host, which
 * browsers send in lower case anyway.  "*" is used only when no list
 * entry matches, so a listed origin still gets credentials.
 */
const char *
http_cors_allow(const struct http_cors *c, const char *origin)
{
	size_t	i;

	if (origin == NULL || *origin == '\0')
		return (NULL);
	for (i = 0; i < c->n; i++)
		if (strcasecmp(c->origins[i], origin) == 0)
			return (origin);
	if (c->any)
		return ("*");
	return (NULL);
}

/* The CORS part of a response; nothing at all when CORS is off. */
static int
http_cors_headers(struct buf *b, const struct http_cors *c,
    const char *origin)
{
	const char	*allow;

	allow = http_cors_allow(c, origin);
	if (c->n != 0 && buf_printf(b, "Vary: Origin\r\n") == -1)
		return (-1);
	if (allow == NULL)
		return (0);
	if (strcmp(allow, "*") == 0)
		return (buf_printf(b, "Access-Control-Allow-Origin: *\r\n"));
	if (!http_origin_ok(allow, strlen(allow)))
		return (0);
	return (buf_printf(b, "Access-Control-Allow-Origin: %s\r\n"
	    "Access-Control-Allow-Credentials: true\r\n", allow));
}

int
http_stream_headers(struct buf *b, const struct http_cors *c,
    const char *origin)
{
	if (buf_printf(b, "Status: 200 OK\r\n"
	    "Content-Type: text/event-stream; charset=utf-8\r\n"
	    "Cache-Control: no-cache\r\n"
	    "X-Accel-Buffering: no\r\n") == -1 ||
	    http_cors_headers(b, c, origin) == -1 ||
	    buf_printf(b, "\r\n") == -1)
		return (-1);
	return (0);
}

static const char *
http_status_text(int status)
{
	switch (status) {
	case 204:
		return ("No Content");
	case 400:
		return ("Bad Request");
	case 403:
		return ("Forbidden");
	case 405:
		return ("Method Not Allowed");
	case 431:
		return ("Request Header Fields Too Large");
	case 503:
		return ("Service Unavailable");
	default:
		return ("Error");
	}
}

/* A final error: short text/plain reason, CORS so pages can read it. */
int
http_error(struct buf *b, int status, const char *reason,
    const struct http_cors *c, const char *origin)
{
	if (buf_printf(b, "Status: %d %s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Cache-Control: no-cache\r\n", status,
	    http_status_text(status)) == -1)
		return (-1);
	if (status == 405 && buf_printf(b, "Allow: GET, OPTIONS\r\n") == -1)
		return (-1);
	if (http_cors_headers(b, c, origin) == -1 ||
	    buf_printf(b, "\r\n%s\n", reason) == -1)
		return (-1);
	return (0);
}

/* Is the header name (len bytes) one a preflight may ask for? */
static int
http_header_allowed(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(http_allowed_headers) /
	    sizeof(http_allowed_headers[0]); i++)
		if (strlen(http_allowed_headers[i]) == len &&
		    strncasecmp(http_allowed_headers[i], name, len) == 0)
			return (1);
	return (0);
}

/*
 * Answers a preflight with 204.  Allowed request headers are echoed as
 * asked (the allowed subset); when none were asked, the whole list.
 */
int
http_preflight(struct buf *b, const struct http_cors *c, const char *origin,
    const char *req_headers)
{
	const char	*p;
	size_t		 len, n = 0;
	size_t		 i;

	if (buf_printf(b, "Status: 204 No Content\r\n"
	    "Allow: GET, OPTIONS\r\n") == -1 ||
	    http_cors_headers(b, c, origin) == -1)
		return (-1);
	if (http_cors_allow(c, origin) == NULL)
		return (buf_printf(b, "\r\n"));
	if (buf_printf(b, "Access-Control-Allow-Methods: GET, OPTIONS\r\n"
	    "Access-Control-Allow-Headers: ") == -1)
		return (-1);
	while ((p = http_list_next(&req_headers, &len)) != NULL) {
		if (len == 0 || !http_header_allowed(p, len))
			continue;
		if (buf_printf(b, "%s%.*s", n++ ? ", " : "", (int)len,
		    p) == -1)
			return (-1);
	}
	if (n == 0) {
		for (i = 0; i < sizeof(http_allowed_headers) /
		    sizeof(http_allowed_headers[0]); i++)
			if (buf_printf(b, "%s%s", i ? ", " : "",
			    http_allowed_headers[i]) == -1)
				return (-1);
	}
	return (buf_printf(b, "\r\nAccess-Control-Max-Age: %lu\r\n\r\n",
	    c->max_age));
}
