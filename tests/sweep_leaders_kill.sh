#!/bin/sh
# kill -9 under hierarchical coordination loses nothing: a leader (rank 2
# of groups of 2 on 6 ranks), a worker under a leader (rank 4 of groups
# of 3) and the whole job are each killed with SIGKILL while the sweep
# runs; Open MPI then ends the job, and --resume (under leaders again)
# finishes it: every task done, the file bit-identical to a flat run,
# and the results the journal held before the resume are kept (the resume
# computes only what was pending).
. "$TOP_BUILDDIR/tests/setup.sh"
. "$TOP_SRCDIR/tests/leaderlib.sh"

"$MPIRUN" -np 6 "$SSMSWEEP" run "$spec" -o "$scratch/flat.h5" --leaders none --quiet >"$scratch/flat.log" 2>&1 ||
    { fail "flat run: $(tail -n 3 "$scratch/flat.log")"; finish; }

# kill_test LABEL GROUPS VICTIM(rank number|job) RESUME-GROUPS
kill_test() {
    out=$scratch/kill-$1.h5
    start_run "$out" -np 6 --leaders "$2" --sync 0.1
    sleep 0.3
    if [ "$3" = job ]; then
        kill_job "$out"
    else
        victim=$(rank_pid "$out" "$3")
        [ -n "$victim" ] && kill -9 "$victim" || fail "$1: no process of rank $3 found"
        # Open MPI ends the rest of the job; bounded, then by force
        i=0
        while kill -0 "$run_pid" 2>/dev/null && [ $i -lt $((200 * slow)) ]; do sleep 0.05; i=$((i + 1)); done
        kill_job "$out"
    fi
    pgrep -f "^$SSMSWEEP run .*$out" >/dev/null && fail "$1: a rank survived"
    "$SSMSWEEP" status "$out" >"$scratch/status.txt" 2>&1
    before=$(sed -n 's/^tasks: *[0-9]*: \([0-9]*\) done.*/\1/p' "$scratch/status.txt")
    case $before in
        '' | 0) fail "$1: nothing in the journal before the resume: $(cat "$scratch/status.txt")" ;;
        "$ntasks") fail "$1: the kill came after the end" ;;
        *) pass "$1: killed with $before of $ntasks done" ;;
    esac
    "$MPIRUN" -np 6 "$SSMSWEEP" run "$spec" -o "$out" --resume --leaders "$4" >"$scratch/resume.log" 2>&1 ||
        fail "$1: --resume: exit $? ($(tail -n 3 "$scratch/resume.log"))"
    grep -q "(${before:-x} done, 0 failed before)" "$scratch/resume.log" &&
        pass "$1: the resume kept the $before journaled results" ||
        fail "$1: resume: $(grep 'tasks' "$scratch/resume.log" | head -n 2)"
    same_as_flat "$out" "$1, resumed with groups of $4"
}
kill_test leader 2 2 2
kill_test member 3 4 3
kill_test job 2 job 3
finish
