/* SPDX-License-Identifier: ISC */
/*
 * Numbers given as command-line option values, parsed one way by every
 * program.
 */
#ifndef OPTNUM_H
#define OPTNUM_H

int	optnum_parse(const char *, unsigned long long, unsigned long long,
	    unsigned long long *);
int	optnum_mode(const char *, unsigned long *);

#endif
