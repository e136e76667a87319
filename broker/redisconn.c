/* SPDX-License-Identifier: ISC */
/* The connection manager (redisconn.h); a first stub that never comes up. */
#include "config.h"

#include <stdlib.h>

#include "redisconn.h"

struct redisconn {
	int	dummy;
};

struct redisconn *
redisconn_new(struct ev_loop *loop, const struct redisconn_config *cfg,
    const struct redisconn_cbs *cbs, void *arg)
{
	(void)loop; (void)cfg; (void)cbs; (void)arg;
	return (calloc(1, sizeof(struct redisconn)));
}

int
redisconn_command(struct redisconn *rc, redisconn_reply_cb cb, void *arg,
    const char *fmt, ...)
{
	(void)rc; (void)cb; (void)arg; (void)fmt;
	return (-1);
}

int
redisconn_commandargv(struct redisconn *rc, redisconn_reply_cb cb, void *arg,
    int argc, const char **argv, const size_t *argvlen)
{
	(void)rc; (void)cb; (void)arg; (void)argc; (void)argv; (void)argvlen;
	return (-1);
}

int
redisconn_is_up(const struct redisconn *rc)
{
	(void)rc;
	return (0);
}

void
redisconn_stats(const struct redisconn *rc, struct redisconn_stats *st)
{
	(void)rc;
	*st = (struct redisconn_stats){ 0 };
}

void
redisconn_free(struct redisconn *rc)
{
	free(rc);
}
