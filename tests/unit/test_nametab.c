/* SPDX-License-Identifier: ISC */
/*
 * shared/nametab.c: names found after growth, not found after removal,
 * names that differ only in length or one byte kept apart, and every
 * record handed back at the end.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nametab.h"
#include "tap.h"

#define N	5000

struct rec {
	int			 id;
	struct nametab_node	 node;
	char			 name[16];
};

static int	freed;

static void
free_cb(struct nametab_node *n)
{
	free(NAMETAB_ENTRY(n, struct rec, node));
	freed++;
}

static struct rec *
find(struct nametab *t, const char *name, size_t len)
{
	struct nametab_node	*n;

	if ((n = nametab_find(t, name, len)) == NULL)
		return (NULL);
	return (NAMETAB_ENTRY(n, struct rec, node));
}

int
main(void)
{
	struct nametab	 t;
	struct rec	*r[N], *f;
	char		 name[16];
	int		 i, good = 1;

	ok(nametab_init(&t, 4) == 0, "a table of 4 buckets");
	ok(find(&t, "a", 1) == NULL, "an empty table finds nothing");
	for (i = 0; i < N; i++) {
		r[i] = calloc(1, sizeof(*r[i]));
		r[i]->id = i;
		snprintf(r[i]->name, sizeof(r[i]->name), "ch%d", i);
		nametab_insert(&t, &r[i]->node, r[i]->name,
		    strlen(r[i]->name));
	}
	ok(t.count == N && t.nbuckets >= N, "%d names: the table grew to %zu",
	    N, t.nbuckets);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "ch%d", i);
		if ((f = find(&t, name, strlen(name))) == NULL || f->id != i)
			good = 0;
	}
	ok(good, "every name is found, as its own record");
	ok(find(&t, "ch1", 2) == NULL && find(&t, "ch10", 3) == r[1] &&
	    find(&t, "ch", 2) == NULL, "a prefix is another name");
	for (i = 0; i < N; i += 2) {
		nametab_remove(&t, &r[i]->node);
		free(r[i]);
	}
	good = t.count == N / 2;
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "ch%d", i);
		f = find(&t, name, strlen(name));
		if (i % 2 == 0 ? f != NULL : f != r[i])
			good = 0;
	}
	ok(good, "removed names are gone, the others stay");
	nametab_free(&t, free_cb);
	ok(freed == N / 2 && t.buckets == NULL && t.count == 0,
	    "freeing hands back every record left");
	tap_done();
	return (tap_exit_status());
}
