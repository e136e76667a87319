# SPDX-License-Identifier: ISC
import json, os, time, urllib.error, urllib.request, uuid

url = os.environ.get("FASTSSE_URL", "http://localhost/events")
req = urllib.request.Request(
    url + "?channel=news&type=update",
    data=json.dumps({"price": 42}).encode(),
    headers={"Authorization": "Bearer " + os.environ["FASTSSE_PUBLISH_KEY"],
             "Content-Type": "application/json",
             # The same key on every attempt: a retry never publishes twice.
             "Idempotency-Key": str(uuid.uuid4())},
    method="POST")
for attempt in range(3):
    try:
        with urllib.request.urlopen(req, timeout=10) as r:  # 201 Created
            print("published as", r.read().decode())
            break
    except urllib.error.HTTPError as e:
        if e.code != 503:                   # 400, 401, 413: retrying won't help
            raise SystemExit("refused: %d %s" % (e.code, e.read().decode()))
    except OSError:                         # timeout, connection lost: retry
        pass
    time.sleep(1 + attempt)
else:
    raise SystemExit("broker unavailable, gave up")
