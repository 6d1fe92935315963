#!/bin/sh
# cluster.sh -- a throw-away single-node SLURM cluster for tests.
#
#   cluster.sh start DIR    install slurm-wlm+munge if missing, start munged,
#                           slurmctld and slurmd with DIR/slurm.conf, wait
#                           until the node is idle; prints the line
#                           "export SLURM_CONF=DIR/slurm.conf"
#   cluster.sh stop DIR     stop the daemons that `start DIR` started (by the
#                           pids recorded in DIR), wait until they are gone
#   cluster.sh status DIR   show which recorded daemons are alive, and sinfo
#
# Everything (config, state, spool, logs, pid files, munge socket) lives in
# DIR, so several clusters in different DIRs do not share files; they still
# need distinct ports (the first free pair from 6817/6818 upwards is taken).
# Exit status: 0 ok, 1 failure, 2 usage, 77 cannot run here (not root, no
# apt-get) -- Automake's "skip".
#
# Environment: CLUSTER_TIMEOUT (seconds to wait for the node, default 30),
# CLUSTER_PORT (first slurmctld port to try, default 6817), CLUSTER_CRED_EXPIRE
# (AuthInfo cred_expire, default 10 s: also the delay before a requeued job
# may start again).

set -u

me=cluster.sh
say() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { say "$*"; exit 1; }

