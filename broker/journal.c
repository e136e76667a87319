/* SPDX-License-Identifier: ISC */
/*
 * The journal (see journal.h for the format and how the broker uses it).
 *
 * Bounds and policy:
 *   - a record holds at most one event of the protocol's limits (channel
 *     and type of VALIDATE_*_MAX bytes, data of PROTO_MAX_FRAME); a longer
 *     length read from disk is damage, refused before anything is read;
 *   - appended records are buffered up to JOURNAL_WRITE_MAX bytes (or one
 *     record when it alone is larger), then written; past it the buffer is
 *     written first;
 *   - a segment is closed (END, fsync) and a new one begun when the next
 *     record would take it past segment_max; disk use is bounded by what
 *     the caller still holds (journal_prune) plus one segment;
 *   - ids are reserved JOURNAL_RESERVE at a time in journal.meta, synced
 *     before any id of the range is taken, so a crash never lets an id be
 *     used twice (stats: reserved).
 * Errors (disk full, I/O) are returned to the caller, who refuses the
 * publishes concerned; a failed write leaves no partial record behind
 * (the file is cut back to the last whole record) and the next write
 * tries again, so publishing works again once space is back (stats:
 * write_errors).  At start-up a torn record at the end of the newest
 * segment (a crash in the middle of a write) is cut, counted (stats:
 * torn) and logged; damage anywhere else stops the open with the file and
 * offset, unless the caller asked for recovery: then what is intact
 * before the damage is kept and the rest is set aside as *.damaged.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBDEFLATE
#include <libdeflate.h>
#else
#include <zlib.h>
#endif

#include "journal.h"
#include "log.h"
#include "proto.h"
#include "validate.h"

#define JOURNAL_LOCK		"lock"
#define JOURNAL_META_NAME	"journal.meta"
#define JOURNAL_META_TMP	"journal.meta.tmp"
#define JOURNAL_RUN_NAME	"journal.run"
#define JOURNAL_RUN_TMP		"journal.run.tmp"
#define JOURNAL_RUN_MAX		256	/* bytes of journal.run */
#define JOURNAL_BOOT_ID		"/proc/sys/kernel/random/boot_id"
#define JOURNAL_BOOT_MAX	64	/* bytes of a boot id kept (%63s below) */
#define JOURNAL_SUFFIX		".jnl"
#define JOURNAL_NAME_LEN	(16 + 4)	/* hex seq + suffix */
#define JOURNAL_HEAD_LEN	(JOURNAL_HEADER_LEN + 1 + 4 + 8 + 8)
#define JOURNAL_END_LEN		(JOURNAL_HEADER_LEN + 1 + 8)
#define JOURNAL_META_LEN	(JOURNAL_HEADER_LEN + 1 + 4 + 8 + 8)
#define JOURNAL_WRITEBACK	(4u << 20)	/* see journal_writeback */
#define JOURNAL_PAYLOAD_MAX	(JOURNAL_EVENT_FIXED + VALIDATE_CHANNEL_MAX + \
				 VALIDATE_TYPE_MAX + PROTO_MAX_FRAME)

struct journal_segment {
	uint64_t	 first;		/* from its name: no event below it */
	uint64_t	 bytes;
};

struct journal {
	int		 dirfd;
	int		 lockfd;
	int		 fd;		/* newest segment, -1 before the first */
	char		*dir;
	size_t		 segment_max;
	uint64_t	 epoch;
	uint64_t	 last;		/* highest seq appended or replayed */
	uint64_t	 used;		/* ids up to here may exist on disk */
	uint64_t	 reserved;	/* as synced in journal.meta */
	enum journal_fsync fsync;	/* this run's, for journal.run */
	uint64_t	 lost_below;	/* as recorded in journal.run */
	char		 boot[JOURNAL_BOOT_MAX];
	uint64_t	 off;		/* bytes of fd that hold whole records */
	uint64_t	 flushed;	/* writeback started up to here */
	int		 cut;		/* fd may hold bytes past off */
	int		 dirty;		/* written since the last sync */
	struct buf	 wbuf;		/* records not yet written */
	uint64_t	 wbuf_last;	/* last seq in wbuf */
	struct journal_segment *segs;	/* oldest first */
	size_t		 nsegs;
	size_t		 segcap;
	struct journal_stats st;
};

/* What a scan of one segment found. */
struct journal_scan {
	uint64_t	 good;		/* bytes of whole, valid records */
	int		 ended;		/* an END record closed it */
	uint64_t	 events;
	const char	*why;		/* damage, NULL when none */
	uint64_t	 where;
};

static void
journal_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void	journal_free_(struct journal *);

static void
journal_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Little-endian integers of 2, 4 or 8 bytes, whatever the host: loads and
 * stores of whole words, as every record is encoded and decoded through
 * here (n is a constant at each call, so the switch folds away).
 */
static void
journal_put(char *p, uint64_t v, int n)
{
	uint64_t	v64;
	uint32_t	v32;
	uint16_t	v16;

	switch (n) {
	case 8:
		v64 = htole64(v);
		memcpy(p, &v64, 8);
		break;
	case 4:
		v32 = htole32((uint32_t)v);
		memcpy(p, &v32, 4);
		break;
	case 2:
		v16 = htole16((uint16_t)v);
		memcpy(p, &v16, 2);
		break;
	default:
		abort();
	}
}

static uint64_t
journal_get(const char *p, int n)
{
	uint64_t	v64;
	uint32_t	v32;
	uint16_t	v16;

	switch (n) {
	case 8:
		memcpy(&v64, p, 8);
		return (le64toh(v64));
	case 4:
		memcpy(&v32, p, 4);
		return (le32toh(v32));
	case 2:
		memcpy(&v16, p, 2);
		return (le16toh(v16));
	default:
		abort();
	}
}

/*
 * CRC-32 (the gzip polynomial) of one record.  zlib's crc32 pays a fixed
 * cost per call that is most of the work on records of a few hundred
 * bytes (385 ns for 149 bytes here, against 0.34 ns a byte on long
 * buffers); libdeflate's computes the same value some twelve times faster
 * on such records, so a build with it writes and reads the same files.
 */
