/* SPDX-License-Identifier: ISC */
/*
 * A minimal TAP producer for the unit and integration tests, read by
 * automake's tap-driver.sh under the parallel harness.
 */
#ifndef TAP_H
#define TAP_H

#include <stddef.h>

void	tap_plan(int);
void	tap_done(void);
int	tap_ok(int, const char *, ...) __attribute__((format(printf, 2, 3)));
int	tap_is_int(long long, long long, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	tap_is_str(const char *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	tap_is_mem(const void *, size_t, const void *, size_t, const char *, ...)
	    __attribute__((format(printf, 5, 6)));
void	tap_diag(const char *, ...) __attribute__((format(printf, 1, 2)));
void	tap_skip_all(const char *);
int	tap_exit_status(void);

#define ok(c, ...)		tap_ok(!!(c), __VA_ARGS__)
#define is_int(a, b, ...)	tap_is_int((a), (b), __VA_ARGS__)
#define is_str(a, b, ...)	tap_is_str((a), (b), __VA_ARGS__)

#endif
