/* SPDX-License-Identifier: ISC */
/*
 * Encoding and decoding of fastsse frames (see proto.h, PROTOCOL.md).
 *
 * Bounds: an encoded frame's payload is at most PROTO_MAX_FRAME bytes and
 * must fit the destination buffer's own bound; otherwise the encoder fails
 * and the buffer is left exactly as it was.  The decoder refuses a length
 * prefix over max_frame as soon as the four header bytes are in, before any
 * payload is buffered, and it checks every declared string, array and map
 * length against the bytes actually present before msgpack-c allocates
 * anything, so decoding a frame of n bytes allocates at most about
 * n * sizeof(msgpack_object) bytes (each element takes at least one byte),
 * never what a lying header claims.  Nesting deeper than PROTO_MAX_DEPTH
 * is refused.  Every refusal is PROTO_BAD with a reason; counting them is
 * the caller's business (it owns the connection).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "buf.h"
#include "proto.h"

/* Kinds of array element a message layout may ask for. */
#define PROTO_F_UINT	'u'	/* non-negative integer */
#define PROTO_F_REF	'r'	/* request reference */
#define PROTO_F_STR	's'	/* string */
#define PROTO_F_STRNIL	'S'	/* string or nil */
#define PROTO_F_ANY	'a'	/* any object */
#define PROTO_F_CHANS	'c'	/* array of strings; the count is checked by
				   the receiver, which can answer per request */
#define PROTO_F_STATS	'm'	/* map of string to non-negative integer */

/* The array layout of each message, after the type element. */
struct proto_layout {
	int		 type;
	const char	*name;
	const char	*fields;
	const char	*names[5];
};

static const struct proto_layout proto_layouts[] = {
	{ PROTO_HELLO, "HELLO", "uu", { "version", "role" } },
	{ PROTO_WELCOME, "WELCOME", "us", { "version", "epoch" } },
	{ PROTO_ERROR, "ERROR", "rus", { "ref", "code", "message" } },
	{ PROTO_PING, "PING", "r", { "ref" } },
	{ PROTO_PONG, "PONG", "r", { "ref" } },
	{ PROTO_PUBLISH, "PUBLISH", "rsSa",
	    { "ref", "channel", "type", "data" } },
	{ PROTO_PUBLISHED, "PUBLISHED", "rs", { "ref", "id" } },
	{ PROTO_PUBLISH_ONCE, "PUBLISH_ONCE", "rsSas",
	    { "ref", "channel", "type", "data", "key" } },
	{ PROTO_SUBSCRIBE, "SUBSCRIBE", "rcS",
	    { "ref", "channels", "last_id" } },
	{ PROTO_SUBSCRIBED, "SUBSCRIBED", "rsu",
	    { "ref", "head_id", "nreplay" } },
	{ PROTO_RESET, "RESET", "rsSs",
	    { "ref", "reason", "oldest_id", "head_id" } },
	{ PROTO_UNSUBSCRIBE, "UNSUBSCRIBE", "rc", { "ref", "channels" } },
	{ PROTO_UNSUBSCRIBED, "UNSUBSCRIBED", "r", { "ref" } },
	{ PROTO_EVENT, "EVENT", "ssss", { "channel", "id", "type", "data" } },
	{ PROTO_STREAM_COUNTS, "STREAM_COUNTS", "um", { "full", "counts" } },
	{ PROTO_CHANNEL_STATS, "CHANNEL_STATS", "rc", { "ref", "channels" } },
	{ PROTO_CHANNEL_STATS_REPLY, "CHANNEL_STATS_REPLY", "rsmSS",
	    { "ref", "channel", "stats", "oldest_id", "last_id" } },
	{ PROTO_STATS, "STATS", "r", { "ref" } },
	{ PROTO_STATS_REPLY, "STATS_REPLY", "rm", { "ref", "stats" } },
	{ PROTO_REVOKE, "REVOKE", "rssu", { "ref", "kind", "value", "until" } },
	{ PROTO_REVOKED, "REVOKED", "r", { "ref" } },
	{ PROTO_REVOCATIONS, "REVOCATIONS", "r", { "ref" } },
	{ PROTO_REVOCATION, "REVOCATION", "ssu", { "kind", "value", "until" } },
};

/* An encoder's state: where the frame started, whether a write failed. */
struct proto_frame {
	struct buf	*b;
	size_t		 start;		/* buf_used() before the header */
	int		 failed;
	msgpack_packer	 pk;
};

static const struct proto_layout *proto_layout_find(int);
static int	proto_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	proto_scan(const unsigned char *, size_t, size_t *, int,
		    char *, size_t);
static int	proto_check_field(const struct proto_layout *, size_t,
		    const msgpack_object *, char *, size_t);
static void	proto_fill(struct proto_msg *, const msgpack_object *);
static int	proto_write_cb(void *, const char *, size_t);
static void	proto_begin(struct proto_frame *, struct buf *, size_t);
static int	proto_end(struct proto_frame *);
static void	proto_pack_uint(struct proto_frame *, uint64_t);
static void	proto_pack_str(struct proto_frame *, const char *, size_t);
static void	proto_pack_str_or_nil(struct proto_frame *, const char *,
		    size_t);
