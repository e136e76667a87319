/* SPDX-License-Identifier: ISC */
/*
 * TAP output: "ok N - name" / "not ok N - name", a plan, diagnostics.
 * Tests call tap_done() at the end (or give a plan up front); the exit
 * status is non-zero when any test failed, so the harness sees failures
 * even without the TAP driver.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static int tap_count;
static int tap_failed;
static int tap_planned = -1;

void
tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

/* Prints the trailing plan when none was given and returns the exit status. */
void
tap_done(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_count);
	else if (tap_planned != tap_count)
		tap_diag("planned %d tests but ran %d", tap_planned, tap_count);
	fflush(stdout);
}

int
tap_exit_status(void)
{
	if (tap_failed != 0 || (tap_planned >= 0 && tap_planned != tap_count))
		return (1);
	return (0);
}

static int
tap_vresult(int pass, const char *fmt, va_list ap)
{
	tap_count++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	return (pass);
}

int
tap_ok(int pass, const char *fmt, ...)
{
	va_list	ap;
	int	r;

	va_start(ap, fmt);
	r = tap_vresult(pass, fmt, ap);
	va_end(ap);
	return (r);
}

int
tap_is_int(long long got, long long want, const char *fmt, ...)
{
	va_list	ap;
	int	r;

	va_start(ap, fmt);
	r = tap_vresult(got == want, fmt, ap);
	va_end(ap);
	if (!r)
		tap_diag("got %lld, want %lld", got, want);
	return (r);
}

int
tap_is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list	ap;
	int	pass, r;

	pass = (got != NULL && want != NULL) ? strcmp(got, want) == 0 :
	    got == want;
	va_start(ap, fmt);
	r = tap_vresult(pass, fmt, ap);
	va_end(ap);
	if (!r)
		tap_diag("got \"%s\", want \"%s\"", got ? got : "(null)",
		    want ? want : "(null)");
	return (r);
}

int
tap_is_mem(const void *got, size_t glen, const void *want, size_t wlen,
    const char *fmt, ...)
{
	va_list	ap;
	int	r;

	va_start(ap, fmt);
	r = tap_vresult(glen == wlen && memcmp(got, want, glen) == 0, fmt, ap);
	va_end(ap);
	if (!r)
		tap_diag("got %zu bytes \"%.*s\", want %zu bytes \"%.*s\"",
		    glen, (int)glen, (const char *)got, wlen, (int)wlen,
		    (const char *)want);
	return (r);
}

void
tap_diag(const char *fmt, ...)
{
	va_list	ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Skips the whole test with a reason; exits 0 as TAP "1..0 # SKIP" asks. */
void
tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	exit(0);
}
