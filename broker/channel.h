/* SPDX-License-Identifier: ISC */
/*
 * Channels: a name, the channel's part of the history (its events in seq
 * order) and its live subscribers.  The table of channels maps names to
 * channels; the history decides when a channel is created and freed.
 */
#ifndef CHANNEL_H
#define CHANNEL_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "nametab.h"

struct conn;
struct event;

/* One connection subscribed to one channel; on both of their lists. */
struct sub {
	struct channel	*channel;
	struct conn	*conn;
	TAILQ_ENTRY(sub) chentry;
	TAILQ_ENTRY(sub) connentry;
};
TAILQ_HEAD(sub_list, sub);

struct channel {
	struct nametab_node node;	/* in the table, by name */
	uint64_t	 floor;		/* highest seq it ever lost */
	struct event	**ring;		/* events in seq order */
	size_t		 rhead;		/* index of the oldest */
	size_t		 rcount;
	size_t		 rcap;		/* a power of two, or 0 */
	struct sub_list	 subs;
	size_t		 nsubs;
	size_t		 namelen;
	char		 name[];	/* NUL-terminated */
};

struct channel_table {
	struct nametab	 names;
};

int		 channel_table_init(struct channel_table *);
void		 channel_table_free(struct channel_table *);
struct channel	*channel_find(struct channel_table *, const char *, size_t);
struct channel	*channel_add(struct channel_table *, const char *, size_t,
		    uint64_t);
void		 channel_remove(struct channel_table *, struct channel *);

int		 channel_push(struct channel *, struct event *);
struct event	*channel_pop(struct channel *);
struct event	*channel_unpush(struct channel *);
size_t		 channel_after(const struct channel *, uint64_t);

static inline struct event *
channel_at(const struct channel *ch, size_t i)
{
	return (ch->ring[(ch->rhead + i) & (ch->rcap - 1)]);
}

static inline struct event *
channel_oldest(const struct channel *ch)
{
	return (ch->rcount > 0 ? channel_at(ch, 0) : NULL);
}

static inline int
channel_idle(const struct channel *ch)
{
	return (ch->rcount == 0 && ch->nsubs == 0);
}

struct sub	*channel_subscribe(struct channel *, struct conn *,
		    struct sub_list *);
void		 channel_unsubscribe(struct sub *, struct sub_list *);
struct sub	*channel_find_sub(struct channel *, struct conn *);

#endif
