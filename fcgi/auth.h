/* SPDX-License-Identifier: ISC */
/*
 * Who may open a stream: with --token-key, a stream needs a signed token
 * (token.h) covering each channel it asks for, unless the channel is
 * public (--public-channel).  Pure functions over the request's params
 * and the time; the responder keeps one auth_conf, one revocation list
 * (fed by the broker) and the counters.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "token.h"

#define AUTH_MAX_PUBLIC		64	/* --public-channel patterns */
#define AUTH_MAX_REVOKES	10000	/* revocations held at once */
#define AUTH_EXPIRED_RETRY_MS	3600000	/* retry: with token-expired */
#define AUTH_COOKIE_MAX		64	/* bytes of --token-cookie */
#define AUTH_QUERY_PARAM	"token"

/* What a revocation names. */
enum auth_kind {
	AUTH_KIND_SUB = 1,
	AUTH_KIND_JTI = 2,
};

struct auth_conf {
	int			 on;		/* a key file was given */
	struct token_keys	 keys;
	size_t			 npublic;
	char			*public[AUTH_MAX_PUBLIC];
	const char		*cookie;	/* NULL: cookies not read */
};

/* The token a stream was opened with (has == 0: none was needed). */
struct auth_grant {
	int		 has;
	int64_t		 exp;
	int		 has_sub;
	int		 has_jti;
	char		 sub[TOKEN_ID_MAX + 1];
	char		 jti[TOKEN_ID_MAX + 1];
};

struct auth_revoke {
	int		 kind;
	int64_t		 until;
	char		 value[TOKEN_ID_MAX + 1];
};

/* Revoked subjects and token ids, each until its own time. */
struct auth_revokes {
	size_t			 n;
	size_t			 cap;
	struct auth_revoke	*v;
};

/* Counters: streams let in, and refused by reason. */
struct auth_stats {
	uint64_t	accepted;	/* with a token */
	uint64_t	public;		/* public channels only, no token */
	uint64_t	refused_missing;
	uint64_t	refused_malformed;	/* also too long */
	uint64_t	refused_alg;
	uint64_t	refused_signature;
	uint64_t	refused_claims;
	uint64_t	refused_channel;	/* not covered */
	uint64_t	expired;	/* at open: 200 + token-expired */
	uint64_t	revoked;	/* at open: 200 + token-expired */
	uint64_t	expired_open;	/* open streams ended at expiry */
	uint64_t	revoked_open;	/* open streams ended by revocation */
	uint64_t	revokes_dropped; /* revocations over AUTH_MAX_REVOKES */
};

enum auth_result {
	AUTH_OK,	/* open the stream */
	AUTH_DENIED,	/* 403 with the reason */
	AUTH_EXPIRED,	/* 200 with token-expired (reason "expired" or
			   "revoked"), then the end */
};

/* The request as the web server passes it. */
struct auth_request {
	const char	*query;		/* QUERY_STRING */
	const char	*cookie;	/* HTTP_COOKIE */
	const char	*authorization;	/* HTTP_AUTHORIZATION */
};

extern struct auth_conf		auth_conf;
extern struct auth_revokes	auth_revokes;
extern struct auth_stats	auth_stats;

/* Adds a --public-channel pattern; -1 if it is not a name or prefix*. */
int	auth_add_public(struct auth_conf *, const char *);
void	auth_conf_free(struct auth_conf *);

/*
 * Decides whether req may stream its channels now.  On AUTH_OK *grant
 * says which token it rests on; on AUTH_EXPIRED too (for the event).
 * reason is set to a short text for a 403 or to "expired"/"revoked".
 * Each outcome is counted in st (may be NULL).
 */
enum auth_result auth_check(const struct auth_conf *,
	    const struct auth_revokes *, const struct http_req *,
	    const struct auth_request *, int64_t now, struct auth_grant *,
	    const char **reason, struct auth_stats *st);

/* Finds the token: Authorization Bearer, then ?token=, then the cookie. */
int	auth_find_token(const struct auth_conf *, const struct auth_request *,
	    char *out, size_t outsize, size_t *outlen);

/*
 * Adds a revocation (kind, value) until the given time, replacing one of
 * the same kind and value with the later time; revocations already over
 * are dropped first.  -1 when AUTH_MAX_REVOKES are held (the caller
 * counts it) or memory fails.
 */
int	auth_revokes_add(struct auth_revokes *, int kind, const char *,
	    size_t, int64_t until, int64_t now);
int	auth_revoked(const struct auth_revokes *, const struct auth_grant *,
	    int64_t now);
void	auth_revokes_free(struct auth_revokes *);
/* Whether a stream's grant is named by the revocation. */
int	auth_grant_matches(const struct auth_grant *, int kind, const char *,
	    size_t);
/* "sub" / "jti" to a kind; 0 if neither. */
int	auth_kind(const char *, size_t);

/*
 * The token-expired event ending a stream: a long retry:, then
 * "event: token-expired" with {"reason":R,"exp":N} (exp only when the
 * grant has one).
 */
int	auth_expired_event(struct buf *, const char *reason,
	    const struct auth_grant *);

#endif
