#!/bin/sh
# The bad-spec corpus through the CLI.  For every tests/specs/bad/*.yaml
# (first line "# expect: SUBSTRING"):
#   plan SPEC           exit 2, nothing on stdout, exactly one line on
#                       stderr: "ssmsweep plan: SPEC..." holding SUBSTRING;
#   run SPEC -o OUT.h5  exit 2, one line on stderr, and neither OUT.h5 nor
#                       OUT.h5.journal exists afterwards (a refused spec
#                       must not leave a results file to resume from).
# Then a spec that cannot be read, and plan on every example.
. "$TOP_BUILDDIR/tests/setup.sh"

count=0
for spec in "$TOP_SRCDIR"/tests/specs/bad/*.yaml; do
  count=$((count + 1))
  name=$(basename "$spec")
  expect=$(sed -n '1s/^# expect: //p' "$spec")
  if [ -z "$expect" ]; then
    fail "$name: first line is not '# expect: SUBSTRING'"
    continue
  fi

  if usage_error "$name: plan" "$expect" -- "$SSMSWEEP" plan "$spec"; then
    case $(cat "$scratch/err") in
      "ssmsweep plan: $spec"*) pass "$name: $(cat "$scratch/err")" ;;
      *) fail "$name: message does not start with 'ssmsweep plan: $spec': $(cat "$scratch/err")" ;;
    esac
  fi

  rm -f "$scratch/out.h5" "$scratch/out.h5.journal"
  "$SSMSWEEP" run "$spec" -o "$scratch/out.h5" > "$scratch/out" 2> "$scratch/err"
  code=$?
  lines=$(wc -l < "$scratch/err")
  if [ $code -ne 2 ]; then
    fail "$name: run exit $code, expected 2 ($(head -c 300 "$scratch/err"))"
  elif [ "$lines" -ne 1 ] || ! grep -qF -- "$expect" "$scratch/err"; then
    fail "$name: run stderr is not the one expected line: $(head -c 300 "$scratch/err")"
  elif [ -e "$scratch/out.h5" ] || [ -e "$scratch/out.h5.journal" ]; then
    fail "$name: run wrote output for a rejected spec"
  else
    pass "$name: run refused, nothing written"
  fi
done
[ $count -ge 35 ] && pass "$count bad specs checked" || fail "only $count bad specs (expected at least 35)"

# a spec that does not exist, and one that is a directory
for spec in "$scratch/no-such.yaml" "$TOP_SRCDIR/tests/specs"; do
  "$SSMSWEEP" plan "$spec" > "$scratch/out" 2> "$scratch/err"
  code=$?
  if [ $code -eq 2 ] && [ "$(wc -l < "$scratch/err")" -eq 1 ] && grep -qF "$spec: cannot read: " "$scratch/err" &&
     [ ! -s "$scratch/out" ]; then
    pass "unreadable spec: $(cat "$scratch/err")"
  else
    fail "unreadable spec $spec: exit $code, $(head -c 300 "$scratch/err")"
  fi
done

# 10^5 levels of nesting (flow and block style) are refused at level 65,
# within a second: the depth is counted before libyaml composes the
# document (which took 90 s for the flow case)
repeat() { head -c "$2" /dev/zero | tr '\0' "$1"; }   # repeat CHAR COUNT
{ printf 'kind: noop\nfixed:\n  value: '; repeat '[' 100000; repeat ']' 100000; echo; } > "$scratch/deep-flow.yaml"
{ printf 'kind: noop\nfixed:\n  value:\n    '; repeat '-' 100000 | sed 's/-/- /g'; echo 1; } > "$scratch/deep-block.yaml"
{ printf 'kind: noop\nfixed: '; repeat '{' 100000 | sed 's/{/{a: /g'; echo -n 1; repeat '}' 100000; echo; } > "$scratch/deep-map.yaml"
for deep in deep-flow deep-block deep-map; do
  start=$(date +%s%N)
  usage_error "$deep" "nested deeper than 64 levels" -- "$SSMSWEEP" plan "$scratch/$deep.yaml" || continue
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$ms" -lt $((1000 * time_factor)) ] && pass "$deep: 10^5 levels refused in $ms ms: $(cat "$scratch/err")" \
    || fail "$deep: refused, but after $ms ms"
done
# a spec that never ends is refused at its size cap
"$SSMSWEEP" plan /dev/zero > "$scratch/out" 2> "$scratch/err"
[ $? -eq 2 ] && [ "$(wc -l < "$scratch/err")" -eq 1 ] && grep -qF "larger than 16 MiB" "$scratch/err" \
  && pass "/dev/zero as a spec: $(cat "$scratch/err")" || fail "/dev/zero as a spec: $(head -c 300 "$scratch/err")"

# plan on every example: the task count, the axes and a cost estimate
for spec in "$TOP_SRCDIR"/jobs/examples/*.yaml; do
  if "$SSMSWEEP" plan "$spec" > "$scratch/plan" 2>&1 && grep -q '^tasks:' "$scratch/plan" &&
     grep -q '^cost:' "$scratch/plan"; then
    pass "plan $(basename "$spec"): $(grep '^tasks:' "$scratch/plan")"
  else
    fail "plan $(basename "$spec"): $(cat "$scratch/plan")"
  fi
done
finish
