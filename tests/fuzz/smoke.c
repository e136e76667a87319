/* SPDX-License-Identifier: ISC */
/*
 * Shared by the fuzz targets built for `make check`: a repeatable
 * pseudo-random sequence, running one input with its exact size (so ASan
 * sees a read past its end), and replaying input files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smoke.h"

static uint64_t	smoke_state = 0x2545f4914f6cdd1dULL;

uint64_t
smoke_rng(void)
{
	smoke_state ^= smoke_state << 13;
	smoke_state ^= smoke_state >> 7;
	smoke_state ^= smoke_state << 17;
	return (smoke_state);
}

void
smoke_one(const void *p, size_t len)
{
	uint8_t	*copy;

	if ((copy = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(copy, p, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
}

/* Reads a whole file and runs the target on it; -1 if it cannot be read. */
static int
smoke_file(const char *path)
{
	FILE	*f;
	char	*p = NULL, *np;
	size_t	 len = 0, n;
	char	 chunk[65536];

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return (-1);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if ((np = realloc(p, len + n)) == NULL)
			abort();
		p = np;
		memcpy(p + len, chunk, n);
		len += n;
	}
	fclose(f);
	smoke_one(p, len);
	free(p);
	return (0);
}

int
smoke_files(int argc, char **argv, const char *verb)
{
	int	i, failed = 0;

	for (i = 1; i < argc; i++)
		if (smoke_file(argv[i]) == -1)
			failed = 1;
	printf("1..1\n%sok 1 - %s %d input files\n", failed ? "not " : "",
	    verb, argc - 1);
	return (failed);
}
