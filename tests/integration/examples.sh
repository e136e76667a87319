#!/bin/sh
# SPDX-License-Identifier: ISC
# The README's publishing examples, run against a real broker: the C one
# (built against libfastsse), the Python one (python3-msgpack) and the PHP
# one (php-msgpack); each must print an id and its event must reach a
# subscriber as JSON.  Also checks that the README shows these very files.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

EX=$top_srcdir/tests/integration/examples
README=$top_srcdir/README.md

# readme_block LANG: the first fenced block of that language in the README.
readme_block() {
	awk -v fence="\`\`\`$1" '
	    $0 == fence { on = 1; next }
	    on && $0 == "```" { exit }
	    on { print }' "$README"
}

for f in c:publish.c python:publish.py php:publish.php; do
	lang=${f%%:*}
	file=${f#*:}
	readme_block "$lang" > "$T/readme.$file"
	# The README shows the file without its licence line.
	grep -v 'SPDX-License-Identifier' "$EX/$file" > "$T/ex.$file"
	check "README shows tests/integration/examples/$file" \
	    cmp -s "$T/readme.$file" "$T/ex.$file"
done

# The examples of "Publishing over HTTP" (run by tests/web/httppub-*.js).
HP=$top_srcdir/tests/web/httppub
for f in python:publish.py php:publish.php; do
	lang=${f%%:*}
	file=${f#*:}
	awk -v fence="\`\`\`$lang" '
	    /^## Publishing over HTTP$/ { sec = 1; next }
	    /^## / { sec = 0 }
	    sec && $0 == fence { on = 1; next }
	    on && $0 == "```" { exit }
	    on { print }' "$README" > "$T/readme.http.$file"
	grep -v 'SPDX-License-Identifier' "$HP/$file" > "$T/ex.http.$file"
	check "README shows tests/web/httppub/$file" \
	    cmp -s "$T/readme.http.$file" "$T/ex.http.$file"
done

S=$T/b.sock
if ! start_broker b "$S" >&2; then
	echo "Bail out! the broker did not start"
	exit 1
fi
export FASTSSE_SOCKET="$S"
n=0

out=$("$top_builddir/tests/integration/examples/publish" 2>&1)
check "the C example publishes ($out)" matches "$out" 'published as [0-9a-z]*-[0-9]*'
n=$((n + 1))

if /usr/bin/python3 -c 'import msgpack' 2>/dev/null; then
	out=$(/usr/bin/python3 "$EX/publish.py" 2>&1)
	check "the Python example publishes ($out)" \
	    matches "$out" 'published as [0-9a-z]*-[0-9]*'
	n=$((n + 1))
else
	ok 0 "# SKIP /usr/bin/python3 has no msgpack module (python3-msgpack)"
fi

if command -v php >/dev/null 2>&1 && php -r 'exit(function_exists("msgpack_pack") ? 0 : 1);'; then
	out=$(php "$EX/publish.php" 2>&1)
	check "the PHP example publishes ($out)" \
	    matches "$out" 'published as [0-9a-z]*-[0-9]*'
	n=$((n + 1))
else
	ok 0 "# SKIP php with the msgpack extension is missing (php-msgpack)"
fi

"$FASTSSE" tail --last-event-id "$(epoch_of "$(
    "$FASTSSE" publish news-end done)")-0" --count "$n" news \
    > "$T/tail.out" 2>&1
got=$(grep -c '^data: {"price":42}$' "$T/tail.out")
is "$got" "$n" "every example's event arrived as JSON with its type"
check "typed update" grep -q '^event: update$' "$T/tail.out"

check "the broker stops cleanly" stop_broker b
done_testing
