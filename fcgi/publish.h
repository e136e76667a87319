/* SPDX-License-Identifier: ISC */
/*
 * Publishing over HTTP: POST /events?channel=X with a publish key.  The
 * request's checks, body decoding and answers, as pure functions tested
 * without a socket; pubreq.c runs them for a request in the loop.
 */
#ifndef PUBLISH_H
#define PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PUBLISH_MAX_BODY	(256 * 1024)	/* request body bytes */
#define PUBLISH_MAX_KEYS	64		/* lines of --publish-key */
#define PUBLISH_KEY_MIN		16		/* bytes of a publish key */
#define PUBLISH_KEY_MAX		1024
#define PUBLISH_IDEM_MAX	255		/* bytes of Idempotency-Key */
#define PUBLISH_RETRY_AFTER	5		/* seconds, with a 503 */

struct publish_keys {
	size_t		 n;
	char		*key[PUBLISH_MAX_KEYS];
	size_t		 len[PUBLISH_MAX_KEYS];
};

enum publish_ctype {
	PUBLISH_CT_TEXT,	/* text/plain, or none: the body is the data */
	PUBLISH_CT_JSON,	/* application/json: the body is the data */
	PUBLISH_CT_FORM,	/* application/x-www-form-urlencoded */
	PUBLISH_CT_OTHER,	/* refused: 415 */
};

/* What a POST asks to publish, decoded; the strings are NUL-terminated. */
struct publish_msg {
	struct buf	 channel;
	struct buf	 type;		/* empty: "message" */
	struct buf	 data;
};

/* Parses the key file's text: one key a line; -1 and err on a bad one. */
int	publish_keys_parse(struct publish_keys *, const char *, size_t,
	    char *err, size_t errlen);
void	publish_keys_free(struct publish_keys *);
/*
 * Whether an Authorization value is "Bearer KEY" with one of the keys.
 * Every key is compared, each in constant time, so the time taken says
 * nothing about how much of a key matched.
 */
int	publish_keys_check(const struct publish_keys *, const char *authz);
/* Constant-time equality of two byte strings of the same length. */
int	publish_ct_equal(const void *, const void *, size_t);
enum publish_ctype publish_ctype(const char *content_type);
/* Whether an Accept header asks for application/json. */
int	publish_accepts_json(const char *accept);
/*
 * The value of field name in an application/x-www-form-urlencoded
 * string, decoded and appended to out (NUL-terminated): 1 found, 0
 * absent, -1 malformed or given twice.
 */
int	publish_form_field(const char *, size_t, const char *name,
	    struct buf *out);
/*
 * Decodes a POST: the channel and type from the query (channel_param,
 * "type") or, for a form, its fields topic, type and data; otherwise the
 * body is the data.  0, or an HTTP status (400, 415) with err.
 */
void	publish_msg_init(struct publish_msg *);
void	publish_msg_free(struct publish_msg *);
int	publish_decode(struct publish_msg *, const char *query,
	    const char *channel_param, enum publish_ctype, const char *body,
	    size_t len, char *err, size_t errlen);
/* Whether an Idempotency-Key value is acceptable (1-255 visible ASCII). */
int	publish_idem_ok(const char *);
/* The 201 answer: the id as text, or {"id":"..."}. */
int	publish_created(struct buf *, const char *id, size_t idlen, int json);
/* An error answer, with WWW-Authenticate (401) or Retry-After (503). */
int	publish_error(struct buf *, int status, const char *reason);

#endif
