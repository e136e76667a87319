// SPDX-License-Identifier: ISC
'use strict';
// Monitoring behind lighttpd with the shipped config: see lib/metrics-suite.js.
require('./lib/metrics-suite').run('lighttpd');
