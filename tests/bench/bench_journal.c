/* SPDX-License-Identifier: ISC */
/*
 * bench_journal: what the broker's journal (broker/journal.c) costs, on
 * this machine's disk, with no socket in the way.  In a private directory
 * (under -d, default $TMPDIR or /tmp) it runs, in order:
 *
 *   1. append rate for each fsync mode, -z (100) byte events over 100
 *      channels, in batches of -b (64) as one loop iteration of the broker
 *      would take them: "always" syncs after each batch (group commit),
 *      "everysec" writes each batch and syncs once a second, "no" only
 *      writes.  "always" runs at most -t (5) seconds, the others -n
 *      (1,000,000) events;
 *   2. rebuild: -n events written, the journal closed and reopened, timed
 *      twice: replay alone (the callback only counts) and replay into a
 *      broker history (broker/history.c, limits high enough to keep all);
 *   3. disk bytes per event, and the cost of pruning half the segments.
 *
 * The page cache is warm for the rebuild, as after a broker restart; a
 * reboot reads from the device instead.  Every file it makes is removed.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "history.h"
#include "journal.h"

static char	err[1024];

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

/*
 * CPU seconds used so far (user and system): less sensitive to other load
 * on the machine than the wall clock.
 */
static double
cpu(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
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

static struct journal *
jopen(const char *dir, journal_replay_cb cb, void *arg,
    struct journal_info *info)
{
	struct journal_config	cfg;
	struct journal		*j;

	memset(&cfg, 0, sizeof(cfg));
	cfg.dir = dir;
	cfg.epoch = 1;
	if ((j = journal_open(&cfg, cb, arg, info, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_journal: %s\n", err);
		exit(1);
	}
	return (j);
}

/*
 * Appends up to n events in batches, committing each batch as mode says,
 * for at most cap seconds; returns how many.
 */
static uint64_t
run(const char *dir, enum journal_fsync mode, uint64_t n, size_t size,
    size_t batch, double cap, double *elapsed)
{
	struct journal_info	 info;
	struct journal_event	 ev;
	struct journal		*j;
	char			 ch[16], *data;
	uint64_t		 i;
	double			 t0, t, lastsync;
	int			 rc;

	rmtree(dir);
	j = jopen(dir, NULL, NULL, &info);
	if ((data = malloc(size)) == NULL)
		exit(1);
	memset(data, 'x', size);
	memset(&ev, 0, sizeof(ev));
	ev.type = "message";
	ev.typelen = 7;
	ev.data = data;
	ev.datalen = size;
	ev.channel = ch;
	t0 = lastsync = now();
	for (i = 1; i <= n; i++) {
		ev.seq = i;
		ev.time = 1.7e9 + (double)i * 1e-5;
		ev.channellen = (size_t)snprintf(ch, sizeof(ch), "chan-%u",
		    (unsigned)(i % 100));
		if (journal_append(j, &ev, err, sizeof(err)) == -1)
			goto fail;
		if (i % batch != 0 && i != n)
			continue;
		t = now();
		if (mode == JOURNAL_FSYNC_ALWAYS ||
		    (mode == JOURNAL_FSYNC_EVERYSEC && t - lastsync >= 1)) {
			rc = journal_sync(j, err, sizeof(err));
			lastsync = t;
		} else
			rc = journal_write(j, err, sizeof(err));
		if (rc == -1)
			goto fail;
		if (t - t0 > cap)
			break;
	}
	if (i > n)
		i = n;
	*elapsed = now() - t0;
	if (journal_close(j, err, sizeof(err)) == -1)
		goto fail;
	free(data);
	return (i);
fail:
	fprintf(stderr, "bench_journal: %s\n", err);
	exit(1);
}

static int
count_cb(const struct journal_event *ev, void *arg)
{
	uint64_t	*n = arg;

	(void)ev;
	(*n)++;
	return (0);
}

/* Puts one replayed event back into the history, with its own id. */
static int
history_cb(const struct journal_event *ev, void *arg)
{
	struct history	*h = arg;
	struct channel	*ch;
	struct event	*e;

	if ((ch = history_channel(h, ev->channel, ev->channellen)) == NULL)
		return (-1);
	h->seq = ev->seq - 1;
	e = history_publish(h, ch, ev->type, ev->typelen, ev->data,
	    ev->datalen, ev->time);
	if (e == NULL)
		return (-1);
	history_trim(h, ch, ev->time);
	return (0);
}

static uint64_t
dirbytes(const char *dir, int *nseg)
{
	struct dirent	*de;
	struct stat	 sb;
	uint64_t	 sum = 0;
	DIR		*d;

	*nseg = 0;
	if ((d = opendir(dir)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, 0) == 0) {
			sum += (uint64_t)sb.st_blocks * 512;
			if (strstr(de->d_name, ".jnl") != NULL)
				(*nseg)++;
		}
	}
	closedir(d);
	return (sum);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_journal [-b batch] [-d dir] "
	    "[-n events] [-t seconds] [-z bytes]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct history_limits	 lim;
	struct journal_stats	 st;
	struct journal_info	 info;
	struct journal		*j;
	struct history		 h;
	const char		*parent = getenv("TMPDIR");
	char			 dir[1024], jdir[1100];
	uint64_t		 n = 1000000, got, count, bytes;
	size_t			 size = 100, batch = 64;
	double			 cap = 5, el, t0, c0;
	int			 c, mode, nseg, pruned;

	while ((c = getopt(argc, argv, "b:d:n:t:z:")) != -1) {
		switch (c) {
		case 'b':
			batch = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			parent = optarg;
			break;
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 't':
			cap = strtod(optarg, NULL);
			break;
		case 'z':
			size = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (batch == 0 || n == 0 || size > 65536)
		usage();
	snprintf(dir, sizeof(dir), "%s/bench_journal.XXXXXX",
	    parent != NULL && parent[0] != '\0' ? parent : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return (1);
	}
	snprintf(jdir, sizeof(jdir), "%s/j", dir);
	printf("bench_journal: %" PRIu64 " events of %zu bytes, batches of "
	    "%zu, in %s\n", n, size, batch, dir);

	for (mode = JOURNAL_FSYNC_ALWAYS; mode <= JOURNAL_FSYNC_NO; mode++) {
		got = run(jdir, (enum journal_fsync)mode, n, size, batch,
		    mode == JOURNAL_FSYNC_ALWAYS ? cap : 1e9, &el);
		printf("append fsync=%-8s %9" PRIu64 " events in %6.2f s: "
		    "%9.0f events/s\n", journal_fsync_name(
		    (enum journal_fsync)mode), got, el, (double)got / el);
	}

	/* The "no" run left n events in jdir. */
	bytes = dirbytes(jdir, &nseg);
	printf("disk: %.1f bytes per event (%" PRIu64 " bytes, %d "
	    "segments)\n", (double)bytes / (double)n, bytes, nseg);

	count = 0;
	t0 = now();
	c0 = cpu();
	j = jopen(jdir, count_cb, &count, &info);
	el = now() - t0;
	c0 = cpu() - c0;
	journal_close(j, err, sizeof(err));
	printf("rebuild: %" PRIu64 " events replayed in %.3f s, %.3f s CPU "
	    "(read and check only)\n", count, el, c0);

	lim.max_age = 1e12;
	lim.max_events = n;
	lim.max_memory = SIZE_MAX;
	if (history_init(&h, 1, &lim) == -1)
		return (1);
	t0 = now();
	c0 = cpu();
	j = jopen(jdir, history_cb, &h, &info);
	el = now() - t0;
	c0 = cpu() - c0;
	printf("rebuild: %zu events into the history in %.3f s, %.3f s CPU "
	    "(%zu bytes held)\n", h.nevents, el, c0, h.nbytes);
	history_free(&h);

	t0 = now();
	pruned = journal_prune(j, n / 2, err, sizeof(err));
	el = now() - t0;
	journal_stats(j, &st);
	printf("prune: %d of %d segments deleted in %.4f s (oldest kept "
	    "%" PRIu64 "); %" PRIu64 " bytes left\n", pruned, nseg, el,
	    n / 2, st.bytes);
	journal_close(j, err, sizeof(err));
	rmtree(dir);
	return (0);
}
