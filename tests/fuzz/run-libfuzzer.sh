#!/bin/sh
# SPDX-License-Identifier: ISC
# Builds the fuzz targets with clang's libFuzzer (plus ASan and UBSan)
# and runs each for a bounded time: SECONDS (default 60) per target.
# Needs clang (Debian package clang) and a configured build directory
# for config.h: BUILDDIR, default ./build.  A crash leaves its input in
# $WORK/crash-* and fails the run; replay it with the make-check build of
# the target (tests/fuzz/fuzz_request crash-...).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
builddir=${BUILDDIR:-$top/build}
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "run-libfuzzer.sh: $CLANG not found (Debian package clang)" >&2
	exit 1
fi
if [ ! -f "$builddir/config.h" ]; then
	echo "run-libfuzzer.sh: no $builddir/config.h: configure first" >&2
	exit 1
fi
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/fastsse-fuzz.XXXXXX")}
FLAGS="-g -O1 -DFUZZ_LIBFUZZER -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -I$builddir -I$top/shared -I$top/fcgi"
MSGPACK=$(pkg-config --cflags --libs msgpack)

# shellcheck disable=SC2086
"$CLANG" $FLAGS -o "$WORK/fuzz_proto" "$top/tests/fuzz/fuzz_proto.c" \
	"$top/shared/proto.c" "$top/shared/buf.c" $MSGPACK
# shellcheck disable=SC2086
"$CLANG" $FLAGS -o "$WORK/fuzz_request" "$top/tests/fuzz/fuzz_request.c" \
	"$top/fcgi/request.c" "$top/fcgi/record.c" "$top/fcgi/http.c" \
	"$top/shared/buf.c" "$top/shared/validate.c" "$top/shared/hex.c" $MSGPACK

# shellcheck disable=SC2086
"$CLANG" $FLAGS -o "$WORK/fuzz_token" "$top/tests/fuzz/fuzz_token.c" \
	"$top/fcgi/token.c" "$top/fcgi/auth.c" "$top/fcgi/http.c" \
	"$top/shared/buf.c" "$top/shared/validate.c" "$top/shared/hex.c" "$top/shared/jsonstr.c" \
	$(pkg-config --cflags --libs libcrypto jansson)

# Seeds: the make-check targets' own starting inputs would do, but an
# empty corpus also works; libFuzzer grows it under $WORK.
for t in fuzz_proto fuzz_request fuzz_token; do
	mkdir -p "$WORK/corpus-$t"
	echo "== $t: $secs s"
	(cd "$WORK" && "./$t" -max_total_time="$secs" -max_len=4096 \
	    -print_final_stats=1 "corpus-$t" 2>"$WORK/$t.log") || {
		tail -n 60 "$WORK/$t.log"
		echo "run-libfuzzer.sh: $t found a bug; inputs in $WORK" >&2
		exit 1
	}
	grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' \
	    "$WORK/$t.log" | sed "s/^/$t: /"
done
rm -rf "$WORK"
