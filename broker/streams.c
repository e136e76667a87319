/* SPDX-License-Identifier: ISC */
/*
 * Browser stream counts reported by responders (STREAM_COUNTS, see
 * shared/PROTOCOL.md).  Every reported value is absolute (the number of
 * streams a peer holds on a channel now), so a repeated or lost-and-resent
 * report cannot drift the totals; 0 removes the entry.  A peer's counts
 * go when its connection closes (streams_peer_free, from conn_free).
 *
 * Bounds and policy (refused entries are counted in refusals, shown as
 * stream_count_refusals; the rest of the frame is applied):
 *  - a peer reports at most max_per_peer channels (--max-subscriptions:
 *    a responder subscribes to every channel it has streams on, so it
 *    never needs more); entries for new channels past it are refused;
 *  - a count is at most STREAMS_MAX_COUNT, so no sum can overflow;
 *  - a name must be a valid channel name (validate_channel).
 * Memory: one entry per (peer, channel) and one total per channel, each
 * freed when its count falls to 0.  Pure: no socket, unit-tested.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "streams.h"
#include "validate.h"

#define STREAMS_BUCKETS0	64

/* A channel's total over all peers. */
struct streams_chan {
	struct nametab_node	 node;
	uint64_t		 total;
	size_t			 refs;		/* peers reporting it */
	size_t			 len;
	char			 name[];
};

/* What one peer reported for one channel. */
struct streams_entry {
	struct nametab_node	 node;		/* by the chan's name */
	struct streams_chan	*chan;
	uint64_t		 count;
};

struct streams_peer {
	struct nametab		 entries;
};

int
streams_init(struct streams *st, size_t max_per_peer)
{
	memset(st, 0, sizeof(*st));
	st->max_per_peer = max_per_peer;
	return (nametab_init(&st->chans, STREAMS_BUCKETS0));
}

static void
streams_chan_free_cb(struct nametab_node *n)
{
	free(NAMETAB_ENTRY(n, struct streams_chan, node));
}

void
streams_free(struct streams *st)
{
	nametab_free(&st->chans, streams_chan_free_cb);
}

static struct streams_chan *
streams_chan_get(struct streams *st, const char *name, size_t len)
{
	struct nametab_node	*n;
	struct streams_chan	*c;

	if ((n = nametab_find(&st->chans, name, len)) != NULL)
		return (NAMETAB_ENTRY(n, struct streams_chan, node));
	if ((c = calloc(1, sizeof(*c) + len + 1)) == NULL)
		return (NULL);
	c->len = len;
	memcpy(c->name, name, len);
	nametab_insert(&st->chans, &c->node, c->name, len);
	return (c);
}

/* Sets an entry's count, keeping the totals; count 0 frees it. */
static void
streams_entry_set(struct streams *st, struct streams_peer *p,
    struct streams_entry *e, uint64_t count)
{
	struct streams_chan	*c = e->chan;

	c->total = c->total - e->count + count;
	st->total = st->total - e->count + count;
	e->count = count;
	if (count > 0)
		return;
	nametab_remove(&p->entries, &e->node);
	free(e);
	if (--c->refs == 0) {
		nametab_remove(&st->chans, &c->node);
		free(c);
	}
}

/* Every entry of p, to free them all. */
static void
streams_peer_clear(struct streams *st, struct streams_peer *p)
{
	struct nametab_node	*n;
	size_t			 i;

	for (i = 0; i < p->entries.nbuckets; i++)
		while ((n = p->entries.buckets[i]) != NULL)
			streams_entry_set(st, p, NAMETAB_ENTRY(n,
			    struct streams_entry, node), 0);
}

int
streams_report(struct streams *st, struct streams_peer **pp, int full,
    const msgpack_object_kv *kv, uint32_t n)
{
	struct streams_peer	*p = *pp;
	struct streams_entry	*e;
	struct streams_chan	*c;
	struct nametab_node	*node;
	const char		*name;
	uint64_t		 count;
	uint32_t		 i, len;
	int			 refused = 0;

	if (p == NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return (-1);
		if (nametab_init(&p->entries, 16) == -1) {
			free(p);
			return (-1);
		}
		*pp = p;
	}
	if (full)
		streams_peer_clear(st, p);
	for (i = 0; i < n; i++) {
		name = kv[i].key.via.str.ptr;
		len = kv[i].key.via.str.size;
		count = kv[i].val.via.u64;
		if (kv[i].key.type != MSGPACK_OBJECT_STR ||
		    kv[i].val.type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    count > STREAMS_MAX_COUNT ||
		    validate_channel(name, len) != NULL) {
			refused++;
			continue;
		}
		if ((node = nametab_find(&p->entries, name, len)) != NULL) {
			streams_entry_set(st, p, NAMETAB_ENTRY(node,
			    struct streams_entry, node), count);
			continue;
		}
		if (count == 0)
			continue;
		if (p->entries.count >= st->max_per_peer) {
			refused++;
			continue;
		}
		if ((c = streams_chan_get(st, name, len)) == NULL)
			return (-1);
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			if (c->refs == 0) {
				nametab_remove(&st->chans, &c->node);
				free(c);
			}
			return (-1);
		}
		e->chan = c;
		c->refs++;
		nametab_insert(&p->entries, &e->node, c->name, c->len);
		streams_entry_set(st, p, e, count);
	}
	st->refusals += (uint64_t)refused;
	return (refused);
}

void
streams_peer_free(struct streams *st, struct streams_peer *p)
{
	if (p == NULL)
		return;
	streams_peer_clear(st, p);
	nametab_free(&p->entries, NULL);
	free(p);
}

uint64_t
streams_channel(const struct streams *st, const char *name, size_t len)
{
	struct nametab_node	*n;

	if ((n = nametab_find(&st->chans, name, len)) == NULL)
		return (0);
	return (NAMETAB_ENTRY(n, struct streams_chan, node)->total);
}
