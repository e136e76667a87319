/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of publishing over HTTP's pure part (fcgi/publish.c): the
 * key file, the Authorization check, content types, Accept, form fields
 * (cut at every byte offset and fed random bytes), the decoding of a
 * POST into channel, type and data, and the answers' bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "publish.h"
#include "tap.h"
#include "testrng.h"

#define K1	"0123456789abcdef"
#define K2	"another-key-of-some-length"

static int
parse(struct publish_keys *k, const char *text)
{
	char	err[128];
	int	rv;

	rv = publish_keys_parse(k, text, strlen(text), err, sizeof(err));
	if (rv == -1)
		tap_diag("refused: %s", err);
	return (rv);
}

static void
test_keys(void)
{
	struct publish_keys	k;
	char			many[PUBLISH_MAX_KEYS * 20 + 40];
	size_t			i;

	ok(parse(&k, "# keys\n" K1 "\r\n\n  \n" K2 "  \n") == 0,
	    "comments, blank lines, CRLF and trailing blanks");
	is_int((long long)k.n, 2, "two keys");
	ok(publish_keys_check(&k, "Bearer " K1), "first key");
	ok(publish_keys_check(&k, "Bearer " K2), "second key");
	ok(publish_keys_check(&k, "bearer  " K1 " "), "scheme in any case, "
	    "blanks around");
	ok(!publish_keys_check(&k, "Bearer " K1 "x"), "longer: refused");
	ok(!publish_keys_check(&k, "Bearer 0123456789abcde"),
	    "prefix: refused");
	ok(!publish_keys_check(&k, "Bearer 0123456789abcdeF"),
	    "last byte differs: refused");
	ok(!publish_keys_check(&k, "Bearer "), "empty token: refused");
	ok(!publish_keys_check(&k, "Basic " K1), "Basic: refused");
	ok(!publish_keys_check(&k, K1), "no scheme: refused");
	ok(!publish_keys_check(&k, "Bearer" K1), "no blank: refused");
	ok(!publish_keys_check(&k, NULL), "no header: refused");
	publish_keys_free(&k);

	ok(parse(&k, "") == -1, "empty file refused");
	ok(parse(&k, "# only a comment\n") == -1, "no key refused");
	ok(parse(&k, "short\n") == -1, "a key under 16 bytes refused");
	ok(parse(&k, "0123456789 abcdef\n") == -1, "a blank inside refused");
	ok(parse(&k, "0123456789\x01" "abcdef\n") == -1, "a control refused");
	ok(parse(&k, "0123456789abcdef\xc3\xa9\n") == -1,
	    "non-ASCII refused");
	many[0] = '\0';
	for (i = 0; i <= PUBLISH_MAX_KEYS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
		    "key-%015zu\n", i);
	ok(parse(&k, many) == -1, "more than %d keys refused",
	    PUBLISH_MAX_KEYS);

	ok(publish_ct_equal("abc", "abc", 3), "ct_equal same");
	ok(!publish_ct_equal("abc", "abd", 3), "ct_equal differs");
	ok(publish_ct_equal("", "", 0), "ct_equal empty");
}

static void
test_headers(void)
{
	is_int(publish_ctype(NULL), PUBLISH_CT_TEXT, "no type: text");
	is_int(publish_ctype(""), PUBLISH_CT_TEXT, "empty type: text");
	is_int(publish_ctype("text/plain"), PUBLISH_CT_TEXT, "text/plain");
	is_int(publish_ctype("Text/Plain; charset=utf-8"), PUBLISH_CT_TEXT,
	    "text/plain, any case, with a charset");
	is_int(publish_ctype("application/json"), PUBLISH_CT_JSON, "json");
	is_int(publish_ctype(" application/json ;charset=UTF-8"),
	    PUBLISH_CT_JSON, "json with blanks and charset");
	is_int(publish_ctype("application/x-www-form-urlencoded"),
	    PUBLISH_CT_FORM, "form");
	is_int(publish_ctype("multipart/form-data; boundary=x"),
	    PUBLISH_CT_OTHER, "multipart: other");
	is_int(publish_ctype("text/plainx"), PUBLISH_CT_OTHER,
	    "text/plainx: other");
	is_int(publish_ctype("application/jsonp"), PUBLISH_CT_OTHER,
	    "application/jsonp: other");

	ok(!publish_accepts_json(NULL), "no Accept");
	ok(!publish_accepts_json("*/*"), "*/*: text");
	ok(publish_accepts_json("application/json"), "application/json");
	ok(publish_accepts_json("text/html, Application/JSON;q=0.9"),
	    "in a list, any case, with q");
	ok(!publish_accepts_json("application/json;q=0"), "q=0 refuses");
	ok(!publish_accepts_json("application/json; q=0.0"), "q=0.0 refuses");
	ok(publish_accepts_json("application/json;q=0.5"), "q=0.5 accepts");
	ok(!publish_accepts_json("application/json-seq"), "json-seq: no");

	ok(publish_idem_ok("a"), "1-byte key");
	ok(publish_idem_ok("3f1c2a9e-5d4b-4c1a-9a7e-0c2b7d9e8f10"), "a UUID");
	ok(!publish_idem_ok(""), "empty key");
	ok(!publish_idem_ok("a b"), "blank inside");
	ok(!publish_idem_ok("caf\xc3\xa9"), "non-ASCII");
	{
		char	k[PUBLISH_IDEM_MAX + 2];

		memset(k, 'k', sizeof(k));
		k[PUBLISH_IDEM_MAX] = '\0';
		ok(publish_idem_ok(k), "255 bytes");
		k[PUBLISH_IDEM_MAX] = 'k';
		k[PUBLISH_IDEM_MAX + 1] = '\0';
		ok(!publish_idem_ok(k), "256 bytes");
	}
}

