/* SPDX-License-Identifier: ISC */
/*
 * FastCGI records the responder writes itself: FCGI_STDOUT records around SSE text, and the empty STDOUT +
 * FCGI_END_REQUEST pair that ends a request.  Pure functions over bytes,
 * so the framing is tested without a socket.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define RECORD_HEADER_LEN	8
#define RECORD_VERSION		1
#define RECORD_STDOUT		6	/* FCGI_STDOUT */
#define RECORD_END_REQUEST	3	/* FCGI_END_REQUEST */
/* Largest content per record here: 65535 rounded down to a multiple of 8. */
#define RECORD_MAX_CONTENT	65528
#define RECORD_END_LEN		24	/* empty STDOUT + END_REQUEST */

/* Bytes of padding that bring len to a multiple of 8, as libfcgi does. */
size_t	record_padding(size_t len);
/* Fills the 8 header bytes of one record. */
void	record_header(uint8_t hdr[RECORD_HEADER_LEN], int type,
	    uint16_t reqid, uint16_t clen, uint8_t plen);
/* Bytes on the wire for len bytes of content sent as STDOUT records. */
size_t	record_stdout_size(size_t len);
/*
 * Describes len bytes of content as FCGI_STDOUT records (split every
 * RECORD_MAX_CONTENT bytes), skipping the first skip bytes of that wire
 * image (already written).  Headers are built into hdrs (room for nhdrs;
 * *hused tells how many were used), iovecs into iov (room for niov).
 * Returns the number of iovecs filled; when hdrs or iov run out the list
 * stops early, describing a prefix of the wire image.
 */
size_t	record_stdout_iov(uint16_t reqid, const void *content, size_t len,
	    size_t skip, uint8_t (*hdrs)[RECORD_HEADER_LEN], size_t nhdrs,
	    size_t *hused, struct iovec *iov, size_t niov);
/*
 * Describes the contents parts[0..nparts) as ONE FCGI_STDOUT record:
 * one header for their summed length (built into hdr), each part, one
 * padding, skipping the first skip bytes of that wire image (already
 * written).  The sum must be at most RECORD_MAX_CONTENT; an empty sum
 * makes no record at all (an empty STDOUT would end the response).
 * Returns the number of iovecs filled; when iov runs out the list stops
 * early, describing a prefix of the wire image.
 */
size_t	record_stdout_join(uint16_t reqid, const struct iovec *parts,
	    size_t nparts, size_t skip, uint8_t hdr[RECORD_HEADER_LEN],
	    struct iovec *iov, size_t niov);
/* Writes the 24 bytes that end a request: empty STDOUT + END_REQUEST. */
void	record_end(uint8_t out[RECORD_END_LEN], uint16_t reqid,
	    uint32_t appstatus);

#endif
