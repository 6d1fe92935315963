#!/bin/sh
# cluster.sh -- a throw-away SLURM cluster on this one machine, for tests.
#
#   cluster.sh start DIR [--nodes N]
#                           install slurm-wlm+munge if missing, start munged,
#                           slurmctld and slurmd with DIR/slurm.conf, wait
#                           until every node is idle; prints the line
#                           "export SLURM_CONF=DIR/slurm.conf"
#   cluster.sh stop DIR     stop the daemons that `start DIR` started (by the
#                           pids recorded in DIR), wait until they are gone
#   cluster.sh status DIR   show which recorded daemons are alive, and sinfo
#
# One node (the default) is this host under its own name.  With --nodes N
# (2..8) the nodes are node1..nodeN: one slurmd each, all on this host, each
# listening on its own port (NodeName=nodeK NodeHostname=nodeK Port=...) and
# started in its own UTS namespace (unshare --uts) whose host name is nodeK.
# Debian's slurm-wlm is built with multiple-slurmd support (`scontrol show
# config`: MULTIPLE_SLURMD = Yes), which lets the slurmds share one munged
# (a credential sent to both nodes is decoded twice: a "replay" that other
# builds refuse).  The UTS namespace gives each node's job steps their node's
# host name, so gethostname() in a task names its node and Open MPI's files
# named after the host (shared-memory segments, session directories) do not
# collide between the nodes; TmpFS=DIR/tmp/%n does the same for srun's PMIx
# directories.  DIR/mpi.conf makes srun --mpi=pmix run every fence as a
# ring (see write_conf).  The namespaces need no cleanup: each lives as long
# as its slurmd and the job steps it starts.  tests/slurm/README.md has the
# details.
#
# Everything (config, state, spool, logs, pid files, munge socket) lives in
# DIR, so several clusters in different DIRs do not share files; they still
# need distinct ports (the first free block of N+1 ports from 6817 upwards is
# taken: slurmctld, then one per slurmd).
# Exit status: 0 ok, 1 failure, 2 usage, 77 cannot run here (not root, no
# apt-get; for N > 1 also no UTS namespaces or a SLURM without
# multiple-slurmd support) -- Automake's "skip".
#
# Environment: CLUSTER_TIMEOUT (seconds to wait for the nodes, default 30),
# CLUSTER_PORT (first slurmctld port to try, default 6817), CLUSTER_CRED_EXPIRE
# (AuthInfo cred_expire, default 10 s: also the delay before a requeued job
# may start again).

set -u

me=cluster.sh
say() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { say "$*"; exit 1; }
skip() { say "$*"; exit 77; }

usage() {
    echo "usage: $me start DIR [--nodes N] | stop DIR | status DIR" >&2
    exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2
nnodes=1
while [ $# -gt 0 ]; do
    case $cmd:$1 in
        start:--nodes) [ $# -ge 2 ] || usage; nnodes=$2; shift 2 ;;
        *) usage ;;
    esac
done
case $nnodes in
    [1-8]) ;;
    *) echo "$me: --nodes takes 1..8, not '$nnodes'" >&2; exit 2 ;;
