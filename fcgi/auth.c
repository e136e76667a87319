/* SPDX-License-Identifier: ISC */
/*
 * Private channels: the responder's decision to open a stream or not.
 *
 * Policy (counted in auth_stats):
 * - Without --token-key every channel is open to all, as before.
 * - With it, a request whose channels all match --public-channel patterns
 *   needs no token (public).  Otherwise the token must verify (token.c)
 *   and cover every channel not public; else 403 with a short reason
 *   (refused_*): a page that asks without a token or for the wrong
 *   channel has a bug, which retrying cannot mend, and EventSource stops
 *   at a 403.
 * - A token that verifies but has expired, or whose sub or jti is
 *   revoked, is not an error for the page: it gets a 200 with an in-band
 *   token-expired event and a long retry:, so EventSource does not give
 *   up and the page can fetch a fresh token (expired, revoked).
 *
 * Where the token is looked for: the Authorization header's Bearer
 * credentials, then the "token" query parameter, then the --token-cookie
 * cookie; the first found is the one checked.  At most TOKEN_MAX bytes;
 * a longer one is refused as malformed.
 *
 * Revocations: at most AUTH_MAX_REVOKES (kind, value, until) entries.
 * Expired ones are dropped whenever one is added; one over the bound is
 * refused (counted in revokes_dropped, logged by the caller): the broker
 * holds the same bound, so both refuse the same one.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "buf.h"
#include "http.h"
#include "jsonstr.h"
#include "token.h"

struct auth_conf	auth_conf;
struct auth_revokes	auth_revokes;
struct auth_stats	auth_stats;

int
auth_add_public(struct auth_conf *ac, const char *pat)
{
	char	*dup;

	if (ac->npublic == AUTH_MAX_PUBLIC ||
	    !token_pattern_valid(pat, strlen(pat)))
		return (-1);
	if ((dup = strdup(pat)) == NULL)
		return (-1);
	ac->public[ac->npublic++] = dup;
	return (0);
}

void
auth_conf_free(struct auth_conf *ac)
{
	size_t	i;

	for (i = 0; i < ac->npublic; i++)
		free(ac->public[i]);
	ac->npublic = 0;
	token_keys_clear(&ac->keys);
}

static int
auth_is_public(const struct auth_conf *ac, const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < ac->npublic; i++)
		if (token_match(ac->public[i], strlen(ac->public[i]), name,
		    len))
			return (1);
	return (0);
}

/* Copies v[0..len) to out as the token; -1 when it does not fit. */
static int
auth_take(const char *v, size_t len, char *out, size_t outsize,
    size_t *outlen)
{
	if (len >= outsize)
		return (-1);
	memcpy(out, v, len);
	out[len] = '\0';
	*outlen = len;
	return (0);
}

/* The value of the query's "token" param, percent-decoded. */
static int
auth_query_token(const char *q, char *out, size_t outsize, size_t *outlen)
{
	const char	*p, *end, *eq;
	size_t		 plen = strlen(AUTH_QUERY_PARAM), qlen;

	if (q == NULL)
		return (0);
	qlen = strlen(q);
	for (p = q; p < q + qlen; p = end + 1) {
		if ((end = strchr(p, '&')) == NULL)
			end = q + qlen;
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL)
			continue;
		if ((size_t)(eq - p) != plen || memcmp(p, AUTH_QUERY_PARAM,
		    plen) != 0)
			continue;
		/* Decoding never grows the text. */
		if ((size_t)(end - eq - 1) >= outsize)
			return (-1);
		if (http_pct_decode(eq + 1, (size_t)(end - eq - 1), out,
		    outlen) == -1)
			return (-1);
		out[*outlen] = '\0';
		return (1);
	}
	return (0);
}

/* The value of cookie name in a Cookie header ("a=1; b=2"). */
static int
auth_cookie_token(const char *hdr, const char *name, char *out,
    size_t outsize, size_t *outlen)
{
	const char	*p, *end, *eq;
	size_t		 nlen = strlen(name), vlen;

	if (hdr == NULL)
		return (0);
	for (p = hdr; *p != '\0'; p = *end == '\0' ? end : end + 1) {
		while (*p == ' ' || *p == '\t')
			p++;
		if ((end = strchr(p, ';')) == NULL)
			end = p + strlen(p);
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL ||
		    (size_t)(eq - p) != nlen || memcmp(p, name, nlen) != 0)
			continue;
		eq++;
		vlen = (size_t)(end - eq);
		while (vlen > 0 && (eq[vlen - 1] == ' ' || eq[vlen - 1] == '\t'))
			vlen--;
		if (vlen >= 2 && eq[0] == '"' && eq[vlen - 1] == '"') {
			eq++;
			vlen -= 2;
		}
		return (auth_take(eq, vlen, out, outsize, outlen) == -1 ? -1 :
		    1);
	}
	return (0);
}

