/* SPDX-License-Identifier: ISC */
/*
 * A FastCGI request as the web server sends it, parsed from bytes: the
 * BEGIN_REQUEST, the PARAMS stream and the STDIN stream of one request
 * per connection, and the management records (GET_VALUES) beside it.
 * Pure: bytes in, a status and the records to answer with out; no
 * socket, so every byte offset and bound is tested directly.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define REQUEST_MAX_PARAMS	(64 * 1024)	/* name-value bytes */
#define REQUEST_MAX_MGMT	1024	/* content of a GET_VALUES record */

enum request_status {
	REQUEST_MORE,		/* all input taken; nothing to act on yet */
	REQUEST_PARAMS_DONE,	/* the empty PARAMS record: params whole */
	REQUEST_STDIN_DONE,	/* the empty STDIN record: request whole */
	REQUEST_ABORTED,	/* FCGI_ABORT_REQUEST for our request */
	REQUEST_REFUSED,	/* a role we do not play: answer in out */
	REQUEST_TOO_BIG,	/* PARAMS over REQUEST_MAX_PARAMS */
	REQUEST_ERROR,		/* not FastCGI as the spec has it */
};

struct request {
	/* The request (valid once BEGIN_REQUEST is seen). */
	int		 begun;
	uint16_t	 id;
	uint16_t	 role;
	uint8_t		 flags;
	int		 params_done;
	int		 stdin_done;
	uint64_t	 body;		/* STDIN content bytes seen */
	struct buf	*stdin_to;	/* when set, STDIN content is appended
					   (up to its bound, then no more) */
	/* Decoded params: "name\0value\0" pairs, once PARAMS is whole. */
	struct buf	 kv;
	size_t		 nparams;
	/* What GET_VALUES answers for FCGI_MAX_CONNS / FCGI_MAX_REQS. */
	unsigned long	 max_conns;

	/* The record being read. */
	uint8_t		 hdr[8];
	size_t		 hlen;		/* header bytes held */
	size_t		 clen;		/* content bytes left */
	size_t		 plen;		/* padding bytes left */
	uint8_t		 body8[8];	/* BEGIN_REQUEST content */
	size_t		 b8len;
	struct buf	 raw;		/* PARAMS content, bounded */
	struct buf	 mgmt;		/* GET_VALUES content, bounded */
};

void	request_init(struct request *, unsigned long max_conns);
void	request_free(struct request *);
/*
 * Takes bytes of the connection up to the next thing to act on and says
 * what that is; *used tells how many were taken (all of them for
 * REQUEST_MORE; up to the end of the record that decided otherwise, so
 * the connection stays at a record boundary).  Records to send back
 * (GET_VALUES_RESULT, END_REQUEST for a refused role or a second
 * request) are appended to out.  For REQUEST_ERROR err says why.  After
 * any status but MORE, PARAMS_DONE and STDIN_DONE the request is over.
 */
enum request_status request_feed(struct request *, const void *, size_t,
	    size_t *used, struct buf *out, char *err, size_t errlen);
/* A param's value (NUL-terminated), or NULL; after PARAMS_DONE. */
const char *request_param(const struct request *, const char *name);
/* Appends FCGI_END_REQUEST with appstatus 0 and a protocol status. */
int	request_end(struct buf *, uint16_t id, uint8_t protocol_status);
/* Appends one name-value pair in FastCGI's encoding (1- or 4-byte lengths). */
int	request_nv(struct buf *, const char *name, size_t nlen,
	    const char *value, size_t vlen);

#endif
