/* SPDX-License-Identifier: ISC */
/*
 * The Prometheus text exposition format, version 0.0.4, as Prometheus
 * and node_exporter's textfile collector read it:
 *
 *	# HELP name text		(text: \ and newline escaped)
 *	# TYPE name counter|gauge|histogram
 *	name{label="value",...} number	(value: \, " and newline escaped)
 *
 * Written by hand: the format is a few lines of printf, and the C client
 * libraries for Prometheus bring a registry, threads and an HTTP server
 * that a libev process has no use for.  Names are checked here (a bad one
 * is a programming error: the call fails and nothing is appended), so the
 * output is always valid for the strict parser the tests use.
 *
 * Bounds: every function appends to a struct buf and fails with -1, the
 * buffer as it was, when the buffer's own bound is reached.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

static int
prom_name_char(int c, int first, int colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return (1);
	if (colon && c == ':')
		return (1);
	return (!first && c >= '0' && c <= '9');
}

static int
prom_name_check(const char *s, int colon)
{
	size_t	i;

	if (s == NULL || *s == '\0')
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if (!prom_name_char((unsigned char)s[i], i == 0, colon))
			return (0);
	return (1);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
int
prom_name_ok(const char *s)
{
	return (prom_name_check(s, 1));
}

/* [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved). */
int
prom_label_name_ok(const char *s)
{
	return (prom_name_check(s, 0) && strncmp(s, "__", 2) != 0);
}

/* Appends s with \ and newline escaped, and " too when quote is set. */
static int
prom_escape(struct buf *b, const char *s, int quote)
{
	const char	*p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '\\') {
			if (buf_append(b, "\\\\", 2) == -1)
				return (-1);
		} else if (*p == '\n') {
			if (buf_append(b, "\\n", 2) == -1)
				return (-1);
		} else if (quote && *p == '"') {
			if (buf_append(b, "\\\"", 2) == -1)
				return (-1);
		} else if (buf_append_byte(b, *p) == -1)
			return (-1);
	}
	return (0);
}

int
prom_family(struct buf *b, const char *name, const char *type,
    const char *help)
{
	size_t	mark = buf_used(b);

	if (!prom_name_ok(name) || (strcmp(type, "counter") != 0 &&
	    strcmp(type, "gauge") != 0 && strcmp(type, "histogram") != 0 &&
	    strcmp(type, "untyped") != 0))
		return (-1);
	if (buf_printf(b, "# HELP %s ", name) == -1 ||
	    prom_escape(b, help, 0) == -1 ||
	    buf_printf(b, "\n# TYPE %s %s\n", name, type) == -1)
		goto fail;
	return (0);
fail:
	buf_truncate(b, mark);
	return (-1);
}

/*
 * A double in the shortest form that reads back as the same value, so
 * 0.005 is "0.005" and not "0.0050000000000000001"; infinities and NaN as
 * Prometheus spells them.
 */
int
prom_double(struct buf *b, double v)
{
	char	s[64];
	int	prec;

	if (isnan(v))
		return (buf_append(b, "NaN", 3));
	if (isinf(v))
		return (v > 0 ? buf_append(b, "+Inf", 4) :
		    buf_append(b, "-Inf", 4));
	if (v > -1e15 && v < 1e15 && (double)(long long)v == v) {
		snprintf(s, sizeof(s), "%lld", (long long)v);
		return (buf_append(b, s, strlen(s)));
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(s, sizeof(s), "%.*g", prec, v);
		if (strtod(s, NULL) == v)
			break;
	}
	return (buf_append(b, s, strlen(s)));
}

