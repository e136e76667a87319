/* SPDX-License-Identifier: ISC */
/*
 * The one logging API of fastsse, after OpenBSD's log.c: stderr in the
 * foreground, syslog as a daemon; messages name the function that logs.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

void	log_init(const char *, int, int);
void	log_setverbose(int);
int	log_file(const char *);
void	log_sighup(void);
void	log_syslog(void);
int	log_getverbose(void);
void	log_warn_(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warnx_(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_info_(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_debug_(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	fatal_(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	fatalx_(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

/* log_warn and fatal append strerror(errno); the x variants do not. */
#define log_warn(...)	log_warn_(__func__, __VA_ARGS__)
#define log_warnx(...)	log_warnx_(__func__, __VA_ARGS__)
#define log_info(...)	log_info_(__func__, __VA_ARGS__)
#define log_debug(...)	log_debug_(__func__, __VA_ARGS__)
#define fatal(...)	fatal_(__func__, __VA_ARGS__)
#define fatalx(...)	fatalx_(__func__, __VA_ARGS__)

#endif
