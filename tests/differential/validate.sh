#!/bin/sh
# Checks the recorder against the public corpus: strips every `expect` from
# tests/conformance/vectors/*.json, re-records the skeletons with the real
# middleware and compares (SPEC §9 rules, messages compared exactly), then
# byte-compares the files.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for f in ../conformance/vectors/*.json; do
  b=$(basename "$f" .json)
  node strip.js "$f" "$tmp/$b-skeleton.json"
  node record.js "$tmp/$b-skeleton.json" "$tmp/$b.json" --quiet
  node compare.js "$f" "$tmp/$b.json" --strict-messages | tail -1 || status=1
  if cmp -s "$f" "$tmp/$b.json"; then echo "$b: byte-identical"; else echo "$b: bytes differ"; fi
done
exit $status
