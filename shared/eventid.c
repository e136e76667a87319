/* SPDX-License-Identifier: ISC */
/*
 * Event ids "<epoch>-<seq>" (see eventid.h).  Only the canonical form is
 * accepted when parsing: lower-case base 36 epoch, decimal seq, no sign,
 * no leading zeros (except a lone "0"), nothing that overflows 64 bits.
 * So two ids are equal exactly when their strings are, and anything a
 * browser sends that this broker could not have produced is refused.
 */
#include <stdint.h>
#include <string.h>

#include "eventid.h"

static const char eventid_digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";

static size_t	eventid_put(char *, uint64_t, unsigned int);
static int	eventid_number(const char *, size_t, unsigned int, uint64_t *);

/*
 * Writes v in the given base (10 or 36) at p (room for 64 digits); the
 * length.  The digits are made from the end, and each base has its own
 * loop so that the division is by a constant (a multiplication): an id
 * is formatted for every publish.
 */
static size_t
eventid_put(char *p, uint64_t v, unsigned int base)
{
	char	tmp[64], *q = tmp + sizeof(tmp);
	size_t	n;

	if (base == 10) {
		do {
			*--q = (char)('0' + v % 10);
			v /= 10;
		} while (v != 0);
	} else {
		do {
			*--q = eventid_digits[v % 36];
			v /= 36;
		} while (v != 0);
	}
	n = (size_t)(tmp + sizeof(tmp) - q);
	memcpy(p, q, n);
	return (n);
}

/* Copies the id into buf as snprintf would; returns the full length. */
size_t
eventid_format(char *buf, size_t size, uint64_t epoch, uint64_t seq)
{
	char	tmp[EVENTID_MAX + 64];
	size_t	n;

	n = eventid_put(tmp, epoch, 36);
	tmp[n++] = '-';
	n += eventid_put(tmp + n, seq, 10);
	if (size > 0) {
		memcpy(buf, tmp, n < size ? n : size - 1);
		buf[n < size ? n : size - 1] = '\0';
	}
	return (n);
}

size_t
eventid_format_seq(char *buf, size_t size, const char *prefix,
    size_t prefixlen, uint64_t seq)
{
	char	tmp[EVENTID_MAX + 64];
	size_t	n;

	if (prefixlen > EVENTID_MAX)
		prefixlen = EVENTID_MAX;
	memcpy(tmp, prefix, prefixlen);
	n = prefixlen + eventid_put(tmp + prefixlen, seq, 10);
	if (size > 0) {
		memcpy(buf, tmp, n < size ? n : size - 1);
		buf[n < size ? n : size - 1] = '\0';
	}
	return (n);
}

size_t
eventid_format_epoch(char *buf, size_t size, uint64_t epoch)
{
	char	tmp[64];
	size_t	n;

	n = eventid_put(tmp, epoch, 36);
	if (size > 0) {
		memcpy(buf, tmp, n < size ? n : size - 1);
		buf[n < size ? n : size - 1] = '\0';
	}
	return (n);
}

/* Parses a canonical unsigned number of s[0..len) in base 10 or 36. */
static int
eventid_number(const char *s, size_t len, unsigned int base, uint64_t *out)
{
	uint64_t	v = 0;
	unsigned int	d;
	size_t		i;
	char		c;

	if (len == 0 || (len > 1 && s[0] == '0'))
		return (-1);
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (base == 36 && c >= 'a' && c <= 'z')
			d = (unsigned int)(c - 'a') + 10;
		else
			return (-1);
		if (v > (UINT64_MAX - d) / base)
			return (-1);
		v = v * base + d;
	}
	*out = v;
	return (0);
}

int
eventid_parse(const char *s, size_t len, struct eventid *id)
{
	const char	*dash;
	struct eventid	 tmp;

	if (s == NULL || len == 0 || len >= EVENTID_MAX)
		return (-1);
	if ((dash = memchr(s, '-', len)) == NULL)
		return (-1);
	if (eventid_number(s, (size_t)(dash - s), 36, &tmp.epoch) == -1)
		return (-1);
	if (eventid_number(dash + 1, len - (size_t)(dash - s) - 1, 10,
	    &tmp.seq) == -1)
		return (-1);
	*id = tmp;
	return (0);
}

int
eventid_parse_epoch(const char *s, size_t len, uint64_t *epoch)
{
	if (s == NULL || len >= EVENTID_MAX)
		return (-1);
	return (eventid_number(s, len, 36, epoch));
}
