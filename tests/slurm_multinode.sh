#!/bin/sh
# A sweep across two SLURM nodes on this one machine: tests/slurm/cluster.sh
# --nodes 2 runs two slurmds (node1, node2), each in its own UTS namespace.
# Checks that
#  - Open MPI under srun --mpi=pmix -N 2 -n 4 sees two nodes: the
#    MPI_COMM_TYPE_SHARED groups that tests/slurm/nodegroups.c prints are
#    exactly {0,1} on node1 and {2,3} on node2 (the groups the node leaders
#    of hierarchical coordination will be elected from);
#  - jobs/ssmsweep.sbatch with -N 2 --ntasks=4 COMPLETES, every task is
#    done, each task's /tasks/host is the node its rank ran on, both nodes
#    ran tasks, the provenance names both, and the results equal a local
#    one-rank run bit for bit, once flat and once with one leader per node
#    (--leaders node: the hierarchical coordinator's groups are the SLURM
#    nodes), and the file names the mode that ran;
#  - ssmsweep submit --leaders node --part-files=keep: the 2-node sweep job
#    keeps node2's part journal, the one-rank merge job queued after it
#    (afterany) merges it (--merge-only), and the file equals the local run;
#  - afterwards no daemon of the cluster is left and nothing lives in the
#    nodes' UTS namespaces any more.
# Skips (77) when not root, without mpicc, without UTS namespaces or when
# SLURM lacks multiple-slurmd support.  About 10 s (tests/slurm/README.md).
. "$TOP_BUILDDIR/tests/setup.sh"
. "$TOP_SRCDIR/tests/slurm/lib.sh"
spec=$TOP_SRCDIR/tests/slurm/multinode.yaml
slow=${SSM_SLOW_FACTOR:-1}

command -v mpicc >/dev/null 2>&1 || { echo "SKIP: no mpicc to build tests/slurm/nodegroups.c"; exit 77; }
mpicc -O1 -o "$scratch/nodegroups" "$TOP_SRCDIR/tests/slurm/nodegroups.c" >"$scratch/cc.log" 2>&1 ||
    { fail "mpicc tests/slurm/nodegroups.c: $(head -n 5 "$scratch/cc.log")"; finish; }
# the reference, before taking a turn at the cluster
"$MPIRUN" -np 1 "$SSMSWEEP" run "$spec" -o "$scratch/local.h5" --quiet >"$scratch/local.log" 2>&1 ||
    { fail "local reference run: $(tail -n 3 "$scratch/local.log")"; finish; }

slurm_start --nodes 2
cd "$scratch" || exit 99

# The nodes' UTS namespaces: each its own, with the node's name.
namespaces=
for node in node1 node2; do
    pid=$(cat "$slurm_dir/slurmd-$node.pid" 2>/dev/null)
    ns=$(readlink "/proc/$pid/ns/uts" 2>/dev/null)
    name=$(nsenter -t "$pid" -u hostname 2>/dev/null)
    if [ -n "$ns" ] && [ "$ns" != "$(readlink /proc/$$/ns/uts)" ] && [ "$name" = "$node" ]; then
        pass "slurmd of $node (pid $pid) runs in its own UTS namespace $ns, host name $name"
        namespaces="$namespaces $ns"
    else
        fail "slurmd of $node (pid '$pid'): UTS namespace '$ns', host name '$name'"
    fi
done

# What MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) makes of the job.
timeout $((60 * slow)) srun --mpi=pmix -N 2 -n 4 "$scratch/nodegroups" >"$scratch/groups.out" 2>"$scratch/groups.err"
rc=$?
cat >"$scratch/groups.want" <<'WANT'
rank 0 host node1 slurmd node1 group 0 local 0/2
rank 1 host node1 slurmd node1 group 0 local 1/2
rank 2 host node2 slurmd node2 group 2 local 0/2
rank 3 host node2 slurmd node2 group 2 local 1/2
groups 2: 0,1 2,3
WANT
if [ $rc -eq 0 ] && cmp -s "$scratch/groups.want" "$scratch/groups.out"; then
    pass "srun --mpi=pmix -N 2 -n 4: Open MPI's shared-memory groups are {0,1} on node1 and {2,3} on node2"
else
    fail "nodegroups under srun -N 2 -n 4: exit $rc, output: $(cat "$scratch/groups.out") $(tail -n 5 "$scratch/groups.err")"
fi

