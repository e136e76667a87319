/* SPDX-License-Identifier: ISC */
/*
 * The broker's memory of recent events: ids, every channel's events, the
 * bounds (age, count per channel, bytes broker-wide), pruning and replay.
 * Pure: time is a parameter, nothing here does I/O.
 */
#ifndef HISTORY_H
#define HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "channel.h"
#include "event.h"
#include "eventid.h"

struct history_limits {
	double		 max_age;	/* seconds */
	size_t		 max_events;	/* per channel */
	size_t		 max_memory;	/* bytes, all channels */
};

struct history {
	struct history_limits lim;
	uint64_t	 epoch;
	uint64_t	 seq;		/* last assigned */
	uint64_t	 freed_floor;	/* max floor of the freed channels */
	uint64_t	 lost_after;	/* ids in (lost_after, lost_upto] may */
	uint64_t	 lost_upto;	/* have been used by a run that crashed */
	uint64_t	 lost_below;	/* a cursor below it may skip lost ids */
	uint64_t	 base;		/* events after it only (Redis mirror) */
	struct event_list fifo;		/* every held event, oldest first */
	size_t		 nevents;
	size_t		 nbytes;	/* sum of event_size() */
	struct channel_table channels;

	uint64_t	 evictions;	/* all events dropped, any reason */
	uint64_t	 evict_age;
	uint64_t	 evict_count;
	uint64_t	 evict_memory;
};

/* A cursor of this form, "@<unix ms>", is a time, not an id. */
#define HISTORY_TIME_CURSOR	'@'

enum history_cursor {
	HISTORY_OK = 0,
	HISTORY_PRUNED,		/* some event after the id is gone */
	HISTORY_EPOCH,		/* id from another run */
	HISTORY_MALFORMED,	/* not an id, or ahead of the head */
	HISTORY_LOST,		/* id among those a crash may have lost */
};

int		 history_init(struct history *, uint64_t,
		    const struct history_limits *);
void		 history_free(struct history *);

struct channel	*history_channel(struct history *, const char *, size_t);
void		 history_release(struct history *, struct channel *);

struct event	*history_publish(struct history *, struct channel *,
		    const char *, size_t, const char *, size_t, double);
void		 history_trim(struct history *, struct channel *, double);
void		 history_unpublish(struct history *, struct event *);
int		 history_restore(struct history *, const char *, size_t,
		    uint64_t, double, const char *, size_t, const char *,
		    size_t, double);
void		 history_resume(struct history *, uint64_t, uint64_t, uint64_t,
		    uint64_t);
uint64_t	 history_oldest_held(const struct history *);
struct event	*history_insert(struct history *, struct channel *, uint64_t,
		    double, const char *, size_t, const char *, size_t);
void		 history_rebase(struct history *, uint64_t, uint64_t);
void		 history_expire(struct history *, double);

int		 history_cursor(struct history *, const char *, size_t,
		    struct channel *const *, size_t, uint64_t *);
uint64_t	 history_oldest(struct history *, struct channel *const *,
		    size_t);
size_t		 history_replay(struct history *, struct channel *const *,
		    size_t, uint64_t, void (*)(struct event *, void *),
		    void *);
size_t		 history_replay_size(const struct history *,
		    struct channel *const *, size_t, uint64_t);
size_t		 history_format_id(const struct history *, uint64_t, char *,
		    size_t);
const char	*history_cursor_reason(int);

#endif
