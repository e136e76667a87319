// SPDX-License-Identifier: ISC
'use strict';
// Private channels behind lighttpd (mod_fastcgi to the responder's socket, fcgi/conf/lighttpd.conf):
// the token scenarios of lib/tokens.js.
require('./lib/tokens').suite('lighttpd');
