/* SPDX-License-Identifier: ISC */
/*
 * Unix socket paths: the broker's default path, and listening on a path
 * with the rules both daemons follow.  Bound: a path must fit sun_path
 * (108 bytes on Linux, NUL included); a longer one is refused (-1),
 * never cut, so nobody connects to or creates a socket at another path.
 *
 * The listening rules: a path that is not a socket is refused (a file's
 * content is never lost), a socket someone accepts on is refused (a live
 * daemon is never cut off), a stale socket (connect refused) is
 * replaced; at exit only the socket we made (same device and inode) is
 * removed.  The helpers log nothing: they fill the caller's error buffer.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sockpath.h"

/*
 * The path to use when none was given: $FASTSSE_SOCKET when set and not
 * empty, else SOCKPATH_DEFAULT.  *compiled (when not NULL) tells which,
 * since only the compiled-in directory is the daemon's to create.
 */
const char *
sockpath_default(int *compiled)
{
	const char	*env = getenv(SOCKPATH_ENV);

	if (compiled != NULL)
		*compiled = env == NULL || *env == '\0';
	if (env == NULL || *env == '\0')
		return (SOCKPATH_DEFAULT);
	return (env);
}

/* Fills sun for path; -1 when path does not fit. */
int
sockpath_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return (-1);
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return (0);
}

static int
sockpath_fail(char *err, size_t errlen, int with_errno, const char *fmt,
    ...)
{
	va_list	ap;
	int	saved = errno;
	size_t	n;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (with_errno && (n = strlen(err)) < errlen)
		snprintf(err + n, errlen - n, ": %s", strerror(saved));
	errno = saved;
	return (-1);
}

/*
 * Listens on path (socket type flags such as SOCK_NONBLOCK in type_flags)
 * with the rules at the top of this file; the socket gets mode, and *own
 * records what sockpath_unlink may remove later.  Returns the fd, or -1
 * with err saying why (nothing is left behind).
 */
int
sockpath_listen(const char *path, mode_t mode, int backlog, int type_flags,
    struct sockpath_own *own, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 old;
	int			 fd, r;

	own->path = NULL;
	own->replaced = 0;
	if (sockpath_addr(&sun, path) == -1)
		return (sockpath_fail(err, errlen, 0, "socket path too long: "
		    "%s", path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return (sockpath_fail(err, errlen, 0, "%s exists and is "
			    "not a socket: refusing to replace it", path));
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			return (sockpath_fail(err, errlen, 1, "socket"));
		r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
		close(fd);
		if (r == 0) {
			errno = EADDRINUSE;
			return (sockpath_fail(err, errlen, 0, "something is "
			    "listening on %s: refusing to replace it", path));
		}
		if (errno != ECONNREFUSED)
			return (sockpath_fail(err, errlen, 1, "connect %s",
			    path));
		if (unlink(path) == -1 && errno != ENOENT)
			return (sockpath_fail(err, errlen, 1, "unlink stale "
			    "socket %s", path));
		own->replaced = 1;
	} else if (errno != ENOENT)
		return (sockpath_fail(err, errlen, 1, "%s", path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | type_flags,
	    0)) == -1)
		return (sockpath_fail(err, errlen, 1, "socket"));
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == -1) {
		sockpath_fail(err, errlen, 1, "bind %s", path);
		close(fd);
		return (-1);
	}
	if (chmod(path, mode) == -1) {
		sockpath_fail(err, errlen, 1, "chmod %s", path);
		goto fail;
	}
	if (listen(fd, backlog) == -1) {
		sockpath_fail(err, errlen, 1, "listen %s", path);
		goto fail;
	}
	if (stat(path, &st) == -1) {
		sockpath_fail(err, errlen, 1, "stat %s", path);
		goto fail;
	}
	own->path = path;
	own->dev = st.st_dev;
	own->ino = st.st_ino;
	return (fd);
fail:
	unlink(path);
	close(fd);
	return (-1);
}

/*
 * Removes the socket sockpath_listen made, if it is still that one; 1 when
 * removed, 0 when something else (or nothing) is at the path now.
 */
int
sockpath_unlink(const struct sockpath_own *own)
{
	struct stat	st;

	if (own->path == NULL)
		return (0);
	if (lstat(own->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == own->dev && st.st_ino == own->ino) {
		unlink(own->path);
		return (1);
	}
	return (0);
}
