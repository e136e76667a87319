/*
 * The responder's one connection to the broker, shared by all streams:
 * the union of their channels is subscribed once, each EVENT arrives once
 * and is fanned out to the streams of its channel.
 */
#ifndef UPSTREAM_H
#define UPSTREAM_H

#include <stddef.h>

#include <ev.h>

struct stream;

struct upstream_stats {
	uint64_t	connects;
	uint64_t	disconnects;
	uint64_t	events;		/* EVENT frames received */
	uint64_t	subscribes;
	uint64_t	resets;
	uint64_t	dropped_out;	/* connection dropped: output bound */
};

extern struct upstream_stats upstream_stats;

void	upstream_init(struct ev_loop *, const char *path);
void	upstream_shutdown(void);
void	upstream_free(void);
/* Makes s a member of its i-th channel (counted; may create it). */
int	upstream_join(struct stream *, size_t i, const char *, size_t);
/* Asks the broker for s's channels from its cursor, when connected. */
void	upstream_subscribe(struct stream *);
/* Forgets s: channels left (unsubscribed when last), pending cleared. */
void	upstream_leave(struct stream *);
int	upstream_connected(void);

#endif
