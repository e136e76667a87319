/* SPDX-License-Identifier: ISC */
/*
 * Subscribe tokens (see token.h): JWT, HS256 only.
 *
 * Bounds and policy: a token over TOKEN_MAX bytes is refused before any
 * decoding (TOKEN_TOO_LONG); its parts are decoded into stack buffers of
 * that size.  A header or claims part that is not a JSON object, holds a
 * duplicate key, or more than TOKEN_MAX_CHANNELS channels or a sub/jti
 * over TOKEN_ID_MAX bytes is refused.  A key file over TOKEN_KEYFILE_MAX
 * bytes or TOKEN_MAX_KEYS keys is refused at start-up.  Counting the
 * refusals is the caller's (auth.c, auth_stats).
 *
 * Choices: the signature is checked before the claims are parsed, so an
 * unsigned token costs one HMAC and a header parse; the header's "alg"
 * must be exactly "HS256" (no "none", no key confusion with RS256),
 * and "typ", when present, "JWT".  The signature is compared with
 * CRYPTO_memcmp (constant time).  "exp" (seconds since the epoch) and
 * "channels" are required; "nbf", when present, must have passed; other
 * claims are ignored.
 *
 * Libraries: HMAC and base64 are libcrypto's (HMAC(), EVP_DecodeBlock and
 * EVP_EncodeBlock; base64url is mapped to and from the standard alphabet
 * around them, since libcrypto has no base64url), JSON is Jansson's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "token.h"
#include "validate.h"

#define TOKEN_SIG_LEN	32	/* SHA-256 */
#define TOKEN_HEADER	"{\"alg\":\"HS256\",\"typ\":\"JWT\""

static const char token_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const char *
token_result_name(enum token_result r)
{
	switch (r) {
	case TOKEN_OK:
		return ("ok");
	case TOKEN_MALFORMED:
		return ("malformed");
	case TOKEN_TOO_LONG:
		return ("too long");
	case TOKEN_ALG:
		return ("bad alg");
	case TOKEN_SIGNATURE:
		return ("bad signature");
	case TOKEN_CLAIMS:
		return ("bad claims");
	case TOKEN_EXPIRED:
		return ("expired");
	}
	return ("unknown");
}

