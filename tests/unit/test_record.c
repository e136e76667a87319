/* SPDX-License-Identifier: ISC */
/*
 * FastCGI record building: header bytes, padding, records split at the
 * content limit, partial-write continuation, the end-of-request pair.
 */
#include "config.h"

#include <sys/uio.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "tap.h"

/* Concatenates iovecs into one buffer (caller frees). */
static char *
flatten(const struct iovec *iov, size_t n, size_t *len)
{
	char	*p;
	size_t	 i, total = 0;

	for (i = 0; i < n; i++)
		total += iov[i].iov_len;
	p = malloc(total + 1);
	total = 0;
	for (i = 0; i < n; i++) {
		memcpy(p + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	*len = total;
	return (p);
}

/* Builds the wire image of content by hand, the way the spec says. */
static char *
expected(uint16_t reqid, const char *c, size_t len, size_t *outlen)
{
	char	*p = malloc(len + (len / 65528 + 1) * 16);
	size_t	 off = 0, n = 0, chunk, pad;

	while (off < len) {
		chunk = len - off > 65528 ? 65528 : len - off;
		pad = (8 - chunk % 8) % 8;
		p[n++] = 1;
		p[n++] = 6;
		p[n++] = (char)(reqid >> 8);
		p[n++] = (char)(reqid & 0xff);
		p[n++] = (char)(chunk >> 8);
		p[n++] = (char)(chunk & 0xff);
		p[n++] = (char)pad;
		p[n++] = 0;
		memcpy(p + n, c + off, chunk);
		n += chunk;
		memset(p + n, 0, pad);
		n += pad;
		off += chunk;
	}
	*outlen = n;
	return (p);
}

static void
check_content(uint16_t reqid, size_t len)
{
	uint8_t		 hdrs[64][RECORD_HEADER_LEN];
	struct iovec	 iov[192];
	char		*c, *got, *want;
	size_t		 n, glen, wlen, used, i, skip;
	int		 allok = 1;

	c = malloc(len + 1);
	for (i = 0; i < len; i++)
		c[i] = (char)('a' + i % 26);
	want = expected(reqid, c, len, &wlen);
	is_int(record_stdout_size(len), wlen, "size of %zu bytes", len);
	n = record_stdout_iov(reqid, c, len, 0, hdrs, 64, &used, iov, 192);
	got = flatten(iov, n, &glen);
	tap_is_mem(got, glen, want, wlen, "wire image of %zu bytes", len);
	free(got);
	/* Continuing after every possible partial write gives the rest. */
	for (skip = 0; skip <= wlen; skip += (wlen > 200 ? 4099 : 1)) {
		n = record_stdout_iov(reqid, c, len, skip, hdrs, 64, &used,
		    iov, 192);
		got = flatten(iov, n, &glen);
		if (glen != wlen - skip ||
		    memcmp(got, want + skip, glen) != 0)
			allok = 0;
		free(got);
	}
	ok(allok, "continuation at every offset of %zu bytes", len);
	free(want);
	free(c);
}

/*
 * Content cut into parts of the given sizes and joined into one record
 * gives the same wire image as the whole content in one record, from
 * every offset a partial write can leave.
 */
static void
check_join(uint16_t reqid, const size_t *sizes, size_t nsizes)
{
	uint8_t		 hdr[RECORD_HEADER_LEN], hdrs[4][RECORD_HEADER_LEN];
	struct iovec	 parts[16], iov[20];
	char		*c, *got, *want;
	size_t		 len = 0, i, n, glen, wlen, used, skip;
	int		 allok = 1;

	for (i = 0; i < nsizes; i++)
		len += sizes[i];
	c = malloc(len + 1);
	for (i = 0; i < len; i++)
		c[i] = (char)('A' + i % 23);
	for (len = 0, i = 0; i < nsizes; i++) {
		parts[i].iov_base = c + len;
		parts[i].iov_len = sizes[i];
		len += sizes[i];
	}
	want = expected(reqid, c, len, &wlen);
	n = record_stdout_join(reqid, parts, nsizes, 0, hdr, iov, 20);
	got = flatten(iov, n, &glen);
	tap_is_mem(got, glen, want, wlen, "%zu parts, %zu bytes: one record",
	    nsizes, len);
	free(got);
	n = record_stdout_iov(reqid, c, len, 0, hdrs, 4, &used, iov, 20);
	is_int(used, 1, "%zu bytes fit one record", len);
	for (skip = 0; skip <= wlen; skip++) {
		n = record_stdout_join(reqid, parts, nsizes, skip, hdr, iov,
		    20);
		got = flatten(iov, n, &glen);
		if (glen != wlen - skip ||
		    memcmp(got, want + skip, glen) != 0)
			allok = 0;
		free(got);
	}
	ok(allok, "join continues at every offset of %zu bytes", wlen);
	free(want);
	free(c);
}

int
main(void)
{
	uint8_t		 h[8], end[RECORD_END_LEN], hdrs[4][8];
	static const uint8_t h_exp[8] = { 1, 6, 0x12, 0x34, 0xab, 0xcd, 3, 0 };
	static const uint8_t end_exp[24] = {
		1, 6, 0, 1, 0, 0, 0, 0,
		1, 3, 0, 1, 0, 8, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
	};
	struct iovec	 iov[16];
	char		*big;
	size_t		 n, used, total, i;

	is_int(record_padding(0), 0, "no padding for 0");
	is_int(record_padding(1), 7, "7 bytes pad 1");
	is_int(record_padding(8), 0, "8 needs none");
	is_int(record_padding(13), 3, "13 pads 3");
	record_header(h, RECORD_STDOUT, 0x1234, 0xabcd, 3);
	tap_is_mem(h, 8, h_exp, 8, "header bytes are big endian");
	record_end(end, 1, 0);
	tap_is_mem(end, 24, end_exp, 24, "empty STDOUT + END_REQUEST");
	record_end(end, 0x0102, 0x01020304);
	ok(end[2] == 1 && end[3] == 2 && end[10] == 1 && end[11] == 2 &&
	    end[16] == 1 && end[19] == 4 && end[20] == 0,
	    "end carries request id and app status");
	is_int(record_stdout_size(0), 0, "no content, no record");
	is_int(record_stdout_size(1), 16, "1 byte: header + 1 + 7 pad");
	is_int(record_stdout_size(65528), 65536, "largest single record");
	is_int(record_stdout_size(65529), 65536 + 16, "one byte more: two");

	check_content(1, 1);
	check_content(1, 7);
	check_content(1, 8);
	check_content(0x4243, 100);
	check_content(1, 65528);
	check_content(1, 65535);
	check_content(1, 65536);
	check_content(1, 200000);

	/* Every record header says at most 65535 content bytes. */
	n = record_stdout_iov(1, "x", 0, 0, hdrs, 4, &used, iov, 16);
	is_int(n, 0, "empty content: nothing to write");
	big = calloc(1, 300000);
	n = record_stdout_iov(1, big, 300000, 0, hdrs, 4, &used, iov, 16);
	is_int(used, 4, "stops when out of headers");
	for (total = 0, i = 0; i < n; i++)
		total += iov[i].iov_len;
	is_int(total, 4 * 65536, "describes a prefix of whole records");
	n = record_stdout_iov(1, big, 300000, 0, hdrs, 4, &used, iov, 4);
	for (total = 0, i = 0; i < n; i++)
		total += iov[i].iov_len;
	is_int(n, 4, "stops when out of iovecs");
	is_int(total, 2 * 65536, "two whole records (no padding needed)");
	free(big);

	{
		static const size_t	s1[] = { 5 };
		static const size_t	s3[] = { 30, 1, 17 };
		static const size_t	s4[] = { 8, 0, 16, 8 };
		static const size_t	s5[] = { 100, 200, 0, 3, 4 };
		uint8_t			jh[RECORD_HEADER_LEN];
		struct iovec		parts[3];
		char			buf[8];

		check_join(1, s1, 1);
		check_join(0x0203, s3, 3);
		check_join(7, s4, 4);
		check_join(1, s5, 5);

		memset(buf, 'x', sizeof(buf));
		parts[0].iov_base = parts[1].iov_base = buf;
		parts[0].iov_len = parts[1].iov_len = 0;
		n = record_stdout_join(1, parts, 2, 0, jh, iov, 16);
		is_int(n, 0, "join of empty parts: no record (would end it)");
		n = record_stdout_join(1, parts, 0, 0, jh, iov, 16);
		is_int(n, 0, "join of nothing: no record");
		parts[0].iov_len = 3;
		parts[1].iov_len = 5;
		parts[2].iov_base = buf;
		parts[2].iov_len = 1;
		n = record_stdout_join(1, parts, 3, 0, jh, iov, 16);
		ok(n == 5 && jh[4] == 0 && jh[5] == 9 && jh[6] == 7 &&
		    iov[4].iov_len == 7, "one header for 9 bytes, 7 padding");
		n = record_stdout_join(1, parts, 3, 0, jh, iov, 2);
		for (total = 0, i = 0; i < n; i++)
			total += iov[i].iov_len;
		ok(n == 2 && total == 11, "stops when out of iovecs");
		big = calloc(1, RECORD_MAX_CONTENT + 1);
		parts[0].iov_base = big;
		parts[0].iov_len = RECORD_MAX_CONTENT;
		n = record_stdout_join(1, parts, 1, 0, jh, iov, 16);
		ok(n == 2 && jh[4] == 0xff && jh[5] == 0xf8,
		    "largest join is one full record");
		parts[1].iov_base = big;
		parts[1].iov_len = 1;
		n = record_stdout_join(1, parts, 2, 0, jh, iov, 16);
		is_int(n, 0, "over one record: refused");
		free(big);
	}

	tap_done();
	return (tap_exit_status());
}
