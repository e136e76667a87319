/* SPDX-License-Identifier: ISC */
/*
 * FastCGI record framing for the responder's answers.  The event loop
 * writes every record itself:
 * version 1, type, request id, content length and padding length, big
 * endian, content padded to a multiple of 8 bytes exactly as libfcgi pads
 * (both nginx and lighttpd were seen to accept that).  Content longer than
 * one record can carry is split into several records.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "record.h"

static const uint8_t record_zeros[8];

size_t
record_padding(size_t len)
{
	return ((8 - (len % 8)) % 8);
}

void
record_header(uint8_t hdr[RECORD_HEADER_LEN], int type, uint16_t reqid,
    uint16_t clen, uint8_t plen)
{
	hdr[0] = RECORD_VERSION;
	hdr[1] = (uint8_t)type;
	hdr[2] = (uint8_t)(reqid >> 8);
	hdr[3] = (uint8_t)reqid;
	hdr[4] = (uint8_t)(clen >> 8);
	hdr[5] = (uint8_t)clen;
	hdr[6] = plen;
	hdr[7] = 0;
}

/* The wire size of len content bytes: full records plus the last one. */
size_t
record_stdout_size(size_t len)
{
	size_t	full, rest, n;

	full = len / RECORD_MAX_CONTENT;
	rest = len % RECORD_MAX_CONTENT;
	n = full * (RECORD_HEADER_LEN + RECORD_MAX_CONTENT);
	if (rest != 0)
		n += RECORD_HEADER_LEN + rest + record_padding(rest);
	return (n);
}

/*
 * Adds the part of one segment that lies after *skip to iov; segments
 * wholly inside the skipped prefix only shrink *skip.  -1: iov is full.
 */
static int
record_add(struct iovec *iov, size_t niov, size_t *n, size_t *skip,
    const void *p, size_t len)
{
	if (len == 0)
		return (0);
	if (*skip >= len) {
		*skip -= len;
		return (0);
	}
	if (*n >= niov)
		return (-1);
	iov[*n].iov_base = (void *)((const char *)p + *skip);
	iov[*n].iov_len = len - *skip;
	*skip = 0;
	(*n)++;
	return (0);
}

/*
 * Walks the records that carry content and lists the bytes still to
 * write, so a record half sent by an earlier writev continues exactly
 * where it stopped and framing stays intact.
 */
size_t
record_stdout_iov(uint16_t reqid, const void *content, size_t len,
    size_t skip, uint8_t (*hdrs)[RECORD_HEADER_LEN], size_t nhdrs,
    size_t *hused, struct iovec *iov, size_t niov)
{
	const char	*p = content;
	size_t		 off, chunk, pad, n = 0, nh = 0, recsz;

	for (off = 0; off < len; off += chunk) {
		chunk = len - off;
		if (chunk > RECORD_MAX_CONTENT)
			chunk = RECORD_MAX_CONTENT;
		pad = record_padding(chunk);
		recsz = RECORD_HEADER_LEN + chunk + pad;
		if (skip >= recsz) {
			skip -= recsz;
			continue;
		}
		if (nh >= nhdrs)
			break;
		record_header(hdrs[nh], RECORD_STDOUT, reqid, (uint16_t)chunk,
		    (uint8_t)pad);
		nh++;
		if (record_add(iov, niov, &n, &skip, hdrs[nh - 1],
		    RECORD_HEADER_LEN) == -1 ||
		    record_add(iov, niov, &n, &skip, p + off, chunk) == -1 ||
		    record_add(iov, niov, &n, &skip, record_zeros, pad) == -1)
			break;
	}
	if (hused != NULL)
		*hused = nh;
	return (n);
}

/*
 * Several SSE texts queued for one stream leave as one record: one header
 * and one padding instead of one of each per text, so fewer bytes and
 * iovecs, and the web server parses fewer records.
 */
size_t
record_stdout_join(uint16_t reqid, const struct iovec *parts, size_t nparts,
    size_t skip, uint8_t hdr[RECORD_HEADER_LEN], struct iovec *iov,
    size_t niov)
{
	size_t	i, total = 0, pad, n = 0;

	for (i = 0; i < nparts; i++)
		total += parts[i].iov_len;
	if (total == 0 || total > RECORD_MAX_CONTENT)
		return (0);
	pad = record_padding(total);
	record_header(hdr, RECORD_STDOUT, reqid, (uint16_t)total,
	    (uint8_t)pad);
	if (record_add(iov, niov, &n, &skip, hdr, RECORD_HEADER_LEN) == -1)
		return (n);
	for (i = 0; i < nparts; i++)
		if (record_add(iov, niov, &n, &skip, parts[i].iov_base,
		    parts[i].iov_len) == -1)
			return (n);
	(void)record_add(iov, niov, &n, &skip, record_zeros, pad);
	return (n);
}

void
record_end(uint8_t out[RECORD_END_LEN], uint16_t reqid, uint32_t appstatus)
{
	uint8_t	*body;

	record_header(out, RECORD_STDOUT, reqid, 0, 0);
	record_header(out + 8, RECORD_END_REQUEST, reqid, 8, 0);
	body = out + 16;
	body[0] = (uint8_t)(appstatus >> 24);
	body[1] = (uint8_t)(appstatus >> 16);
	body[2] = (uint8_t)(appstatus >> 8);
	body[3] = (uint8_t)appstatus;
	body[4] = 0;	/* FCGI_REQUEST_COMPLETE */
	memset(body + 5, 0, 3);
}
