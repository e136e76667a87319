// SPDX-License-Identifier: ISC
'use strict';
// Publishing over HTTP through Apache with mod_fcgid spawning the
// responders (fcgi/conf/apache-fcgid.conf): many processes, one broker,
// so an Idempotency-Key must hold across them.
require('./lib/httppub').main('apache-fcgid');