/*
 * Returns 1 with the token in out, 0 when none is given, -1 when one is
 * given but too long to be a token.
 */
int
auth_find_token(const struct auth_conf *ac, const struct auth_request *r,
    char *out, size_t outsize, size_t *outlen)
{
	const char	*a = r->authorization;
	size_t		 len;
	int		 rv;

	if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0) {
		a += 7;
		while (*a == ' ')
			a++;
		len = strlen(a);
		while (len > 0 && a[len - 1] == ' ')
			len--;
		if (len > 0)
			return (auth_take(a, len, out, outsize, outlen) == -1 ?
			    -1 : 1);
	}
	if ((rv = auth_query_token(r->query, out, outsize, outlen)) != 0)
		return (rv);
	if (ac->cookie != NULL)
		return (auth_cookie_token(r->cookie, ac->cookie, out, outsize,
		    outlen));
	return (0);
}

static void
auth_grant_from(struct auth_grant *g, const struct token_claims *c)
{
	memset(g, 0, sizeof(*g));
	g->has = 1;
	g->exp = c->exp;
	g->has_sub = c->has_sub;
	g->has_jti = c->has_jti;
	memcpy(g->sub, c->sub, sizeof(g->sub));
	memcpy(g->jti, c->jti, sizeof(g->jti));
}

#define AUTH_COUNT(st, f)	do { if ((st) != NULL) (st)->f++; } while (0)

enum auth_result
auth_check(const struct auth_conf *ac, const struct auth_revokes *rv,
    const struct http_req *req, const struct auth_request *r, int64_t now,
    struct auth_grant *grant, const char **reason, struct auth_stats *st)
{
	struct token_claims	*c = NULL;
	enum auth_result	 res = AUTH_DENIED;
	const char		*name;
	char			 tok[TOKEN_MAX + 1], err[128];
	size_t			 i, len, toklen;
	int			 found;

	memset(grant, 0, sizeof(*grant));
	*reason = NULL;
	if (!ac->on)
		return (AUTH_OK);
	for (i = 0; i < req->nchan; i++) {
		name = http_req_channel(req, i, &len);
		if (!auth_is_public(ac, name, len))
			break;
	}
	if (i == req->nchan) {
		AUTH_COUNT(st, public);
		return (AUTH_OK);
	}
	found = auth_find_token(ac, r, tok, sizeof(tok), &toklen);
	if (found == 0) {
		*reason = "token required";
		AUTH_COUNT(st, refused_missing);
		return (AUTH_DENIED);
	}
	if (found == -1) {
		*reason = "bad token: too long";
		AUTH_COUNT(st, refused_malformed);
		return (AUTH_DENIED);
	}
	if ((c = malloc(sizeof(*c))) == NULL) {
		*reason = "out of memory";
		return (AUTH_DENIED);
	}
	switch (token_verify(&ac->keys, tok, toklen, now, c, err,
	    sizeof(err))) {
	case TOKEN_OK:
		break;
	case TOKEN_EXPIRED:
		auth_grant_from(grant, c);
		*reason = "expired";
		AUTH_COUNT(st, expired);
		res = AUTH_EXPIRED;
		goto out;
	case TOKEN_MALFORMED:
	case TOKEN_TOO_LONG:
		*reason = "bad token: malformed";
		AUTH_COUNT(st, refused_malformed);
		goto out;
	case TOKEN_ALG:
		*reason = "bad token: alg must be HS256";
		AUTH_COUNT(st, refused_alg);
		goto out;
	case TOKEN_SIGNATURE:
		*reason = "bad token: signature";
		AUTH_COUNT(st, refused_signature);
		goto out;
	case TOKEN_CLAIMS:
		*reason = "bad token: claims (exp, channels)";
		AUTH_COUNT(st, refused_claims);
		goto out;
	}
	for (i = 0; i < req->nchan; i++) {
		name = http_req_channel(req, i, &len);
		if (!auth_is_public(ac, name, len) &&
		    !token_covers(c, name, len)) {
			*reason = "token does not cover the channel";
			AUTH_COUNT(st, refused_channel);
			goto out;
		}
	}
	auth_grant_from(grant, c);
	if (rv != NULL && auth_revoked(rv, grant, now)) {
		*reason = "revoked";
		AUTH_COUNT(st, revoked);
		res = AUTH_EXPIRED;
		goto out;
	}
	AUTH_COUNT(st, accepted);
	res = AUTH_OK;
out:
	free(c);
	return (res);
}

