/* SPDX-License-Identifier: ISC */
/*
 * broker/redisurl.c: the --redis URL.  Valid shapes give the right host,
 * port, path, db and password; invalid ones are refused with a reason that
 * never shows the password; every truncation of a valid URL is parsed or
 * refused cleanly; oversized parts are refused, not truncated; random
 * input never crashes.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redisurl.h"
#include "tap.h"

static void
valid(void)
{
	struct redisurl	 u;
	char		 err[256], d[512];

	ok(redisurl_parse(&u, "redis://localhost", err, sizeof(err)) == 0 &&
	    !u.is_unix && strcmp(u.host, "localhost") == 0 && u.port == 6379 &&
	    u.db == 0 && !u.has_password, "host only: port 6379, db 0");
	ok(redisurl_parse(&u, "redis://127.0.0.1:6380", err, sizeof(err)) ==
	    0 && strcmp(u.host, "127.0.0.1") == 0 && u.port == 6380,
	    "host and port");
	ok(redisurl_parse(&u, "redis://127.0.0.1:6380/3", err, sizeof(err)) ==
	    0 && u.port == 6380 && u.db == 3, "host, port and db");
	ok(redisurl_parse(&u, "redis://h/", err, sizeof(err)) == 0 &&
	    u.db == 0, "a trailing / is db 0");
	ok(redisurl_parse(&u, "redis://h/15", err, sizeof(err)) == 0 &&
	    u.port == 6379 && u.db == 15, "db without port");
	ok(redisurl_parse(&u, "redis://:s3cret@h:1", err, sizeof(err)) == 0 &&
	    u.has_password && strcmp(u.password, "s3cret") == 0 &&
	    u.password_len == 6 && u.port == 1, "password");
	ok(redisurl_parse(&u, "redis://:a%40b%3Ac%2fd%25@h", err, sizeof(err))
	    == 0 && strcmp(u.password, "a@b:c/d%") == 0, "%%-escapes decoded");
	ok(redisurl_parse(&u, "redis://:p@ss@h", err, sizeof(err)) == 0 &&
	    strcmp(u.password, "p@ss") == 0 && strcmp(u.host, "h") == 0,
	    "the last @ ends the password");
	ok(redisurl_parse(&u, "redis://:a%00b@h", err, sizeof(err)) == 0 &&
	    u.password_len == 3 && memcmp(u.password, "a\0b", 3) == 0,
	    "a NUL byte in the password keeps its length");
	ok(redisurl_parse(&u, "redis://:@h", err, sizeof(err)) == 0 &&
	    !u.has_password, "an empty password is none");
	ok(redisurl_parse(&u, "redis://[::1]:7000/2", err, sizeof(err)) == 0 &&
	    strcmp(u.host, "::1") == 0 && u.port == 7000 && u.db == 2,
	    "IPv6 in brackets");
	ok(redisurl_parse(&u, "redis://h:65535/2147483647", err, sizeof(err))
	    == 0 && u.port == 65535 && u.db == INT_MAX, "largest port and db");
	ok(redisurl_parse(&u, "unix:/run/redis/redis.sock", err, sizeof(err))
	    == 0 && u.is_unix && strcmp(u.path, "/run/redis/redis.sock") == 0 &&
	    u.db == 0, "unix socket");
	ok(redisurl_parse(&u, "unix:/tmp/r.sock?db=7", err, sizeof(err)) == 0 &&
	    u.is_unix && strcmp(u.path, "/tmp/r.sock") == 0 && u.db == 7,
	    "unix socket with db");

	redisurl_parse(&u, "redis://:secret@example.org:6380/4", err,
	    sizeof(err));
	redisurl_describe(&u, d, sizeof(d));
	is_str(d, "example.org:6380 db 4", "described without the password");
	redisurl_parse(&u, "redis://[::1]", err, sizeof(err));
	redisurl_describe(&u, d, sizeof(d));
	is_str(d, "[::1]:6379", "IPv6 described in brackets");
	redisurl_parse(&u, "unix:/x.sock", err, sizeof(err));
	redisurl_describe(&u, d, sizeof(d));
	is_str(d, "unix:/x.sock", "unix socket described");
}

static void
invalid(void)
{
	static const char *bad[] = {
		"", "redis://", "redis:/h", "rediss://h", "http://h", "h:6379",
		"REDIS://h", "redis://h:", "redis://h:0", "redis://h:65536",
		"redis://h:-1", "redis://h:+1", "redis://h:6379x",
		"redis://h:99999999999999999999", "redis://h/x", "redis://h/-1",
		"redis://h/1/2", "redis://h/2147483648", "redis://h?db=1",
		"redis://h#x", "redis://user:pw@h", "redis://pw@h",
		"redis://:pw@", "redis://:pw@:6379", "redis://[::1",
		"redis://[]:1", "redis://::1", "redis://h h", "redis://h\x01",
		"redis://:%4@h", "redis://:%zz@h", "redis://:%@h",
		"redis://a/b@c", "unix:", "unix:relative.sock", "unix:/s?db=",
		"unix:/s?db=x", "unix:/s?foo=1", "unix:/s?db=1&x=2",
		"unix:/s?db=-1", "unix://s",
	};
	struct redisurl	 u;
	char		 err[256];
	size_t		 i;
	int		 good = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (redisurl_parse(&u, bad[i], err, sizeof(err)) != -1 ||
		    err[0] == '\0') {
			tap_diag("not refused with a reason: \"%s\"", bad[i]);
			good = 0;
		}
	}
	ok(good, "%zu invalid URLs refused, each with a reason",
	    sizeof(bad) / sizeof(bad[0]));
	ok(redisurl_parse(&u, NULL, err, sizeof(err)) == -1, "NULL refused");

	redisurl_parse(&u, "redis://user:hunter2@h", err, sizeof(err));
	ok(strstr(err, "hunter2") == NULL, "the reason hides the password");
	redisurl_parse(&u, "redis://:hunter2@h:0", err, sizeof(err));
	ok(strstr(err, "hunter2") == NULL && !u.has_password &&
	    u.password[0] == '\0', "a refused URL keeps no password");
	redisurl_parse(&u, "rediss://h", err, sizeof(err));
	ok(strstr(err, "redis://") != NULL, "an unknown scheme names the "
	    "accepted shapes: %s", err);
	redisurl_parse(&u, "redis://h:0", err, sizeof(err));
	ok(strstr(err, "port") != NULL, "a bad port says port: %s", err);
}

static void
oversized(void)
{
	struct redisurl	 u;
	char		 err[256], *s;
	size_t		 n;

	s = malloc(REDISURL_MAX_LEN + 64);
	if (s == NULL)
		abort();
	/* host exactly at the bound, and one over */
	n = (size_t)snprintf(s, 64, "redis://");
	memset(s + n, 'a', REDISURL_HOST_MAX);
	s[n + REDISURL_HOST_MAX] = '\0';
	ok(redisurl_parse(&u, s, err, sizeof(err)) == 0 &&
	    strlen(u.host) == REDISURL_HOST_MAX, "host of %d bytes",
	    REDISURL_HOST_MAX);
	memcpy(s + n + REDISURL_HOST_MAX, "a", 2);
	ok(redisurl_parse(&u, s, err, sizeof(err)) == -1, "host of %d: "
	    "refused", REDISURL_HOST_MAX + 1);

	/* socket path at the bound and one over */
	n = (size_t)snprintf(s, 64, "unix:/");
	memset(s + n, 'p', REDISURL_PATH_MAX - 1);
	s[n + REDISURL_PATH_MAX - 1] = '\0';
	ok(redisurl_parse(&u, s, err, sizeof(err)) == 0 &&
	    strlen(u.path) == REDISURL_PATH_MAX, "path of %d bytes",
	    REDISURL_PATH_MAX);
	memcpy(s + n + REDISURL_PATH_MAX - 1, "p?db=1", 7);
	ok(redisurl_parse(&u, s, err, sizeof(err)) == -1, "path of %d: "
	    "refused", REDISURL_PATH_MAX + 1);

	/* password at the bound (escaped, so longer in the URL), one over */
	n = (size_t)snprintf(s, 64, "redis://:");
	for (size_t i = 0; i < REDISURL_PASSWORD_MAX; i++, n += 3)
		memcpy(s + n, "%41", 3);
	memcpy(s + n, "@h", 3);
	ok(redisurl_parse(&u, s, err, sizeof(err)) == 0 &&
	    u.password_len == REDISURL_PASSWORD_MAX && u.password[0] == 'A' &&
	    u.password[REDISURL_PASSWORD_MAX] == '\0', "password of %d bytes",
	    REDISURL_PASSWORD_MAX);
	memcpy(s + n, "B@h", 4);
	ok(redisurl_parse(&u, s, err, sizeof(err)) == -1, "password of %d: "
	    "refused", REDISURL_PASSWORD_MAX + 1);

	/* the whole URL at its bound (a long db of zeros), one over */
	n = (size_t)snprintf(s, 64, "redis://h/");
	memset(s + n, '0', REDISURL_MAX_LEN - n);
	s[REDISURL_MAX_LEN] = '\0';
	ok(redisurl_parse(&u, s, err, sizeof(err)) == 0 && u.db == 0,
	    "URL of %d bytes", REDISURL_MAX_LEN);
	s[REDISURL_MAX_LEN] = '0';
	s[REDISURL_MAX_LEN + 1] = '\0';
	ok(redisurl_parse(&u, s, err, sizeof(err)) == -1 &&
	    strstr(err, "longer") != NULL, "URL of %d: refused",
	    REDISURL_MAX_LEN + 1);

	/* a small error buffer is never overrun (ASan watches) */
	ok(redisurl_parse(&u, "nope", err, 8) == -1 && strlen(err) == 7,
	    "the reason is cut to the caller's buffer");
	free(s);
}

