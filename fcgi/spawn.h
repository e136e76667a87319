/* SPDX-License-Identifier: ISC */
/*
 * --spawn-broker: start the broker at start-up when none answers (see
 * spawn.c for the rules).
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <stddef.h>

int	spawn_broker(const char *, const char *, int *, char *, size_t);
const char *spawn_default_program(void);

#endif