static uint32_t
journal_crc(const char *p, size_t len)
{
#ifdef HAVE_LIBDEFLATE
	return (libdeflate_crc32(0, p, len));
#else
	return ((uint32_t)crc32(0L, (const Bytef *)p, (uInt)len));
#endif
}

/*
 * Reserves a record of payload plen at the end of b, returns where the
 * payload goes; journal_seal then fills in length and checksum.
 */
static char *
journal_begin(struct buf *b, size_t plen)
{
	char	*p;

	if (buf_reserve(b, JOURNAL_HEADER_LEN + plen) == -1)
		return (NULL);
	p = buf_tail(b);
	journal_put(p + 4, plen, 4);
	return (p + JOURNAL_HEADER_LEN);
}

static void
journal_seal(struct buf *b, size_t plen)
{
	char	*p = buf_tail(b);

	journal_put(p, journal_crc(p + 4, 4 + plen), 4);
	buf_commit(b, JOURNAL_HEADER_LEN + plen);
}

/* Appends one EVENT record; -1 when a field is over its bound or no memory. */
int
journal_encode_event(struct buf *b, const struct journal_event *ev)
{
	uint64_t	 tbits;
	size_t		 plen;
	char		*p;

	if (ev->channellen == 0 || ev->channellen > VALIDATE_CHANNEL_MAX ||
	    ev->typelen > VALIDATE_TYPE_MAX || ev->datalen > PROTO_MAX_FRAME)
		return (-1);
	plen = JOURNAL_EVENT_FIXED + ev->channellen + ev->typelen +
	    ev->datalen;
	if ((p = journal_begin(b, plen)) == NULL)
		return (-1);
	memcpy(&tbits, &ev->time, sizeof(tbits));
	p[0] = JOURNAL_EVENT;
	journal_put(p + 1, ev->seq, 8);
	journal_put(p + 9, tbits, 8);
	journal_put(p + 17, ev->channellen, 2);
	journal_put(p + 19, ev->typelen, 2);
	journal_put(p + 21, ev->datalen, 4);
	p += JOURNAL_EVENT_FIXED;
	memcpy(p, ev->channel, ev->channellen);
	if (ev->typelen > 0)
		memcpy(p + ev->channellen, ev->type, ev->typelen);
	if (ev->datalen > 0)
		memcpy(p + ev->channellen + ev->typelen, ev->data,
		    ev->datalen);
	journal_seal(b, plen);
	return (0);
}

/* HEAD and META share a layout: version, epoch, a seq. */
static int
journal_encode_vseq(struct buf *b, enum journal_kind kind, uint64_t epoch,
    uint64_t seq)
{
	char	*p;

	if ((p = journal_begin(b, 1 + 4 + 8 + 8)) == NULL)
		return (-1);
	p[0] = (char)kind;
	journal_put(p + 1, JOURNAL_VERSION, 4);
	journal_put(p + 5, epoch, 8);
	journal_put(p + 13, seq, 8);
	journal_seal(b, 1 + 4 + 8 + 8);
	return (0);
}

int
journal_encode_head(struct buf *b, uint64_t epoch, uint64_t first)
{
	return (journal_encode_vseq(b, JOURNAL_HEAD, epoch, first));
}

int
journal_encode_meta(struct buf *b, uint64_t epoch, uint64_t reserved)
{
	return (journal_encode_vseq(b, JOURNAL_META, epoch, reserved));
}

int
journal_encode_end(struct buf *b, uint64_t last)
{
	char	*p;

	if ((p = journal_begin(b, 1 + 8)) == NULL)
		return (-1);
	p[0] = JOURNAL_END;
	journal_put(p + 1, last, 8);
	journal_seal(b, 1 + 8);
	return (0);
}

/*
 * Decodes the record at p[0..len).  Returns its size, 0 when len ends
 * inside it, -1 when it is not a valid record (bad length, checksum, kind
 * or layout).  The length is checked against the largest possible record
 * before anything else, so a hostile length costs nothing.
 */
ssize_t
journal_decode(const char *p, size_t len, struct journal_record *r)
{
	const char	*q;
	uint64_t	 plen, tbits;

	if (len < JOURNAL_HEADER_LEN)
		return (0);
	plen = journal_get(p + 4, 4);
	if (plen < 1 || plen > JOURNAL_PAYLOAD_MAX)
		return (-1);
	if (len - JOURNAL_HEADER_LEN < plen)
		return (0);
	if (journal_get(p, 4) != journal_crc(p + 4, 4 + plen))
		return (-1);
	q = p + JOURNAL_HEADER_LEN;
	memset(r, 0, sizeof(*r));
	r->kind = (enum journal_kind)(unsigned char)q[0];
	switch (r->kind) {
	case JOURNAL_EVENT:
		if (plen < JOURNAL_EVENT_FIXED)
			return (-1);
		r->ev.seq = journal_get(q + 1, 8);
		tbits = journal_get(q + 9, 8);
		memcpy(&r->ev.time, &tbits, sizeof(tbits));
		r->ev.channellen = journal_get(q + 17, 2);
		r->ev.typelen = journal_get(q + 19, 2);
		r->ev.datalen = journal_get(q + 21, 4);
		if (r->ev.channellen == 0 ||
		    r->ev.channellen > VALIDATE_CHANNEL_MAX ||
		    r->ev.typelen > VALIDATE_TYPE_MAX ||
		    r->ev.datalen > PROTO_MAX_FRAME ||
		    plen != JOURNAL_EVENT_FIXED + r->ev.channellen +
		    r->ev.typelen + r->ev.datalen)
			return (-1);
		r->ev.channel = q + JOURNAL_EVENT_FIXED;
		r->ev.type = r->ev.channel + r->ev.channellen;
		r->ev.data = r->ev.type + r->ev.typelen;
		r->seq = r->ev.seq;
		break;
	case JOURNAL_HEAD:
	case JOURNAL_META:
		if (plen != 1 + 4 + 8 + 8)
			return (-1);
		r->version = (uint32_t)journal_get(q + 1, 4);
		r->epoch = journal_get(q + 5, 8);
		r->seq = journal_get(q + 13, 8);
		break;
	case JOURNAL_END:
		if (plen != 1 + 8)
			return (-1);
		r->seq = journal_get(q + 1, 8);
		break;
	default:
		return (-1);
	}
	return ((ssize_t)(JOURNAL_HEADER_LEN + plen));
}

