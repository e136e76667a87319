/*
 * Name and text rules (see validate.h).  Channel names end up in logs,
 * URLs and the broker's statistics, so they may hold no white space or
 * control character of any kind; event types end up on an SSE "event:"
 * line, so they may hold no line break.
 */
#include <stddef.h>
#include <stdint.h>

#include "validate.h"

static size_t	validate_next(const unsigned char *, size_t, uint32_t *);
static int	validate_is_space(uint32_t);

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

	while (len > 0) {
		/* Runs of ASCII are the common case. */
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

const char *
validate_event_type(const char *s, size_t len)
{
	size_t	i;

	if (s == NULL || len == 0)
		return (NULL);		/* "message" */
	if (len > VALIDATE_TYPE_MAX)
		return ("event type is longer than 255 bytes");
	if (validate_utf8(s, len) == -1)
		return ("event type is not valid UTF-8");
	for (i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return ("event type contains a line break or NUL");
	}
	if (len == 5 && s[0] == 'r' && s[1] == 'e' && s[2] == 's' &&
	    s[3] == 'e' && s[4] == 't')
		return ("event type \"reset\" is reserved");
	return (NULL);
}