static void	proto_pack_channels(struct proto_frame *,
		    const struct proto_str *, size_t);

static const struct proto_layout *
proto_layout_find(int type)
{
	size_t	i;

	for (i = 0; i < sizeof(proto_layouts) / sizeof(proto_layouts[0]); i++) {
		if (proto_layouts[i].type == type)
			return (&proto_layouts[i]);
	}
	return (NULL);
}

/* The name of a message type for logs; "unknown" for others. */
const char *
proto_type_name(int type)
{
	const struct proto_layout	*l;

	if ((l = proto_layout_find(type)) == NULL)
		return ("unknown");
	return (l->name);
}

/* Writes a reason into the caller's buffer (if any); returns PROTO_BAD. */
static int
proto_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return (PROTO_BAD);
}

/*
 * Walks one MessagePack object at p[*off..len) without building it, so
 * that every declared length is checked against the bytes present before
 * msgpack-c allocates room for it (an array header may claim four billion
 * elements in five bytes).  Advances *off past the object; 0 or -1.
 */
static int
proto_scan(const unsigned char *p, size_t len, size_t *off, int depth,
    char *err, size_t errlen)
{
	size_t		 o = *off, left, hdr = 0, body = 0, n = 0, i, w;
	unsigned int	 c;
	int		 container = 0;	/* 1 array, 2 map */

	if (depth > PROTO_MAX_DEPTH) {
		proto_err(err, errlen, "objects nested deeper than %d",
		    PROTO_MAX_DEPTH);
		return (-1);
	}
	if (o >= len)
		goto truncated;
	c = p[o];
	left = len - o - 1;

	if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
		hdr = 1;				/* fixint, nil, bool */
	else if (c >= 0xa0 && c <= 0xbf) {
		hdr = 1;				/* fixstr */
		body = c & 0x1f;
	} else if (c >= 0x90 && c <= 0x9f) {
		hdr = 1;				/* fixarray */
		n = c & 0x0f;
		container = 1;
	} else if (c >= 0x80 && c <= 0x8f) {
		hdr = 1;				/* fixmap */
		n = c & 0x0f;
		container = 2;
	} else {
		switch (c) {
		case 0xcc: case 0xd0: hdr = 2; break;	/* 8-bit ints */
		case 0xcd: case 0xd1: hdr = 3; break;
		case 0xca: case 0xce: case 0xd2: hdr = 5; break;
		case 0xcb: case 0xcf: case 0xd3: hdr = 9; break;
		case 0xd4: hdr = 2; body = 1; break;	/* fixext */
		case 0xd5: hdr = 2; body = 2; break;
		case 0xd6: hdr = 2; body = 4; break;
		case 0xd7: hdr = 2; body = 8; break;
		case 0xd8: hdr = 2; body = 16; break;
		case 0xc4: case 0xd9: w = 1; goto sized;	/* bin, str */
		case 0xc5: case 0xda: w = 2; goto sized;
		case 0xc6: case 0xdb: w = 4; goto sized;
		case 0xc7: w = 1; hdr = 1; goto sized;	/* ext: + type */
		case 0xc8: w = 2; hdr = 1; goto sized;
		case 0xc9: w = 4; hdr = 1; goto sized;
		case 0xdc: w = 2; container = 1; goto sized;
		case 0xdd: w = 4; container = 1; goto sized;
		case 0xde: w = 2; container = 2; goto sized;
		case 0xdf: w = 4; container = 2; goto sized;
		default:
			proto_err(err, errlen, "invalid MessagePack byte 0x%02x",
			    c);
			return (-1);
		sized:
			if (left < w)
				goto truncated;
			for (i = 0; i < w; i++)
				n = (n << 8) | p[o + 1 + i];
			hdr += 1 + w;
			if (container == 0) {
				body = n;
				n = 0;
			}
			break;
		}
	}
	if (hdr - 1 > left || body > left - (hdr - 1))
		goto truncated;
	o += hdr + body;

	if (container != 0) {
		/* Each element takes at least one byte. */
		if (container == 2) {
			if (n > (len - o) / 2)
				goto truncated;
			n *= 2;
		} else if (n > len - o)
			goto truncated;
		for (i = 0; i < n; i++) {
			if (proto_scan(p, len, &o, depth + 1, err, errlen) == -1)
				return (-1);
		}
	}
	*off = o;
	return (0);

truncated:
	proto_err(err, errlen, "MessagePack object runs past the frame end");
	return (-1);
}

