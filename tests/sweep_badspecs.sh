#!/bin/sh
# Every spec of the bad corpus: `plan` and `run` exit 2 with one line on
# stderr naming file, line, column and key, print nothing on stdout, and
# `run` writes neither the results file nor its journal.
. "$TOP_BUILDDIR/tests/setup.sh"
count=0
for spec in "$TOP_SRCDIR"/tests/specs/bad/*.yaml; do
  count=$((count + 1))
  name=$(basename "$spec")
  expect=$(sed -n '1s/^# expect: //p' "$spec")
  "$SSMSWEEP" plan "$spec" > "$scratch/out" 2> "$scratch/err"
  code=$?
  if [ $code -ne 2 ]; then
    fail "$name: plan exit $code, expected 2"
  elif [ "$(wc -l < "$scratch/err")" -ne 1 ]; then
    fail "$name: $(wc -l < "$scratch/err") lines on stderr"
  elif ! grep -qF -- "$expect" "$scratch/err"; then
    fail "$name: message lacks '$expect': $(cat "$scratch/err")"
  elif [ -s "$scratch/out" ]; then
    fail "$name: plan printed to stdout"
  else
    pass "$name: $(cat "$scratch/err")"
  fi
  "$SSMSWEEP" run "$spec" -o "$scratch/out.h5" > /dev/null 2> "$scratch/err"
  code=$?
  [ $code -eq 2 ] || fail "$name: run exit $code, expected 2"
  if [ -e "$scratch/out.h5" ] || [ -e "$scratch/out.h5.journal" ]; then
    fail "$name: run wrote output for a rejected spec"
    rm -f "$scratch/out.h5" "$scratch/out.h5.journal"
  fi
done
[ $count -ge 30 ] && pass "$count bad specs checked" || fail "only $count bad specs"
# a missing spec file
"$SSMSWEEP" plan "$scratch/no-such.yaml" 2> "$scratch/err"
[ $? -eq 2 ] && grep -q "cannot read" "$scratch/err" && pass "missing spec: $(cat "$scratch/err")" || fail "missing spec"
# plan on every example: the axes and a cost estimate, nothing written
for spec in "$TOP_SRCDIR"/jobs/examples/*.yaml; do
  "$SSMSWEEP" plan "$spec" > "$scratch/plan" 2>&1 && grep -q '^tasks:' "$scratch/plan" && grep -q '^cost:' "$scratch/plan" \
    && pass "plan $(basename "$spec"): $(grep '^tasks:' "$scratch/plan")" || fail "plan $(basename "$spec"): $(cat "$scratch/plan")"
done
finish
