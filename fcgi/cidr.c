/* SPDX-License-Identifier: ISC */
/*
 * Networks in CIDR notation and address matching, for --metrics-allow.
 * Addresses are parsed with inet_pton(3), so only the forms it knows are
 * accepted (no "127.1", no zone ids).  Bound: a list holds at most
 * CIDR_MAX networks; more is a start-up error (cidr_list_add fails).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "cidr.h"
#include "optnum.h"

/* Clears the bits past the prefix. */
static void
cidr_mask(struct cidr *c)
{
	size_t	len = c->family == AF_INET ? 4 : 16, i;

	for (i = 0; i < len; i++) {
		if (c->bits >= (i + 1) * 8)
			continue;
		if (c->bits <= i * 8)
			c->addr[i] = 0;
		else
			c->addr[i] &= (uint8_t)(0xff << (8 - (c->bits - i * 8)));
	}
}

int
cidr_parse(const char *s, size_t len, struct cidr *c)
{
	char			 host[INET6_ADDRSTRLEN + 1], num[8];
	const char		*slash;
	unsigned long long	 bits;
	size_t			 hlen;

	memset(c, 0, sizeof(*c));
	slash = memchr(s, '/', len);
	hlen = slash != NULL ? (size_t)(slash - s) : len;
	if (hlen == 0 || hlen >= sizeof(host))
		return (-1);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		c->bits = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		c->bits = 128;
	} else
		return (-1);
	if (slash != NULL) {
		if (len - hlen - 1 == 0 || len - hlen - 1 >= sizeof(num))
			return (-1);
		memcpy(num, slash + 1, len - hlen - 1);
		num[len - hlen - 1] = '\0';
		if (optnum_parse(num, 0, c->bits, &bits) == -1)
			return (-1);
		c->bits = (unsigned)bits;
	}
	cidr_mask(c);
	return (0);
}

int
cidr_list_add(struct cidr_list *l, const char *list)
{
	const char	*p = list, *end;
	size_t		 len;

	for (;;) {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (l->n == CIDR_MAX || cidr_parse(p, len, &l->v[l->n]) == -1)
			return (-1);
		l->n++;
		if (end == NULL)
			return (0);
		p = end + 1;
	}
}

int
cidr_list_match(const struct cidr_list *l, const char *addr)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };
	struct cidr		 a, a4;
	size_t			 i;
	int			 has4 = 0;

	if (addr == NULL || cidr_parse(addr, strlen(addr), &a) == -1 ||
	    memchr(addr, '/', strlen(addr)) != NULL)
		return (0);
	if (a.family == AF_INET6 && memcmp(a.addr, mapped, 12) == 0) {
		memset(&a4, 0, sizeof(a4));
		a4.family = AF_INET;
		memcpy(a4.addr, a.addr + 12, 4);
		has4 = 1;
	}
	for (i = 0; i < l->n; i++) {
		const struct cidr *n = &l->v[i];
		const struct cidr *x = n->family == a.family ? &a :
		    (has4 && n->family == AF_INET) ? &a4 : NULL;
		struct cidr	 m;

		if (x == NULL)
			continue;
		m = *x;
		m.bits = n->bits;
		cidr_mask(&m);
		if (memcmp(m.addr, n->addr, n->family == AF_INET ? 4 : 16) == 0)
			return (1);
	}
	return (0);
}
