/* SPDX-License-Identifier: ISC */
/*
 * Event ids: "<epoch>-<seq>".  The epoch names one broker run (its start
 * time in microseconds, base 36, lower case); seq counts the events that
 * run assigned, in decimal, from 1, across all channels.  So ids are
 * unique and strictly increasing within a run, never repeat across runs,
 * are at most EVENTID_MAX-1 bytes of [0-9a-z-], and one id says where a
 * stream covering several channels stands.  "<epoch>-0" means "before the
 * first event of the run".
 */
#ifndef EVENTID_H
#define EVENTID_H

#include <stddef.h>
#include <stdint.h>

#define EVENTID_MAX	48	/* buffer size for a formatted id, NUL included */

struct eventid {
	uint64_t	epoch;
	uint64_t	seq;
};

/* Formats id into buf (at least EVENTID_MAX bytes); returns the length. */
size_t	eventid_format(char *buf, size_t size, uint64_t epoch, uint64_t seq);
/*
 * Formats the id whose "<epoch>-" part is already in prefix[0..prefixlen)
 * (from eventid_format_epoch and a dash): a run formats its epoch once.
 * As eventid_format otherwise.
 */
size_t	eventid_format_seq(char *buf, size_t size, const char *prefix,
	    size_t prefixlen, uint64_t seq);
/* Formats only the epoch part; returns the length. */
size_t	eventid_format_epoch(char *buf, size_t size, uint64_t epoch);
/* Parses s[0..len); 0 on success, -1 when it is not an id of this form. */
int	eventid_parse(const char *s, size_t len, struct eventid *id);
int	eventid_parse_epoch(const char *s, size_t len, uint64_t *epoch);

#endif
