// SPDX-License-Identifier: ISC
'use strict';
// nginx over TLS + HTTP/2 (fcgi/conf/nginx-h2.conf): many streams on one connection,
// in Chromium and with node's http2 client, and the scenarios that must
// work as over HTTP/1.1.
require('./lib/h2suite').run('nginx');
