/* SPDX-License-Identifier: ISC */
/*
 * Publishing over HTTP, the pure part: publish keys, the Authorization
 * header, the body's content type and encoding (text/plain and
 * application/json as they are, application/x-www-form-urlencoded with
 * Mercure's fields topic, data and type), the Accept header and the
 * answers.  No socket and no state: pubreq.c calls these.
 *
 * Bounds and policy:
 * - Keys: at most PUBLISH_MAX_KEYS, each PUBLISH_KEY_MIN to
 *   PUBLISH_KEY_MAX visible ASCII bytes (it travels in a header; a short
 *   key could be guessed); a file with any other line is refused at
 *   start.  Every key is compared in full whatever the given value, so
 *   the time of a refusal does not tell how close a guess came.
 * - The body is bounded by the caller (PUBLISH_MAX_BODY); decoding
 *   allocates at most its size again.  Field names longer than
 *   PUBLISH_NAME_MAX are not ours and are skipped without decoding.
 * - A form field given twice, a bad percent escape, a missing or invalid
 *   channel or an invalid type is a 400 with the reason; any other
 *   content type a 415.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "http.h"
#include "jsonstr.h"
#include "publish.h"
#include "validate.h"

#define PUBLISH_NAME_MAX	64	/* a form field name we look at */

/* Whether [p, p+len) trimmed of blanks is s, ignoring case. */
static int
publish_token_is(const char *p, size_t len, const char *s)
{
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	return (len == strlen(s) && strncasecmp(p, s, len) == 0);
}

int
publish_ct_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char	*x = a, *y = b;
	unsigned char			 d = 0;
	size_t				 i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return (d == 0);
}

void
publish_keys_free(struct publish_keys *k)
{
	size_t	i;

	for (i = 0; i < k->n; i++) {
		explicit_bzero(k->key[i], k->len[i]);
		free(k->key[i]);
	}
	k->n = 0;
}

int
publish_keys_parse(struct publish_keys *k, const char *text, size_t len,
    char *err, size_t errlen)
{
	const char	*p = text, *end = text + len, *nl;
	size_t		 n, i, line = 0;

	memset(k, 0, sizeof(*k));
	for (; p < end; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' ||
		    p[n - 1] == '\t'))
			n--;
		if (n == 0 || *p == '#')
			continue;
		for (i = 0; i < n; i++)
			if ((unsigned char)p[i] <= 0x20 ||
			    (unsigned char)p[i] >= 0x7f) {
				snprintf(err, errlen, "line %zu: a key is "
				    "visible ASCII without blanks", line);
				goto bad;
			}
		if (n < PUBLISH_KEY_MIN || n > PUBLISH_KEY_MAX) {
			snprintf(err, errlen, "line %zu: a key is %d to %d "
			    "bytes", line, PUBLISH_KEY_MIN, PUBLISH_KEY_MAX);
			goto bad;
		}
		if (k->n == PUBLISH_MAX_KEYS) {
			snprintf(err, errlen, "more than %d keys",
			    PUBLISH_MAX_KEYS);
			goto bad;
		}
		if ((k->key[k->n] = malloc(n)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto bad;
		}
		memcpy(k->key[k->n], p, n);
		k->len[k->n++] = n;
	}
	if (k->n == 0) {
		snprintf(err, errlen, "no key");
		return (-1);
	}
	return (0);
bad:
	publish_keys_free(k);
	return (-1);
}

/*
 * Takes "Bearer" (any case), blanks, then the token; every key is
 * compared over its whole length (bytes past the token's end read as
 * 0), so neither the key that matched nor how much of it shows.
 */
int
publish_keys_check(const struct publish_keys *k, const char *authz)
{
	const char	*t;
	size_t		 tlen, i, j;
	unsigned char	 d;
	int		 match = 0;

	if (authz == NULL || strncasecmp(authz, "Bearer", 6) != 0 ||
	    (authz[6] != ' ' && authz[6] != '\t'))
		return (0);
	for (t = authz + 6; *t == ' ' || *t == '\t'; t++)
		;
	tlen = strlen(t);
	while (tlen > 0 && (t[tlen - 1] == ' ' || t[tlen - 1] == '\t'))
		tlen--;
	for (i = 0; i < k->n; i++) {
		d = tlen != k->len[i];
		for (j = 0; j < k->len[i]; j++)
			d |= (unsigned char)(k->key[i][j] ^
			    (j < tlen ? t[j] : 0));
		match |= d == 0;
	}
	return (match);
}

