/* SPDX-License-Identifier: ISC */
/*
 * broker/json.c: every MessagePack type rendered to JSON, string escapes,
 * the nesting limit, refused keys and types, the size bound.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "buf.h"
#include "json.h"
#include "tap.h"

static msgpack_sbuffer	 sb;
static msgpack_packer	 pk;

static void
start(void)
{
	msgpack_sbuffer_clear(&sb);
}

/* Renders what was packed since start(); returns the result code. */
static int
render(struct buf *out, size_t max)
{
	msgpack_unpacked	 u;
	size_t			 off = 0;
	int			 r;

	buf_free(out);
	buf_init(out, max);
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, sb.data, sb.size, &off) !=
	    MSGPACK_UNPACK_SUCCESS) {
		msgpack_unpacked_destroy(&u);
		return (99);
	}
	r = json_render(out, &u.data);
	msgpack_unpacked_destroy(&u);
	return (r);
}

static void
expect(const char *want, const char *what)
{
	struct buf	 out;
	int		 r;

	buf_init(&out, 0);
	r = render(&out, 0);
	is_int(r, JSON_OK, "%s: renders", what);
	tap_is_mem(buf_head(&out), buf_used(&out), want, strlen(want),
	    "%s: %s", what, want);
	buf_free(&out);
}

static void
expect_err(int want, const char *what)
{
	struct buf	 out;

	buf_init(&out, 0);
	is_int(render(&out, 0), want, "%s: refused (%s)", what,
	    json_strerror(want));
	is_int(buf_used(&out), 0, "%s: nothing written", what);
	buf_free(&out);
}

static void
pack_str(const char *s)
{
	msgpack_pack_str(&pk, strlen(s));
	msgpack_pack_str_body(&pk, s, strlen(s));
}

