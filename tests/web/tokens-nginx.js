// SPDX-License-Identifier: ISC
'use strict';
// Private channels behind nginx (fastcgi_pass, fcgi/conf/nginx.conf):
// the token scenarios of lib/tokens.js.
require('./lib/tokens').suite('nginx');
