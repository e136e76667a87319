/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of event ids: formatting, parsing of the canonical form only,
 * and the edges of 64-bit overflow.
 */
#include <stdint.h>
#include <string.h>

#include "eventid.h"
#include "tap.h"

static void
parse_ok(const char *s, uint64_t epoch, uint64_t seq)
{
	struct eventid	id = { 7, 7 };
	int		r;

	r = eventid_parse(s, strlen(s), &id);
	ok(r == 0 && id.epoch == epoch && id.seq == seq, "parse \"%s\"", s);
}

static void
parse_bad(const char *s, size_t len, const char *why)
{
	struct eventid	id = { 7, 7 };
	int		r;

	r = eventid_parse(s, len, &id);
	ok(r == -1 && id.epoch == 7 && id.seq == 7,
	    "refuse %s, id untouched", why);
}

/* eventid_format_seq after eventid_format_epoch is eventid_format. */
static void
test_format_seq(void)
{
	static const uint64_t	 v[] = { 0, 1, 9, 10, 35, 36, 99, 100,
	    1796101291866858ULL, UINT64_MAX / 10, UINT64_MAX };
	char			 pre[EVENTID_MAX], a[EVENTID_MAX];
	char			 b[EVENTID_MAX], sa[8], sb[8];
	size_t			 i, k, n, la, lb;
	int			 same = 1;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = eventid_format_epoch(pre, sizeof(pre) - 1, v[i]);
		pre[n++] = '-';
		for (k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
			la = eventid_format(a, sizeof(a), v[i], v[k]);
			lb = eventid_format_seq(b, sizeof(b), pre, n, v[k]);
			same &= la == lb && strcmp(a, b) == 0;
			/* And truncated alike. */
			eventid_format(sa, sizeof(sa), v[i], v[k]);
			eventid_format_seq(sb, sizeof(sb), pre, n, v[k]);
			same &= strcmp(sa, sb) == 0;
		}
	}
	ok(same, "format_seq with a formatted epoch: the same ids as "
	    "eventid_format, whole and truncated");
}

int
main(void)
{
	char		 buf[EVENTID_MAX], small[5];
	struct eventid	 id;
	uint64_t	 e;
	size_t		 n;

	/* Formatting. */
	n = eventid_format(buf, sizeof(buf), 1764288000000000ULL, 1);
	is_str(buf, "hddypumtc0-1", "format a real epoch");
	is_int((long long)n, 12, "its length");
	eventid_format(buf, sizeof(buf), 0, 0);
	is_str(buf, "0-0", "format 0-0");
	eventid_format(buf, sizeof(buf), 35, 10);
	is_str(buf, "z-10", "format 35-10");
	eventid_format(buf, sizeof(buf), 36, 9);
	is_str(buf, "10-9", "format 36-9");
	n = eventid_format(buf, sizeof(buf), UINT64_MAX, UINT64_MAX);
	is_str(buf, "3w5e11264sgsf-18446744073709551615", "format maxima");
	ok(n < EVENTID_MAX, "the longest id fits EVENTID_MAX");
	n = eventid_format(small, sizeof(small), 1764288000000000ULL, 1);
	ok(n == 12 && strcmp(small, "hddy") == 0,
	    "a short buffer is truncated and terminated");
	n = eventid_format_epoch(buf, sizeof(buf), 1764288000000000ULL);
	ok(n == 10 && strcmp(buf, "hddypumtc0") == 0, "format the epoch");

	/* Parsing what was formatted. */
	parse_ok("hddypumtc0-1", 1764288000000000ULL, 1);
	parse_ok("0-0", 0, 0);
	parse_ok("z-10", 35, 10);
	parse_ok("3w5e11264sgsf-18446744073709551615", UINT64_MAX, UINT64_MAX);
	ok(eventid_parse("hddypumtc0-12xyz", 13, &id) == 0 && id.seq == 12,
	    "only len bytes are read");

	/* Everything else. */
	parse_bad("", 0, "empty");
	parse_bad("-", 1, "a lone dash");
	parse_bad("-1", 2, "empty epoch");
	parse_bad("abc-", 4, "empty seq");
	parse_bad("abc", 3, "no dash");
	parse_bad("abc-1-2", 7, "two dashes");
	parse_bad("abc--1", 6, "negative seq");
	parse_bad("abc-+1", 6, "'+' on seq");
	parse_bad("+abc-1", 6, "'+' on epoch");
	parse_bad("ABC-1", 5, "upper case epoch");
	parse_bad("aBc-1", 5, "mixed case epoch");
	parse_bad("abc-1a", 6, "letter in seq");
	parse_bad(" abc-1", 6, "leading space");
	parse_bad("abc-1 ", 6, "trailing space");
	parse_bad("abc-1\n", 6, "trailing newline");
	parse_bad("abc\0-1", 6, "NUL inside");
	parse_bad("0abc-1", 6, "leading zero in epoch");
	parse_bad("abc-01", 6, "leading zero in seq");
	parse_bad("abc-00", 6, "seq 00");
	parse_bad("3w5e11264sgsg-1", 15, "epoch 2^64 (overflow)");
	parse_bad("zzzzzzzzzzzzz-1", 15, "epoch far over 2^64");
	parse_bad("1-18446744073709551616", 22, "seq 2^64 (overflow)");
	parse_bad("1-99999999999999999999", 22, "seq far over 2^64");
	parse_bad("1-000000000000000000000000000000000000000000000001", 50,
	    "longer than EVENTID_MAX");
	parse_bad("a_b-1", 5, "underscore");
	parse_bad("\xc3\xa9-1", 4, "non-ASCII");
	parse_bad(NULL, 0, "NULL");

	ok(eventid_parse_epoch("hddypumtc0", 10, &e) == 0 &&
	    e == 1764288000000000ULL, "parse an epoch");
	ok(eventid_parse_epoch("hddypumtc0-1", 12, &e) == -1,
	    "an id is not an epoch");
	ok(eventid_parse_epoch("", 0, &e) == -1, "empty epoch refused");
	ok(eventid_parse_epoch("Hddypumtc0", 10, &e) == -1,
	    "upper case epoch refused");
	test_format_seq();

	tap_done();
	return (tap_exit_status());
}
