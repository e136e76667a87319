// SPDX-License-Identifier: ISC
'use strict';
// lighttpd spawning the responder through bin-path
// (fcgi/conf/lighttpd-spawn.conf): delivery, content and a restart.
require('./lib/suite').smoke('lighttpd-spawn');
