// SPDX-License-Identifier: ISC
'use strict';
// Private channels behind Apache with mod_proxy_fcgi (fcgi/conf/apache-proxy-fcgi.conf, CGIPassAuth):
// the token scenarios of lib/tokens.js.
require('./lib/tokens').suite('apache-proxy');
