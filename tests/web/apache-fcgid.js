// SPDX-License-Identifier: ISC
'use strict';
// Apache 2.4 with mod_fcgid spawning the responder
// (fcgi/conf/apache-fcgid.conf): delivery, content and a restart.
require('./lib/suite').smoke('apache-fcgid');
