/* SPDX-License-Identifier: ISC */
/*
 * The broker's connection to Redis (redisconn.h): hiredis 0.14 async
 * contexts on the broker's libev loop, with the timeouts, the reconnection
 * and the loading retry that hiredis 0.14 does not have.
 *
 * States: DOWN (waiting for the retry timer), HANDSHAKE (contexts made,
 * AUTH/SELECT/FUNCTION LOAD/PING pipelined on the command context, AUTH and
 * SUBSCRIBE on the subscriber context), UP.  Any failure in any state drops
 * both contexts (hiredis then calls every pending reply callback with NULL)
 * and arms the retry timer: 0.1 s, doubled per failed attempt up to 2 s,
 * back to 0.1 s once up.  `down` is called only on leaving UP, after the
 * pending callbacks; `up` only on entering it.
 *
 * Bounds and policy:
 *   - pending commands: at most REDISCONN_MAX_PENDING awaiting replies;
 *     past it a command is refused (-1, nothing called) and counted in
 *     `refused`.  So hiredis's output buffer holds at most that many
 *     commands, each bounded by its caller (the broker's frame limit).
 *   - time: connecting and the whole handshake get `timeout` seconds (the
 *     connect timer); each command gets `timeout` seconds from when it was
 *     issued (the pending FIFO is in issue order, so one timer watching its
 *     head serves all).  Past either, both contexts are dropped (counted in
 *     `timeouts`) and every pending command gets NULL.  While up and idle
 *     a PING every REDISCONN_PING_INTERVAL seconds puts a command under a
 *     deadline, so a stopped or unreachable Redis is noticed without
 *     traffic.
 *   - replies: as large as the commands asked for (callers bound them, e.g.
 *     XRANGE ... COUNT); hiredis keeps none after its callback returns, and
 *     neither does this file.
 *   - pub/sub messages arriving before `up` (between the SUBSCRIBE
 *     confirmation and the end of the handshake) are not passed on: the
 *     caller catches up from Redis after `up`, which covers them.
 *   - errors: any error reply during the handshake (wrong password,
 *     -LOADING, a library Redis refuses) or any I/O error drops the
 *     connection and retries after the backoff, counted in `errors`.
 *     The first failure of an outage is logged with log_warnx; the
 *     following ones only with log_debug; coming back is logged with
 *     log_info and how long it took.
 *
 * A TCP host name is resolved by hiredis 0.14 with a blocking getaddrinfo
 * at each connect: use an address or a Unix socket where that matters.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>

#include "log.h"
#include "redisconn.h"

#define REDISCONN_PING_INTERVAL	1.0	/* seconds, while up and idle */

enum redisconn_state {
	REDISCONN_DOWN,
	REDISCONN_HANDSHAKE,
	REDISCONN_UP,
};

/* One command awaiting its reply, in the pending FIFO in issue order. */
struct redisconn_req {
	TAILQ_ENTRY(redisconn_req)	 entry;
	struct redisconn		*rc;
	redisconn_reply_cb		 cb;
	void				*arg;
	ev_tstamp			 start;
};
TAILQ_HEAD(redisconn_reqs, redisconn_req);

struct redisconn {
	struct ev_loop		*loop;
	struct redisconn_cbs	 cbs;
	void			*arg;

	struct redisurl		 url;
	char			*password;	/* NULL: no AUTH */
	size_t			 password_len;
	char			*library;
	char			*subscribe;
	double			 timeout;
	char			 where[REDISURL_HOST_MAX + REDISURL_PATH_MAX + 32];

	enum redisconn_state	 state;
	redisAsyncContext	*cmd;
	redisAsyncContext	*sub;
	int			 cmd_ready;	/* handshake PING answered */
	int			 sub_ready;	/* SUBSCRIBE confirmed */

	struct redisconn_reqs	 pending;
	size_t			 npending;

	ev_timer		 connect_timer;
	ev_timer		 deadline_timer;
	ev_timer		 retry_timer;
	ev_timer		 ping_timer;
	double			 backoff;

	int			 ever_up;
	int			 outage_logged;
	ev_tstamp		 down_since;
	int			 depth;		/* inside a caller's callback */

	struct redisconn_stats	 st;
};