/*
 * Every prefix of a valid URL: parsed or refused with a reason, and when
 * parsed, a prefix of the full result (no byte from beyond the cut).
 */
static void
truncations(void)
{
	static const char *urls[] = {
		"redis://:p%40ss@example.org:6380/12",
		"redis://[::1]:7000/2", "unix:/tmp/redis.sock?db=3",
	};
	struct redisurl	 u;
	char		 err[256], cut[128];
	size_t		 i, n, accepted = 0, refused = 0;
	int		 good = 1;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		for (n = 0; n < strlen(urls[i]); n++) {
			memcpy(cut, urls[i], n);
			cut[n] = '\0';
			err[0] = '\0';
			if (redisurl_parse(&u, cut, err, sizeof(err)) == 0) {
				accepted++;
				if (u.is_unix ? strstr(cut, u.path) == NULL :
				    strstr(cut, u.host) == NULL) {
					tap_diag("\"%s\": host/path not in "
					    "the input", cut);
					good = 0;
				}
			} else {
				refused++;
				if (err[0] == '\0') {
					tap_diag("\"%s\": refused without a "
					    "reason", cut);
					good = 0;
				}
			}
		}
	}
	ok(good, "every truncation parsed or refused cleanly (%zu parsed, "
	    "%zu refused)", accepted, refused);
	ok(redisurl_parse(&u, "redis://:p%40ss@example.org:6380/1", err,
	    sizeof(err)) == 0 && u.db == 1, "a cut db is a smaller db");
	ok(redisurl_parse(&u, "redis://:p%40ss@example.org:63", err,
	    sizeof(err)) == 0 && u.port == 63, "a cut port is another port");
	ok(redisurl_parse(&u, "redis://:p%4", err, sizeof(err)) == -1,
	    "a cut inside the userinfo is refused");
}

