#!/bin/sh
# The command line: help texts, CSV shapes, eig -> file round trip, man page.
. "$TOP_BUILDDIR/tests/setup.sh"

expect_status 0 "ssmsweep --help" -- "$SSMSWEEP" --help && grep -q '^Usage: ssmsweep' "$scratch/out" \
  && pass "top-level help" || fail "top-level help text"
expect_status 0 "ssmsweep --version" -- "$SSMSWEEP" --version && grep -q '^ssmsweep [0-9]' "$scratch/out" \
  && pass "version" || fail "version text"
for cmd in eig mf figure1; do
  expect_status 0 "$cmd --help" -- "$SSMSWEEP" $cmd --help && grep -q "^Usage: ssmsweep $cmd" "$scratch/out" \
    && pass "$cmd --help" || fail "$cmd --help text"
done
expect_status 2 "no command" -- "$SSMSWEEP" && pass "no command: usage, exit 2"

# eig: N rows, header, conjugates listed
if expect_status 0 "eig s4d-inv" -- "$SSMSWEEP" eig --init s4d-inv --N 16 --dt 0.05; then
  [ "$(head -n 1 "$scratch/out")" = "index,re,im,abs" ] && pass "eig header" || fail "eig header"
  [ "$(wc -l < "$scratch/out")" -eq 17 ] && pass "eig prints N rows" || fail "eig row count"
  awk -F, 'NR > 1 && NR % 2 == 0 { re = $2; im = $3 } NR > 1 && NR % 2 == 1 { if ($2 != re || $3 != -im) bad = 1 }
           END { exit bad }' "$scratch/out" && pass "eig lists conjugate pairs" || fail "eig conjugates"
fi

# round trip: eig output fed back with --init file gives the same MF bits
for init in s4d-lin random step; do
  "$SSMSWEEP" eig --init $init --N 12 --groups 3 --seed 4 > "$scratch/eig.csv"
  "$SSMSWEEP" mf --init $init --N 12 --groups 3 --seed 4 --tau-max 50 > "$scratch/a.csv" 2>/dev/null
  "$SSMSWEEP" mf --init file --file "$scratch/eig.csv" --tau-max 50 > "$scratch/b.csv" 2>/dev/null
  cmp -s "$scratch/a.csv" "$scratch/b.csv" && pass "$init: eig -> --init file round trip is exact" \
    || fail "$init: round trip through eig output changes MF"
done

# mf: CSV shape and the summary on stderr
for method in analytic finite simulate blaschke; do
  if expect_status 0 "mf $method" -- "$SSMSWEEP" mf --init s4d-inv --N 8 --method $method --tau-max 30 --T 2000; then
    [ "$(head -n 1 "$scratch/out")" = "tau,mf" ] && [ "$(wc -l < "$scratch/out")" -eq 32 ] \
      && pass "mf $method: header and tau_max + 1 rows" || fail "mf $method CSV shape"
    grep -Eq '^MC = [0-9.e+-]+$' "$scratch/err" && grep -q '^rank = ' "$scratch/err" \
      && pass "mf $method: MC and rank on stderr" || fail "mf $method summary: $(cat "$scratch/err")"
  fi
done

# legs-dense runs through the dense engines
expect_status 0 "mf legs-dense" -- "$SSMSWEEP" mf --init legs-dense --N 6 --tau-max 2000 \
  && awk '/^MC = / { d = $3 - 6; exit !(d < 1e-9 && d > -1e-9) }' "$scratch/err" \
  && grep -q '^rank = 6 ' "$scratch/err" \
  && pass "legs-dense: MC = N" || fail "legs-dense MC: $(cat "$scratch/err")"

# the man page renders and documents every initialization
man_page="$TOP_SRCDIR/doc/ssmsweep.1"
if command -v groff >/dev/null 2>&1; then
  groff -man -Tutf8 -ww "$man_page" > "$scratch/man.txt" 2> "$scratch/man.err"
  [ ! -s "$scratch/man.err" ] && pass "man page renders without warnings" || fail "man page warnings: $(cat "$scratch/man.err")"
fi
sed 's/\\-/-/g' "$man_page" > "$scratch/man.src"
missing=0
for init in s4d-inv s4d-lin s4d-real s4d-random s4d-legs lin step random file legs-dense; do
  grep -q -- "^\.B $init\$" "$scratch/man.src" || { fail "man page does not document --init $init"; missing=1; }
done
[ $missing -eq 0 ] && pass "man page documents every --init"
finish
