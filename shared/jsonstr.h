/* SPDX-License-Identifier: ISC */
/*
 * JSON string literals, written once for the broker's MessagePack to JSON
 * rendering, the SSE reset notice and the fastsse command's output.
 */
#ifndef JSONSTR_H
#define JSONSTR_H

#include <stddef.h>

#include "buf.h"

int	jsonstr_append(struct buf *, const char *, size_t);

#endif
