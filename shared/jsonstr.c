/* SPDX-License-Identifier: ISC */
/*
 * JSON string literals.  Only what JSON requires is escaped ('"', '\\'
 * and control characters, with the short forms where JSON has them);
 * every other byte is copied as it is, so UTF-8 stays UTF-8.  Whether the
 * bytes are valid UTF-8 is the caller's to check (validate_utf8).
 *
 * Bound: the buffer's.  At it the append fails with -1 and the buffer may
 * hold part of the literal; callers undo to a mark (buf_truncate).
 */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "jsonstr.h"

/* Appends s[0..len) as a JSON string literal, quotes included; 0 or -1. */
int
jsonstr_append(struct buf *out, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, run, esclen;
	char			 esc[6];

	if (buf_append_byte(out, '"') == -1)
		return (-1);
	run = 0;
	for (i = 0; i < len; i++) {
		if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\')
			continue;
		if (buf_append(out, s + run, i - run) == -1)
			return (-1);
		run = i + 1;
		esc[0] = '\\';
		esclen = 2;
		switch (p[i]) {
		case '"':  esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 0xf];
			esclen = 6;
			break;
		}
		if (buf_append(out, esc, esclen) == -1)
			return (-1);
	}
	if (buf_append(out, s + run, len - run) == -1 ||
	    buf_append_byte(out, '"') == -1)
		return (-1);
	return (0);
}
