/* SPDX-License-Identifier: ISC */
/*
 * fcgi/cidr.c: networks parsed or refused, host bits cleared, addresses
 * matched at every prefix length, IPv4-mapped IPv6 addresses as IPv4.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "tap.h"

static int
match(const char *list, const char *addr)
{
	struct cidr_list	l;

	memset(&l, 0, sizeof(l));
	if (cidr_list_add(&l, list) == -1)
		return (-1);
	return (cidr_list_match(&l, addr));
}

int
main(void)
{
	static const char *const bad[] = { "", "/8", "127.0.0.1/", "1.2.3.4/33",
	    "::1/129", "1.2.3", "127.1", "1.2.3.4/-1", "1.2.3.4/8x",
	    "fe80::1%eth0", "1.2.3.4 /8", "localhost" };
	struct cidr_list	 l;
	char			 net[64];
	size_t			 i;
	int			 bits, good = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&l, 0, sizeof(l));
		ok(cidr_list_add(&l, bad[i]) == -1, "refused: \"%s\"", bad[i]);
	}
	is_int(match("127.0.0.1,::1", "127.0.0.1"), 1, "default: 127.0.0.1");
	is_int(match("127.0.0.1,::1", "::1"), 1, "default: ::1");
	is_int(match("127.0.0.1,::1", "127.0.0.2"), 0, "default: not 127.0.0.2");
	is_int(match("127.0.0.1, ::1", "::ffff:127.0.0.1"), 1,
	    "IPv4-mapped matches as IPv4");
	is_int(match("10.0.0.0/8", "10.255.1.2"), 1, "10/8");
	is_int(match("10.1.2.3/8", "10.9.9.9"), 1, "host bits cleared");
	is_int(match("10.0.0.0/8", "11.0.0.0"), 0, "outside 10/8");
	is_int(match("0.0.0.0/0", "203.0.113.9"), 1, "/0 is everything v4");
	is_int(match("0.0.0.0/0", "2001:db8::1"), 0, "v4 /0 not v6");
	is_int(match("fd00::/8", "fdab::1"), 1, "fd00::/8");
	is_int(match("fd00::/8", "fe00::1"), 0, "outside fd00::/8");
	is_int(match("127.0.0.1", "127.0.0.1/32"), 0,
	    "an address with a prefix is not an address");
	is_int(match("127.0.0.1", NULL), 0, "no REMOTE_ADDR: no match");
	is_int(match("127.0.0.1", "garbage"), 0, "bad REMOTE_ADDR: no match");

	/* Every prefix length n: 192.168.170.85/n takes the address, the
	   address with its last network bit (n - 1) flipped is out, and
	   the one with its first host bit (n) flipped is in. */
	for (bits = 0; bits <= 32; bits++) {
		unsigned a = (192u << 24) | (168u << 16) | (170u << 8) | 85u;
		unsigned x;
		char	 flip[32];
		int	 k;

		snprintf(net, sizeof(net), "192.168.170.85/%d", bits);
		if (match(net, "192.168.170.85") != 1)
			good = 0;
		for (k = bits - 1; k <= bits; k++) {
			if (k < 0 || k > 31)
				continue;
			x = a ^ (1u << (31 - k));
			snprintf(flip, sizeof(flip), "%u.%u.%u.%u", x >> 24,
			    (x >> 16) & 255, (x >> 8) & 255, x & 255);
			if (match(net, flip) != (k == bits))
				good = 0;
		}
	}
	ok(good, "IPv4: every prefix length takes its network and no more");
	good = 1;
	for (bits = 1; bits <= 128; bits++) {
		char	addr[64];
		unsigned byte = (unsigned)(bits - 1) / 8;
		unsigned bit = 7 - (unsigned)(bits - 1) % 8;
		unsigned char raw[16];

		/* The last network bit flipped: out. */
		memset(raw, 0xaa, sizeof(raw));
		raw[byte] ^= (unsigned char)(1u << bit);
		snprintf(net, sizeof(net), "aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:"
		    "aaaa:aaaa/%d", bits);
		snprintf(addr, sizeof(addr), "%02x%02x:%02x%02x:%02x%02x:"
		    "%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x", raw[0],
		    raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
		    raw[8], raw[9], raw[10], raw[11], raw[12], raw[13],
		    raw[14], raw[15]);
		if (match(net, addr) != 0 || match(net,
		    "aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa") != 1)
			good = 0;
	}
	ok(good, "IPv6: every prefix length takes its network and no more");
	memset(&l, 0, sizeof(l));
	for (i = 0; i < CIDR_MAX; i++)
		cidr_list_add(&l, "::1");
	ok(cidr_list_add(&l, "::1") == -1, "past %d networks: refused",
	    CIDR_MAX);
	tap_done();
	return (tap_exit_status());
}