size_t
token_b64url_encode(const unsigned char *in, size_t len, char *out)
{
	size_t	n, i;

	if (len == 0) {
		out[0] = '\0';
		return (0);
	}
	n = (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	out[n] = '\0';
	return (n);
}

/*
 * Maps base64url to standard base64 with its padding and lets libcrypto
 * decode it.  Characters are checked here first, because EVP_DecodeBlock
 * skips white space; bits left over past the last byte must be zero, so
 * each token has one spelling.
 */
int
token_b64url_decode(const char *in, size_t len, unsigned char *out,
    size_t outsize, size_t *outlen)
{
	char	tmp[TOKEN_MAX + 4];
	size_t	i, pad, n;
	int	r;
	const char *p;

	if (len % 4 == 1 || len > TOKEN_MAX)
		return (-1);
	for (i = 0; i < len; i++) {
		if (in[i] == '\0' ||
		    (p = strchr(token_b64url, in[i])) == NULL)
			return (-1);
		tmp[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	}
	pad = (4 - len % 4) % 4;
	if (pad > 0) {
		p = strchr(token_b64url, in[len - 1]);
		if (((p - token_b64url) & (pad == 1 ? 0x3 : 0xf)) != 0)
			return (-1);
	}
	for (i = 0; i < pad; i++)
		tmp[len + i] = '=';
	n = (len + pad) / 4 * 3;
	if (n - pad > outsize)
		return (-1);
	if (len == 0) {
		*outlen = 0;
		return (0);
	}
	{
		unsigned char	dec[(TOKEN_MAX + 4) / 4 * 3];

		r = EVP_DecodeBlock(dec, (unsigned char *)tmp, (int)(len + pad));
		if (r < 0 || (size_t)r != n)
			return (-1);
		memcpy(out, dec, n - pad);
	}
	*outlen = n - pad;
	return (0);
}

static int
token_kid_valid(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > TOKEN_KID_MAX)
		return (0);
	for (i = 0; i < len; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._-", s[i]) == NULL || s[i] == '\0')
			return (0);
	return (1);
}

int
token_keys_parse(struct token_keys *keys, const char *text, size_t len,
    char *err, size_t errlen)
{
	const char	*p = text, *end = text + len, *eol, *colon;
	size_t		 lineno = 0, klen, slen, i;

	memset(keys, 0, sizeof(*keys));
	for (; p < end; p = eol + 1) {
		lineno++;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		slen = (size_t)(eol - p);
		if (slen > 0 && p[slen - 1] == '\r')
			slen--;
		if (slen == 0 || p[0] == '#')
			continue;
		if ((colon = memchr(p, ':', slen)) == NULL) {
			snprintf(err, errlen, "line %zu: not kid:secret",
			    lineno);
			goto bad;
		}
		klen = (size_t)(colon - p);
		if (!token_kid_valid(p, klen)) {
			snprintf(err, errlen, "line %zu: a key id is 1 to %d "
			    "of A-Z a-z 0-9 . _ -", lineno, TOKEN_KID_MAX);
			goto bad;
		}
		slen -= klen + 1;
		if (slen < TOKEN_SECRET_MIN || slen > TOKEN_SECRET_MAX) {
			snprintf(err, errlen, "line %zu: a secret is %d to %d "
			    "bytes", lineno, TOKEN_SECRET_MIN,
			    TOKEN_SECRET_MAX);
			goto bad;
		}
		for (i = 0; i < keys->n; i++)
			if (strlen(keys->k[i].kid) == klen &&
			    memcmp(keys->k[i].kid, p, klen) == 0) {
				snprintf(err, errlen, "line %zu: key id %.*s "
				    "given twice", lineno, (int)klen, p);
				goto bad;
			}
		if (keys->n == TOKEN_MAX_KEYS) {
			snprintf(err, errlen, "more than %d keys",
			    TOKEN_MAX_KEYS);
			goto bad;
		}
		memcpy(keys->k[keys->n].kid, p, klen);
		keys->k[keys->n].kid[klen] = '\0';
		memcpy(keys->k[keys->n].secret, colon + 1, slen);
		keys->k[keys->n].len = slen;
		keys->n++;
		if (eol == end)
			break;
	}
	if (keys->n == 0) {
		snprintf(err, errlen, "no key");
		return (-1);
	}
	return (0);
bad:
	token_keys_clear(keys);
	return (-1);
}

int
token_keys_load(struct token_keys *keys, const char *path, char *err,
    size_t errlen)
{
	char	*text;
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd, rv = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if ((text = malloc(TOKEN_KEYFILE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return (-1);
	}
	while ((n = read(fd, text + len, TOKEN_KEYFILE_MAX + 1 - len)) > 0 ||
	    (n == -1 && errno == EINTR)) {
		if (n > 0)
			len += (size_t)n;
		if (len > TOKEN_KEYFILE_MAX)
			break;
	}
	if (n == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (len > TOKEN_KEYFILE_MAX)
		snprintf(err, errlen, "%s: over %d bytes", path,
		    TOKEN_KEYFILE_MAX);
	else if (token_keys_parse(keys, text, len, err, errlen) == 0)
		rv = 0;
	OPENSSL_cleanse(text, len);
	free(text);
	close(fd);
	return (rv);
}

void
token_keys_clear(struct token_keys *keys)
{
	OPENSSL_cleanse(keys, sizeof(*keys));
	keys->n = 0;
}

/* Decodes one base64url part as a JSON object (NULL if it is not one). */
static json_t *
token_json(const char *part, size_t len)
{
	unsigned char	raw[TOKEN_MAX];
	size_t		n;

	if (token_b64url_decode(part, len, raw, sizeof(raw), &n) == -1)
		return (NULL);
	return (json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES,
	    NULL));
}

static int
token_hmac(const struct token_key *k, const char *data, size_t len,
    unsigned char out[TOKEN_SIG_LEN])
{
	unsigned int	n = 0;

	if (HMAC(EVP_sha256(), k->secret, (int)k->len,
	    (const unsigned char *)data, len, out, &n) == NULL ||
	    n != TOKEN_SIG_LEN)
		return (-1);
	return (0);
}

int
token_pattern_valid(const char *s, size_t len)
{
	if (len == 1 && s[0] == '*')
		return (1);
	if (len > 0 && s[len - 1] == '*')
		len--;
	return (validate_channel(s, len) == NULL);
}

int
token_match(const char *pat, size_t patlen, const char *name,
    size_t namelen)
{
	if (patlen > 0 && pat[patlen - 1] == '*')
		return (namelen >= patlen - 1 &&
		    memcmp(pat, name, patlen - 1) == 0);
	return (patlen == namelen && memcmp(pat, name, namelen) == 0);
}

const char *
token_channel(const struct token_claims *c, size_t i, size_t *len)
{
	if (len != NULL)
		*len = c->chan_len[i];
	return (c->names + c->chan_off[i]);
}

int
token_covers(const struct token_claims *c, const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < c->nchan; i++)
		if (token_match(c->names + c->chan_off[i], c->chan_len[i],
		    name, len))
			return (1);
	return (0);
}

/* Copies a string claim of at most TOKEN_ID_MAX bytes; -1 if bad. */
static int
token_id_claim(json_t *claims, const char *name, char *out, int *has)
{
	json_t	*v;
	size_t	 len;

	*has = 0;
	if ((v = json_object_get(claims, name)) == NULL)
		return (0);
	if (!json_is_string(v) || (len = json_string_length(v)) == 0 ||
	    len > TOKEN_ID_MAX || memchr(json_string_value(v), '\0', len))
		return (-1);
	memcpy(out, json_string_value(v), len);
	out[len] = '\0';
	*has = 1;
	return (0);
}

/* Fills c from the claims object; -1 with err when one is bad. */
static int
token_claims_fill(json_t *claims, int64_t now, struct token_claims *c,
    char *err, size_t errlen)
{
	json_t		*v, *e;
	const char	*s;
	size_t		 i, len, used = 0;

	v = json_object_get(claims, "exp");
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "exp missing or not an integer");
		return (-1);
	}
	c->exp = json_integer_value(v);
	if ((v = json_object_get(claims, "nbf")) != NULL &&
	    (!json_is_integer(v) || json_integer_value(v) > now)) {
		snprintf(err, errlen, "not valid before nbf");
		return (-1);
	}
	if (token_id_claim(claims, "sub", c->sub, &c->has_sub) == -1 ||
	    token_id_claim(claims, "jti", c->jti, &c->has_jti) == -1) {
		snprintf(err, errlen, "sub or jti not a string of 1 to %d "
		    "bytes", TOKEN_ID_MAX);
		return (-1);
	}
	v = json_object_get(claims, "channels");
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > TOKEN_MAX_CHANNELS) {
		snprintf(err, errlen, "channels must be an array of 1 to %d "
		    "names", TOKEN_MAX_CHANNELS);
		return (-1);
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			snprintf(err, errlen, "channel %zu is not a string",
			    i + 1);
			return (-1);
		}
		s = json_string_value(e);
		len = json_string_length(e);
		if (!token_pattern_valid(s, len) ||
		    used + len + 1 > sizeof(c->names)) {
			snprintf(err, errlen, "channel %zu is not a channel "
			    "name or prefix* pattern", i + 1);
			return (-1);
		}
		memcpy(c->names + used, s, len);
		c->names[used + len] = '\0';
		c->chan_off[c->nchan] = (uint16_t)used;
		c->chan_len[c->nchan] = (uint16_t)len;
		c->nchan++;
		used += len + 1;
	}
	return (0);
}