esac
case $dir in
    /*) ;;
    *) dir=$(pwd)/$dir ;;
esac
host=$(hostname -s 2>/dev/null || hostname)

# --- pid helpers ---------------------------------------------------------

# alive NAME: the pid recorded in DIR/NAME.pid is a live process whose
# command is NAME up to its first "-" (slurmd-node1.pid holds a slurmd) and
# whose command line mentions DIR (so that a recycled pid of some other
# process is never taken for ours).  Prints the pid.
alive() {
    _f=$dir/$1.pid
    [ -s "$_f" ] || return 1
    _p=$(head -n 1 "$_f" | tr -cd '0-9')
    [ -n "$_p" ] || return 1
    [ -r "/proc/$_p/comm" ] || return 1
    [ "$(cat "/proc/$_p/comm" 2>/dev/null)" = "${1%%-*}" ] || return 1
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

# ports_busy FIRST COUNT: one of the COUNT ports from FIRST is listened on.
ports_busy() {
    ss -Hltn 2>/dev/null | awk -v lo="$1" -v n="$2" '
        { p = $4; sub(/.*:/, "", p); if (p >= lo && p < lo + n) busy = 1 }
        END { exit !busy }'
}

# the names of the recorded slurmd pid files: slurmd (one node) or
# slurmd-NODE (several)
slurmd_pidnames() {
    for _f in "$dir"/slurmd.pid "$dir"/slurmd-*.pid; do
        [ -e "$_f" ] && basename "$_f" .pid
    done
}

do_stop() {
    [ -d "$dir" ] || { say "no directory $dir: nothing to stop"; return 0; }
    _rc=0
    # slurmd first (it may still be talking to slurmctld), munged last.
    for _n in $(slurmd_pidnames); do stop_one "$_n" || _rc=1; done
    stop_one slurmctld || _rc=1
    stop_one munged || _rc=1
    return $_rc
}

do_status() {
    for _n in munged slurmctld $(slurmd_pidnames); do
        if _p=$(alive "$_n"); then echo "$_n: running (pid $_p)"
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

# node_names: this host's name for one node, else node1..nodeN
node_names() {
    if [ "$nnodes" -eq 1 ]; then echo "$host"; return 0; fi
    _i=1
    while [ $_i -le "$nnodes" ]; do printf 'node%d ' $_i; _i=$((_i + 1)); done
}

# slurmd_pidname NODE: the pid file (without .pid) of NODE's slurmd
slurmd_pidname() {
    if [ "$nnodes" -eq 1 ]; then echo slurmd; else echo "slurmd-$1"; fi
}

# Several nodes on one host need their own host names (UTS namespaces) and
# a SLURM that lets several slurmds share one munged.
check_multinode() {
    [ "$nnodes" -gt 1 ] || return 0
    command -v unshare >/dev/null 2>&1 || skip "no unshare (util-linux): cannot give the nodes their own host names"
    _err=$(unshare --uts true 2>&1) || skip "cannot create a UTS namespace (unshare --uts: $_err)"
}

check_multiple_slurmd() {
    [ "$nnodes" -gt 1 ] || return 0
    SLURM_CONF=$dir/slurm.conf scontrol show config 2>/dev/null | grep -q '^MULTIPLE_SLURMD *= *Yes' &&
        return 0
    do_stop
    skip "this SLURM was built without multiple-slurmd support (no MULTIPLE_SLURMD in scontrol show config): several slurmds cannot share one host and munged"
}

running_slurmds() {
    for _n in $(slurmd_pidnames); do alive "$_n"; done
}

write_conf() {
    cpus=$(nproc)
    # Keep the ports of a previous configuration if its daemons run;
    # otherwise take the first free block (slurmctld, then the slurmds).
    if [ -f "$dir/slurm.conf" ] && { alive slurmctld >/dev/null || [ -n "$(running_slurmds)" ]; }; then
        [ "$(grep -c '^NodeName=' "$dir/slurm.conf")" -eq "$nnodes" ] ||
            die "the cluster running in $dir has other nodes than --nodes $nnodes: stop it first"
        return 0
    fi
    port=${CLUSTER_PORT:-6817}
    while ports_busy "$port" $((nnodes + 1)); do
        port=$((port + nnodes + 1))
        [ "$port" -lt 7017 ] || die "no $((nnodes + 1)) free ports in 6817..7017"
    done
    if [ "$nnodes" -eq 1 ]; then
        # TmpFS: srun's PMIx client directories (spmix_appdir_UID_JOB.STEP)
        # go in this cluster's own directory.  In /tmp, a directory left by
        # a step killed with an earlier cluster made the next cluster's step
        # of the same job id fail ("pmixp_mkdir: File exists"), since every
        # fresh cluster numbers its jobs from 1.
        slurmd_files="SlurmdPidFile=$dir/slurmd.pid
SlurmdLogFile=$dir/log/slurmd.log
TmpFS=$dir/tmp/%n"
        node_lines="NodeName=$host CPUs=$cpus State=UNKNOWN"
        partition_nodes=$host
    else
        # %n: per node.  TmpFS holds srun's PMIx client directories
        # (spmix_appdir_UID_JOB.STEP), which both nodes' steps would share.
        slurmd_files="SlurmdPidFile=$dir/slurmd-%n.pid
SlurmdLogFile=$dir/log/slurmd-%n.log
TmpFS=$dir/tmp/%n"
        # Every node claims all cores: N nodes oversubscribe them N times.
        node_lines=
        _k=1
        for _node in $(node_names); do
            node_lines="$node_lines${node_lines:+
}NodeName=$_node NodeHostname=$_node NodeAddr=$host Port=$((port + _k)) CPUs=$cpus State=UNKNOWN"
            _k=$((_k + 1))
        done
        partition_nodes=node[1-$nnodes]
    fi
    cat >"$dir/slurm.conf" <<EOF
# Written by tests/slurm/cluster.sh: $nnodes-node test cluster in $dir
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
$slurmd_files
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmctldDebug=info
SlurmdDebug=info
$node_lines
PartitionName=debug Nodes=$partition_nodes Default=YES MaxTime=INFINITE State=UP
EOF
    rm -f "$dir/mpi.conf"
    [ "$nnodes" -gt 1 ] || return 0
    # srun --mpi=pmix: every fence as a ring over all nodes.  The default
    # runs fences without data (Open MPI's barrier at the end of MPI_Init)
    # as a tree, and here each node's slurmstepd completed that tree alone
    # ("local delivery" without "send data to" in slurmd's debug log): a
    # fast rank then left MPI_Init and its first message over TCP reached a
    # rank whose ob1 PML had not yet registered its receive handler, a call
    # through NULL (SIGSEGV in mca_btl_tcp.so, tag 0x41).  Measured with 4
    # ranks on 2 nodes under load: tree 27 of 250 launches crashed, the
    # default 7 of 437, ring 0 of 250.  tests/slurm/README.md has the details.
    echo "PMIxCollFence=ring" >"$dir/mpi.conf"
}

# start_slurmd NODE: one slurmd; with several nodes in a UTS namespace whose
# host name is NODE (slurmd daemonizes inside it, and its job steps inherit it)
start_slurmd() {
    _n=$(slurmd_pidname "$1")
    if _p=$(alive "$_n"); then say "$_n already running (pid $_p)"; return 0; fi
    rm -f "$dir/$_n.pid"
    if [ "$nnodes" -eq 1 ]; then
        slurmd -f "$dir/slurm.conf" </dev/null >>"$dir/log/$_n.out" 2>&1
    else
        unshare --uts sh -c 'hostname "$1" && exec slurmd -N "$1" -f "$2"' sh "$1" "$dir/slurm.conf" \
            </dev/null >>"$dir/log/$_n.out" 2>&1
    fi || die "$_n failed, see $dir/log/$_n.log and $_n.out"
    wait_pidfile "$_n" || die "$_n did not start, see $dir/log/$_n.log"
    say "$_n started (pid $(alive "$_n"))"
}

# node_states: "NODE STATE" per node
node_states() {
    SLURM_CONF=$dir/slurm.conf sinfo -h -N -o '%N %t' 2>/dev/null
}

do_start() {
    mkdir -p "$dir" || die "cannot create $dir"
    install_packages
    check_multinode
    for _node in $(node_names); do
        mkdir -p "$dir/spool/$_node" "$dir/tmp/$_node" || die "cannot create $dir/spool/$_node"
    done
    mkdir -p "$dir/log" "$dir/state" || die "cannot create $dir/*"
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
    check_multiple_slurmd
    for _node in $(node_names); do start_slurmd "$_node"; done

    _t=${CLUSTER_TIMEOUT:-30}
    _i=0
    while [ $_i -lt $((_t * 2)) ]; do
        _st=$(node_states)
        _up=$(echo "$_st" | grep -cE ' (idle|mix|alloc)$')
        [ "$_up" -eq "$nnodes" ] && break
        # ReturnToService=2 normally brings a node back; nudge it.
        for _node in $(echo "$_st" | awk '$2 ~ /^(down|drain)/ {print $1}'); do
            SLURM_CONF=$dir/slurm.conf scontrol update nodename="$_node" state=resume >/dev/null 2>&1
        done
        sleep 0.5; _i=$((_i + 1))
    done
    if [ "$_up" -ne "$nnodes" ]; then
        say "$_up of $nnodes nodes up after ${_t} s (sinfo: $(echo $_st)), see $dir/log/"
        return 1
    fi
    if [ "$nnodes" -eq 1 ]; then
        say "node $host is $(echo "$_st" | awk '{print $2}') after $((_i / 2)).$((_i % 2 * 5)) s"
    else
        say "nodes $(echo $(node_names)) are up after $((_i / 2)).$((_i % 2 * 5)) s: $(echo $_st)"
    fi
    echo "export SLURM_CONF=$dir/slurm.conf"
}

case $cmd in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) usage ;;
esac
