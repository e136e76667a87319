/* SPDX-License-Identifier: ISC */
/*
 * The numbers of the fastsse wire protocol: version, limits, roles,
 * message types, error codes and reset reasons.  A file that needs only
 * these includes this header and not proto.h, which adds the encoders,
 * the decoder and <msgpack.h>.
 *
 * Bump PROTO_VERSION whenever any message below changes shape.
 */
#ifndef PROTODEFS_H
#define PROTODEFS_H

#define PROTO_VERSION		1
#define PROTO_HEADER_LEN	4		/* the length prefix */
#define PROTO_MAX_FRAME		(1024 * 1024)	/* payload bytes, hard limit */
#define PROTO_MAX_CHANNELS	64		/* per SUBSCRIBE/UNSUBSCRIBE */
#define PROTO_MAX_DEPTH		16		/* nesting of arrays/maps in data */
#define PROTO_IDEM_KEY_MAX	255		/* bytes of a PUBLISH_ONCE key */
#define PROTO_MAX_COUNTS	1024		/* channels per STREAM_COUNTS */

/* Roles a client announces in HELLO; a bit set. */
#define PROTO_ROLE_PUBLISHER	0x1
#define PROTO_ROLE_SUBSCRIBER	0x2
#define PROTO_ROLE_BOTH		(PROTO_ROLE_PUBLISHER | PROTO_ROLE_SUBSCRIBER)

/*
 * Message types, numbered in ranges by purpose.  The layout of each array
 * is given as [type, fields...]; "ref" is a number the client chooses and
 * the broker echoes in the answer, so requests can be pipelined.  Any
 * unsigned ref is accepted, but ERROR uses ref 0 for errors that answer no
 * request in particular, so clients that need to tell them apart use refs
 * from 1 up.
 */
enum proto_type {
	/* Session, 1-9. */
	PROTO_HELLO = 1,	/* c->b [1, version, role] */
	PROTO_WELCOME = 2,	/* b->c [2, version, epoch] */
	PROTO_ERROR = 3,	/* b->c [3, ref, code, message] */
	PROTO_PING = 4,		/* c->b [4, ref] */
	PROTO_PONG = 5,		/* b->c [5, ref] */

	/* Publishing, 10-19. */
	PROTO_PUBLISH = 10,	/* c->b [10, ref, channel, type|nil, data] */
	PROTO_PUBLISHED = 11,	/* b->c [11, ref, id] */
	PROTO_PUBLISH_ONCE = 12,/* c->b [12, ref, channel, type|nil, data, key];
				   answered by PUBLISHED, with the first id
				   when key was seen in the last 300 s */

	/* Subscribing, 20-29. */
	PROTO_SUBSCRIBE = 20,	/* c->b [20, ref, [channel, ...], last_id|nil] */
	PROTO_SUBSCRIBED = 21,	/* b->c [21, ref, head_id, nreplay] */
	PROTO_RESET = 22,	/* b->c [22, ref, reason, oldest_id|nil, head_id] */
	PROTO_UNSUBSCRIBE = 23,	/* c->b [23, ref, [channel, ...]] */
	PROTO_UNSUBSCRIBED = 24,/* b->c [24, ref] */
	PROTO_EVENT = 25,	/* b->c [25, channel, id, type, data] */

	/* Stream counts, 30-39: a responder tells how many browser streams
	   it holds per channel; no answer. */
	PROTO_STREAM_COUNTS = 30, /* c->b [30, full, {channel: count, ...}] */

	/* Statistics, 40-49. */
	PROTO_STATS = 40,	/* c->b [40, ref] */
	PROTO_STATS_REPLY = 41,	/* b->c [41, ref, {name: uint, ...}] */
	PROTO_CHANNEL_STATS = 42, /* c->b [42, ref, [channel, ...]] */
	PROTO_CHANNEL_STATS_REPLY = 43,	/* b->c [43, ref, channel,
				   {name: uint, ...}, oldest_id|nil,
				   last_id|nil], one per channel asked */

	/* Revocation of subscribe tokens, 50-59. */
	PROTO_REVOKE = 50,	/* c->b [50, ref, kind, value, until] */
	PROTO_REVOKED = 51,	/* b->c [51, ref] */
	PROTO_REVOCATIONS = 52,	/* c->b [52, ref]: send me revocations */
	PROTO_REVOCATION = 53,	/* b->c [53, kind, value, until] */
};

/* Error codes carried by PROTO_ERROR. */
enum proto_error {
	PROTO_E_VERSION = 1,	/* HELLO with a version we do not speak */
	PROTO_E_ROLE = 2,	/* bad role, or a request the role forbids */
	PROTO_E_MALFORMED = 3,	/* not a frame of this protocol (then close) */
	PROTO_E_TOO_BIG = 4,	/* frame or event over the limit */
	PROTO_E_CHANNEL = 5,	/* invalid channel name */
	PROTO_E_TYPE = 6,	/* invalid or reserved event type */
	PROTO_E_DATA = 7,	/* data not UTF-8 or of a refused type */
	PROTO_E_TOO_MANY = 8,	/* too many channels: in one request, for
				   the connection or for the broker */
	PROTO_E_HELLO = 9,	/* first frame was not HELLO */
	PROTO_E_INTERNAL = 10,	/* the broker could not do it (memory) */
	PROTO_E_TIMEOUT = 11,	/* no HELLO, or a frame left unfinished, in
				   time (then close) */
	PROTO_E_BUSY = 12,	/* a broker-wide budget is used up: input
				   (then close) or replay; retry later */
	PROTO_E_STORE = 13,	/* the store could not write (disk full,
				   I/O error): publish refused, retry */
	PROTO_E_UNAVAILABLE = 14, /* the shared store (Redis) is unreachable
				   or timed out: publish, or a replay it
				   must serve, refused; retry later */
};

/* Reasons carried by PROTO_RESET. */
#define PROTO_RESET_PRUNED	"pruned"	/* events after the id are gone */
#define PROTO_RESET_EPOCH	"epoch"		/* id from another broker run */
#define PROTO_RESET_MALFORMED	"malformed"	/* id could not be parsed */
#define PROTO_RESET_LOST	"lost"		/* id among those a crash lost */

/* What a REVOKE names: a token's "sub" or its "jti" claim. */
#define PROTO_REVOKE_SUB	"sub"
#define PROTO_REVOKE_JTI	"jti"
#define PROTO_REVOKE_VALUE_MAX	128		/* bytes of the value */
#define PROTO_REVOKE_MAX	10000		/* held by the broker at once */
#define PROTO_REVOKE_MAX_TTL	(366 * 86400)	/* until at most this ahead */

#endif
