#!/bin/sh
# A sharded sweep on SLURM: `ssmsweep submit SPEC -o OUT --shards 3` queues
# jobs/ssmsweep-array.sbatch as a three-task job array (shard I of 3 each,
# one rank) and jobs/ssmsweep-merge.sbatch after it (afterok).  Every array
# task completes, shard I holds the tasks whose id % 3 == I, and the merged
# file equals an unsharded local run (every /params and /results dataset,
# /tasks/hash and /seed, all tasks done).  Without a cluster: the merge
# script names missing shards, the array script refuses to run outside an
# array.  About 10 s (tests/slurm/README.md).
. "$TOP_BUILDDIR/tests/setup.sh"
. "$TOP_SRCDIR/tests/slurm/lib.sh"
spec=$TOP_SRCDIR/jobs/examples/smoke.yaml
n=3
prefix=$scratch/sweep
jobs=$TOP_SRCDIR/jobs

# -- the scripts' own checks, no cluster needed --------------------------------
touch "$prefix.shard0of$n.h5"
sh "$jobs/ssmsweep-merge.sbatch" "$scratch/merged.h5" "$prefix" $n >"$scratch/out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "cannot merge: 2 of 3 shard files missing: $prefix.shard1of3.h5 $prefix.shard2of3.h5 " "$scratch/out" &&
    [ ! -e "$scratch/merged.h5" ] && pass "merge job without all shards: exit 2, names the missing ones" ||
    fail "merge job without all shards: exit $rc: $(cat "$scratch/out")"
rm -f "$prefix.shard0of$n.h5"
sh "$jobs/ssmsweep-array.sbatch" "$spec" "$prefix" >"$scratch/out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "not an array task" "$scratch/out" && pass "array script outside an array: exit 2" ||
    fail "array script outside an array: exit $rc: $(cat "$scratch/out")"

# the unsharded reference, before taking a turn at the cluster
"$MPIRUN" -np 1 "$SSMSWEEP" run "$spec" -o "$scratch/local.h5" --quiet >"$scratch/local.log" 2>&1 ||
    { fail "local reference run: $(tail -n 3 "$scratch/local.log")"; finish; }

# -- the array and the merge job, submitted by ssmsweep submit ---------------
slurm_start
cd "$scratch" || exit 99
SSMSWEEP_JOBS_DIR=$jobs; export SSMSWEEP_JOBS_DIR
"$SSMSWEEP" submit "$spec" -o "$scratch/merged.h5" --shards $n --ranks 1 --time 5:00 \
    >"$scratch/submit.txt" 2>&1
rc=$?
ids=$(sed -n 's/^submitted array job \([0-9][0-9]*\) .* merge job \([0-9][0-9]*\) .*/\1 \2/p' "$scratch/submit.txt")
array=${ids% *} merge=${ids#* }
[ $rc -eq 0 ] && [ -n "$ids" ] && pass "ssmsweep submit --shards $n: array job $array, merge job $merge" ||
    { fail "ssmsweep submit: exit $rc: $(cat "$scratch/submit.txt")"; finish; }
scontrol show job "$merge" | grep -q "Dependency=afterok:${array}_\*" &&
    pass "the merge job waits for every array task (afterok:${array}_*)" ||
    fail "merge job's dependency: $(scontrol show job "$merge" | grep Dependency)"
prefix=$scratch/merged

slurm_wait "$merge" 120 || finish
states=$(job_states "$array" | sort | uniq -c | tr -s ' ')
[ "$states" = " $n COMPLETED" ] && pass "array job $array: $n tasks COMPLETED" ||
    { fail "array job $array: $states"; slurm_diag "$array"; }
state=$(job_field "$merge" JobState) code=$(job_field "$merge" ExitCode)
[ "$state" = COMPLETED ] && [ "$code" = 0:0 ] && pass "merge job $merge COMPLETED with exit code 0:0" ||
    { fail "merge job $merge: $state, exit code $code"; slurm_diag "$merge"; }

"$PYTHON3" - "$prefix" $n "$array" <<'PY' && pass "shard files: shard I of $n holds the tasks with id % $n == I, array task I wrote it" || fail "shard files"
import sys, h5py
prefix, n, array = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ok = True
for i in range(n):
    path = f"{prefix}.shard{i}of{n}.h5"
    with h5py.File(path, "r") as f:
        a, p = f.attrs, f["provenance"].attrs
        ids = f["tasks/task"][()]
        got = (int(a["shard_index"]), int(a["shard_count"]), str(p.get("slurm_array_job_id")),
               str(p.get("slurm_array_task_id")))
        good = got == (i, n, array, str(i)) and len(ids) > 0 and all(t % n == i for t in ids) \
            and (f["tasks/status"][()] == 1).all()
        print(path, got, list(ids), "ok" if good else "WRONG")
        ok = ok and good
sys.exit(0 if ok else 1)
PY

"$PYTHON3" "$TOP_SRCDIR/tests/slurm/h5compare.py" "$scratch/local.h5" "$scratch/merged.h5" >"$scratch/cmp.txt" 2>&1 &&
    pass "merged file equals the unsharded run: $(cat "$scratch/cmp.txt")" ||
    fail "merged file differs from the unsharded run: $(cat "$scratch/cmp.txt")"
echo "cluster time: $(slurm_elapsed) s"
finish
