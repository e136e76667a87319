/* SPDX-License-Identifier: ISC */
/*
 * One POST that publishes, from its params to its answer.  accept.c
 * reads the request; this file decides, with the pure checks of
 * publish.c, and hands the event to the broker connection (pubconn.c).
 *
 * Order of the checks, each answered at once: the key (401, before
 * anything else is said), the Idempotency-Key (400), the content type
 * (415) and the declared length (413).  Then the body is read, at most
 * PUBLISH_MAX_BODY bytes: past it 413 at once, the rest is not read.
 * The whole body is decoded (400) and published; the broker's answer
 * becomes 201 with the id, or 400 (channel, type, data), 413 (over the
 * broker's event size) or 503 with Retry-After (broker down, busy, full,
 * no answer in time).  The request keeps its --request-timeout deadline
 * in accept.c throughout; pubconn.c's own deadline is shorter.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "protodefs.h"
#include "publish.h"
#include "pubconn.h"
#include "request.h"
#include "responder.h"
#include "pubreq.h"

struct pubreq {
	struct buf	 body;		/* bounded by PUBLISH_MAX_BODY */
	enum publish_ctype ct;
	int		 json;		/* answer {"id":...} */
	char		*idem;		/* Idempotency-Key or NULL */
	char		*query;
	uint64_t	 ref;		/* pubconn's, while sent */
	void		(*cb)(void *, const struct buf *);
	void		*arg;
};

static struct publish_keys	pr_keys;
static int			pr_on;

