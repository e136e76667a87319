/* SPDX-License-Identifier: ISC */
/*
 * Unix socket paths: where the broker's socket is (the default path,
 * which every program and the library share, and its sockaddr_un), and
 * listening on a path by the rules both daemons follow (sockpath.c).
 */
#ifndef SOCKPATH_H
#define SOCKPATH_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#ifndef FASTSSE_RUNDIR
#define FASTSSE_RUNDIR		"/run/fastsse"
#endif
#define SOCKPATH_NAME		"fastsse.sock"
#define SOCKPATH_DEFAULT	FASTSSE_RUNDIR "/" SOCKPATH_NAME
#define SOCKPATH_ENV		"FASTSSE_SOCKET"

const char	*sockpath_default(int *);
int		 sockpath_addr(struct sockaddr_un *, const char *);

/* The socket sockpath_listen made: only that one is removed at exit. */
struct sockpath_own {
	const char	*path;
	dev_t		 dev;
	ino_t		 ino;
	int		 replaced;	/* a stale socket was removed */
};

int		 sockpath_listen(const char *, mode_t, int, int,
		    struct sockpath_own *, char *, size_t);
int		 sockpath_unlink(const struct sockpath_own *);

#endif
