#!/bin/sh
# Continuation across SLURM time limits: jobs/ssmsweep.sbatch with
# --time=0:01:00 --signal=B:USR1@30 on 36 s of work (tests/slurm/requeue.yaml,
# one rank).  The warning signal stops the first run, the script requeues
# the job, the continuation resumes and finishes: every task done, each
# computed exactly once (journal records = tasks, none recomputed), the
# results equal an uninterrupted run.  A second job with
# SSMSWEEP_MAX_RESTARTS=0, running at the same time, is not requeued: it
# ends FAILED with exit code 3, the sweep unfinished, and says why.
# About 60-80 s: the signal comes at slurmctld's 30-second time-limit
# check, and a requeued job waits cred_expire (10 s) + 1 s before it
# starts again (tests/slurm/README.md).
. "$TOP_BUILDDIR/tests/setup.sh"
. "$TOP_SRCDIR/tests/slurm/lib.sh"
spec=$TOP_SRCDIR/tests/slurm/requeue.yaml
ntasks=72

slurm_start
cd "$scratch" || exit 99
# Both jobs at once, one rank each (the node has two cores), right after
# the cluster started: slurmctld's first check (~30 s) then signals both.
submit() {
    _name=$1; shift
    sbatch --parsable --ntasks=1 --time=0:01:00 --signal=B:USR1@30 -o "$scratch/$_name-%j.out" "$@" \
        "$TOP_SRCDIR/jobs/ssmsweep.sbatch" "$spec" "$scratch/$_name.h5" --progress 5 2>>"$scratch/sbatch.err"
}
job=$(submit requeue)
cap=$(submit cap --export=ALL,SSMSWEEP_MAX_RESTARTS=0)
case $job$cap in
    *[!0-9]*|'') fail "sbatch: $(cat "$scratch/sbatch.err")"; finish ;;
esac
pass "submitted job $job (continues) and job $cap (SSMSWEEP_MAX_RESTARTS=0)"

# the uninterrupted reference, while the jobs run
"$MPIRUN" -np 2 "$SSMSWEEP" run "$spec" -o "$scratch/local.h5" --quiet >"$scratch/local.log" 2>&1 &
slurm_bg=$!

# -- the capped job ----------------------------------------------------------
if slurm_wait "$cap" 90; then
    echo "(after $(slurm_elapsed) s)"
    state=$(job_field "$cap" JobState) code=$(job_field "$cap" ExitCode) restarts=$(job_field "$cap" Restarts)
    [ "$state" = FAILED ] && [ "$code" = 3:0 ] && [ "$restarts" = 0 ] &&
        pass "capped job $cap: FAILED, exit code 3:0, not requeued" ||
        { fail "capped job $cap: $state, exit code $code, Restarts=$restarts"; slurm_diag "$cap"; }
    out=$scratch/cap-$cap.out
    grep -q "got SIGUSR1" "$out" && pass "capped job got the warning signal" ||
        fail "capped job: no SIGUSR1 in its output: $(tail -n 5 "$out")"
    msg=$(grep "reached the cap SSMSWEEP_MAX_RESTARTS=0: not requeueing; the sweep is unfinished" "$out")
    [ -n "$msg" ] && pass "capped job says why: $msg" || fail "capped job: no cap message: $(tail -n 5 "$out")"
    "$SSMSWEEP" status "$scratch/cap.h5" >"$scratch/cap-status.txt" 2>&1
    pending=$(sed -n "s/^tasks: *$ntasks: .* \([0-9][0-9]*\) pending.*/\1/p" "$scratch/cap-status.txt")
    grep -q "^state: *incomplete" "$scratch/cap-status.txt" && [ "${pending:-0}" -gt 0 ] &&
        pass "capped sweep unfinished: $(grep '^tasks:' "$scratch/cap-status.txt")" ||
        fail "capped sweep: $(cat "$scratch/cap-status.txt")"
fi

# -- the continued job -------------------------------------------------------
slurm_wait "$job" 200 || finish
echo "(after $(slurm_elapsed) s)"
state=$(job_field "$job" JobState) code=$(job_field "$job" ExitCode) restarts=$(job_field "$job" Restarts)
[ "$state" = COMPLETED ] && [ "$code" = 0:0 ] && pass "job $job COMPLETED with exit code 0:0" ||
    { fail "job $job: $state, exit code $code"; slurm_diag "$job"; }
out=$scratch/requeue-$job.out
[ "${restarts:-0}" -ge 1 ] && pass "job $job was requeued $restarts time(s)" ||
    { fail "job $job was not requeued (Restarts=$restarts)"; slurm_diag "$job"; }
signals=$(grep -c "got SIGUSR1" "$out") resumed=$(grep -c "exists: resuming" "$out")
# the last run may get the warning too when a loaded machine makes it long,
# and still end with every task done (exit 0, no requeue): one SIGUSR1 more
[ "$resumed" -eq "$restarts" ] && { [ "$signals" -eq "$restarts" ] || [ "$signals" -eq $((restarts + 1)) ]; } &&
    pass "each of the $restarts continuation(s) followed a SIGUSR1 and resumed the journal ($signals SIGUSR1)" ||
    fail "$signals SIGUSR1, $resumed resumptions, $restarts restarts: $(cat "$out")"

"$SSMSWEEP" status "$scratch/requeue.h5" >"$scratch/status.txt" 2>&1
grep -q "^tasks: *$ntasks: $ntasks done, 0 failed, 0 pending" "$scratch/status.txt" &&
    pass "status: $ntasks of $ntasks tasks done" || fail "status: $(cat "$scratch/status.txt")"
grep -q "^records: *$ntasks (recomputed: 0)" "$scratch/status.txt" &&
    pass "the journal holds $ntasks records: no task computed twice" ||
    fail "journal records: $(grep '^records' "$scratch/status.txt")"

wait "$slurm_bg" && slurm_bg= || { slurm_bg=; fail "local reference run: $(tail -n 3 "$scratch/local.log")"; finish; }
"$PYTHON3" "$TOP_SRCDIR/tests/slurm/h5compare.py" "$scratch/local.h5" "$scratch/requeue.h5" >"$scratch/cmp.txt" 2>&1 &&
    pass "results equal an uninterrupted run: $(cat "$scratch/cmp.txt")" ||
    fail "results differ from an uninterrupted run: $(cat "$scratch/cmp.txt")"
echo "--- the continued job's output ($out)"; cat "$out"
echo "cluster time: $(slurm_elapsed) s"
finish