enum publish_ctype
publish_ctype(const char *ct)
{
	size_t	len;

	if (ct == NULL || *ct == '\0')
		return (PUBLISH_CT_TEXT);
	len = strcspn(ct, ";");
	if (publish_token_is(ct, len, "text/plain"))
		return (PUBLISH_CT_TEXT);
	if (publish_token_is(ct, len, "application/json"))
		return (PUBLISH_CT_JSON);
	if (publish_token_is(ct, len, "application/x-www-form-urlencoded"))
		return (PUBLISH_CT_FORM);
	return (PUBLISH_CT_OTHER);
}

/* A media range of application/json that is not refused (q=0). */
int
publish_accepts_json(const char *accept)
{
	const char	*p, *end, *semi, *q;
	size_t		 n;

	if (accept == NULL)
		return (0);
	for (p = accept; *p != '\0'; p = *end == ',' ? end + 1 : end) {
		n = strcspn(p, ",");
		end = p + n;
		if ((semi = memchr(p, ';', n)) == NULL)
			semi = end;
		if (!publish_token_is(p, (size_t)(semi - p),
		    "application/json"))
			continue;
		/* "q=0", "q=0.", "q=0.0"...: not acceptable. */
		for (q = semi; q + 2 < end; q++)
			if ((*q == ';' || *q == ' ') && (q[1] == 'q' ||
			    q[1] == 'Q') && q[2] == '=' &&
			    strspn(q + 3, "0.") == (size_t)(end - q - 3))
				return (0);
		return (1);
	}
	return (0);
}

int
publish_form_field(const char *s, size_t len, const char *name,
    struct buf *out)
{
	const char	*p, *end, *eq;
	char		 nbuf[PUBLISH_NAME_MAX];
	size_t		 nlen, vlen, start;
	int		 found = 0;

	for (p = s; p < s + len; p = end + 1) {
		if ((end = memchr(p, '&', (size_t)(s + len - p))) == NULL)
			end = s + len;
		if (end == p)
			continue;
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL)
			eq = end;
		if ((size_t)(eq - p) > sizeof(nbuf))
			continue;
		if (http_pct_decode(p, (size_t)(eq - p), nbuf, &nlen) == -1)
			return (-1);
		if (nlen != strlen(name) || memcmp(nbuf, name, nlen) != 0)
			continue;
		if (found)
			return (-1);
		found = 1;
		vlen = eq == end ? 0 : (size_t)(end - eq - 1);
		start = buf_used(out);
		if (buf_reserve(out, vlen + 1) == -1)
			return (-1);
		if (vlen > 0 && http_pct_decode(eq + 1, vlen, buf_tail(out),
		    &vlen) == -1)
			return (-1);
		buf_commit(out, vlen);
		if (buf_append_byte(out, '\0') == -1) {
			buf_truncate(out, start);
			return (-1);
		}
	}
	return (found);
}

void
publish_msg_init(struct publish_msg *m)
{
	buf_init(&m->channel, 0);
	buf_init(&m->type, 0);
	buf_init(&m->data, 0);
}

void
publish_msg_free(struct publish_msg *m)
{
	buf_free(&m->channel);
	buf_free(&m->type);
	buf_free(&m->data);
}

/* Length of a decoded field (its NUL apart); 0 when absent. */
static size_t
publish_len(const struct buf *b)
{
	return (buf_used(b) > 0 ? buf_used(b) - 1 : 0);
}

