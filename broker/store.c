/* SPDX-License-Identifier: ISC */
/*
 * The broker's history on disk: the journal (journal.c) wired into the
 * event loop.  Without --data-dir the broker keeps its history in memory
 * only and nothing here runs.
 *
 * Start-up: every event of the journal is put back into the history with
 * its own id and time, and the history applies its bounds as it goes; the
 * journal's epoch is kept, ids continue after the last one any past run
 * may have used, and a cursor among ids a crashed run may have used
 * without writing them gets the "lost" reset (history.c).
 *
 * A publish is accepted (id assigned, event held, record appended to the
 * journal's buffer) and then waits in the batch.  Once per loop iteration,
 * before any output is written (server_flush_cb), the batch is committed:
 * one write(2) of every record (--fsync no, everysec) or one write and
 * one fdatasync (--fsync always: group commit).  Only then is each event
 * fanned out, the history trimmed and PUBLISHED answered, in the order
 * the publishes came; so nothing is seen by anyone before it is written,
 * and with always nothing before it is on disk.  A request other than
 * PUBLISH commits the batch first, so answers keep their request order
 * and a SUBSCRIBE sees only committed events.
 *
 * Bounds and policy: at most STORE_BATCH_MAX publishes wait in the batch;
 * the one that fills it commits at once.  When the write or the sync
 * fails (disk full, I/O error), every publish of the batch is refused
 * with ERROR STORE and taken back from the history (its id stays used),
 * counted in store_refusals and publish_errors, logged once until a
 * commit succeeds again; events answered before stay, so nothing
 * acknowledged is lost.  Each later publish tries the disk again, so
 * publishing resumes by itself when space is back.  The journal's own
 * write buffer is bounded by JOURNAL_WRITE_MAX (journal.c).  With
 * everysec a timer asks once a second for a sync, which runs on a thread
 * of its own (bgsync.c: the loop never waits for the disk); while one
 * runs the tick is skipped.  A failed sync is logged and counted
 * (journal_write_errors), and the next one tries again.  Disk use
 * follows the history: once a second the segments holding only events
 * the history no longer holds are deleted (journal_prune).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bgsync.h"
#include "conn.h"
#include "event.h"
#include "history.h"
#include "log.h"
#include "server.h"
#include "store.h"

#define STORE_BATCH0	64	/* first batch array size */

static void	store_sync_cb(struct ev_loop *, ev_timer *, int);
static void	store_synced(int, void *);
static void	store_finish(struct server *, const char *);

/* What the replay callback needs. */
struct store_replay {
	struct history		*h;
	const struct journal_info *info;
	double			 now;
	int			 started;
};

/* Puts one event from the journal back into the history. */
static int
store_replay_cb(const struct journal_event *jev, void *arg)
{
	struct store_replay	*r = arg;

	if (!r->started) {
		/* Its frames carry ids: the journal's epoch first. */
		r->h->epoch = r->info->epoch;
		history_resume(r->h, 0, jev->seq - 1, 0, 0);
		r->started = 1;
	}
	if (history_restore(r->h, jev->channel, jev->channellen, jev->seq,
	    jev->time, jev->type, jev->typelen, jev->data, jev->datalen,
	    r->now) == -1) {
		log_warnx("event %" PRIu64 " cannot be restored (memory)",
		    jev->seq);
		return (-1);
	}
	return (0);
}

/*
 * Opens the journal in dir (NULL: memory only) and rebuilds the history
 * from it.  Before daemonizing, so that a refusal (another broker, damage)
 * reaches the terminal.  -1 after logging why.
 */
