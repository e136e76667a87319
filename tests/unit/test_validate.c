/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of UTF-8 validation and of the channel and event type rules,
 * including each boundary named in validate.h.
 */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "validate.h"

#define U(s)	(s), sizeof(s) - 1

static void
utf8(const char *s, size_t len, int want, const char *what)
{
	is_int(validate_utf8(s, len), want, "UTF-8 %s: %s", want ? "bad" :
	    "good", what);
}

static void
channel_bad(const char *s, size_t len, const char *reason, const char *what)
{
	const char	*r = validate_channel(s, len);

	ok(r != NULL && strcmp(r, reason) == 0, "channel %s refused (%s)",
	    what, r ? r : "accepted");
}

int
main(void)
{
	static const char *const spaces[] = {
		"\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x85",
		"\xe2\x80\x8a", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xaf",
		"\xe2\x81\x9f", "\xe3\x80\x80", "\xef\xbb\xbf"
	};
	static const char	ws[] = "white space or a control character";
	char			name[300], one[8];
	size_t			i;
	int			all;

	/* UTF-8. */
	utf8(U(""), 0, "empty");
	utf8(U("plain ascii\n\t"), 0, "ASCII with controls");
	utf8(U("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), 0,
	    "2, 3 and 4 byte sequences");
	utf8(U("\xc2\x80"), 0, "U+0080, the smallest 2-byte");
	utf8(U("\xe0\xa0\x80"), 0, "U+0800, the smallest 3-byte");
	utf8(U("\xed\x9f\xbf"), 0, "U+D7FF, before the surrogates");
	utf8(U("\xee\x80\x80"), 0, "U+E000, after the surrogates");
	utf8(U("\xef\xbf\xbf"), 0, "U+FFFF");
	utf8(U("\xf0\x90\x80\x80"), 0, "U+10000, the smallest 4-byte");
	utf8(U("\xf4\x8f\xbf\xbf"), 0, "U+10FFFF, the largest");
	utf8("a\0b", 3, 0, "NUL is valid UTF-8");
	utf8(U("\xc0\x80"), -1, "overlong NUL");
	utf8(U("\xc1\xbf"), -1, "overlong U+007F");
	utf8(U("\xe0\x9f\xbf"), -1, "overlong U+07FF");
	utf8(U("\xf0\x8f\xbf\xbf"), -1, "overlong U+FFFF");
	utf8(U("\xed\xa0\x80"), -1, "surrogate U+D800");
	utf8(U("\xed\xbf\xbf"), -1, "surrogate U+DFFF");
	utf8(U("\xf4\x90\x80\x80"), -1, "U+110000");
	utf8(U("\xf5\x80\x80\x80"), -1, "lead byte 0xf5");
	utf8(U("\xff"), -1, "byte 0xff");
	utf8(U("\x80"), -1, "lone continuation byte");
	utf8(U("\xc3"), -1, "sequence cut at the end");
	utf8(U("\xe2\x82"), -1, "3-byte sequence cut at the end");
	utf8(U("\xe2\x82x"), -1, "3-byte sequence with ASCII inside");
	utf8(U("\xf0\x9f\x98"), -1, "4-byte sequence cut at the end");
	utf8("\xc3\xa9", 1, -1, "only len bytes are read");
	/* ASCII is read eight bytes at a time: the odd byte anywhere. */
	all = 1;
	for (i = 0; i < 40; i++) {
		memset(name, 'a', 40);
		name[i] = (char)0x80;			/* lone continuation */
		all &= validate_utf8(name, 40) == -1;
		all &= validate_utf8(name, i) == 0;	/* ends before it */
		memcpy(name + i, "\xc3\xa9", 2);	/* é at every offset */
		all &= validate_utf8(name, i + 2) == 0;
		all &= validate_utf8(name, i + 1) == -1;	/* cut */
		memcpy(name + i, "\xed\xa0\x80", 3);	/* a surrogate */
		all &= validate_utf8(name, 40) == -1;
	}
	ok(all, "UTF-8: a bad, a good and a cut sequence at each of 40 "
	    "offsets, around the eight-byte steps");

	/* Channels. */
	ok(validate_channel(U("news")) == NULL, "channel \"news\"");
	ok(validate_channel(U("user:42/inbox.v2")) == NULL,
	    "channel with punctuation");
	ok(validate_channel(U("caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac")) == NULL,
	    "channel with non-ASCII letters");
	ok(validate_channel(U("\xc2\xa1")) == NULL, "channel U+00A1 (after C1 "
	    "and NBSP)");
	ok(validate_channel(U("\xe2\x80\x8b")) == NULL,
	    "channel U+200B (not listed as space)");
	memset(name, 'a', sizeof(name));
	ok(validate_channel(name, VALIDATE_CHANNEL_MAX) == NULL,
	    "channel of 255 bytes");
	channel_bad(name, VALIDATE_CHANNEL_MAX + 1,
	    "channel name is longer than 255 bytes", "of 256 bytes");
	channel_bad("", 0, "channel name is empty", "empty");
	channel_bad(NULL, 0, "channel name is empty", "NULL");
	channel_bad(U("a b"), "channel name contains white space or a "
	    "control character", "with a space");
	channel_bad(U("\xc3"), "channel name is not valid UTF-8", "bad UTF-8");
	channel_bad(U("a\xed\xa0\x80"), "channel name is not valid UTF-8",
	    "with a surrogate");
	all = 1;
	for (i = 0; i <= 0x20; i++) {
		snprintf(one, sizeof(one), "a%cb", (int)i);
		if (validate_channel(one, 3) == NULL)
			all = 0;
	}
	ok(all, "channel with any byte 0x00-0x20 refused");
	ok(validate_channel("a\x7f" "b", 3) != NULL, "channel with DEL refused");
	ok(validate_channel(U("\x21")) == NULL &&
	    validate_channel(U("\x7e")) == NULL, "channel '!' and '~' accepted");
	ok(validate_channel(U("a\xc2\x80")) != NULL &&
	    validate_channel(U("a\xc2\x85")) != NULL &&
	    validate_channel(U("a\xc2\x9f")) != NULL,
	    "channel with C1 controls U+0080, U+0085, U+009F refused");
	all = 1;
	for (i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++) {
		snprintf(name, sizeof(name), "a%sb", spaces[i]);
		if (validate_channel(name, strlen(name)) == NULL ||
		    strstr(validate_channel(name, strlen(name)), ws) == NULL) {
			tap_diag("space %zu accepted", i);
			all = 0;
		}
	}
	ok(all, "channel with each Unicode space refused");

	/* Event types. */
	ok(validate_event_type(NULL, 0) == NULL, "type absent");
	ok(validate_event_type("", 0) == NULL, "type empty");
	ok(validate_event_type(U("message")) == NULL, "type \"message\"");
	ok(validate_event_type(U("user\tjoined \xe2\x9c\x93")) == NULL,
	    "type with inner space, tab and non-ASCII");
	ok(validate_event_type(U("resets")) == NULL &&
	    validate_event_type(U("reset-x")) == NULL &&
	    validate_event_type(U("re set")) == NULL,
	    "types that only start like \"reset\"");
	is_str(validate_event_type(U("reset")), "event type \"reset\" is "
	    "reserved (in any case)", "type \"reset\" reserved");
	ok(validate_event_type(U("Reset")) != NULL &&
	    validate_event_type(U("RESET")) != NULL &&
	    validate_event_type(U("rEsEt")) != NULL,
	    "\"reset\" reserved in any ASCII case");
	ok(validate_event_type(U("Message")) == NULL &&
	    validate_event_type(U("message")) == NULL,
	    "other types keep their case");
	is_str(validate_event_type(U("reset ")), "event type starts or ends "
	    "with white space", "\"reset \" refused for its space");
	ok(validate_event_type(U(" reset")) != NULL &&
	    validate_event_type(U("\treset")) != NULL &&
	    validate_event_type(U("a ")) != NULL &&
	    validate_event_type(U(" ")) != NULL &&
	    validate_event_type(U("x\xc2\xa0")) != NULL &&
	    validate_event_type(U("\xe3\x80\x80x")) != NULL &&
	    validate_event_type(U("x\xc2\x85")) != NULL,
	    "space, tab, NBSP, ideographic space, NEL at either end refused");
	ok(validate_event_type(U("a\xc2\xa0" "b")) == NULL,
	    "a Unicode space inside is kept");
	ok(validate_event_type(U("a\nb")) != NULL, "type with LF refused");
	ok(validate_event_type(U("a\rb")) != NULL, "type with CR refused");
	ok(validate_event_type("a\0b", 3) != NULL, "type with NUL refused");
	ok(validate_event_type(U("a\xc0\x80")) != NULL,
	    "type with overlong NUL refused");
	memset(name, 'a', sizeof(name));
	ok(validate_event_type(name, VALIDATE_TYPE_MAX) == NULL,
	    "type of 255 bytes");
	ok(validate_event_type(name, VALIDATE_TYPE_MAX + 1) != NULL,
	    "type of 256 bytes refused");

	tap_done();
	return (tap_exit_status());
}