/* name{labels} with a space after it. */
static int
prom_sample_head(struct buf *b, const char *name,
    const struct prom_label *labels, size_t n)
{
	size_t	i;

	if (!prom_name_ok(name))
		return (-1);
	for (i = 0; i < n; i++)
		if (!prom_label_name_ok(labels[i].name) ||
		    labels[i].value == NULL)
			return (-1);
	if (buf_append(b, name, strlen(name)) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		if (buf_printf(b, "%c%s=\"", i == 0 ? '{' : ',',
		    labels[i].name) == -1 ||
		    prom_escape(b, labels[i].value, 1) == -1 ||
		    buf_append_byte(b, '"') == -1)
			return (-1);
	}
	if (n > 0 && buf_append_byte(b, '}') == -1)
		return (-1);
	return (buf_append_byte(b, ' '));
}

int
prom_sample(struct buf *b, const char *name, const struct prom_label *labels,
    size_t n, uint64_t value)
{
	size_t	mark = buf_used(b);

	if (prom_sample_head(b, name, labels, n) == -1 ||
	    buf_printf(b, "%llu\n", (unsigned long long)value) == -1) {
		buf_truncate(b, mark);
		return (-1);
	}
	return (0);
}

int
prom_sample_label(struct buf *b, const char *name, const char *label,
    uint64_t value)
{
	struct prom_label	 l;
	char			 lname[64];
	const char		*eq;

	if (label == NULL)
		return (prom_sample(b, name, NULL, 0, value));
	if ((eq = strchr(label, '=')) == NULL ||
	    (size_t)(eq - label) >= sizeof(lname))
		return (-1);
	memcpy(lname, label, (size_t)(eq - label));
	lname[eq - label] = '\0';
	l.name = lname;
	l.value = eq + 1;
	return (prom_sample(b, name, &l, 1, value));
}

int
prom_sample_double(struct buf *b, const char *name,
    const struct prom_label *labels, size_t n, double value)
{
	size_t	mark = buf_used(b);

	if (prom_sample_head(b, name, labels, n) == -1 ||
	    prom_double(b, value) == -1 || buf_append_byte(b, '\n') == -1) {
		buf_truncate(b, mark);
		return (-1);
	}
	return (0);
}

int
prom_hist_init(struct prom_hist *h, const double *bounds, size_t n)
{
	size_t	i;

	memset(h, 0, sizeof(*h));
	if (n > PROM_HIST_MAX)
		return (-1);
	for (i = 0; i < n; i++) {
		if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
			return (-1);
		h->bounds[i] = bounds[i];
	}
	h->nbounds = n;
	return (0);
}

/* Counts v in the first bucket whose bound is at least v ("le"). */
void
prom_hist_observe(struct prom_hist *h, double v)
{
	size_t	i;

	for (i = 0; i < h->nbounds && v > h->bounds[i]; i++)
		;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}

int
prom_histogram(struct buf *b, const char *name, const char *help,
    const struct prom_hist *h)
{
	struct prom_label	 le = { "le", NULL };
	char			 bname[256], bound[64];
	struct buf		 tmp;
	uint64_t		 cum = 0;
	size_t			 mark = buf_used(b), i;
	int			 n;

	n = snprintf(bname, sizeof(bname), "%s_bucket", name);
	if (n < 0 || (size_t)n >= sizeof(bname) ||
	    prom_family(b, name, "histogram", help) == -1)
		return (-1);
	for (i = 0; i <= h->nbounds; i++) {
		cum += h->counts[i];
		if (i < h->nbounds) {
			buf_init(&tmp, sizeof(bound) - 1);
			if (prom_double(&tmp, h->bounds[i]) == -1) {
				buf_free(&tmp);
				goto fail;
			}
			memcpy(bound, buf_head(&tmp), buf_used(&tmp));
			bound[buf_used(&tmp)] = '\0';
			buf_free(&tmp);
			le.value = bound;
		} else
			le.value = "+Inf";
		if (prom_sample(b, bname, &le, 1, cum) == -1)
			goto fail;
	}
	if (buf_printf(b, "%s_sum ", name) == -1 ||
	    prom_double(b, h->sum) == -1 ||
	    buf_printf(b, "\n%s_count %llu\n", name,
	    (unsigned long long)h->count) == -1)
		goto fail;
	return (0);
fail:
	buf_truncate(b, mark);
	return (-1);
}
