/*
 * The hash both sides use for their channel tables: FNV-1a, which spreads
 * short names well and needs no state or seed.  Channel names come from
 * clients, but each table is private to one process and grows with its
 * load, so flooding one bucket costs only that client's own channels.
 */
#ifndef HASH_H
#define HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t
hash_name(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return (h);
}

#endif
