# Sourced by tests/sweep_leaders*.sh after tests/setup.sh: the spec, the
# checks and the process handling they share.
[ "$MPIRUN" != no ] || { echo "SKIP: mpirun not found"; exit 77; }
have_python3_module h5py || { echo "SKIP: Debian's python3-h5py is missing"; exit 77; }
command -v setsid >/dev/null || { echo "SKIP: setsid missing"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# LeakSanitizer's tracer dies at the exit of MPI processes here (setup.sh)
without_leak_scan
# 240 noop tasks of 0.1 s: about 4 s on 6 ranks
spec=$TOP_SRCDIR/tests/specs/run/leaders.yaml
ntasks=240
# bounds stretch with the sanitizers and the load (time_factor, tests/setup.sh)
slow=$time_factor

# same_as_flat FILE LABEL: /params, /results, /tasks/{hash,seed} equal
# $scratch/flat.h5 bit for bit, every task done.
same_as_flat() {
    "$PYTHON3" "$TOP_SRCDIR/tests/slurm/h5compare.py" "$scratch/flat.h5" "$1" >"$scratch/cmp.txt" 2>&1 &&
        pass "$2: bit-identical to the flat run: $(cat "$scratch/cmp.txt")" ||
        fail "$2: differs from the flat run: $(cat "$scratch/cmp.txt")"
}

# coordination FILE TEXT: the provenance attribute names the mode.
coordination() {
    got=$("$PYTHON3" -c 'import sys, h5py
v = h5py.File(sys.argv[1], "r")["provenance"].attrs["coordination"]
print(v.decode() if isinstance(v, bytes) else v)' "$1" 2>&1)
    [ "$got" = "$2" ] && pass "/provenance/coordination of $(basename "$1"): $got" ||
        fail "/provenance/coordination of $(basename "$1"): '$got', expected '$2'"
}

# every_rank_computed FILE RANKS: /tasks/rank holds 0 .. RANKS-1.
every_rank_computed() {
    "$PYTHON3" - "$1" "$2" >"$scratch/ranks.txt" 2>&1 <<'PY'
import collections, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    per_rank = collections.Counter(int(r) for r in f["tasks/rank"][()])
print(dict(sorted(per_rank.items())))
sys.exit(0 if sorted(per_rank) == list(range(int(sys.argv[2]))) else 1)
PY
    [ $? -eq 0 ] && pass "$(basename "$1"): every rank ran tasks, leaders too: $(cat "$scratch/ranks.txt")" ||
        fail "$(basename "$1"): tasks per rank $(cat "$scratch/ranks.txt")"
}

# start_run OUT MPIRUN-AND-RUN-OPTIONS...: the sweep in the background in
# a session of its own ($run_pid: mpirun), its output in OUT.log; returns
# once records reach the journal.
start_run() {
    out=$1
    shift
    np=$1 n=$2
    shift 2
    setsid "$MPIRUN" $np $n "$SSMSWEEP" run "$spec" -o "$out" "$@" >"$out.log" 2>&1 &
    run_pid=$!
    # first the journal's header (or what a killed run left), then records
    i=0
    while [ ! -s "$out.journal" ] && [ $i -lt $((300 * slow)) ] && kill -0 "$run_pid" 2>/dev/null; do
        sleep 0.05
        i=$((i + 1))
    done
    sleep 0.2
    size=$(stat -c %s "$out.journal" 2>/dev/null || echo 0)
    while [ "$(stat -c %s "$out.journal" 2>/dev/null || echo 0)" -le "$size" ] && [ $i -lt $((300 * slow)) ] &&
        kill -0 "$run_pid" 2>/dev/null; do
        sleep 0.05
        i=$((i + 1))
    done
}

# rank_pid OUT RANK: the pid of that rank of the run writing OUT.
rank_pid() {
    for p in $(pgrep -f "^$SSMSWEEP run .*$1"); do
        tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$p"; return; }
    done
}

# kill_job OUT: kill -9 of mpirun's session and of every rank of the run
# writing OUT (Open MPI puts each rank in a process group of its own).
kill_job() {
    kill -9 -"$run_pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        pkill -9 -f "^$SSMSWEEP run .*$1" 2>/dev/null || break
        sleep 0.1
    done
    { wait "$run_pid"; } 2>/dev/null
}
