/* SPDX-License-Identifier: ISC */
/*
 * The pseudo-random numbers of the tests that feed random or mutated
 * input: xorshift64*, seeded by each test, so a failure reproduces.
 */
#ifndef TESTRNG_H
#define TESTRNG_H

#include <stdint.h>

/* Starts the sequence over from seed (not 0). */
void		testrng_seed(uint64_t);
/* The next number of the sequence. */
uint64_t	testrng(void);

#endif
