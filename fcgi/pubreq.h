/* SPDX-License-Identifier: ISC */
/*
 * One POST that publishes, in the event loop: checked when its params
 * are read (publish.c), its body read by accept.c, then sent to the
 * broker (pubconn.c) and answered when the broker answers.
 */
#ifndef PUBREQ_H
#define PUBREQ_H

#include <stdint.h>

#include <ev.h>

#include "buf.h"

struct request;
struct pubreq;

/* Loads the keys: fatal on a file that cannot be read or a bad line. */
void	pubreq_init(const char *keyfile);
/* Turns publishing on: connects to the broker. */
void	pubreq_start(struct ev_loop *, const char *broker);
void	pubreq_shutdown(void);
/* Whether the request is a POST to publish (and publishing is on). */
int	pubreq_wanted(const struct request *);
/*
 * Checks a POST whose params are read: NULL with the answer in out, or
 * the publish, whose body (pubreq_body) is then read.
 */
struct pubreq *pubreq_begin(const struct request *, struct buf *out);
struct buf *pubreq_body(struct pubreq *);
/* -1 with the 413 answer in out when the body passes its bound. */
int	pubreq_body_check(struct pubreq *, uint64_t body, struct buf *out);
/*
 * The body is whole: decodes it and sends it to the broker.  -1 with
 * the answer in out now; or 0, and cb gets the answer later (unless the
 * publish is freed first).  cb may free the publish.
 */
int	pubreq_send(struct pubreq *, struct buf *out,
	    void (*cb)(void *, const struct buf *), void *arg);
void	pubreq_free(struct pubreq *);

#endif
