/* SPDX-License-Identifier: ISC */
/*
 * A fuzz target for subscribe tokens (fcgi/token.c) and the responder's
 * decision (fcgi/auth.c): the input is a token, checked with a fixed key
 * set; with its first byte odd it is also handed over as the query
 * parameter, the Bearer header and the cookie of a request for two
 * channels.  A token that verifies must cover what its claims say; no
 * input may verify unless it was signed with the key (the smoke test
 * mutates a signed token, so almost none do).  With -DFUZZ_LIBFUZZER it
 * is a libFuzzer target (see README); without, main() runs a smoke test
 * for `make check`, as the other targets do.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "http.h"
#include "smoke.h"
#include "token.h"

#define FUZZ_NOW	1800000000LL

static struct token_keys	fuzz_keys;
static struct auth_conf		fuzz_ac;
static int			fuzz_ready;

static void
fuzz_setup(void)
{
	static const char	k[] = "a:fuzz-secret-0123456789\n"
				    "b:other-secret-0123456789\n";
	char			err[128];

	if (fuzz_ready)
		return;
	if (token_keys_parse(&fuzz_keys, k, sizeof(k) - 1, err,
	    sizeof(err)) == -1)
		abort();
	fuzz_ac.on = 1;
	fuzz_ac.keys = fuzz_keys;
	fuzz_ac.cookie = "t";
	if (auth_add_public(&fuzz_ac, "pub.*") == -1)
		abort();
	fuzz_ready = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct token_claims c;
	struct auth_request	 ar;
	struct auth_grant	 g;
	struct http_req		 req;
	struct buf		 q, hdr;
	const char		*why;
	char			 err[128];
	size_t			 i, len;
	enum token_result	 r;

	fuzz_setup();
	r = token_verify(&fuzz_keys, (const char *)data, size, FUZZ_NOW, &c,
	    err, sizeof(err));
	if (r == TOKEN_OK || r == TOKEN_EXPIRED) {
		if (c.nchan == 0 || c.nchan > TOKEN_MAX_CHANNELS)
			abort();
		for (i = 0; i < c.nchan; i++) {
			const char *n = token_channel(&c, i, &len);

			if (strlen(n) != len || !token_covers(&c, n, len))
				abort();
		}
		if ((r == TOKEN_OK) != (c.exp > FUZZ_NOW))
			abort();
	} else if (c.nchan != 0 || memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (size == 0 || (data[0] & 1) == 0 || memchr(data, '\0', size))
		return (0);

	buf_init(&q, 0);
	buf_init(&hdr, 0);
	http_req_init(&req);
	buf_printf(&q, "channel=pub.x&channel=news&token=%.*s", (int)size,
	    (const char *)data);
	buf_append_byte(&q, '\0');
	buf_printf(&hdr, "Bearer %.*s", (int)size, (const char *)data);
	buf_append_byte(&hdr, '\0');
	if (http_parse_query(&req, buf_head(&q), "channel", 16, err,
	    sizeof(err)) == 0) {
		memset(&ar, 0, sizeof(ar));
		ar.query = buf_head(&q);
		(void)auth_check(&fuzz_ac, NULL, &req, &ar, FUZZ_NOW, &g, &why,
		    NULL);
		ar.query = NULL;
		ar.authorization = buf_head(&hdr);
		(void)auth_check(&fuzz_ac, NULL, &req, &ar, FUZZ_NOW, &g, &why,
		    NULL);
		ar.authorization = NULL;
		ar.cookie = buf_head(&hdr) + 7;
		if (auth_check(&fuzz_ac, NULL, &req, &ar, FUZZ_NOW, &g, &why,
		    NULL) != AUTH_OK && why == NULL)
			abort();
	}
	http_req_free(&req);
	buf_free(&q);
	buf_free(&hdr);
	return (0);
}

#ifndef FUZZ_LIBFUZZER
#define SMOKE_RUNS	20000

int
main(int argc, char **argv)
{
	const char	*chans[] = { "news", "user.*" };
	unsigned char	 tmp[TOKEN_MAX + 1];
	struct buf	 seed;
	size_t		 i, j, len;

	if (argc > 1)
		return (smoke_files(argc, argv, "checked"));
	fuzz_setup();
	buf_init(&seed, 0);
	if (token_sign(&seed, &fuzz_keys.k[0], chans, 2, FUZZ_NOW + 60, "s",
	    "j") == -1)
		abort();
	len = buf_used(&seed);
	smoke_one(buf_head(&seed), len);
	for (i = 0; i < SMOKE_RUNS; i++) {
		memcpy(tmp, buf_head(&seed), len);
		for (j = 0; j < 1 + smoke_rng() % 4; j++)
			tmp[smoke_rng() % len] = (unsigned char)smoke_rng();
		smoke_one(tmp, smoke_rng() % (len + 1));
	}
	buf_free(&seed);
	auth_conf_free(&fuzz_ac);
	printf("1..1\nok 1 - %d mutated tokens checked\n", SMOKE_RUNS);
	return (0);
}
#endif