/* Random bytes and random mixes of URL characters: no crash, no overrun. */
static void
random_input(void)
{
	static const char alpha[] = "redis:/unix?db=@%[]:0123456789abcAF.-_ ";
	struct redisurl	 u;
	char		 err[256], s[96];
	int		 i, j, n, good = 1;

	srand(1);
	for (i = 0; i < 200000; i++) {
		n = rand() % (int)sizeof(s);
		if (i % 2 == 0) {
			memcpy(s, i % 4 == 0 ? "redis://" : "unix:/tm", 8);
			for (j = 8; j < n; j++)
				s[j] = alpha[rand() % (int)(sizeof(alpha) - 1)];
		} else
			for (j = 0; j < n; j++)
				s[j] = (char)(1 + rand() % 255);
		s[n < 8 ? 8 : n] = '\0';
		if (redisurl_parse(&u, s, err, sizeof(err)) == 0) {
			if (strlen(u.host) > REDISURL_HOST_MAX ||
			    strlen(u.path) > REDISURL_PATH_MAX ||
			    (!u.is_unix && (u.port < 1 || u.port > 65535)) ||
			    u.db < 0)
				good = 0;
		} else if (err[0] == '\0')
			good = 0;
	}
	ok(good, "200000 random inputs: parsed within bounds or refused");
}

int
main(void)
{
	valid();
	invalid();
	oversized();
	truncations();
	random_input();
	tap_done();
	return (tap_exit_status());
}