int
journal_fsync_parse(const char *s, enum journal_fsync *mode)
{
	if (strcmp(s, "always") == 0)
		*mode = JOURNAL_FSYNC_ALWAYS;
	else if (strcmp(s, "everysec") == 0)
		*mode = JOURNAL_FSYNC_EVERYSEC;
	else if (strcmp(s, "no") == 0)
		*mode = JOURNAL_FSYNC_NO;
	else
		return (-1);
	return (0);
}

const char *
journal_fsync_name(enum journal_fsync mode)
{
	switch (mode) {
	case JOURNAL_FSYNC_ALWAYS:
		return ("always");
	case JOURNAL_FSYNC_EVERYSEC:
		return ("everysec");
	case JOURNAL_FSYNC_NO:
		return ("no");
	}
	return ("?");
}

static void
journal_segname(char *name, size_t size, uint64_t first)
{
	snprintf(name, size, "%016" PRIx64 JOURNAL_SUFFIX, first);
}

/* Parses a segment file name; -1 for any other file. */
static int
journal_parsename(const char *name, uint64_t *first)
{
	uint64_t	v = 0;
	int		i;
	char		c;

	if (strlen(name) != JOURNAL_NAME_LEN ||
	    strcmp(name + 16, JOURNAL_SUFFIX) != 0)
		return (-1);
	for (i = 0; i < 16; i++) {
		c = name[i];
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return (-1);
	}
	*first = v;
	return (0);
}

