/* SPDX-License-Identifier: ISC */
/*
 * The FastCGI request parser (the specification's section 3 to 6, its
 * constants from libfcgi's fastcgi.h).  Bytes are taken as they come, in
 * any split: a record's header is gathered, its content handed to the
 * stream it belongs to and its padding skipped, so nothing but the
 * params needs a buffer.
 *
 * Bounds and policy:
 * - PARAMS: at most REQUEST_MAX_PARAMS bytes of name-value pairs (the
 *   web servers send a few KiB; their own header limits are below it);
 *   past it REQUEST_TOO_BIG, and the caller answers 431 and closes.
 * - GET_VALUES: one record of at most REQUEST_MAX_MGMT bytes; past it
 *   REQUEST_ERROR (the caller closes).
 * - STDIN is counted, and stored only into the caller's buffer when it
 *   gives one (stdin_to, a POST that publishes); how much a request may
 *   send is the caller's policy (see accept.c).
 * - One request per connection, as nginx, lighttpd and Apache send them:
 *   a second BEGIN_REQUEST gets END_REQUEST with FCGI_CANT_MPX_CONN and
 *   the first goes on; GET_VALUES says FCGI_MPXS_CONNS is 0.
 * - Roles other than RESPONDER get END_REQUEST with FCGI_UNKNOWN_ROLE,
 *   as the specification says, and the request is over.
 * - Management records of other types get FCGI_UNKNOWN_TYPE; records of
 *   other requests, FCGI_DATA and anything the server has no business
 *   sending are skipped.  A wrong version, a BEGIN_REQUEST of the wrong
 *   size, STDIN before the params end or after its own end, and a bad
 *   name-value pair are REQUEST_ERROR.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <fastcgi.h>

#include "buf.h"
#include "record.h"
#include "request.h"

/* A buffer's bytes, "" for one never allocated (NULL + 0 is undefined). */
static const uint8_t *
request_bytes(const struct buf *b)
{
	return (b->data != NULL ? (const uint8_t *)buf_head(b) :
	    (const uint8_t *)"");
}

void
request_init(struct request *r, unsigned long max_conns)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->kv, 0);
	buf_init(&r->raw, REQUEST_MAX_PARAMS);
	buf_init(&r->mgmt, REQUEST_MAX_MGMT);
	r->max_conns = max_conns;
}

void
request_free(struct request *r)
{
	buf_free(&r->kv);
	buf_free(&r->raw);
	buf_free(&r->mgmt);
}

/* Appends one record of any type, padded to 8 bytes as libfcgi pads. */
static int
request_record(struct buf *out, int type, uint16_t id, const void *content,
    size_t len)
{
	static const uint8_t	 zeros[8];
	uint8_t			 hdr[RECORD_HEADER_LEN];
	size_t			 pad = record_padding(len);

	if (len > FCGI_MAX_LENGTH)
		return (-1);
	record_header(hdr, type, id, (uint16_t)len, (uint8_t)pad);
	if (buf_append(out, hdr, sizeof(hdr)) == -1 ||
	    (len > 0 && buf_append(out, content, len) == -1) ||
	    (pad > 0 && buf_append(out, zeros, pad) == -1))
		return (-1);
	return (0);
}

int
request_end(struct buf *out, uint16_t id, uint8_t protocol_status)
{
	uint8_t	body[8] = { 0, 0, 0, 0, protocol_status, 0, 0, 0 };

	return (request_record(out, FCGI_END_REQUEST, id, body, sizeof(body)));
}

/* One length of a name-value pair: 1 byte below 128, else 4 bytes. */
static int
request_nv_len(struct buf *b, size_t len)
{
	uint8_t	l[4];

	if (len < 128)
		return (buf_append_byte(b, (int)len));
	if (len > 0x7fffffff)
		return (-1);
	l[0] = (uint8_t)((len >> 24) | 0x80);
	l[1] = (uint8_t)(len >> 16);
	l[2] = (uint8_t)(len >> 8);
	l[3] = (uint8_t)len;
	return (buf_append(b, l, 4));
}

