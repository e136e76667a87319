/*
 * Accept threads.  libfcgi does what it is good at: accept, the
 * BEGIN_REQUEST/PARAMS records, and complete short answers (errors,
 * preflights).  A request that opens a stream gets its headers and first
 * line written and flushed by libfcgi; then the thread copies what the
 * stream needs, frees the request without closing (FCGX_Free(&req, 0)),
 * forgets the fd (req.ipcFd = -1, else the next FCGX_Accept_r would
 * finish it), makes it non-blocking and queues it for the event loop.
 *
 * No accept mutex: Debian's libfcgi does no accept locking and
 * concurrent accept() on one socket is safe.  Several threads, because
 * libfcgi reads a request's first records with blocking reads: one slow
 * peer stalls only its thread.
 *
 * Bound: the hand-off queue holds at most --max-streams entries, since a
 * slot is reserved (stream_reserve) before a stream is answered; over the
 * cap the browser gets "200, retry: 30 s and come back" and nothing is
 * queued.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <fcgiapp.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "responder.h"
#include "sse.h"
#include "stream.h"
#include "accept.h"

#define ACCEPT_MAX_THREADS	64

static struct ev_loop	*acc_loop;
static int		 acc_fd = -1;
static pthread_t	 acc_threads[ACCEPT_MAX_THREADS];
static int		 acc_nthreads;
static atomic_int	 acc_running;
static atomic_int	 acc_stopping;
static atomic_int	 acc_failed;
static ev_async		 acc_async;
static pthread_mutex_t	 acc_mtx = PTHREAD_MUTEX_INITIALIZER;
static STAILQ_HEAD(, stream_handoff) acc_queue =
    STAILQ_HEAD_INITIALIZER(acc_queue);
static void		(*acc_stopped_cb)(void);

/* A random part of retry:, so browsers do not all come back at once. */
static unsigned long
accept_retry(unsigned long base)
{
	if (conf.retry_jitter_ms == 0)
		return (base);
	return (base + arc4random_uniform((uint32_t)conf.retry_jitter_ms + 1));
}

/*
 * Ends a request libfcgi still owns, closing its connection even when the
 * server asked to keep it (nginx fastcgi_keep_conn): otherwise this thread
 * would wait on that connection for the next request instead of accepting.
 */
static void
accept_finish(FCGX_Request *req)
{
	req->keepConnection = 0;
	FCGX_Finish_r(req);
}

/* Writes b as the whole response and finishes the request. */
static void
accept_answer(FCGX_Request *req, struct buf *b)
{
	FCGX_PutStr(buf_head(b), (int)buf_used(b), req->out);
	accept_finish(req);
}

static void
accept_error(FCGX_Request *req, int status, const char *reason,
    const char *origin)
{
	struct buf	b;

	buf_init(&b, 0);
	if (http_error(&b, status, reason, &conf.cors, origin) == 0)
		accept_answer(req, &b);
	else
		accept_finish(req);
	buf_free(&b);
}

/*
 * Answers one request: a stream is handed to the loop, anything else is
 * answered and finished here.
 */