static void	redisconn_connect(struct redisconn *);
static void	redisconn_drop(struct redisconn *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* A reply (or NULL) for one of our commands: unlink it, then tell its owner. */
static void
redisconn_hiredis_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redisconn_req	*req = privdata;
	struct redisconn	*rc = req->rc;
	redisconn_reply_cb	 cb = req->cb;
	void			*arg = req->arg;

	(void)ac;
	TAILQ_REMOVE(&rc->pending, req, entry);
	rc->npending--;
	free(req);
	rc->depth++;
	cb(r, arg);
	rc->depth--;
}

/*
 * A pending entry for a command about to be sent on the command context,
 * or NULL (counted) at the bound.  The caller hands it to hiredis and then
 * to redisconn_req_sent, whatever hiredis answered.
 */
static struct redisconn_req *
redisconn_req_new(struct redisconn *rc, redisconn_reply_cb cb, void *arg)
{
	struct redisconn_req	*req;

	if (rc->cmd == NULL)
		return (NULL);
	if (rc->npending >= REDISCONN_MAX_PENDING) {
		rc->st.refused++;
		return (NULL);
	}
	if ((req = malloc(sizeof(*req))) == NULL) {
		log_warn("malloc");
		return (NULL);
	}
	req->rc = rc;
	req->cb = cb;
	req->arg = arg;
	req->start = ev_now(rc->loop);
	return (req);
}

/*
 * Arms the deadline timer for the oldest pending command: its own start
 * plus the timeout, never the newest command's.  The timer may have
 * expired in this loop iteration with its callback still to run, and a
 * command sent by another callback first must not push the head's
 * deadline back by a whole timeout (a publish sent just after Redis
 * stopped was answered after twice the timeout).
 */
static void
redisconn_deadline_arm(struct redisconn *rc)
{
	struct redisconn_req	*req;
	ev_tstamp		 left;

	ev_timer_stop(rc->loop, &rc->deadline_timer);
	if ((req = TAILQ_FIRST(&rc->pending)) == NULL)
		return;
	left = req->start + rc->timeout - ev_now(rc->loop);
	ev_timer_set(&rc->deadline_timer, left > 0. ? left : 0., 0.);
	ev_timer_start(rc->loop, &rc->deadline_timer);
}

/* Puts a sent command in the pending FIFO under the deadline. */
static int
redisconn_req_sent(struct redisconn *rc, struct redisconn_req *req, int rv)
{
	if (rv != REDIS_OK) {
		free(req);
		return (-1);
	}
	TAILQ_INSERT_TAIL(&rc->pending, req, entry);
	rc->npending++;
	if (!ev_is_active(&rc->deadline_timer))
		redisconn_deadline_arm(rc);
	return (0);
}

/*
 * Sends one command on the command context, in any state but DOWN (the
 * handshake uses it too), so callers check the state.
 */
static int
redisconn_sendargv(struct redisconn *rc, redisconn_reply_cb cb, void *arg,
    int argc, const char **argv, const size_t *argvlen)
{
	struct redisconn_req	*req;

	if ((req = redisconn_req_new(rc, cb, arg)) == NULL)
		return (-1);
	return (redisconn_req_sent(rc, req, redisAsyncCommandArgv(rc->cmd,
	    redisconn_hiredis_cb, req, argc, argv, argvlen)));
}

/*
 * Commands that would turn the command context into a subscriber or a
 * monitor: hiredis 0.14 would then call one callback many times (or never)
 * and the pending FIFO would lose its one-reply-per-command rule.
 */
static int
redisconn_forbidden(const char *name, size_t len)
{
	static const char	*no[] = { "SUBSCRIBE", "PSUBSCRIBE",
	    "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
	    "MONITOR" };
	size_t			 i;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (len == strlen(no[i]) && strncasecmp(name, no[i], len) == 0)
			return (1);
	return (0);
}

int
redisconn_command(struct redisconn *rc, redisconn_reply_cb cb, void *arg,
    const char *fmt, ...)
{
	struct redisconn_req	*req;
	va_list			 ap;
	int			 rv;

	if (rc->state != REDISCONN_UP ||
	    redisconn_forbidden(fmt, strcspn(fmt, " ")) ||
	    (req = redisconn_req_new(rc, cb, arg)) == NULL)
		return (-1);
	va_start(ap, fmt);
	rv = redisvAsyncCommand(rc->cmd, redisconn_hiredis_cb, req, fmt, ap);
	va_end(ap);
	return (redisconn_req_sent(rc, req, rv));
}

