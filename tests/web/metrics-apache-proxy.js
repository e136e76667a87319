// SPDX-License-Identifier: ISC
'use strict';
// Monitoring behind apache-proxy with the shipped config: see lib/metrics-suite.js.
require('./lib/metrics-suite').run('apache-proxy');