enum token_result
token_verify(const struct token_keys *keys, const char *tok, size_t len,
    int64_t now, struct token_claims *c, char *err, size_t errlen)
{
	unsigned char		 sig[TOKEN_MAX], mac[TOKEN_SIG_LEN];
	const char		*dot1, *dot2, *s;
	const struct token_key	*only = NULL;
	json_t			*hdr = NULL, *claims = NULL, *v;
	size_t			 siglen, i;
	enum token_result	 r;

	memset(c, 0, sizeof(*c));
	if (len > TOKEN_MAX) {
		snprintf(err, errlen, "token over %d bytes", TOKEN_MAX);
		return (TOKEN_TOO_LONG);
	}
	if ((dot1 = memchr(tok, '.', len)) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - tok))) ==
	    NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - tok)) !=
	    NULL) {
		snprintf(err, errlen, "not three dot-separated parts");
		return (TOKEN_MALFORMED);
	}
	if ((hdr = token_json(tok, (size_t)(dot1 - tok))) == NULL ||
	    !json_is_object(hdr)) {
		snprintf(err, errlen, "header is not base64url JSON");
		r = TOKEN_MALFORMED;
		goto out;
	}
	v = json_object_get(hdr, "alg");
	if (!json_is_string(v) || strcmp(json_string_value(v), "HS256") != 0 ||
	    json_string_length(v) != 5) {
		snprintf(err, errlen, "alg must be HS256");
		r = TOKEN_ALG;
		goto out;
	}
	if ((v = json_object_get(hdr, "typ")) != NULL &&
	    (!json_is_string(v) || strcasecmp(json_string_value(v), "JWT"))) {
		snprintf(err, errlen, "typ must be JWT");
		r = TOKEN_MALFORMED;
		goto out;
	}
	if ((v = json_object_get(hdr, "kid")) != NULL && json_is_string(v)) {
		s = json_string_value(v);
		for (i = 0; i < keys->n; i++)
			if (strcmp(keys->k[i].kid, s) == 0)
				only = &keys->k[i];
	}
	if (token_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - tok), sig,
	    sizeof(sig), &siglen) == -1) {
		snprintf(err, errlen, "signature is not base64url");
		r = TOKEN_MALFORMED;
		goto out;
	}
	r = TOKEN_SIGNATURE;
	for (i = 0; i < keys->n && r != TOKEN_OK; i++) {
		if (only != NULL && &keys->k[i] != only)
			continue;
		if (token_hmac(&keys->k[i], tok, (size_t)(dot2 - tok), mac) ==
		    0 && siglen == TOKEN_SIG_LEN &&
		    CRYPTO_memcmp(mac, sig, TOKEN_SIG_LEN) == 0)
			r = TOKEN_OK;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	if (r != TOKEN_OK) {
		snprintf(err, errlen, "bad signature");
		goto out;
	}
	if ((claims = token_json(dot1 + 1, (size_t)(dot2 - dot1 - 1))) ==
	    NULL || !json_is_object(claims)) {
		snprintf(err, errlen, "claims are not a JSON object");
		r = TOKEN_CLAIMS;
		goto out;
	}
	if (token_claims_fill(claims, now, c, err, errlen) == -1) {
		r = TOKEN_CLAIMS;
		goto out;
	}
	if (c->exp <= now) {
		snprintf(err, errlen, "expired");
		r = TOKEN_EXPIRED;
	}
out:
	if (r != TOKEN_OK && r != TOKEN_EXPIRED) {
		c->nchan = 0;
		c->has_sub = c->has_jti = 0;
	}
	json_decref(hdr);
	json_decref(claims);
	return (r);
}

