# SPDX-License-Identifier: ISC
import base64, hashlib, hmac, json, os, time

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def fastsse_token(kid, secret, channels, ttl, sub=None):
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    claims = {"channels": channels, "exp": int(time.time()) + ttl}
    if sub is not None:
        claims["sub"] = sub
    signed = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()
    return signed + "." + b64url(sig)

# The first line of fastsse-fcgi's --token-key file, "kid:secret", signs.
with open(os.environ.get("FASTSSE_TOKEN_KEY", "/etc/fastsse/token.key")) as f:
    kid, secret = f.readline().rstrip("\r\n").split(":", 1)
print(fastsse_token(kid, secret, ["news", "user.42.*"], 3600, sub="42"))
