/* SPDX-License-Identifier: ISC */
/*
 * A growable byte buffer with a hard bound.  Bytes are appended at the end
 * and consumed from the front; the owner chooses the bound and what to do
 * when an append would pass it (buf_append fails, nothing is written).
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

struct buf {
	char	*data;
	size_t	 off;	/* first unconsumed byte */
	size_t	 len;	/* end of valid bytes */
	size_t	 cap;	/* allocated */
	size_t	 max;	/* bound on len - off; 0 means SIZE_MAX */
};

void	 buf_init(struct buf *, size_t);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
int	 buf_reserve(struct buf *, size_t);
int	 buf_append(struct buf *, const void *, size_t);
int	 buf_append_byte(struct buf *, int);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_consume(struct buf *, size_t);
void	 buf_compact(struct buf *);
/* Keeps the first n unconsumed bytes (a buf_used() taken before). */
void	 buf_truncate(struct buf *, size_t);
/* Removes n unconsumed bytes starting at offset at. */
void	 buf_cut(struct buf *, size_t, size_t);
/* Hands over the unconsumed bytes (caller frees), leaving b empty. */
char	*buf_detach(struct buf *, size_t *);

/* The unconsumed bytes. */
static inline const char *
buf_head(const struct buf *b)
{
	return (b->data + b->off);
}

static inline size_t
buf_used(const struct buf *b)
{
	return (b->len - b->off);
}

/* Room for direct writes (after buf_reserve) and their commit. */
static inline char *
buf_tail(struct buf *b)
{
	return (b->data + b->len);
}

static inline void
buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

#endif
