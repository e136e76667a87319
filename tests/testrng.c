/* SPDX-License-Identifier: ISC */
/*
 * xorshift64* (testrng.h): one sequence per program, its state a single
 * word; not for anything but tests.
 */
#include <stdint.h>

#include "testrng.h"

static uint64_t	testrng_state = 0x9e3779b97f4a7c15ULL;

void
testrng_seed(uint64_t seed)
{
	testrng_state = seed;
}

uint64_t
testrng(void)
{
	testrng_state ^= testrng_state >> 12;
	testrng_state ^= testrng_state << 25;
	testrng_state ^= testrng_state >> 27;
	return (testrng_state * 2685821657736338717ULL);
}
