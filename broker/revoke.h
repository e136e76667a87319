/* SPDX-License-Identifier: ISC */
/*
 * The broker's list of revoked subscribe tokens (by "sub" or "jti"), each
 * kept until its own time, so a responder that connects later still
 * learns of it.  Pure: the time is passed in, nothing is sent here.
 */
#ifndef REVOKE_H
#define REVOKE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "protodefs.h"

struct revoke {
	uint64_t	until;
	char		kind[4];
	char		value[PROTO_REVOKE_VALUE_MAX + 1];
};

struct revoke_list {
	size_t		 n;
	size_t		 cap;
	struct revoke	*v;
	uint64_t	 added;		/* REVOKE taken */
	uint64_t	 refused;	/* REVOKE refused (bad, full) */
};

enum revoke_result {
	REVOKE_ADDED,	/* new, or a later time for one held */
	REVOKE_HELD,	/* held already until then or later */
	REVOKE_BAD,	/* kind, value or time not acceptable (err says) */
	REVOKE_FULL,	/* PROTO_REVOKE_MAX held */
	REVOKE_NOMEM,
};

/*
 * Adds (kind, value) until the given time (seconds since the epoch),
 * after dropping the revocations that are over.  The time must be after
 * now and at most PROTO_REVOKE_MAX_TTL ahead.
 */
enum revoke_result revoke_add(struct revoke_list *, const char *kind,
	    size_t kindlen, const char *value, size_t valuelen, uint64_t until,
	    uint64_t now, char *err, size_t errlen);
/* Drops the revocations over at now. */
void	revoke_expire(struct revoke_list *, uint64_t now);
/* Appends a REVOCATION frame for each one held; 0 or -1 (b full). */
int	revoke_encode_all(const struct revoke_list *, struct buf *);
void	revoke_free(struct revoke_list *);

#endif
