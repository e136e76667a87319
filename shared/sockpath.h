/*
 * Where the broker's Unix socket is: the default path, which every
 * program and the library share, and its struct sockaddr_un.
 */
#ifndef SOCKPATH_H
#define SOCKPATH_H

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

#endif
