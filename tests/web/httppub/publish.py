# SPDX-License-Identifier: ISC
# Publishes one event over HTTP with Python's standard library only.
# Usage: python3 publish.py URL KEY CHANNEL DATA [IDEMPOTENCY-KEY]
import sys
import urllib.parse
import urllib.request

url, key, channel, data = sys.argv[1:5]
headers = {"Authorization": "Bearer " + key,
           "Content-Type": "text/plain; charset=utf-8"}
if len(sys.argv) > 5:
    headers["Idempotency-Key"] = sys.argv[5]
req = urllib.request.Request(
    url + "?" + urllib.parse.urlencode({"channel": channel}),
    data=data.encode(), headers=headers, method="POST")
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.read().decode())    # 201 Created: the event id
except urllib.error.HTTPError as e:
    sys.exit("publish failed: %d %s" % (e.code, e.read().decode().strip()))
