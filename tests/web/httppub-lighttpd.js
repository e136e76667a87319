// SPDX-License-Identifier: ISC
'use strict';
// Publishing over HTTP through lighttpd (fcgi/conf/lighttpd.conf).
require('./lib/httppub').main('lighttpd');
