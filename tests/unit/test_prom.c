/* SPDX-License-Identifier: ISC */
/*
 * shared/prom.c and broker/promstats.c: the exposition text byte for
 * byte, escaping, names refused, doubles in their shortest exact form,
 * histograms cumulative, and every function leaving the buffer as it was
 * when its bound is reached (tried at every bound up to the text's size).
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "prom.h"
#include "promstats.h"
#include "tap.h"

/* The text in b, NUL-terminated, for comparisons. */
static const char *
text(struct buf *b)
{
	static char	s[8192];
	size_t		n = buf_used(b) < sizeof(s) - 1 ? buf_used(b) :
			    sizeof(s) - 1;

	memcpy(s, buf_head(b), n);
	s[n] = '\0';
	return (s);
}

static const char *
dbl(double v)
{
	struct buf	b;
	static char	s[64];

	buf_init(&b, 0);
	prom_double(&b, v);
	snprintf(s, sizeof(s), "%s", text(&b));
	buf_free(&b);
	return (s);
}

static void
test_names(void)
{
	ok(prom_name_ok("fastsse_streams_open"), "plain name");
	ok(prom_name_ok("a:b_c9"), "colon allowed in metric names");
	ok(!prom_name_ok("9abc"), "leading digit refused");
	ok(!prom_name_ok(""), "empty name refused");
	ok(!prom_name_ok("a-b"), "dash refused");
	ok(!prom_name_ok("a b"), "space refused");
	ok(!prom_label_name_ok("a:b"), "colon refused in label names");
	ok(!prom_label_name_ok("__name"), "reserved label prefix refused");
	ok(prom_label_name_ok("reason"), "label name");
}

static void
test_lines(void)
{
	struct buf		b;
	struct prom_label	l[2] = { { "channel", "a\"b\\c\nd" },
				    { "reason", "x" } };

	buf_init(&b, 0);
	ok(prom_family(&b, "m_total", "counter", "Help with \\ and\nnewline "
	    "and \"quotes\".") == 0, "family");
	is_str(text(&b), "# HELP m_total Help with \\\\ and\\nnewline and "
	    "\"quotes\".\n# TYPE m_total counter\n",
	    "HELP escapes \\ and newline, not quotes");
	buf_reset(&b);
	ok(prom_sample(&b, "m_total", l, 2, UINT64_MAX) == 0, "sample");
	is_str(text(&b), "m_total{channel=\"a\\\"b\\\\c\\nd\",reason=\"x\"} "
	    "18446744073709551615\n", "label values escape \\, \" and "
	    "newline; 64-bit values whole");
	buf_reset(&b);
	ok(prom_sample(&b, "m", NULL, 0, 0) == 0 &&
	    strcmp(text(&b), "m 0\n") == 0, "sample without labels");
	buf_reset(&b);
	ok(prom_sample(&b, "bad-name", NULL, 0, 1) == -1 && buf_used(&b) == 0,
	    "bad metric name: refused, nothing appended");
	l[1].name = "__x";
	ok(prom_sample(&b, "m", l, 2, 1) == -1 && buf_used(&b) == 0,
	    "bad label name: refused, nothing appended");
	ok(prom_family(&b, "m", "summary2", "h") == -1 && buf_used(&b) == 0,
	    "unknown type refused");
	buf_free(&b);
}

static void
test_doubles(void)
{
	is_str(dbl(0.005), "0.005", "0.005 in its shortest form");
	is_str(dbl(0.1), "0.1", "0.1");
	is_str(dbl(2.5), "2.5", "2.5");
	is_str(dbl(10), "10", "10");
	is_str(dbl(1e-6), "1e-06", "1e-06");
	is_str(dbl(INFINITY), "+Inf", "+Inf");
	is_str(dbl(-INFINITY), "-Inf", "-Inf");
	is_str(dbl(NAN), "NaN", "NaN");
	ok(strtod(dbl(0.1 + 0.2), NULL) == 0.1 + 0.2,
	    "0.1 + 0.2 reads back exactly (%s)", dbl(0.1 + 0.2));
}

