/*
 * The fastsse wire protocol between the broker and its clients (publishers,
 * the FastCGI responder, the fastsse command).  shared/PROTOCOL.md is the
 * reference for people writing their own client; this header is the C view.
 *
 * A connection is a Unix stream socket carrying frames.  A frame is a 4-byte
 * big-endian payload length followed by that many bytes holding exactly one
 * MessagePack array whose first element is the message type.  The first
 * frame a client sends is HELLO; the broker answers WELCOME or ERROR+close.
 *
 * Encoding and decoding are pure functions over byte buffers: no fd, no
 * logging, so they are tested byte by byte without a socket.
 *
 * Bump PROTO_VERSION whenever any message below changes shape.
 */
#ifndef PROTO_H
#define PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "buf.h"

#define PROTO_VERSION		1
#define PROTO_HEADER_LEN	4		/* the length prefix */
#define PROTO_MAX_FRAME		(1024 * 1024)	/* payload bytes, hard limit */
#define PROTO_MAX_CHANNELS	64		/* per SUBSCRIBE/UNSUBSCRIBE */
#define PROTO_MAX_DEPTH		16		/* nesting of arrays/maps in data */

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

	/* Subscribing, 20-29. */
	PROTO_SUBSCRIBE = 20,	/* c->b [20, ref, [channel, ...], last_id|nil] */
	PROTO_SUBSCRIBED = 21,	/* b->c [21, ref, head_id, nreplay] */
	PROTO_RESET = 22,	/* b->c [22, ref, reason, oldest_id|nil, head_id] */
	PROTO_UNSUBSCRIBE = 23,	/* c->b [23, ref, [channel, ...]] */
	PROTO_UNSUBSCRIBED = 24,/* b->c [24, ref] */
	PROTO_EVENT = 25,	/* b->c [25, channel, id, type, data] */

	/* Statistics, 40-49. */
	PROTO_STATS = 40,	/* c->b [40, ref] */
	PROTO_STATS_REPLY = 41,	/* b->c [41, ref, {name: uint, ...}] */
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
};

/* Reasons carried by PROTO_RESET. */
#define PROTO_RESET_PRUNED	"pruned"	/* events after the id are gone */
#define PROTO_RESET_EPOCH	"epoch"		/* id from another broker run */
#define PROTO_RESET_MALFORMED	"malformed"	/* id could not be parsed */

/* A string inside a decoded frame: points into the frame bytes. */
struct proto_str {
	const char	*ptr;
	uint32_t	 len;
};

/*
 * A decoded frame.  Strings and objects point into the input buffer and
 * into msg->unpacked's zone: they live until proto_msg_free() and while
 * the input bytes are untouched.  Optional fields have ptr == NULL when nil.
 */
struct proto_msg {
	int			type;
	uint64_t		ref;	/* 0 for types without one */
	union {
		struct {
			uint64_t	version;
			uint64_t	role;
		} hello;
		struct {
			uint64_t	version;
			struct proto_str epoch;
		} welcome;
		struct {
			uint64_t	code;
			struct proto_str message;
		} error;
		struct {
			struct proto_str channel;
			struct proto_str type;		/* ptr NULL: absent */
			const msgpack_object *data;	/* any type */
		} publish;
		struct {
			struct proto_str id;
		} published;
		struct {	/* SUBSCRIBE and UNSUBSCRIBE */
			uint32_t	 nchannels;
			const msgpack_object *channels;	/* all of type STR */
			struct proto_str last_id;	/* ptr NULL: absent */
		} subscribe;
		struct {
			struct proto_str head_id;
			uint64_t	 nreplay;
		} subscribed;
		struct {
			struct proto_str reason;
			struct proto_str oldest_id;	/* ptr NULL: absent */
			struct proto_str head_id;
		} reset;
		struct {
			struct proto_str channel;
			struct proto_str id;
			struct proto_str type;
			struct proto_str data;
		} event;
		struct {
			uint32_t	 n;
			const msgpack_object_kv *kv;	/* keys STR, values
							   POSITIVE_INTEGER */
		} stats;
	} u;
	msgpack_unpacked	unpacked;
};

enum proto_decode_result {
	PROTO_BAD = -1,		/* invalid input: err says why; drop the peer */
	PROTO_MORE = 0,		/* not a whole frame yet */
	PROTO_OK = 1,		/* *msg filled, *used bytes consumed */
};

/*
 * Decodes one frame from buf[0..len).  max_frame bounds the payload length
 * (at most PROTO_MAX_FRAME); a larger length is PROTO_BAD as soon as the
 * header is seen.  On PROTO_OK the caller must proto_msg_free(msg).
 */
int	proto_decode(const void *buf, size_t len, size_t max_frame,
	    struct proto_msg *msg, size_t *used, char *err, size_t errlen);
void	proto_msg_free(struct proto_msg *);
const char *proto_type_name(int);

/*
 * Encoders append one whole frame to b and return 0, or return -1 and
 * leave b as it was (frame over PROTO_MAX_FRAME, or b's bound reached).
 * Strings are (pointer, length); a NULL pointer encodes nil where the
 * layout allows nil.
 */
int	proto_encode_hello(struct buf *b, uint64_t version, uint64_t role);
int	proto_encode_welcome(struct buf *b, uint64_t version,
	    const char *epoch, size_t epochlen);
int	proto_encode_error(struct buf *b, uint64_t ref, uint64_t code,
	    const char *msg, size_t msglen);
int	proto_encode_ping(struct buf *b, uint64_t ref);
int	proto_encode_pong(struct buf *b, uint64_t ref);
int	proto_encode_publish(struct buf *b, uint64_t ref,
	    const char *channel, size_t channellen,
	    const char *type, size_t typelen,
	    const char *data, size_t datalen);
/* Like proto_encode_publish, the data given as raw MessagePack bytes. */
int	proto_encode_publish_raw(struct buf *b, uint64_t ref,
	    const char *channel, size_t channellen,
	    const char *type, size_t typelen,
	    const void *mpdata, size_t mpdatalen);
int	proto_encode_published(struct buf *b, uint64_t ref,
	    const char *id, size_t idlen);
int	proto_encode_subscribe(struct buf *b, uint64_t ref,
	    const struct proto_str *channels, size_t nchannels,
	    const char *last_id, size_t last_idlen);
int	proto_encode_subscribed(struct buf *b, uint64_t ref,
	    const char *head_id, size_t head_idlen, uint64_t nreplay);
int	proto_encode_reset(struct buf *b, uint64_t ref,
	    const char *reason, size_t reasonlen,
	    const char *oldest_id, size_t oldest_idlen,
	    const char *head_id, size_t head_idlen);
int	proto_encode_unsubscribe(struct buf *b, uint64_t ref,
	    const struct proto_str *channels, size_t nchannels);
int	proto_encode_unsubscribed(struct buf *b, uint64_t ref);
int	proto_encode_event(struct buf *b,
	    const char *channel, size_t channellen,
	    const char *id, size_t idlen,
	    const char *type, size_t typelen,
	    const char *data, size_t datalen);
int	proto_encode_stats(struct buf *b, uint64_t ref);
int	proto_encode_stats_reply(struct buf *b, uint64_t ref,
	    const char *const *names, const uint64_t *values, size_t n);

#endif