int
store_open(struct server *s, const char *dir, enum journal_fsync fsync,
    int recover)
{
	struct store		*st = &s->store;
	struct history		*h = &s->history;
	struct journal_config	 cfg;
	struct journal_info	 info;
	struct store_replay	 r;
	char			 err[512];
	double			 t0;

	memset(st, 0, sizeof(*st));
	st->fsync = fsync;
	if (dir == NULL)
		return (0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.dir = dir;
	cfg.epoch = h->epoch;
	cfg.recover = recover;
	cfg.fsync = fsync;
	r.h = h;
	r.info = &info;
	r.now = t0 = ev_time();
	r.started = 0;
	if ((st->journal = journal_open(&cfg, store_replay_cb, &r, &info, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		if (!recover && strstr(err, "in use") == NULL)
			log_warnx("to start from what is intact, start once "
			    "with --recover (see fastsse-broker(8))");
		return (-1);
	}
	h->epoch = info.epoch;
	history_resume(h, info.reserved, info.floor, info.last,
	    info.lost_below);
	if (info.recovered)
		log_warnx("%s: recovered: damaged segments set aside as "
		    "*.damaged, history kept up to id %" PRIu64, dir,
		    info.last);
	log_info("%s: %" PRIu64 " events read in %.2f s, %zu kept, epoch %"
	    PRIu64 ", next id %" PRIu64 ", fsync %s", dir, info.replayed,
	    ev_time() - t0, h->nevents, h->epoch, h->seq + 1,
	    journal_fsync_name(fsync));
	if (info.last + 1 < info.reserved)
		log_info("%s: ids %" PRIu64 " to %" PRIu64 " may have been "
		    "used by a run that stopped without closing the journal; "
		    "a cursor among them is reset as \"lost\"", dir,
		    info.last + 1, info.reserved - 1);
	if (info.machine_crash)
		log_warnx("%s: the last run ended with the machine, with fsync "
		    "not always: events it acknowledged may be lost, so every "
		    "cursor before id %" PRIu64 " is reset as \"lost\"",
		    dir, info.lost_below);
	else if (info.lost_below != 0)
		log_info("%s: a machine crash lost events: a cursor before id %"
		    PRIu64 " is reset as \"lost\"", dir, info.lost_below);
	return (0);
}

/* After daemon(): the lock file names the process that holds it. */
void
store_daemonized(struct server *s)
{
	if (s->store.journal != NULL)
		journal_owner(s->store.journal);
}

/* Starts the everysec timer on the server's loop. */
void
store_start(struct server *s)
{
	struct store	*st = &s->store;

	if (st->journal == NULL || st->fsync != JOURNAL_FSYNC_EVERYSEC)
		return;
	ev_timer_init(&st->sync_timer, store_sync_cb, STORE_SYNC_INTERVAL,
	    STORE_SYNC_INTERVAL);
	st->sync_timer.data = s;
	ev_timer_start(s->loop, &st->sync_timer);
	bgsync_init(&st->bgsync, s->loop, store_synced, s);
}

/*
 * Takes a publish whose event the history now holds: its record goes to
 * the journal and it waits for the commit, which answers it (PUBLISHED or
 * ERROR STORE) through conn_publish_answer.  -1 when it cannot even wait
 * (memory): the event is taken back and the caller answers.
 */
int
store_accept(struct server *s, struct conn *c, uint64_t ref,
    struct event *ev, const char *type, size_t typelen, const char *data,
    size_t datalen)
{
	struct store		*st = &s->store;
	struct store_pending	*nb;
	struct journal_event	 jev;
	char			 err[512];
	size_t			 ncap;

	if (st->nbatch == st->batchcap) {
		ncap = st->batchcap ? st->batchcap * 2 : STORE_BATCH0;
		if ((nb = reallocarray(st->batch, ncap, sizeof(*nb))) ==
		    NULL) {
			history_unpublish(&s->history, ev);
			return (-1);
		}
		st->batch = nb;
		st->batchcap = ncap;
	}
	jev.seq = ev->seq;
	jev.time = ev->time;
	jev.channel = ev->channel->name;
	jev.channellen = ev->channel->namelen;
	jev.type = type;
	jev.typelen = typelen;
	jev.data = data;
	jev.datalen = datalen;
	event_ref(ev);
	st->batch[st->nbatch].conn = c;
	st->batch[st->nbatch].ref = ref;
	st->batch[st->nbatch].ev = ev;
	st->nbatch++;
	/* A failed append refuses what was not written yet: the batch. */
	if (journal_append(st->journal, &jev, err, sizeof(err)) == -1)
		store_finish(s, err);
	else if (st->nbatch >= STORE_BATCH_MAX)
		store_commit(s);
	return (0);
}

/*
 * Commits the batch (see the top): one write, or one write and one
 * fdatasync with --fsync always, then every publish of it is answered.
 */
void
store_commit(struct server *s)
{
	struct store	*st = &s->store;
	char		 err[512];
	int		 rc;

	if (st->journal == NULL || st->nbatch == 0)
		return;
	if (st->fsync == JOURNAL_FSYNC_ALWAYS)
		rc = journal_sync(st->journal, err, sizeof(err));
	else
		rc = journal_write(st->journal, err, sizeof(err));
	store_finish(s, rc == 0 ? NULL : err);
}

/*
 * Answers the batch: fan-out, trim and PUBLISHED when why is NULL; else
 * every event is taken back (newest first) and refused with why.  The
 * batch is emptied first, so that an answer that commits (conn_error)
 * finds nothing to do.
 */
static void
store_finish(struct server *s, const char *why)
{
	struct store		*st = &s->store;
	struct history		*h = &s->history;
	struct store_pending	*p;
	size_t			 i, n = st->nbatch;
	double			 now = ev_now(s->loop);

	st->nbatch = 0;
	if (why == NULL) {
		if (st->failing) {
			log_info("the journal takes events again");
			st->failing = 0;
		}
		for (i = 0; i < n; i++)
			if (st->batch[i].ev->channel != NULL)
				server_fanout(s, st->batch[i].ev);
		for (i = 0; i < n; i++)
			if (st->batch[i].ev->channel != NULL)
				history_trim(h, st->batch[i].ev->channel, now);
	} else {
		if (!st->failing) {
			log_warnx("%s: refusing publishes until the journal "
			    "can be written", why);
			st->failing = 1;
		}
		for (i = n; i-- > 0;)
			history_unpublish(h, st->batch[i].ev);
	}
	for (i = 0; i < n; i++) {
		p = &st->batch[i];
		if (why == NULL)
			s->stats.events_published++;
		else {
			s->stats.publish_errors++;
			st->refused++;
		}
		if (p->conn != NULL)
			conn_publish_answer(p->conn, p->ref, p->ev, why);
		event_unref(p->ev);
	}
}

/* Forgets c's place in the batch: its publishes stand, unanswered. */
void
store_forget(struct server *s, struct conn *c)
{
	struct store	*st = &s->store;
	size_t		 i;

	for (i = 0; i < st->nbatch; i++)
		if (st->batch[i].conn == c)
			st->batch[i].conn = NULL;
}

/* Deletes the segments the history no longer needs (the prune timer). */
void
store_prune(struct server *s)
{
	struct store	*st = &s->store;
	char		 err[512];

	if (st->journal == NULL)
		return;
	if (journal_prune(st->journal, history_oldest_held(&s->history), err,
	    sizeof(err)) == -1)
		log_warnx("%s", err);
}

/* --fsync everysec: what was written in the last second goes to disk. */
static void
store_sync_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server	*s = w->data;
	struct store	*st = &s->store;
	char		 err[512];
	int		 fd;

	(void)loop;
	(void)revents;
	if (bgsync_busy(&st->bgsync) || !journal_dirty(st->journal))
		return;
	if (journal_sync_begin(st->journal, &fd, err, sizeof(err)) == -1)
		log_warnx("%s", err);
	else if (fd != -1 && bgsync_request(&st->bgsync, fd) == -1)
		journal_sync_end(st->journal, EAGAIN);	/* next second */
}

/* The thread's sync of store_sync_cb ended: counted, logged on failure. */
static void
store_synced(int errnum, void *arg)
{
	struct server	*s = arg;

	if (s->store.journal == NULL)
		return;
	journal_sync_end(s->store.journal, errnum);
	if (errnum != 0)
		log_warnx("journal: fdatasync: %s", strerror(errnum));
}

/*
 * At shutdown: commits what is waiting, syncs, records the last id used
 * so that the next run continues after it, and releases the directory.
 */
void
store_close(struct server *s)
{
	struct store	*st = &s->store;
	char		 err[512];

	if (st->journal == NULL)
		return;
	store_commit(s);
	if (ev_is_active(&st->sync_timer)) {
		ev_timer_stop(s->loop, &st->sync_timer);
		bgsync_stop(&st->bgsync);
	}
	if (journal_close(st->journal, err, sizeof(err)) == -1)
		log_warnx("%s", err);
	st->journal = NULL;
	free(st->batch);
	st->batch = NULL;
	st->nbatch = st->batchcap = 0;
}

/* Copies the journal's counters into the broker's for STATS. */
void
store_stats(struct server *s)
{
	struct store		*st = &s->store;
	struct journal_stats	 js;

	s->stats.journal = st->journal != NULL;
	s->stats.journal_fsync = st->fsync;
	s->stats.store_refusals = st->refused;
	if (st->journal == NULL)
		return;
	journal_stats(st->journal, &js);
	s->stats.journal_bytes = js.bytes;
	s->stats.journal_segments = js.segments;
	s->stats.journal_syncs = js.syncs;
	s->stats.journal_last_sync = js.last_sync;
	s->stats.journal_write_errors = js.write_errors;
	s->stats.journal_torn = js.torn;
}