int
redisconn_commandargv(struct redisconn *rc, redisconn_reply_cb cb, void *arg,
    int argc, const char **argv, const size_t *argvlen)
{
	if (rc->state != REDISCONN_UP || argc < 1 ||
	    redisconn_forbidden(argv[0], argvlen[0]))
		return (-1);
	return (redisconn_sendargv(rc, cb, arg, argc, argv, argvlen));
}

/*
 * Both contexts ready: the caller may send commands and must (re)start
 * whatever depends on the subscription.
 */
static void
redisconn_maybe_up(struct redisconn *rc)
{
	ev_tstamp	 now = ev_now(rc->loop);

	if (rc->state != REDISCONN_HANDSHAKE || !rc->cmd_ready ||
	    (rc->subscribe != NULL && !rc->sub_ready))
		return;
	rc->state = REDISCONN_UP;
	ev_timer_stop(rc->loop, &rc->connect_timer);
	rc->backoff = REDISCONN_BACKOFF_MIN;
	rc->st.connects++;
	if (rc->ever_up)
		rc->st.reconnects++;
	if (rc->outage_logged)
		log_info("redis %s: connected after %.1f s", rc->where,
		    now - rc->down_since);
	else
		log_info("redis %s: connected", rc->where);
	rc->outage_logged = 0;
	rc->ever_up = 1;
	ev_timer_again(rc->loop, &rc->ping_timer);
	if (rc->cbs.up != NULL) {
		rc->depth++;
		rc->cbs.up(rc->arg);
		rc->depth--;
	}
}

/* An error reply during the handshake: what it means, for the log. */
static const char *
redisconn_hint(const redisReply *r)
{
	if (strncmp(r->str, "LOADING", 7) == 0 ||
	    strstr(r->str, "loading") != NULL)
		return ("Redis is loading its data");
	if (strncmp(r->str, "NOAUTH", 6) == 0)
		return ("Redis needs a password (--redis-password-file)");
	if (strncmp(r->str, "WRONGPASS", 9) == 0 ||
	    strstr(r->str, "invalid password") != NULL)
		return ("wrong password");
	return ("handshake refused");
}

/*
 * The handshake steps on the command context (AUTH, SELECT, FUNCTION
 * LOAD): anything but an error moves on; an error drops the connection.
 * NULL means the connection is already being dropped.
 */
static void
redisconn_step_cb(const redisReply *r, void *arg)
{
	struct redisconn	*rc = arg;

	if (r == NULL || rc->state != REDISCONN_HANDSHAKE)
		return;
	if (r->type == REDIS_REPLY_ERROR)
		redisconn_drop(rc, 0, "%s: %.200s", redisconn_hint(r), r->str);
}

/* The last handshake step: PING answered, so every step before it was. */
static void
redisconn_ping_done_cb(const redisReply *r, void *arg)
{
	struct redisconn	*rc = arg;

	if (r == NULL || rc->state != REDISCONN_HANDSHAKE)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		redisconn_drop(rc, 0, "%s: %.200s", redisconn_hint(r), r->str);
		return;
	}
	rc->cmd_ready = 1;
	redisconn_maybe_up(rc);
}

/* The keep-alive PING's reply: nothing to do, the deadline did the work. */
static void
redisconn_keepalive_cb(const redisReply *r, void *arg)
{
	(void)r;
	(void)arg;
}

/* AUTH on the subscriber context. */
static void
redisconn_sub_auth_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct redisconn	*rc = privdata;
	const redisReply	*r = reply;

	(void)ac;
	if (r == NULL || rc->state != REDISCONN_HANDSHAKE)
		return;
	if (r->type == REDIS_REPLY_ERROR)
		redisconn_drop(rc, 0, "%s: %.200s", redisconn_hint(r), r->str);
}

/*
 * The subscriber context: the SUBSCRIBE confirmation, then one call per
 * message (an array: "message", channel, payload).  NULL when the context
 * is freed.
 */
