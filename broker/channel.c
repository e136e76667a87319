/*
 * Channels and their table.  Bounds: a channel's ring holds what the
 * history keeps (bounded by --history-max-events, age and --max-memory);
 * the ring doubles when full, halves when a quarter full, and is freed
 * with the channel.  The table
 * grows with the number of channels, which exist only while they have
 * history or subscribers.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "event.h"
#include "hash.h"

#define CHANNEL_BUCKETS0	64
#define CHANNEL_RING0		8	/* first ring size */

int
channel_table_init(struct channel_table *t)
{
	t->nbuckets = CHANNEL_BUCKETS0;
	t->count = 0;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	return (t->buckets == NULL ? -1 : 0);
}

/* Frees the table only; the owner frees the channels first. */
void
channel_table_free(struct channel_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->count = 0;
}

struct channel *
channel_find(struct channel_table *t, const char *name, size_t len)
{
	struct channel	*ch;
	uint32_t	 h;

	h = hash_name(name, len);
	for (ch = t->buckets[h & (t->nbuckets - 1)]; ch != NULL; ch = ch->hnext)
		if (ch->hash == h && ch->namelen == len &&
		    memcmp(ch->name, name, len) == 0)
			return (ch);
	return (NULL);
}

/* Doubles the bucket array when the load passes 1; failure is harmless. */
static void
channel_table_grow(struct channel_table *t)
{
	struct channel	**nb, *ch, *next;
	size_t		 n, i;

	n = t->nbuckets * 2;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		for (ch = t->buckets[i]; ch != NULL; ch = next) {
			next = ch->hnext;
			ch->hnext = nb[ch->hash & (n - 1)];
			nb[ch->hash & (n - 1)] = ch;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
}

/* Creates a channel (not there yet) with the given floor. */
struct channel *
channel_add(struct channel_table *t, const char *name, size_t len,
    uint64_t floor)
{
	struct channel	*ch;
	size_t		 b;

	if ((ch = calloc(1, sizeof(*ch) + len + 1)) == NULL)
		return (NULL);
	memcpy(ch->name, name, len);
	ch->namelen = len;
	ch->hash = hash_name(name, len);
	ch->floor = floor;
	TAILQ_INIT(&ch->subs);
	if (t->count >= t->nbuckets)
		channel_table_grow(t);
	b = ch->hash & (t->nbuckets - 1);
	ch->hnext = t->buckets[b];
	t->buckets[b] = ch;
	t->count++;
	return (ch);
}

/* Takes an idle channel out of the table and frees it. */
void
channel_remove(struct channel_table *t, struct channel *ch)
{
	struct channel	**pp;

	pp = &t->buckets[ch->hash & (t->nbuckets - 1)];
	while (*pp != ch)
		pp = &(*pp)->hnext;
	*pp = ch->hnext;
	t->count--;
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
