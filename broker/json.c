/* SPDX-License-Identifier: ISC */
/*
 * MessagePack to JSON, so that a publisher may send structured data and
 * browsers receive it as JSON text.  The output goes into a bounded buffer
 * (the broker bounds it by --max-event-size): at the bound rendering stops
 * with JSON_E_SPACE and the buffer is left as it was, so the caller refuses
 * the publish.  Nesting is bounded by JSON_MAX_DEPTH, which also bounds
 * the recursion here.
 *
 * Choices: strings must be valid UTF-8 and are kept as UTF-8 (only '"',
 * '\\' and control characters are escaped); bin is accepted where it is
 * valid UTF-8; map keys that are strings stay as they are, integer, boolean
 * and nil keys become their JSON text as a string, other keys are refused;
 * floats use %.17g so they read back exactly, NaN and infinities become
 * null (JSON has no such numbers); ext is refused.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "jsonstr.h"
#include "validate.h"

static int	json_value(struct buf *, const msgpack_object *, int);

/* Appends s[0..len) as a JSON string literal, if it is UTF-8. */
static int
json_string(struct buf *out, const char *s, size_t len)
{
	if (validate_utf8(s, len) == -1)
		return (JSON_E_UTF8);
	if (jsonstr_append(out, s, len) == -1)
		return (JSON_E_SPACE);
	return (JSON_OK);
}

/* Appends a scalar that has a fixed text form: integers, booleans, nil. */
static int
json_scalar(struct buf *out, const msgpack_object *o, int quoted)
{
	char	 tmp[32];
	int	 n;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		n = snprintf(tmp, sizeof(tmp), "null");
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		n = snprintf(tmp, sizeof(tmp), "%s",
		    o->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		n = snprintf(tmp, sizeof(tmp), "%" PRIu64, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		n = snprintf(tmp, sizeof(tmp), "%" PRId64, o->via.i64);
		break;
	default:
		return (JSON_E_KEY);
	}
	if (quoted && buf_append_byte(out, '"') == -1)
		return (JSON_E_SPACE);
	if (buf_append(out, tmp, (size_t)n) == -1)
		return (JSON_E_SPACE);
	if (quoted && buf_append_byte(out, '"') == -1)
		return (JSON_E_SPACE);
	return (JSON_OK);
}

/* Appends a map key, which JSON wants as a string. */
static int
json_key(struct buf *out, const msgpack_object *k)
{
	switch (k->type) {
	case MSGPACK_OBJECT_STR:
		return (json_string(out, k->via.str.ptr, k->via.str.size));
	case MSGPACK_OBJECT_BIN:
		return (json_string(out, k->via.bin.ptr, k->via.bin.size));
	case MSGPACK_OBJECT_NIL:
	case MSGPACK_OBJECT_BOOLEAN:
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return (json_scalar(out, k, 1));
	default:
		return (JSON_E_KEY);
	}
}

/* Appends a double; JSON has no NaN or infinities, so those become null. */
static int
json_float(struct buf *out, double d)
{
	char	 tmp[40];
	int	 n;

	if (isnan(d) || isinf(d))
		n = snprintf(tmp, sizeof(tmp), "null");
	else
		n = snprintf(tmp, sizeof(tmp), "%.17g", d);
	if (buf_append(out, tmp, (size_t)n) == -1)
		return (JSON_E_SPACE);
	return (JSON_OK);
}

/* Appends any object at nesting level depth (0 outside any container). */
static int
json_value(struct buf *out, const msgpack_object *o, int depth)
{
	uint32_t	 i;
	int		 r;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
	case MSGPACK_OBJECT_BOOLEAN:
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return (json_scalar(out, o, 0));
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return (json_float(out, o->via.f64));
	case MSGPACK_OBJECT_STR:
		return (json_string(out, o->via.str.ptr, o->via.str.size));
	case MSGPACK_OBJECT_BIN:
		return (json_string(out, o->via.bin.ptr, o->via.bin.size));
	case MSGPACK_OBJECT_ARRAY:
		if (depth >= JSON_MAX_DEPTH)
			return (JSON_E_DEPTH);
		if (buf_append_byte(out, '[') == -1)
			return (JSON_E_SPACE);
		for (i = 0; i < o->via.array.size; i++) {
			if (i > 0 && buf_append_byte(out, ',') == -1)
				return (JSON_E_SPACE);
			r = json_value(out, &o->via.array.ptr[i], depth + 1);
			if (r != JSON_OK)
				return (r);
		}
		if (buf_append_byte(out, ']') == -1)
			return (JSON_E_SPACE);
		return (JSON_OK);
	case MSGPACK_OBJECT_MAP:
		if (depth >= JSON_MAX_DEPTH)
			return (JSON_E_DEPTH);
		if (buf_append_byte(out, '{') == -1)
			return (JSON_E_SPACE);
		for (i = 0; i < o->via.map.size; i++) {
			if (i > 0 && buf_append_byte(out, ',') == -1)
				return (JSON_E_SPACE);
			if ((r = json_key(out, &o->via.map.ptr[i].key)) != JSON_OK)
				return (r);
			if (buf_append_byte(out, ':') == -1)
				return (JSON_E_SPACE);
			r = json_value(out, &o->via.map.ptr[i].val, depth + 1);
			if (r != JSON_OK)
				return (r);
		}
		if (buf_append_byte(out, '}') == -1)
			return (JSON_E_SPACE);
		return (JSON_OK);
	default:
		return (JSON_E_TYPE);
	}
}

/*
 * Appends the JSON text of o to out.  On error out is left as it was and
 * the result says why (see enum json_result).
 */
int
json_render(struct buf *out, const msgpack_object *o)
{
	size_t	 mark = buf_used(out);
	int	 r;

	if ((r = json_value(out, o, 0)) != JSON_OK)
		buf_truncate(out, mark);
	return (r);
}

const char *
json_strerror(int r)
{
	switch (r) {
	case JSON_OK:
		return ("no error");
	case JSON_E_SPACE:
		return ("data too big");
	case JSON_E_DEPTH:
		return ("data nested too deeply");
	case JSON_E_KEY:
		return ("map key must be a string, integer, boolean or nil");
	case JSON_E_TYPE:
		return ("ext data is refused");
	case JSON_E_UTF8:
		return ("string is not valid UTF-8");
	}
	return ("unknown error");
}
