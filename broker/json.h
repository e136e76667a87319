/* SPDX-License-Identifier: ISC */
/*
 * Rendering of a MessagePack object to JSON text, for PUBLISH data that is
 * not a string.  Pure: writes into a caller's bounded buffer.
 */
#ifndef JSON_H
#define JSON_H

#include <msgpack.h>

#include "buf.h"

#define JSON_MAX_DEPTH	64	/* nested arrays/maps accepted */

enum json_result {
	JSON_OK = 0,
	JSON_E_SPACE = -1,	/* out's bound reached (or no memory) */
	JSON_E_DEPTH = -2,	/* nested deeper than JSON_MAX_DEPTH */
	JSON_E_KEY = -3,	/* map key that is a float, array or map */
	JSON_E_TYPE = -4,	/* ext type */
	JSON_E_UTF8 = -5,	/* string that is not valid UTF-8 */
};

int		 json_render(struct buf *, const msgpack_object *);
const char	*json_strerror(int);

#endif
