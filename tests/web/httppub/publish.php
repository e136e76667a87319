<?php
// SPDX-License-Identifier: ISC
// Publishes one event over HTTP with PHP's own streams: no extension.
// Usage: php publish.php URL KEY CHANNEL DATA [IDEMPOTENCY-KEY]
[$url, $key, $channel, $data] = array_slice($argv, 1, 4);
$headers = "Authorization: Bearer $key\r\n"
    . "Content-Type: text/plain; charset=utf-8\r\n";
if (isset($argv[5]))
	$headers .= "Idempotency-Key: {$argv[5]}\r\n";
$ctx = stream_context_create(['http' => [
	'method' => 'POST',
	'header' => $headers,
	'content' => $data,
	'timeout' => 10,
	'ignore_errors' => true,	// read the body of a 4xx/5xx too
]]);
$id = file_get_contents($url . '?channel=' . rawurlencode($channel), false,
    $ctx);
preg_match('{HTTP/\S+ (\d+)}', $http_response_header[0], $m);
if ($m[1] != 201) {
	fwrite(STDERR, "publish failed: {$http_response_header[0]}: $id");
	exit(1);
}
echo $id, "\n";
