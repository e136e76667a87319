/* SPDX-License-Identifier: ISC */
/*
 * The journal: the broker's history on disk, so that a restart keeps the
 * epoch, the events within retention and the ids, and never assigns an id
 * twice.  Plain code over files in one directory, no event loop: the
 * caller decides when to write and when to sync.
 *
 * The storage seam.  history.c stays the broker's memory and stays pure;
 * a store (this journal now, Redis later) keeps a copy that survives the
 * process.  The broker talks to the store at four points:
 *
 *   start    journal_open() replays every event on disk, oldest first,
 *            through a callback that puts it back into the history with
 *            its own seq and time (the history then applies its bounds as
 *            for a publish).  The journal's epoch becomes the history's
 *            epoch; the history's next id is info.reserved + 1.  Every
 *            channel's floor starts at info.floor (events up to it were
 *            pruned with their segments; a cursor before it gets the
 *            "pruned" reset).  Ids in (info.last, info.reserved] may have
 *            been handed out by a run that crashed before they reached
 *            the disk: a cursor among them gets a reset (they are lost),
 *            never a silent gap.  After a machine crash with fsync
 *            everysec or no, every cursor below info.lost_below too.
 *   accept   after history_publish() assigned seq, journal_append() the
 *            event (buffered, cheap).  When it fails the publish is
 *            refused and the history takes the event back.
 *   commit   once per loop iteration, journal_write() (fsync no and
 *            everysec) or journal_sync() (always: every publish of the
 *            iteration is acknowledged after that one fsync, group
 *            commit); with everysec a one-second timer calls
 *            journal_sync_begin() and a thread syncs the descriptor it
 *            gives (journal_sync_end() after).  When a write or the always
 *            sync fails, the publishes not yet acknowledged are refused.
 *   prune    after the history dropped events, journal_prune() with the
 *            seq of the oldest event the history still holds: segments
 *            holding only older events are deleted.  Age and memory
 *            eviction pop the history's oldest event, so they map exactly;
 *            count pruning of one busy channel frees disk only once the
 *            older events of the other channels have gone by age or
 *            memory: so disk use is bounded by what was published since
 *            the oldest event held (at most max_age seconds of traffic),
 *            plus one segment.  Segments are only ever deleted oldest
 *            first, so after a restart one floor (info.floor) says what
 *            is gone; what the history had pruned within the kept
 *            segments comes back and is pruned again by the same bounds.
 *   stop     journal_close() syncs and records the exact last id, so the
 *            next run continues with the next one.
 *
 * A Redis store (the scale-out notes) fits the same calls: append is an
 * XADD with the explicit id, commit the reply of a pipelined batch, prune
 * an XTRIM MINID, and open an XRANGE; only the seq would be assigned by
 * Redis rather than by the history.
 *
 * On disk, in the directory: "lock" (held with flock while a broker runs),
 * "journal.meta" (the epoch and the reservation, replaced atomically),
 * "journal.run" (a line: "running" or "stopped", the boot id, the fsync
 * mode, and below which id a cursor is lost since a machine crash;
 * replaced atomically at open and at close) and segments "<first seq, 16
 * hex digits>.jnl".  Every record is
 * [crc32 (4)][length (4)][kind (1), payload], little-endian, the CRC
 * covering length, kind and payload.  A segment starts with a HEAD record
 * (version, epoch, first seq) and, unless it is the newest, ends with an
 * END record.  Events are in strictly increasing seq order across all
 * segments.
 *
 * Damage.  A torn record at the end of the newest segment (a crash during
 * a write) is cut at start-up, logged and counted; start-up goes on.  Any
 * other damage (a bad checksum with valid records after it, a closed
 * segment cut short, a missing or damaged journal.meta) stops start-up
 * with the file and the offset.  To start from what is intact, open once
 * with recover set: the events before the damage are kept, the damaged
 * segment is set aside whole as NAME.damaged (its intact part copied back
 * under NAME) and every later segment is set aside too; the epoch and the
 * reservation are kept, so the lost ids are never used again and cursors
 * among them get a reset.  Without a usable journal.meta no id is known
 * to be free: every segment is set aside and a new epoch begins.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JOURNAL_VERSION		1
#define JOURNAL_SEGMENT_MAX	(64u << 20)	/* default rotation size */
#define JOURNAL_WRITE_MAX	(1u << 20)	/* bytes buffered before a write */
#define JOURNAL_RESERVE		(1u << 20)	/* ids reserved per meta write */
#define JOURNAL_HEADER_LEN	8		/* crc32 + length */
#define JOURNAL_EVENT_FIXED	25		/* kind, seq, time, 3 lengths */

