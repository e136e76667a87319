/* SPDX-License-Identifier: ISC */
/*
 * Lists of IPv4/IPv6 networks (CIDR: "127.0.0.1", "10.0.0.0/8",
 * "::1", "fd00::/8") and whether an address (REMOTE_ADDR) is in one.
 * Pure; unit-tested in test_cidr.c.
 */
#ifndef CIDR_H
#define CIDR_H

#include <stddef.h>
#include <stdint.h>

#define CIDR_MAX	64	/* networks in one list */

struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];	/* host bits cleared */
	unsigned	 bits;
};

struct cidr_list {
	size_t		 n;
	struct cidr	 v[CIDR_MAX];
};

/* One network; -1 when it is not one (host bits set are cleared). */
int	cidr_parse(const char *, size_t, struct cidr *);
/* Adds a comma-separated list; -1 on a bad entry or past CIDR_MAX. */
int	cidr_list_add(struct cidr_list *, const char *);
/* 1 when addr is in a network of the list; 0 also for a bad address.
   An IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches as IPv4. */
int	cidr_list_match(const struct cidr_list *, const char *addr);

#endif
