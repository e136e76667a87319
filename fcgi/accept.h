/*
 * libfcgi's side of the responder: threads that accept FastCGI requests,
 * answer the short ones completely and hand streams to the event loop.
 */
#ifndef ACCEPT_H
#define ACCEPT_H

#include <ev.h>

/* Starts n threads accepting on listen_fd; stopped_cb runs in the loop
   thread when accepting fails for good (the web server went away). */
void	accept_start(struct ev_loop *, int listen_fd, int n,
	    void (*stopped_cb)(void));
/* Stops accepting (wakes the threads) and waits a moment for them. */
void	accept_stop(void);

#endif
