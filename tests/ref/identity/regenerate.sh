#!/bin/sh
# Rewrites the references of tests/examples_identity.sh with the ssmsweep
# given as $1 (run from the source tree).  Only for a change that alters
# tasks or results on purpose: say which and why in the commit.
set -eu
ssmsweep=${1:?usage: tests/ref/identity/regenerate.sh PATH/TO/ssmsweep}
ref=tests/ref/identity
# the kernels the tests run (tests/setup.sh.in)
export OPENBLAS_CORETYPE=Haswell
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$ref/plans"
grep -v '^#' "$ref/plans.list" | while read -r name spec; do
  [ -n "$name" ] || continue
  rm -f "$ref/plans/$name.tasks" "$ref/plans/$name.sha256"
  "$ssmsweep" plan "$spec" --tasks >"$tmp/list"
  # large listings are kept as their SHA-256 and line count
  if [ "$(wc -l <"$tmp/list")" -le 1001 ]; then
    cp "$tmp/list" "$ref/plans/$name.tasks"
  else
    echo "$(sha256sum <"$tmp/list" | cut -d' ' -f1) $(wc -l <"$tmp/list")" >"$ref/plans/$name.sha256"
  fi
done
: >"$ref/results.digest"
grep -v '^#' "$ref/results.list" | while read -r name spec shard; do
  [ -n "$name" ] || continue
  OPENBLAS_NUM_THREADS=1 "$ssmsweep" run "$spec" -o "$tmp/$name.h5" --quiet ${shard:+--shard "$shard"}
  /usr/bin/python3 tests/ref/example_digest.py "$name" "$tmp/$name.h5" >>"$ref/results.digest"
done
