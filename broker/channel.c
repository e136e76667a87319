/* SPDX-License-Identifier: ISC */
/*
 * Channels and their table.  Bounds: a channel's ring holds what the
 * history keeps (bounded by --history-max-events, age and --max-memory);
 * the ring doubles when full, halves when a quarter full, and is freed
 * with the channel.  The table (nametab.c)
 * grows with the number of channels, which exist only while they have
 * history or subscribers.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "event.h"

#define CHANNEL_BUCKETS0	64
#define CHANNEL_RING0		8	/* first ring size */

int
channel_table_init(struct channel_table *t)
{
	return (nametab_init(&t->names, CHANNEL_BUCKETS0));
}

/* Frees a channel left at exit (its events are the history's to drop). */
static void
channel_free_cb(struct nametab_node *n)
{
	struct channel	*ch = NAMETAB_ENTRY(n, struct channel, node);

	free(ch->ring);
	free(ch);
}

/* Frees the table and the channels left in it. */
void
channel_table_free(struct channel_table *t)
{
	nametab_free(&t->names, channel_free_cb);
}

struct channel *
channel_find(struct channel_table *t, const char *name, size_t len)
{
	struct nametab_node	*n;

	if ((n = nametab_find(&t->names, name, len)) == NULL)
		return (NULL);
	return (NAMETAB_ENTRY(n, struct channel, node));
}

/* Creates a channel (not there yet) with the given floor. */
struct channel *
channel_add(struct channel_table *t, const char *name, size_t len,
    uint64_t floor)
{
	struct channel	*ch;

	if ((ch = calloc(1, sizeof(*ch) + len + 1)) == NULL)
		return (NULL);
	memcpy(ch->name, name, len);
	ch->namelen = len;
	ch->floor = floor;
	TAILQ_INIT(&ch->subs);
	nametab_insert(&t->names, &ch->node, ch->name, len);
	return (ch);
}

/* Takes an idle channel out of the table and frees it. */
void
channel_remove(struct channel_table *t, struct channel *ch)
{
	nametab_remove(&t->names, &ch->node);
	free(ch->ring);
	free(ch);
}

/* Moves the ring into an array of ncap slots (a power of two >= rcount). */
static int
channel_resize(struct channel *ch, size_t ncap)
{
	struct event	**nr;
	size_t		 i;

	if ((nr = malloc(ncap * sizeof(*nr))) == NULL)
		return (-1);
	for (i = 0; i < ch->rcount; i++)
		nr[i] = channel_at(ch, i);
	free(ch->ring);
	ch->ring = nr;
	ch->rcap = ncap;
	ch->rhead = 0;
	return (0);
}

/* Appends the newest event (the caller's reference moves to the ring). */
int
channel_push(struct channel *ch, struct event *ev)
{
	if (ch->rcount == ch->rcap &&
	    channel_resize(ch, ch->rcap ? ch->rcap * 2 : CHANNEL_RING0) == -1)
		return (-1);
	ch->ring[(ch->rhead + ch->rcount) & (ch->rcap - 1)] = ev;
	ch->rcount++;
	return (0);
}

/*
 * Removes and returns the oldest event (its reference goes to the caller).
 * A ring left a quarter full is halved, so a burst does not pin memory.
 */
struct event *
channel_pop(struct channel *ch)
{
	struct event	*ev;

	if (ch->rcount == 0)
		return (NULL);
	ev = ch->ring[ch->rhead];
	ch->rhead = (ch->rhead + 1) & (ch->rcap - 1);
	ch->rcount--;
	if (ch->rcap > CHANNEL_RING0 && ch->rcount < ch->rcap / 4)
		(void)channel_resize(ch, ch->rcap / 2);
	return (ev);
}

/* Removes and returns the newest event (its reference goes to the caller). */
struct event *
channel_unpush(struct channel *ch)
{
	if (ch->rcount == 0)
		return (NULL);
	ch->rcount--;
	return (ch->ring[(ch->rhead + ch->rcount) & (ch->rcap - 1)]);
}

/* Index of the first event with seq > after (rcount when none): O(log n). */
size_t
channel_after(const struct channel *ch, uint64_t after)
{
	size_t	 lo = 0, hi = ch->rcount, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (channel_at(ch, mid)->seq <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

struct sub *
channel_find_sub(struct channel *ch, struct conn *c)
{
	struct sub	*s;

	TAILQ_FOREACH(s, &ch->subs, chentry)
		if (s->conn == c)
			return (s);
	return (NULL);
}

/*
 * Subscribes c (whose own list is connsubs); subscribing twice is the same
 * as once.  Returns the subscription, or NULL when memory runs out.
 */
struct sub *
channel_subscribe(struct channel *ch, struct conn *c, struct sub_list *connsubs)
{
	struct sub	*s;

	if ((s = channel_find_sub(ch, c)) != NULL)
		return (s);
	if ((s = malloc(sizeof(*s))) == NULL)
		return (NULL);
	s->channel = ch;
	s->conn = c;
	TAILQ_INSERT_TAIL(&ch->subs, s, chentry);
	TAILQ_INSERT_TAIL(connsubs, s, connentry);
	ch->nsubs++;
	return (s);
}

/* Ends a subscription; the caller then lets the history free an idle channel. */
void
channel_unsubscribe(struct sub *s, struct sub_list *connsubs)
{
	struct channel	*ch = s->channel;

	TAILQ_REMOVE(&ch->subs, s, chentry);
	TAILQ_REMOVE(connsubs, s, connentry);
	ch->nsubs--;
	free(s);
}