/* Reads the key file whole (it is small) and parses it; fatal if bad. */
void
pubreq_init(const char *keyfile)
{
	struct buf	 b;
	char		 err[128];
	ssize_t		 n;
	int		 fd;

	if ((fd = open(keyfile, O_RDONLY | O_CLOEXEC)) == -1)
		fatal("--publish-key %s", keyfile);
	buf_init(&b, PUBLISH_MAX_KEYS * (PUBLISH_KEY_MAX + 2) + 4096);
	for (;;) {
		if (buf_reserve(&b, 4096) == -1)
			fatalx("--publish-key %s: file too long", keyfile);
		if ((n = read(fd, buf_tail(&b), 4096)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("--publish-key %s", keyfile);
		}
		if (n == 0)
			break;
		buf_commit(&b, (size_t)n);
	}
	close(fd);
	if (publish_keys_parse(&pr_keys, buf_used(&b) > 0 ? buf_head(&b) : "",
	    buf_used(&b), err, sizeof(err)) == -1)
		fatalx("--publish-key %s: %s", keyfile, err);
	if (buf_used(&b) > 0)
		explicit_bzero(b.data, b.cap);
	buf_free(&b);
}

/* Publishing is on from here: the broker connection is started. */
void
pubreq_start(struct ev_loop *loop, const char *broker)
{
	pr_on = 1;
	pubconn_init(loop, broker);
}

void
pubreq_shutdown(void)
{
	pubconn_shutdown();
	publish_keys_free(&pr_keys);
	pr_on = 0;
}

int
pubreq_wanted(const struct request *r)
{
	const char	*m = request_param(r, "REQUEST_METHOD");

	return (pr_on && m != NULL && strcmp(m, "POST") == 0);
}

/* out gets the error answer; NULL for the caller to return. */
static struct pubreq *
pubreq_refuse(struct buf *out, int status, const char *reason)
{
	log_debug("publish: %d: %s", status, reason);
	if (publish_error(out, status, reason) == -1)
		buf_reset(out);
	return (NULL);
}

struct pubreq *
pubreq_begin(const struct request *r, struct buf *out)
{
	struct pubreq	*p;
	const char	*v, *auth = request_param(r, "HTTP_AUTHORIZATION");
	char		*end;
	unsigned long long len;

	if (auth == NULL)
		return (pubreq_refuse(out, 401, "a publish key is needed: "
		    "Authorization: Bearer KEY"));
	if (!publish_keys_check(&pr_keys, auth))
		return (pubreq_refuse(out, 401, "wrong publish key"));
	v = request_param(r, "HTTP_IDEMPOTENCY_KEY");
	if (v != NULL && !publish_idem_ok(v))
		return (pubreq_refuse(out, 400, "Idempotency-Key: 1 to 255 "
		    "visible ASCII characters"));
	if (publish_ctype(request_param(r, "CONTENT_TYPE")) ==
	    PUBLISH_CT_OTHER)
		return (pubreq_refuse(out, 415, "content type must be "
		    "text/plain, application/json or "
		    "application/x-www-form-urlencoded"));
	if ((v = request_param(r, "CONTENT_LENGTH")) != NULL && *v != '\0') {
		errno = 0;
		len = strtoull(v, &end, 10);
		if (*end != '\0' || errno != 0 || *v == '-')
			return (pubreq_refuse(out, 400, "bad Content-Length"));
		if (len > PUBLISH_MAX_BODY)
			return (pubreq_refuse(out, 413, "body over 262144 "
			    "bytes"));
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (pubreq_refuse(out, 503, "out of memory"));
	buf_init(&p->body, PUBLISH_MAX_BODY);
	p->ct = publish_ctype(request_param(r, "CONTENT_TYPE"));
	p->json = publish_accepts_json(request_param(r, "HTTP_ACCEPT"));
	v = request_param(r, "HTTP_IDEMPOTENCY_KEY");
	if ((v != NULL && (p->idem = strdup(v)) == NULL) ||
	    (p->query = strdup((v = request_param(r, "QUERY_STRING")) != NULL ?
	    v : "")) == NULL) {
		pubreq_free(p);
		return (pubreq_refuse(out, 503, "out of memory"));
	}
	return (p);
}

struct buf *
pubreq_body(struct pubreq *p)
{
	return (&p->body);
}

int
pubreq_body_check(struct pubreq *p, uint64_t body, struct buf *out)
{
	(void)p;
	if (body <= PUBLISH_MAX_BODY)
		return (0);
	pubreq_refuse(out, 413, "body over 262144 bytes");
	return (-1);
}

/* The broker's error code as an HTTP status. */
static int
pubreq_status(int code)
{
	switch (code) {
	case PROTO_E_CHANNEL:
	case PROTO_E_TYPE:
	case PROTO_E_DATA:
	case PROTO_E_MALFORMED:
		return (400);
	case PROTO_E_TOO_BIG:
		return (413);
	case PROTO_E_ROLE:
		return (500);
	default:
		return (503);	/* busy, too many channels, internal, store */
	}
}

/* The broker answered (or could not): the answer goes to accept.c. */
static void
pubreq_done_cb(void *arg, int result, const char *text, size_t len)
{
	struct pubreq	*p = arg;
	struct buf	 b;
	char		 reason[256];

	p->ref = 0;
	buf_init(&b, 0);
	if (result == PUBCONN_OK) {
		if (publish_created(&b, text, len, p->json) == -1)
			buf_reset(&b);
	} else {
		snprintf(reason, sizeof(reason), "%s%.*s",
		    result < 0 ? "broker unavailable: " : "", (int)len, text);
		pubreq_refuse(&b, result < 0 ? 503 : pubreq_status(result),
		    reason);
	}
	p->cb(p->arg, &b);	/* may free p */
	buf_free(&b);
}

int
pubreq_send(struct pubreq *p, struct buf *out,
    void (*cb)(void *, const struct buf *), void *arg)
{
	struct publish_msg	 m;
	char			 err[128];
	int			 st, result;

	publish_msg_init(&m);
	if ((st = publish_decode(&m, p->query, conf.channel_param, p->ct,
	    buf_used(&p->body) > 0 ? buf_head(&p->body) : "",
	    buf_used(&p->body), err, sizeof(err))) != 0) {
		pubreq_refuse(out, st, err);
		publish_msg_free(&m);
		return (-1);
	}
	p->cb = cb;
	p->arg = arg;
	p->ref = pubconn_publish(buf_head(&m.channel), buf_used(&m.channel) - 1,
	    buf_used(&m.type) > 1 ? buf_head(&m.type) : NULL,
	    buf_used(&m.type) > 1 ? buf_used(&m.type) - 1 : 0,
	    buf_used(&m.data) > 0 ? buf_head(&m.data) : "",
	    buf_used(&m.data) > 0 ? buf_used(&m.data) - 1 : 0,
	    p->idem, p->idem != NULL ? strlen(p->idem) : 0,
	    pubreq_done_cb, p, &result);
	publish_msg_free(&m);
	if (p->ref == 0) {
		pubreq_refuse(out, 503, result == PUBCONN_FULL ?
		    "too many publishes waiting for the broker" :
		    "broker unavailable");
		return (-1);
	}
	return (0);
}

void
pubreq_free(struct pubreq *p)
{
	if (p == NULL)
		return;
	pubconn_cancel(p->ref);
	buf_free(&p->body);
	free(p->idem);
	free(p->query);
	free(p);
}
