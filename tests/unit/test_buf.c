/*
 * Unit tests of bounded buffers: the bound holds whatever the order of
 * appends and consumes, and a refused append leaves the buffer unchanged.
 */
#include <string.h>

#include "buf.h"
#include "tap.h"

int
main(void)
{
	struct buf	b;
	char		big[1000];
	size_t		i;
	int		good;

	buf_init(&b, 10);
	ok(buf_used(&b) == 0 && b.data == NULL, "a new buffer is empty");
	ok(buf_append(&b, "hello", 5) == 0, "append 5 of 10");
	ok(buf_append(&b, "world", 5) == 0, "append up to the bound");
	ok(buf_append(&b, "!", 1) == -1, "one byte over the bound fails");
	tap_is_mem(buf_head(&b), buf_used(&b), "helloworld", 10,
	    "and leaves the contents unchanged");
	ok(buf_append_byte(&b, 'x') == -1 && buf_used(&b) == 10,
	    "append_byte over the bound fails");
	ok(buf_printf(&b, "%d", 1) == -1 && buf_used(&b) == 10,
	    "printf over the bound fails");
	ok(buf_reserve(&b, 1) == -1, "reserve over the bound fails");
	ok(buf_append(&b, "", 0) == 0, "appending nothing at the bound works");

	buf_consume(&b, 3);
	tap_is_mem(buf_head(&b), buf_used(&b), "loworld", 7, "consume 3");
	ok(buf_append(&b, "abcd", 4) == -1 && buf_used(&b) == 7,
	    "the bound counts unconsumed bytes: 7 + 4 fails");
	ok(buf_append(&b, "abc", 3) == 0, "7 + 3 fits after a consume");
	tap_is_mem(buf_head(&b), buf_used(&b), "loworldabc", 10,
	    "contents after reuse of consumed room");
	buf_consume(&b, 10);
	ok(buf_used(&b) == 0 && b.off == 0 && b.len == 0,
	    "consuming everything resets the offsets");
	ok(buf_printf(&b, "%s-%d", "ab", 42) == 0, "printf within the bound");
	tap_is_mem(buf_head(&b), buf_used(&b), "ab-42", 5, "printf output");
	ok(buf_printf(&b, "%s", "12345") == -1 && buf_used(&b) == 5,
	    "printf of 5 more bytes (plus its NUL) fails, unchanged");
	buf_reset(&b);
	ok(buf_used(&b) == 0, "reset empties");
	buf_free(&b);
	ok(b.data == NULL && buf_used(&b) == 0, "free releases");
	buf_free(&b);

	/* Unbounded (max 0): growth keeps every byte. */
	buf_init(&b, 0);
	memset(big, 'z', sizeof(big));
	good = 1;
	for (i = 0; i < 1000; i++) {
		if (buf_append(&b, big, (i % 37) + 1) == -1)
			good = 0;
		if (i % 3 == 0)
			buf_consume(&b, buf_used(&b) / 2);
	}
	ok(good, "a thousand appends and consumes without a bound");
	for (i = 0; i < buf_used(&b); i++) {
		if (buf_head(&b)[i] != 'z')
			good = 0;
	}
	ok(good, "contents intact after growth and compaction");
	buf_compact(&b);
	ok(b.off == 0, "compact moves the data to the front");
	buf_free(&b);

	/* Direct writes after reserve. */
	buf_init(&b, 4);
	ok(buf_reserve(&b, 4) == 0, "reserve 4 of 4");
	memcpy(buf_tail(&b), "abcd", 4);
	buf_commit(&b, 4);
	tap_is_mem(buf_head(&b), buf_used(&b), "abcd", 4, "commit");
	buf_free(&b);

	tap_done();
	return (tap_exit_status());
}
