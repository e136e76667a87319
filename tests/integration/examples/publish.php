<?php
# SPDX-License-Identifier: ISC
function fastsse_send($sock, array $msg): void {
    $payload = msgpack_pack($msg);
    fwrite($sock, pack('N', strlen($payload)) . $payload);
}
function fastsse_recv($sock): array {
    $len = unpack('N', stream_get_contents($sock, 4))[1];
    return msgpack_unpack(stream_get_contents($sock, $len));
}
$path = getenv('FASTSSE_SOCKET') ?: '/run/fastsse/fastsse.sock';
$sock = stream_socket_client("unix://$path", $errno, $errstr, 5)
    or die("cannot reach the broker: $errstr\n");
fastsse_send($sock, [1, 1, 1]);                             // HELLO as publisher
fastsse_recv($sock);                                        // WELCOME
fastsse_send($sock, [10, 1, 'news', 'update', ['price' => 42]]); // PUBLISH
$reply = fastsse_recv($sock);                               // [11, 1, id] or [3, 1, code, why]
echo $reply[0] === 11 ? "published as {$reply[2]}\n" : "refused: {$reply[3]}\n";
