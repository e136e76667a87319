/* SPDX-License-Identifier: ISC */
/*
 * Where the broker's Redis is: the --redis URL, parsed by a pure function.
 *
 *   redis://[:password@]host[:port][/db]	TCP; port 6379 when left out;
 *					host may be [IPv6]
 *   unix:/path[?db=N]			a Unix socket (absolute path)
 *
 * Anything else is refused with a message naming what is wrong.  Bounds
 * (each refused past, never truncated): the URL REDISURL_MAX_LEN bytes,
 * the host REDISURL_HOST_MAX, the socket path what sun_path holds, the
 * password (after %XX decoding) REDISURL_PASSWORD_MAX, the db 0..INT_MAX.
 */
#ifndef REDISURL_H
#define REDISURL_H

#include <stddef.h>

#define REDISURL_MAX_LEN	2048
#define REDISURL_HOST_MAX	255
#define REDISURL_PATH_MAX	107	/* sizeof(sun_path) - 1 on Linux */
#define REDISURL_PASSWORD_MAX	512
#define REDISURL_DEFAULT_PORT	6379

struct redisurl {
	int	 is_unix;			/* 1: path, 0: host and port */
	char	 host[REDISURL_HOST_MAX + 1];	/* without [] for IPv6 */
	int	 port;
	char	 path[REDISURL_PATH_MAX + 1];
	int	 db;				/* SELECTed when not 0 */
	int	 has_password;
	char	 password[REDISURL_PASSWORD_MAX + 1];
	size_t	 password_len;			/* may hold NUL bytes (%00) */
};

/*
 * Parses s into *u.  Returns 0, or -1 with a one-line reason in err (which
 * never contains the password).
 */
int	 redisurl_parse(struct redisurl *u, const char *s, char *err,
	    size_t errlen);

/* Writes where u points, without the password, for log lines. */
void	 redisurl_describe(const struct redisurl *u, char *buf, size_t len);

#endif
