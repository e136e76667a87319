/* SPDX-License-Identifier: ISC */
/*
 * Subscribe tokens without a socket: signing and verifying, every way a
 * token can be wrong (forged, expired, alg none or swapped, bad base64,
 * oversized, cut at every byte), key files, patterns, and the responder's
 * decision (auth.c): where the token is found, public channels, cover,
 * revocations, the token-expired event.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "buf.h"
#include "http.h"
#include "tap.h"
#include "token.h"

#define NOW	1800000000LL

static struct token_keys keys;

static const char *
cstr(struct buf *b)
{
	buf_append_byte(b, 0);
	b->len--;
	return (buf_head(b));
}

/* A token of any header and claims, signed with secret (NULL: unsigned). */
static void
forge(struct buf *out, const char *hdr, const char *claims,
    const char *secret)
{
	char		tmp[TOKEN_MAX * 2];
	unsigned char	mac[32];
	unsigned int	n = 0;
	size_t		start = buf_used(out);

	buf_append(out, tmp, token_b64url_encode((const unsigned char *)hdr,
	    strlen(hdr), tmp));
	buf_append_byte(out, '.');
	buf_append(out, tmp, token_b64url_encode(
	    (const unsigned char *)claims, strlen(claims), tmp));
	buf_append_byte(out, '.');
	if (secret == NULL)
		return;
	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)buf_head(out) + start,
	    buf_used(out) - start - 1, mac, &n);
	buf_append(out, tmp, token_b64url_encode(mac, n, tmp));
}

static enum token_result
verify(const char *tok, struct token_claims *c)
{
	char	err[128];

	return (token_verify(&keys, tok, strlen(tok), NOW, c, err,
	    sizeof(err)));
}

static enum token_result
verify_forged(const char *hdr, const char *claims, const char *secret)
{
	static struct token_claims c;
	struct buf		b;
	enum token_result	r;

	buf_init(&b, 0);
	forge(&b, hdr, claims, secret);
	r = verify(cstr(&b), &c);
	buf_free(&b);
	return (r);
}

static void
test_b64url(void)
{
	unsigned char	out[16];
	char		enc[32];
	size_t		n;

	is_int(token_b64url_encode((const unsigned char *)"\xfb\xff", 2, enc),
	    3, "base64url: 2 bytes, 3 characters, no padding");
	is_str(enc, "-_8", "base64url: - and _ for + and /");
	ok(token_b64url_decode("-_8", 3, out, sizeof(out), &n) == 0 &&
	    n == 2 && memcmp(out, "\xfb\xff", 2) == 0,
	    "base64url: decodes back");
	ok(token_b64url_decode("-_9", 3, out, sizeof(out), &n) == -1,
	    "base64url: bits past the last byte must be zero");
	ok(token_b64url_decode("+/8", 3, out, sizeof(out), &n) == -1,
	    "base64url: + and / are not base64url");
	ok(token_b64url_decode("YQ==", 4, out, sizeof(out), &n) == -1,
	    "base64url: no padding");
	ok(token_b64url_decode("Y Q", 3, out, sizeof(out), &n) == -1,
	    "base64url: no white space");
	ok(token_b64url_decode("YWJjZ", 5, out, sizeof(out), &n) == -1,
	    "base64url: a length of 4n+1 is impossible");
	ok(token_b64url_decode("", 0, out, sizeof(out), &n) == 0 && n == 0,
	    "base64url: empty");
	ok(token_b64url_decode("YWJjZGVmZ2hpams", 15, out, 10, &n) == -1,
	    "base64url: output bound");
}