static void
redisconn_sub_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct redisconn	*rc = privdata;
	const redisReply	*r = reply;
	const redisReply	*kind, *payload;

	(void)ac;
	if (r == NULL || rc->state == REDISCONN_DOWN)
		return;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING) {
		log_debug("redis %s: unexpected reply on the subscriber",
		    rc->where);
		return;
	}
	kind = r->element[0];
	if (strcasecmp(kind->str, "subscribe") == 0) {
		if (rc->state == REDISCONN_HANDSHAKE) {
			rc->sub_ready = 1;
			redisconn_maybe_up(rc);
		}
		return;
	}
	if (strcasecmp(kind->str, "message") != 0 || rc->state !=
	    REDISCONN_UP)
		return;
	payload = r->element[2];
	if (payload->type != REDIS_REPLY_STRING)
		return;
	if (rc->cbs.message != NULL) {
		rc->depth++;
		rc->cbs.message(payload->str, payload->len, rc->arg);
		rc->depth--;
	}
}

/*
 * Which of our contexts went; hiredis frees it after this returns.  A
 * context we dropped ourselves is no longer ours and is ignored here.
 */
static void
redisconn_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct redisconn	*rc = ac->data;
	const char		*which;

	if (ac == rc->cmd) {
		rc->cmd = NULL;
		which = "command";
	} else if (ac == rc->sub) {
		rc->sub = NULL;
		which = "subscriber";
	} else
		return;
	redisconn_drop(rc, 0, "%s connection lost: %s", which,
	    status == REDIS_OK || ac->c.errstr[0] == '\0' ? "closed" :
	    ac->c.errstr);
}

/* A connect finished; on failure hiredis frees the context after this. */
static void
redisconn_connect_cb(const redisAsyncContext *ac, int status)
{
	struct redisconn	*rc = ac->data;

	if (status == REDIS_OK)
		return;
	if (ac == rc->cmd)
		rc->cmd = NULL;
	else if (ac == rc->sub)
		rc->sub = NULL;
	else
		return;
	redisconn_drop(rc, 0, "cannot connect: %s", ac->c.errstr);
}

/*
 * Opens one context and hooks it to the loop, or returns NULL with the
 * reason in err.
 */