int
request_nv(struct buf *b, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	if (request_nv_len(b, nlen) == -1 || request_nv_len(b, vlen) == -1 ||
	    buf_append(b, name, nlen) == -1 || buf_append(b, value, vlen) == -1)
		return (-1);
	return (0);
}

/*
 * Reads one length at p[*off] of a pair lying in p[0..len); -1 when it
 * does not fit.
 */
static int
request_get_len(const uint8_t *p, size_t len, size_t *off, size_t *out)
{
	if (*off >= len)
		return (-1);
	if ((p[*off] & 0x80) == 0) {
		*out = p[(*off)++];
		return (0);
	}
	if (len - *off < 4)
		return (-1);
	*out = ((size_t)(p[*off] & 0x7f) << 24) | ((size_t)p[*off + 1] << 16) |
	    ((size_t)p[*off + 2] << 8) | p[*off + 3];
	*off += 4;
	return (0);
}

/*
 * Walks the name-value pairs in p[0..len), calling fn for each; -1 when
 * a length points past the end.
 */
static int
request_pairs(const uint8_t *p, size_t len,
    int (*fn)(void *, const uint8_t *, size_t, const uint8_t *, size_t),
    void *arg)
{
	size_t	off = 0, nlen, vlen;

	while (off < len) {
		if (request_get_len(p, len, &off, &nlen) == -1 ||
		    request_get_len(p, len, &off, &vlen) == -1 ||
		    nlen > len - off || vlen > len - off - nlen)
			return (-1);
		if (fn(arg, p + off, nlen, p + off + nlen, vlen) == -1)
			return (-1);
		off += nlen + vlen;
	}
	return (0);
}

/* Keeps one param as "name\0value\0". */
static int
request_keep_cb(void *arg, const uint8_t *n, size_t nlen, const uint8_t *v,
    size_t vlen)
{
	struct request	*r = arg;

	if ((nlen > 0 && buf_append(&r->kv, n, nlen) == -1) ||
	    buf_append_byte(&r->kv, 0) == -1 ||
	    (vlen > 0 && buf_append(&r->kv, v, vlen) == -1) ||
	    buf_append_byte(&r->kv, 0) == -1)
		return (-1);
	r->nparams++;
	return (0);
}

const char *
request_param(const struct request *r, const char *name)
{
	const char	*p = (const char *)request_bytes(&r->kv);
	const char	*end = p + buf_used(&r->kv);
	const char	*v;
	size_t		 i;

	for (i = 0; i < r->nparams && p < end; i++) {
		v = p + strlen(p) + 1;
		if (strcmp(p, name) == 0)
			return (v);
		p = v + strlen(v) + 1;
	}
	return (NULL);
}

/* Answers one asked-for variable of GET_VALUES; others are left out. */
static int
request_value_cb(void *arg, const uint8_t *n, size_t nlen, const uint8_t *v,
    size_t vlen)
{
	struct buf	*res = ((void **)arg)[0];
	struct request	*r = ((void **)arg)[1];
	char		 num[32];
	const char	*val = NULL;

	(void)v;
	(void)vlen;
	if (nlen == strlen(FCGI_MPXS_CONNS) &&
	    memcmp(n, FCGI_MPXS_CONNS, nlen) == 0)
		val = "0";
	else if ((nlen == strlen(FCGI_MAX_CONNS) &&
	    memcmp(n, FCGI_MAX_CONNS, nlen) == 0) ||
	    (nlen == strlen(FCGI_MAX_REQS) &&
	    memcmp(n, FCGI_MAX_REQS, nlen) == 0)) {
		snprintf(num, sizeof(num), "%lu", r->max_conns);
		val = num;
	}
	if (val == NULL)
		return (0);
	return (request_nv(res, (const char *)n, nlen, val, strlen(val)));
}

