// SPDX-License-Identifier: ISC
'use strict';
// Publishing over HTTP through nginx (fcgi/conf/nginx.conf).
require('./lib/httppub').main('nginx');
