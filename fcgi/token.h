/* SPDX-License-Identifier: ISC */
/*
 * Subscribe tokens: JSON Web Tokens signed with HMAC-SHA256 (HS256), and
 * the key files that hold their secrets.  Pure functions over bytes, with
 * the time passed in; no socket, no logging, so every refusal is unit-
 * tested.  The responder checks tokens (auth.c), the fastsse command
 * mints them.
 */
#ifndef TOKEN_H
#define TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define TOKEN_MAX		4096	/* bytes of a token; longer refused */
#define TOKEN_MAX_CHANNELS	64	/* names and patterns in "channels" */
#define TOKEN_ID_MAX		128	/* bytes of "sub" and of "jti" */
#define TOKEN_KID_MAX		64	/* bytes of a key id */
#define TOKEN_SECRET_MIN	16	/* bytes of a secret, at least */
#define TOKEN_SECRET_MAX	512
#define TOKEN_MAX_KEYS		16	/* lines of a key file */
#define TOKEN_KEYFILE_MAX	(64 * 1024)

struct token_key {
	char		 kid[TOKEN_KID_MAX + 1];
	size_t		 len;
	unsigned char	 secret[TOKEN_SECRET_MAX];
};

/* A key file: the first key signs, every key verifies. */
struct token_keys {
	size_t		 n;
	struct token_key k[TOKEN_MAX_KEYS];
};

/* What a verified token grants.  Names point into names[]. */
struct token_claims {
	int64_t		 exp;
	int		 has_sub;
	int		 has_jti;
	char		 sub[TOKEN_ID_MAX + 1];
	char		 jti[TOKEN_ID_MAX + 1];
	size_t		 nchan;
	uint16_t	 chan_off[TOKEN_MAX_CHANNELS];
	uint16_t	 chan_len[TOKEN_MAX_CHANNELS];
	char		 names[TOKEN_MAX];
};

enum token_result {
	TOKEN_OK = 0,
	TOKEN_MALFORMED,	/* not three base64url parts of JSON */
	TOKEN_TOO_LONG,		/* over TOKEN_MAX */
	TOKEN_ALG,		/* alg other than HS256 (none, RS256, ...) */
	TOKEN_SIGNATURE,	/* no key gives this signature */
	TOKEN_CLAIMS,		/* signed, but exp/channels missing or bad */
	TOKEN_EXPIRED,		/* signed and well-formed, exp passed */
};

/*
 * Parses a key file's text: one "kid:secret" per line, blank lines and
 * lines starting with '#' skipped.  0, or -1 with the reason in err.
 */
int	token_keys_parse(struct token_keys *, const char *text, size_t len,
	    char *err, size_t errlen);
/* Reads and parses the file at path (at most TOKEN_KEYFILE_MAX bytes). */
int	token_keys_load(struct token_keys *, const char *path, char *err,
	    size_t errlen);
/* Overwrites the secrets. */
void	token_keys_clear(struct token_keys *);

/*
 * Checks tok[0..len): HS256 signature by one of keys (the header's kid
 * picks one, else each is tried), then the claims.  The claims are filled
 * for TOKEN_OK and TOKEN_EXPIRED only (an expired token's sub and jti are
 * still known).  err gets a short reason for anything else.
 */
enum token_result token_verify(const struct token_keys *, const char *tok,
	    size_t len, int64_t now, struct token_claims *, char *err,
	    size_t errlen);
const char *token_result_name(enum token_result);

/* The i-th channel or pattern of the claims (NUL-terminated). */
const char *token_channel(const struct token_claims *, size_t i,
	    size_t *len);
/* Whether the claims cover the channel (a name or a "prefix*" match). */
int	token_covers(const struct token_claims *, const char *, size_t);
/*
 * Whether pattern (a channel name, or "prefix*" for every name starting
 * with prefix; "*" alone matches all) matches name.
 */
int	token_match(const char *pat, size_t patlen, const char *name,
	    size_t namelen);
/* Whether s is a valid channel name or "prefix*" pattern. */
int	token_pattern_valid(const char *, size_t);

/*
 * Appends a token signed with key to out: claims channels[0..n), exp,
 * and sub and jti unless NULL.  0, or -1 (a bad channel, out full).
 */
int	token_sign(struct buf *out, const struct token_key *key,
	    const char *const *channels, size_t n, int64_t exp,
	    const char *sub, const char *jti);

/* base64url without padding, as JWT uses it; out has room for the result. */
size_t	token_b64url_encode(const unsigned char *, size_t, char *out);
/* -1 on a character outside the alphabet, a bad length or bad trailing bits. */
int	token_b64url_decode(const char *, size_t, unsigned char *out,
	    size_t outsize, size_t *outlen);

#endif