static enum request_status
request_fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return (REQUEST_ERROR);
}

/* Acts on a record just read whole (its padding included). */
static enum request_status
request_record_done(struct request *r, struct buf *out, char *err,
    size_t errlen)
{
	int		 type = r->hdr[1];
	uint16_t	 id = (uint16_t)(r->hdr[2] << 8 | r->hdr[3]);
	size_t		 clen = (size_t)(r->hdr[4] << 8 | r->hdr[5]);
	uint16_t	 role;
	struct buf	 res;
	void		*arg[2];
	uint8_t		 unk[8];
	int		 rc;

	if (id == FCGI_NULL_REQUEST_ID) {
		if (type != FCGI_GET_VALUES) {
			memset(unk, 0, sizeof(unk));
			unk[0] = (uint8_t)type;
			if (request_record(out, FCGI_UNKNOWN_TYPE, 0, unk,
			    sizeof(unk)) == -1)
				return (request_fail(err, errlen, "no memory"));
			return (REQUEST_MORE);
		}
		buf_init(&res, 0);
		arg[0] = &res;
		arg[1] = r;
		rc = request_pairs(request_bytes(&r->mgmt),
		    buf_used(&r->mgmt), request_value_cb, arg);
		if (rc == 0)
			rc = request_record(out, FCGI_GET_VALUES_RESULT, 0,
			    request_bytes(&res), buf_used(&res));
		buf_free(&res);
		buf_reset(&r->mgmt);
		if (rc == -1)
			return (request_fail(err, errlen,
			    "bad GET_VALUES record"));
		return (REQUEST_MORE);
	}
	switch (type) {
	case FCGI_BEGIN_REQUEST:
		role = (uint16_t)(r->body8[0] << 8 | r->body8[1]);
		if (r->begun) {
			if (id == r->id)
				return (request_fail(err, errlen,
				    "BEGIN_REQUEST twice"));
			if (request_end(out, id, FCGI_CANT_MPX_CONN) == -1)
				return (request_fail(err, errlen, "no memory"));
			return (REQUEST_MORE);
		}
		r->begun = 1;
		r->id = id;
		r->role = role;
		r->flags = r->body8[2];
		if (role != FCGI_RESPONDER) {
			if (request_end(out, id, FCGI_UNKNOWN_ROLE) == -1)
				return (request_fail(err, errlen, "no memory"));
			return (REQUEST_REFUSED);
		}
		return (REQUEST_MORE);
	case FCGI_ABORT_REQUEST:
		if (r->begun && id == r->id)
			return (REQUEST_ABORTED);
		return (REQUEST_MORE);
	case FCGI_PARAMS:
		if (!r->begun || id != r->id || clen != 0)
			return (REQUEST_MORE);
		if (request_pairs(request_bytes(&r->raw),
		    buf_used(&r->raw), request_keep_cb, r) == -1)
			return (request_fail(err, errlen,
			    "bad name-value pair in PARAMS"));
		buf_free(&r->raw);
		r->params_done = 1;
		return (REQUEST_PARAMS_DONE);
	case FCGI_STDIN:
		if (!r->begun || id != r->id || clen != 0)
			return (REQUEST_MORE);
		r->stdin_done = 1;
		return (REQUEST_STDIN_DONE);
	default:
		return (REQUEST_MORE);
	}
}

/*
 * Checks a header just read whole: what the spec makes an error is
 * refused here, before any of its content is taken.
 */