enum journal_fsync {
	JOURNAL_FSYNC_ALWAYS,
	JOURNAL_FSYNC_EVERYSEC,
	JOURNAL_FSYNC_NO,
};

enum journal_kind {
	JOURNAL_EVENT = 1,
	JOURNAL_HEAD = 2,
	JOURNAL_END = 3,
	JOURNAL_META = 4,
};

struct journal_config {
	const char	*dir;
	uint64_t	 epoch;		/* used only for a new directory */
	size_t		 segment_max;	/* 0: JOURNAL_SEGMENT_MAX */
	int		 recover;	/* keep what is intact before damage */
	enum journal_fsync fsync;	/* this run's, kept in journal.run */
};

/* One event as the history holds it; pointers valid during a call. */
struct journal_event {
	uint64_t	 seq;
	double		 time;
	const char	*channel;
	size_t		 channellen;
	const char	*type;
	size_t		 typelen;
	const char	*data;
	size_t		 datalen;
};

/* One decoded record (pure decoding, see journal_decode). */
struct journal_record {
	enum journal_kind kind;
	struct journal_event ev;	/* JOURNAL_EVENT */
	uint32_t	 version;	/* HEAD, META */
	uint64_t	 epoch;		/* HEAD, META */
	uint64_t	 seq;		/* HEAD: first; END: last; META: reserved */
};

/* What start-up found. */
struct journal_info {
	uint64_t	 epoch;
	uint64_t	 floor;		/* events up to here may be gone */
	uint64_t	 last;		/* highest seq replayed, 0 when none */
	uint64_t	 reserved;	/* highest seq a past run may have used */
	uint64_t	 replayed;	/* events */
	uint64_t	 torn_bytes;	/* cut from the newest segment's tail */
	int		 recovered;	/* damage was found and set aside */
	int		 machine_crash;	/* the last run died with the machine */
	uint64_t	 lost_below;	/* a cursor below it may have a gap */
};

struct journal_stats {
	uint64_t	 bytes;		/* all segments, written */
	uint64_t	 segments;
	uint64_t	 appended;	/* events, this run */
	uint64_t	 syncs;
	double		 last_sync;	/* wall clock, 0 before the first */
	uint64_t	 write_errors;	/* failed writes and syncs */
	uint64_t	 torn;		/* torn tails cut at start-up */
	uint64_t	 pruned;	/* segments deleted */
	uint64_t	 reserved;	/* ids reserved on disk up to */
};

struct journal;

/*
 * Called for each event at start-up, in seq order; -1 stops the open.
 * info->epoch is set before the first call.
 */
typedef int	(*journal_replay_cb)(const struct journal_event *, void *);

struct journal	*journal_open(const struct journal_config *, journal_replay_cb,
		    void *, struct journal_info *, char *, size_t);
int		 journal_append(struct journal *, const struct journal_event *,
		    char *, size_t);
int		 journal_write(struct journal *, char *, size_t);
int		 journal_sync(struct journal *, char *, size_t);
int		 journal_sync_begin(struct journal *, int *, char *, size_t);
void		 journal_sync_end(struct journal *, int);
size_t		 journal_pending(const struct journal *);
int		 journal_dirty(const struct journal *);
int		 journal_prune(struct journal *, uint64_t, char *, size_t);
void		 journal_stats(const struct journal *, struct journal_stats *);
int		 journal_close(struct journal *, char *, size_t);
void		 journal_owner(struct journal *);

int		 journal_fsync_parse(const char *, enum journal_fsync *);
const char	*journal_fsync_name(enum journal_fsync);

/* The record format, pure: no I/O, unit-tested byte by byte. */
int		 journal_encode_event(struct buf *, const struct journal_event *);
int		 journal_encode_head(struct buf *, uint64_t, uint64_t);
int		 journal_encode_end(struct buf *, uint64_t);
int		 journal_encode_meta(struct buf *, uint64_t, uint64_t);
ssize_t		 journal_decode(const char *, size_t, struct journal_record *);

#endif
