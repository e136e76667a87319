/* SPDX-License-Identifier: ISC */
/*
 * A fuzz target for the frame decoder.  With -DFUZZ_LIBFUZZER it is a
 * libFuzzer target (see README); without, main() decodes the files named
 * on the command line, or, given none, a fixed pseudo-random mix of valid
 * and mutated frames, and prints one TAP line, so that `make check` builds
 * and runs it as a smoke test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smoke.h"
#include "proto.h"


/*
 * Decodes frame after frame, as a connection would, until the input runs
 * out or is refused.  A decoded frame must lie inside the input; anything
 * else (or a crash, or a sanitizer report) is a bug.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg	m;
	size_t			off = 0, used;
	char			err[128];

	while (proto_decode(data + off, size - off, PROTO_MAX_FRAME, &m,
	    &used, err, sizeof(err)) == PROTO_OK) {
		if (used <= PROTO_HEADER_LEN || used > size - off)
			abort();
		proto_msg_free(&m);
		off += used;
	}
	return (0);
}

#ifndef FUZZ_LIBFUZZER
#define SMOKE_RUNS	20000

int
main(int argc, char **argv)
{
	static const struct proto_str	 ch[] = { { "news", 4 }, { "b", 1 } };
	struct buf			 seed;
	unsigned char			 tmp[512];
	size_t				 i, j, len;

	if (argc > 1)
		return (smoke_files(argc, argv, "decoded"));

	/* Seeds: a valid stream of several message types. */
	buf_init(&seed, 0);
	proto_encode_hello(&seed, 1, PROTO_ROLE_BOTH);
	proto_encode_publish(&seed, 1, "news", 4, "t", 1, "hello", 5);
	proto_encode_subscribe(&seed, 2, ch, 2, "abc-1", 5);
	proto_encode_event(&seed, "news", 4, "abc-2", 5, "message", 7, "x", 1);
	proto_encode_stats_reply(&seed, 3, (const char *const[]){ "a" },
	    (const uint64_t[]){ 1 }, 1);
	smoke_one(buf_head(&seed), buf_used(&seed));

	for (i = 0; i < SMOKE_RUNS; i++) {
		len = buf_used(&seed);
		if (len > sizeof(tmp))
			len = sizeof(tmp);
		memcpy(tmp, buf_head(&seed), len);
		for (j = 0; j < 1 + smoke_rng() % 8; j++)
			tmp[smoke_rng() % len] = (unsigned char)smoke_rng();
		smoke_one(tmp, smoke_rng() % (len + 1));
	}
	buf_free(&seed);
	printf("1..1\nok 1 - %d mutated inputs decoded or refused\n",
	    SMOKE_RUNS);
	return (0);
}
#endif