/* Checks element i (0 is the first after the type) against the layout. */
static int
proto_check_field(const struct proto_layout *l, size_t i,
    const msgpack_object *o, char *err, size_t errlen)
{
	const msgpack_object	*e;
	uint32_t		 j;

	switch (l->fields[i]) {
	case PROTO_F_REF:	/* 0 is allowed: it just matches no request */
	case PROTO_F_UINT:
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return (proto_err(err, errlen,
			    "%s: %s must be a non-negative integer", l->name,
			    l->names[i]));
		return (0);
	case PROTO_F_STR:
		if (o->type != MSGPACK_OBJECT_STR)
			return (proto_err(err, errlen,
			    "%s: %s must be a string", l->name, l->names[i]));
		return (0);
	case PROTO_F_STRNIL:
		if (o->type != MSGPACK_OBJECT_STR &&
		    o->type != MSGPACK_OBJECT_NIL)
			return (proto_err(err, errlen,
			    "%s: %s must be a string or nil", l->name,
			    l->names[i]));
		return (0);
	case PROTO_F_ANY:
		return (0);
	case PROTO_F_CHANS:
		if (o->type != MSGPACK_OBJECT_ARRAY)
			return (proto_err(err, errlen,
			    "%s: channels must be an array", l->name));
		for (j = 0; j < o->via.array.size; j++) {
			if (o->via.array.ptr[j].type != MSGPACK_OBJECT_STR)
				return (proto_err(err, errlen,
				    "%s: channel %u must be a string", l->name,
				    (unsigned)j + 1));
		}
		return (0);
	case PROTO_F_STATS:
		if (o->type != MSGPACK_OBJECT_MAP)
			return (proto_err(err, errlen,
			    "%s: stats must be a map", l->name));
		for (j = 0; j < o->via.map.size; j++) {
			e = &o->via.map.ptr[j].key;
			if (e->type != MSGPACK_OBJECT_STR)
				return (proto_err(err, errlen,
				    "%s: stats key %u must be a string",
				    l->name, (unsigned)j + 1));
			e = &o->via.map.ptr[j].val;
			if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
				return (proto_err(err, errlen,
				    "%s: stats value %u must be a non-negative "
				    "integer", l->name, (unsigned)j + 1));
		}
		return (0);
	}
	return (proto_err(err, errlen, "%s: bad layout", l->name));
}

static struct proto_str
proto_str_of(const msgpack_object *o)
{
	struct proto_str	s = { NULL, 0 };

	if (o->type == MSGPACK_OBJECT_STR) {
		/* An empty string must still read as present. */
		s.ptr = o->via.str.size > 0 ? o->via.str.ptr : "";
		s.len = o->via.str.size;
	}
	return (s);
}

/* Copies the checked elements of array a into msg's fields. */
static void
proto_fill(struct proto_msg *msg, const msgpack_object *a)
{
	const msgpack_object	*e = a + 1;	/* after the type */

	switch (msg->type) {
	case PROTO_HELLO:
		msg->u.hello.version = e[0].via.u64;
		msg->u.hello.role = e[1].via.u64;
		break;
	case PROTO_WELCOME:
		msg->u.welcome.version = e[0].via.u64;
		msg->u.welcome.epoch = proto_str_of(&e[1]);
		break;
	case PROTO_ERROR:
		msg->ref = e[0].via.u64;
		msg->u.error.code = e[1].via.u64;
		msg->u.error.message = proto_str_of(&e[2]);
		break;
	case PROTO_PING:
	case PROTO_PONG:
	case PROTO_UNSUBSCRIBED:
	case PROTO_STATS:
		msg->ref = e[0].via.u64;
		break;
	case PROTO_PUBLISH:
		msg->ref = e[0].via.u64;
		msg->u.publish.channel = proto_str_of(&e[1]);
		msg->u.publish.type = proto_str_of(&e[2]);
		msg->u.publish.data = &e[3];
		break;
	case PROTO_PUBLISH_ONCE:
		msg->ref = e[0].via.u64;
		msg->u.publish.channel = proto_str_of(&e[1]);
		msg->u.publish.type = proto_str_of(&e[2]);
		msg->u.publish.data = &e[3];
		msg->u.publish.key = proto_str_of(&e[4]);
		break;
	case PROTO_PUBLISHED:
		msg->ref = e[0].via.u64;
		msg->u.published.id = proto_str_of(&e[1]);
		break;
	case PROTO_SUBSCRIBE:
	case PROTO_UNSUBSCRIBE:
	case PROTO_CHANNEL_STATS:
		msg->ref = e[0].via.u64;
		msg->u.subscribe.nchannels = e[1].via.array.size;
		msg->u.subscribe.channels = e[1].via.array.ptr;
		if (msg->type == PROTO_SUBSCRIBE)
			msg->u.subscribe.last_id = proto_str_of(&e[2]);
		break;
	case PROTO_SUBSCRIBED:
		msg->ref = e[0].via.u64;
		msg->u.subscribed.head_id = proto_str_of(&e[1]);
		msg->u.subscribed.nreplay = e[2].via.u64;
		break;
	case PROTO_RESET:
		msg->ref = e[0].via.u64;
		msg->u.reset.reason = proto_str_of(&e[1]);
		msg->u.reset.oldest_id = proto_str_of(&e[2]);
		msg->u.reset.head_id = proto_str_of(&e[3]);
		break;
	case PROTO_EVENT:
		msg->u.event.channel = proto_str_of(&e[0]);
		msg->u.event.id = proto_str_of(&e[1]);
		msg->u.event.type = proto_str_of(&e[2]);
		msg->u.event.data = proto_str_of(&e[3]);
		break;
	case PROTO_STATS_REPLY:
		msg->ref = e[0].via.u64;
		msg->u.stats.n = e[1].via.map.size;
		msg->u.stats.kv = e[1].via.map.ptr;
		break;
	case PROTO_REVOKE:
		msg->ref = e[0].via.u64;
		msg->u.revoke.kind = proto_str_of(&e[1]);
		msg->u.revoke.value = proto_str_of(&e[2]);
		msg->u.revoke.until = e[3].via.u64;
		break;
	case PROTO_REVOKED:
	case PROTO_REVOCATIONS:
		msg->ref = e[0].via.u64;
		break;
	case PROTO_REVOCATION:
		msg->u.revoke.kind = proto_str_of(&e[0]);
		msg->u.revoke.value = proto_str_of(&e[1]);
		msg->u.revoke.until = e[2].via.u64;
		break;
	case PROTO_STREAM_COUNTS:
		msg->u.counts.full = e[0].via.u64;
		msg->u.counts.n = e[1].via.map.size;
		msg->u.counts.kv = e[1].via.map.ptr;
		break;
	case PROTO_CHANNEL_STATS_REPLY:
		msg->ref = e[0].via.u64;
		msg->u.chstats.channel = proto_str_of(&e[1]);
		msg->u.chstats.n = e[2].via.map.size;
		msg->u.chstats.kv = e[2].via.map.ptr;
		msg->u.chstats.oldest_id = proto_str_of(&e[3]);
		msg->u.chstats.last_id = proto_str_of(&e[4]);
		break;
	}
}

