/* SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <string.h>

#include <fastsse.h>

int
main(void)
{
	char		 err[256], id[64];
	struct fastsse	*c;

	/* NULL: $FASTSSE_SOCKET, else /run/fastsse/fastsse.sock */
	if ((c = fastsse_connect(NULL, FASTSSE_ROLE_PUBLISHER, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "connect: %s\n", err);
		return (1);
	}
	if (fastsse_publish(c, "news", "update", "{\"price\":42}", 12, id,
	    sizeof(id)) == -1) {
		fprintf(stderr, "publish: %s\n", fastsse_error(c));
		fastsse_close(c);
		return (1);
	}
	printf("published as %s\n", id);
	fastsse_close(c);
	return (0);
}