int
publish_decode(struct publish_msg *m, const char *query,
    const char *channel_param, enum publish_ctype ct, const char *body,
    size_t len, char *err, size_t errlen)
{
	struct buf	 topic;
	const char	*why;
	int		 r;

	if (query == NULL)
		query = "";
	if (ct == PUBLISH_CT_OTHER) {
		snprintf(err, errlen, "content type must be text/plain, "
		    "application/json or application/x-www-form-urlencoded");
		return (415);
	}
	if (publish_form_field(query, strlen(query), channel_param,
	    &m->channel) == -1 ||
	    publish_form_field(query, strlen(query), "type", &m->type) == -1) {
		snprintf(err, errlen, "bad query: one %s and at most one "
		    "type, percent-encoded", channel_param);
		return (400);
	}
	if (ct == PUBLISH_CT_FORM) {
		buf_init(&topic, 0);
		r = publish_form_field(body, len, "topic", &topic);
		if (r == 1 && buf_used(&m->channel) == 0) {
			buf_free(&m->channel);
			m->channel = topic;
		} else {
			if (r == 1 && strcmp(buf_head(&topic),
			    buf_head(&m->channel)) != 0)
				r = -1;
			buf_free(&topic);
		}
		if (r == -1 || (buf_used(&m->type) == 0 &&
		    publish_form_field(body, len, "type", &m->type) == -1) ||
		    publish_form_field(body, len, "data", &m->data) == -1) {
			snprintf(err, errlen, "bad form: one topic (the same "
			    "as the %s param), data and type each at most "
			    "once, percent-encoded", channel_param);
			return (400);
		}
	} else if (buf_append(&m->data, len > 0 ? body : "", len) == -1 ||
	    buf_append_byte(&m->data, '\0') == -1) {
		snprintf(err, errlen, "out of memory");
		return (503);
	}
	if (buf_used(&m->channel) == 0) {
		snprintf(err, errlen, "missing %s parameter", channel_param);
		return (400);
	}
	if ((why = validate_channel(buf_head(&m->channel),
	    publish_len(&m->channel))) != NULL) {
		snprintf(err, errlen, "channel: %s", why);
		return (400);
	}
	if (publish_len(&m->type) > 0 && (why = validate_event_type(
	    buf_head(&m->type), publish_len(&m->type))) != NULL) {
		snprintf(err, errlen, "type: %s", why);
		return (400);
	}
	return (0);
}

int
publish_idem_ok(const char *k)
{
	size_t	i;

	for (i = 0; k[i] != '\0'; i++)
		if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] >= 0x7f)
			return (0);
	return (i >= 1 && i <= PUBLISH_IDEM_MAX);
}

int
publish_created(struct buf *b, const char *id, size_t idlen, int json)
{
	if (buf_printf(b, "Status: 201 Created\r\n"
	    "Content-Type: %s\r\n"
	    "Cache-Control: no-store\r\n\r\n",
	    json ? "application/json" : "text/plain; charset=utf-8") == -1)
		return (-1);
	if (!json)
		return (buf_append(b, id, idlen));
	if (buf_printf(b, "{\"id\":") == -1 ||
	    jsonstr_append(b, id, idlen) == -1 || buf_printf(b, "}") == -1)
		return (-1);
	return (0);
}

static const char *
publish_status_text(int status)
{
	switch (status) {
	case 400:
		return ("Bad Request");
	case 401:
		return ("Unauthorized");
	case 405:
		return ("Method Not Allowed");
	case 413:
		return ("Content Too Large");
	case 415:
		return ("Unsupported Media Type");
	case 503:
		return ("Service Unavailable");
	default:
		return ("Internal Server Error");
	}
}

int
publish_error(struct buf *b, int status, const char *reason)
{
	if (buf_printf(b, "Status: %d %s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n", status,
	    publish_status_text(status)) == -1)
		return (-1);
	if (status == 401 && buf_printf(b, "WWW-Authenticate: Bearer "
	    "realm=\"fastsse\"\r\n") == -1)
		return (-1);
	if (status == 503 && buf_printf(b, "Retry-After: %d\r\n",
	    PUBLISH_RETRY_AFTER) == -1)
		return (-1);
	return (buf_printf(b, "\r\n%s\n", reason));
}