/*
 * Decodes the frame at the front of buf, if it is all there.  The checks
 * run in the order that lets a hostile peer cost least: the length prefix
 * first, then a walk over the raw bytes, then msgpack-c, then the layout.
 */
int
proto_decode(const void *buf, size_t len, size_t max_frame,
    struct proto_msg *msg, size_t *used, char *err, size_t errlen)
{
	const unsigned char		*p = buf;
	const struct proto_layout	*l;
	const msgpack_object		*top, *a;
	size_t				 plen, off, i, nfields;
	int				 rv;

	memset(msg, 0, sizeof(*msg));
	*used = 0;
	if (max_frame == 0 || max_frame > PROTO_MAX_FRAME)
		max_frame = PROTO_MAX_FRAME;
	if (len < PROTO_HEADER_LEN)
		return (PROTO_MORE);
	plen = ((size_t)p[0] << 24) | ((size_t)p[1] << 16) |
	    ((size_t)p[2] << 8) | (size_t)p[3];
	if (plen > max_frame)
		return (proto_err(err, errlen,
		    "frame of %zu bytes is over the limit of %zu", plen,
		    max_frame));
	if (plen == 0)
		return (proto_err(err, errlen, "empty frame"));
	if (len - PROTO_HEADER_LEN < plen)
		return (PROTO_MORE);
	p += PROTO_HEADER_LEN;

	off = 0;
	if (proto_scan(p, plen, &off, 0, err, errlen) == -1)
		return (PROTO_BAD);
	if (off != plen)
		return (proto_err(err, errlen,
		    "trailing bytes after the message (%zu)", plen - off));

	msgpack_unpacked_init(&msg->unpacked);
	off = 0;
	rv = msgpack_unpack_next(&msg->unpacked, (const char *)p, plen, &off);
	if (rv != MSGPACK_UNPACK_SUCCESS || off != plen) {
		proto_err(err, errlen, "undecodable MessagePack (%d)", rv);
		goto bad;
	}

	top = &msg->unpacked.data;
	if (top->type != MSGPACK_OBJECT_ARRAY) {
		proto_err(err, errlen, "message is not an array");
		goto bad;
	}
	if (top->via.array.size == 0) {
		proto_err(err, errlen, "message is an empty array");
		goto bad;
	}
	a = top->via.array.ptr;
	if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		proto_err(err, errlen,
		    "message type must be a non-negative integer");
		goto bad;
	}
	if (a[0].via.u64 > INT32_MAX ||
	    (l = proto_layout_find((int)a[0].via.u64)) == NULL) {
		proto_err(err, errlen, "unknown message type %llu",
		    (unsigned long long)a[0].via.u64);
		goto bad;
	}
	nfields = strlen(l->fields);
	if (top->via.array.size != nfields + 1) {
		proto_err(err, errlen, "%s: %u elements, must be %zu", l->name,
		    (unsigned)top->via.array.size, nfields + 1);
		goto bad;
	}
	for (i = 0; i < nfields; i++) {
		if (proto_check_field(l, i, &a[i + 1], err, errlen) != 0)
			goto bad;
	}

	msg->type = l->type;
	proto_fill(msg, a);
	*used = PROTO_HEADER_LEN + plen;
	return (PROTO_OK);