static enum request_status
request_header(struct request *r, char *err, size_t errlen)
{
	int		 type = r->hdr[1];
	uint16_t	 id = (uint16_t)(r->hdr[2] << 8 | r->hdr[3]);
	int		 ours = r->begun && id == r->id;

	if (r->hdr[0] != FCGI_VERSION_1)
		return (request_fail(err, errlen, "not FastCGI version 1"));
	r->clen = (size_t)(r->hdr[4] << 8 | r->hdr[5]);
	r->plen = r->hdr[6];
	r->b8len = 0;
	if (id == FCGI_NULL_REQUEST_ID) {
		if (type == FCGI_GET_VALUES && r->clen > REQUEST_MAX_MGMT)
			return (request_fail(err, errlen,
			    "GET_VALUES too long"));
		return (REQUEST_MORE);
	}
	if (type == FCGI_BEGIN_REQUEST && r->clen != 8)
		return (request_fail(err, errlen,
		    "BEGIN_REQUEST of the wrong size"));
	if (ours && type == FCGI_PARAMS && r->params_done)
		return (request_fail(err, errlen, "PARAMS after their end"));
	if (ours && type == FCGI_STDIN &&
	    (!r->params_done || r->stdin_done))
		return (request_fail(err, errlen, r->stdin_done ?
		    "STDIN after its end" : "STDIN before the params end"));
	return (REQUEST_MORE);
}

/* Takes n content bytes of the current record where they belong. */
static enum request_status
request_content(struct request *r, const uint8_t *p, size_t n, char *err,
    size_t errlen)
{
	int		 type = r->hdr[1];
	uint16_t	 id = (uint16_t)(r->hdr[2] << 8 | r->hdr[3]);

	if (id == FCGI_NULL_REQUEST_ID) {
		if (type == FCGI_GET_VALUES && buf_append(&r->mgmt, p, n) == -1)
			return (request_fail(err, errlen, "no memory"));
		return (REQUEST_MORE);
	}
	if (type == FCGI_BEGIN_REQUEST) {
		memcpy(r->body8 + r->b8len, p, n);	/* clen is 8 */
		r->b8len += n;
		return (REQUEST_MORE);
	}
	if (!r->begun || id != r->id)
		return (REQUEST_MORE);
	if (type == FCGI_PARAMS) {
		if (buf_used(&r->raw) + n > REQUEST_MAX_PARAMS) {
			snprintf(err, errlen, "params over %d bytes",
			    REQUEST_MAX_PARAMS);
			return (REQUEST_TOO_BIG);
		}
		if (buf_append(&r->raw, p, n) == -1)
			return (request_fail(err, errlen, "no memory"));
	} else if (type == FCGI_STDIN) {
		r->body += n;
		if (r->stdin_to != NULL && buf_append(r->stdin_to, p, n) == -1)
			r->stdin_to = NULL;
	}
	return (REQUEST_MORE);
}

enum request_status
request_feed(struct request *r, const void *data, size_t len, size_t *used,
    struct buf *out, char *err, size_t errlen)
{
	const uint8_t		*p = data;
	size_t			 off = 0, n;
	enum request_status	 st;

	while (off < len) {
		if (r->hlen < sizeof(r->hdr)) {
			n = sizeof(r->hdr) - r->hlen;
			if (n > len - off)
				n = len - off;
			memcpy(r->hdr + r->hlen, p + off, n);
			r->hlen += n;
			off += n;
			if (r->hlen < sizeof(r->hdr))
				break;
			if ((st = request_header(r, err, errlen)) !=
			    REQUEST_MORE)
				goto out;
		}
		if (r->clen > 0) {
			n = r->clen < len - off ? r->clen : len - off;
			st = request_content(r, p + off, n, err, errlen);
			r->clen -= n;
			off += n;
			if (st != REQUEST_MORE)
				goto out;
		}
		if (r->plen > 0) {
			n = r->plen < len - off ? r->plen : len - off;
			r->plen -= n;
			off += n;
		}
		if (r->clen == 0 && r->plen == 0) {
			r->hlen = 0;
			if ((st = request_record_done(r, out, err, errlen)) !=
			    REQUEST_MORE)
				goto out;
		}
	}
	st = REQUEST_MORE;
out:
	*used = off;
	return (st);
}