# sweep_job MODE [RUN OPTIONS]: the sweep as a 2-node, 4-rank batch job,
# checked against the local reference.
sweep_job() {
    mode=$1
    shift
    out=$scratch/$mode.h5
    job=$(sbatch --parsable -N 2 --ntasks=4 --time=0:05:00 -o "$scratch/job-%j.out" \
        "$TOP_SRCDIR/jobs/ssmsweep.sbatch" "$spec" "$out" --progress 5 "$@" 2>"$scratch/sbatch.err")
    case $job in
        [0-9]*) ;;
        *) fail "$mode: sbatch: $(cat "$scratch/sbatch.err")"; return 1 ;;
    esac
    slurm_wait "$job" 60 || return 1
    state=$(job_field "$job" JobState) code=$(job_field "$job" ExitCode)
    nodes=$(job_field "$job" NodeList) nnodes=$(job_field "$job" NumNodes)
    if [ "$state" = COMPLETED ] && [ "$code" = 0:0 ] && [ "$nodes" = "node[1-2]" ] && [ "$nnodes" = 2 ]; then
        pass "$mode: job $job COMPLETED 0:0 on $nodes"
    else
        fail "$mode: job $job ended $state, exit code $code, on '$nodes' ($nnodes nodes)"
        slurm_diag "$job"
    fi
    "$SSMSWEEP" status "$out" >"$scratch/status.txt" 2>&1
    grep -q "^tasks: *32: 32 done, 0 failed, 0 pending" "$scratch/status.txt" &&
        pass "$mode: status: 32 of 32 tasks done" || fail "$mode: status: $(cat "$scratch/status.txt")"
    if "$PYTHON3" - "$out" "$job" >"$scratch/hosts.txt" 2>&1 <<'PY'
import collections, sys, h5py
path, job = sys.argv[1], sys.argv[2]
text = lambda v: v.decode() if isinstance(v, bytes) else str(v)
with h5py.File(path, "r") as f:
    p = {k: text(v) for k, v in f["provenance"].attrs.items()}
    ranks, hosts = f["tasks/rank"][()], [text(h) for h in f["tasks/host"][()]]
# srun's block distribution: ranks 0 and 1 on node1, 2 and 3 on node2
wrong = [(int(r), h) for r, h in zip(ranks, hosts) if h != ("node1" if r < 2 else "node2")]
per_node = collections.Counter(hosts)
print("tasks per node:", dict(sorted(per_node.items())), "per rank:",
      dict(sorted(collections.Counter(int(r) for r in ranks).items())),
      "provenance hosts:", p["hosts"], "nodelist:", p["slurm_job_nodelist"])
ok = (not wrong and set(per_node) == {"node1", "node2"} and p["hosts"] == "node1,node2"
      and p["mpi_size"] == "4" and p["slurm_job_id"] == job and p["slurm_job_nodelist"] == "node[1-2]")
if wrong:
    print("tasks on the wrong node (rank, host):", wrong[:5])
sys.exit(0 if ok else 1)
PY
    then
        pass "$mode: both nodes ran tasks, each on its rank's node; provenance hosts node1,node2: $(cat "$scratch/hosts.txt")"
    else
        fail "$mode: task hosts or provenance: $(cat "$scratch/hosts.txt")"
    fi
    "$PYTHON3" "$TOP_SRCDIR/tests/slurm/h5compare.py" "$scratch/local.h5" "$out" >"$scratch/cmp.txt" 2>&1 &&
        pass "$mode: results equal the local one-rank run: $(cat "$scratch/cmp.txt")" ||
        fail "$mode: results differ from the local one-rank run: $(cat "$scratch/cmp.txt")"
}