/* The field as a string ("" absent, "!" malformed). */
static const char *
field(const char *s, size_t len, const char *name, struct buf *out)
{
	int	r;

	buf_reset(out);
	r = publish_form_field(s, len, name, out);
	if (r == -1)
		return ("!");
	if (r == 0)
		return ("");
	return (buf_head(out));
}

static void
test_form(void)
{
	static const char	 form[] =
	    "topic=news&data=a%0Ab+c&type=t%C3%A9";
	struct buf		 out;
	size_t			 i, bad = 0;
	char			*copy, rnd[64];

	buf_init(&out, 0);
	is_str(field(form, strlen(form), "topic", &out), "news", "topic");
	is_str(field(form, strlen(form), "data", &out), "a\nb c",
	    "data: %%0A and +");
	is_str(field(form, strlen(form), "type", &out), "t\xc3\xa9",
	    "type: UTF-8 escapes");
	is_str(field(form, strlen(form), "id", &out), "", "absent field");
	is_str(field("data=1&data=2", 13, "data", &out), "!",
	    "field twice: malformed");
	is_str(field("data=%zz", 8, "data", &out), "!", "bad escape");
	is_str(field("data", 4, "data", &out), "", "no '=': empty value");
	is_str(field("&&data=x&&", 10, "data", &out), "x", "empty pairs");
	is_str(field("d%61ta=x", 8, "data", &out), "x", "encoded name");
	is_str(field("other=%zz&data=x", 16, "data", &out), "x",
	    "a bad escape in a value not looked at is not ours");

	/* Every cut of the form: no overread, and each result is a prefix. */
	for (i = 0; i <= strlen(form); i++) {
		copy = malloc(i + 1);
		memcpy(copy, form, i);
		buf_reset(&out);
		if (publish_form_field(copy, i, "data", &out) == 1 &&
		    strncmp("a\nb c", buf_head(&out), buf_used(&out) - 1) != 0)
			bad++;
		free(copy);
	}
	is_int((long long)bad, 0, "the form cut at every byte offset");

	/* Random bytes: decoded or refused, never past the input. */
	for (i = 0; i < 50000; i++) {
		size_t	n = testrng() % sizeof(rnd), j;

		for (j = 0; j < n; j++)
			rnd[j] = "=&%data0123456789abcdefAF+\xff"[testrng() %
			    27];
		copy = malloc(n > 0 ? n : 1);
		memcpy(copy, rnd, n);
		buf_reset(&out);
		if (publish_form_field(copy, n, "data", &out) == 1 &&
		    buf_used(&out) > n + 1)
			bad++;
		free(copy);
	}
	is_int((long long)bad, 0, "50000 random forms: the value is never "
	    "longer than the input");
	buf_free(&out);
}

/* Decodes and says "status channel|type|data" or "status reason". */
static const char *
decode(const char *query, enum publish_ctype ct, const char *body)
{
	static char		 res[512];
	struct publish_msg	 m;
	char			 err[128];
	int			 st;

	publish_msg_init(&m);
	st = publish_decode(&m, query, "channel", ct, body, strlen(body), err,
	    sizeof(err));
	if (st != 0)
		snprintf(res, sizeof(res), "%d %s", st, err);
	else
		snprintf(res, sizeof(res), "0 %s|%s|%s", buf_head(&m.channel),
		    buf_used(&m.type) > 0 ? buf_head(&m.type) : "",
		    buf_used(&m.data) > 0 ? buf_head(&m.data) : "");
	publish_msg_free(&m);
	return (res);
}

