/* SPDX-License-Identifier: ISC */
/*
 * The smoke-test side of the fuzz targets: what main() needs when a
 * target is built without libFuzzer for `make check`.
 */
#ifndef SMOKE_H
#define SMOKE_H

#include <stddef.h>
#include <stdint.h>

int		LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A fixed pseudo-random sequence (xorshift), the same in every run. */
uint64_t	smoke_rng(void);
/* Runs the target on one input held in an exact-size heap block. */
void		smoke_one(const void *, size_t);
/*
 * Runs the target once on each named file (to replay a crash) and prints
 * one TAP line saying what was done; returns the exit status.
 */
int		smoke_files(int, char **, const char *);

#endif