int
main(void)
{
	struct buf	 out;
	msgpack_object	 nest[JSON_MAX_DEPTH + 2];
	msgpack_object_kv kv;
	char		 big[200];
	int		 i;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

	start(); msgpack_pack_nil(&pk); expect("null", "nil");
	start(); msgpack_pack_true(&pk); expect("true", "true");
	start(); msgpack_pack_false(&pk); expect("false", "false");
	start(); msgpack_pack_uint64(&pk, 0); expect("0", "zero");
	start(); msgpack_pack_uint64(&pk, UINT64_MAX);
	expect("18446744073709551615", "uint64 max");
	start(); msgpack_pack_int64(&pk, INT64_MIN);
	expect("-9223372036854775808", "int64 min");
	start(); msgpack_pack_int(&pk, -1); expect("-1", "minus one");
	start(); msgpack_pack_double(&pk, 0.5); expect("0.5", "double");
	start(); msgpack_pack_double(&pk, 0.1);
	expect("0.10000000000000001", "double 0.1 at %.17g");
	start(); msgpack_pack_float(&pk, 1.5f); expect("1.5", "float32");
	start(); msgpack_pack_double(&pk, NAN); expect("null", "NaN");
	start(); msgpack_pack_double(&pk, INFINITY); expect("null", "+Inf");
	start(); msgpack_pack_double(&pk, -INFINITY); expect("null", "-Inf");
	start(); msgpack_pack_double(&pk, 1e300); expect("1.0000000000000001e+300",
	    "large double");

	start(); pack_str("plain"); expect("\"plain\"", "str");
	start(); pack_str(""); expect("\"\"", "empty str");
	start(); pack_str("a\"b\\c\nd\re\tf\bg\fh");
	expect("\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\"", "short escapes");
	start();
	msgpack_pack_str(&pk, 4);
	msgpack_pack_str_body(&pk, "\x01\x00\x1f\x7f", 4);
	expect("\"\\u0001\\u0000\\u001f\x7f\"", "control characters, DEL kept");
	start(); pack_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 /");
	expect("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 /\"",
	    "UTF-8 kept as is, slash not escaped");
	start(); pack_str("\xe2\x80\xa8"); expect("\"\xe2\x80\xa8\"", "U+2028 kept");
	start(); pack_str("bad \xff"); expect_err(JSON_E_UTF8, "invalid UTF-8 str");
	start(); pack_str("\xc0\xaf"); expect_err(JSON_E_UTF8, "overlong UTF-8");
	start(); msgpack_pack_bin(&pk, 3); msgpack_pack_bin_body(&pk, "b\xc3\xa9", 3);
	expect("\"b\xc3\xa9\"", "bin that is UTF-8");
	start(); msgpack_pack_bin(&pk, 2); msgpack_pack_bin_body(&pk, "\x80\x81", 2);
	expect_err(JSON_E_UTF8, "bin that is not UTF-8");
	start(); msgpack_pack_ext(&pk, 1, 1); msgpack_pack_ext_body(&pk, "x", 1);
	expect_err(JSON_E_TYPE, "ext");

	start(); msgpack_pack_array(&pk, 0); expect("[]", "empty array");
	start(); msgpack_pack_map(&pk, 0); expect("{}", "empty map");
	start();
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 1); pack_str("two"); msgpack_pack_nil(&pk);
	msgpack_pack_array(&pk, 1); msgpack_pack_true(&pk);
	expect("[1,\"two\",null,[true]]", "array");
	start();
	msgpack_pack_map(&pk, 2);
	pack_str("a"); msgpack_pack_int(&pk, 1);
	pack_str("b\""); msgpack_pack_map(&pk, 1);
	pack_str("c"); msgpack_pack_array(&pk, 0);
	expect("{\"a\":1,\"b\\\"\":{\"c\":[]}}", "nested map, escaped key");
	start();
	msgpack_pack_map(&pk, 5);
	msgpack_pack_int(&pk, 7); msgpack_pack_int(&pk, 1);
	msgpack_pack_int(&pk, -7); msgpack_pack_int(&pk, 2);
	msgpack_pack_true(&pk); msgpack_pack_int(&pk, 3);
	msgpack_pack_nil(&pk); msgpack_pack_int(&pk, 4);
	msgpack_pack_bin(&pk, 1); msgpack_pack_bin_body(&pk, "k", 1);
	msgpack_pack_int(&pk, 5);
	expect("{\"7\":1,\"-7\":2,\"true\":3,\"null\":4,\"k\":5}",
	    "integer, boolean, nil and bin keys stringified");
	start(); msgpack_pack_map(&pk, 1); msgpack_pack_double(&pk, 1.5);
	msgpack_pack_int(&pk, 1); expect_err(JSON_E_KEY, "float key");
	start(); msgpack_pack_map(&pk, 1); msgpack_pack_array(&pk, 0);
	msgpack_pack_int(&pk, 1); expect_err(JSON_E_KEY, "array key");
	start(); msgpack_pack_map(&pk, 1); msgpack_pack_map(&pk, 0);
	msgpack_pack_int(&pk, 1); expect_err(JSON_E_KEY, "map key");
	start(); msgpack_pack_map(&pk, 1); pack_str("\xfe");
	msgpack_pack_int(&pk, 1); expect_err(JSON_E_UTF8, "invalid UTF-8 key");
	start(); msgpack_pack_array(&pk, 2); msgpack_pack_int(&pk, 1);
	msgpack_pack_ext(&pk, 1, 1); msgpack_pack_ext_body(&pk, "x", 1);
	expect_err(JSON_E_TYPE, "ext inside an array");

	/*
	 * Depth: JSON_MAX_DEPTH containers pass, one more is refused.  Built
	 * by hand: msgpack-c's unpacker stops at a lower depth by itself.
	 */
	for (i = 0; i <= JSON_MAX_DEPTH; i++) {
		nest[i].type = MSGPACK_OBJECT_ARRAY;
		nest[i].via.array.size = 1;
		nest[i].via.array.ptr = &nest[i + 1];
	}
	nest[JSON_MAX_DEPTH + 1].type = MSGPACK_OBJECT_NIL;
	buf_init(&out, 0);
	is_int(json_render(&out, &nest[1]), JSON_OK, "%d nested arrays render",
	    JSON_MAX_DEPTH);
	is_int(buf_used(&out), 2 * JSON_MAX_DEPTH + 4, "all brackets written");
	buf_reset(&out);
	is_int(json_render(&out, &nest[0]), JSON_E_DEPTH,
	    "%d nested containers refused", JSON_MAX_DEPTH + 1);
	is_int(buf_used(&out), 0, "nothing written after depth error");
	nest[1].type = MSGPACK_OBJECT_MAP;
	nest[1].via.map.size = 1;
	nest[1].via.map.ptr = &kv;
	kv.key.type = MSGPACK_OBJECT_STR;
	kv.key.via.str.ptr = "k";
	kv.key.via.str.size = 1;
	kv.val = nest[2];
	is_int(json_render(&out, &nest[0]), JSON_E_DEPTH,
	    "maps count towards the depth");

	/* The bound: exactly fitting passes, one byte less is JSON_E_SPACE. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	start(); msgpack_pack_array(&pk, 1); pack_str(big);
	is_int(render(&out, sizeof(big) + 3), JSON_OK, "fits its bound exactly");
	is_int(render(&out, sizeof(big) + 2), JSON_E_SPACE, "over bound by one");
	is_int(buf_used(&out), 0, "nothing written at the bound");

	/* An error leaves earlier content alone, even when the buffer grew. */
	buf_free(&out);
	buf_init(&out, 0);
	buf_append(&out, "keep", 4);
	buf_consume(&out, 1);
	start(); msgpack_pack_array(&pk, 2); pack_str(big);
	msgpack_pack_ext(&pk, 1, 1); msgpack_pack_ext_body(&pk, "x", 1);
	{
		msgpack_unpacked	 u;
		size_t			 off = 0;

		msgpack_unpacked_init(&u);
		msgpack_unpack_next(&u, sb.data, sb.size, &off);
		is_int(json_render(&out, &u.data), JSON_E_TYPE,
		    "error after growth");
		msgpack_unpacked_destroy(&u);
	}
	tap_is_mem(buf_head(&out), buf_used(&out), "eep", 3,
	    "earlier content intact");
	buf_free(&out);

	msgpack_sbuffer_destroy(&sb);
	tap_done();
	return (tap_exit_status());
}