static void
test_decode(void)
{
	is_str(decode("channel=news", PUBLISH_CT_TEXT, "hello\nworld"),
	    "0 news||hello\nworld", "text: the body as data");
	is_str(decode("channel=news&type=tick", PUBLISH_CT_JSON, "{\"a\":1}"),
	    "0 news|tick|{\"a\":1}", "json with a type in the query");
	is_str(decode("x=1&channel=caf%C3%A9", PUBLISH_CT_TEXT, ""),
	    "0 caf\xc3\xa9||", "encoded channel, other params, empty body");
	is_str(decode("", PUBLISH_CT_FORM, "topic=news&data=d&type=t"),
	    "0 news|t|d", "form: Mercure's fields");
	is_str(decode("channel=news", PUBLISH_CT_FORM, "data=d"),
	    "0 news||d", "form: the channel from the query");
	is_str(decode("channel=news", PUBLISH_CT_FORM, "topic=news&data=d"),
	    "0 news||d", "form: the same channel twice is fine");
	is_str(decode("channel=news&type=q", PUBLISH_CT_FORM,
	    "data=d&type=f"), "0 news|q|d", "form: the query's type wins");
	is_str(decode("", PUBLISH_CT_FORM, "topic=news"), "0 news||",
	    "form: no data is empty data");
	ok(strncmp(decode("channel=news", PUBLISH_CT_FORM,
	    "topic=sport&data=d"), "400 ", 4) == 0,
	    "form: topic other than the query's channel: 400");
	ok(strncmp(decode("", PUBLISH_CT_FORM, "topic=a&topic=b&data=d"),
	    "400 ", 4) == 0, "form: two topics: 400");
	ok(strncmp(decode("", PUBLISH_CT_TEXT, "x"), "400 missing channel",
	    19) == 0, "no channel: 400 (%s)", decode("", PUBLISH_CT_TEXT, "x"));
	ok(strncmp(decode("channel=a&channel=b", PUBLISH_CT_TEXT, "x"),
	    "400 ", 4) == 0, "two channels: 400");
	ok(strncmp(decode("channel=a%20b", PUBLISH_CT_TEXT, "x"),
	    "400 channel:", 12) == 0, "invalid channel: 400 (%s)",
	    decode("channel=a%20b", PUBLISH_CT_TEXT, "x"));
	ok(strncmp(decode("channel=a&type=reset", PUBLISH_CT_TEXT, "x"),
	    "400 type:", 9) == 0, "reserved type: 400");
	ok(strncmp(decode("channel=a&type=%0A", PUBLISH_CT_TEXT, "x"),
	    "400 type:", 9) == 0, "type with a line break: 400");
	ok(strncmp(decode("channel=a", PUBLISH_CT_OTHER, "x"), "415 ", 4) == 0,
	    "other content type: 415");
	ok(strncmp(decode("channel=%zz", PUBLISH_CT_TEXT, "x"), "400 ", 4) ==
	    0, "bad escape in the query: 400");
}

static void
test_answers(void)
{
	struct buf	b;

	buf_init(&b, 0);
	ok(publish_created(&b, "ep-7", 4, 0) == 0, "201 text");
	ok(buf_append_byte(&b, '\0') == 0, "nul");
	is_str(buf_head(&b), "Status: 201 Created\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n\r\nep-7", "201 text bytes");
	buf_reset(&b);
	ok(publish_created(&b, "ep-7", 4, 1) == 0, "201 json");
	ok(buf_append_byte(&b, '\0') == 0, "nul");
	is_str(buf_head(&b), "Status: 201 Created\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n\r\n{\"id\":\"ep-7\"}",
	    "201 json bytes");
	buf_reset(&b);
	ok(publish_error(&b, 401, "wrong publish key") == 0, "401");
	ok(buf_append_byte(&b, '\0') == 0, "nul");
	ok(strstr(buf_head(&b), "Status: 401 Unauthorized\r\n") != NULL &&
	    strstr(buf_head(&b), "\r\nWWW-Authenticate: Bearer realm=\""
	    "fastsse\"\r\n") != NULL &&
	    strstr(buf_head(&b), "\r\n\r\nwrong publish key\n") != NULL,
	    "401 with WWW-Authenticate and the reason");
	buf_reset(&b);
	ok(publish_error(&b, 503, "broker unavailable") == 0, "503");
	ok(buf_append_byte(&b, '\0') == 0, "nul");
	ok(strstr(buf_head(&b), "\r\nRetry-After: 5\r\n") != NULL &&
	    strstr(buf_head(&b), "WWW-Authenticate") == NULL,
	    "503 with Retry-After");
	buf_reset(&b);
	ok(publish_error(&b, 413, "too big") == 0, "413");
	ok(buf_append_byte(&b, '\0') == 0, "nul");
	ok(strncmp(buf_head(&b), "Status: 413 Content Too Large\r\n", 31) ==
	    0 && strstr(buf_head(&b), "Retry-After") == NULL, "413 plain");
	buf_free(&b);
}

int
main(void)
{
	testrng_seed(0x9e3779b97f4a7c15ULL);
	test_keys();
	test_headers();
	test_form();
	test_decode();
	test_answers();
	tap_done();
	return (tap_exit_status());
}
