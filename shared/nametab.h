/* SPDX-License-Identifier: ISC */
/*
 * A hash table of names (channels, on both sides of the wire), intrusive:
 * the owner embeds a struct nametab_node in each record, so the table
 * never allocates per entry and inserting cannot fail.
 */
#ifndef NAMETAB_H
#define NAMETAB_H

#include <stddef.h>
#include <stdint.h>

struct nametab_node {
	struct nametab_node	*hnext;		/* hash chain */
	const char		*name;		/* the owner's bytes */
	size_t			 len;
	uint32_t		 hash;
};

struct nametab {
	struct nametab_node	**buckets;
	size_t			  nbuckets;	/* a power of two */
	size_t			  count;
};

/* The record a node is embedded in. */
#define NAMETAB_ENTRY(n, type, field) \
	((type *)(void *)((char *)(n) - offsetof(type, field)))

int	 nametab_init(struct nametab *, size_t);
void	 nametab_free(struct nametab *, void (*)(struct nametab_node *));
struct nametab_node *nametab_find(const struct nametab *, const char *,
	    size_t);
void	 nametab_insert(struct nametab *, struct nametab_node *,
	    const char *, size_t);
void	 nametab_remove(struct nametab *, struct nametab_node *);

#endif
