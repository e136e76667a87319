/* SPDX-License-Identifier: ISC */
/*
 * The --redis URL (redisurl.h): a pure parser, no allocation, no I/O.
 *
 * Bounds, each refused with a message (never truncated): the whole URL
 * REDISURL_MAX_LEN bytes; the host REDISURL_HOST_MAX; the socket path
 * REDISURL_PATH_MAX (what sun_path holds); the password, after %XX
 * decoding, REDISURL_PASSWORD_MAX; the port 1..65535; the db 0..INT_MAX.
 * Written by hand: the two accepted shapes are small, and a general URL
 * library would accept shapes (query strings on TCP, user names, schemes)
 * that the broker must refuse by name.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "redisurl.h"

#define REDIS_SCHEME	"redis://"
#define UNIX_SCHEME	"unix:"

/*
 * Parses the decimal number in [s, s + n) into *out, refusing empty input,
 * anything but digits, and values above max.
 */
static int
redisurl_number(const char *s, size_t n, long max, long *out)
{
	long	 v = 0;
	size_t	 i;

	if (n == 0)
		return (-1);
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return (-1);
	}
	*out = v;
	return (0);
}

/*
 * Percent-decodes the password in [s, s + n) into u, so a password may
 * hold '@', ':' or '/' written as %40, %3A, %2F.
 */
static int
redisurl_password(struct redisurl *u, const char *s, size_t n, char *err,
    size_t errlen)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		if (o >= REDISURL_PASSWORD_MAX) {
			snprintf(err, errlen, "password longer than %d bytes",
			    REDISURL_PASSWORD_MAX);
			return (-1);
		}
		if (s[i] != '%') {
			u->password[o++] = s[i];
			continue;
		}
		if (i + 2 >= n) {
			snprintf(err, errlen, "bad %%-escape in the password");
			return (-1);
		}
		hi = hex_val(s[i + 1]);
		lo = hex_val(s[i + 2]);
		if (hi < 0 || lo < 0) {
			snprintf(err, errlen, "bad %%-escape in the password");
			return (-1);
		}
		u->password[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	u->password[o] = '\0';
	u->password_len = o;
	u->has_password = o > 0;	/* redis://:@host: none */
	return (0);
}

/* unix:/path[?db=N] */
static int
redisurl_unix(struct redisurl *u, const char *s, char *err, size_t errlen)
{
	const char	*q;
	size_t		 n;
	long		 v;

	u->is_unix = 1;
	if (*s != '/') {
		snprintf(err, errlen, "unix: needs an absolute socket path "
		    "(unix:/path)");
		return (-1);
	}
	if (s[1] == '/') {
		snprintf(err, errlen, "write unix:/path, not unix://");
		return (-1);
	}
	q = strchr(s, '?');
	n = q != NULL ? (size_t)(q - s) : strlen(s);
	if (n > REDISURL_PATH_MAX) {
		snprintf(err, errlen, "socket path longer than %d bytes",
		    REDISURL_PATH_MAX);
		return (-1);
	}
	memcpy(u->path, s, n);
	u->path[n] = '\0';
	if (q == NULL)
		return (0);
	q++;
	if (strncmp(q, "db=", 3) != 0 ||
	    redisurl_number(q + 3, strlen(q + 3), INT_MAX, &v) == -1) {
		snprintf(err, errlen, "the only query a unix: URL takes is "
		    "?db=N (N from 0)");
		return (-1);
	}
	u->db = (int)v;
	return (0);
}