bad:
	msgpack_unpacked_destroy(&msg->unpacked);
	return (PROTO_BAD);
}

/* Releases what proto_decode allocated; safe to call twice. */
void
proto_msg_free(struct proto_msg *msg)
{
	msgpack_unpacked_destroy(&msg->unpacked);
}

/* The packer's output: append to the frame's buffer, remember failure. */
static int
proto_write_cb(void *arg, const char *p, size_t n)
{
	struct proto_frame	*f = arg;

	if (f->failed)
		return (-1);
	if (n > PROTO_MAX_FRAME || buf_append(f->b, p, n) == -1) {
		f->failed = 1;
		return (-1);
	}
	return (0);
}

/*
 * Starts a frame of an array of n elements: room for the length prefix,
 * filled in by proto_end once the payload size is known.  The start is
 * kept as a count of bytes before it (buf_used), which a growing buffer's
 * compaction does not change.
 */
static void
proto_begin(struct proto_frame *f, struct buf *b, size_t n)
{
	static const char	zero[PROTO_HEADER_LEN];

	f->b = b;
	f->start = buf_used(b);
	f->failed = 0;
	msgpack_packer_init(&f->pk, f, proto_write_cb);
	if (buf_append(b, zero, sizeof(zero)) == -1) {
		f->failed = 1;
		return;
	}
	msgpack_pack_array(&f->pk, n);
}

/* Finishes the frame, or undoes it entirely; 0 or -1. */
static int
proto_end(struct proto_frame *f)
{
	struct buf	*b = f->b;
	unsigned char	*h;
	size_t		 plen = 0;

	if (!f->failed) {
		plen = buf_used(b) - f->start - PROTO_HEADER_LEN;
		if (plen > PROTO_MAX_FRAME)
			f->failed = 1;
	}
	if (f->failed) {
		buf_truncate(b, f->start);
		return (-1);
	}
	h = (unsigned char *)buf_head(b) + f->start;
	h[0] = (plen >> 24) & 0xff;
	h[1] = (plen >> 16) & 0xff;
	h[2] = (plen >> 8) & 0xff;
	h[3] = plen & 0xff;
	return (0);
}

static void
proto_pack_uint(struct proto_frame *f, uint64_t v)
{
	if (!f->failed)
		msgpack_pack_uint64(&f->pk, v);
}

/* Packs a string; NULL is taken as empty. */
static void
proto_pack_str(struct proto_frame *f, const char *s, size_t len)
{
	if (f->failed)
		return;
	if (len > PROTO_MAX_FRAME || (s == NULL && len != 0)) {
		f->failed = 1;
		return;
	}
	msgpack_pack_str(&f->pk, len);
	if (len > 0)
		msgpack_pack_str_body(&f->pk, s, len);
}

static void
proto_pack_str_or_nil(struct proto_frame *f, const char *s, size_t len)
{
	if (f->failed)
		return;
	if (s == NULL)
		msgpack_pack_nil(&f->pk);
	else
		proto_pack_str(f, s, len);
}

static void
proto_pack_channels(struct proto_frame *f, const struct proto_str *ch,
    size_t n)
{
	size_t	i;

	if (f->failed)
		return;
	if (n == 0 || n > PROTO_MAX_CHANNELS) {
		f->failed = 1;
		return;
	}
	msgpack_pack_array(&f->pk, n);
	for (i = 0; i < n; i++)
		proto_pack_str(f, ch[i].ptr, ch[i].len);
}

int
proto_encode_hello(struct buf *b, uint64_t version, uint64_t role)
{
	struct proto_frame	f;

	proto_begin(&f, b, 3);
	proto_pack_uint(&f, PROTO_HELLO);
	proto_pack_uint(&f, version);
	proto_pack_uint(&f, role);
	return (proto_end(&f));
}

int
proto_encode_welcome(struct buf *b, uint64_t version, const char *epoch,
    size_t epochlen)
{
	struct proto_frame	f;

	proto_begin(&f, b, 3);
	proto_pack_uint(&f, PROTO_WELCOME);
	proto_pack_uint(&f, version);
	proto_pack_str(&f, epoch, epochlen);
	return (proto_end(&f));
}

int
proto_encode_error(struct buf *b, uint64_t ref, uint64_t code,
    const char *msg, size_t msglen)
{
	struct proto_frame	f;

	proto_begin(&f, b, 4);
	proto_pack_uint(&f, PROTO_ERROR);
	proto_pack_uint(&f, ref);
	proto_pack_uint(&f, code);
	proto_pack_str(&f, msg, msglen);
	return (proto_end(&f));
}