static void
accept_request(FCGX_Request *req)
{
	struct stream_handoff	*h = NULL;
	struct buf		 b;
	const char		*method, *origin, *v;
	char			 err[128], drain[1024];
	int			 fd, flags;

	buf_init(&b, 0);
	method = FCGX_GetParam("REQUEST_METHOD", req->envp);
	origin = FCGX_GetParam("HTTP_ORIGIN", req->envp);
	while (FCGX_GetStr(drain, sizeof(drain), req->in) > 0)
		;	/* the fd must sit at a record boundary at hand-off */
	switch (http_method(method)) {
	case HTTP_OPTIONS:
		if (http_preflight(&b, &conf.cors, origin, FCGX_GetParam(
		    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS", req->envp)) == 0)
			accept_answer(req, &b);
		else
			accept_finish(req);
		goto out;
	case HTTP_OTHER:
		accept_error(req, 405, "method not allowed", origin);
		goto out;
	case HTTP_GET:
		break;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		accept_error(req, 503, "out of memory", origin);
		goto out;
	}
	http_req_init(&h->req);
	if ((v = FCGX_GetParam("HTTP_LAST_EVENT_ID", req->envp)) != NULL)
		http_set_lastid(&h->req, v, strlen(v));
	if (http_parse_query(&h->req, FCGX_GetParam("QUERY_STRING",
	    req->envp), conf.channel_param, conf.max_channels, err,
	    sizeof(err)) == -1) {
		log_debug("400: %s", err);
		accept_error(req, 400, err, origin);
		goto out;
	}
	if (http_stream_headers(&b, &conf.cors, origin) == -1)
		goto fail;
	if (stream_reserve() == -1) {
		/*
		 * Full: a complete stream that asks to come back later,
		 * spread over 1 to 2 times the full retry so the browsers
		 * turned away together do not all return together.
		 */
		if (buf_printf(&b, "retry: %lu\n: full\n\n",
		    accept_retry(RESPONDER_FULL_RETRY_MS) +
		    arc4random_uniform(RESPONDER_FULL_RETRY_MS)) == 0)
			accept_answer(req, &b);
		else
			accept_finish(req);
		goto out;
	}
	if (sse_preamble(&b, accept_retry(conf.retry_ms)) == -1 ||
	    FCGX_PutStr(buf_head(&b), (int)buf_used(&b), req->out) < 0 ||
	    FCGX_FFlush(req->out) == -1) {
		stream_unreserve();
		goto fail;
	}
	fd = req->ipcFd;
	h->fd = fd;
	h->reqid = (uint16_t)req->requestId;
	FCGX_Free(req, 0);
	req->ipcFd = -1;
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		log_warn("fcntl");
		close(fd);
		stream_unreserve();
		goto out;
	}
	pthread_mutex_lock(&acc_mtx);
	STAILQ_INSERT_TAIL(&acc_queue, h, entry);
	pthread_mutex_unlock(&acc_mtx);
	ev_async_send(acc_loop, &acc_async);
	h = NULL;
	buf_free(&b);
	return;
fail:
	accept_finish(req);
out:
	if (h != NULL) {
		http_req_free(&h->req);
		free(h);
	}
	buf_free(&b);
}

/*
 * The thread body.  FCGX_Accept_r failing means the listen socket is
 * gone (the web server that spawned us stopped, or we are stopping):
 * the thread ends, and the loop is told, so the process exits instead of
 * spinning.  Running out of fds or memory is only waited out.
 */
static void *
accept_main(void *arg)
{
	FCGX_Request	req;
	int		rc;

	(void)arg;
	if (FCGX_InitRequest(&req, acc_fd, 0) != 0) {
		log_warnx("FCGX_InitRequest failed");
		goto done;
	}
	while (!atomic_load(&acc_stopping)) {
		rc = FCGX_Accept_r(&req);
		if (rc < 0) {
			if (atomic_load(&acc_stopping))
				break;
			if (rc == -EMFILE || rc == -ENFILE || rc == -ENOMEM ||
			    rc == -ENOBUFS || rc == -EINTR ||
			    rc == -ECONNABORTED) {
				if (rc != -EINTR)
					log_warnx("accept: %s (waiting)",
					    strerror(-rc));
				usleep(100000);
				continue;
			}
			log_warnx("accept failed (%d): stopping", rc);
			atomic_store(&acc_failed, 1);
			ev_async_send(acc_loop, &acc_async);
			break;
		}
		accept_request(&req);
	}
	FCGX_Free(&req, 1);
done:
	atomic_fetch_sub(&acc_running, 1);
	return (NULL);
}

/* Turns queued hand-offs into streams, in the loop thread. */
static void
accept_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	STAILQ_HEAD(, stream_handoff) q = STAILQ_HEAD_INITIALIZER(q);
	struct stream_handoff	*h;

	(void)loop;
	(void)w;
	(void)revents;
	pthread_mutex_lock(&acc_mtx);
	STAILQ_CONCAT(&q, &acc_queue);
	pthread_mutex_unlock(&acc_mtx);
	while ((h = STAILQ_FIRST(&q)) != NULL) {
		STAILQ_REMOVE_HEAD(&q, entry);
		stream_create(h);
	}
	if (atomic_load(&acc_failed) && acc_stopped_cb != NULL) {
		atomic_store(&acc_failed, 0);
		acc_stopped_cb();
	}
}

void
accept_start(struct ev_loop *loop, int listen_fd, int n,
    void (*stopped_cb)(void))
{
	pthread_attr_t	attr;
	sigset_t	all, old;
	int		i, e;

	acc_loop = loop;
	acc_fd = listen_fd;
	acc_stopped_cb = stopped_cb;
	ev_async_init(&acc_async, accept_async_cb);
	ev_async_start(loop, &acc_async);
	if (n > ACCEPT_MAX_THREADS)
		n = ACCEPT_MAX_THREADS;
	/* Signals belong to the loop thread (ev_signal). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	for (i = 0; i < n; i++) {
		atomic_fetch_add(&acc_running, 1);
		if ((e = pthread_create(&acc_threads[i], &attr, accept_main,
		    NULL)) != 0) {
			errno = e;
			fatal("pthread_create");
		}
		acc_nthreads++;
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * Wakes threads blocked in accept() by shutting the listen socket down,
 * and joins them if they end soon; one stuck reading a slow peer's
 * request is left to the process exit.
 */
void
accept_stop(void)
{
	struct stream_handoff	*h;
	int			 i, tries;

	atomic_store(&acc_stopping, 1);
	if (acc_fd >= 0)
		shutdown(acc_fd, SHUT_RDWR);
	for (tries = 0; tries < 100 && atomic_load(&acc_running) > 0; tries++)
		usleep(10000);
	if (atomic_load(&acc_running) == 0)
		for (i = 0; i < acc_nthreads; i++)
			pthread_join(acc_threads[i], NULL);
	else
		for (i = 0; i < acc_nthreads; i++)
			pthread_detach(acc_threads[i]);
	acc_nthreads = 0;
	pthread_mutex_lock(&acc_mtx);
	while ((h = STAILQ_FIRST(&acc_queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&acc_queue, entry);
		stream_create(h);	/* ended at once: shutting down */
	}
	pthread_mutex_unlock(&acc_mtx);
	ev_async_stop(acc_loop, &acc_async);
}
