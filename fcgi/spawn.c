/* SPDX-License-Identifier: ISC */
/*
 * --spawn-broker: at start-up, a responder with no broker answering on its
 * socket starts one itself, as the same user, so a site without root and
 * without a service manager (mod_fcgid, lighttpd's bin-path) needs only
 * its web server's configuration and the two programs.
 *
 * Rules, and why:
 * - The socket's directory must be the user's own and closed to others
 *   (created 0700 when missing): a broker's socket is the right to publish
 *   to every browser, and in a shared directory another user could put
 *   his own broker there first.  Anything else is refused, said as it is.
 * - Many responders start at once (mod_fcgid starts one per stream): they
 *   take turns on an flock()ed "SOCKET.spawn" beside the socket, and each
 *   looks again once it holds it, so the first starts the broker and the
 *   others find it answering.  (Two brokers started together could both
 *   find the old socket stale and each replace it; the turn-taking keeps
 *   that from happening.)
 * - The broker daemonises itself after it listens, so the exit of the
 *   process we started is the moment its socket answers; it logs to
 *   "SOCKET.log" (the user can read it; syslog on such hosts often not).
 *
 * Bounds: the turn is waited for at most SPAWN_LOCK_WAIT seconds, the
 * broker's start at most SPAWN_START_WAIT; past either, the responder
 * starts anyway and reconnects to the broker as it always does (counted
 * in the upstream's connects).  Only at start-up: a broker that dies
 * later is started again by the next responder that starts.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sockpath.h"
#include "spawn.h"

#define SPAWN_LOCK_WAIT		10	/* seconds for our turn */
#define SPAWN_START_WAIT	10	/* seconds for the broker to listen */
#define SPAWN_POLL_MS		20

