/* SPDX-License-Identifier: ISC */
/*
 * Name and text rules (see validate.h).  Channel names end up in logs,
 * URLs and the broker's statistics, so they may hold no white space or
 * control character of any kind; event types end up on an SSE "event:"
 * line, so they may hold no line break, and may not begin or end with
 * white space.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "validate.h"

static size_t	validate_next(const unsigned char *, size_t, uint32_t *);
static int	validate_is_space(uint32_t);
static int	validate_type_space(uint32_t);

/*
 * Decodes the code point at p[0..len) into *cp and returns its length in
 * bytes, or 0 when the bytes there are not well-formed UTF-8 (RFC 3629:
 * shortest form only, no surrogates, at most U+10FFFF).
 */
static size_t
validate_next(const unsigned char *p, size_t len, uint32_t *cp)
{
	uint32_t	c = p[0], min;
	size_t		n, i;

	if (c < 0x80) {
		*cp = c;
		return (1);
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else
		return (0);
	if (len < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (0);
	*cp = c;
	return (n);
}

int
validate_utf8(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 n;

	uint64_t		 w;

	while (len > 0) {
		/*
		 * Runs of ASCII are the common case: eight bytes at a time
		 * while none has its top bit set (every publish is checked).
		 */
		if (len >= sizeof(w)) {
			memcpy(&w, p, sizeof(w));
			if ((w & UINT64_C(0x8080808080808080)) == 0) {
				p += sizeof(w);
				len -= sizeof(w);
				continue;
			}
		}
		if (*p < 0x80) {
			p++;
			len--;
			continue;
		}
		if ((n = validate_next(p, len, &cp)) == 0)
			return (-1);
		p += n;
		len -= n;
	}
	return (0);
}

/* Unicode white space beyond ASCII and C1, as listed in validate.h. */
static int
validate_is_space(uint32_t cp)
{
	return (cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000 || cp == 0xfeff);
}

/* White space that may not begin or end an event type. */
static int
validate_type_space(uint32_t cp)
{
	return (cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 ||
	    validate_is_space(cp));
}

const char *
validate_channel(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 n;

	if (s == NULL || len == 0)
		return ("channel name is empty");
	if (len > VALIDATE_CHANNEL_MAX)
		return ("channel name is longer than 255 bytes");
	while (len > 0) {
		if ((n = validate_next(p, len, &cp)) == 0)
			return ("channel name is not valid UTF-8");
		if (cp <= 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
		    validate_is_space(cp))
			return ("channel name contains white space or a "
			    "control character");
		p += n;
		len -= n;
	}
	return (NULL);
}

/*
 * Types are compared byte for byte, as browsers compare them, so "Foo" and
 * "foo" are two types.  Two exceptions guard against a type that looks
 * like another: white space at either end is refused outright (it is
 * invisible on the "event:" line, and SSE parsing eats one leading space),
 * and the reserved name is matched without regard to ASCII case, so
 * "Reset" cannot pass for the broker's notice in a client that folds case.
 */
const char *
validate_event_type(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp, first = 0, last = 0;
	size_t			 i, n;
	static const char	 reserved[] = "reset";

	if (s == NULL || len == 0)
		return (NULL);		/* "message" */
	if (len > VALIDATE_TYPE_MAX)
		return ("event type is longer than 255 bytes");
	for (i = 0; i < len; i += n) {
		if ((n = validate_next(p + i, len - i, &cp)) == 0)
			return ("event type is not valid UTF-8");
		if (cp == '\r' || cp == '\n' || cp == '\0')
			return ("event type contains a line break or NUL");
		if (i == 0)
			first = cp;
		last = cp;
	}
	if (validate_type_space(first) || validate_type_space(last))
		return ("event type starts or ends with white space");
	if (len == sizeof(reserved) - 1) {
		for (i = 0; i < len; i++)
			if ((s[i] | 0x20) != reserved[i])
				break;
		if (i == len)
			return ("event type \"reset\" is reserved (in any "
			    "case)");
	}
	return (NULL);
}