static void
test_keys(void)
{
	struct token_keys	k;
	char			err[128];
	const char		*good = "# keys\r\nnew:0123456789abcdef0123\r\n\n"
				    "old:fedcba9876543210:with:colons\n";

	ok(token_keys_parse(&k, good, strlen(good), err, sizeof(err)) == 0 &&
	    k.n == 2 && strcmp(k.k[0].kid, "new") == 0 && k.k[0].len == 20 &&
	    k.k[1].len == 28 && memcmp(k.k[1].secret, "fedcba9876543210:with"
	    ":colons", 28) == 0, "key file: comments, CRLF, colons in a "
	    "secret");
	ok(token_keys_parse(&k, "a:short", 7, err, sizeof(err)) == -1 &&
	    strstr(err, "line 1") != NULL, "key file: a short secret refused "
	    "(%s)", err);
	ok(token_keys_parse(&k, "nocolon", 7, err, sizeof(err)) == -1,
	    "key file: a line without a colon refused");
	ok(token_keys_parse(&k, ":0123456789abcdef", 17, err,
	    sizeof(err)) == -1, "key file: an empty key id refused");
	ok(token_keys_parse(&k, "a b:0123456789abcdef", 20, err,
	    sizeof(err)) == -1, "key file: a space in a key id refused");
	ok(token_keys_parse(&k, "a:0123456789abcdef\na:0123456789abcdef", 37,
	    err, sizeof(err)) == -1, "key file: a key id twice refused");
	ok(token_keys_parse(&k, "# none\n", 7, err, sizeof(err)) == -1,
	    "key file: no key refused");
	{
		struct buf	b;
		int		i;

		buf_init(&b, 0);
		for (i = 0; i <= TOKEN_MAX_KEYS; i++)
			buf_printf(&b, "k%d:0123456789abcdef\n", i);
		ok(token_keys_parse(&k, buf_head(&b), buf_used(&b), err,
		    sizeof(err)) == -1, "key file: over %d keys refused",
		    TOKEN_MAX_KEYS);
		buf_free(&b);
	}
	ok(token_keys_load(&k, "/nonexistent/keys", err, sizeof(err)) == -1,
	    "key file: a missing file refused");
}

static void
test_patterns(void)
{
	ok(token_match("news", 4, "news", 4), "pattern: exact name");
	ok(!token_match("news", 4, "news2", 5), "pattern: a name is no "
	    "prefix");
	ok(token_match("user.7.*", 8, "user.7.inbox", 12),
	    "pattern: prefix*");
	ok(token_match("user.7.*", 8, "user.7.", 7), "pattern: prefix* "
	    "matches the prefix itself");
	ok(!token_match("user.7.*", 8, "user.70.inbox", 13),
	    "pattern: prefix* is a byte prefix");
	ok(token_match("*", 1, "anything", 8), "pattern: * matches all");
	ok(token_pattern_valid("a*", 2) && token_pattern_valid("*", 1) &&
	    !token_pattern_valid("a b", 3) && !token_pattern_valid("", 0),
	    "pattern: validity");
}

