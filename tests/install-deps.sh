#!/bin/sh
# SPDX-License-Identifier: ISC
# Installs, from Debian's packages, what fastsse needs to build, to run its
# demo and to run its whole test suite (web servers, Nchan for the
# benchmark, Chromium for the browser test, node for the test clients,
# clang for the libFuzzer runs: Debian 12's clang brings libFuzzer's
# runtime with libclang-common-14-dev; python3-prometheus-client's parser
# checks the metrics the monitoring tests scrape; redis-server for the
# broker's Redis mode tests, which start their own on private sockets).
# Run as root on Debian 12.
set -e
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo "$0" "$@"
	fi
	echo "install-deps.sh: run as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
	build-essential autoconf automake libtool pkg-config \
	libev-dev libmsgpack-dev libfcgi-dev zlib1g-dev libdeflate-dev \
	libssl-dev libjansson-dev libhiredis-dev redis-server \
	lighttpd lighttpd-mod-openssl nginx-light libnginx-mod-nchan \
	apache2 libapache2-mod-fcgid openssl \
	curl ca-certificates procps psmisc valgrind \
	clang \
	chromium fonts-dejavu-core \
	python3 python3-msgpack php-cli php-msgpack \
	python3-prometheus-client
# systemd-analyze and systemd-socket-activate check the service units
# (tests/integration/service.sh); already there on a Debian system.
apt-get install -y -q --no-install-recommends systemd
# The test clients run on node 18 or later (tests/web/package.json); a
# machine may already have a newer node than Debian 12's nodejs (18.x),
# so that is only installed when node is missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	apt-get install -y -q --no-install-recommends nodejs npm
fi
# Debian starts the web servers it installs on port 80 (and Redis on
# 6379); the demo and the tests run their own on private ports and
# sockets, so the system ones are not needed.
for s in lighttpd nginx apache2 redis-server; do
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl disable --now "$s" >/dev/null 2>&1 || true
	else
		service "$s" stop >/dev/null 2>&1 || true
	fi
done
