/* SPDX-License-Identifier: ISC */
/*
 * shared/hex.c: every byte value, and the characters just outside each
 * digit range.
 */
#include "config.h"

#include <string.h>

#include "hex.h"
#include "tap.h"

int
main(void)
{
	static const char	 digits[] = "0123456789abcdef";
	static const char	 upper[] = "0123456789ABCDEF";
	int			 c, want, good = 1;

	ok(hex_val('0') == 0 && hex_val('9') == 9, "0 and 9");
	ok(hex_val('a') == 10 && hex_val('f') == 15, "a and f");
	ok(hex_val('A') == 10 && hex_val('F') == 15, "A and F");
	ok(hex_val('/') == -1 && hex_val(':') == -1, "either side of 0-9");
	ok(hex_val('`') == -1 && hex_val('g') == -1, "either side of a-f");
	ok(hex_val('@') == -1 && hex_val('G') == -1, "either side of A-F");
	ok(hex_val(-1) == -1 && hex_val(0) == -1 && hex_val(256) == -1,
	    "EOF, NUL and past a byte");
	for (c = -128; c < 256; c++) {
		want = -1;
		if (c > 0 && strchr(digits, c) != NULL)
			want = (int)(strchr(digits, c) - digits);
		else if (c > 0 && strchr(upper, c) != NULL)
			want = (int)(strchr(upper, c) - upper);
		if (hex_val(c) != want) {
			tap_diag("hex_val(%d) = %d, want %d", c, hex_val(c),
			    want);
			good = 0;
		}
	}
	ok(good, "every byte value, signed and unsigned");
	tap_done();
	return (tap_exit_status());
}
