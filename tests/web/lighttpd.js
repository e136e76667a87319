// SPDX-License-Identifier: ISC
'use strict';
// lighttpd 1.4 with mod_fastcgi and an external responder socket
// (fcgi/conf/lighttpd.conf): the full set of web scenarios.
require('./lib/suite').full('lighttpd');
