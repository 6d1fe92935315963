# ssmsweep-common.sh -- shell functions shared by the ssmsweep batch scripts
# (ssmsweep.sbatch, ssmsweep-array.sbatch, ssmsweep-merge.sbatch).  Sourced,
# not run.  Plain POSIX sh: batch scripts run under /bin/sh.
#
#   ssw_init NAME         names the log lines, finds the ssmsweep binary
#                         ($ssw_bin) and reads the environment knobs
#   ssw_log MESSAGE...    one time-stamped line naming the job
#   ssw_run SPEC OUT [ssmsweep run options]
#                         runs the sweep, or resumes it (--resume) when
#                         OUT.journal exists; forwards SLURM's warning
#                         signal and requeues the job; returns the job's
#                         exit status (see ssmsweep.sbatch)
#
# Environment (sbatch exports the submitting shell's environment):
#   SSMSWEEP              the binary (default: ssmsweep on PATH, else
#                         $SLURM_SUBMIT_DIR/_build/src/ssmsweep)
#   SSMSWEEP_LAUNCH       srun (default) or mpirun
#   SSMSWEEP_MPI          srun's --mpi plugin (default pmix: the only one
#                         that works with Debian's Open MPI 4.1.4)
#   SSMSWEEP_MAX_RESTARTS continuation cap (default 20)

ssw_init() {
    ssw_name=$1
    ssw_bin=${SSMSWEEP:-}
    if [ -z "$ssw_bin" ]; then
        if command -v ssmsweep >/dev/null 2>&1; then ssw_bin=ssmsweep
        else ssw_bin=${SLURM_SUBMIT_DIR:-.}/_build/src/ssmsweep; fi
    fi
    ssw_launch=${SSMSWEEP_LAUNCH:-srun}
    ssw_mpi=${SSMSWEEP_MPI:-pmix}
    ssw_max_restarts=${SSMSWEEP_MAX_RESTARTS:-20}
    ssw_restarts=${SLURM_RESTART_COUNT:-0}
    # array tasks are known as ARRAYJOB_INDEX; their own id follows
    if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then
        ssw_job="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID:-?} (${SLURM_JOB_ID:-?})"
    else
        ssw_job=${SLURM_JOB_ID:-?}
    fi
    # From here on the shell takes SIGUSR1 (time is nearly up) and SIGTERM
    # (scancel, time limit) instead of dying: ssw_run passes them on
    # to the launcher (and after it has exited, ignores them).
    _pid= _got= _sent=
    trap '_ssw_forward USR1' USR1
    trap '_ssw_forward TERM' TERM
}

ssw_log() {
    printf '[%s %s job %s restart %s] %s\n' "$ssw_name" "$(date -u +%H:%M:%S)" \
        "$ssw_job" "$ssw_restarts" "$*"
}

# ssw_run SPEC OUT [options]: see the top of this file.
ssw_run() {
    _spec=$1 _out=$2
    shift 2
    if [ -e "$_out.journal" ]; then
        _mode=--resume
        ssw_log "journal $_out.journal exists: resuming"
    else
        _mode=
        ssw_log "starting $_spec -> $_out"
    fi
    case $ssw_launch in
        srun)
            set -- srun --mpi="$ssw_mpi" --kill-on-bad-exit=0 \
                "$ssw_bin" run "$_spec" -o "$_out" $_mode "$@" ;;
        mpirun)
            export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
            set -- mpirun -np "${SLURM_NTASKS:-1}" \
                "$ssw_bin" run "$_spec" -o "$_out" $_mode "$@" ;;
        *)
            ssw_log "SSMSWEEP_LAUNCH must be srun or mpirun, not '$ssw_launch'"
            return 2 ;;
    esac

    # The launcher runs in the background so that the shell can take
    # signals while it waits; the traps (set by ssw_init) pass them on.  A
    # signal that came before the launch skips it; one that comes before
    # the launcher's pid is known is passed on as soon as it is.
    if [ -n "$_got" ]; then
        ssw_log "got SIG$_got before the launch: not starting"
        _rc=3
    else
        ssw_log "$*"
        "$@" &
        _pid=$!
        if [ -n "$_got" ] && [ -z "$_sent" ]; then
            _sent=1
            kill "-$_got" "$_pid" 2>/dev/null
        fi
        # wait returns early (status > 128) when a trapped signal arrives:
        # wait again until the launcher itself has exited.
        while :; do
            wait "$_pid"
            _rc=$?
            kill -0 "$_pid" 2>/dev/null || break
        done
        _pid=
        ssw_log "ssmsweep exited with status $_rc"
    fi

    case $_rc in
        0) ssw_log "sweep complete" ;;
        4) ssw_log "sweep complete with failed tasks (resubmit with --retry-failed to rerun them)" ;;
        3)
            if [ "$_got" = TERM ]; then
                ssw_log "stopped by SIGTERM (scancel or time limit): not requeueing; the sweep is unfinished: resubmit to continue"
            elif [ "$ssw_restarts" -ge "$ssw_max_restarts" ]; then
                ssw_log "interrupted, but $ssw_restarts continuations reached the cap SSMSWEEP_MAX_RESTARTS=$ssw_max_restarts: not requeueing; the sweep is unfinished: resubmit to continue"
            elif [ -z "${SLURM_JOB_ID:-}" ]; then
                ssw_log "interrupted outside a SLURM job: the sweep is unfinished: run the same command again to continue"
            elif scontrol requeue "$SLURM_JOB_ID"; then
                ssw_log "interrupted: requeued job $SLURM_JOB_ID (continuation $((ssw_restarts + 1)) of at most $ssw_max_restarts)"
                # SLURM now ends this run of the script; nothing else to do.
                return 0
            else
                ssw_log "interrupted: scontrol requeue failed; the sweep is unfinished: resubmit to continue"
            fi ;;
        *) ssw_log "sweep failed (status $_rc)" ;;
    esac
    return "$_rc"
}

_ssw_forward() {
    _got=$1
    if [ -n "$_pid" ]; then
        ssw_log "got SIG$1: forwarding to $ssw_launch (pid $_pid)"
        _sent=1
        kill "-$1" "$_pid" 2>/dev/null
    fi
}
