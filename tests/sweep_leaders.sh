#!/bin/sh
# Hierarchical coordination (node leaders, src/sweep/leader.c) forced onto
# small groups of oversubscribed ranks on this one machine:
#  - flat, groups of 2 on 6 ranks (--leaders 2: leaders 2 and 4, rank 1
#    served by rank 0) and groups of 3 on 5 ranks (SSMSWEEP_LEADERS=3:
#    leader 3 with rank 4) give bit-identical files, every rank computes,
#    and /provenance/coordination says which mode ran;
#  - a bad --leaders or SSMSWEEP_LEADERS is one line, exit 2;
#  - on 4 ranks in groups of 2 (leader 2 with rank 3), SIGUSR1 to mpirun
#    (every rank) and SIGUSR1 to the leader alone (which tells rank 0) stop
#    the sweep with status 3 within seconds, and --resume (with another
#    group size) ends bit-identical to the flat run.
# kill -9 under leaders: tests/sweep_leaders_kill.sh.
. "$TOP_BUILDDIR/tests/setup.sh"
. "$TOP_SRCDIR/tests/leaderlib.sh"

# the flat reference
"$MPIRUN" -np 6 "$SSMSWEEP" run "$spec" -o "$scratch/flat.h5" --leaders none --quiet >"$scratch/flat.log" 2>&1 ||
    { fail "flat run: $(tail -n 3 "$scratch/flat.log")"; finish; }
coordination "$scratch/flat.h5" "flat"

"$MPIRUN" -np 6 "$SSMSWEEP" run "$spec" -o "$scratch/g2.h5" --leaders 2 --quiet >"$scratch/g2.log" 2>&1 &&
    pass "--leaders 2 on 6 ranks completes" || fail "--leaders 2: exit $? ($(tail -n 3 "$scratch/g2.log"))"
same_as_flat "$scratch/g2.h5" "groups of 2 on 6 ranks"
coordination "$scratch/g2.h5" "hierarchical: one leader per group of 2 consecutive ranks (forced), 3 groups"
every_rank_computed "$scratch/g2.h5" 6

SSMSWEEP_LEADERS=3 "$MPIRUN" -x SSMSWEEP_LEADERS -np 5 "$SSMSWEEP" run "$spec" -o "$scratch/g3.h5" --quiet \
    >"$scratch/g3.log" 2>&1 && pass "SSMSWEEP_LEADERS=3 on 5 ranks completes" ||
    fail "SSMSWEEP_LEADERS=3: exit $? ($(tail -n 3 "$scratch/g3.log"))"
same_as_flat "$scratch/g3.h5" "groups of 3 on 5 ranks"
coordination "$scratch/g3.h5" "hierarchical: one leader per group of 3 consecutive ranks (forced), 2 groups"
every_rank_computed "$scratch/g3.h5" 5

# the option beats the variable; auto below 256 ranks is flat
SSMSWEEP_LEADERS=2 "$MPIRUN" -x SSMSWEEP_LEADERS -np 3 "$SSMSWEEP" run "$TOP_SRCDIR/tests/specs/run/mixed.yaml" \
    -o "$scratch/auto.h5" --leaders auto --quiet >"$scratch/auto.log" 2>&1 ||
    fail "--leaders auto: $(tail -n 3 "$scratch/auto.log")"
coordination "$scratch/auto.h5" "flat"

usage_error "--leaders 0" "--leaders: expected auto, none, node or a group size K >= 1, got '0'" -- \
    "$SSMSWEEP" run "$spec" -o "$scratch/bad.h5" --leaders 0 && pass "--leaders 0 refused: $(cat "$scratch/err")"
usage_error "SSMSWEEP_LEADERS=nodes" "SSMSWEEP_LEADERS: expected auto, none, node or a group size K >= 1, got 'nodes'" -- \
    env SSMSWEEP_LEADERS=nodes "$SSMSWEEP" run "$spec" -o "$scratch/bad.h5" &&
    pass "SSMSWEEP_LEADERS=nodes refused: $(cat "$scratch/err")"
[ ! -e "$scratch/bad.h5" ] && [ ! -e "$scratch/bad.h5.journal" ] && pass "nothing written for a bad --leaders" ||
    fail "a bad --leaders left files"

# stop_test LABEL TARGET(mpirun|leader) RESUME-GROUPS
stop_test() {
    out=$scratch/stop-$1.h5
    start_run "$out" -np 4 --leaders 2 --sync 0.2
    sleep 0.3
    t0=$(date +%s.%N)
    if [ "$2" = leader ]; then
        leader=$(rank_pid "$out" 2)
        [ -n "$leader" ] || fail "$1: no process of rank 2 found"
        kill -USR1 "$leader"
    else
        kill -USR1 "$run_pid"
    fi
    wait "$run_pid"
    code=$?
    took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    [ $code -eq 3 ] && pass "$1: exit status 3 after $took s" || fail "$1: exit $code, expected 3 ($(tail -n 3 "$out.log"))"
    awk -v t="$took" -v f="$slow" 'BEGIN { exit !(t < 5 * f) }' || fail "$1: stopping took $took s"
    grep -q "SIGUSR1: no new tasks; finishing the running ones" "$out.log" && pass "$1: rank 0 saw the SIGUSR1" ||
        fail "$1: no stop message: $(tail -n 3 "$out.log")"
    "$SSMSWEEP" status "$out" >"$scratch/status.txt" 2>&1
    grep -q "pending" "$scratch/status.txt" && ! grep -q " 0 pending" "$scratch/status.txt" &&
        pass "$1: $(grep '^tasks:' "$scratch/status.txt")" || fail "$1: status: $(cat "$scratch/status.txt")"
    "$MPIRUN" -np 4 "$SSMSWEEP" run "$spec" -o "$out" --resume --leaders "$3" --quiet >"$scratch/resume.log" 2>&1 ||
        fail "$1: --resume --leaders $3: exit $? ($(tail -n 3 "$scratch/resume.log"))"
    same_as_flat "$out" "$1, resumed with groups of $3"
}
stop_test sigusr1-mpirun mpirun 3
stop_test sigusr1-leader leader 2
finish
