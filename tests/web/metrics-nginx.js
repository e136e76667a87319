// SPDX-License-Identifier: ISC
'use strict';
// Monitoring behind nginx with the shipped config: see lib/metrics-suite.js.
require('./lib/metrics-suite').run('nginx');
