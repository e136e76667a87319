// SPDX-License-Identifier: ISC
'use strict';
// Private channels behind Apache with mod_fcgid spawning the responder (fcgi/conf/apache-fcgid.conf, FcgidPassHeader):
// the token scenarios of lib/tokens.js.
require('./lib/tokens').suite('apache-fcgid');