/* The messages made of a type and a ref only. */
static int
proto_encode_ref(struct buf *b, int type, uint64_t ref)
{
	struct proto_frame	f;

	proto_begin(&f, b, 2);
	proto_pack_uint(&f, (uint64_t)type);
	proto_pack_uint(&f, ref);
	return (proto_end(&f));
}

int
proto_encode_ping(struct buf *b, uint64_t ref)
{
	return (proto_encode_ref(b, PROTO_PING, ref));
}

int
proto_encode_pong(struct buf *b, uint64_t ref)
{
	return (proto_encode_ref(b, PROTO_PONG, ref));
}

int
proto_encode_unsubscribed(struct buf *b, uint64_t ref)
{
	return (proto_encode_ref(b, PROTO_UNSUBSCRIBED, ref));
}

int
proto_encode_stats(struct buf *b, uint64_t ref)
{
	return (proto_encode_ref(b, PROTO_STATS, ref));
}

int
proto_encode_publish(struct buf *b, uint64_t ref, const char *channel,
    size_t channellen, const char *type, size_t typelen, const char *data,
    size_t datalen)
{
	struct proto_frame	f;

	proto_begin(&f, b, 5);
	proto_pack_uint(&f, PROTO_PUBLISH);
	proto_pack_uint(&f, ref);
	proto_pack_str(&f, channel, channellen);
	proto_pack_str_or_nil(&f, type, typelen);
	proto_pack_str_or_nil(&f, data, datalen);
	return (proto_end(&f));
}

/*
 * Checks that p[0..len) is exactly one MessagePack object whose every
 * declared length fits in the bytes present (see proto_scan), so that
 * msgpack-c can unpack it without trusting a header's claim; 0 or -1.
 */
int
proto_object_ok(const void *p, size_t len)
{
	size_t	off = 0;

	if (p == NULL || len == 0 ||
	    proto_scan(p, len, &off, 0, NULL, 0) == -1)
		return (-1);
	return (off == len ? 0 : -1);
}

/*
 * Like proto_encode_publish with data already packed by the caller; it
 * must be exactly one MessagePack object, checked here so that a caller's
 * mistake fails now rather than costing the connection at the broker.
 */
int
proto_encode_publish_raw(struct buf *b, uint64_t ref, const char *channel,
    size_t channellen, const char *type, size_t typelen, const void *mpdata,
    size_t mpdatalen)
{
	struct proto_frame	f;
	size_t			off = 0;

	if (mpdata == NULL || mpdatalen == 0 || mpdatalen > PROTO_MAX_FRAME ||
	    proto_scan(mpdata, mpdatalen, &off, 1, NULL, 0) == -1 ||
	    off != mpdatalen)
		return (-1);
	proto_begin(&f, b, 5);
	proto_pack_uint(&f, PROTO_PUBLISH);
	proto_pack_uint(&f, ref);
	proto_pack_str(&f, channel, channellen);
	proto_pack_str_or_nil(&f, type, typelen);
	if (!f.failed && proto_write_cb(&f, mpdata, mpdatalen) == -1)
		f.failed = 1;
	return (proto_end(&f));
}

int
proto_encode_publish_once(struct buf *b, uint64_t ref, const char *channel,
    size_t channellen, const char *type, size_t typelen, const char *data,
    size_t datalen, const char *key, size_t keylen)
{
	struct proto_frame	f;

	proto_begin(&f, b, 6);
	proto_pack_uint(&f, PROTO_PUBLISH_ONCE);
	proto_pack_uint(&f, ref);
	proto_pack_str(&f, channel, channellen);
	proto_pack_str_or_nil(&f, type, typelen);
	proto_pack_str_or_nil(&f, data, datalen);
	proto_pack_str(&f, key, keylen);
	return (proto_end(&f));
}

int
proto_encode_published(struct buf *b, uint64_t ref, const char *id,
    size_t idlen)
{
	struct proto_frame	f;

	proto_begin(&f, b, 3);
	proto_pack_uint(&f, PROTO_PUBLISHED);
	proto_pack_uint(&f, ref);
	proto_pack_str(&f, id, idlen);
	return (proto_end(&f));
}

int
proto_encode_subscribe(struct buf *b, uint64_t ref,
    const struct proto_str *channels, size_t nchannels, const char *last_id,
    size_t last_idlen)
{
	struct proto_frame	f;

	proto_begin(&f, b, 4);
	proto_pack_uint(&f, PROTO_SUBSCRIBE);
	proto_pack_uint(&f, ref);
	proto_pack_channels(&f, channels, nchannels);
	proto_pack_str_or_nil(&f, last_id, last_idlen);
	return (proto_end(&f));
}

int
proto_encode_subscribed(struct buf *b, uint64_t ref, const char *head_id,
    size_t head_idlen, uint64_t nreplay)
{
	struct proto_frame	f;

	proto_begin(&f, b, 4);
	proto_pack_uint(&f, PROTO_SUBSCRIBED);
	proto_pack_uint(&f, ref);
	proto_pack_str(&f, head_id, head_idlen);
	proto_pack_uint(&f, nreplay);
	return (proto_end(&f));
}

