#!/bin/sh
# SPDX-License-Identifier: ISC
# Subscribe tokens from the command line: the README shows the Python
# and PHP token examples as they are in tests/integration/examples;
# `fastsse token` prints a JWT whose header and claims are what was asked
# (decoded here by Python's standard library, signature checked with its
# hmac); `fastsse revoke` is taken by a real broker and refused for bad
# input.  The tokens reaching a responder through web servers are
# tests/web/tokens-*.js.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

EX=$top_srcdir/tests/integration/examples
README=$top_srcdir/README.md

# readme_block LANG: the first block of that language in the README's
# "Private channels" section.
readme_block() {
	awk -v fence="\`\`\`$1" '
	    /^## / { sect = ($0 == "## Private channels") }
	    sect && $0 == fence { on = 1; next }
	    on && $0 == "```" { exit }
	    on { print }' "$README"
}
for f in python:token.py php:token.php; do
	lang=${f%%:*}
	file=${f#*:}
	readme_block "$lang" > "$T/readme.$file"
	grep -v 'SPDX-License-Identifier' "$EX/$file" > "$T/ex.$file"
	check "README shows tests/integration/examples/$file" \
	    cmp -s "$T/readme.$file" "$T/ex.$file"
done

printf 'new:0123456789abcdef0123456789abcdef\nold:fedcba9876543210fedcba98\n' \
    > "$T/keys"
t0=$(date +%s)
tok=$("$FASTSSE" token --key "$T/keys" --ttl 120 --sub alice --jti t1 \
    news 'user.7.*')
ok $? "fastsse token prints a token"
if command -v python3 >/dev/null 2>&1; then
	out=$(python3 - "$tok" "$t0" <<'PY'
import base64, hashlib, hmac, json, sys, time
h, c, s = sys.argv[1].split(".")
d = lambda x: base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
head, claims = json.loads(d(h)), json.loads(d(c))
mac = hmac.new(b"0123456789abcdef0123456789abcdef", (h + "." + c).encode(),
    hashlib.sha256).digest()
# exp is 120 s after the token was made, between t0 and now.
t0 = int(sys.argv[2])
ttl_ok = t0 + 120 <= claims["exp"] <= int(time.time()) + 120
print(head["alg"], head["kid"], ",".join(claims["channels"]), claims["sub"],
    claims["jti"], ttl_ok, hmac.compare_digest(mac, d(s)))
PY
)
	is "$out" "HS256 new news,user.7.* alice t1 True True" \
	    "the token holds what was asked, signed with the first key"
else
	ok 0 "# SKIP python3 is missing"
fi
"$FASTSSE" token --key "$T/keys" --ttl 60 'bad channel' >/dev/null 2>&1
is $? 2 "fastsse token refuses a bad channel (usage)"
"$FASTSSE" token --key "$T/nokeys" --ttl 60 news >/dev/null 2>&1
is $? 1 "fastsse token fails without its key file"
"$FASTSSE" token --key "$T/keys" news >/dev/null 2>&1
is $? 2 "fastsse token needs --ttl"

S=$T/b.sock
start_broker b "$S" || { echo "Bail out! no broker"; exit 1; }
"$FASTSSE" revoke --socket "$S" --sub alice
ok $? "fastsse revoke --sub is taken"
"$FASTSSE" revoke --socket "$S" --jti t1 --until $(($(date +%s) + 60))
ok $? "fastsse revoke --jti --until is taken"
err=$("$FASTSSE" revoke --socket "$S" --jti t1 --until 1000 2>&1)
is $? 1 "a time in the past is refused"
check "... with the reason ($err)" matches "$err" '.*until must be after now'
"$FASTSSE" revoke --socket "$S" --sub a --jti b >/dev/null 2>&1
is $? 2 "one of --sub and --jti (usage)"
"$FASTSSE" revoke --socket "$S" >/dev/null 2>&1
is $? 2 "--sub or --jti needed (usage)"
check "the broker logs the revocation" \
    grep -q 'revoked sub alice until' "$T/b.log"
check "the broker stops cleanly" stop_broker b
done_testing
