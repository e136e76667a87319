<?php
// SPDX-License-Identifier: ISC
function b64url(string $data): string
{
    return rtrim(strtr(base64_encode($data), '+/', '-_'), '=');
}

function fastsse_token(string $kid, string $secret, array $channels, int $ttl, ?string $sub = null): string
{
    $header = ['alg' => 'HS256', 'typ' => 'JWT', 'kid' => $kid];
    $claims = ['channels' => $channels, 'exp' => time() + $ttl];
    if ($sub !== null) {
        $claims['sub'] = $sub;
    }
    $signed = b64url(json_encode($header)) . '.' . b64url(json_encode($claims));
    return $signed . '.' . b64url(hash_hmac('sha256', $signed, $secret, true));
}

// The first line of fastsse-fcgi's --token-key file, "kid:secret", signs.
$f = fopen(getenv('FASTSSE_TOKEN_KEY') ?: '/etc/fastsse/token.key', 'r');
[$kid, $secret] = explode(':', rtrim(fgets($f), "\r\n"), 2);
echo fastsse_token($kid, $secret, ['news', 'user.42.*'], 3600, '42'), "\n";
