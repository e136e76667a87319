/* SPDX-License-Identifier: ISC */
/* The --redis URL (redisurl.h); a first stub. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "redisurl.h"

int
redisurl_parse(struct redisurl *u, const char *s, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	(void)s;
	snprintf(err, errlen, "not implemented yet");
	return (-1);
}

void
redisurl_describe(const struct redisurl *u, char *buf, size_t len)
{
	if (u->is_unix)
		snprintf(buf, len, "unix:%s", u->path);
	else
		snprintf(buf, len, "%s:%d", u->host, u->port);
}
