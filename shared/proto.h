/* SPDX-License-Identifier: ISC */
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
 * The protocol's numbers (version, limits, message types, error codes)
 * are in protodefs.h.  Bump PROTO_VERSION whenever any message changes
 * shape.
 */
#ifndef PROTO_H
#define PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "buf.h"
#include "protodefs.h"

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
			struct proto_str key;		/* PUBLISH_ONCE only */
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
		struct {	/* REVOKE and REVOCATION */
			struct proto_str kind;
			struct proto_str value;
			uint64_t	 until;
		} revoke;
		struct {	/* STREAM_COUNTS */
			uint64_t	 full;	/* replaces all reported */
			uint32_t	 n;
			const msgpack_object_kv *kv;	/* channel: count */
		} counts;
		struct {	/* CHANNEL_STATS_REPLY */
			struct proto_str channel;
			uint32_t	 n;
			const msgpack_object_kv *kv;	/* name: uint */
			struct proto_str oldest_id;	/* ptr NULL: none */
			struct proto_str last_id;	/* ptr NULL: none */
		} chstats;
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
/* One MessagePack object, every declared length within len: 0, or -1. */
int	proto_object_ok(const void *p, size_t len);

/* Like proto_encode_publish, the data given as raw MessagePack bytes. */
int	proto_encode_publish_raw(struct buf *b, uint64_t ref,
	    const char *channel, size_t channellen,
	    const char *type, size_t typelen,
	    const void *mpdata, size_t mpdatalen);
/* PUBLISH_ONCE: a publish the broker makes at most once per key. */
int	proto_encode_publish_once(struct buf *b, uint64_t ref,
	    const char *channel, size_t channellen,
	    const char *type, size_t typelen,
	    const char *data, size_t datalen,
	    const char *key, size_t keylen);
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
/*
 * The same frame written at dst, which has exactly proto_event_size()
 * bytes (a frame over PROTO_MAX_FRAME is the caller's to refuse): so that
 * an event is encoded once, straight into its own allocation.
 */
size_t	proto_event_size(size_t channellen, size_t idlen, size_t typelen,
	    size_t datalen);
void	proto_encode_event_at(char *dst, size_t size,
	    const char *channel, size_t channellen,
	    const char *id, size_t idlen,
	    const char *type, size_t typelen,
	    const char *data, size_t datalen);
/*
 * The id inside an EVENT frame as proto_encode_event made it (header
 * included), without decoding the rest: so that the id formatted for the
 * frame also answers the publish.  0, or -1 when frame is not such a frame.
 */
int	proto_event_id(const char *frame, size_t len, const char **id,
	    size_t *idlen);
int	proto_encode_stats(struct buf *b, uint64_t ref);
int	proto_encode_stats_reply(struct buf *b, uint64_t ref,
	    const char *const *names, const uint64_t *values, size_t n);
int	proto_encode_revoke(struct buf *b, uint64_t ref,
	    const char *kind, size_t kindlen,
	    const char *value, size_t valuelen, uint64_t until);
int	proto_encode_revoked(struct buf *b, uint64_t ref);
int	proto_encode_revocations(struct buf *b, uint64_t ref);
int	proto_encode_revocation(struct buf *b,
	    const char *kind, size_t kindlen,
	    const char *value, size_t valuelen, uint64_t until);
/* STREAM_COUNTS: n channels (names[i], counts[i]); full 0 or 1. */
int	proto_encode_stream_counts(struct buf *b, int full,
	    const struct proto_str *names, const uint64_t *counts, size_t n);
/* CHANNEL_STATS: its channels are read as u.subscribe once decoded. */
int	proto_encode_channel_stats(struct buf *b, uint64_t ref,
	    const struct proto_str *channels, size_t nchannels);
int	proto_encode_channel_stats_reply(struct buf *b, uint64_t ref,
	    const char *channel, size_t channellen,
	    const char *const *names, const uint64_t *values, size_t n,
	    const char *oldest_id, size_t oldest_idlen,
	    const char *last_id, size_t last_idlen);

#endif