/* Writes all of p at off; -1 with errno on a short or failed write. */
static int
journal_pwrite(int fd, const char *p, size_t len, uint64_t off)
{
	ssize_t	n;

	while (len > 0) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return (-1);
		if (n == 0) {
			errno = EIO;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return (0);
}

static double
journal_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

/*
 * Replaces the file name with len bytes of p, durably: a new file (tmp),
 * synced, renamed over the old one, the directory synced.  A crash at any
 * point leaves either the old or the new file whole.
 */
static int
journal_replace(struct journal *j, const char *name, const char *tmp,
    const char *p, size_t len, char *err, size_t errlen)
{
	int	fd;

	fd = openat(j->dirfd, tmp,
	    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		journal_err(err, errlen, "%s/%s: %s", j->dir, tmp,
		    strerror(errno));
		return (-1);
	}
	if (journal_pwrite(fd, p, len, 0) == -1 || fsync(fd) == -1) {
		journal_err(err, errlen, "%s/%s: %s", j->dir, tmp,
		    strerror(errno));
		close(fd);
		return (-1);
	}
	close(fd);
	if (renameat(j->dirfd, tmp, j->dirfd, name) == -1 ||
	    fsync(j->dirfd) == -1) {
		journal_err(err, errlen, "%s/%s: %s", j->dir, name,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/* Replaces journal.meta with (epoch, reserved), durably. */
static int
journal_meta_store(struct journal *j, uint64_t reserved, char *err,
    size_t errlen)
{
	struct buf	b;
	int		r = -1;

	buf_init(&b, 0);
	if (journal_encode_meta(&b, j->epoch, reserved) == -1) {
		journal_err(err, errlen, "out of memory");
		goto done;
	}
	if (journal_replace(j, JOURNAL_META_NAME, JOURNAL_META_TMP,
	    buf_head(&b), JOURNAL_META_LEN, err, errlen) == -1)
		goto done;
	j->reserved = reserved;
	j->st.reserved = reserved;
	r = 0;
done:
	buf_free(&b);
	return (r);
}

/* Reads journal.meta: 1 when found and valid, 0 when absent, -1 damaged. */
static int
journal_meta_load(struct journal *j, uint64_t *epoch, uint64_t *reserved)
{
	struct journal_record	r;
	char			rec[JOURNAL_META_LEN + 1];
	ssize_t			n;
	int			fd;

	fd = openat(j->dirfd, JOURNAL_META_NAME,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return (errno == ENOENT ? 0 : -1);
	n = read(fd, rec, sizeof(rec));
	close(fd);
	if (n != JOURNAL_META_LEN ||
	    journal_decode(rec, (size_t)n, &r) != JOURNAL_META_LEN ||
	    r.kind != JOURNAL_META || r.version != JOURNAL_VERSION)
		return (-1);
	*epoch = r.epoch;
	*reserved = r.seq;
	return (1);
}

/*
 * This machine's boot id, so that a start-up can tell a crash of the
 * broker alone (the kernel still writes out what the dead run wrote) from
 * a crash of the machine (what was not synced may be gone).  "unknown"
 * where the system has none: every crash then counts as a machine crash.
 */
static void
journal_boot_id(char *buf, size_t size)
{
	ssize_t	n = -1;
	size_t	i;
	int	fd;

	if ((fd = open(JOURNAL_BOOT_ID, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, size - 1);
		close(fd);
	}
	for (i = 0; n > 0 && i < (size_t)n; i++)
		if (!(buf[i] >= '0' && buf[i] <= '9') &&
		    !(buf[i] >= 'a' && buf[i] <= 'f') && buf[i] != '-')
			break;
	if (n <= 0 || i == 0)
		snprintf(buf, size, "unknown");
	else
		buf[i] = '\0';
}

/* What journal.run says of the run that wrote it last. */
struct journal_run {
	int		 found;
	int		 running;	/* it never closed the journal */
	char		 boot[JOURNAL_BOOT_MAX];
	enum journal_fsync fsync;
	uint64_t	 lost_below;
};

/*
 * Records this run in journal.run: whether it is running or stopped (a
 * start-up that finds "running" follows a crash), the boot it runs in,
 * its fsync mode, and below which id a cursor may have missed events a
 * machine crash took (kept across runs until retention passes it).
 */
static int
journal_run_store(struct journal *j, int running, char *err, size_t errlen)
{
	char	line[JOURNAL_RUN_MAX];
	int	len;

	len = snprintf(line, sizeof(line), "%s boot %s fsync %s lost-below %"
	    PRIu64 "\n", running ? "running" : "stopped", j->boot,
	    journal_fsync_name(j->fsync), j->lost_below);
	if (len < 0 || (size_t)len >= sizeof(line)) {
		journal_err(err, errlen, "%s/%s: too long", j->dir,
		    JOURNAL_RUN_NAME);
		return (-1);
	}
	return (journal_replace(j, JOURNAL_RUN_NAME, JOURNAL_RUN_TMP, line,
	    (size_t)len, err, errlen));
}

/*
 * Reads journal.run; found stays 0 when it is absent or unreadable (a
 * directory from before the file: nothing is inferred from it).
 */
static void
journal_run_load(struct journal *j, struct journal_run *run)
{
	char	line[JOURNAL_RUN_MAX + 1], state[16], fsync_name[16];
	ssize_t	n;
	int	fd;

	memset(run, 0, sizeof(*run));
	fd = openat(j->dirfd, JOURNAL_RUN_NAME,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return;
	line[n] = '\0';
	if (sscanf(line, "%15s boot %63s fsync %15s lost-below %" SCNu64,
	    state, run->boot, fsync_name, &run->lost_below) != 4 ||
	    journal_fsync_parse(fsync_name, &run->fsync) == -1)
		return;
	run->running = strcmp(state, "running") == 0;
	run->found = 1;
}

/*
 * After a crash of the machine (the last run never stopped, and the boot
 * changed) with fsync everysec or no, events that were acknowledged and
 * sent may be gone from the disk.  A cursor before them would get what was
 * kept and then the new events, past the gap: so every cursor below the
 * ids that run could have used is reset "lost" from now on, until the
 * history no longer holds anything it could resume from (floor).  After a
 * crash of the broker alone, or with always, nothing sent is missing.
 */
static void
journal_run_check(struct journal *j, const struct journal_run *run,
    uint64_t floor, struct journal_info *info)
{
	if (!run->found)
		return;
	j->lost_below = run->lost_below;
	if (run->running && run->fsync != JOURNAL_FSYNC_ALWAYS &&
	    (strcmp(run->boot, j->boot) != 0 ||
	    strcmp(j->boot, "unknown") == 0)) {
		info->machine_crash = 1;
		if (j->used > j->lost_below)
			j->lost_below = j->used;
	}
	if (j->lost_below <= floor)
		j->lost_below = 0;
}

/* Writes our pid into the lock file (again, after a fork). */
void
journal_owner(struct journal *j)
{
	char	pid[32];
	int	len;

	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(j->lockfd, 0) == 0)
		(void)journal_pwrite(j->lockfd, pid, (size_t)len, 0);
}

/* Takes the directory's lock, or says who holds it. */
static int
journal_lock(struct journal *j, char *err, size_t errlen)
{
	char	pid[32];
	ssize_t	n;

	j->lockfd = openat(j->dirfd, JOURNAL_LOCK,
	    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (j->lockfd == -1) {
		journal_err(err, errlen, "%s/%s: %s", j->dir, JOURNAL_LOCK,
		    strerror(errno));
		return (-1);
	}
	if (flock(j->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK) {
			journal_err(err, errlen, "%s/%s: flock: %s", j->dir,
			    JOURNAL_LOCK, strerror(errno));
			return (-1);
		}
		n = pread(j->lockfd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		journal_err(err, errlen, "%s is in use by another broker "
		    "(pid %s): two brokers cannot share a data directory",
		    j->dir, pid[0] != '\0' ? pid : "unknown");
		return (-1);
	}
	journal_owner(j);
	return (0);
}

static int
journal_segcmp(const void *a, const void *b)
{
	const struct journal_segment *x = a, *y = b;

	return (x->first < y->first ? -1 : x->first > y->first);
}

static int
journal_segadd(struct journal *j, uint64_t first, uint64_t bytes)
{
	struct journal_segment	*n;
	size_t			 cap;

	if (j->nsegs == j->segcap) {
		cap = j->segcap ? j->segcap * 2 : 16;
		if ((n = reallocarray(j->segs, cap, sizeof(*n))) == NULL)
			return (-1);
		j->segs = n;
		j->segcap = cap;
	}
	j->segs[j->nsegs].first = first;
	j->segs[j->nsegs].bytes = bytes;
	j->nsegs++;
	return (0);
}

/* Lists the segments of the directory, oldest first. */
static int
journal_list(struct journal *j, char *err, size_t errlen)
{
	struct dirent	*de;
	struct stat	 sb;
	uint64_t	 first;
	DIR		*d;
	int		 fd;

	if ((fd = dup(j->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		journal_err(err, errlen, "%s: %s", j->dir, strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (journal_parsename(de->d_name, &first) == -1)
			continue;
		if (fstatat(j->dirfd, de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(sb.st_mode)) {
			journal_err(err, errlen, "%s/%s: not a regular file",
			    j->dir, de->d_name);
			closedir(d);
			return (-1);
		}
		if (journal_segadd(j, first, (uint64_t)sb.st_size) == -1) {
			journal_err(err, errlen, "out of memory");
			closedir(d);
			return (-1);
		}
	}
	closedir(d);
	if (j->nsegs > 1)
		qsort(j->segs, j->nsegs, sizeof(*j->segs), journal_segcmp);
	return (0);
}

/*
 * Whether a whole valid record starts anywhere in p[0..len): tells a torn
 * tail (nothing valid after the damage) from damage in the middle.
 */
static int
journal_resync(const char *p, size_t len)
{
	struct journal_record	r;
	size_t			i;

	for (i = 0; i + JOURNAL_HEADER_LEN < len; i++)
		if (journal_decode(p + i, len - i, &r) > 0)
			return (1);
	return (0);
}

/*
 * Checks and replays the records of one mapped segment, in order, from
 * after the HEAD.  Fills sc: the bytes of whole valid records and, on
 * damage, what and where.  A callback failure is returned as -1.
 */
static int
journal_scan(struct journal *j, const struct journal_segment *seg,
    const char *p, size_t len, journal_replay_cb cb, void *arg,
    struct journal_scan *sc)
{
	struct journal_record	r;
	size_t			off = 0;
	ssize_t			n;

	memset(sc, 0, sizeof(*sc));
	while (off < len) {
		n = journal_decode(p + off, len - off, &r);
		if (n <= 0) {
			sc->why = n == 0 ? "truncated record" : "bad record";
			break;
		}
		if (sc->ended) {
			sc->why = "record after the end of the segment";
			break;
		}
		if (off == 0) {
			if (r.kind != JOURNAL_HEAD || r.version !=
			    JOURNAL_VERSION || r.epoch != j->epoch ||
			    r.seq != seg->first) {
				sc->why = "bad segment header";
				break;
			}
		} else if (r.kind == JOURNAL_EVENT) {
			if (r.seq <= j->last || r.seq < seg->first ||
			    r.seq > j->reserved) {
				sc->why = "event out of sequence";
				break;
			}
			if (cb != NULL && cb(&r.ev, arg) == -1)
				return (-1);
			j->last = r.seq;
			sc->events++;
		} else if (r.kind == JOURNAL_END) {
			sc->ended = 1;
		} else {
			sc->why = "unexpected record";
			break;
		}
		off += (size_t)n;
	}
	if (off == 0 && sc->why == NULL)
		sc->why = "empty segment";
	sc->good = off;
	sc->where = off;
	return (0);
}

/*
 * Moves a file aside as NAME.damaged (NAME.damaged.N when an earlier
 * recovery left one), keeping it for inspection.
 */
static int
journal_set_aside(struct journal *j, const char *name)
{
	char	to[JOURNAL_NAME_LEN + 32];
	int	i, r;

	for (i = 0; i < 1000; i++) {
		if (i == 0)
			snprintf(to, sizeof(to), "%s.damaged", name);
		else
			snprintf(to, sizeof(to), "%s.damaged.%d", name, i);
		r = renameat2(j->dirfd, name, j->dirfd, to,
		    RENAME_NOREPLACE);
		if (r == 0 || errno != EEXIST)
			break;
	}
	if (r == -1) {
		log_warn("%s/%s", j->dir, name);
		return (-1);
	}
	log_warnx("%s/%s: set aside as %s", j->dir, name, to);
	return (0);
}

/*
 * Keeps the first good bytes of a damaged segment: the original is set
 * aside whole, and a copy of its intact part takes its name.
 */
static int
journal_keep_prefix(struct journal *j, const char *name, const char *p,
    size_t good)
{
	int	fd;

	if (journal_set_aside(j, name) == -1)
		return (-1);
	if (good == 0)
		return (0);
	fd = openat(j->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return (-1);
	if (journal_pwrite(fd, p, good, 0) == -1 || fsync(fd) == -1) {
		close(fd);
		return (-1);
	}
	close(fd);
	return (0);
}

/*
 * Replays every segment.  On damage: without recovery, fails naming file
 * and offset; with it, keeps the intact part and sets the rest aside.  A
 * torn tail of the newest segment is cut either way.  Leaves j->segs
 * listing what is kept, the newest closed with END.
 */
static int
journal_replay(struct journal *j, int recover, journal_replay_cb cb,
    void *arg, struct journal_info *info, char *err, size_t errlen)
{
	struct journal_scan	 sc;
	struct journal_segment	*seg;
	struct buf		 b;
	char			 name[JOURNAL_NAME_LEN + 1];
	const char		*p;
	void			*map;
	size_t			 i, k, len;
	int			 fd, newest, rc = -1, torn;

	buf_init(&b, 0);
	for (i = 0; i < j->nsegs; i++) {
		seg = &j->segs[i];
		newest = i == j->nsegs - 1;
		journal_segname(name, sizeof(name), seg->first);
		fd = openat(j->dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1) {
			journal_err(err, errlen, "%s/%s: %s", j->dir, name,
			    strerror(errno));
			goto done;
		}
		len = (size_t)seg->bytes;
		map = NULL;
		p = "";
		if (len > 0) {
			/* Populated at once: one pass over every page. */
			map = mmap(NULL, len, PROT_READ, MAP_PRIVATE |
			    MAP_POPULATE, fd, 0);
			if (map == MAP_FAILED) {
				journal_err(err, errlen, "%s/%s: mmap: %s",
				    j->dir, name, strerror(errno));
				close(fd);
				goto done;
			}
			(void)madvise(map, len, MADV_SEQUENTIAL);
			p = map;
		}
		if (journal_scan(j, seg, p, len, cb, arg, &sc) == -1) {
			journal_err(err, errlen, "replay stopped by the "
			    "caller at %s/%s", j->dir, name);
			goto unmap;
		}
		torn = 0;
		if (sc.why != NULL && newest &&
		    !journal_resync(p + sc.good, len - sc.good))
			torn = 1;
		if (sc.why == NULL && !sc.ended && !newest) {
			sc.why = "segment ends without its END record";
			sc.where = len;
		}
		if (torn && sc.good == 0) {
			/* Not even its HEAD reached the disk. */
			log_warnx("%s/%s: torn segment header (a crash while "
			    "it was begun): removed", j->dir, name);
			if (map != NULL)
				munmap(map, len);
			close(fd);
			if (unlinkat(j->dirfd, name, 0) == -1) {
				journal_err(err, errlen, "%s/%s: %s", j->dir,
				    name, strerror(errno));
				goto done;
			}
			info->torn_bytes += len;
			j->st.torn++;
			j->nsegs--;
			break;
		}
		if (torn) {
			if (ftruncate(fd, (off_t)sc.good) == -1 ||
			    fsync(fd) == -1) {
				journal_err(err, errlen, "%s/%s: cutting the "
				    "torn tail: %s", j->dir, name,
				    strerror(errno));
				goto unmap;
			}
			log_warnx("%s/%s: torn record at offset %zu (a crash "
			    "during a write): cut %zu bytes", j->dir, name,
			    (size_t)sc.good, len - (size_t)sc.good);
			info->torn_bytes += len - sc.good;
			j->st.torn++;
			seg->bytes = sc.good;
		} else if (sc.why != NULL) {
			if (!recover) {
				journal_err(err, errlen, "%s/%s: damaged at "
				    "offset %" PRIu64 " (%s); to start from "
				    "the intact part before it, start once "
				    "with recovery", j->dir, name, sc.where,
				    sc.why);
				goto unmap;
			}
			log_warnx("%s/%s: damaged at offset %" PRIu64 " (%s): "
			    "keeping the %" PRIu64 " bytes before it", j->dir,
			    name, sc.where, sc.why, sc.good);
			if (journal_keep_prefix(j, name, p, sc.good) == -1) {
				journal_err(err, errlen, "%s/%s: recovery: %s",
				    j->dir, name, strerror(errno));
				goto unmap;
			}
			/* From here on, the copy is the segment. */
			close(fd);
			fd = -1;
			if (sc.good > 0 && (fd = openat(j->dirfd, name,
			    O_RDWR | O_NOFOLLOW | O_CLOEXEC)) == -1) {
				journal_err(err, errlen, "%s/%s: recovery: %s",
				    j->dir, name, strerror(errno));
				goto unmap;
			}
			for (k = i + 1; k < j->nsegs; k++) {
				journal_segname(name, sizeof(name),
				    j->segs[k].first);
				if (journal_set_aside(j, name) == -1) {
					journal_err(err, errlen, "%s/%s: "
					    "recovery: %s", j->dir, name,
					    strerror(errno));
					goto unmap;
				}
			}
			seg->bytes = sc.good;
			j->nsegs = sc.good > 0 ? i + 1 : i;
			info->recovered = 1;
			sc.ended = 0;
			if (sc.good == 0) {
				if (map != NULL)
					munmap(map, len);
				break;
			}
		}
		info->replayed += sc.events;
		/* The newest segment from a past run is closed now. */
		if (i == j->nsegs - 1 && !sc.ended) {
			buf_reset(&b);
			if (journal_encode_end(&b, j->last) == -1 ||
			    journal_pwrite(fd, buf_head(&b), buf_used(&b),
			    seg->bytes) == -1 || fsync(fd) == -1) {
				journal_err(err, errlen, "%s/%s: %s", j->dir,
				    name, strerror(errno));
				goto unmap;
			}
			seg->bytes += buf_used(&b);
		}
		if (map != NULL)
			munmap(map, len);
		close(fd);
		continue;
unmap:
		if (map != NULL)
			munmap(map, len);
		if (fd != -1)
			close(fd);
		goto done;
	}
	if (fsync(j->dirfd) == -1) {
		journal_err(err, errlen, "%s: %s", j->dir, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	buf_free(&b);
	return (rc);
}

/*
 * Opens (creating when needed) the journal in cfg->dir, takes its lock,
 * and replays every event on disk through cb, oldest first.  Returns NULL
 * with a message in err when the directory is locked by another broker,
 * damaged (unless cfg->recover) or unreadable; cb may have been called by
 * then, and the caller discards what it got.
 */
struct journal *
journal_open(const struct journal_config *cfg, journal_replay_cb cb,
    void *arg, struct journal_info *info, char *err, size_t errlen)
{
	struct journal	*j;
	struct journal_run run;
	uint64_t	 epoch, reserved;
	size_t		 i;
	int		 m;
	char		 name[JOURNAL_NAME_LEN + 1];

	memset(info, 0, sizeof(*info));
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->dir = strdup(cfg->dir)) == NULL) {
		journal_err(err, errlen, "out of memory");
		free(j);
		return (NULL);
	}
	j->lockfd = j->fd = -1;
	j->segment_max = cfg->segment_max ? cfg->segment_max :
	    JOURNAL_SEGMENT_MAX;
	j->fsync = cfg->fsync;
	journal_boot_id(j->boot, sizeof(j->boot));
	buf_init(&j->wbuf, 0);
	if (mkdir(cfg->dir, 0700) == -1 && errno != EEXIST) {
		journal_err(err, errlen, "%s: %s", cfg->dir, strerror(errno));
		goto fail;
	}
	j->dirfd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd == -1) {
		journal_err(err, errlen, "%s: %s", cfg->dir, strerror(errno));
		goto fail;
	}
	if (journal_lock(j, err, errlen) == -1 ||
	    journal_list(j, err, errlen) == -1)
		goto fail;

	m = journal_meta_load(j, &epoch, &reserved);
	if (m == 0 && j->nsegs > 0) {
		journal_err(err, errlen, "%s: segments without %s",
		    j->dir, JOURNAL_META_NAME);
		m = -1;
	} else if (m == -1)
		journal_err(err, errlen, "%s/%s: damaged", j->dir,
		    JOURNAL_META_NAME);
	if (m == -1) {
		if (!cfg->recover)
			goto fail;
		/* Without the reservation no id is safe: a new epoch. */
		log_warnx("%s; recovery: setting every segment aside and "
		    "starting a new epoch", err);
		for (i = 0; i < j->nsegs; i++) {
			journal_segname(name, sizeof(name), j->segs[i].first);
			if (journal_set_aside(j, name) == -1) {
				journal_err(err, errlen, "%s/%s: recovery: %s",
				    j->dir, name, strerror(errno));
				goto fail;
			}
		}
		j->nsegs = 0;
		info->recovered = 1;
		m = 0;
	}
	if (m == 0) {
		j->epoch = cfg->epoch;
		if (journal_meta_store(j, 0, err, errlen) == -1)
			goto fail;
	} else {
		j->epoch = epoch;
		j->reserved = j->st.reserved = reserved;
	}
	info->epoch = j->epoch;		/* the callback may need it */
	if (journal_replay(j, cfg->recover, cb, arg, info, err, errlen) == -1)
		goto fail;
	j->used = j->reserved > j->last ? j->reserved : j->last;
	for (i = 0; i < j->nsegs; i++)
		j->st.bytes += j->segs[i].bytes;
	j->st.segments = j->nsegs;
	info->epoch = j->epoch;
	info->floor = j->nsegs > 0 ? j->segs[0].first - 1 : j->used;
	info->last = j->last;
	info->reserved = j->used;
	if (m == 1) {
		journal_run_load(j, &run);
		journal_run_check(j, &run, info->floor, info);
	}
	info->lost_below = j->lost_below;
	if (journal_run_store(j, 1, err, errlen) == -1)
		goto fail;
	return (j);
fail:
	journal_free_(j);
	return (NULL);
}

/* Frees everything, syncing nothing: for failures and after close. */
static void
journal_free_(struct journal *j)
{
	if (j->fd != -1)
		close(j->fd);
	if (j->lockfd != -1)
		close(j->lockfd);	/* releases the lock */
	if (j->dirfd != -1)
		close(j->dirfd);
	buf_free(&j->wbuf);
	free(j->segs);
	free(j->dir);
	free(j);
}

/*
 * Begins a new segment whose events start at first: the previous one is
 * written, closed with END and synced, so that every segment but the
 * newest is complete on disk.
 */
static int
journal_rotate(struct journal *j, uint64_t first, char *err, size_t errlen)
{
	struct buf	 b;
	char		 name[JOURNAL_NAME_LEN + 1];
	int		 fd, rc = -1;

	buf_init(&b, 0);
	if (j->fd != -1) {
		if (journal_sync(j, err, errlen) == -1)
			goto done;
		if (journal_encode_end(&b, j->last) == -1) {
			journal_err(err, errlen, "out of memory");
			goto done;
		}
		if (journal_pwrite(j->fd, buf_head(&b), buf_used(&b),
		    j->off) == -1 || fdatasync(j->fd) == -1) {
			/* Nothing may follow an END: take it back. */
			journal_err(err, errlen, "%s: closing a segment: %s",
			    j->dir, strerror(errno));
			j->cut = ftruncate(j->fd, (off_t)j->off) == -1;
			j->st.write_errors++;
			goto done;
		}
		j->segs[j->nsegs - 1].bytes += buf_used(&b);
		j->st.bytes += buf_used(&b);
		close(j->fd);
		j->fd = -1;
	}
	journal_segname(name, sizeof(name), first);
	fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1) {
		journal_err(err, errlen, "%s/%s: %s", j->dir, name,
		    strerror(errno));
		goto done;
	}
	buf_reset(&b);
	if (journal_encode_head(&b, j->epoch, first) == -1 ||
	    journal_pwrite(fd, buf_head(&b), buf_used(&b), 0) == -1 ||
	    fsync(j->dirfd) == -1) {
		journal_err(err, errlen, "%s/%s: %s", j->dir, name,
		    strerror(errno));
		(void)unlinkat(j->dirfd, name, 0);
		close(fd);
		goto done;
	}
	if (journal_segadd(j, first, buf_used(&b)) == -1) {
		journal_err(err, errlen, "out of memory");
		(void)unlinkat(j->dirfd, name, 0);
		close(fd);
		goto done;
	}
	j->fd = fd;
	j->off = j->flushed = buf_used(&b);
	j->dirty = 1;
	j->st.bytes += buf_used(&b);
	j->st.segments = j->nsegs;
	rc = 0;
done:
	if (rc == -1)
		j->st.write_errors++;
	buf_free(&b);
	return (rc);
}

/*
 * Adds one event to the journal, buffered: it reaches the file at the
 * next journal_write or journal_sync (or now, when the buffer is full).
 * seq must be above every id used so far.  -1 with a message when the
 * event cannot be kept (bad seq, the disk, memory).  As for a failed
 * journal_write, the caller then refuses every publish appended since its
 * last successful journal_write or journal_sync: a full buffer is written
 * from here, and a failed write drops what it held.
 */
int
journal_append(struct journal *j, const struct journal_event *ev, char *err,
    size_t errlen)
{
	size_t	reclen, cur;

	if (ev->seq <= j->used) {
		journal_err(err, errlen, "seq %" PRIu64 " is not after %"
		    PRIu64, ev->seq, j->used);
		return (-1);
	}
	reclen = JOURNAL_HEADER_LEN + JOURNAL_EVENT_FIXED + ev->channellen +
	    ev->typelen + ev->datalen;
	if (ev->seq > j->reserved &&
	    journal_meta_store(j, ev->seq + JOURNAL_RESERVE, err,
	    errlen) == -1) {
		j->st.write_errors++;
		return (-1);
	}
	cur = j->nsegs > 0 ? j->segs[j->nsegs - 1].bytes : 0;
	/* A segment holds at least one event, however large. */
	if (j->fd == -1 || (cur + buf_used(&j->wbuf) + reclen >
	    j->segment_max && cur + buf_used(&j->wbuf) > JOURNAL_HEAD_LEN)) {
		if (journal_rotate(j, ev->seq, err, errlen) == -1)
			return (-1);
	} else if (buf_used(&j->wbuf) > 0 &&
	    buf_used(&j->wbuf) + reclen > JOURNAL_WRITE_MAX) {
		if (journal_write(j, err, errlen) == -1)
			return (-1);
	}
	if (journal_encode_event(&j->wbuf, ev) == -1) {
		journal_err(err, errlen, "event %" PRIu64 " cannot be "
		    "encoded (a field over its bound, or out of memory)",
		    ev->seq);
		return (-1);
	}
	j->last = j->used = j->wbuf_last = ev->seq;
	j->st.appended++;
	return (0);
}

/*
 * Starts the disk writing what was written since the last call, once
 * JOURNAL_WRITEBACK bytes have gathered, without waiting for it: so that
 * the next fdatasync (a second later with everysec, or when the segment
 * is closed) finds little left to write and holds the loop up for less.
 * Advice only: a failure here is seen by the fdatasync that follows.
 */
static void
journal_writeback(struct journal *j)
{
	if (j->off - j->flushed < JOURNAL_WRITEBACK)
		return;
	(void)sync_file_range(j->fd, (off_t)j->flushed,
	    (off_t)(j->off - j->flushed), SYNC_FILE_RANGE_WRITE);
	j->flushed = j->off;
}

/*
 * Writes the buffered records to the newest segment (no fsync).  On
 * failure (disk full, I/O error) they are dropped, the file is cut back
 * to its last whole record, and -1 is returned: the caller refuses every
 * publish appended since the last successful write.  Their ids stay used.
 */
int
journal_write(struct journal *j, char *err, size_t errlen)
{
	size_t	n = buf_used(&j->wbuf);
	int	saved;

	if (j->cut) {
		if (ftruncate(j->fd, (off_t)j->off) == -1) {
			journal_err(err, errlen, "%s: cutting a failed write: "
			    "%s", j->dir, strerror(errno));
			goto fail;
		}
		j->cut = 0;
	}
	if (n == 0)
		return (0);
	if (journal_pwrite(j->fd, buf_head(&j->wbuf), n, j->off) == -1) {
		saved = errno;
		journal_err(err, errlen, "%s: writing events up to %" PRIu64
		    ": %s", j->dir, j->wbuf_last, strerror(saved));
		j->cut = ftruncate(j->fd, (off_t)j->off) == -1;
		goto fail;
	}
	j->off += n;
	j->segs[j->nsegs - 1].bytes = j->off;
	j->st.bytes += n;
	j->dirty = 1;
	buf_reset(&j->wbuf);
	journal_writeback(j);
	return (0);
fail:
	buf_reset(&j->wbuf);
	j->st.write_errors++;
	return (-1);
}

/* Writes the buffered records: 1 when written bytes are unsynced, else 0. */
static int
journal_flush(struct journal *j, char *err, size_t errlen)
{
	if (j->fd == -1)
		return (0);
	if (journal_write(j, err, errlen) == -1)
		return (-1);
	return (j->dirty);
}

/*
 * Writes the buffered records and makes everything written durable (one
 * fdatasync for all of them: group commit).  -1 when either fails: the
 * caller refuses the publishes it had not acknowledged yet.
 */
int
journal_sync(struct journal *j, char *err, size_t errlen)
{
	int	r;

	if ((r = journal_flush(j, err, errlen)) <= 0)
		return (r);
	j->dirty = 0;
	if (fdatasync(j->fd) == -1) {
		r = errno;
		journal_err(err, errlen, "%s: fdatasync: %s", j->dir,
		    strerror(r));
		journal_sync_end(j, r);
		return (-1);
	}
	journal_sync_end(j, 0);
	return (0);
}

/*
 * For a sync off the loop (everysec): writes the buffered records and
 * sets *fd to a duplicate of the newest segment's descriptor, for the
 * caller to fdatasync and close, then journal_sync_end.  *fd is -1 when
 * nothing written is unsynced.  -1 when the write or the dup fails.
 */
int
journal_sync_begin(struct journal *j, int *fd, char *err, size_t errlen)
{
	int	r;

	*fd = -1;
	if ((r = journal_flush(j, err, errlen)) <= 0)
		return (r);
	if ((*fd = fcntl(j->fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		journal_err(err, errlen, "%s: dup: %s", j->dir,
		    strerror(errno));
		return (-1);
	}
	j->dirty = 0;		/* a write from now on makes it dirty again */
	return (0);
}

/* The end of a sync journal_sync_begin asked for: errnum 0, or its errno. */
void
journal_sync_end(struct journal *j, int errnum)
{
	if (errnum != 0) {
		j->st.write_errors++;
		j->dirty = 1;
		return;
	}
	j->st.syncs++;
	j->st.last_sync = journal_now();
}

/* Bytes appended but not yet written. */
size_t
journal_pending(const struct journal *j)
{
	return (buf_used(&j->wbuf));
}

/* Whether anything appended is not yet synced. */
int
journal_dirty(const struct journal *j)
{
	return (j->dirty || buf_used(&j->wbuf) > 0);
}

/*
 * Deletes the oldest segments whose every event is before oldest, the
 * seq of the oldest event the caller still holds (its next seq when it
 * holds none).  The newest segment is always kept.  Returns how many were
 * deleted, -1 on an error (the caller logs it; nothing is lost, the disk
 * is only not freed yet).
 */
int
journal_prune(struct journal *j, uint64_t oldest, char *err, size_t errlen)
{
	char	name[JOURNAL_NAME_LEN + 1];
	size_t	n = 0;

	while (n + 1 < j->nsegs && j->segs[n + 1].first <= oldest) {
		journal_segname(name, sizeof(name), j->segs[n].first);
		if (unlinkat(j->dirfd, name, 0) == -1 && errno != ENOENT) {
			journal_err(err, errlen, "%s/%s: %s", j->dir, name,
			    strerror(errno));
			break;
		}
		j->st.bytes -= j->segs[n].bytes;
		n++;
	}
	if (n == 0)
		return (0);
	memmove(j->segs, j->segs + n, (j->nsegs - n) * sizeof(*j->segs));
	j->nsegs -= n;
	j->st.pruned += n;
	j->st.segments = j->nsegs;
	if (fsync(j->dirfd) == -1)
		log_warn("%s", j->dir);
	return ((int)n);
}

void
journal_stats(const struct journal *j, struct journal_stats *st)
{
	*st = j->st;
}

/*
 * Syncs, records the highest id used so the next run continues right
 * after it, and frees j.  -1 when the last sync failed (the events since
 * the last good one may be lost) or the reservation could not be stored
 * (the next run then skips the rest of the reserved range: harmless).
 */
int
journal_close(struct journal *j, char *err, size_t errlen)
{
	int	rc = 0;

	if (journal_sync(j, err, errlen) == -1)
		rc = -1;
	else if (j->used != j->reserved &&
	    journal_meta_store(j, j->used, err, errlen) == -1)
		rc = -1;
	else if (journal_run_store(j, 0, err, errlen) == -1)
		rc = -1;
	journal_free_(j);
	return (rc);
}