static void
test_verify(void)
{
	static struct token_claims c;
	const char	*chans[] = { "news", "user.7.*" };
	struct buf	b;
	char		tok[TOKEN_MAX + 2], err[128];
	size_t		len, i, bad;
	enum token_result r;

	buf_init(&b, 0);
	ok(token_sign(&b, &keys.k[0], chans, 2, NOW + 60, "alice", "t-1") == 0,
	    "sign: a token");
	snprintf(tok, sizeof(tok), "%s", cstr(&b));
	len = strlen(tok);
	is_int(verify(tok, &c), TOKEN_OK, "verify: the signed token");
	ok(c.exp == NOW + 60 && c.has_sub && strcmp(c.sub, "alice") == 0 &&
	    c.has_jti && strcmp(c.jti, "t-1") == 0 && c.nchan == 2,
	    "verify: claims exp, sub, jti, channels");
	ok(token_covers(&c, "news", 4) && token_covers(&c, "user.7.x", 8) &&
	    !token_covers(&c, "user.8.x", 8) && !token_covers(&c, "new", 3),
	    "verify: the claims cover what they name");
	is_int(token_verify(&keys, tok, len, NOW + 60, &c, err, sizeof(err)),
	    TOKEN_EXPIRED, "verify: expired at exp");
	ok(c.has_sub && strcmp(c.sub, "alice") == 0,
	    "verify: an expired token's sub is still known");

	/* Every byte changed: never valid. */
	bad = 0;
	for (i = 0; i < len; i++) {
		char	save = tok[i];

		tok[i] = tok[i] == 'A' ? 'B' : 'A';
		if (verify(tok, &c) == TOKEN_OK)
			bad++;
		tok[i] = save;
	}
	is_int(bad, 0, "forged: no single changed byte verifies");
	/* Every cut: never valid. */
	bad = 0;
	for (i = 0; i < len; i++)
		if (token_verify(&keys, tok, i, NOW, &c, err, sizeof(err)) ==
		    TOKEN_OK || c.nchan != 0)
			bad++;
	is_int(bad, 0, "split: no prefix verifies or leaves claims");
	/* A dot anywhere: never valid. */
	bad = 0;
	for (i = 0; i <= len; i++) {
		char	t2[TOKEN_MAX + 2];

		memcpy(t2, tok, i);
		t2[i] = '.';
		memcpy(t2 + i + 1, tok + i, len - i + 1);
		if (verify(t2, &c) == TOKEN_OK)
			bad++;
	}
	is_int(bad, 0, "split: no token with a dot inserted verifies");

	/* Other keys. */
	buf_reset(&b);
	ok(token_sign(&b, &keys.k[1], chans, 1, NOW + 60, NULL, NULL) == 0 &&
	    verify(cstr(&b), &c) == TOKEN_OK && !c.has_sub && !c.has_jti,
	    "rotation: a token of the second key verifies");
	is_int(verify_forged("{\"alg\":\"HS256\",\"kid\":\"gone\"}",
	    "{\"exp\":1900000000,\"channels\":[\"a\"]}",
	    "second-secret-0123456789"), TOKEN_OK,
	    "rotation: an unknown kid tries every key");
	is_int(verify_forged("{\"alg\":\"HS256\",\"kid\":\"k1\"}",
	    "{\"exp\":1900000000,\"channels\":[\"a\"]}",
	    "second-secret-0123456789"), TOKEN_SIGNATURE,
	    "rotation: a known kid picks its key only");
	is_int(verify_forged("{\"alg\":\"HS256\"}",
	    "{\"exp\":1900000000,\"channels\":[\"a\"]}",
	    "another-secret-0123456789"), TOKEN_SIGNATURE,
	    "forged: an unknown secret");

	/* alg. */
	is_int(verify_forged("{\"alg\":\"none\",\"typ\":\"JWT\"}",
	    "{\"exp\":1900000000,\"channels\":[\"a\"]}", NULL), TOKEN_ALG,
	    "alg none refused");
	is_int(verify_forged("{\"alg\":\"HS512\"}",
	    "{\"exp\":1900000000,\"channels\":[\"a\"]}",
	    "first-secret-0123456789"), TOKEN_ALG, "alg HS512 refused");
	is_int(verify_forged("{\"alg\":\"RS256\"}",
	    "{\"exp\":1900000000,\"channels\":[\"a\"]}",
	    "first-secret-0123456789"), TOKEN_ALG,
	    "alg RS256 with an HMAC signature refused");
	is_int(verify_forged("{\"alg\":\"hs256\"}",
	    "{\"exp\":1900000000,\"channels\":[\"a\"]}",
	    "first-secret-0123456789"), TOKEN_ALG, "alg is case-sensitive");
	is_int(verify_forged("{\"typ\":\"JWT\"}",
	    "{\"exp\":1900000000,\"channels\":[\"a\"]}",
	    "first-secret-0123456789"), TOKEN_ALG, "alg missing refused");
	is_int(verify_forged("{\"alg\":\"HS256\",\"alg\":\"none\"}",
	    "{\"exp\":1900000000,\"channels\":[\"a\"]}",
	    "first-secret-0123456789"), TOKEN_MALFORMED,
	    "a header with alg twice refused");
	is_int(verify_forged("[\"HS256\"]",
	    "{\"exp\":1900000000,\"channels\":[\"a\"]}",
	    "first-secret-0123456789"), TOKEN_MALFORMED,
	    "a header that is not an object refused");

	/* Claims. */
	r = verify_forged("{\"alg\":\"HS256\"}",
	    "{\"exp\":1900000000,\"channels\":[\"a\"]}",
	    "first-secret-0123456789");
	is_int(r, TOKEN_OK, "claims: a minimal token (no typ, no kid)");
	is_int(verify_forged("{\"alg\":\"HS256\"}", "{\"channels\":[\"a\"]}",
	    "first-secret-0123456789"), TOKEN_CLAIMS, "claims: exp required");
	is_int(verify_forged("{\"alg\":\"HS256\"}",
	    "{\"exp\":\"1900000000\",\"channels\":[\"a\"]}",
	    "first-secret-0123456789"), TOKEN_CLAIMS,
	    "claims: exp must be a number");
	is_int(verify_forged("{\"alg\":\"HS256\"}", "{\"exp\":1900000000}",
	    "first-secret-0123456789"), TOKEN_CLAIMS,
	    "claims: channels required");
	is_int(verify_forged("{\"alg\":\"HS256\"}",
	    "{\"exp\":1900000000,\"channels\":[]}",
	    "first-secret-0123456789"), TOKEN_CLAIMS,
	    "claims: channels may not be empty");
	is_int(verify_forged("{\"alg\":\"HS256\"}",
	    "{\"exp\":1900000000,\"channels\":\"a\"}",
	    "first-secret-0123456789"), TOKEN_CLAIMS,
	    "claims: channels must be an array");
	is_int(verify_forged("{\"alg\":\"HS256\"}",
	    "{\"exp\":1900000000,\"channels\":[\"a b\"]}",
	    "first-secret-0123456789"), TOKEN_CLAIMS,
	    "claims: an invalid channel name");
	is_int(verify_forged("{\"alg\":\"HS256\"}",
	    "{\"exp\":1900000000,\"channels\":[1]}",
	    "first-secret-0123456789"), TOKEN_CLAIMS,
	    "claims: a channel must be a string");
	is_int(verify_forged("{\"alg\":\"HS256\"}",
	    "{\"exp\":1900000000,\"nbf\":1900000000,\"channels\":[\"a\"]}",
	    "first-secret-0123456789"), TOKEN_CLAIMS,
	    "claims: not before nbf");
	is_int(verify_forged("{\"alg\":\"HS256\"}",
	    "{\"exp\":1900000000,\"sub\":7,\"channels\":[\"a\"]}",
	    "first-secret-0123456789"), TOKEN_CLAIMS,
	    "claims: sub must be a string");
	is_int(verify_forged("{\"alg\":\"HS256\"}",
	    "{\"exp\":1900000000,\"exp\":1,\"channels\":[\"a\"]}",
	    "first-secret-0123456789"), TOKEN_CLAIMS,
	    "claims: a claim given twice");
	is_int(verify_forged("{\"alg\":\"HS256\"}",
	    "{\"exp\":1900000000,\"channels\":[\"a\"]} x",
	    "first-secret-0123456789"), TOKEN_CLAIMS,
	    "claims: trailing bytes after the object");
	{
		struct buf	cl;
		char		sub[TOKEN_ID_MAX + 2];

		buf_init(&cl, 0);
		buf_printf(&cl, "{\"exp\":1900000000,\"channels\":[");
		for (i = 0; i <= TOKEN_MAX_CHANNELS; i++)
			buf_printf(&cl, "%s\"c%zu\"", i ? "," : "", i);
		buf_printf(&cl, "]}");
		is_int(verify_forged("{\"alg\":\"HS256\"}", cstr(&cl),
		    "first-secret-0123456789"), TOKEN_CLAIMS,
		    "claims: over %d channels", TOKEN_MAX_CHANNELS);
		memset(sub, 'x', sizeof(sub) - 1);
		sub[sizeof(sub) - 1] = '\0';
		buf_reset(&cl);
		buf_printf(&cl, "{\"exp\":1900000000,\"sub\":\"%s\","
		    "\"channels\":[\"a\"]}", sub);
		is_int(verify_forged("{\"alg\":\"HS256\"}", cstr(&cl),
		    "first-secret-0123456789"), TOKEN_CLAIMS,
		    "claims: sub over %d bytes", TOKEN_ID_MAX);
		buf_free(&cl);
	}
	/* The example of jwt.io: signature right, claims ours are not. */
	{
		static const char jwtio[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXV"
		    "CJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaW"
		    "F0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_ad"
		    "Qssw5c";
		struct token_keys	jk;

		token_keys_parse(&jk, "io:your-256-bit-secret", 22, err,
		    sizeof(err));
		is_int(token_verify(&jk, jwtio, strlen(jwtio), NOW, &c, err,
		    sizeof(err)), TOKEN_CLAIMS, "jwt.io's HS256 example "
		    "verifies (no exp: claims refused)");
		is_int(verify(jwtio, &c), TOKEN_SIGNATURE,
		    "jwt.io's example with other keys: bad signature");
	}

	/* Shapes. */
	is_int(verify("", &c), TOKEN_MALFORMED, "shape: empty");
	is_int(verify("abc", &c), TOKEN_MALFORMED, "shape: one part");
	is_int(verify("a.b.c.d", &c), TOKEN_MALFORMED, "shape: four parts");
	is_int(verify("..", &c), TOKEN_MALFORMED, "shape: empty parts");
	is_int(verify("e30=.e30.x", &c), TOKEN_MALFORMED,
	    "shape: padded base64");
	memset(tok, 'a', TOKEN_MAX + 1);
	tok[10] = tok[20] = '.';
	is_int(token_verify(&keys, tok, TOKEN_MAX + 1, NOW, &c, err,
	    sizeof(err)), TOKEN_TOO_LONG, "oversized: over %d bytes",
	    TOKEN_MAX);
	/* Random input. */
	srandom(9);
	bad = 0;
	for (i = 0; i < 20000; i++) {
		size_t	n = (size_t)random() % 200, j;

		for (j = 0; j < n; j++)
			tok[j] = "eyJhbGciOiJIUzI1NiJ9.-_=+/ \0x"[random() % 30];
		if (token_verify(&keys, tok, n, NOW, &c, err, sizeof(err)) ==
		    TOKEN_OK)
			bad++;
	}
	is_int(bad, 0, "random: 20000 random strings never verify");
	buf_free(&b);
}

static void
req_of(struct http_req *r, const char *q)
{
	char	err[128];

	http_req_init(r);
	if (http_parse_query(r, q, "channel", 16, err, sizeof(err)) == -1)
		tap_diag("query %s: %s", q, err);
}

static void
test_auth(void)
{
	struct auth_conf	 ac;
	struct auth_revokes	 rv;
	struct auth_stats	 st;
	struct auth_grant	 g;
	struct auth_request	 ar;
	struct http_req		 req;
	struct buf		 b, q;
	const char		*chans[] = { "news", "user.7.*" };
	const char		*why;
	char			 tok[TOKEN_MAX + 1];
	size_t			 len;
	int			 i;

	memset(&ac, 0, sizeof(ac));
	memset(&rv, 0, sizeof(rv));
	memset(&st, 0, sizeof(st));
	memset(&ar, 0, sizeof(ar));
	buf_init(&b, 0);
	buf_init(&q, 0);

	req_of(&req, "channel=secret");
	is_int(auth_check(&ac, &rv, &req, &ar, NOW, &g, &why, &st), AUTH_OK,
	    "auth: without a key everything is open");
	ac.on = 1;
	ac.keys = keys;
	ok(auth_add_public(&ac, "public.*") == 0 &&
	    auth_add_public(&ac, "lobby") == 0 &&
	    auth_add_public(&ac, "a b") == -1, "auth: public patterns");
	http_req_free(&req);

	req_of(&req, "channel=lobby&channel=public.x");
	ok(auth_check(&ac, &rv, &req, &ar, NOW, &g, &why, &st) == AUTH_OK &&
	    !g.has && st.public == 1, "auth: public channels need no token");
	http_req_free(&req);

	req_of(&req, "channel=lobby&channel=news");
	ok(auth_check(&ac, &rv, &req, &ar, NOW, &g, &why, &st) ==
	    AUTH_DENIED && strcmp(why, "token required") == 0 &&
	    st.refused_missing == 1, "auth: a private channel needs a token");

	token_sign(&b, &keys.k[0], chans, 2, NOW + 30, "alice", "j1");
	buf_printf(&q, "channel=lobby&channel=news&token=%s", cstr(&b));
	http_req_free(&req);
	req_of(&req, cstr(&q));
	ar.query = cstr(&q);
	ok(auth_check(&ac, &rv, &req, &ar, NOW, &g, &why, &st) == AUTH_OK &&
	    g.has && g.exp == NOW + 30 && strcmp(g.sub, "alice") == 0 &&
	    st.accepted == 1, "auth: token in the query");
	ok(http_req_channel(&req, 0, NULL) != NULL && req.nchan == 2,
	    "auth: the token param is not a channel");

	http_req_free(&req);
	req_of(&req, "channel=user.8.inbox");
	ar.query = "channel=user.8.inbox";
	buf_reset(&q);
	buf_printf(&q, "Bearer %s", cstr(&b));
	ar.authorization = cstr(&q);
	ok(auth_check(&ac, &rv, &req, &ar, NOW, &g, &why, &st) ==
	    AUTH_DENIED && strcmp(why, "token does not cover the channel") ==
	    0 && st.refused_channel == 1, "auth: Bearer, channel not covered");
	http_req_free(&req);
	req_of(&req, "channel=user.7.inbox");
	ar.query = "channel=user.7.inbox";
	is_int(auth_check(&ac, &rv, &req, &ar, NOW, &g, &why, &st), AUTH_OK,
	    "auth: Bearer, a prefix* channel");
	is_int(auth_check(&ac, &rv, &req, &ar, NOW + 30, &g, &why, &st),
	    AUTH_EXPIRED, "auth: expired is not a refusal");
	is_str(why, "expired", "auth: ... but reason expired");

	/* Cookie: only with --token-cookie. */
	ar.authorization = NULL;
	buf_reset(&q);
	buf_printf(&q, "theme=dark; sse=%s; x=1", cstr(&b));
	ar.cookie = cstr(&q);
	is_int(auth_check(&ac, &rv, &req, &ar, NOW, &g, &why, &st),
	    AUTH_DENIED, "auth: cookies unread without --token-cookie");
	ac.cookie = "sse";
	is_int(auth_check(&ac, &rv, &req, &ar, NOW, &g, &why, &st), AUTH_OK,
	    "auth: the token cookie");
	ok(auth_find_token(&ac, &ar, tok, sizeof(tok), &len) == 1 &&
	    len == buf_used(&b) && memcmp(tok, buf_head(&b), len) == 0,
	    "auth: the cookie's value exactly");
	ar.cookie = "sse=abc.def.ghi";
	ok(auth_check(&ac, &rv, &req, &ar, NOW, &g, &why, &st) ==
	    AUTH_DENIED && st.refused_malformed == 1,
	    "auth: a malformed cookie token");
	ar.cookie = "ssex=1; xsse=2";
	ok(auth_find_token(&ac, &ar, tok, sizeof(tok), &len) == 0,
	    "auth: cookie names match whole");
	ar.cookie = NULL;
	ar.authorization = "Basic dXNlcjpwYXNz";
	ok(auth_find_token(&ac, &ar, tok, sizeof(tok), &len) == 0,
	    "auth: Basic credentials are not a token");
	ar.authorization = "bearer   x.y.z  ";
	ok(auth_find_token(&ac, &ar, tok, sizeof(tok), &len) == 1 &&
	    strcmp(tok, "x.y.z") == 0, "auth: bearer, any case, spaces");
	ar.authorization = NULL;
	ar.query = "token=a%2Eb.c&channel=x";
	ok(auth_find_token(&ac, &ar, tok, sizeof(tok), &len) == 1 &&
	    strcmp(tok, "a.b.c") == 0, "auth: the query token percent-decoded");
	ar.query = "token=a%zz";
	is_int(auth_find_token(&ac, &ar, tok, sizeof(tok), &len), -1,
	    "auth: a bad escape in the query token");
	buf_reset(&q);
	buf_printf(&q, "token=");
	for (i = 0; i < TOKEN_MAX + 1; i++)
		buf_append_byte(&q, 'a');
	ar.query = cstr(&q);
	ok(auth_check(&ac, &rv, &req, &ar, NOW, &g, &why, &st) ==
	    AUTH_DENIED && strstr(why, "too long") != NULL,
	    "auth: a token over %d bytes", TOKEN_MAX);

	/* Revocation. */
	buf_reset(&q);
	buf_printf(&q, "Bearer %s", cstr(&b));
	ar.query = NULL;
	ar.authorization = cstr(&q);
	ok(auth_revokes_add(&rv, AUTH_KIND_SUB, "alice", 5, NOW + 10, NOW) ==
	    0, "revoke: sub alice");
	ok(auth_check(&ac, &rv, &req, &ar, NOW, &g, &why, &st) ==
	    AUTH_EXPIRED && strcmp(why, "revoked") == 0 && st.revoked == 1,
	    "revoke: the token is answered revoked");
	ok(auth_grant_matches(&g, AUTH_KIND_SUB, "alice", 5) &&
	    !auth_grant_matches(&g, AUTH_KIND_SUB, "alic", 4) &&
	    auth_grant_matches(&g, AUTH_KIND_JTI, "j1", 2) &&
	    !auth_grant_matches(&g, AUTH_KIND_JTI, "alice", 5),
	    "revoke: a grant matches its sub and jti");
	is_int(auth_check(&ac, &rv, &req, &ar, NOW + 10, &g, &why, &st),
	    AUTH_OK, "revoke: over at its time");
	ok(auth_revokes_add(&rv, AUTH_KIND_SUB, "alice", 5, NOW + 20, NOW) ==
	    0 && rv.n == 1 && rv.v[0].until == NOW + 20,
	    "revoke: the same again extends it");
	ok(auth_revokes_add(&rv, 0, "x", 1, NOW + 20, NOW) == -1 &&
	    auth_revokes_add(&rv, AUTH_KIND_JTI, "", 0, NOW + 20, NOW) == -1,
	    "revoke: bad kind or empty value refused");
	for (i = 0; i < AUTH_MAX_REVOKES - 1; i++) {
		char	v[32];

		snprintf(v, sizeof(v), "j%d", i);
		if (auth_revokes_add(&rv, AUTH_KIND_JTI, v, strlen(v),
		    NOW + 5, NOW) == -1)
			break;
	}
	ok(i == AUTH_MAX_REVOKES - 1 && auth_revokes_add(&rv, AUTH_KIND_JTI,
	    "more", 4, NOW + 5, NOW) == -1, "revoke: bounded at %d",
	    AUTH_MAX_REVOKES);
	ok(auth_revokes_add(&rv, AUTH_KIND_JTI, "more", 4, NOW + 9,
	    NOW + 5) == 0 && rv.n == 2, "revoke: past ones dropped to make "
	    "room");
	is_int(auth_kind("sub", 3), AUTH_KIND_SUB, "revoke: kind sub");
	is_int(auth_kind("jtx", 3), 0, "revoke: unknown kind");

	/* The event. */
	buf_reset(&q);
	g.has = 1;
	g.exp = 1700000000;
	ok(auth_expired_event(&q, "expired", &g) == 0, "event: built");
	is_str(cstr(&q), "retry: 3600000\nevent: token-expired\ndata: "
	    "{\"reason\":\"expired\",\"exp\":1700000000}\n\n",
	    "event: retry, type, JSON data, no id");

	http_req_free(&req);
	buf_free(&b);
	buf_free(&q);
	auth_revokes_free(&rv);
	for (i = 0; i < (int)ac.npublic; i++)
		free(ac.public[i]);
}

int
main(void)
{
	const char	*k = "k1:first-secret-0123456789\n"
			    "k2:second-secret-0123456789\n";
	char		 err[128];

	if (token_keys_parse(&keys, k, strlen(k), err, sizeof(err)) == -1) {
		printf("Bail out! keys: %s\n", err);
		return (1);
	}
	test_b64url();
	test_keys();
	test_patterns();
	test_verify();
	test_auth();
	tap_done();
	return (tap_exit_status());
}