/* Appends the base64url of data to out. */
static int
token_append_b64(struct buf *out, const void *data, size_t len)
{
	char	*tmp;
	size_t	 n;
	int	 rv;

	if ((tmp = malloc(len / 3 * 4 + 8)) == NULL)
		return (-1);
	n = token_b64url_encode(data, len, tmp);
	rv = buf_append(out, tmp, n);
	free(tmp);
	return (rv);
}

int
token_sign(struct buf *out, const struct token_key *key,
    const char *const *channels, size_t n, int64_t exp, const char *sub,
    const char *jti)
{
	json_t		*claims = NULL, *arr;
	char		*text = NULL;
	unsigned char	 mac[TOKEN_SIG_LEN];
	size_t		 i, start = buf_used(out);
	struct buf	 hdr;
	int		 rv = -1;

	buf_init(&hdr, 0);
	if (n == 0 || n > TOKEN_MAX_CHANNELS)
		goto out;
	if ((claims = json_object()) == NULL ||
	    (arr = json_array()) == NULL)
		goto out;
	json_object_set_new(claims, "channels", arr);
	for (i = 0; i < n; i++) {
		if (!token_pattern_valid(channels[i], strlen(channels[i])) ||
		    json_array_append_new(arr, json_string(channels[i])) == -1)
			goto out;
	}
	if (json_object_set_new(claims, "exp", json_integer(exp)) == -1 ||
	    (sub != NULL && json_object_set_new(claims, "sub",
	    json_string(sub)) == -1) ||
	    (jti != NULL && json_object_set_new(claims, "jti",
	    json_string(jti)) == -1))
		goto out;
	if ((text = json_dumps(claims, JSON_COMPACT)) == NULL)
		goto out;
	if (buf_printf(&hdr, TOKEN_HEADER ",\"kid\":\"%s\"}", key->kid) == -1 ||
	    token_append_b64(out, buf_head(&hdr), buf_used(&hdr)) == -1 ||
	    buf_append_byte(out, '.') == -1 ||
	    token_append_b64(out, text, strlen(text)) == -1)
		goto out;
	if (token_hmac(key, buf_head(out) + start, buf_used(out) - start,
	    mac) == -1 || buf_append_byte(out, '.') == -1 ||
	    token_append_b64(out, mac, sizeof(mac)) == -1)
		goto out;
	rv = 0;
out:
	if (rv == -1)
		buf_truncate(out, start);
	buf_free(&hdr);
	free(text);
	json_decref(claims);
	return (rv);
}
