#!/bin/sh
# figure1: the five configurations, complete files, and a failed run never
# touches files already written.
. "$TOP_BUILDDIR/tests/setup.sh"

out="$scratch/fig"
if expect_status 0 "figure1" -- "$SSMSWEEP" figure1 --outdir "$out"; then
  for f in eigenvalues.csv mf.csv summary.csv; do
    [ -s "$out/$f" ] && pass "figure1 wrote $f" || fail "figure1 did not write $f"
  done
  [ "$(awk -F, 'NR > 1 { print $1 }' "$out/summary.csv" | tr '\n' ' ')" = "s4d-inv s4d-lin random lin step " ] \
    && pass "five configurations in the paper's order" || fail "summary inits: $(cat "$out/summary.csv")"
  [ "$(wc -l < "$out/mf.csv")" -eq $((5 * 1024 + 1)) ] && pass "MF for tau = 0..1023 per init" \
    || fail "mf.csv has $(wc -l < "$out/mf.csv") lines"
  [ "$(wc -l < "$out/eigenvalues.csv")" -eq $((5 * 32 + 1)) ] && pass "32 eigenvalues per init" \
    || fail "eigenvalues.csv rows"
  # finite T = 1024 over all delays: MC is the numerical rank, at most N
  awk -F, 'NR > 1 { if ($5 > 32 + 1e-9 || ($5 - $6) > 1e-8 || ($6 - $5) > 1e-8) bad = 1 } END { exit bad }' \
    "$out/summary.csv" && pass "MC = rank <= 32 for each init" || fail "summary: $(cat "$out/summary.csv")"
  ls -a "$out" | grep -q '\.tmp$' && fail "temporary files left behind" || pass "no temporary files left"
fi

# a rejected run leaves the previous results byte for byte
sum_before=$(cat "$out"/*.csv | cksum)
expect_status 2 "figure1 bad option" -- "$SSMSWEEP" figure1 --outdir "$out" --N 31
[ "$(cat "$out"/*.csv | cksum)" = "$sum_before" ] && pass "bad input leaves earlier results intact" \
  || fail "earlier results changed by a rejected run"
expect_status 2 "figure1 groups" -- "$SSMSWEEP" figure1 --outdir "$out" --groups 5 \
  && grep -q -- '--groups' "$scratch/err" && pass "step's group size checked before writing"

# an output directory that cannot be created
touch "$scratch/plain-file"
expect_status 1 "figure1 unwritable" -- "$SSMSWEEP" figure1 --outdir "$scratch/plain-file/sub" \
  && grep -q 'cannot create' "$scratch/err" && pass "uncreatable --outdir: clear error, exit 1"
finish
