/*
 * The broker's socket path.  Bound: a path must fit sun_path (108 bytes
 * on Linux, NUL included); a longer one is refused (-1), never cut, so
 * nobody connects to or creates a socket at another path.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

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