static redisAsyncContext *
redisconn_open(struct redisconn *rc, char *err, size_t errlen)
{
	redisAsyncContext	*ac;

	if (rc->url.is_unix)
		ac = redisAsyncConnectUnix(rc->url.path);
	else
		ac = redisAsyncConnect(rc->url.host, rc->url.port);
	if (ac == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	if (ac->err) {
		snprintf(err, errlen, "%s", ac->c.errstr);
		redisAsyncFree(ac);
		return (NULL);
	}
	ac->data = rc;
	if (redisLibevAttach(rc->loop, ac) != REDIS_OK) {
		snprintf(err, errlen, "cannot attach to the loop");
		redisAsyncFree(ac);
		return (NULL);
	}
	redisAsyncSetConnectCallback(ac, redisconn_connect_cb);
	redisAsyncSetDisconnectCallback(ac, redisconn_disconnect_cb);
	return (ac);
}

/* Starts a connection attempt: both contexts, the whole handshake queued. */
static void
redisconn_connect(struct redisconn *rc)
{
	char		 err[256];
	const char	*argv[4];
	size_t		 argvlen[4];

	rc->state = REDISCONN_HANDSHAKE;
	rc->cmd_ready = rc->sub_ready = 0;
	ev_timer_set(&rc->connect_timer, rc->timeout, 0.);
	ev_timer_start(rc->loop, &rc->connect_timer);

	if ((rc->cmd = redisconn_open(rc, err, sizeof(err))) == NULL) {
		redisconn_drop(rc, 0, "cannot connect: %s", err);
		return;
	}
	if (rc->subscribe != NULL &&
	    (rc->sub = redisconn_open(rc, err, sizeof(err))) == NULL) {
		redisconn_drop(rc, 0, "cannot connect: %s", err);
		return;
	}

	/* Commands queue in hiredis until the connect completes. */
	if (rc->password != NULL) {
		argv[0] = "AUTH";
		argvlen[0] = 4;
		argv[1] = rc->password;
		argvlen[1] = rc->password_len;
		if (redisconn_sendargv(rc, redisconn_step_cb, rc, 2, argv,
		    argvlen) == -1 || (rc->sub != NULL &&
		    redisAsyncCommandArgv(rc->sub, redisconn_sub_auth_cb, rc,
		    2, argv, argvlen) != REDIS_OK))
			goto fail;
	}
	if (rc->url.db != 0) {
		char	 db[16];

		snprintf(db, sizeof(db), "%d", rc->url.db);
		argv[0] = "SELECT";
		argvlen[0] = 6;
		argv[1] = db;
		argvlen[1] = strlen(db);
		if (redisconn_sendargv(rc, redisconn_step_cb, rc, 2, argv,
		    argvlen) == -1)
			goto fail;
	}
	if (rc->library != NULL) {
		argv[0] = "FUNCTION";
		argvlen[0] = 8;
		argv[1] = "LOAD";
		argvlen[1] = 4;
		argv[2] = "REPLACE";
		argvlen[2] = 7;
		argv[3] = rc->library;
		argvlen[3] = strlen(rc->library);
		if (redisconn_sendargv(rc, redisconn_step_cb, rc, 4, argv,
		    argvlen) == -1)
			goto fail;
	}
	/* PING answers only when the data set is loaded: the last step. */
	argv[0] = "PING";
	argvlen[0] = 4;
	if (redisconn_sendargv(rc, redisconn_ping_done_cb, rc, 1, argv,
	    argvlen) == -1)
		goto fail;
	if (rc->sub != NULL) {
		argv[0] = "SUBSCRIBE";
		argvlen[0] = 9;
		argv[1] = rc->subscribe;
		argvlen[1] = strlen(rc->subscribe);
		if (redisAsyncCommandArgv(rc->sub, redisconn_sub_cb, rc, 2,
		    argv, argvlen) != REDIS_OK)
			goto fail;
	}
	return;
fail:
	redisconn_drop(rc, 0, "cannot queue the handshake");
}

/*
 * Drops both contexts (every pending command gets NULL), tells the caller
 * `down` if it was up, logs the first failure of an outage, and arms the
 * retry.  Safe from any callback: a context inside its own callback is
 * freed by hiredis when that returns, one inside its disconnect callback
 * is already ours no more.
 */
static void
redisconn_drop(struct redisconn *rc, int timeout, const char *fmt, ...)
{
	redisAsyncContext	*cmd = rc->cmd, *sub = rc->sub;
	char			 why[512];
	va_list			 ap;
	int			 was_up = rc->state == REDISCONN_UP;

	if (rc->state == REDISCONN_DOWN)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);

	rc->state = REDISCONN_DOWN;
	rc->cmd = rc->sub = NULL;
	ev_timer_stop(rc->loop, &rc->connect_timer);
	ev_timer_stop(rc->loop, &rc->deadline_timer);
	ev_timer_stop(rc->loop, &rc->ping_timer);
	if (timeout)
		rc->st.timeouts++;
	else
		rc->st.errors++;
	if (cmd != NULL)
		redisAsyncFree(cmd);
	if (sub != NULL)
		redisAsyncFree(sub);

	if (!rc->outage_logged) {
		if (was_up || !rc->ever_up)
			rc->down_since = ev_now(rc->loop);
		log_warnx("redis %s: %s; retrying", rc->where, why);
		rc->outage_logged = 1;
	} else
		log_debug("redis %s: %s; retrying in %.1f s", rc->where, why,
		    rc->backoff);

	ev_timer_set(&rc->retry_timer, rc->backoff, 0.);
	ev_timer_start(rc->loop, &rc->retry_timer);
	rc->backoff *= 2;
	if (rc->backoff > REDISCONN_BACKOFF_MAX)
		rc->backoff = REDISCONN_BACKOFF_MAX;

	if (was_up && rc->cbs.down != NULL) {
		rc->depth++;
		rc->cbs.down(rc->arg);
		rc->depth--;
	}
}

static void
redisconn_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct redisconn	*rc = w->data;

	(void)loop;
	(void)revents;
	if (rc->state == REDISCONN_DOWN)
		redisconn_connect(rc);
}

static void
redisconn_connect_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct redisconn	*rc = w->data;

	(void)loop;
	(void)revents;
	redisconn_drop(rc, 1, "no answer in %.1f s while connecting",
	    rc->timeout);
}

/* The oldest pending command is past its deadline: drop; else wait for it. */
static void
redisconn_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct redisconn	*rc = w->data;
	struct redisconn_req	*req;
	ev_tstamp		 left;

	(void)revents;
	if ((req = TAILQ_FIRST(&rc->pending)) == NULL)
		return;
	left = req->start + rc->timeout - ev_now(loop);
	if (left <= 0.) {
		redisconn_drop(rc, 1, "a command got no answer in %.1f s",
		    rc->timeout);
		return;
	}
	redisconn_deadline_arm(rc);
}

