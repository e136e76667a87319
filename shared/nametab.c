/* SPDX-License-Identifier: ISC */
/*
 * Tables of names.  Hash: FNV-1a, which spreads short names well and
 * needs no state or seed.  Names come from clients, but each table is
 * private to one process and grows with its load, so flooding one bucket
 * costs only that client's own channels.  Bound: none of its own; the
 * table holds what its owner inserts (the owners bound that: channels
 * exist only while they have history, subscribers or member streams).
 * The bucket array doubles when the load passes 1; when memory for that
 * fails the table keeps its buckets and only gets slower, so inserting
 * never fails.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "nametab.h"

static uint32_t
nametab_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return (h);
}

/* An empty table of n buckets (a power of two); -1 when memory fails. */
int
nametab_init(struct nametab *t, size_t n)
{
	t->count = 0;
	t->nbuckets = n;
	if ((t->buckets = calloc(n, sizeof(*t->buckets))) == NULL) {
		t->nbuckets = 0;
		return (-1);
	}
	return (0);
}

/*
 * Frees the table, handing each node still in it to fn (when not NULL)
 * to free its record.
 */
void
nametab_free(struct nametab *t, void (*fn)(struct nametab_node *))
{
	struct nametab_node	*n, *next;
	size_t			 i;

	for (i = 0; fn != NULL && i < t->nbuckets; i++)
		for (n = t->buckets[i]; n != NULL; n = next) {
			next = n->hnext;
			fn(n);
		}
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->count = 0;
}

struct nametab_node *
nametab_find(const struct nametab *t, const char *name, size_t len)
{
	struct nametab_node	*n;
	uint32_t		 h;

	if (t->nbuckets == 0)
		return (NULL);
	h = nametab_hash(name, len);
	for (n = t->buckets[h & (t->nbuckets - 1)]; n != NULL; n = n->hnext)
		if (n->hash == h && n->len == len &&
		    memcmp(n->name, name, len) == 0)
			return (n);
	return (NULL);
}

/* Doubles the bucket array; on failure the old one stays. */
static void
nametab_grow(struct nametab *t)
{
	struct nametab_node	**nb, *n, *next;
	size_t			  size, i;

	size = t->nbuckets * 2;
	if ((nb = calloc(size, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++)
		for (n = t->buckets[i]; n != NULL; n = next) {
			next = n->hnext;
			n->hnext = nb[n->hash & (size - 1)];
			nb[n->hash & (size - 1)] = n;
		}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = size;
}

/*
 * Adds node n named by the len bytes at name (which must outlive it and
 * not be in the table yet).  The table must have been initialised.
 */
void
nametab_insert(struct nametab *t, struct nametab_node *n, const char *name,
    size_t len)
{
	size_t	b;

	n->name = name;
	n->len = len;
	n->hash = nametab_hash(name, len);
	if (t->count >= t->nbuckets)
		nametab_grow(t);
	b = n->hash & (t->nbuckets - 1);
	n->hnext = t->buckets[b];
	t->buckets[b] = n;
	t->count++;
}

void
nametab_remove(struct nametab *t, struct nametab_node *n)
{
	struct nametab_node	**pp;

	pp = &t->buckets[n->hash & (t->nbuckets - 1)];
	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	t->count--;
}