# coordination_is FILE TEXT: what /provenance/coordination says.
coordination_is() {
    got=$("$PYTHON3" -c 'import sys, h5py
v = h5py.File(sys.argv[1], "r")["provenance"].attrs["coordination"]
print(v.decode() if isinstance(v, bytes) else v)' "$1" 2>&1)
    [ "$got" = "$2" ] && pass "$(basename "$1"): /provenance/coordination: $got" ||
        fail "$(basename "$1"): /provenance/coordination '$got', expected '$2'"
}

# One job per coordination mode: flat (rank 0 serves every rank), and one
# leader per SLURM node (MPI_Comm_split_type: rank 0 leads node1 and serves
# rank 1 directly, rank 2 leads node2 and serves rank 3); both files must
# equal the local run, so they equal each other.
sweep_job flat --leaders none
coordination_is "$scratch/flat.h5" "flat"
sweep_job leaders --leaders node
coordination_is "$scratch/leaders.h5" "hierarchical: one leader per node (MPI_COMM_TYPE_SHARED), 2 groups of up to 2 ranks"

# The 10^4-rank layout in small: ssmsweep submit --leaders node
# --part-files=keep queues the 2-node sweep job (node2's leader keeps its
# part journal) and a one-rank job after it (afterany) that merges the part
# into OUT.h5 with --merge-only; the result equals the local run.
SSMSWEEP_JOBS_DIR=$TOP_SRCDIR/jobs; export SSMSWEEP_JOBS_DIR
kept=$scratch/kept.h5
"$SSMSWEEP" submit "$spec" -o "$kept" --ranks 4 --time 5:00 --leaders node --part-files=keep \
    -- -N 2 -o "$scratch/job-%j.out" >"$scratch/submit.txt" 2>&1
rc=$?
ids=$(sed -n 's/^submitted job \([0-9][0-9]*\) (part journals kept) and merge job \([0-9][0-9]*\) .*/\1 \2/p' \
    "$scratch/submit.txt")
sweep=${ids% *} merge=${ids#* }
if [ $rc -eq 0 ] && [ -n "$ids" ] &&
    scontrol show job "$merge" | grep -q "Dependency=afterany:$sweep"; then
    pass "ssmsweep submit --part-files=keep: sweep job $sweep, merge job $merge (afterany:$sweep)"
    slurm_wait "$merge" 90
    for j in "$sweep" "$merge"; do
        state=$(job_field "$j" JobState) code=$(job_field "$j" ExitCode) nnodes=$(job_field "$j" NumNodes)
        want=2
        [ "$j" = "$merge" ] && want=1
        [ "$state" = COMPLETED ] && [ "$code" = 0:0 ] && [ "$nnodes" = "$want" ] &&
            pass "job $j COMPLETED 0:0 on $nnodes node(s)" ||
            { fail "job $j ended $state, exit code $code, on $nnodes nodes (want $want)"; slurm_diag "$j"; }
    done
    grep -q "part journals kept" "$scratch/job-$sweep.out" && grep -q "part journals merged into $kept; the sweep is complete" \
        "$scratch/job-$merge.out" && pass "the sweep job kept its part, the merge job merged it" ||
        fail "logs: $(tail -n 3 "$scratch/job-$sweep.out" "$scratch/job-$merge.out")"
    left=$(ls "$kept".part*.journal 2>/dev/null)
    "$SSMSWEEP" status "$kept" >"$scratch/status.txt" 2>&1
    [ -z "$left" ] && grep -q "^tasks: *32: 32 done, 0 failed, 0 pending" "$scratch/status.txt" &&
        grep -q "^records:  32 (recomputed: 0)" "$scratch/status.txt" &&
        pass "kept and merged: 32 of 32 done, each once, no part left" || fail "kept: parts '$left', $(cat "$scratch/status.txt")"
    "$PYTHON3" "$TOP_SRCDIR/tests/slurm/h5compare.py" "$scratch/local.h5" "$kept" >"$scratch/cmp.txt" 2>&1 &&
        pass "kept and merged: results equal the local one-rank run: $(cat "$scratch/cmp.txt")" ||
        fail "kept and merged: results differ from the local one-rank run: $(cat "$scratch/cmp.txt")"
else
    fail "ssmsweep submit --part-files=keep: exit $rc: $(cat "$scratch/submit.txt"); $(scontrol show job "$merge" 2>&1 | grep Dependency)"
fi

# Tear down here (the exit trap would do the same) to check the aftermath:
# no daemon of this cluster, and no process (slurmstepd, ranks) left in the
# nodes' UTS namespaces, which vanish with their last process.
echo "cluster time: $(slurm_elapsed) s"
slurm_stop
left=$(pgrep -a -f "$slurm_dir")
[ -z "$left" ] && pass "no process of the cluster is left (pgrep -f $slurm_dir)" ||
    fail "processes left after stopping the cluster: $left"
i=0
while :; do
    inside=
    for p in /proc/[0-9]*; do
        ns=$(readlink "$p/ns/uts" 2>/dev/null) || continue
        case " $namespaces " in *" $ns "*) inside="$inside ${p#/proc/}" ;; esac
    done
    [ -z "$inside" ] || [ $i -ge $((20 * slow)) ] && break
    sleep 0.5; i=$((i + 1))
done
[ -z "$inside" ] && pass "the nodes' UTS namespaces are gone (no process in$namespaces)" ||
    fail "processes still in the nodes' UTS namespaces: $(ps -o pid,comm -p "$(echo $inside | tr ' ' ,)")"
finish
