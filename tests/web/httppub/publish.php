<?php
// SPDX-License-Identifier: ISC
$url = getenv('FASTSSE_URL') ?: 'http://localhost/events';
$ctx = stream_context_create(['http' => [
    'method' => 'POST',
    'header' => 'Authorization: Bearer ' . getenv('FASTSSE_PUBLISH_KEY') . "\r\n"
        . "Content-Type: application/json\r\n"
        // The same key on every attempt: a retry never publishes twice.
        . 'Idempotency-Key: ' . bin2hex(random_bytes(16)) . "\r\n",
    'content' => json_encode(['price' => 42]),
    'timeout' => 10,
    'ignore_errors' => true,            // read the reason of a 4xx/5xx too
]]);
for ($attempt = 0; $attempt < 3; $attempt++) {
    $body = @file_get_contents("$url?channel=news&type=update", false, $ctx);
    $status = $body === false ? 0       // timeout, connection lost: retry
        : (int)explode(' ', $http_response_header[0])[1];
    if ($status === 201)
        exit("published as $body\n");
    if ($status !== 0 && $status !== 503) { // 400, 401, 413: retrying won't help
        fwrite(STDERR, "refused: $status $body");
        exit(1);
    }
    sleep(1 + $attempt);
}
fwrite(STDERR, "broker unavailable, gave up\n");
exit(1);
