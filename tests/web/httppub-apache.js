// SPDX-License-Identifier: ISC
'use strict';
// Publishing over HTTP through Apache with mod_proxy_fcgi
// (fcgi/conf/apache-proxy-fcgi.conf).
require('./lib/httppub').main('apache-proxy');