/* redis://[:password@]host[:port][/db] */
static int
redisurl_tcp(struct redisurl *u, const char *s, char *err, size_t errlen)
{
	const char	*at, *end, *hs, *he, *p;
	size_t		 n;
	long		 v;

	u->port = REDISURL_DEFAULT_PORT;
	/* The authority ends at the first '/'; '?' and '#' are refused. */
	if (strpbrk(s, "?#") != NULL) {
		snprintf(err, errlen, "a redis:// URL takes no query or "
		    "fragment");
		return (-1);
	}
	end = strchr(s, '/');
	if (end == NULL)
		end = s + strlen(s);
	/* userinfo: the last '@' before the end of the authority */
	at = NULL;
	for (p = s; p < end; p++)
		if (*p == '@')
			at = p;
	if (at != NULL) {
		if (*s != ':') {
			snprintf(err, errlen, "user names are not supported: "
			    "write redis://:password@host");
			return (-1);
		}
		if (redisurl_password(u, s + 1, (size_t)(at - s - 1), err,
		    errlen) == -1)
			return (-1);
		s = at + 1;
	}
	/* host: a name, an IPv4 address or [IPv6] */
	if (*s == '[') {
		hs = s + 1;
		he = memchr(hs, ']', (size_t)(end - hs));
		if (he == NULL) {
			snprintf(err, errlen, "unclosed [ in the host");
			return (-1);
		}
		p = he + 1;
	} else {
		hs = s;
		for (he = hs; he < end && *he != ':'; he++)
			;
		p = he;
	}
	n = (size_t)(he - hs);
	if (n == 0) {
		snprintf(err, errlen, "no host");
		return (-1);
	}
	if (n > REDISURL_HOST_MAX) {
		snprintf(err, errlen, "host longer than %d bytes",
		    REDISURL_HOST_MAX);
		return (-1);
	}
	for (size_t i = 0; i < n; i++) {
		char c = hs[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == '_' || (c == ':' && *s == '['))) {
			snprintf(err, errlen, "bad character in the host");
			return (-1);
		}
	}
	memcpy(u->host, hs, n);
	u->host[n] = '\0';
	if (p < end) {
		if (*p != ':' || redisurl_number(p + 1, (size_t)(end - p - 1),
		    65535, &v) == -1 || v == 0) {
			snprintf(err, errlen, "bad port (1 to 65535)");
			return (-1);
		}
		u->port = (int)v;
	}
	if (*end == '/' && end[1] != '\0') {
		if (redisurl_number(end + 1, strlen(end + 1), INT_MAX,
		    &v) == -1) {
			snprintf(err, errlen, "bad db number after the host "
			    "(/N, N from 0)");
			return (-1);
		}
		u->db = (int)v;
	}
	return (0);
}

int
redisurl_parse(struct redisurl *u, const char *s, char *err, size_t errlen)
{
	int	 rv;

	memset(u, 0, sizeof(*u));
	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty Redis URL");
		return (-1);
	}
	if (strnlen(s, REDISURL_MAX_LEN + 1) > REDISURL_MAX_LEN) {
		snprintf(err, errlen, "Redis URL longer than %d bytes",
		    REDISURL_MAX_LEN);
		return (-1);
	}
	if (strncmp(s, REDIS_SCHEME, strlen(REDIS_SCHEME)) == 0)
		rv = redisurl_tcp(u, s + strlen(REDIS_SCHEME), err, errlen);
	else if (strncmp(s, UNIX_SCHEME, strlen(UNIX_SCHEME)) == 0)
		rv = redisurl_unix(u, s + strlen(UNIX_SCHEME), err, errlen);
	else {
		snprintf(err, errlen, "Redis URL must be "
		    "redis://[:password@]host[:port][/db] or unix:/path[?db=N]");
		rv = -1;
	}
	if (rv == -1)
		memset(u, 0, sizeof(*u));	/* no half-parsed password */
	return (rv);
}

void
redisurl_describe(const struct redisurl *u, char *buf, size_t len)
{
	if (u->is_unix)
		snprintf(buf, len, "unix:%s", u->path);
	else if (strchr(u->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%d", u->host, u->port);
	else
		snprintf(buf, len, "%s:%d", u->host, u->port);
	if (u->db != 0) {
		size_t o = strlen(buf);
		if (o < len)
			snprintf(buf + o, len - o, " db %d", u->db);
	}
}
