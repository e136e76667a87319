/* SPDX-License-Identifier: ISC */
/*
 * Logging: to stderr when in the foreground, to syslog otherwise (or
 * always, after log_syslog), or to a file (log_file) which SIGHUP
 * reopens, so logrotate can move it away.  Debug messages appear only
 * when verbose.  Every message is prefixed with the name of the function
 * that logged it, so a line in a log leads straight to the code.
 *
 * Bounds: a message is cut at 1 KiB; a file path at PATH_MAX (longer is
 * refused by log_file).  A file that cannot be reopened on SIGHUP keeps
 * the old one (the failed reopen is counted in log_reopen_failures and
 * said in the next line written).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	 log_foreground = 1;
static int	 log_verbose;
static int	 log_to_syslog;
static const char *log_name = "fastsse";
static char	 log_path[PATH_MAX];
static volatile sig_atomic_t log_fd = -1;
static volatile sig_atomic_t log_reopen_failures;

#define LOG_FILE_FLAGS	(O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY)
#define LOG_FILE_MODE	0640

/*
 * Logs to path from now on (appending; created 0640).  -1 with errno when
 * it cannot be opened or the path is too long.
 */
int
log_file(const char *path)
{
	int	fd;

	if (strlen(path) >= sizeof(log_path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((fd = open(path, LOG_FILE_FLAGS, LOG_FILE_MODE)) == -1)
		return (-1);
	strcpy(log_path, path);
	if (log_fd != -1)
		close(log_fd);
	log_fd = fd;
	return (0);
}

/*
 * The SIGHUP handler: reopens the log file.  Only async-signal-safe calls
 * (open, dup2, close); dup2 swaps the descriptor in one step, so a line
 * being written goes whole to the old file or the new.
 */
static void
log_hup(int sig)
{
	int	fd, saved = errno;

	(void)sig;
	if (log_fd != -1 && log_path[0] != '\0') {
		if ((fd = open(log_path, LOG_FILE_FLAGS, LOG_FILE_MODE)) == -1)
			log_reopen_failures++;
		else {
			if (dup2(fd, log_fd) == -1)
				log_reopen_failures++;
			close(fd);
		}
	}
	errno = saved;
}

/*
 * SIGHUP reopens the log file (and does nothing else, so a stray SIGHUP
 * never stops a daemon).  Call before any other thread starts.
 */
void
log_sighup(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = log_hup;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
}

/* Logs to syslog even in the foreground (unless to a file). */
void
log_syslog(void)
{
	log_to_syslog = 1;
	openlog(log_name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Sets the program name, where messages go and how much is said. */
void
log_init(const char *name, int foreground, int verbose)
{
	log_name = name;
	log_foreground = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return (log_verbose);
}

/* Writes a formatted line, cut to its buffer; a failed write is lost. */
static void
log_write_line(char *line, size_t n, size_t size)
{
	if (n >= size) {
		n = size - 1;
		line[n - 1] = '\n';
	}
	if (write(log_fd, line, n) == -1)
		return;		/* nowhere left to say it */
}

/* One line to the log file, with the time (UTC) and the process. */
static void
log_write_file(const char *msg)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 line[1200], stamp[32];
	int		 n, fails;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if ((fails = log_reopen_failures) != 0) {
		log_reopen_failures = 0;
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%ld]: log_hup: "
		    "could not reopen %s (%d time(s)): still writing here\n",
		    stamp, ts.tv_nsec / 1000000, log_name, (long)getpid(),
		    log_path, fails);
		if (n > 0)
			log_write_line(line, (size_t)n, sizeof(line));
	}
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%ld]: %s\n", stamp,
	    ts.tv_nsec / 1000000, log_name, (long)getpid(), msg);
	if (n > 0)
		log_write_line(line, (size_t)n, sizeof(line));
}

static void
log_vwrite(int pri, const char *func, int errnum, const char *fmt, va_list ap)
{
	char	msg[1024];
	int	n;

	n = snprintf(msg, sizeof(msg), "%s: ", func);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	if (errnum != 0) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	}
	if (log_fd != -1)
		log_write_file(msg);
	else if (log_foreground && !log_to_syslog)
		fprintf(stderr, "%s: %s\n", log_name, msg);
	else
		syslog(pri, "%s", msg);
}

void
log_warn_(const char *func, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, func, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx_(const char *func, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, func, 0, fmt, ap);
	va_end(ap);
}

void
log_info_(const char *func, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, func, 0, fmt, ap);
	va_end(ap);
}

void
log_debug_(const char *func, const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, func, 0, fmt, ap);
	va_end(ap);
}

void
fatal_(const char *func, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, func, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx_(const char *func, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, func, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
