// SPDX-License-Identifier: ISC
'use strict';
// Apache 2.4 with mod_proxy_fcgi to the responder's socket
// (fcgi/conf/apache-proxy-fcgi.conf): the full set of web scenarios.
require('./lib/suite').full('apache-proxy');