/* While up and idle, a PING puts the connection under a deadline. */
static void
redisconn_ping_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct redisconn	*rc = w->data;
	const char		*argv[1] = { "PING" };
	size_t			 argvlen[1] = { 4 };

	(void)loop;
	(void)revents;
	if (rc->state == REDISCONN_UP && rc->npending == 0)
		(void)redisconn_sendargv(rc, redisconn_keepalive_cb, rc, 1,
		    argv, argvlen);
}

struct redisconn *
redisconn_new(struct ev_loop *loop, const struct redisconn_config *cfg,
    const struct redisconn_cbs *cbs, void *arg)
{
	struct redisconn	*rc;

	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return (NULL);
	rc->loop = loop;
	rc->cbs = *cbs;
	rc->arg = arg;
	rc->url = cfg->url;
	rc->timeout = cfg->timeout > 0 ? cfg->timeout :
	    REDISCONN_DEFAULT_TIMEOUT;
	if (cfg->password != NULL) {
		/* An empty one (an empty file) overrides the URL's with none. */
		if ((rc->password_len = strlen(cfg->password)) > 0)
			rc->password = strdup(cfg->password);
	} else if (cfg->url.has_password) {
		rc->password_len = cfg->url.password_len;
		if ((rc->password = malloc(rc->password_len + 1)) != NULL)
			memcpy(rc->password, cfg->url.password,
			    rc->password_len + 1);
	}
	if (cfg->library != NULL)
		rc->library = strdup(cfg->library);
	if (cfg->subscribe != NULL)
		rc->subscribe = strdup(cfg->subscribe);
	if ((rc->password_len > 0 && rc->password == NULL) || (cfg->library != NULL &&
	    rc->library == NULL) || (cfg->subscribe != NULL &&
	    rc->subscribe == NULL)) {
		free(rc->password);
		free(rc->library);
		free(rc->subscribe);
		free(rc);
		return (NULL);
	}
	/* The URL copy keeps no password: one copy, freed with care. */
	explicit_bzero(rc->url.password, sizeof(rc->url.password));
	redisurl_describe(&rc->url, rc->where, sizeof(rc->where));

	TAILQ_INIT(&rc->pending);
	rc->backoff = REDISCONN_BACKOFF_MIN;
	ev_init(&rc->connect_timer, redisconn_connect_timeout_cb);
	rc->connect_timer.data = rc;
	ev_init(&rc->deadline_timer, redisconn_deadline_cb);
	rc->deadline_timer.data = rc;
	ev_init(&rc->retry_timer, redisconn_retry_cb);
	rc->retry_timer.data = rc;
	ev_init(&rc->ping_timer, redisconn_ping_cb);
	rc->ping_timer.repeat = REDISCONN_PING_INTERVAL;
	rc->ping_timer.data = rc;

	rc->state = REDISCONN_DOWN;
	rc->down_since = ev_now(loop);
	redisconn_connect(rc);
	return (rc);
}

int
redisconn_is_up(const struct redisconn *rc)
{
	return (rc->state == REDISCONN_UP);
}

void
redisconn_stats(const struct redisconn *rc, struct redisconn_stats *st)
{
	*st = rc->st;
	st->pending = rc->npending;
	st->up = rc->state == REDISCONN_UP;
}

void
redisconn_free(struct redisconn *rc)
{
	redisAsyncContext	*cmd, *sub;

	if (rc == NULL)
		return;
	if (rc->depth > 0)
		fatalx("called from a redisconn callback");
	cmd = rc->cmd;
	sub = rc->sub;
	rc->state = REDISCONN_DOWN;
	rc->cmd = rc->sub = NULL;
	ev_timer_stop(rc->loop, &rc->connect_timer);
	ev_timer_stop(rc->loop, &rc->deadline_timer);
	ev_timer_stop(rc->loop, &rc->retry_timer);
	ev_timer_stop(rc->loop, &rc->ping_timer);
	if (cmd != NULL)
		redisAsyncFree(cmd);	/* pending callbacks get NULL */
	if (sub != NULL)
		redisAsyncFree(sub);
	if (rc->password != NULL) {
		explicit_bzero(rc->password, rc->password_len);
		free(rc->password);
	}
	free(rc->library);
	free(rc->subscribe);
	free(rc);
}
