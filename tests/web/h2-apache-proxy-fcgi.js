// SPDX-License-Identifier: ISC
'use strict';
// Apache mod_proxy_fcgi over TLS + HTTP/2 (fcgi/conf/apache-proxy-fcgi-h2.conf): many streams on one connection,
// in Chromium and with node's http2 client, and the scenarios that must
// work as over HTTP/1.1.
require('./lib/h2suite').run('apache-proxy');
