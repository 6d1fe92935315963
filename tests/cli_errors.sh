#!/bin/sh
# Bad input: exit status 2, exactly one line on stderr naming the problem,
# nothing on stdout, never a crash.  Cases: "expected-word|arguments...".
. "$TOP_BUILDDIR/tests/setup.sh"

mkdir "$scratch/a-directory"
printf 'index,re,im,abs\n0,0.5,zz,1\n' > "$scratch/garbage.csv"
printf '0.5,0.2\n0.4,-0.2\n' > "$scratch/unpaired.csv"
printf '1.0,0\n' > "$scratch/unstable.csv"
head -c 10000 /dev/zero | tr '\0' '5' > "$scratch/long-line.csv"
awk 'BEGIN { for (k = 0; k <= 65536; ++k) print "0.5,0" }' > "$scratch/too-many.csv"

while IFS='|' read -r needle args; do
  [ -z "$needle" ] && continue
  # shellcheck disable=SC2086
  set -- $args
  usage_error "'$args'" "$needle" -- "$SSMSWEEP" "$@" && pass "'$args' -> $(cat "$scratch/err")"
done <<CASES
unknown initialization|mf --init s4d-foo
unknown initialization|eig --init S4D-INV
--N|mf --init s4d-inv --N 0
--N|eig --init lin --N -3
--N|mf --init s4d-inv --N 12abc
--N|mf --init s4d-inv --N 7
--N|eig --init s4d-lin --N 99999999999999999999
--dt|mf --init s4d-inv --dt 0
--dt|mf --init s4d-inv --dt -0.01
--dt|mf --init s4d-inv --dt nan
--dt|eig --init s4d-lin --dt inf
--dt|mf --init s4d-inv --dt 1e999
--dt|mf --init s4d-inv --dt 1e-3x
--rho|mf --init lin --rho 1
--rho|eig --init random --rho 1.5
--rho|mf --init step --rho -0.2
--rho|mf --init lin --rho nan
--real-part|mf --init s4d-inv --real-part -1
--real-part|mf --init s4d-inv --real-part inf
--imag-scale|mf --init s4d-inv --imag-scale -2
--groups|eig --init step --N 10 --groups 4
--groups|eig --init step --groups 0
--T|mf --init s4d-inv --method finite --tau-max 100 --T 50
--T|mf --init s4d-inv --method simulate --tau-max 100 --T 99
--T|mf --init s4d-inv --method finite --T 0
--tau-max|mf --init s4d-inv --tau-max -5
--tau-max|mf --init s4d-inv --tau-max 1.5
--washout|mf --init s4d-inv --method simulate --tau-max 100 --washout 50
--rcond|mf --init s4d-inv --rcond 2
--rcond|mf --init s4d-inv --rcond 0
--seed|mf --init random --seed -1
--method|mf --init s4d-inv --method magic
--disc|mf --init s4d-inv --disc euler
--file|mf --init file
cannot open|mf --init file --file $scratch/no-such-file.csv
error reading|eig --init file --file $scratch/a-directory
garbage.csv:2|mf --init file --file $scratch/garbage.csv
conjugat|mf --init file --file $scratch/unpaired.csv
radius|mf --init file --file $scratch/unstable.csv --method analytic
/dev/zero:1: NUL byte|mf --init file --file /dev/zero
line longer than 4096 bytes|mf --init file --file $scratch/long-line.csv
more than 65536 eigenvalues, the limit of N|eig --init file --file $scratch/too-many.csv
unknown option|mf --init s4d-inv --frobnicate
needs a value|mf --init
unexpected argument|eig --init lin extra
--init|figure1 --init lin
--T|figure1 --T 0
unknown command|frobnicate
missing SPEC|plan
missing OUT.h5|status
unexpected argument 'b'|plan a b
CASES

# The exit statuses: the one list of them (the EXIT_ enum of src/cli/cli.h)
# is what the man page's EXIT STATUS section and the README's Exit status
# table describe, code for code.
codes=$(sed -n 's/^ *EXIT_[A-Z_]* = \([0-9][0-9]*\),\{0,1\} .*/\1/p' "$TOP_SRCDIR/src/cli/cli.h" | sort -n | tr '\n' ' ')
man=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH ENV/p' "$TOP_SRCDIR/doc/ssmsweep.1" | sed -n '/^\.TP$/{n;s/^\.B \([0-9][0-9]*\)$/\1/p;}' |
      sort -n | tr '\n' ' ')
readme=$(sed -n '/^## Exit status$/,/^## [A-Z]/p' "$TOP_SRCDIR/README.md" | sed -n 's/^| \([0-9][0-9]*\) |.*/\1/p' | sort -n | tr '\n' ' ')
if [ "$(echo $codes | wc -w)" -ge 5 ] && [ "$man" = "$codes" ] && [ "$readme" = "$codes" ]; then
  pass "exit statuses $codes: cli.h, the man page's EXIT STATUS and the README's Exit status list the same"
else
  fail "exit statuses: cli.h has [$codes], the man page [$man], the README [$readme]"
fi
MIN_PASSES=52   # one per case (a case that checked nothing must not pass) and the exit statuses
finish