int
auth_kind(const char *s, size_t len)
{
	if (len == 3 && memcmp(s, "sub", 3) == 0)
		return (AUTH_KIND_SUB);
	if (len == 3 && memcmp(s, "jti", 3) == 0)
		return (AUTH_KIND_JTI);
	return (0);
}

int
auth_grant_matches(const struct auth_grant *g, int kind, const char *v,
    size_t len)
{
	if (g == NULL || !g->has)
		return (0);
	if (kind == AUTH_KIND_SUB)
		return (g->has_sub && strlen(g->sub) == len &&
		    memcmp(g->sub, v, len) == 0);
	if (kind == AUTH_KIND_JTI)
		return (g->has_jti && strlen(g->jti) == len &&
		    memcmp(g->jti, v, len) == 0);
	return (0);
}

int
auth_revoked(const struct auth_revokes *rv, const struct auth_grant *g,
    int64_t now)
{
	size_t	i;

	for (i = 0; i < rv->n; i++)
		if (rv->v[i].until > now && auth_grant_matches(g,
		    rv->v[i].kind, rv->v[i].value, strlen(rv->v[i].value)))
			return (1);
	return (0);
}

int
auth_revokes_add(struct auth_revokes *rv, int kind, const char *v,
    size_t len, int64_t until, int64_t now)
{
	struct auth_revoke	*nv;
	size_t			 i, j, cap;

	if ((kind != AUTH_KIND_SUB && kind != AUTH_KIND_JTI) || len == 0 ||
	    len > TOKEN_ID_MAX || memchr(v, '\0', len) != NULL)
		return (-1);
	for (i = j = 0; i < rv->n; i++)
		if (rv->v[i].until > now)
			rv->v[j++] = rv->v[i];
	rv->n = j;
	for (i = 0; i < rv->n; i++)
		if (rv->v[i].kind == kind && strlen(rv->v[i].value) == len &&
		    memcmp(rv->v[i].value, v, len) == 0) {
			if (until > rv->v[i].until)
				rv->v[i].until = until;
			return (0);
		}
	if (until <= now)
		return (0);
	if (rv->n == AUTH_MAX_REVOKES)
		return (-1);
	if (rv->n == rv->cap) {
		cap = rv->cap == 0 ? 16 : rv->cap * 2;
		if (cap > AUTH_MAX_REVOKES)
			cap = AUTH_MAX_REVOKES;
		if ((nv = reallocarray(rv->v, cap, sizeof(*nv))) == NULL)
			return (-1);
		rv->v = nv;
		rv->cap = cap;
	}
	rv->v[rv->n].kind = kind;
	rv->v[rv->n].until = until;
	memcpy(rv->v[rv->n].value, v, len);
	rv->v[rv->n].value[len] = '\0';
	rv->n++;
	return (0);
}

void
auth_revokes_free(struct auth_revokes *rv)
{
	free(rv->v);
	memset(rv, 0, sizeof(*rv));
}

int
auth_expired_event(struct buf *b, const char *reason,
    const struct auth_grant *g)
{
	size_t	mark = buf_used(b);

	if (buf_printf(b, "retry: %lu\nevent: token-expired\ndata: "
	    "{\"reason\":", (unsigned long)AUTH_EXPIRED_RETRY_MS) == -1 ||
	    jsonstr_append(b, reason, strlen(reason)) == -1)
		goto fail;
	if (g != NULL && g->has && buf_printf(b, ",\"exp\":%" PRId64,
	    g->exp) == -1)
		goto fail;
	if (buf_printf(b, "}\n\n") == -1)
		goto fail;
	return (0);
fail:
	buf_truncate(b, mark);
	return (-1);
}
