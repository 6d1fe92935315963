#!/bin/sh
# A sweep as a SLURM batch job: jobs/ssmsweep.sbatch on a private
# single-node cluster, two tasks launched by srun --mpi=pmix.  The job
# completes, every task is done, the provenance names the two ranks and the
# job, and the results equal a local one-rank run of the same spec bit for
# bit.  About 10 s (tests/slurm/README.md).
. "$TOP_BUILDDIR/tests/setup.sh"
. "$TOP_SRCDIR/tests/slurm/lib.sh"
spec=$TOP_SRCDIR/jobs/examples/smoke.yaml

# the reference, before taking a turn at the cluster
"$MPIRUN" -np 1 "$SSMSWEEP" run "$spec" -o "$scratch/local.h5" --quiet >"$scratch/local.log" 2>&1 ||
    { fail "local reference run: $(tail -n 3 "$scratch/local.log")"; finish; }

slurm_start
cd "$scratch" || exit 99
job=$(sbatch --parsable --ntasks=2 --time=0:05:00 -o "$scratch/job-%j.out" \
    "$TOP_SRCDIR/jobs/ssmsweep.sbatch" "$spec" "$scratch/slurm.h5" --progress 5 2>"$scratch/sbatch.err")
case $job in
    [0-9]*) pass "sbatch accepted jobs/ssmsweep.sbatch (job $job)" ;;
    *) fail "sbatch: $(cat "$scratch/sbatch.err")"; finish ;;
esac
slurm_wait "$job" 60 || finish

state=$(job_field "$job" JobState) code=$(job_field "$job" ExitCode)
[ "$state" = COMPLETED ] && [ "$code" = 0:0 ] && pass "job $job COMPLETED with exit code 0:0" ||
    { fail "job $job ended $state with exit code $code"; slurm_diag "$job"; }
out=$scratch/job-$job.out
grep -q "srun --mpi=pmix" "$out" && pass "launched by srun --mpi=pmix" ||
    fail "no srun --mpi=pmix launch in the job output: $(cat "$out")"
grep -q "sweep complete" "$out" && pass "the job reports the sweep complete" ||
    fail "no 'sweep complete' in the job output: $(tail -n 5 "$out")"

"$SSMSWEEP" status "$scratch/slurm.h5" >"$scratch/status.txt" 2>&1
grep -q "^tasks: *16: 16 done, 0 failed, 0 pending" "$scratch/status.txt" && pass "status: 16 of 16 tasks done" ||
    fail "status: $(cat "$scratch/status.txt")"

"$PYTHON3" - "$scratch/slurm.h5" "$job" <<'PY' && pass "provenance: mpi_size 2, slurm_job_id $job, n_done 16" || fail "provenance of the SLURM run"
import sys, h5py
path, job = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    p = dict(f["provenance"].attrs)
want = {"mpi_size": 2, "slurm_job_id": job, "n_done": 16, "n_pending": 0}
got = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in p.items() if k in want}
got = {k: (str(v) if isinstance(want[k], str) else int(v)) for k, v in got.items()}
print("provenance:", got)
sys.exit(0 if got == want else 1)
PY

"$PYTHON3" "$TOP_SRCDIR/tests/slurm/h5compare.py" "$scratch/local.h5" "$scratch/slurm.h5" >"$scratch/cmp.txt" 2>&1 &&
    pass "results equal the local one-rank run: $(cat "$scratch/cmp.txt")" ||
    fail "results differ from the local one-rank run: $(cat "$scratch/cmp.txt")"
echo "cluster time: $(slurm_elapsed) s"
finish
