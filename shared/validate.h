/* SPDX-License-Identifier: ISC */
/*
 * The rules for names that reach browsers and logs, shared by the broker
 * (which enforces them) and the responder (which answers 400 early).
 *
 * Channel: 1 to VALIDATE_CHANNEL_MAX bytes of valid UTF-8 with no control
 *   characters and no white space: no byte 0x00-0x20 or 0x7f, no C1
 *   control (U+0080-U+009F), no Unicode space (U+00A0, U+1680,
 *   U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF).
 * Event type: absent or empty means "message"; else 1 to
 *   VALIDATE_TYPE_MAX bytes of valid UTF-8 with no CR, LF or NUL and no
 *   white space (ASCII or Unicode, as for channels) at either end; types
 *   are otherwise compared byte for byte (case matters), but "reset" in
 *   any ASCII case is reserved for the broker's reset notice.
 * Data: valid UTF-8 (any line breaks), at most the broker's event size.
 */
#ifndef VALIDATE_H
#define VALIDATE_H

#include <stddef.h>

#define VALIDATE_CHANNEL_MAX	255
#define VALIDATE_TYPE_MAX	255

/* 0 when s[0..len) is valid UTF-8 (no overlong forms, no surrogates,
   nothing past U+10FFFF), else -1. */
int	validate_utf8(const char *, size_t);
/* These return NULL when valid, or a short reason for an error message. */
const char *validate_channel(const char *, size_t);
const char *validate_event_type(const char *, size_t);

#endif
