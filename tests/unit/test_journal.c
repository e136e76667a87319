/* SPDX-License-Identifier: ISC */
/*
 * broker/journal.c: the record format (pure: every byte offset, every
 * flipped byte, hostile lengths, random input), then the journal over
 * files in a private temporary directory: append, reopen and replay,
 * rotation, pruning, ids reserved across a crash, a machine crash told
 * from a broker crash (journal.run), the lock, a torn tail,
 * damage in the middle with and without recovery, a full disk (a file
 * size limit), and 100 seeded trials of cut and flipped bytes.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "journal.h"
#include "tap.h"

#define EPOCH	0x1a2b3c4dULL

/* A copy of one replayed event. */
struct rec {
	uint64_t	 seq;
	double		 time;
	char		*channel, *type, *data;
	size_t		 datalen;
};

struct got {
	struct rec	*v;
	size_t		 n, cap;
	int		 ordered;	/* seqs strictly increasing */
};

static char	 base[256];
static char	 scratch[4096];
static enum journal_fsync jfsync;	/* the mode jopen gives */

static void	 fmt(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* snprintf that stops the test rather than cut a path short. */
static void
fmt(char *buf, size_t size, const char *f, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, f);
	n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		abort();
}

static char *
dupmem(const char *p, size_t n)
{
	char	*s = malloc(n + 1);

	if (s == NULL)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return (s);
}

static int
collect_cb(const struct journal_event *ev, void *arg)
{
	struct got	*g = arg;
	struct rec	*r;

	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		if ((g->v = realloc(g->v, g->cap * sizeof(*g->v))) == NULL)
			abort();
	}
	if (g->n > 0 && ev->seq <= g->v[g->n - 1].seq)
		g->ordered = 0;
	r = &g->v[g->n++];
	r->seq = ev->seq;
	r->time = ev->time;
	r->channel = dupmem(ev->channel, ev->channellen);
	r->type = dupmem(ev->type, ev->typelen);
	r->data = dupmem(ev->data, ev->datalen);
	r->datalen = ev->datalen;
	return (0);
}

static void
got_init(struct got *g)
{
	memset(g, 0, sizeof(*g));
	g->ordered = 1;
}

static void
got_free(struct got *g)
{
	size_t	i;

	for (i = 0; i < g->n; i++) {
		free(g->v[i].channel);
		free(g->v[i].type);
		free(g->v[i].data);
	}
	free(g->v);
	got_init(g);
}

/* The deterministic event number i (fields point into static storage). */
static void
make(uint64_t i, struct journal_event *ev)
{
	static char	ch[16], type[16], data[400];
	size_t		k;

	fmt(ch, sizeof(ch), "ch%u", (unsigned)(i % 7));
	if (i % 3 == 0)
		fmt(type, sizeof(type), "message");
	else
		fmt(type, sizeof(type), "t%u", (unsigned)(i % 5));
	ev->datalen = (size_t)((i * 37) % 300);
	for (k = 0; k < ev->datalen; k++)
		data[k] = (char)('a' + (i + k) % 26);
	ev->seq = i;
	ev->time = 1e9 + (double)i * 0.25;
	ev->channel = ch;
	ev->channellen = strlen(ch);
	ev->type = type;
	ev->typelen = strlen(type);
	ev->data = data;
}

/* Whether r is exactly event number i. */
static int
same(const struct rec *r, uint64_t i)
{
	struct journal_event	ev;

	make(i, &ev);
	return (r->seq == i && r->time == ev.time &&
	    strcmp(r->channel, ev.channel) == 0 &&
	    strcmp(r->type, ev.type) == 0 && r->datalen == ev.datalen &&
	    memcmp(r->data, ev.data, ev.datalen) == 0);
}

/* Whether g starts with the events from..to, in order. */
static int
starts(const struct got *g, uint64_t from, uint64_t to)
{
	size_t	i, n = to >= from ? to - from + 1 : 0;

	if (g->n < n)
		return (0);
	for (i = 0; i < n; i++)
		if (!same(&g->v[i], from + i))
			return (0);
	return (1);
}

/* Whether g holds exactly the events from..to, in order. */
static int
holds(const struct got *g, uint64_t from, uint64_t to)
{
	size_t	i;

	if (g->n != (to >= from ? to - from + 1 : 0))
		return (0);
	for (i = 0; i < g->n; i++)
		if (!same(&g->v[i], from + i))
			return (0);
	return (1);
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return (remove(path));
}

