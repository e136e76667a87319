/* SPDX-License-Identifier: ISC */
/*
 * Bounded growable buffers.  Policy at the bound: the append that would
 * pass buf->max fails with -1 and leaves the buffer unchanged; the caller
 * decides (refuse the input, drop the connection).  Consumed space at the
 * front is reclaimed lazily when more room is needed.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

/* Empties the buffer, keeping its memory. */
void
buf_reset(struct buf *b)
{
	b->off = b->len = 0;
}

/* Moves the unconsumed bytes to the front. */
void
buf_compact(struct buf *b)
{
	if (b->off == 0)
		return;
	if (b->len > b->off)
		memmove(b->data, b->data + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

/*
 * Makes room for n more bytes at the tail, or fails with -1 when that would
 * pass the bound or memory runs out.  Growth doubles, so appends cost
 * amortised O(1).
 */
int
buf_reserve(struct buf *b, size_t n)
{
	size_t	 used, want, ncap;
	char	*p;

	used = b->len - b->off;
	if (n > SIZE_MAX / 2 - used)
		return (-1);
	if (b->max != 0 && used + n > b->max)
		return (-1);
	if (b->len + n <= b->cap)
		return (0);
	if (b->off > 0 && used + n <= b->cap) {
		buf_compact(b);
		return (0);
	}
	buf_compact(b);
	want = used + n;
	ncap = b->cap ? b->cap : 256;
	while (ncap < want)
		ncap *= 2;
	if ((p = realloc(b->data, ncap)) == NULL)
		return (-1);
	b->data = p;
	b->cap = ncap;
	return (0);
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return (0);
	if (buf_reserve(b, n) == -1)
		return (-1);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return (0);
}

int
buf_append_byte(struct buf *b, int c)
{
	unsigned char	ch = (unsigned char)c;

	return (buf_append(b, &ch, 1));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) == -1)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return (0);
}

/* Drops n bytes from the front; an emptied buffer starts again at 0. */
void
buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

/*
 * Drops what was appended after a mark (a buf_used() taken before the
 * appends): the undo of a partly written record.  A mark survives a
 * compaction, which moves bytes but keeps their count.
 */
void
buf_truncate(struct buf *b, size_t n)
{
	if (n >= buf_used(b))
		return;
	if (n == 0)
		b->off = b->len = 0;
	else
		b->len = b->off + n;
}

/* Removes n bytes at offset at of the unconsumed bytes (both in range). */
void
buf_cut(struct buf *b, size_t at, size_t n)
{
	char	*p = b->data + b->off;

	if (at == 0) {
		buf_consume(b, n);
		return;
	}
	memmove(p + at, p + at + n, buf_used(b) - at - n);
	b->len -= n;
}

/*
 * Gives the unconsumed bytes to the caller as one allocation to free()
 * (NULL when nothing was ever allocated), so a message can keep them
 * without a copy.  The buffer is left empty, its bound unchanged.
 */
char *
buf_detach(struct buf *b, size_t *lenp)
{
	char	*p;

	buf_compact(b);
	*lenp = buf_used(b);
	p = b->data;
	b->data = NULL;
	b->off = b->len = b->cap = 0;
	return (p);
}