usage() {
    echo "usage: $me start|stop|status DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
case $dir in
    /*) ;;
    *) dir=$(pwd)/$dir ;;
esac

# --- pid helpers ---------------------------------------------------------

# alive NAME: the pid recorded in DIR/NAME.pid is a live process whose
# command is NAME and whose command line mentions DIR (so that a recycled
# pid of some other process is never taken for ours).  Prints the pid.
alive() {
    _f=$dir/$1.pid
    [ -s "$_f" ] || return 1
    _p=$(head -n 1 "$_f" | tr -cd '0-9')
    [ -n "$_p" ] || return 1
    [ -r "/proc/$_p/comm" ] || return 1
    [ "$(cat "/proc/$_p/comm" 2>/dev/null)" = "$1" ] || return 1
    tr '\0' ' ' <"/proc/$_p/cmdline" 2>/dev/null | grep -qF "$dir" || return 1
    echo "$_p"
}

# gone PID: no such process, or only a zombie left (an unreaped zombie
# still has a /proc entry).
gone() {
    [ -r "/proc/$1/stat" ] || return 0
    [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]
}

# stop_one NAME: TERM the recorded process, wait (20 s), then KILL.
stop_one() {
    _p=$(alive "$1") || { rm -f "$dir/$1.pid"; return 0; }
    say "stopping $1 (pid $_p)"
    kill -TERM "$_p" 2>/dev/null
    _i=0
    while ! gone "$_p" && [ $_i -lt 200 ]; do
        sleep 0.1; _i=$((_i + 1))
    done
    if ! gone "$_p"; then
        say "$1 (pid $_p) did not exit after 20 s: SIGKILL"
        kill -KILL "$_p" 2>/dev/null
        _i=0
        while ! gone "$_p" && [ $_i -lt 50 ]; do
            sleep 0.1; _i=$((_i + 1))
        done
    fi
    gone "$_p" || { say "$1 (pid $_p) is still there"; return 1; }
    rm -f "$dir/$1.pid"
    return 0
}

# wait_pidfile NAME: a daemonizing program writes its pid file shortly after
# it returns; wait up to 10 s for it to name a live process.
wait_pidfile() {
    _i=0
    while [ $_i -lt 100 ]; do
        alive "$1" >/dev/null && return 0
        sleep 0.1; _i=$((_i + 1))
    done
    return 1
}

port_busy() {
    ss -Hltn 2>/dev/null | awk '{print $4}' | grep -q ":$1\$"
}

do_stop() {
    [ -d "$dir" ] || { say "no directory $dir: nothing to stop"; return 0; }
    _rc=0
    # slurmd first (it may still be talking to slurmctld), munged last.
    stop_one slurmd || _rc=1
    stop_one slurmctld || _rc=1
    stop_one munged || _rc=1
    return $_rc
}

do_status() {
    for _n in munged slurmctld slurmd; do
        if _p=$(alive $_n); then echo "$_n: running (pid $_p)"
        else echo "$_n: not running"; fi
    done
    if [ -f "$dir/slurm.conf" ] && command -v sinfo >/dev/null; then
        SLURM_CONF=$dir/slurm.conf sinfo -N 2>&1
    fi
}

# --- start ---------------------------------------------------------------

install_packages() {
    _need=
    command -v slurmctld >/dev/null 2>&1 || _need="$_need slurm-wlm"
    command -v munged >/dev/null 2>&1 || _need="$_need munge"
    [ -n "$_need" ] || return 0
    [ "$(id -u)" -eq 0 ] || { say "not root: cannot install$_need"; exit 77; }
    command -v apt-get >/dev/null 2>&1 || { say "no apt-get: cannot install$_need"; exit 77; }
    say "installing$_need"
    # Try without an update first (the lists may be fresh enough).
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q $_need \
            >"$dir/apt.log" 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$dir/apt.log" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $_need \
            >>"$dir/apt.log" 2>&1 || { say "apt-get install failed, see $dir/apt.log"; exit 1; }
    fi
    command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 ||
        die "installed$_need but slurmctld/munged still not found"
}

start_munged() {
    if _p=$(alive munged); then say "munged already running (pid $_p)"; return 0; fi
    rm -f "$dir/munged.pid" "$dir/munge/munge.socket" "$dir/munge/munge.socket.lock"
    key=/etc/munge/munge.key
    if [ ! -s "$key" ]; then
        say "creating $key"
        mkdir -p /etc/munge && chmod 0700 /etc/munge
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile="$key" || die "mungekey failed"
        else
            dd if=/dev/urandom bs=1 count=1024 of="$key" 2>/dev/null || die "cannot write $key"
        fi
        chmod 0400 "$key"
    fi
    mkdir -p "$dir/munge" && chmod 0711 "$dir/munge"
    # A private socket: no clash with a system munged or another cluster.
    munged --force --key-file="$key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munged.seed" </dev/null >>"$dir/log/munged.out" 2>&1 ||
        die "munged failed, see $dir/log/munged.log"
    wait_pidfile munged || die "munged did not start, see $dir/log/munged.log"
    say "munged started (pid $(alive munged))"
}

write_conf() {
    host=$(hostname -s 2>/dev/null || hostname)
    cpus=$(nproc)
    # Keep the ports of a previous configuration if its daemons run;
    # otherwise take the first free pair.
    if [ -f "$dir/slurm.conf" ] && { alive slurmctld >/dev/null || alive slurmd >/dev/null; }; then
        return 0
    fi
    port=${CLUSTER_PORT:-6817}
    while port_busy "$port" || port_busy $((port + 1)); do
        port=$((port + 2))
        [ "$port" -lt 7017 ] || die "no free port pair in 6817..7017"
    done
    cat >"$dir/slurm.conf" <<EOF
# Written by tests/slurm/cluster.sh: single-node test cluster in $dir
ClusterName=ssmtest
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also delays a requeued job: begin = requeue + cred_expire + 1
# (default 120 s).
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=${CLUSTER_CRED_EXPIRE:-10}
MailProg=/bin/true
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_min_interval=0,batch_sched_delay=1
ReturnToService=2
JobRequeue=1
MinJobAge=120
KillWait=5
InactiveLimit=30
SlurmctldTimeout=30
SlurmdTimeout=30
MessageTimeout=10
OverTimeLimit=0
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

node_state() {
    SLURM_CONF=$dir/slurm.conf sinfo -h -N -o '%t' 2>/dev/null | head -n 1
}

do_start() {
    mkdir -p "$dir" || die "cannot create $dir"
    install_packages
    mkdir -p "$dir/log" "$dir/state" "$dir/spool/$(hostname -s 2>/dev/null || hostname)" ||
        die "cannot create $dir/*"
    export SLURM_CONF="$dir/slurm.conf"
    start_munged
    write_conf

    if _p=$(alive slurmctld); then
        say "slurmctld already running (pid $_p)"
    else
        rm -f "$dir/slurmctld.pid"
        # -c: forget jobs of an earlier (killed) run of this cluster.
        slurmctld -c -f "$dir/slurm.conf" </dev/null >>"$dir/log/slurmctld.out" 2>&1 ||
            die "slurmctld failed, see $dir/log/slurmctld.log"
        wait_pidfile slurmctld || die "slurmctld did not start, see $dir/log/slurmctld.log"
        say "slurmctld started (pid $(alive slurmctld))"
    fi
    if _p=$(alive slurmd); then
        say "slurmd already running (pid $_p)"
    else
        rm -f "$dir/slurmd.pid"
        slurmd -f "$dir/slurm.conf" </dev/null >>"$dir/log/slurmd.out" 2>&1 ||
            die "slurmd failed, see $dir/log/slurmd.log"
        wait_pidfile slurmd || die "slurmd did not start, see $dir/log/slurmd.log"
        say "slurmd started (pid $(alive slurmd))"
    fi

    _t=${CLUSTER_TIMEOUT:-30}
    _i=0
    st=
    while [ $_i -lt $((_t * 2)) ]; do
        st=$(node_state)
        case $st in
            idle|mix|alloc) break ;;
            down*|drain*)
                # ReturnToService=2 normally brings it back; nudge it.
                SLURM_CONF=$dir/slurm.conf scontrol update nodename="$(hostname -s 2>/dev/null || hostname)" \
                    state=resume >/dev/null 2>&1 ;;
        esac
        sleep 0.5; _i=$((_i + 1))
    done
    case $st in
        idle|mix|alloc) ;;
        *) say "node not idle after ${_t} s (state '${st}'), see $dir/log/"; return 1 ;;
    esac
    say "node $(hostname -s 2>/dev/null || hostname) is $st after $((_i / 2)).$((_i % 2 * 5)) s"
    echo "export SLURM_CONF=$dir/slurm.conf"
}

case $cmd in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) usage ;;
esac