static void
rmtree(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *
path(const char *name)
{
	static char	p[512];

	fmt(p, sizeof(p), "%s/%s", base, name);
	return (p);
}

/* A fresh directory under the test's base (four names live at once). */
static const char *
newdir(const char *name)
{
	static char	p[4][512];
	static int	k;

	k = (k + 1) % 4;
	fmt(p[k], sizeof(p[k]), "%s/%s", base, name);
	rmtree(p[k]);
	return (p[k]);
}

static struct journal *
jopen(const char *dir, size_t segmax, int recover, struct got *g,
    struct journal_info *info)
{
	struct journal_config	cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.dir = dir;
	cfg.epoch = EPOCH;
	cfg.segment_max = segmax;
	cfg.recover = recover;
	cfg.fsync = jfsync;
	scratch[0] = '\0';
	return (journal_open(&cfg, g != NULL ? collect_cb : NULL, g, info,
	    scratch, sizeof(scratch)));
}

/* Appends events from..to and writes them; 0 when all went well. */
static int
append_range(struct journal *j, uint64_t from, uint64_t to)
{
	struct journal_event	ev;
	uint64_t		i;

	for (i = from; i <= to; i++) {
		make(i, &ev);
		if (journal_append(j, &ev, scratch, sizeof(scratch)) == -1)
			return (-1);
	}
	return (journal_write(j, scratch, sizeof(scratch)));
}

/* The segment files of dir, sorted; returns how many. */
static int
segments(const char *dir, char names[][64], int max)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0, i, k;
	char		 tmp[64];

	if ((d = opendir(dir)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL && n < max) {
		size_t l = strlen(de->d_name);
		if (l == 20 && strcmp(de->d_name + 16, ".jnl") == 0)
			fmt(names[n++], 64, "%s", de->d_name);
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0;
		    k--) {
			memcpy(tmp, names[k], 64);
			memcpy(names[k], names[k - 1], 64);
			memcpy(names[k - 1], tmp, 64);
		}
	return (n);
}

static int
count_suffix(const char *dir, const char *suffix)
{
	struct dirent	*de;
	DIR		*d;
	size_t		 l, sl = strlen(suffix);
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(d);
	return (n);
}

static off_t
filesize(const char *p)
{
	struct stat	sb;

	return (stat(p, &sb) == 0 ? sb.st_size : -1);
}

/*
 * Runs fn in a child that ends without journal_close, as a crash would
 * (the kernel keeps what was written; only a power cut loses more).
 */
static int
crash_after(void (*fn)(const char *), const char *dir)
{
	pid_t	pid;
	int	status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return (-1);
	if (pid == 0) {
		fn(dir);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return (-1);
	return (WEXITSTATUS(status));
}

static void
test_format(void)
{
	struct journal_record	 r;
	struct journal_event	 ev;
	struct buf		 b;
	char			*copy;
	size_t			 len, i;
	ssize_t			 n;
	int			 okcut = 1, okflip = 1, okrand = 1;
	unsigned int		 seed = 7;
	char			 rnd[512];

	buf_init(&b, 0);
	make(4, &ev);
	ok(journal_encode_event(&b, &ev) == 0, "encode an event");
	len = buf_used(&b);
	is_int(len, JOURNAL_HEADER_LEN + JOURNAL_EVENT_FIXED +
	    ev.channellen + ev.typelen + ev.datalen, "its size");
	n = journal_decode(buf_head(&b), len, &r);
	ok(n == (ssize_t)len && r.kind == JOURNAL_EVENT && r.ev.seq == 4 &&
	    r.ev.time == ev.time && r.ev.channellen == ev.channellen &&
	    memcmp(r.ev.channel, ev.channel, ev.channellen) == 0 &&
	    r.ev.typelen == ev.typelen &&
	    memcmp(r.ev.type, ev.type, ev.typelen) == 0 &&
	    r.ev.datalen == ev.datalen &&
	    memcmp(r.ev.data, ev.data, ev.datalen) == 0,
	    "decode gives back every field");

	/* Every prefix is "not yet whole", never a record or an error. */
	for (i = 0; i < len; i++)
		if (journal_decode(buf_head(&b), i, &r) != 0)
			okcut = 0;
	ok(okcut, "cut at every byte offset: incomplete, not damage");

	/* Any changed byte is caught (CRC32 finds every burst of 32 bits). */
	copy = dupmem(buf_head(&b), len);
	for (i = 0; i < len; i++) {
		copy[i] ^= 0x5a;
		if (journal_decode(copy, len, &r) > 0)
			okflip = 0;
		copy[i] ^= 0x5a;
	}
	free(copy);
	ok(okflip, "a changed byte anywhere is refused");

	buf_reset(&b);
	ok(journal_encode_head(&b, EPOCH, 77) == 0 &&
	    journal_decode(buf_head(&b), buf_used(&b), &r) ==
	    (ssize_t)buf_used(&b) && r.kind == JOURNAL_HEAD &&
	    r.epoch == EPOCH && r.seq == 77 && r.version == JOURNAL_VERSION,
	    "HEAD round trip");
	/* The bytes on disk, fixed: every build writes the same files. */
	buf_reset(&b);
	if (journal_encode_end(&b, 0x0102030405060708ULL) == 0)
		tap_is_mem(buf_head(&b), buf_used(&b), "\xe3\x42\x82\x71"
		    "\x09\0\0\0\x03\x08\x07\x06\x05\x04\x03\x02\x01", 17,
		    "an END record byte for byte (CRC-32 of the gzip polynomial, "
		    "little-endian fields)");
	else
		ok(0, "an END record byte for byte");
	buf_reset(&b);
	ok(journal_encode_end(&b, 99) == 0 &&
	    journal_decode(buf_head(&b), buf_used(&b), &r) ==
	    (ssize_t)buf_used(&b) && r.kind == JOURNAL_END && r.seq == 99,
	    "END round trip");
	buf_reset(&b);
	ok(journal_encode_meta(&b, EPOCH, 1u << 20) == 0 &&
	    journal_decode(buf_head(&b), buf_used(&b), &r) ==
	    (ssize_t)buf_used(&b) && r.kind == JOURNAL_META &&
	    r.epoch == EPOCH && r.seq == 1u << 20, "META round trip");

	/* A hostile length is refused at once, whatever follows. */
	memset(rnd, 0, sizeof(rnd));
	rnd[4] = rnd[5] = rnd[6] = (char)0xff;
	rnd[7] = 0x7f;
	is_int(journal_decode(rnd, 8, &r), -1, "length over the bound: "
	    "refused before waiting for more");
	memset(rnd, 0, sizeof(rnd));
	is_int(journal_decode(rnd, sizeof(rnd), &r), -1, "zeros: refused");

	ev.channellen = 0;
	buf_reset(&b);
	is_int(journal_encode_event(&b, &ev), -1, "empty channel refused");
	make(4, &ev);
	ev.typelen = 256;
	is_int(journal_encode_event(&b, &ev), -1, "type over 255 refused");

	for (i = 0; i < 100000; i++) {
		size_t k, l = (size_t)(rand_r(&seed) % sizeof(rnd));
		for (k = 0; k < l; k++)
			rnd[k] = (char)rand_r(&seed);
		n = journal_decode(rnd, l, &r);
		if (n > (ssize_t)l)
			okrand = 0;
	}
	ok(okrand, "random input: never a record longer than the input");

	ok(journal_fsync_parse("always", &(enum journal_fsync){0}) == 0 &&
	    journal_fsync_parse("sometimes", &(enum journal_fsync){0}) == -1,
	    "fsync modes parse");
	is_str(journal_fsync_name(JOURNAL_FSYNC_EVERYSEC), "everysec",
	    "fsync mode names");
	buf_free(&b);
}

static void
test_reopen(void)
{
	struct journal_info	 info;
	struct journal_stats	 st;
	struct journal		*j;
	struct got		 g;
	const char		*dir = newdir("reopen");

	got_init(&g);
	j = jopen(dir, 0, 0, &g, &info);
	ok(j != NULL, "open a new directory: %s", scratch);
	if (j == NULL)
		return;
	ok(info.epoch == EPOCH && info.last == 0 && info.reserved == 0 &&
	    info.floor == 0 && g.n == 0, "a new journal takes the given epoch, holds nothing");
	ok(append_range(j, 1, 1000) == 0 &&
	    journal_sync(j, scratch, sizeof(scratch)) == 0,
	    "append and sync 1000 events");
	journal_stats(j, &st);
	ok(st.appended == 1000 && st.syncs >= 1 && st.last_sync > 0 &&
	    st.bytes == (uint64_t)filesize(path("reopen/0000000000000001.jnl")),
	    "stats: appended, synced, bytes on disk");
	ok(journal_close(j, scratch, sizeof(scratch)) == 0, "close");

	j = jopen(dir, 0, 0, &g, &info);
	ok(j != NULL && holds(&g, 1, 1000) && g.ordered,
	    "reopen replays every event, in order, field for field");
	ok(info.epoch == EPOCH && info.last == 1000 && info.reserved == 1000,
	    "the epoch is kept; after a clean stop ids continue at 1001");
	if (j == NULL)
		return;
	got_free(&g);
	ok(append_range(j, 900, 900) == -1, "an id already used is refused");
	ok(append_range(j, 1001, 1010) == 0, "the next ids are taken");
	journal_close(j, scratch, sizeof(scratch));
	j = jopen(dir, 0, 0, &g, &info);
	ok(j != NULL && holds(&g, 1, 1010) && info.last == 1010,
	    "a third run sees both runs' events");
	ok(count_suffix(dir, ".jnl") == 2, "one segment per run that wrote");
	journal_close(j, scratch, sizeof(scratch));
	got_free(&g);
}

static void
test_rotation_prune(void)
{
	struct journal_info	 info;
	struct journal_stats	 st;
	struct journal		*j;
	struct got		 g;
	char			 names[256][64];
	const char		*dir = newdir("rotate");
	int			 n, before, big = 1;

	got_init(&g);
	j = jopen(dir, 4096, 0, NULL, &info);
	ok(j != NULL && append_range(j, 1, 2000) == 0,
	    "append 2000 events with 4 KiB segments");
	if (j == NULL)
		return;
	journal_stats(j, &st);
	n = segments(dir, names, 256);
	ok(n > 20 && st.segments == (uint64_t)n,
	    "rotated into %d segments", n);
	for (int i = 0; i + 1 < n; i++) {
		char p[512];
		fmt(p, sizeof(p), "rotate/%s", names[i]);
		if (filesize(path(p)) > 4096 + 400)
			big = 0;
	}
	ok(big, "each closed segment is within its size and one record");

	/* Prune below the start of the third segment: two go. */
	uint64_t third = strtoull(names[2], NULL, 16);
	before = n;
	is_int(journal_prune(j, third, scratch, sizeof(scratch)), 2,
	    "prune deletes the segments holding only older events");
	is_int(journal_prune(j, third, scratch, sizeof(scratch)), 0,
	    "pruning again deletes nothing");
	is_int(journal_prune(j, third + 1, scratch, sizeof(scratch)), 0,
	    "a segment with one kept event stays");
	n = segments(dir, names, 256);
	journal_stats(j, &st);
	ok(n == before - 2 && st.pruned == 2 && st.segments == (uint64_t)n,
	    "files and stats agree");
	journal_close(j, scratch, sizeof(scratch));

	j = jopen(dir, 4096, 0, &g, &info);
	ok(j != NULL && holds(&g, third, 2000),
	    "reopen replays from the oldest kept segment to the end");
	ok(info.floor == third - 1, "and says events up to %llu are gone",
	    (unsigned long long)info.floor);
	if (j == NULL)
		return;
	ok(journal_prune(j, UINT64_MAX, scratch, sizeof(scratch)) > 0 &&
	    segments(dir, names, 256) == 1,
	    "pruning everything keeps the newest segment");
	journal_close(j, scratch, sizeof(scratch));
	got_free(&g);
}

static void
crash_10(const char *dir)
{
	struct journal_info	 info;
	struct journal		*j;

	if ((j = jopen(dir, 0, 0, NULL, &info)) == NULL)
		_exit(1);
	if (append_range(j, info.reserved + 1, info.reserved + 10) == -1 ||
	    journal_sync(j, scratch, sizeof(scratch)) == -1)
		_exit(2);
	_exit(0);	/* no journal_close: a crash */
}

static void
test_reserved(void)
{
	struct journal_info	 info;
	struct journal		*j;
	struct got		 g;
	const char		*dir = newdir("reserve");
	uint64_t		 r1;

	got_init(&g);
	is_int(crash_after(crash_10, dir), 0, "a run appends 10 and crashes");
	j = jopen(dir, 0, 0, &g, &info);
	ok(j != NULL && holds(&g, 1, 10) && info.last == 10,
	    "the synced events are back");
	ok(info.reserved == 1 + JOURNAL_RESERVE,
	    "ids up to the crashed run's reservation count as used (%llu)",
	    (unsigned long long)info.reserved);
	if (j == NULL)
		return;
	r1 = info.reserved;
	ok(append_range(j, 11, 11) == -1,
	    "an id the crashed run may have handed out is refused");
	ok(append_range(j, r1 + 1, r1 + 1) == 0,
	    "the first id after the reservation is taken");
	journal_close(j, scratch, sizeof(scratch));
	got_free(&g);
	is_int(crash_after(crash_10, dir), 0, "another run crashes");
	j = jopen(dir, 0, 0, &g, &info);
	ok(j != NULL && info.last == r1 + 11 &&
	    info.reserved == r1 + 2 + JOURNAL_RESERVE && g.n == 21 &&
	    g.ordered, "ids only ever grow across crashes");
	if (j != NULL)
		journal_close(j, scratch, sizeof(scratch));
	got_free(&g);
}

/* Writes text as dir's journal.run, as a run on another boot left it. */
static int
write_run(const char *dir, const char *text)
{
	char	p[512];
	FILE	*f;

	fmt(p, sizeof(p), "%s/journal.run", dir);
	if ((f = fopen(p, "w")) == NULL)
		return (-1);
	fputs(text, f);
	return (fclose(f));
}

/*
 * A crash of the broker alone loses nothing that was sent; a crash of the
 * machine (the boot changed) with everysec or no may have: every cursor
 * below the dead run's ids is then lost, in this run and the next ones,
 * until retention passes them.  With always nothing sent can be lost.
 */
static void
test_machine_crash(void)
{
	struct journal_info	 info;
	struct journal		*j;
	const char		*dir = newdir("boot");
	uint64_t		 r, below;
	char			 text[256];

	jfsync = JOURNAL_FSYNC_EVERYSEC;
	is_int(crash_after(crash_10, dir), 0, "everysec: a run crashes");
	j = jopen(dir, 4096, 0, NULL, &info);
	ok(j != NULL && !info.machine_crash && info.lost_below == 0,
	    "the same boot: a broker crash, no cursor before it is lost");
	if (j == NULL)
		return;
	journal_close(j, scratch, sizeof(scratch));

	is_int(crash_after(crash_10, dir), 0, "everysec: a run crashes again");
	ok(write_run(dir, "running boot 0123-other fsync everysec "
	    "lost-below 0\n") == 0, "as if on another boot");
	j = jopen(dir, 4096, 0, NULL, &info);
	ok(j != NULL && info.machine_crash && info.lost_below == info.reserved
	    && info.lost_below > info.last,
	    "another boot: a machine crash, every cursor before the dead "
	    "run's ids is lost (below %llu)",
	    (unsigned long long)info.lost_below);
	if (j == NULL)
		return;
	below = info.lost_below;
	r = info.reserved;
	ok(append_range(j, r + 1, r + 5) == 0, "new events after them");
	journal_close(j, scratch, sizeof(scratch));
	j = jopen(dir, 4096, 0, NULL, &info);
	ok(j != NULL && !info.machine_crash && info.lost_below == below,
	    "a clean restart keeps that bound");
	if (j == NULL)
		return;
	journal_close(j, scratch, sizeof(scratch));

	jfsync = JOURNAL_FSYNC_ALWAYS;
	is_int(crash_after(crash_10, dir), 0, "always: a run crashes");
	fmt(text, sizeof(text), "running boot 0123-other fsync always "
	    "lost-below %llu\n", (unsigned long long)below);
	write_run(dir, text);
	j = jopen(dir, 4096, 0, NULL, &info);
	ok(j != NULL && !info.machine_crash && info.lost_below == below,
	    "always: a machine crash loses nothing sent, the bound stays");
	if (j == NULL)
		return;
	r = info.reserved;
	ok(append_range(j, r + 1, r + 400) == 0 &&
	    journal_prune(j, r + 300, scratch, sizeof(scratch)) > 0,
	    "retention passes the bound");
	journal_close(j, scratch, sizeof(scratch));
	j = jopen(dir, 4096, 0, NULL, &info);
	ok(j != NULL && info.floor >= below && info.lost_below == 0,
	    "then no cursor is lost any more (floor %llu)",
	    (unsigned long long)info.floor);
	if (j != NULL)
		journal_close(j, scratch, sizeof(scratch));

	write_run(dir, "garbage\n");
	j = jopen(dir, 4096, 0, NULL, &info);
	ok(j != NULL && !info.machine_crash && info.lost_below == 0,
	    "an unreadable journal.run is ignored");
	if (j != NULL)
		journal_close(j, scratch, sizeof(scratch));
}

static void
test_lock(void)
{
	struct journal_info	 info;
	struct journal		*j, *j2;
	const char		*dir = newdir("lock");
	char			 pid[32];

	j = jopen(dir, 0, 0, NULL, &info);
	ok(j != NULL, "first open");
	j2 = jopen(dir, 0, 0, NULL, &info);
	fmt(pid, sizeof(pid), "pid %ld", (long)getpid());
	ok(j2 == NULL && strstr(scratch, "in use by another broker") != NULL &&
	    strstr(scratch, pid) != NULL,
	    "a second open is refused: %s", scratch);
	if (j != NULL)
		journal_close(j, scratch, sizeof(scratch));
	j2 = jopen(dir, 0, 0, NULL, &info);
	ok(j2 != NULL, "open again once the first has closed");
	if (j2 != NULL)
		journal_close(j2, scratch, sizeof(scratch));
	ok(unlink(path("lock/lock")) == 0 &&
	    symlink("journal.meta", path("lock/lock")) == 0 &&
	    jopen(dir, 0, 0, NULL, &info) == NULL,
	    "the lock file is not followed through a symlink: %s", scratch);
}

/* A run that appends 50 events, syncs and crashes. */
static void
crash_50(const char *dir)
{
	struct journal_info	 info;
	struct journal		*j;

	if ((j = jopen(dir, 0, 0, NULL, &info)) == NULL)
		_exit(1);
	if (append_range(j, 1, 50) == -1 ||
	    journal_sync(j, scratch, sizeof(scratch)) == -1)
		_exit(2);
	_exit(0);
}

static void
test_torn_tail(void)
{
	struct journal_info	 info;
	struct journal_stats	 st;
	struct journal		*j;
	struct got		 g;
	const char		*dir = newdir("tail");
	const char		*seg = path("tail/0000000000000001.jnl");

	got_init(&g);
	is_int(crash_after(crash_50, dir), 0, "a run appends 50 and crashes");
	ok(truncate(seg, filesize(seg) - 40) == 0,
	    "its last record is left half written");
	j = jopen(dir, 0, 0, &g, &info);
	ok(j != NULL, "start-up goes on: %s", scratch);
	if (j == NULL)
		return;
	journal_stats(j, &st);
	ok(holds(&g, 1, 49) && info.last == 49, "the 49 whole events are back");
	ok(st.torn == 1 && info.torn_bytes > 0, "the torn tail is counted "
	    "(%llu bytes)", (unsigned long long)info.torn_bytes);
	ok(append_range(j, info.reserved + 1, info.reserved + 5) == 0,
	    "appending goes on");
	journal_close(j, scratch, sizeof(scratch));
	got_free(&g);
	j = jopen(dir, 0, 0, &g, &info);
	ok(j != NULL && g.n == 54 && g.ordered,
	    "and the next start finds no damage: %s", scratch);
	if (j != NULL)
		journal_close(j, scratch, sizeof(scratch));
	got_free(&g);
}

/* Changes the byte at off of a file (XOR with byte). */
static int
poke(const char *p, off_t off, int byte)
{
	unsigned char	c;
	int		fd, r = -1;

	if ((fd = open(p, O_RDWR)) == -1)
		return (-1);
	if (pread(fd, &c, 1, off) == 1) {
		c ^= (unsigned char)byte;
		if (pwrite(fd, &c, 1, off) == 1)
			r = 0;
	}
	close(fd);
	return (r);
}

static void
test_middle(void)
{
	struct journal_info	 info;
	struct journal		*j;
	struct got		 g;
	char			 names[256][64], want[600];
	const char		*dir = newdir("middle");
	uint64_t		 third;
	int			 n;

	got_init(&g);
	j = jopen(dir, 4096, 0, NULL, &info);
	if (j == NULL || append_range(j, 1, 500) == -1)
		return;
	journal_close(j, scratch, sizeof(scratch));
	n = segments(dir, names, 256);
	third = strtoull(names[2], NULL, 16);
	fmt(want, sizeof(want), "middle/%s", names[2]);
	ok(n > 4 && poke(path(want), 100, 0x01) == 0,
	    "flip a byte at offset 100 of the third of %d segments", n);
	j = jopen(dir, 4096, 0, &g, &info);
	fmt(want, sizeof(want), "%s: damaged at offset ", names[2]);
	ok(j == NULL && strstr(scratch, want) != NULL,
	    "start-up stops, naming file and offset: %s", scratch);
	got_free(&g);
	j = jopen(dir, 4096, 1, &g, &info);
	ok(j != NULL && info.recovered, "with recovery it starts: %s",
	    scratch);
	if (j == NULL)
		return;
	ok(g.n >= third - 1 && holds(&g, 1, g.v[g.n - 1].seq) &&
	    g.v[g.n - 1].seq < 500, "it keeps every event before the damage "
	    "(1..%llu)", (unsigned long long)g.v[g.n - 1].seq);
	ok(count_suffix(dir, ".damaged") == n - 2,
	    "the damaged segment and the later ones are set aside");
	ok(info.reserved >= 500, "no id of the lost part is used again");
	ok(append_range(j, info.reserved + 1, info.reserved + 3) == 0,
	    "appending goes on");
	journal_close(j, scratch, sizeof(scratch));
	got_free(&g);
	j = jopen(dir, 4096, 0, &g, &info);
	ok(j != NULL && g.ordered, "the next start is clean: %s", scratch);
	if (j != NULL)
		journal_close(j, scratch, sizeof(scratch));
	got_free(&g);
	fmt(want, sizeof(want), "middle/%s", names[2]);
	ok(poke(path(want), 10, 0x01) == 0 &&
	    (j = jopen(dir, 4096, 1, &g, &info)) != NULL &&
	    count_suffix(dir, ".damaged") == n - 1 &&
	    count_suffix(dir, ".damaged.1") == 1,
	    "damage again in the same segment: the first copy set aside is "
	    "kept, the second is .damaged.1");
	if (j != NULL)
		journal_close(j, scratch, sizeof(scratch));
	got_free(&g);

	dir = newdir("meta");
	j = jopen(dir, 0, 0, NULL, &info);
	if (j == NULL || append_range(j, 1, 10) == -1)
		return;
	journal_close(j, scratch, sizeof(scratch));
	ok(poke(path("meta/journal.meta"), 12, 0x10) == 0 &&
	    jopen(dir, 0, 0, NULL, &info) == NULL &&
	    strstr(scratch, "journal.meta") != NULL,
	    "a damaged journal.meta stops start-up: %s", scratch);
	j = jopen(dir, 0, 1, &g, &info);
	ok(j != NULL && g.n == 0 && info.epoch == EPOCH && info.recovered &&
	    count_suffix(dir, ".damaged") == 1,
	    "recovery without the reservation sets all aside (new epoch)");
	if (j != NULL)
		journal_close(j, scratch, sizeof(scratch));
	got_free(&g);
}

/* The events wholly before byte off of segment k in the template. */
static uint64_t
last_before(const char *dir, char names[][64], int k, off_t off)
{
	struct journal_record	 r;
	char			 p[512], *buf;
	uint64_t		 last = 0;
	size_t			 pos = 0, len;
	ssize_t			 n;
	int			 i, fd;

	for (i = 0; i <= k; i++) {
		fmt(p, sizeof(p), "%s/%s", dir, names[i]);
		len = (size_t)filesize(p);
		if ((buf = malloc(len + 1)) == NULL || (fd = open(p,
		    O_RDONLY)) == -1 || read(fd, buf, len) != (ssize_t)len)
			abort();
		close(fd);
		for (pos = 0; pos < len; pos += (size_t)n) {
			n = journal_decode(buf + pos, len - pos, &r);
			if (n <= 0)
				abort();
			if (i == k && pos + (size_t)n > (size_t)off)
				break;
			if (r.kind == JOURNAL_EVENT)
				last = r.seq;
		}
		free(buf);
	}
	return (last);
}

static void
copy_file(const char *from, const char *to)
{
	char	buf[65536];
	ssize_t	n;
	int	in, out;

	if ((in = open(from, O_RDONLY)) == -1 ||
	    (out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			abort();
	close(in);
	close(out);
}

/*
 * 100 seeded trials: a copy of one journal has one segment cut or one
 * byte changed at a random offset.  Start-up never crashes; it either
 * stops naming that file, or keeps exactly the events wholly before the
 * damage; with recovery it always keeps exactly those.
 */
static void
test_trials(void)
{
	struct journal_info	 info;
	struct journal		*j;
	struct got		 g;
	char			 names[256][64], p[512], q[512];
	const char		*dir;
	char			 tmpl[512];
	unsigned int		 seed = 20261130;
	int			 n, t, k, cut, plain_ok = 1, rec_ok = 1, msg_ok = 1;
	int			 nstop = 0, ntorn = 0, i;
	uint64_t		 want;
	off_t			 off, size;

	got_init(&g);
	fmt(tmpl, sizeof(tmpl), "%s", newdir("template"));
	j = jopen(tmpl, 2048, 0, NULL, &info);
	if (j == NULL || append_range(j, 1, 300) == -1)
		return;
	journal_close(j, scratch, sizeof(scratch));
	n = segments(tmpl, names, 256);
	ok(n > 5, "a template journal of %d segments", n);
	for (t = 0; t < 100; t++) {
		dir = newdir("trial");
		mkdir(dir, 0700);
		for (i = 0; i < n; i++) {
			fmt(p, sizeof(p), "%s/%s", tmpl, names[i]);
			fmt(q, sizeof(q), "%s/%s", dir, names[i]);
			copy_file(p, q);
		}
		fmt(p, sizeof(p), "%s/journal.meta", tmpl);
		fmt(q, sizeof(q), "%s/journal.meta", dir);
		copy_file(p, q);
		/* Half in the newest segment, where a crash tears. */
		k = t % 2 ? n - 1 : (int)(rand_r(&seed) % (unsigned)n);
		fmt(q, sizeof(q), "%s/%s", dir, names[k]);
		size = filesize(q);
		off = (off_t)(rand_r(&seed) % (unsigned)size);
		cut = rand_r(&seed) % 2;
		if (cut)
			truncate(q, off);
		else
			poke(q, off, 1 + rand_r(&seed) % 255);
		want = last_before(tmpl, names, k, off);

		j = jopen(dir, 2048, 0, &g, &info);
		if (j != NULL) {
			ntorn++;
			if (!holds(&g, 1, want) || k != n - 1)
				plain_ok = 0;
			journal_close(j, scratch, sizeof(scratch));
		} else {
			nstop++;
			if (strstr(scratch, names[k]) == NULL ||
			    strstr(scratch, "offset") == NULL)
				msg_ok = 0;
		}
		got_free(&g);
		j = jopen(dir, 2048, 1, &g, &info);
		if (j == NULL || !holds(&g, 1, want) || info.reserved < 300) {
			rec_ok = 0;
			tap_diag("trial %d: %s segment %d at %lld: want 1..%llu"
			    ", got %zu: %s", t, cut ? "cut" : "flip", k,
			    (long long)off, (unsigned long long)want, g.n,
			    scratch);
		}
		if (j != NULL)
			journal_close(j, scratch, sizeof(scratch));
		got_free(&g);
	}
	ok(plain_ok, "without recovery: a start keeps exactly the events "
	    "before the damage, only when it is the newest segment's tail "
	    "(%d of 100 started)", ntorn);
	ok(msg_ok, "the %d that stopped named the file and offset", nstop);
	ok(rec_ok, "with recovery: every trial keeps exactly the events "
	    "before the damage, and no id is used again");
}

static void
test_disk_full(void)
{
	struct journal_info	 info;
	struct journal		*j;
	struct got		 g;
	struct rlimit		 old, lim;
	const char		*dir = newdir("full");
	uint64_t		 i, okto = 0;
	int			 failed = 0;

	got_init(&g);
	j = jopen(dir, 0, 0, NULL, &info);
	if (j == NULL || append_range(j, 1, 10) == -1 ||
	    journal_sync(j, scratch, sizeof(scratch)) == -1)
		return;
	getrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 16384;	/* the disk is full at 16 KiB */
	setrlimit(RLIMIT_FSIZE, &lim);
	for (i = 11; i < 200 && !failed; i++) {
		if (append_range(j, i, i) == -1)
			failed = 1;
		else
			okto = i;
	}
	ok(failed && strstr(scratch, "File too large") != NULL,
	    "a full disk is an error returned to the caller: %s", scratch);
	ok(filesize(path("full/0000000000000001.jnl")) <= 16384,
	    "no partial record is left behind");
	setrlimit(RLIMIT_FSIZE, &old);
	ok(append_range(j, i, i + 9) == 0 &&
	    journal_sync(j, scratch, sizeof(scratch)) == 0,
	    "once there is room, appending works again");
	journal_close(j, scratch, sizeof(scratch));
	j = jopen(dir, 0, 0, &g, &info);
	if (j == NULL || g.n != okto + 10)
		tap_diag("okto %llu, i %llu, got %zu: %s",
		    (unsigned long long)okto, (unsigned long long)i, g.n,
		    scratch);
	ok(j != NULL && g.n == okto + 10 && starts(&g, 1, okto) &&
	    same(&g.v[okto], i), "reopen: everything written before, "
	    "nothing of the failed write, then the later events");
	if (j != NULL)
		journal_close(j, scratch, sizeof(scratch));
	got_free(&g);
}

int
main(void)
{
	const char	*tmp = getenv("TMPDIR");

	fmt(base, sizeof(base), "%s/test_journal.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	test_format();
	test_reopen();
	test_rotation_prune();
	test_reserved();
	test_machine_crash();
	test_lock();
	test_torn_tail();
	test_middle();
	test_trials();
	test_disk_full();
	rmtree(base);
	tap_done();
	return (tap_exit_status());
}
