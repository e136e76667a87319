/* SPDX-License-Identifier: ISC */
/*
 * Revoked tokens (see revoke.h).
 *
 * Bound and policy: at most PROTO_REVOKE_MAX revocations are held; one
 * over it is refused with ERROR TOO_MANY (conn.c counts it in
 * revoke_refusals) rather than dropping an older one, which would let a
 * revoked token back in.  Each is held until its own "until", which the
 * sender gives as the latest expiry of the tokens it means (the fastsse
 * command's default: a day) and which may be at most
 * PROTO_REVOKE_MAX_TTL ahead; once over it is dropped, since every token
 * it named has expired by then.  The broker's memory for them is so at
 * most PROTO_REVOKE_MAX * sizeof(struct revoke), about 1.4 MB.  They are
 * not written to disk: a broker restart forgets them (the responders keep
 * their own copies until they restart).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "proto.h"
#include "revoke.h"
#include "validate.h"

void
revoke_expire(struct revoke_list *rl, uint64_t now)
{
	size_t	i, j;

	for (i = j = 0; i < rl->n; i++)
		if (rl->v[i].until > now)
			rl->v[j++] = rl->v[i];
	rl->n = j;
}

enum revoke_result
revoke_add(struct revoke_list *rl, const char *kind, size_t kindlen,
    const char *value, size_t valuelen, uint64_t until, uint64_t now,
    char *err, size_t errlen)
{
	struct revoke	*nv;
	size_t		 i, cap;

	if (!(kindlen == 3 && (memcmp(kind, PROTO_REVOKE_SUB, 3) == 0 ||
	    memcmp(kind, PROTO_REVOKE_JTI, 3) == 0))) {
		snprintf(err, errlen, "kind must be %s or %s",
		    PROTO_REVOKE_SUB, PROTO_REVOKE_JTI);
		return (REVOKE_BAD);
	}
	if (valuelen == 0 || valuelen > PROTO_REVOKE_VALUE_MAX ||
	    memchr(value, '\0', valuelen) != NULL ||
	    validate_utf8(value, valuelen) == -1) {
		snprintf(err, errlen, "value must be 1 to %d bytes of UTF-8",
		    PROTO_REVOKE_VALUE_MAX);
		return (REVOKE_BAD);
	}
	if (until <= now || until - now > PROTO_REVOKE_MAX_TTL) {
		snprintf(err, errlen, "until must be after now and at most "
		    "%d seconds ahead", PROTO_REVOKE_MAX_TTL);
		return (REVOKE_BAD);
	}
	revoke_expire(rl, now);
	for (i = 0; i < rl->n; i++) {
		if (memcmp(rl->v[i].kind, kind, 3) != 0 ||
		    strlen(rl->v[i].value) != valuelen ||
		    memcmp(rl->v[i].value, value, valuelen) != 0)
			continue;
		if (rl->v[i].until >= until)
			return (REVOKE_HELD);
		rl->v[i].until = until;
		return (REVOKE_ADDED);
	}
	if (rl->n == PROTO_REVOKE_MAX) {
		snprintf(err, errlen, "%d revocations held: rotate the token "
		    "key instead", PROTO_REVOKE_MAX);
		return (REVOKE_FULL);
	}
	if (rl->n == rl->cap) {
		cap = rl->cap == 0 ? 16 : rl->cap * 2;
		if (cap > PROTO_REVOKE_MAX)
			cap = PROTO_REVOKE_MAX;
		if ((nv = reallocarray(rl->v, cap, sizeof(*nv))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return (REVOKE_NOMEM);
		}
		rl->v = nv;
		rl->cap = cap;
	}
	memcpy(rl->v[rl->n].kind, kind, 3);
	rl->v[rl->n].kind[3] = '\0';
	memcpy(rl->v[rl->n].value, value, valuelen);
	rl->v[rl->n].value[valuelen] = '\0';
	rl->v[rl->n].until = until;
	rl->n++;
	return (REVOKE_ADDED);
}

int
revoke_encode_all(const struct revoke_list *rl, struct buf *b)
{
	size_t	i, mark = buf_used(b);

	for (i = 0; i < rl->n; i++)
		if (proto_encode_revocation(b, rl->v[i].kind, 3,
		    rl->v[i].value, strlen(rl->v[i].value),
		    rl->v[i].until) == -1) {
			buf_truncate(b, mark);
			return (-1);
		}
	return (0);
}

void
revoke_free(struct revoke_list *rl)
{
	free(rl->v);
	memset(rl, 0, sizeof(*rl));
}
