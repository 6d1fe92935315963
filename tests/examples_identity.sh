#!/bin/sh
# The same specs give the same tasks and the same results, version after
# version: every task of every example and test spec (id, content hash,
# seed, cost, canonical text from `ssmsweep plan --tasks`) against the
# listings in tests/ref/identity/plans/; the message and exit status of
# `plan` for every spec of the bad-spec corpus against
# tests/ref/identity/bad-specs.txt (since tasks are enumerated lazily,
# src/sweep/space.c, these compare the lazy enumeration with the table of
# the versions before it); and the results of the example
# sweeps (the two deep Fashion-MNIST ones on the reduced budgets of
# tests/ref/identity/*-reduced.yaml) against tests/ref/identity/results.digest,
# value for value (tests/ref/example_digest.py).  Both references were
# written by the version before the engine/experiments split; a change that
# alters them on purpose (new rounding, say) regenerates them with
# tests/ref/identity/regenerate.sh and says why in its commit.
. tests/setup.sh
have_python3_module h5py || { echo "skip: needs Debian's python3-h5py"; exit 77; }
ref=$TOP_SRCDIR/tests/ref/identity

# ---- plans: ids, hashes, seeds, costs, canonical texts ----------------------
while read -r name spec; do
  case $name in '#'*|'') continue ;; esac
  if ! (cd "$TOP_SRCDIR" && "$SSMSWEEP" plan "$spec" --tasks) >"$scratch/$name.tasks" 2>"$scratch/err"; then
    fail "plan --tasks $spec: $(head -c 300 "$scratch/err")"
  elif [ -f "$ref/plans/$name.sha256" ]; then
    got="$(sha256sum <"$scratch/$name.tasks" | cut -d' ' -f1) $(wc -l <"$scratch/$name.tasks")"
    if [ "$got" = "$(cat "$ref/plans/$name.sha256")" ]; then
      pass "$spec: $(($(wc -l <"$scratch/$name.tasks") - 1)) tasks as before (SHA-256 of the listing)"
    else
      fail "$spec: listing differs from the SHA-256 and line count in tests/ref/identity/plans/$name.sha256"
    fi
  elif cmp -s "$ref/plans/$name.tasks" "$scratch/$name.tasks"; then
    pass "$spec: $(($(wc -l <"$scratch/$name.tasks") - 1)) tasks as before"
  else
    fail "$spec: tasks differ from tests/ref/identity/plans/$name.tasks: $(diff "$ref/plans/$name.tasks" "$scratch/$name.tasks" | head -3 | tr '\n' ' ')"
  fi
done <"$ref/plans.list"

# ---- bad specs: the same message and exit status -------------------------------
bad=0
while IFS="$(printf '\t')" read -r spec want_status want; do
  case $spec in '#'*|'') continue ;; esac
  got=$(cd "$TOP_SRCDIR" && "$SSMSWEEP" plan "$spec" 2>&1 >/dev/null)
  status=$?
  if [ "$status" != "$want_status" ] || [ "$got" != "$want" ]; then
    fail "$spec: exit $status, '$got' (before: exit $want_status, '$want')"
    bad=$((bad + 1))
  fi
done <"$ref/bad-specs.txt"
n_bad=$(grep -vc '^#' "$ref/bad-specs.txt")
[ "$n_bad" -ge 87 ] || fail "bad-specs.txt lists $n_bad specs, expected every one of tests/specs/bad"
[ "$n_bad" -eq "$(ls "$TOP_SRCDIR"/tests/specs/bad/*.yaml | wc -l)" ] ||
  fail "bad-specs.txt lists $n_bad specs, tests/specs/bad holds $(ls "$TOP_SRCDIR"/tests/specs/bad/*.yaml | wc -l)"
[ "$bad" -eq 0 ] && pass "$n_bad bad specs: the same message and exit status as before"

# ---- results ------------------------------------------------------------------
: >"$scratch/results.digest"
[ "$reference_kernels" = 1 ] || echo "note: no AVX2 and FMA here: the results are not compared with the stored digests (tests/setup.sh)" >&2
[ "$reference_kernels" = 1 ] && while read -r name spec shard; do
  case $name in '#'*|'') continue ;; esac
  out=$scratch/$name.h5
  if ! (cd "$TOP_SRCDIR" && "$SSMSWEEP" run "$spec" -o "$out" --quiet ${shard:+--shard "$shard"}) 2>"$scratch/err"; then
    fail "run $spec: $(head -c 300 "$scratch/err")"
    continue
  fi
  "$PYTHON3" "$TOP_SRCDIR/tests/ref/example_digest.py" "$name" "$out" >>"$scratch/results.digest" ||
    fail "digest of $name"
done <"$ref/results.list"
[ "$reference_kernels" = 1 ] && for name in $(cut -d' ' -f1 "$ref/results.digest" | uniq); do
  grep "^$name " "$ref/results.digest" >"$scratch/want"
  grep "^$name " "$scratch/results.digest" >"$scratch/got"
  if cmp -s "$scratch/want" "$scratch/got"; then
    pass "$name: $(wc -l <"$scratch/got") tasks with the same results"
  else
    fail "$name: results differ: $(diff "$scratch/want" "$scratch/got" | head -3 | tr '\n' ' ')"
  fi
done
MIN_PASSES=$((reference_kernels ? 20 : 12))
finish