static void
test_hist(void)
{
	static const double	 bounds[] = { 0.001, 0.01, 0.1 };
	static const double	 bad[] = { 0.1, 0.01 };
	struct prom_hist	 h;
	struct buf		 b;

	ok(prom_hist_init(&h, bad, 2) == -1, "descending bounds refused");
	ok(prom_hist_init(&h, bounds, 3) == 0, "histogram");
	prom_hist_observe(&h, 0.0005);
	prom_hist_observe(&h, 0.001);	/* le: the bound itself is in */
	prom_hist_observe(&h, 0.05);
	prom_hist_observe(&h, 3);
	buf_init(&b, 0);
	ok(prom_histogram(&b, "lat_seconds", "Latency.", &h) == 0,
	    "histogram text");
	is_str(text(&b), "# HELP lat_seconds Latency.\n"
	    "# TYPE lat_seconds histogram\n"
	    "lat_seconds_bucket{le=\"0.001\"} 2\n"
	    "lat_seconds_bucket{le=\"0.01\"} 2\n"
	    "lat_seconds_bucket{le=\"0.1\"} 3\n"
	    "lat_seconds_bucket{le=\"+Inf\"} 4\n"
	    "lat_seconds_sum 3.0515\n"
	    "lat_seconds_count 4\n", "buckets cumulative, +Inf = count");
	buf_free(&b);
}

/* Every function, at every bound short of its text: -1, b unchanged. */
static void
test_bounds(void)
{
	static const double	 bounds[] = { 0.001, 0.5 };
	static const char *const names[] = { "streams", "resets_epoch",
	    "unknown_counter", "history_bytes" };
	static const uint64_t	 values[] = { 7, 2, 9, 1234 };
	struct prom_label	 l = { "le", "x\"y" };
	struct prom_hist	 h;
	struct buf		 b, full;
	size_t			 max, need, i;
	int			 good = 1, r = 0;

	prom_hist_init(&h, bounds, 2);
	prom_hist_observe(&h, 0.25);
	for (i = 0; i < 5; i++) {
		buf_init(&full, 0);
		switch (i) {
		case 0: prom_family(&full, "a_total", "counter", "h\n"); break;
		case 1: prom_sample(&full, "a", &l, 1, 5); break;
		case 2: prom_sample_double(&full, "a", &l, 1, 0.25); break;
		case 3: prom_histogram(&full, "h_seconds", "H.", &h); break;
		case 4: promstats_broker(&full, names, values, 4); break;
		}
		need = buf_used(&full);
		for (max = 1; max <= need; max++) {
			buf_init(&b, max);
			buf_append(&b, "#", 1);
			switch (i) {
			case 0: r = prom_family(&b, "a_total", "counter",
			    "h\n"); break;
			case 1: r = prom_sample(&b, "a", &l, 1, 5); break;
			case 2: r = prom_sample_double(&b, "a", &l, 1, 0.25);
			    break;
			case 3: r = prom_histogram(&b, "h_seconds", "H.", &h);
			    break;
			case 4: r = promstats_broker(&b, names, values, 4);
			    break;
			}
			if (max < need + 1 ? r != -1 || buf_used(&b) != 1 :
			    r != 0)
				good = 0;
			buf_free(&b);
		}
		buf_free(&full);
	}
	ok(good, "at every bound short of the text: -1 and nothing appended");
}

static void
test_promstats(void)
{
	static const char *const names[] = { "streams", "resets_epoch",
	    "unknown_counter", "history_bytes", "resets_pruned" };
	static const uint64_t	 values[] = { 7, 2, 9, 1234, 1 };
	struct buf		 b;

	buf_init(&b, 0);
	ok(promstats_broker(&b, names, values, 5) == 0, "broker exposition");
	is_str(text(&b), "# HELP fastsse_broker_up 1 when the broker "
	    "answered.\n# TYPE fastsse_broker_up gauge\nfastsse_broker_up 1\n"
	    "# HELP fastsse_broker_streams Browser streams open, over all "
	    "responders, as they report them.\n"
	    "# TYPE fastsse_broker_streams gauge\nfastsse_broker_streams 7\n"
	    "# HELP fastsse_resets_total Subscriptions whose last id could "
	    "not be honoured, by reason.\n"
	    "# TYPE fastsse_resets_total counter\n"
	    "fastsse_resets_total{reason=\"pruned\"} 1\n"
	    "fastsse_resets_total{reason=\"epoch\"} 2\n"
	    "# HELP fastsse_history_bytes Bytes the history holds (its "
	    "--max-memory counts these).\n"
	    "# TYPE fastsse_history_bytes gauge\nfastsse_history_bytes 1234\n",
	    "known counters in table order, one HELP/TYPE per family, "
	    "unknown ones left out");
	buf_reset(&b);
	ok(promstats_broker_down(&b) == 0 && strstr(text(&b),
	    "\nfastsse_broker_up 0\n") != NULL, "broker down: up 0");
	buf_free(&b);
}

int
main(void)
{
	test_names();
	test_lines();
	test_doubles();
	test_hist();
	test_bounds();
	test_promstats();
	tap_done();
	return (tap_exit_status());
}
