/* SPDX-License-Identifier: ISC */
/*
 * Option numbers: decimal digits only (no sign, no space, no suffix),
 * within [min, max]; file modes: octal digits only, at most 0777.  Bound: the range; a value out of it, or past what
 * strtoull takes, is refused with -1 and the caller says which option.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "optnum.h"

int
optnum_parse(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long	 v;
	char			*end;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return (-1);
	*out = v;
	return (0);
}

/* A file mode given in octal (a socket's permissions); -1 when invalid. */
int
optnum_mode(const char *s, unsigned long *out)
{
	unsigned long	 v;
	char		*end;

	if (*s < '0' || *s > '7')
		return (-1);
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno != 0 || *end != '\0' || v > 0777)
		return (-1);
	*out = v;
	return (0);
}
