/* SPDX-License-Identifier: ISC */
/*
 * shared/optnum.c and shared/sockpath.c: option numbers within their
 * range, digits only; octal modes; socket paths that fit sun_path and ones that do not;
 * the default path and $FASTSSE_SOCKET.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "optnum.h"
#include "sockpath.h"
#include "tap.h"

int
main(void)
{
	static const char	*bad[] = { "", "-1", "+1", " 1", "1 ", "1k",
	    "0x10", "18446744073709551616", "abc" };
	struct sockaddr_un	 sun;
	unsigned long long	 v = 7;
	unsigned long		 m;
	char			 path[sizeof(sun.sun_path) + 1];
	size_t			 i;
	int			 good = 1, compiled;

	ok(optnum_parse("0", 0, 10, &v) == 0 && v == 0, "0 in [0, 10]");
	ok(optnum_parse("10", 0, 10, &v) == 0 && v == 10, "10 in [0, 10]");
	ok(optnum_parse("18446744073709551615", 0, ~0ULL, &v) == 0 &&
	    v == ~0ULL, "the largest value");
	v = 7;
	ok(optnum_parse("11", 0, 10, &v) == -1 && v == 7,
	    "over the range: refused, untouched");
	ok(optnum_parse("0", 1, 10, &v) == -1, "under the range: refused");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (optnum_parse(bad[i], 0, ~0ULL, &v) != -1) {
			tap_diag("accepted \"%s\"", bad[i]);
			good = 0;
		}
	ok(good, "signs, spaces, suffixes, overflow and words refused");
	ok(optnum_mode("0660", &m) == 0 && m == 0660 &&
	    optnum_mode("777", &m) == 0 && m == 0777, "octal modes");
	ok(optnum_mode("1000", &m) == -1 && optnum_mode("8", &m) == -1 &&
	    optnum_mode("", &m) == -1 && optnum_mode("-1", &m) == -1 &&
	    optnum_mode("66x", &m) == -1, "a mode over 0777 or not octal");

	memset(path, 'p', sizeof(path));
	path[sizeof(sun.sun_path) - 1] = '\0';
	ok(sockpath_addr(&sun, path) == 0 && sun.sun_family == AF_UNIX &&
	    strcmp(sun.sun_path, path) == 0, "the longest path that fits");
	path[sizeof(sun.sun_path) - 1] = 'p';
	path[sizeof(sun.sun_path)] = '\0';
	ok(sockpath_addr(&sun, path) == -1, "one byte more is refused");
	unsetenv(SOCKPATH_ENV);
	ok(strcmp(sockpath_default(&compiled), SOCKPATH_DEFAULT) == 0 &&
	    compiled, "default: " SOCKPATH_DEFAULT);
	setenv(SOCKPATH_ENV, "", 1);
	ok(strcmp(sockpath_default(&compiled), SOCKPATH_DEFAULT) == 0 &&
	    compiled, "an empty $" SOCKPATH_ENV " is not set");
	setenv(SOCKPATH_ENV, "/tmp/x.sock", 1);
	ok(strcmp(sockpath_default(&compiled), "/tmp/x.sock") == 0 &&
	    !compiled, "$" SOCKPATH_ENV " wins over the default");
	tap_done();
	return (tap_exit_status());
}
