// SPDX-License-Identifier: ISC
'use strict';
// nginx with fastcgi_pass to the responder's socket (fcgi/conf/nginx.conf):
// the full set of web scenarios.
require('./lib/suite').full('nginx');
