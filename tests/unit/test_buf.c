/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of bounded buffers: the bound holds whatever the order of
 * appends and consumes, and a refused append leaves the buffer unchanged;
 * truncate, cut and detach.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

int
main(void)
{
	struct buf	b;
	char		big[1000], *p;
	size_t		i, mark, n;
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

	/* Truncate to a mark, across a compaction. */
	buf_init(&b, 0);
	buf_append(&b, "0123456789", 10);
	buf_consume(&b, 4);
	mark = buf_used(&b);
	buf_append(&b, big, 300);	/* grows: compacts, off becomes 0 */
	buf_truncate(&b, mark);
	tap_is_mem(buf_head(&b), buf_used(&b), "456789", 6,
	    "truncate to a mark taken before a compaction");
	buf_truncate(&b, 100);
	ok(buf_used(&b) == 6, "truncate past the end changes nothing");
	buf_truncate(&b, 0);
	ok(buf_used(&b) == 0 && b.off == 0 && b.len == 0,
	    "truncate to nothing resets the offsets");
	buf_free(&b);

	/* Cut out of the middle, the front and the end. */
	buf_init(&b, 0);
	buf_append(&b, "xxabcdefgh", 10);
	buf_consume(&b, 2);
	buf_cut(&b, 2, 3);
	tap_is_mem(buf_head(&b), buf_used(&b), "abfgh", 5, "cut in the middle");
	buf_cut(&b, 0, 1);
	tap_is_mem(buf_head(&b), buf_used(&b), "bfgh", 4, "cut at the front");
	buf_cut(&b, 2, 2);
	tap_is_mem(buf_head(&b), buf_used(&b), "bf", 2, "cut at the end");
	buf_cut(&b, 0, 2);
	ok(buf_used(&b) == 0, "cut of everything empties");
	buf_free(&b);

	/* Detach hands the bytes over and leaves an empty, bounded buffer. */
	buf_init(&b, 16);
	buf_append(&b, "--payload", 9);
	buf_consume(&b, 2);
	p = buf_detach(&b, &n);
	tap_is_mem(p, n, "payload", 7, "detach gives the unconsumed bytes");
	ok(b.data == NULL && buf_used(&b) == 0 && b.max == 16,
	    "detach leaves the buffer empty with its bound");
	free(p);
	ok(buf_append(&b, "0123456789abcdef", 16) == 0 &&
	    buf_append(&b, "x", 1) == -1, "a detached buffer is reusable");
	buf_free(&b);
	buf_init(&b, 0);
	p = buf_detach(&b, &n);
	ok(p == NULL && n == 0, "detaching a never-used buffer gives nothing");

	tap_done();
	return (tap_exit_status());
}
