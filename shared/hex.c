/* SPDX-License-Identifier: ISC */
/*
 * Hexadecimal digits (hex.h): pure, no state, no bound to keep; any value
 * of c outside the three digit ranges is answered -1.
 */
#include "config.h"

#include "hex.h"

int
hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}
