/* SPDX-License-Identifier: ISC */
/*
 * Hexadecimal digits, read one way by every %XX decoder (the responder's
 * query strings, the broker's --redis password).
 */
#ifndef HEX_H
#define HEX_H

/* The value 0..15 of the hex digit c (either case), or -1 for any other
   character. */
int	hex_val(int);

#endif
