#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs the whole fastsse test suite: configures and builds out of tree (in
# build/ unless BUILDDIR says otherwise, or in place when the source tree
# is configured already), installs the test clients from the
# npm registry (tests/web/setup.sh), then runs `make check` under the
# parallel harness.  CONFIGURE_ARGS is passed to configure, e.g.
#   CONFIGURE_ARGS=--enable-sanitizers BUILDDIR=build-san tests/run.sh
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$top/build}
# A tree already configured in place (as the README's first command does)
# is tested in place: automake allows no second, out-of-tree build then.
if [ -z "$BUILDDIR" ] && [ -f "$top/config.status" ]; then
	builddir=$top
fi
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

if [ ! -x "$top/configure" ]; then
	(cd "$top" && ./autogen.sh >/dev/null)
fi
mkdir -p "$builddir"
cd "$builddir"
if [ ! -f Makefile ] || [ -n "$CONFIGURE_ARGS" ]; then
	# shellcheck disable=SC2086
	"$top/configure" -q $CONFIGURE_ARGS
fi
make -j"$jobs"
if [ -x "$top/tests/web/setup.sh" ]; then
	"$top/tests/web/setup.sh"
fi
status=0
make -j"$jobs" check || status=$?
if [ "$status" -ne 0 ]; then
	# Show what failed, not only that something did.
	for f in $(find . -name '*.log' -newer Makefile); do
		if grep -q '^# \(FAIL\|ERROR\)' "$f" 2>/dev/null || \
		    grep -q '^\(FAIL\|ERROR\):' "$f" 2>/dev/null; then
			echo "==== $f"
			tail -n 60 "$f"
		fi
	done
fi
exit "$status"