int
proto_encode_reset(struct buf *b, uint64_t ref, const char *reason,
    size_t reasonlen, const char *oldest_id, size_t oldest_idlen,
    const char *head_id, size_t head_idlen)
{
	struct proto_frame	f;

	proto_begin(&f, b, 5);
	proto_pack_uint(&f, PROTO_RESET);
	proto_pack_uint(&f, ref);
	proto_pack_str(&f, reason, reasonlen);
	proto_pack_str_or_nil(&f, oldest_id, oldest_idlen);
	proto_pack_str(&f, head_id, head_idlen);
	return (proto_end(&f));
}

int
proto_encode_unsubscribe(struct buf *b, uint64_t ref,
    const struct proto_str *channels, size_t nchannels)
{
	struct proto_frame	f;

	proto_begin(&f, b, 3);
	proto_pack_uint(&f, PROTO_UNSUBSCRIBE);
	proto_pack_uint(&f, ref);
	proto_pack_channels(&f, channels, nchannels);
	return (proto_end(&f));
}

int
proto_encode_event(struct buf *b, const char *channel, size_t channellen,
    const char *id, size_t idlen, const char *type, size_t typelen,
    const char *data, size_t datalen)
{
	struct proto_frame	f;

	proto_begin(&f, b, 5);
	proto_pack_uint(&f, PROTO_EVENT);
	proto_pack_str(&f, channel, channellen);
	proto_pack_str(&f, id, idlen);
	proto_pack_str(&f, type, typelen);
	proto_pack_str(&f, data, datalen);
	return (proto_end(&f));
}

/* Bytes of a MessagePack string of n bytes, header included. */
static size_t
proto_str_size(size_t n)
{
	if (n < 32)
		return (1 + n);
	if (n < 256)
		return (2 + n);
	if (n < 65536)
		return (3 + n);
	return (5 + n);
}

size_t
proto_event_size(size_t channellen, size_t idlen, size_t typelen,
    size_t datalen)
{
	return (PROTO_HEADER_LEN + 1 + 1 + proto_str_size(channellen) +
	    proto_str_size(idlen) + proto_str_size(typelen) +
	    proto_str_size(datalen));
}

/* A packer's output into memory sized beforehand: no bound to check. */
static int
proto_at_cb(void *arg, const char *p, size_t n)
{
	char	**at = arg;

	if (n > 0)
		memcpy(*at, p, n);
	*at += n;
	return (0);
}

/*
 * msgpack-c still does the packing, into the exact room proto_event_size
 * promised; a mismatch is a bug in that promise, so it aborts.
 */
void
proto_encode_event_at(char *dst, size_t size, const char *channel,
    size_t channellen, const char *id, size_t idlen, const char *type,
    size_t typelen, const char *data, size_t datalen)
{
	msgpack_packer	 pk;
	size_t		 plen = size - PROTO_HEADER_LEN;
	char		*at = dst + PROTO_HEADER_LEN;

	if (size != proto_event_size(channellen, idlen, typelen, datalen))
		abort();
	dst[0] = (char)((plen >> 24) & 0xff);
	dst[1] = (char)((plen >> 16) & 0xff);
	dst[2] = (char)((plen >> 8) & 0xff);
	dst[3] = (char)(plen & 0xff);
	msgpack_packer_init(&pk, &at, proto_at_cb);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint64(&pk, PROTO_EVENT);
	msgpack_pack_str_with_body(&pk, channel, channellen);
	msgpack_pack_str_with_body(&pk, id, idlen);
	msgpack_pack_str_with_body(&pk, type, typelen);
	msgpack_pack_str_with_body(&pk, data, datalen);
	if (at != dst + size)
		abort();
}

/*
 * Reads the MessagePack string header at p[0..len): its body's offset
 * and length, or -1 when p holds no whole string there.
 */
static int
proto_str_at(const unsigned char *p, size_t len, size_t *off, size_t *n)
{
	size_t	h, i;

	if (len < 1)
		return (-1);
	if ((p[0] & 0xe0) == 0xa0) {
		*off = 1;
		*n = p[0] & 0x1f;
		return (len - 1 >= *n ? 0 : -1);
	}
	switch (p[0]) {
	case 0xd9:
		h = 1;
		break;
	case 0xda:
		h = 2;
		break;
	case 0xdb:
		h = 4;
		break;
	default:
		return (-1);
	}
	if (len < 1 + h)
		return (-1);
	*n = 0;
	for (i = 0; i < h; i++)
		*n = *n << 8 | p[1 + i];
	*off = 1 + h;
	return (len - *off >= *n ? 0 : -1);
}

/*
 * Walks an EVENT frame up to its id: written by hand over the four string
 * forms rather than unpacking the frame, which would cost a decode of the
 * data on every publish.
 */
