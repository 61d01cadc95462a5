#!/bin/sh
# Regenerates the edge vectors from scratch with the real middleware.
#   ./regen.sh            (after `npm ci`)
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node gen-edge.js "$tmp/edge-skeletons.json"
for suffix in "" -lone-surrogates -deep-nesting; do
  node record.js "$tmp/edge-skeletons$suffix.json" "edge-vectors$suffix.json" --quiet
done
node gen-edge2.js "$tmp/edge2-skeletons.json"
node record.js "$tmp/edge2-skeletons.json" edge-vectors-2.json --quiet
node gen-minimal.js "$tmp/minimal-skeletons.json"
node record.js "$tmp/minimal-skeletons.json" edge-minimal.json --quiet