static int
spawn_fail(char *err, size_t errlen, int with_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
spawn_fail(char *err, size_t errlen, int with_errno, const char *fmt, ...)
{
	va_list	ap;
	size_t	n;
	int	saved = errno;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (with_errno && (n = strlen(err)) < errlen)
		snprintf(err + n, errlen - n, ": %s", strerror(saved));
	return (-1);
}

/* Does something accept on path? */
static int
spawn_answers(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, r;

	if (sockpath_addr(&sun, path) == -1)
		return (0);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (0);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return (r);
}

static void
spawn_nap(void)
{
	struct timespec	ts = { 0, SPAWN_POLL_MS * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * The socket's directory: ours, a directory, no access for others;
 * created (0700) when missing.
 */
static int
spawn_dir(const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	char		 copy[PATH_MAX], *dir;

	if (strlen(path) >= sizeof(copy))
		return (spawn_fail(err, errlen, 0, "path too long: %s", path));
	strcpy(copy, path);
	dir = dirname(copy);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return (spawn_fail(err, errlen, 1, "mkdir %s", dir));
	if (lstat(dir, &st) == -1)
		return (spawn_fail(err, errlen, 1, "%s", dir));
	if (!S_ISDIR(st.st_mode))
		return (spawn_fail(err, errlen, 0, "%s is not a directory",
		    dir));
	if (st.st_uid != geteuid())
		return (spawn_fail(err, errlen, 0, "%s is owned by uid %lu, not "
		    "by us (uid %lu): put the broker's socket in a directory "
		    "of your own", dir, (unsigned long)st.st_uid,
		    (unsigned long)geteuid()));
	if ((st.st_mode & 022) != 0)
		return (spawn_fail(err, errlen, 0, "%s is writable by others "
		    "(mode %04o): chmod go-w it", dir,
		    (unsigned)(st.st_mode & 07777)));
	return (0);
}

/* Takes our turn: an flock on PATH.spawn, waited for with a deadline. */
static int
spawn_lock(const char *path, char *err, size_t errlen)
{
	char	 lock[PATH_MAX];
	int	 fd, i;

	if ((size_t)snprintf(lock, sizeof(lock), "%s.spawn", path) >=
	    sizeof(lock))
		return (spawn_fail(err, errlen, 0, "path too long: %s", path));
	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return (spawn_fail(err, errlen, 1, "%s", lock));
	for (i = 0; i < SPAWN_LOCK_WAIT * 1000 / SPAWN_POLL_MS; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return (fd);
		if (errno != EWOULDBLOCK) {
			spawn_fail(err, errlen, 1, "flock %s", lock);
			close(fd);
			return (-1);
		}
		spawn_nap();
	}
	close(fd);
	return (spawn_fail(err, errlen, 0, "%s: still held after %d s", lock,
	    SPAWN_LOCK_WAIT));
}

/* Closes every fd from lowfd up, in the child before exec. */
static void
spawn_closefrom(int lowfd)
{
#ifdef HAVE_CLOSEFROM
	closefrom(lowfd);
#else
	long	max = sysconf(_SC_OPEN_MAX), fd;

	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = lowfd; fd < max; fd++)
		close((int)fd);
#endif
}

/*
 * Runs the broker and waits for the process we started to exit, which
 * it does once it listens and has daemonised (see the top).
 */
static int
spawn_run(const char *program, const char *path, char *err, size_t errlen)
{
	char	 logpath[PATH_MAX];
	pid_t	 pid, r;
	int	 status, fd, i;

	if ((size_t)snprintf(logpath, sizeof(logpath), "%s.log", path) >=
	    sizeof(logpath))
		return (spawn_fail(err, errlen, 0, "path too long: %s", path));
	switch (pid = fork()) {
	case -1:
		return (spawn_fail(err, errlen, 1, "fork"));
	case 0:
		/* Not the web server's listening socket (fd 0). */
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			dup2(fd, 1);
			if (fd > 2)
				close(fd);
		}
		/* Nor any other fd we hold (systemd's socket, at fd 3). */
		spawn_closefrom(3);
		signal(SIGPIPE, SIG_DFL);
		execl(program, program, "--socket", path, "--log-file",
		    logpath, (char *)NULL);
		fprintf(stderr, "fastsse-fcgi: cannot run %s: %s\n", program,
		    strerror(errno));
		_exit(127);
	}
	for (i = 0; i < SPAWN_START_WAIT * 1000 / SPAWN_POLL_MS; i++) {
		if ((r = waitpid(pid, &status, WNOHANG)) == -1 && errno != EINTR)
			return (spawn_fail(err, errlen, 1, "waitpid"));
		if (r == pid) {
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				return (0);
			return (spawn_fail(err, errlen, 0, "%s failed (status "
			    "%d): see %s", program, status, logpath));
		}
		spawn_nap();
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return (spawn_fail(err, errlen, 0, "%s did not start within %d s",
	    program, SPAWN_START_WAIT));
}

/*
 * Makes sure a broker answers on path, starting program when none does.
 * Returns 0, or -1 with err filled when none could be had.  *started
 * tells whether we started it.
 */
int
spawn_broker(const char *program, const char *path, int *started,
    char *err, size_t errlen)
{
	int	 lockfd, ok;

	*started = 0;
	if (*path != '/') {
		return (spawn_fail(err, errlen, 0, "--broker %s: the broker "
		    "this starts needs an absolute path", path));
	}
	if (spawn_answers(path))
		return (0);
	if (spawn_dir(path, err, errlen) == -1)
		return (-1);
	if ((lockfd = spawn_lock(path, err, errlen)) == -1)
		return (-1);
	ok = spawn_answers(path);
	if (!ok && spawn_run(program, path, err, errlen) == 0) {
		if (!(ok = spawn_answers(path)))
			spawn_fail(err, errlen, 0, "%s started, but nothing "
			    "answers on %s", program, path);
		else
			*started = 1;
	}
	close(lockfd);		/* our turn is over */
	return (ok ? 0 : -1);
}

/*
 * The broker program to start: the fastsse-broker beside our own program
 * when there is one (a site's bin directory, the build tree), else the
 * installed one.
 */
const char *
spawn_default_program(void)
{
	static char	 path[PATH_MAX];
	char		 self[PATH_MAX], *dir;
	ssize_t		 n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		dir = dirname(self);
		if ((size_t)snprintf(path, sizeof(path), "%s/fastsse-broker",
		    dir) < sizeof(path) && access(path, X_OK) == 0)
			return (path);
	}
	return (FASTSSE_SBINDIR "/fastsse-broker");
}
