/* SPDX-License-Identifier: ISC */
/*
 * libfastsse: a small blocking C client for the fastsse broker.
 *
 * One struct fastsse is one connection to the broker's Unix socket.  Every
 * call blocks (up to the handle's timeout, see fastsse_set_timeout) and
 * returns 0 on success or -1 on failure; fastsse_error() then says why, in
 * words, and fastsse_error_code() gives the broker's error code when the
 * broker refused a request (the connection stays usable after that) or 0
 * when the failure was local or the connection is lost (then every later
 * call fails too; close the handle and connect again).
 *
 * A handle is not thread-safe; use one per thread.  The library never
 * raises SIGPIPE and installs no signal handlers.
 *
 * Link with `pkg-config --libs fastsse`.
 */
#ifndef FASTSSE_H
#define FASTSSE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Roles announced when connecting; a subscriber-only handle cannot publish. */
#define FASTSSE_ROLE_PUBLISHER	0x1
#define FASTSSE_ROLE_SUBSCRIBER	0x2
#define FASTSSE_ROLE_BOTH	(FASTSSE_ROLE_PUBLISHER | FASTSSE_ROLE_SUBSCRIBER)

/* Buffer size that holds any event id, NUL included. */
#define FASTSSE_ID_MAX		48

/* Most publishes fastsse_publish_send() keeps in flight on one handle. */
#define FASTSSE_MAX_INFLIGHT	1024

/* Error codes the broker sends (fastsse_error_code); 0 means not from it. */
#define FASTSSE_E_VERSION	1	/* protocol version not spoken */
#define FASTSSE_E_ROLE		2	/* request not allowed for the role */
#define FASTSSE_E_MALFORMED	3	/* broker could not parse a frame */
#define FASTSSE_E_TOO_BIG	4	/* event over the broker's size limit */
#define FASTSSE_E_CHANNEL	5	/* invalid channel name */
#define FASTSSE_E_TYPE		6	/* invalid or reserved event type */
#define FASTSSE_E_DATA		7	/* data not valid UTF-8 */
#define FASTSSE_E_TOO_MANY	8	/* too many channels (request, connection
					   or broker) */
#define FASTSSE_E_HELLO		9	/* handshake refused */
#define FASTSSE_E_INTERNAL	10	/* the broker ran out of memory */
#define FASTSSE_E_TIMEOUT	11	/* HELLO or a frame not sent in time */
#define FASTSSE_E_BUSY		12	/* a broker-wide budget is used up */
#define FASTSSE_E_STORE		13	/* the broker could not store the event
				   (disk full, I/O error): retry later */
#define FASTSSE_E_UNAVAILABLE	14	/* the broker's Redis is unreachable or
						   timed out: retry later */

struct fastsse;

/* What fastsse_read_event() returned. */
enum fastsse_kind {
	FASTSSE_KIND_EVENT = 1,		/* an event of a subscribed channel */
	FASTSSE_KIND_RESET = 2,		/* the last id could not be honoured */
	FASTSSE_KIND_SUBSCRIBED = 3	/* a subscription is live */
};

/*
 * One thing read from a subscription.  The strings are NUL-terminated and
 * owned by the handle: they stay valid until the next fastsse_read_event()
 * or fastsse_close() on it.  Fields not used by a kind are NULL or 0.
 *
 * FASTSSE_KIND_EVENT: channel, id, type ("message" when the publisher gave
 *   none) and data (data_len bytes; valid UTF-8 with any line breaks).
 * FASTSSE_KIND_RESET: the broker cannot replay from the last id given to
 *   fastsse_subscribe(): reason is "pruned", "epoch" or "malformed";
 *   oldest is the oldest event still held on those channels (NULL when
 *   none); head is the broker's newest id.  A FASTSSE_KIND_SUBSCRIBED
 *   follows, with nreplay 0 except after "epoch": then the replay is every
 *   event of the new run held on those channels (none of which the
 *   client can have seen).
 * FASTSSE_KIND_SUBSCRIBED: head is the broker's newest id when the
 *   subscription took effect; the next nreplay events are the replay of
 *   what was missed after the last id, in order; every later event is new.
 */
struct fastsse_event {
	enum fastsse_kind	 kind;
	const char		*channel;
	const char		*id;
	const char		*type;
	const char		*data;
	size_t			 data_len;
	const char		*reason;
	const char		*oldest;
	const char		*head;
	unsigned long long	 nreplay;
};

/*
 * Connects to the broker at path, or, when path is NULL, at $FASTSSE_SOCKET
 * or else the compiled-in default (/run/fastsse/fastsse.sock), and shakes
 * hands announcing role (FASTSSE_ROLE_*).  Returns a handle, or NULL with a
 * message in err (errlen bytes, may be 0) when the socket cannot be reached
 * or the broker refuses.  The handshake waits at most 10 seconds.
 */
struct fastsse	*fastsse_connect(const char *path, int role,
		    char *err, size_t errlen);

/* Closes the connection and frees the handle; NULL is allowed. */
void		 fastsse_close(struct fastsse *c);

/* The last error's message ("" when none) and the broker's code or 0. */
const char	*fastsse_error(const struct fastsse *c);
int		 fastsse_error_code(const struct fastsse *c);

/* The broker run's epoch, the first part of the ids it assigns. */
const char	*fastsse_epoch(const struct fastsse *c);