int
proto_event_id(const char *frame, size_t len, const char **id,
    size_t *idlen)
{
	const unsigned char	*p = (const unsigned char *)frame;
	size_t			 off, n;

	/* Length prefix, fixarray of 5, positive fixint PROTO_EVENT. */
	if (len < PROTO_HEADER_LEN + 2 || p[PROTO_HEADER_LEN] != 0x95 ||
	    p[PROTO_HEADER_LEN + 1] != PROTO_EVENT)
		return (-1);
	p += PROTO_HEADER_LEN + 2;
	len -= PROTO_HEADER_LEN + 2;
	if (proto_str_at(p, len, &off, &n) == -1)	/* channel */
		return (-1);
	p += off + n;
	len -= off + n;
	if (proto_str_at(p, len, &off, &n) == -1)
		return (-1);
	*id = (const char *)p + off;
	*idlen = n;
	return (0);
}

int
proto_encode_stats_reply(struct buf *b, uint64_t ref,
    const char *const *names, const uint64_t *values, size_t n)
{
	struct proto_frame	f;
	size_t			i;

	proto_begin(&f, b, 3);
	proto_pack_uint(&f, PROTO_STATS_REPLY);
	proto_pack_uint(&f, ref);
	if (!f.failed)
		msgpack_pack_map(&f.pk, n);
	for (i = 0; i < n && !f.failed; i++) {
		proto_pack_str(&f, names[i], names[i] ? strlen(names[i]) : 0);
		proto_pack_uint(&f, values[i]);
	}
	return (proto_end(&f));
}

int
proto_encode_revoke(struct buf *b, uint64_t ref, const char *kind,
    size_t kindlen, const char *value, size_t valuelen, uint64_t until)
{
	struct proto_frame	f;

	proto_begin(&f, b, 5);
	proto_pack_uint(&f, PROTO_REVOKE);
	proto_pack_uint(&f, ref);
	proto_pack_str(&f, kind, kindlen);
	proto_pack_str(&f, value, valuelen);
	proto_pack_uint(&f, until);
	return (proto_end(&f));
}

int
proto_encode_revoked(struct buf *b, uint64_t ref)
{
	return (proto_encode_ref(b, PROTO_REVOKED, ref));
}

int
proto_encode_revocations(struct buf *b, uint64_t ref)
{
	return (proto_encode_ref(b, PROTO_REVOCATIONS, ref));
}

int
proto_encode_revocation(struct buf *b, const char *kind, size_t kindlen,
    const char *value, size_t valuelen, uint64_t until)
{
	struct proto_frame	f;

	proto_begin(&f, b, 4);
	proto_pack_uint(&f, PROTO_REVOCATION);
	proto_pack_str(&f, kind, kindlen);
	proto_pack_str(&f, value, valuelen);
	proto_pack_uint(&f, until);
	return (proto_end(&f));
}

/* Packs a map of n names to unsigned values. */
static void
proto_pack_uintmap(struct proto_frame *f, const char *const *names,
    const uint64_t *values, size_t n)
{
	size_t	i;

	if (!f->failed)
		msgpack_pack_map(&f->pk, n);
	for (i = 0; i < n && !f->failed; i++) {
		proto_pack_str(f, names[i], names[i] ? strlen(names[i]) : 0);
		proto_pack_uint(f, values[i]);
	}
}

int
proto_encode_stream_counts(struct buf *b, int full,
    const struct proto_str *names, const uint64_t *counts, size_t n)
{
	struct proto_frame	f;
	size_t			i;

	proto_begin(&f, b, 3);
	proto_pack_uint(&f, PROTO_STREAM_COUNTS);
	proto_pack_uint(&f, full ? 1 : 0);
	if (!f.failed)
		msgpack_pack_map(&f.pk, n);
	for (i = 0; i < n && !f.failed; i++) {
		proto_pack_str(&f, names[i].ptr, names[i].len);
		proto_pack_uint(&f, counts[i]);
	}
	return (proto_end(&f));
}

int
proto_encode_channel_stats(struct buf *b, uint64_t ref,
    const struct proto_str *channels, size_t nchannels)
{
	struct proto_frame	f;

	proto_begin(&f, b, 3);
	proto_pack_uint(&f, PROTO_CHANNEL_STATS);
	proto_pack_uint(&f, ref);
	proto_pack_channels(&f, channels, nchannels);
	return (proto_end(&f));
}

int
proto_encode_channel_stats_reply(struct buf *b, uint64_t ref,
    const char *channel, size_t channellen, const char *const *names,
    const uint64_t *values, size_t n, const char *oldest_id,
    size_t oldest_idlen, const char *last_id, size_t last_idlen)
{
	struct proto_frame	f;

	proto_begin(&f, b, 6);
	proto_pack_uint(&f, PROTO_CHANNEL_STATS_REPLY);
	proto_pack_uint(&f, ref);
	proto_pack_str(&f, channel, channellen);
	proto_pack_uintmap(&f, names, values, n);
	proto_pack_str_or_nil(&f, oldest_id, oldest_idlen);
	proto_pack_str_or_nil(&f, last_id, last_idlen);
	return (proto_end(&f));
}
