# Sourced by tests/slurm_*.sh after tests/setup.sh: one private SLURM
# cluster (tests/slurm/cluster.sh) per test, in $scratch/cluster.
#
#   slurm_start [--nodes N]
#                         skip (77) unless root; wait for the machine-wide
#                         lock, start the cluster (one node, or N nodes on
#                         this host), export SLURM_CONF; from then on every
#                         exit (normal, failure, INT, TERM, HUP) cancels the
#                         jobs, stops every daemon and ends the background
#                         commands in $slurm_bg
#   slurm_stop            cancel the jobs and stop the daemons now (what
#                         every exit does; a test that checks the aftermath
#                         calls it itself); fails the test if a daemon stays
#   job_field ID FIELD    FIELD's value in `scontrol show job ID` (first
#                         line: for an array, the first task listed)
#   job_states ID         the JobState of every task of job (array) ID
#   slurm_wait ID BOUND   wait (at most BOUND seconds, times
#                         SSM_SLOW_FACTOR) until job ID has ended; on the
#                         bound, or a dependency that can never be met,
#                         fail with the diagnostics below and return 1
#   slurm_diag ID         scontrol's view of ID, every job output file
#                         ($scratch/*.out) and the tails of the daemon logs
#
# Why a lock: the SLURM tests run under `make -j`, and although cluster.sh
# finds free ports for a second cluster, each cluster believes it owns every
# core, job ids (and with them srun's PMIx directories
# /tmp/spmix_appdir_UID_JOB.STEP) start at the same number, and the
# requeue test's timing assumes the cluster's 30-second check cycle starts
# with the test.  So the clusters take turns: flock on
# /tmp/ssmsweep-slurm-tests.lock for the cluster's whole life.

# What every SLURM test needs before it starts: mpirun and h5py (else
# skip), root permission for Open MPI, and no LeakSanitizer exit scan in
# MPI processes (see sweep_resume.sh: its tracer dies after MPI_Init here).
[ "$MPIRUN" != no ] || { echo "SKIP: mpirun not found"; exit 77; }
have_python3_module h5py || { echo "SKIP: Debian's python3-h5py is missing"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"; export ASAN_OPTIONS

slurm_dir=$scratch/cluster
slurm_cluster=$TOP_SRCDIR/tests/slurm/cluster.sh
slurm_started=
slurm_bg=            # pids of the test's own background commands, ended on exit
slurm_lock=/tmp/ssmsweep-slurm-tests.lock

slurm_stop() {
    [ -n "$slurm_started" ] || return 0
    slurm_started=
    # Stopping slurmd leaves running jobs' slurmstepd and ranks behind
    # (proctrack/linuxproc): cancel first, wait for the jobs to go.
    if [ -n "$(squeue -h -o %A 2>/dev/null)" ]; then
        scancel --user="$(id -un)" 2>/dev/null
        _i=0
        while [ -n "$(squeue -h -o %A 2>/dev/null)" ] && [ $_i -lt 60 ]; do
            sleep 0.5; _i=$((_i + 1))
        done
    fi
    if ! sh "$slurm_cluster" stop "$slurm_dir" >"$scratch/stop.out" 2>&1; then
        cat "$scratch/stop.out" >&2
        fail "cluster.sh stop could not stop every daemon"
        return 1
    fi
}

slurm_cleanup() {
    _rc=$?
    trap - EXIT INT TERM HUP
    for _p in $slurm_bg; do kill "$_p" 2>/dev/null; wait "$_p" 2>/dev/null; done
    if ! slurm_stop; then
        case $_rc in 0|77) _rc=1 ;; esac
    fi
    exec 9>&-
    rm -rf "$scratch"
    exit $_rc
}

slurm_start() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: the SLURM tests run their own munged, slurmctld and slurmd as root"
        exit 77
    fi
    trap slurm_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    if command -v flock >/dev/null 2>&1; then
        exec 9>>"$slurm_lock"
        if ! flock -n 9; then
            echo "waiting for another SLURM test's cluster ($slurm_lock)"
            flock -w $((900 * ${SSM_SLOW_FACTOR:-1})) 9 ||
                { fail "no turn at the SLURM cluster after $((900 * ${SSM_SLOW_FACTOR:-1})) s ($slurm_lock)"; finish; }
        fi
    else
        echo "note: no flock: not serialising with other SLURM tests"
    fi
    # fd 9 (the lock) must not live on in the daemons
    sh "$slurm_cluster" start "$slurm_dir" "$@" 9>&- >"$scratch/cluster.out" 2>&1
    _rc=$?
    slurm_started=1
    if [ $_rc -eq 77 ]; then
        echo "SKIP: $(tail -n 1 "$scratch/cluster.out")"
        exit 77
    fi
    if [ $_rc -ne 0 ]; then
        cat "$scratch/cluster.out" >&2
        for _f in "$slurm_dir"/log/*.log; do
            [ -f "$_f" ] && { echo "--- $_f" >&2; tail -n 20 "$_f" >&2; }
        done
        fail "cluster.sh start failed (status $_rc)"
        finish
    fi
    SLURM_CONF=$slurm_dir/slurm.conf; export SLURM_CONF
    slurm_t0=$(date +%s)
    echo "cluster up: $(grep -E 'is idle|are up' "$scratch/cluster.out")"
}

# seconds since the cluster started
slurm_elapsed() { echo $(($(date +%s) - slurm_t0)); }

job_field() {
    scontrol -o show job "$1" 2>/dev/null | head -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

job_states() {
    scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n 's/^JobState=//p'
}

slurm_diag() {
    {
        echo "--- scontrol show job $1"
        scontrol show job "$1" 2>&1
        for _f in "$scratch"/*.out; do
            [ -f "$_f" ] && { echo "--- $_f"; tail -n 40 "$_f"; }
        done
        for _f in "$slurm_dir"/log/slurmctld.log "$slurm_dir"/log/slurmd*.log; do
            [ -f "$_f" ] && { echo "--- tail $_f"; tail -n 25 "$_f"; }
        done
    } >&2
}

# A job (or every task of an array) has ended when none is pending,
# running or on its way between the two.
slurm_wait() {
    _id=$1
    _bound=$(($2 * ${SSM_SLOW_FACTOR:-1}))
    _t=$(date +%s)
    while :; do
        _states=$(job_states "$_id")
        [ -n "$_states" ] || { fail "job $_id: scontrol does not know it"; slurm_diag "$_id"; return 1; }
        if ! echo "$_states" | grep -qvE '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE|OUT_OF_MEMORY)$'; then
            echo "job $_id ended after $(($(date +%s) - _t)) s: $(echo $_states)"
            return 0
        fi
        if [ "$(job_field "$_id" Reason)" = DependencyNeverSatisfied ]; then
            fail "job $_id waits for a dependency that can never be met"
            slurm_diag "$_id"
            return 1
        fi
        if [ $(($(date +%s) - _t)) -ge "$_bound" ]; then
            fail "job $_id not finished after $_bound s (states: $(echo $_states))"
            slurm_diag "$_id"
            return 1
        fi
        sleep 1
    done
}
