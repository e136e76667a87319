/* SPDX-License-Identifier: ISC */
/*
 * The broker's revocation list (broker/revoke.c) without a socket: what
 * is taken and refused, the bound and its policy, expiry, and the
 * REVOCATION frames it encodes, decoded back.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "proto.h"
#include "revoke.h"
#include "tap.h"

#define NOW	1800000000ULL

static enum revoke_result
add(struct revoke_list *rl, const char *kind, const char *v, uint64_t until,
    uint64_t now)
{
	char	err[128];

	return (revoke_add(rl, kind, strlen(kind), v, strlen(v), until, now,
	    err, sizeof(err)));
}

int
main(void)
{
	struct revoke_list	 rl;
	struct proto_msg	 m;
	struct buf		 b;
	char			 v[PROTO_REVOKE_VALUE_MAX + 2], err[128];
	size_t			 used, off, n;
	int			 i;

	memset(&rl, 0, sizeof(rl));
	is_int(add(&rl, "sub", "alice", NOW + 60, NOW), REVOKE_ADDED,
	    "a sub is taken");
	is_int(add(&rl, "jti", "t-1", NOW + 60, NOW), REVOKE_ADDED,
	    "a jti is taken");
	is_int(add(&rl, "sub", "alice", NOW + 30, NOW), REVOKE_HELD,
	    "the same, sooner: already held");
	is_int(add(&rl, "sub", "alice", NOW + 90, NOW), REVOKE_ADDED,
	    "the same, later: the time is extended");
	ok(rl.n == 2 && rl.v[0].until == NOW + 90, "... in place");
	is_int(add(&rl, "jti", "alice", NOW + 90, NOW), REVOKE_ADDED,
	    "kinds are apart");
	is_int(add(&rl, "iss", "x", NOW + 60, NOW), REVOKE_BAD, "a bad kind");
	is_int(add(&rl, "su", "x", NOW + 60, NOW), REVOKE_BAD, "a short kind");
	is_int(add(&rl, "sub", "", NOW + 60, NOW), REVOKE_BAD, "an empty value");
	memset(v, 'x', PROTO_REVOKE_VALUE_MAX + 1);
	v[PROTO_REVOKE_VALUE_MAX + 1] = '\0';
	is_int(add(&rl, "sub", v, NOW + 60, NOW), REVOKE_BAD,
	    "a value over %d bytes", PROTO_REVOKE_VALUE_MAX);
	v[PROTO_REVOKE_VALUE_MAX] = '\0';
	is_int(add(&rl, "sub", v, NOW + 60, NOW), REVOKE_ADDED,
	    "a value of %d bytes", PROTO_REVOKE_VALUE_MAX);
	is_int(add(&rl, "sub", "\xff", NOW + 60, NOW), REVOKE_BAD,
	    "a value not UTF-8");
	ok(revoke_add(&rl, "sub", 3, "a\0b", 3, NOW + 60, NOW, err,
	    sizeof(err)) == REVOKE_BAD, "a value with a NUL");
	is_int(add(&rl, "sub", "bob", NOW, NOW), REVOKE_BAD, "until now");
	is_int(add(&rl, "sub", "bob", NOW + PROTO_REVOKE_MAX_TTL + 1, NOW),
	    REVOKE_BAD, "until over %d s ahead", PROTO_REVOKE_MAX_TTL);
	is_int(add(&rl, "sub", "bob", NOW + PROTO_REVOKE_MAX_TTL, NOW),
	    REVOKE_ADDED, "until %d s ahead", PROTO_REVOKE_MAX_TTL);

	/* Encoded and decoded back. */
	buf_init(&b, 0);
	ok(revoke_encode_all(&rl, &b) == 0, "encode all");
	for (off = 0, n = 0; off < buf_used(&b); off += used, n++) {
		if (proto_decode(buf_head(&b) + off, buf_used(&b) - off,
		    PROTO_MAX_FRAME, &m, &used, err, sizeof(err)) != PROTO_OK)
			break;
		if (n == 0)
			ok(m.type == PROTO_REVOCATION && m.u.revoke.kind.len ==
			    3 && memcmp(m.u.revoke.kind.ptr, "sub", 3) == 0 &&
			    m.u.revoke.value.len == 5 && memcmp(
			    m.u.revoke.value.ptr, "alice", 5) == 0 &&
			    m.u.revoke.until == NOW + 90,
			    "the first frame is sub alice until its time");
		proto_msg_free(&m);
	}
	ok(off == buf_used(&b) && n == rl.n, "one REVOCATION each (%zu)", n);

	/* Expiry. */
	revoke_expire(&rl, NOW + 60);
	is_int(rl.n, 3, "those over at their time are dropped");
	revoke_expire(&rl, NOW + PROTO_REVOKE_MAX_TTL);
	is_int(rl.n, 0, "all over");

	/* The bound: refused, nothing forgotten; room once some are over. */
	for (i = 0; i < PROTO_REVOKE_MAX; i++) {
		snprintf(v, sizeof(v), "j%d", i);
		if (add(&rl, "jti", v, NOW + (i < 10 ? 10 : 100), NOW) !=
		    REVOKE_ADDED)
			break;
	}
	is_int(i, PROTO_REVOKE_MAX, "%d taken", PROTO_REVOKE_MAX);
	is_int(add(&rl, "jti", "more", NOW + 100, NOW), REVOKE_FULL,
	    "one more is refused");
	is_int(rl.n, PROTO_REVOKE_MAX, "... and none forgotten");
	is_int(add(&rl, "jti", "j5", NOW + 200, NOW), REVOKE_ADDED,
	    "a held one may still be extended");
	is_int(add(&rl, "jti", "more", NOW + 100, NOW + 10), REVOKE_ADDED,
	    "room once some are over");
	is_int(rl.n, PROTO_REVOKE_MAX - 9 + 1, "the nine over were dropped");

	buf_free(&b);
	revoke_free(&rl);
	tap_done();
	return (tap_exit_status());
}