/* The socket, for poll(2): readable means fastsse_read_event may have data. */
int		 fastsse_fd(const struct fastsse *c);

/*
 * Bounds how long any later blocking call waits for the broker, in
 * milliseconds; -1 (the default after connecting) waits forever.  A call
 * that times out fails and leaves the handle unusable, because a reply may
 * still be on its way.  fastsse_read_event() takes its own timeout.
 */
void		 fastsse_set_timeout(struct fastsse *c, int timeout_ms);

/*
 * Publishes data (len bytes of UTF-8, any line breaks) on channel with
 * event type type (NULL or "" for "message") and waits for the broker's
 * answer.  On success the assigned id is copied into id_out (id_size
 * bytes, FASTSSE_ID_MAX is always enough; id_out may be NULL).  Fails
 * with fastsse_error_code() != 0 when the broker refused this event (bad
 * channel or type, too big); the handle can go on publishing then.
 */
int		 fastsse_publish(struct fastsse *c, const char *channel,
		    const char *type, const char *data, size_t len,
		    char *id_out, size_t id_size);

/*
 * The two halves of fastsse_publish(), for pipelining: publish_send sends
 * the request without waiting (at most FASTSSE_MAX_INFLIGHT unanswered);
 * publish_wait waits for the answer to the oldest unanswered publish and
 * reports it as fastsse_publish() would.  Answers come in sending order.
 * fastsse_inflight() counts the publishes sent but not yet waited for.
 */
int		 fastsse_publish_send(struct fastsse *c, const char *channel,
		    const char *type, const char *data, size_t len);
int		 fastsse_publish_wait(struct fastsse *c, char *id_out,
		    size_t id_size);
int		 fastsse_inflight(const struct fastsse *c);

/*
 * Like fastsse_publish(), at most once per key (1 to 255 bytes) and
 * channel: when the broker saw the key in the last 300 seconds it
 * publishes nothing and answers with the first id.  A publisher that
 * retries after a lost answer with the same key makes no duplicate.
 */
int		 fastsse_publish_once(struct fastsse *c, const char *channel,
		    const char *type, const char *data, size_t len,
		    const char *key, char *id_out, size_t id_size);

/*
 * Subscribes to n channels (1 to 64), resuming after last_id when it is
 * not NULL: the events of those channels after that id are replayed first,
 * or a reset notice says why they cannot be.  Returns once the request is
 * sent; what follows comes from fastsse_read_event(), which also reports
 * a refusal (invalid channel name) as a failure with an error code.
 */
int		 fastsse_subscribe(struct fastsse *c, const char *const *channels,
		    size_t n, const char *last_id);

/* Stops the events of n channels; waits for the broker's answer. */
int		 fastsse_unsubscribe(struct fastsse *c,
		    const char *const *channels, size_t n);

/*
 * Waits up to timeout_ms milliseconds (-1: forever, 0: do not wait) for
 * the next event, reset notice or subscription marker and fills *ev.
 * Returns 1 when *ev is filled, 0 on timeout, -1 on failure (the broker
 * refused a subscription, with an error code, or the connection is lost:
 * closed by the broker, for instance because this client read too slowly).
 */
int		 fastsse_read_event(struct fastsse *c, struct fastsse_event *ev,
		    int timeout_ms);

/*
 * Asks the broker for its counters and calls cb once per counter, in the
 * broker's order, with the counter's name and value; a non-zero return
 * from cb stops the walk (fastsse_stats still returns 0).
 */
int		 fastsse_stats(struct fastsse *c,
		    int (*cb)(const char *name, unsigned long long value,
		    void *arg), void *arg);

/* What the broker knows of one channel (fastsse_channel_stats). */
struct fastsse_channel_stats {
	const char		*channel;
	unsigned long long	 streams;	/* browser streams, reported
						   by the responders */
	unsigned long long	 history_events;
	unsigned long long	 history_bytes;
	unsigned long long	 subscribers;	/* broker connections */
	const char		*oldest_id;	/* NULL: no event held */
	const char		*last_id;	/* NULL: no event held */
};

/*
 * Asks the broker about 1 to 64 channels and calls cb once per channel,
 * in the order given; the strings in *st live only during the call.  A
 * non-zero return from cb stops the calls (the answers are still read).
 */
int		 fastsse_channel_stats(struct fastsse *c,
		    const char *const *channels, size_t n,
		    int (*cb)(const struct fastsse_channel_stats *st,
		    void *arg), void *arg);

/* A round trip to the broker: checks that it is alive and answering. */
int		 fastsse_ping(struct fastsse *c);

#define FASTSSE_REVOKE_SUB	"sub"	/* a token's subject */
#define FASTSSE_REVOKE_JTI	"jti"	/* a token's id */

/*
 * Revokes the subscribe tokens whose claim kind (FASTSSE_REVOKE_SUB or
 * FASTSSE_REVOKE_JTI) is value, until the time until (seconds since the
 * epoch, at most a year ahead): every responder ends the streams opened
 * with them and refuses them until then.  Needs the publisher role.
 * 0, or -1 (FASTSSE_E_DATA for a bad kind, value or time;
 * FASTSSE_E_TOO_MANY when the broker holds as many as it may).
 */
int		 fastsse_revoke(struct fastsse *c, const char *kind,
		    const char *value, unsigned long long until);

#ifdef __cplusplus
}
#endif

#endif
