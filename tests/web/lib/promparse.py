# SPDX-License-Identifier: ISC
# Reads a Prometheus text exposition on stdin, parses it with the
# prometheus_client library's parser (Debian: python3-prometheus-client),
# and prints its families and samples as JSON, or fails (exit 1) with the
# parser's complaint.  Exit 3: the library is missing.
import json
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit(3)

text = sys.stdin.read()
out = {'families': [], 'samples': []}
try:
    for fam in text_string_to_metric_families(text):
        out['families'].append([fam.name, fam.type, fam.documentation])
        for s in fam.samples:
            out['samples'].append([s.name, s.labels, s.value])
except Exception as e:  # the parser raises ValueError and others
    print('parse error: %s' % e, file=sys.stderr)
    sys.exit(1)
# The parser accepts a few things the format does not: check those too.
seen = set()
for line in text.splitlines():
    if line.startswith('# TYPE '):
        name = line.split()[2]
        if name in seen:
            print('TYPE twice for %s' % name, file=sys.stderr)
            sys.exit(1)
        seen.add(name)
if not text.endswith('\n'):
    print('no final newline', file=sys.stderr)
    sys.exit(1)
json.dump(out, sys.stdout)
