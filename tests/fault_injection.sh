#!/bin/sh
# The fault-injection suite: every case of tests/faults.table, each a fault
# (a write that fails with ENOSPC, EDQUOT or EIO, a short write, a rename
# that fails, kill -9 in the middle of a write, a full disk, a damaged,
# truncated or foreign file, a journal of another spec or format, a live
# run or merge holding the files, a path too long, Ctrl-C) with the exit
# status and the one line expected, and the proof that nothing was lost or
# put under other parameters: the results compared bit for bit with an
# uninterrupted run, every row's results checked against its own
# parameters (tests/faultcheck.py).  Faults come from the LD_PRELOAD
# library tests/faultinject.c; the full disk is a real tmpfs (root only).
. "$TOP_BUILDDIR/tests/setup.sh"
. "$TOP_SRCDIR/tests/faultlib.sh"
[ "$MPIRUN" != no ] || { echo "SKIP: mpirun not found"; exit 77; }
have_python3_module h5py || { echo "SKIP: Debian's python3-h5py is missing"; exit 77; }
build_faultinject || { echo "SKIP: $(build_faultinject)"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# LeakSanitizer's tracer dies at the exit of processes that ran MPI_Init in
# this sandbox (setup.sh); the memory checks stay on
without_leak_scan
f=${SSM_SLOW_FACTOR:-1}
top=$scratch
# samples of the cases that repeat: fewer under the sanitizers (slow factor > 1)
if [ "$f" -gt 1 ]; then cuts="1 2" damages="1" flush_kills="150 350"; else cuts="1 2 3 4 5 6" damages="1 2 3" flush_kills="100 250 400"; fi
plot="$TOP_SRCDIR/analysis/ssmsweep-plot"
check_py="$TOP_SRCDIR/tests/faultcheck.py"

# ---- specs and references --------------------------------------------------------

spec="$top/f.yaml"
cat > "$spec" <<'YAML'
kind: noop
name: faults
seed: 5
axes:
  value: {from: 0, to: 39, num: 40}
  length: [0, 7, 30]
YAML
sed 's/length: \[0, 7, 30\]/length: [0, 7, 31]/' "$spec" > "$top/edited.yaml"   # 40 of 120 tasks change
sed 's/^seed: 5/seed: 6/' "$spec" > "$top/seed6.yaml"                         # same parameters, other numbers
cat > "$top/long.yaml" <<'YAML'
kind: noop
seed: 2
fixed: {sleep: 2}
axes:
  value: [1, 2, 3]
YAML
cat > "$top/slow.yaml" <<'YAML'
kind: noop
seed: 3
fixed: {sleep: 0.02}
axes:
  value: {from: 0, to: 299, num: 300}
YAML
cat > "$top/flush.yaml" <<'YAML'
kind: noop
seed: 4
fixed: {sleep: 0.002, length: 3}
axes:
  value: {from: 0, to: 299, num: 300}
YAML
for n in "16, 32" "64, 128" "8, 32, 16"; do
  cat > "$top/mf-$(echo "$n" | tr -d ' ,').yaml" <<YAML
kind: mf
seed: 1
fixed: {init: s4d-inv, method: blaschke, tau_max: 4000, dt: 0.01}
axes:
  N: [$n]
YAML
done

"$SSMSWEEP" run "$spec" -o "$top/ref.h5" --quiet 2> "$top/err" || { fail "reference run: $(cat "$top/err")"; finish; }
"$SSMSWEEP" run "$top/seed6.yaml" -o "$top/ref6.h5" --quiet 2> "$top/err" || { fail "seed-6 run: $(cat "$top/err")"; finish; }
for s in 0 1; do
  "$SSMSWEEP" run "$spec" -o "$top/s$s.h5" --shard $s/2 --quiet 2> "$top/err" || { fail "shard $s: $(cat "$top/err")"; finish; }
done
shard_sums=$(md5sum "$top/s0.h5" "$top/s1.h5" "$top/s0.h5.journal" "$top/s1.h5.journal" | cut -d' ' -f1)
hostname=$(hostname)

# ---- helpers ----------------------------------------------------------------------

# ssm ARGS...: the command under test; stdout in out.txt, stderr in err
ssm() { "$SSMSWEEP" "$@" > "$d/out.txt" 2> "$d/err"; code=$?; }
# ssm_fault CALLS PATTERN NTH ERRNO MODE -- ARGS...: the same with a fault
ssm_fault() { _c=$1 _p=$2 _n=$3 _e=$4 _m=$5; shift 6; with_fault "$_c" "$_p" "$_n" "$_e" "$_m" -- "$SSMSWEEP" "$@" > "$d/out.txt" 2> "$d/err"; code=$?; }
finished() { "$SSMSWEEP" run "${1:-$cspec}" -o "$d/out.h5" --quiet 2> "$d/setup.err" || fail "$name: setup run: $(cat "$d/setup.err")"; }
# a version-2 journal of a finished run, as builds before format 3 wrote it
legacy() { finished; "$PYTHON3" "$check_py" legacy "$d/out.h5.journal" "$d/v2" && mv "$d/v2" "$d/out.h5.journal"; }
temps() { ls "$d" | grep -E '\.(rebuild|creating|rewrite|lock)$'; }
no_temps() { t=$(temps); [ -z "$t" ] || { fail "$name: temporary files left: $t"; return 1; }; }
compare() {   # compare REF FILE
  "$PYTHON3" "$TOP_SRCDIR/tests/slurm/h5compare.py" "$1" "$2" > "$d/cmp.txt" 2>&1 \
    || { fail "$name: $(basename "$2") differs from $(basename "$1"): $(head -3 "$d/cmp.txt")"; return 1; }
}
rows_hold() {
  "$PYTHON3" "$check_py" rows "$1" > "$d/rows.txt" 2>&1 || { fail "$name: rows: $(cat "$d/rows.txt")"; return 1; }
}
# within SECONDS COMMAND...: the command answers in time (status in $code)
within() {
  _t=$1; shift
  timeout "$(awk -v t="$_t" -v f="$f" 'BEGIN { print t * f }')" "$@" > "$d/out.txt" 2> "$d/err"; code=$?
  [ $code -ne 124 ] || { fail "$name: $* did not answer within $_t s"; return 1; }
}
wait_for() {   # wait_for FILE: up to 30 s (times the slow factor)
  _i=0
  while [ ! -e "$1" ] && [ $_i -lt $((300 * f)) ]; do sleep 0.1; _i=$((_i + 1)); done
  [ -e "$1" ]
}
one_line_or_none() {   # a reader's answer: at most one line on stderr
  [ "$(wc -l < "$d/err")" -le 1 ] || { fail "$name: $* said $(wc -l < "$d/err") lines: $(head -c 300 "$d/err")"; return 1; }
}

# ---- proofs -----------------------------------------------------------------------

proof_same() {
  "$SSMSWEEP" run "$cspec" -o "$d/out.h5" --resume --quiet 2> "$d/proof.err" \
    || { fail "$name: --resume after the fault: exit $? ($(cat "$d/proof.err"))"; return 1; }
  compare "$cref" "$d/out.h5" && rows_hold "$d/out.h5" || return 1
  "$SSMSWEEP" status "$d/out.h5" > "$d/status.txt" 2>&1
  grep -q "recomputed: 0" "$d/status.txt" || { fail "$name: the journal recorded a task twice"; return 1; }
  no_temps
}
proof_merge_same() {
  [ ! -e "$d/out.h5" ] && [ ! -e "$d/out.h5.journal" ] || { fail "$name: the failed merge left its output"; return 1; }
  "$SSMSWEEP" merge "$top/s0.h5" "$top/s1.h5" -o "$d/out.h5" --quiet 2> "$d/proof.err" \
    || { fail "$name: merge after the fault: $(cat "$d/proof.err")"; return 1; }
  [ "$(md5sum "$top/s0.h5" "$top/s1.h5" "$top/s0.h5.journal" "$top/s1.h5.journal" | cut -d' ' -f1)" = "$shard_sums" ] \
    || { fail "$name: an input changed"; return 1; }
  compare "$top/ref.h5" "$d/out.h5" && no_temps
}
proof_unchanged() {
  [ "$(md5sum "$d/out.h5" "$d/out.h5.journal" | cut -d' ' -f1)" = "$(cat "$d/sums")" ] \
    || { fail "$name: the files changed"; return 1; }
}
proof_rows() { rows_hold "$d/out.h5" && no_temps; }
proof_nothing() {
  left=$(ls "$d" | grep '^out\.h5')
  [ -z "$left" ] || { fail "$name: files written: $left"; return 1; }
}
proof_own() { :; }

# ---- write failures ------------------------------------------------------------------

case_enospc_journal() { ssm_fault write '*/out.h5.journal' 2 ENOSPC fail -- run "$spec" -o "$d/out.h5" --quiet; }
case_edquot_journal() { ssm_fault write '*/out.h5.journal' 2 EDQUOT fail -- run "$spec" -o "$d/out.h5" --quiet; }
case_eio_fsync_journal() { ssm_fault fsync '*/out.h5.journal' 2 EIO fail -- run "$spec" -o "$d/out.h5" --quiet; }
case_short_write() {
  ssm_fault write '*/out.h5.journal' 2 ENOSPC short -- run "$spec" -o "$d/out.h5" --quiet
  # the journal kept the frames that reached it whole, and nothing else
  "$SSMSWEEP" status "$d/out.h5" > "$d/st.txt" 2>&1
  grep -q "^damaged" "$d/st.txt" && fail "$name: a short write left damage: $(grep damaged "$d/st.txt")"
}
case_eio_h5_write() { ssm_fault pwrite '*/out.h5' 3 EIO fail -- run "$spec" -o "$d/out.h5" --quiet; }
case_enospc_h5_create() { ssm_fault pwrite '*/out.h5.creating' 1 ENOSPC fail -- run "$spec" -o "$d/out.h5" --quiet; }
case_eio_rebuild() { finished; ssm_fault pwrite '*/out.h5.rebuild*' 4 EIO fail -- run "$spec" -o "$d/out.h5" --resume --quiet; }
# the second rename: the first one is sw_h5_create's of OUT.h5.rebuild.creating
case_rename_rebuild() { finished; ssm_fault rename '*/out.h5.rebuild' 2 EIO fail -- run "$spec" -o "$d/out.h5" --resume --quiet; }
case_eio_rewrite() { legacy; ssm_fault write '*/out.h5.journal.rewrite' 2 EIO fail -- run "$spec" -o "$d/out.h5" --resume --quiet; }
case_enospc_merge() { ssm_fault write '*/out.h5.journal.creating' 2 ENOSPC fail -- merge "$top/s0.h5" "$top/s1.h5" -o "$d/out.h5"; }
case_eio_h5_merge() { ssm_fault pwrite '*/out.h5.creating' 5 EIO fail -- merge "$top/s0.h5" "$top/s1.h5" -o "$d/out.h5"; }
case_rename_merge() { ssm_fault rename '*/out.h5.creating' 2 EIO fail -- merge "$top/s0.h5" "$top/s1.h5" -o "$d/out.h5"; }

# A real full disk: a small tmpfs (root only; elsewhere the case is skipped
# and the same code paths are covered by the injected ENOSPC above).
case_full_disk() {
  big="$top/big.yaml"
  sed 's/length: \[0, 7, 30\]/length: [0, 500, 4000]/' "$spec" > "$big"
  mkdir -p "$d/disk"
  if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=256k tmpfs "$d/disk" 2> /dev/null; then
    skipped="needs root to mount a tmpfs"; return
  fi
  "$SSMSWEEP" run "$big" -o "$d/ref.h5" --quiet 2> /dev/null
  ssm run "$big" -o "$d/disk/out.h5" --quiet
  c1=$code; cp "$d/err" "$d/err1"
  ssm run "$big" -o "$d/disk/out.h5" --quiet --resume
  [ $code -eq 1 ] && [ "$(wc -l < "$d/err")" -eq 1 ] && grep -q ENOSPC "$d/err" \
    || fail "$name: --resume on the full disk: exit $code: $(cat "$d/err")"
  left=$(ls "$d/disk" | grep -E '\.(rebuild|creating|rewrite|lock)$')
  [ -z "$left" ] || fail "$name: temporary files left on the full disk: $left"
  mount -o remount,size=16m "$d/disk"
  "$SSMSWEEP" run "$big" -o "$d/disk/out.h5" --quiet --resume 2> "$d/err2" \
    && compare "$d/ref.h5" "$d/disk/out.h5" && rows_hold "$d/disk/out.h5" \
    && pass "$name: after space is freed --resume finishes, equal to an uninterrupted run" \
    || fail "$name: resume after freeing space: $(cat "$d/err2")"
  umount "$d/disk"
  code=$c1; mv "$d/err1" "$d/err"
}

# ---- kill -9 in the middle of writing -------------------------------------------------

case_kill_journal() { ssm_fault write '*/out.h5.journal' 2 - kill -- run "$spec" -o "$d/out.h5" --quiet; }
case_kill_rebuild() { finished; ssm_fault pwrite '*/out.h5.rebuild*' 10 - kill -- run "$spec" -o "$d/out.h5" --resume --quiet; }
case_kill_rewrite() { legacy; ssm_fault write '*/out.h5.journal.rewrite' 2 - kill -- run "$spec" -o "$d/out.h5" --resume --quiet; }
# kill -9 inside the results file's flushes of a run that flushes after
# every task (--sync 0: ~3 writes a task, 900 in all, the closing ones past
# 850): the file left behind reads consistently as it is (every row read
# done holds the results of its own parameters: its status goes in after
# them), and --resume completes it
case_kill_h5_flush() {
  cspec="$top/flush.yaml" cref="$top/flush-ref.h5"
  "$SSMSWEEP" run "$cspec" -o "$cref" --quiet 2> "$d/setup.err" || { fail "$name: reference: $(cat "$d/setup.err")"; return; }
  for nth in $flush_kills; do
    rm -f "$d"/out.h5*
    ssm_fault pwrite '*/out.h5' $nth - kill -- run "$cspec" -o "$d/out.h5" --quiet --sync 0
    [ $code -eq 137 ] || { fail "$name: no kill at write $nth of out.h5 (exit $code)"; return; }
    rows_hold "$d/out.h5" || return
    done_rows=$(sed -n 's/.* \([0-9]*\) done, 0 inconsistent/\1/p' "$d/rows.txt")
    [ "${done_rows:-0}" -gt 0 ] || { fail "$name: killed at write $nth before any task was done: $(cat "$d/rows.txt")"; return; }
    proof_same || return
    echo "$name: killed at write $nth of out.h5: $done_rows of 300 rows read done, all holding their own results"
  done
  pass "$name: killed inside $(echo $flush_kills | wc -w) flushes: every row read done held its results; resumed bit for bit"
}
case_kill_merge() { ssm_fault pwrite '*/out.h5.creating' 10 - kill -- merge "$top/s0.h5" "$top/s1.h5" -o "$d/out.h5"; }

# A one-task deep-S4D spec ($d/one.yaml) and its uninterrupted run
# ($d/ref.h5); sets $skipped when the data set is missing.
checkpoint_setup() {
  data=/usr/share/datasets/fashion-mnist
  if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
    skipped="$data missing (apt-get install dataset-fashion-mnist)"; return 1
  fi
  cat > "$d/one.yaml" <<'YAML'
kind: sfmnist
seed: 7
fixed: {init: s4d-lin, d_model: 8, layers: 1, N: 8, epochs: 3, subset: 500, n_val: 100,
        test_subset: 200, batch: 25, tau_max: 300}
YAML
  "$SSMSWEEP" run "$d/one.yaml" -o "$d/ref.h5" --quiet 2> "$d/ref.err" || fail "$name: reference: $(cat "$d/ref.err")"
}

# checkpoint_resumed OPTIONS...: the first checkpoint is there; --resume
# OPTIONS continues from it and ends where the uninterrupted run ends
checkpoint_resumed() {
  ls "$d/out.h5.ckpt/"*.ckpt > /dev/null 2>&1 || fail "$name: the first checkpoint is not there"
  "$SSMSWEEP" run "$d/one.yaml" -o "$d/out.h5" --resume "$@" --quiet 2> "$d/res.err" || fail "$name: resume: $(cat "$d/res.err")"
  "$PYTHON3" - "$d/ref.h5" "$d/out.h5" > "$d/cmp.txt" 2>&1 <<'PY' && pass "$name: resumed from the first checkpoint, results equal the uninterrupted run" || fail "$name: $(cat "$d/cmp.txt")"
import sys, h5py
skip = {"results/train_seconds", "results/epoch_seconds", "results/epoch_time", "results/resumed_at"}
def cols(path):
    with h5py.File(path, "r") as f:
        return {f"{g}/{n}": d[()] for g in ("params", "results") for n, d in f[g].items()}, \
               int(f["results/resumed_at"][0]) if "resumed_at" in f["results"] else -1
(a, _), (b, at) = cols(sys.argv[1]), cols(sys.argv[2])
bad = [k for k in a if k not in skip and (a[k].tobytes() if a[k].dtype.kind != "O" else list(a[k])) !=
       (b[k].tobytes() if b[k].dtype.kind != "O" else list(b[k]))]
print("resumed at epoch", at, "differing:", bad)
sys.exit(1 if bad or at < 2 else 0)
PY
}

# kill -9 as a deep-S4D task writes its second checkpoint: the first one
# stays whole, the task continues from it and ends where an uninterrupted
# run ends
case_kill_checkpoint() {
  checkpoint_setup || return
  ssm_fault fsync '*.ckpt.tmp' 2 - kill -- run "$d/one.yaml" -o "$d/out.h5" --quiet
  c=$code
  checkpoint_resumed
  code=$c
}

# the disk fills as the task writes its second checkpoint: the task fails
# with one line naming the checkpoint and the errno (the sweep ends 4, the
# run's own files stay valid), the first checkpoint stays whole, and once
# there is space --retry-failed continues from it
case_enospc_checkpoint() {
  checkpoint_setup || return
  ssm_fault fsync '*.ckpt.tmp' 2 ENOSPC fail -- run "$d/one.yaml" -o "$d/out.h5" --quiet
  c=$code
  "$SSMSWEEP" status "$d/out.h5" > "$d/status.txt" 2>&1
  grep -q 'checkpoint .*No space left on device (ENOSPC)' "$d/status.txt" \
    && pass "$name: status names the checkpoint and the errno" \
    || fail "$name: status does not say why the task failed: $(tail -3 "$d/status.txt")"
  [ -z "$(ls "$d/out.h5.ckpt/" | grep '\.tmp$')" ] || fail "$name: the partial checkpoint was left behind"
  checkpoint_resumed --retry-failed
  code=$c
}

# kill -9 after the deep-S4D task's record reached the journal, before the
# engine removed its checkpoint (at the journal's fsync that precedes the
# removal): --resume finds the task done, computes nothing, removes the
# stale checkpoint (and the directory), and the file holds what the
# uninterrupted run holds
case_kill_ckpt_removal() {
  checkpoint_setup || return
  ssm_fault fsync '*/out.h5.journal' 2 - kill -- run "$d/one.yaml" -o "$d/out.h5" --quiet
  c=$code
  stale=$(ls "$d/out.h5.ckpt/" 2> /dev/null)
  "$SSMSWEEP" status "$d/out.h5" > "$d/status.txt" 2>&1
  if [ -z "$stale" ] || ! grep -q "1 done, 0 failed, 0 pending" "$d/status.txt"; then
    fail "$name: the kill did not leave a done task with its checkpoint: [$stale] $(grep tasks: "$d/status.txt")"
    return
  fi
  "$SSMSWEEP" run "$d/one.yaml" -o "$d/out.h5" --resume --quiet 2> "$d/res.err" || fail "$name: resume: $(cat "$d/res.err")"
  [ ! -e "$d/out.h5.ckpt" ] && pass "$name: --resume removed the stale checkpoint $stale" ||
    fail "$name: after --resume: out.h5.ckpt holds $(ls "$d/out.h5.ckpt" 2>&1)"
  "$SSMSWEEP" status "$d/out.h5" | grep -q "records:  1 (recomputed: 0)" || fail "$name: the task was computed again"
  "$PYTHON3" - "$d/ref.h5" "$d/out.h5" > "$d/cmp.txt" 2>&1 <<'PY' && pass "$name: results equal the uninterrupted run" || fail "$name: $(cat "$d/cmp.txt")"
import sys, h5py
clocks = {"results/train_seconds", "results/epoch_seconds", "results/epoch_time"}
def cols(path):
    with h5py.File(path, "r") as f:
        return {f"{g}/{n}": d[()] for g in ("params", "results") for n, d in f[g].items()}
a, b = cols(sys.argv[1]), cols(sys.argv[2])
same = lambda x, y: (x.tobytes() if x.dtype.kind != "O" else list(x)) == (y.tobytes() if y.dtype.kind != "O" else list(y))
bad = [k for k in a if k not in clocks and (k not in b or not same(a[k], b[k]))]
print("differing:", bad)
sys.exit(1 if bad or a.keys() != b.keys() else 0)
PY
  code=$c
}

# Checkpoints found beside a journal: --resume removes those of tasks the
# journal records as done before any task runs, and keeps those of tasks
# still to compute and files that are no task's.  The edited spec reuses
# task 0 (length 0) and computes task 2 (length 31 is new); the resumed run
# is killed as it writes its first record, then a resume completes it.
case_stale_checkpoints() {
  finished
  "$SSMSWEEP" plan "$top/edited.yaml" --tasks > "$d/tasks.txt" 2> "$d/plan.err" || { fail "$name: plan: $(cat "$d/plan.err")"; return; }
  done_hash=$(awk '$1 == 0 { print $2 }' "$d/tasks.txt") todo_hash=$(awk '$1 == 2 { print $2 }' "$d/tasks.txt")
  case "$done_hash$todo_hash" in
    *[!0-9a-f]*|'') fail "$name: no hashes in plan --tasks: $(head -3 "$d/tasks.txt")"; return ;;
  esac
  mkdir "$d/out.h5.ckpt"
  for h in "$done_hash" "$todo_hash" ffffffffffffffff; do echo "checkpoint of $h" > "$d/out.h5.ckpt/$h.ckpt"; done
  ssm_fault write '*/out.h5.journal' 1 - kill -- run "$top/edited.yaml" -o "$d/out.h5" --resume --force --quiet
  c=$code
  left=$(ls "$d/out.h5.ckpt" | tr '\n' ' ')
  [ "$left" = "$todo_hash.ckpt ffffffffffffffff.ckpt " ] && pass "$name: the done task's checkpoint went first; kept: $left" ||
    fail "$name: after the resume's first record: $left (done $done_hash, to compute $todo_hash)"
  "$SSMSWEEP" run "$top/edited.yaml" -o "$d/out.h5" --resume --quiet 2> "$d/res.err" || fail "$name: resume: $(cat "$d/res.err")"
  left=$(ls "$d/out.h5.ckpt" | tr '\n' ' ')
  [ "$left" = "ffffffffffffffff.ckpt " ] && rows_hold "$d/out.h5" &&
    pass "$name: completed; every row holds its own results, only the file of no task is left" ||
    fail "$name: after completing: $left"
  code=$c
}

# ---- other specs, edited specs, older journals ------------------------------------------

case_other_spec() {
  finished
  md5sum "$d/out.h5" "$d/out.h5.journal" | cut -d' ' -f1 > "$d/sums"
  ssm run "$top/edited.yaml" -o "$d/out.h5" --resume --quiet
  grep -q -- "--force" "$d/err" && fail "$name: the refusal suggests --force"
}
# the issue's case: N [16, 32] -> [64, 128] with --resume --force
case_edited_force() {
  "$SSMSWEEP" run "$top/mf-1632.yaml" -o "$d/out.h5" --quiet 2> /dev/null
  ssm run "$top/mf-64128.yaml" -o "$d/out.h5" --resume --force
  rows_hold "$d/out.h5" && "$PYTHON3" -c '
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    n, mc = f["params/N"][()].tolist(), f["results/mc"][()]
print(n, mc)
sys.exit(0 if n == [64, 128] and abs(mc[0] - 64) < 1e-3 and abs(mc[1] - 128) < 1e-3 else 1)' "$d/out.h5" > "$d/n.txt" \
    && pass "$name: N = [64, 128] holds MC 64 and 128, no result under the old parameters" \
    || fail "$name: $(cat "$d/n.txt")"
}
# an edit that keeps two tasks (moved to other rows): reused, not recomputed
case_edited_reuse() {
  "$SSMSWEEP" run "$top/mf-1632.yaml" -o "$d/out.h5" --quiet 2> /dev/null
  "$PYTHON3" -c 'import sys, h5py; f = h5py.File(sys.argv[1], "r"); print(*f["tasks/finished"][()].tolist())' \
    "$d/out.h5" > "$d/before"
  ssm run "$top/mf-83216.yaml" -o "$d/out.h5" --force
  rows_hold "$d/out.h5" && "$PYTHON3" -c '
import sys, h5py
t16, t32 = map(float, open(sys.argv[2]).read().split())
with h5py.File(sys.argv[1], "r") as f:
    n, t = f["params/N"][()].tolist(), f["tasks/finished"][()]
sys.exit(0 if n == [8, 32, 16] and t[1] == t32 and t[2] == t16 else 1)' "$d/out.h5" "$d/before" \
    && pass "$name: N 32 and 16 kept their results in their new rows (same finish times), N 8 computed" \
    || fail "$name: reused rows"
}
# the master seed changed: the same parameters draw other numbers: nothing carries over
case_seed_changed_force() {
  finished
  ssm run "$top/seed6.yaml" -o "$d/out.h5" --force
  compare "$top/ref6.h5" "$d/out.h5" && rows_hold "$d/out.h5" \
    && pass "$name: equal to a fresh run with seed 6"
}
case_legacy_resume() { legacy; ssm run "$spec" -o "$d/out.h5" --resume; }
# a journal without hashes under another spec: none of its records is trusted
case_legacy_other_force() { legacy; ssm run "$top/edited.yaml" -o "$d/out.h5" --force; }

# the files ssmsweep 0.1 wrote (tests/ref/v0.1: journals of format versions 1
# and 2): read by status and report, resumed with their specs (rewritten as
# format 3), the records where they belong (bit for bit a fresh run's)
case_v01_files() {
  cp "$TOP_SRCDIR/tests/ref/v0.1/"*.h5 "$TOP_SRCDIR/tests/ref/v0.1/"*.journal "$d/"
  chmod u+w "$d/"*
  for v_case in smoke:jobs/examples/smoke.yaml:0:1 figure1.shard1of2:jobs/examples/figure1.yaml:0:2 \
           failing:tests/specs/run/failing.yaml:4:1; do
    set -- $(echo "$v_case" | tr : ' ')
    file=$1 yaml=$2 v_want=$3 version=$4 shard=
    [ "$file" = figure1.shard1of2 ] && shard="--shard 1/2"
    "$SSMSWEEP" status "$d/$file.h5" > "$d/st.txt" 2>&1 && grep -q "format version $version" "$d/st.txt" \
      || fail "$name: status of the 0.1 file $file: $(head -3 "$d/st.txt")"
    "$SSMSWEEP" report "$d/$file.h5" > /dev/null 2> "$d/rep.err" || fail "$name: report of $file: $(cat "$d/rep.err")"
    "$SSMSWEEP" run "$TOP_SRCDIR/$yaml" -o "$d/$file.h5" $shard --resume --quiet 2> "$d/res.err"
    rc=$?
    [ $rc -eq "$v_want" ] && "$SSMSWEEP" status "$d/$file.h5" | grep -q "format version 3" \
      || { fail "$name: resume of the 0.1 file $file: exit $rc: $(cat "$d/res.err")"; continue; }
    [ "$file" = failing ] && continue   # failed tasks: no finished run to compare with bit for bit
    [ "$reference_kernels" = 1 ] || continue   # the 0.1 files' results: OpenBLAS's Haswell kernels
    "$SSMSWEEP" run "$TOP_SRCDIR/$yaml" -o "$d/$file.fresh.h5" $shard --quiet 2> /dev/null
    compare "$d/$file.fresh.h5" "$d/$file.h5" && rows_hold "$d/$file.h5" \
      && pass "$name: the 0.1 file $file (journal format $version) resumed as format 3, equal to a fresh run"
  done
  code=0
}

# ---- damaged journals and results files ---------------------------------------------------

# the journal cut at frame boundaries and inside frames (seeded samples;
# tests/test_journal cuts at every byte): --resume completes it, a cut
# inside a frame is a torn tail, never damage
case_journal_cuts() {
  finished
  "$PYTHON3" "$check_py" frames "$d/out.h5.journal" > "$d/frames"
  cp "$d/out.h5.journal" "$d/whole.journal"
  nf=$(wc -l < "$d/frames")
  ok=0
  for k in $cuts; do
    line=$(awk -v s=$k -v n=$nf 'BEGIN { srand(77 + s); print 1 + int(rand() * (n - 1)) }')
    at=$(sed -n "${line}p" "$d/frames")
    [ $((k % 2)) -eq 0 ] && at=$((at + 7 + k))   # inside the frame
    head -c "$at" "$d/whole.journal" > "$d/out.h5.journal"
    "$SSMSWEEP" status "$d/out.h5" > "$d/st.txt" 2>&1
    if [ $((k % 2)) -eq 0 ]; then
      grep -q "torn tail" "$d/st.txt" || fail "$name: a cut at byte $at inside a frame is not a torn tail"
    else
      grep -q "torn tail" "$d/st.txt" && fail "$name: a cut at frame boundary $at is a torn tail"
    fi
    grep -q "^damaged" "$d/st.txt" && fail "$name: a cut at byte $at reported as damage"
    "$SSMSWEEP" run "$spec" -o "$d/out.h5" --resume --quiet 2> "$d/res.err" && compare "$top/ref.h5" "$d/out.h5" \
      && ok=$((ok + 1)) || fail "$name: resume after a cut at byte $at: $(cat "$d/res.err")"
  done
  [ $ok -eq $(echo $cuts | wc -w) ] && pass "$name: $(echo $cuts | wc -w) cuts at frame boundaries (odd) and inside frames (even): each resumed to the uninterrupted result"
  code=0
}
case_journal_damage() {
  finished
  header=$(head -1 "$d/frames" 2>/dev/null || "$PYTHON3" "$check_py" frames "$d/out.h5.journal" | head -1)
  "$PYTHON3" "$check_py" damage "$d/out.h5.journal" 1234 3 "$header" > "$d/where"
  "$SSMSWEEP" status "$d/out.h5" > "$d/st.txt" 2>&1
  grep -q "^damaged:" "$d/st.txt" && ! grep -q "torn tail" "$d/st.txt" \
    && pass "$name: status reports the damage apart from a torn tail: $(grep '^damaged' "$d/st.txt")" \
    || fail "$name: status after damage at $(tr '\n' ' ' < "$d/where"): $(cat "$d/st.txt")"
  ssm run "$spec" -o "$d/out.h5" --resume
  grep "damaged region" "$d/err" > "$d/line"; mv "$d/line" "$d/err"
}
# random bytes in the results file: every reader answers within seconds,
# with at most one line; --resume rebuilds the file from the journal
case_h5_damage() {
  finished
  cp "$d/out.h5" "$d/clean.h5"
  # a writer killed with the file open leaves the SWMR mark: readers must not retry for ever
  "$SSMSWEEP" run "$top/slow.yaml" -o "$d/killed.h5" --quiet 2> /dev/null &
  pid=$!
  wait_for "$d/killed.h5.journal"; sleep 1
  kill -9 $pid; wait $pid 2> /dev/null
  answered=0
  for which in clean killed; do
    for seed in $damages; do
      cp "$d/$which.h5" "$d/bad.h5"
      "$PYTHON3" "$check_py" damage "$d/bad.h5" "$seed" 1 512 > /dev/null
      dd if=/dev/urandom of="$d/bad.h5" bs=1 seek=$(( $(stat -c %s "$d/bad.h5") / (seed + 1) )) count=4096 conv=notrunc 2> /dev/null
      for reader in report merge plot; do
        case $reader in
          report) within 10 "$SSMSWEEP" report "$d/bad.h5" ;;
          merge) rm -f "$d/m.h5" "$d/m.h5.journal"; within 10 "$SSMSWEEP" merge "$d/bad.h5" -o "$d/m.h5" --quiet ;;
          plot) within 20 "$PYTHON3" "$plot" summary "$d/bad.h5" ;;
        esac || continue
        case $code in 0|1|2|3) one_line_or_none "$reader of $which, seed $seed" && answered=$((answered + 1)) ;;
          *) fail "$name: $reader of a damaged $which file (seed $seed): exit $code" ;; esac
      done
    done
  done
  [ $answered -eq $((6 * $(echo $damages | wc -w))) ] \
    && pass "$name: report, merge and ssmsweep-plot answered $((2 * $(echo $damages | wc -w))) damaged files (clean and SWMR-marked) within seconds, one line at most"
  # the journal is the authority: --resume rebuilds the damaged file
  cp "$d/bad.h5" "$d/out.h5"
  "$SSMSWEEP" run "$spec" -o "$d/out.h5" --resume --quiet 2> "$d/res.err" && compare "$top/ref.h5" "$d/out.h5"     && rows_hold "$d/out.h5" && pass "$name: --resume rebuilt the damaged file from its journal"     || fail "$name: resume of the damaged file: $(cat "$d/res.err")"
  code=0
}
case_truncated_h5() {
  finished
  truncate -s $(( $(stat -c %s "$d/out.h5") / 2 )) "$d/out.h5"
  within 10 "$SSMSWEEP" report "$d/out.h5"
}
# a file left open for writing outside SWMR, as by ssmsweep killed while it
# adds the final counts (here h5py killed with the file open read-write,
# which marks the superblock the same way): report and open_sweep say what
# rebuilds it, --resume does
case_closing_killed() {
  finished
  "$PYTHON3" -c 'import os, signal, sys, h5py; f = h5py.File(sys.argv[1], "r+"); f.flush(); os.kill(os.getpid(), signal.SIGKILL)' \
    "$d/out.h5" 2> /dev/null
  PYTHONPATH="$TOP_SRCDIR/analysis" "$PYTHON3" -c 'import sys, ssmsweep; ssmsweep.open_sweep(sys.argv[1])' "$d/out.h5" \
    > /dev/null 2> "$d/py.err"
  grep -q "OSError: .*out.h5 is open for writing outside SWMR .*--resume. rebuilds it" "$d/py.err" \
    || fail "$name: open_sweep said $(tail -1 "$d/py.err")"
  ssm report "$d/out.h5"
}
case_not_hdf5() {
  cp "$spec" "$d/out.h5"
  within 10 "$PYTHON3" "$plot" summary "$d/out.h5"
  [ $code -eq 2 ] && [ "$(wc -l < "$d/err")" -eq 1 ] || fail "$name: ssmsweep-plot: exit $code: $(cat "$d/err")"
  within 10 "$SSMSWEEP" merge "$d/out.h5" -o "$d/m.h5"
  [ $code -eq 2 ] && [ "$(wc -l < "$d/err")" -eq 1 ] || fail "$name: merge: exit $code: $(cat "$d/err")"
  within 10 "$SSMSWEEP" report "$d/out.h5"
}
case_empty_h5() {
  : > "$d/out.h5"
  within 10 "$PYTHON3" "$plot" summary "$d/out.h5"
  [ $code -eq 2 ] && [ "$(wc -l < "$d/err")" -eq 1 ] || fail "$name: ssmsweep-plot: exit $code: $(cat "$d/err")"
  within 10 "$SSMSWEEP" report "$d/out.h5"
}

# ---- concurrent writers and locks -------------------------------------------------------------

# --force, --resume and merge --force against a live run are refused with
# one line naming it; the live run is not disturbed
case_force_live() {
  # 2000 tasks of 50 ms: the live run outlasts the three attempts however
  # slow the machine (the 6-second spec did not under ASan at load 18)
  sed 's/sleep: 0.02/sleep: 0.05/; s/to: 299, num: 300/to: 1999, num: 2000/' "$top/slow.yaml" > "$d/live.yaml"
  "$SSMSWEEP" run "$d/live.yaml" -o "$d/out.h5" --quiet 2> "$d/live.err" &
  live=$!
  wait_for "$d/out.h5.journal" || fail "$name: the live run did not start"
  sleep 0.3
  ssm run "$d/live.yaml" -o "$d/out.h5" --resume --quiet
  [ $code -eq 2 ] && grep -q "is being written by ssmsweep run (pid $live" "$d/err" \
    || fail "$name: --resume against a live run: exit $code: $(cat "$d/err")"
  ssm merge "$top/s0.h5" "$top/s1.h5" -o "$d/out.h5" --force --quiet
  [ $code -eq 2 ] && grep -q "is being written by ssmsweep run" "$d/err" \
    || fail "$name: merge --force onto a live run: exit $code: $(cat "$d/err")"
  ssm run "$d/live.yaml" -o "$d/out.h5" --force --quiet
  c=$code; cp "$d/err" "$d/err.force"
  kill -0 $live 2> /dev/null || fail "$name: the live run ended before the attempts did (inconclusive)"
  # stop the live run as a user would (SIGUSR1: running tasks finish, exit
  # 3): its files must be whole and every row its own
  kill -USR1 $live
  wait $live
  lc=$?
  "$SSMSWEEP" status "$d/out.h5" > "$d/status.txt" 2>&1
  [ $lc -eq 3 ] && grep -q " 0 failed" "$d/status.txt" && rows_hold "$d/out.h5" \
    && pass "$name: the live run went on undisturbed (stopped with SIGUSR1: exit 3, its rows its own)" \
    || fail "$name: live run: exit $lc: $(cat "$d/live.err") $(cat "$d/status.txt")"
  code=$c; mv "$d/err.force" "$d/err"
}
# two merges to one output: one writes it, the other is refused
case_two_merges() {
  FAULT_STALL=3 FAULT_TIMES=1 LD_PRELOAD="$FAULT_SO" FAULT_CALLS=pwrite FAULT_PATH='*/out.h5.creating' FAULT_MODE=stall \
    "$SSMSWEEP" merge "$top/s0.h5" "$top/s1.h5" -o "$d/out.h5" --quiet 2> "$d/first.err" &
  first=$!
  wait_for "$d/out.h5.creating"
  ssm merge "$top/s0.h5" "$top/s1.h5" -o "$d/out.h5" --quiet
  c=$code; cp "$d/err" "$d/err.second"
  wait $first
  fc=$?
  [ $fc -eq 0 ] && compare "$top/ref.h5" "$d/out.h5" && no_temps \
    && pass "$name: the first merge wrote the output whole" || fail "$name: first merge: exit $fc: $(cat "$d/first.err")"
  code=$c; mv "$d/err.second" "$d/err"
}
case_stale_lock() {
  printf '%s 999999 run 2020-01-01T00:00:00Z\n' "$hostname" > "$d/out.h5.lock"
  ssm run "$spec" -o "$d/out.h5" --quiet
}
# a file system without fcntl locks: the lock file's holder is checked
case_nolock_other_host() {
  printf 'other-node 4242 run 2020-01-01T00:00:00Z\n' > "$d/out.h5.lock"
  ssm_fault lock '*' 1 ENOLCK fail -- run "$spec" -o "$d/out.h5" --quiet
  rm -f "$d/out.h5.lock"
}
case_nolock_stale() {
  printf '%s 999999 run 2020-01-01T00:00:00Z\n' "$hostname" > "$d/out.h5.lock"
  ssm_fault lock '*' 1 ENOLCK fail -- run "$spec" -o "$d/out.h5" --quiet
}

# ---- names and signals ------------------------------------------------------------------------

case_path_max() {
  long="$d/$(awk 'BEGIN { for (k = 0; k < 17; ++k) printf "%0250d/", k }')out.h5"
  ssm run "$spec" -o "$long" --quiet
}
case_name_max() { ssm run "$spec" -o "$d/$(awk 'BEGIN { for (k = 0; k < 240; ++k) printf "x" }').h5" --quiet; }

# stop_test SIGNAL LAUNCH: tasks of 2 s are running when the signal comes
stop_test() {
  if [ "$2" = mpirun ]; then
    "$MPIRUN" -np 2 "$SSMSWEEP" run "$top/long.yaml" -o "$d/out.h5" > "$d/log" 2>&1 &
  else
    "$SSMSWEEP" run "$top/long.yaml" -o "$d/out.h5" > "$d/log" 2>&1 &
  fi
  pid=$!
  wait_for "$d/out.h5.journal"
  sleep 0.7
  t0=$(date +%s.%N)
  kill -"$1" $pid
  wait $pid
  code=$?
  took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  : > "$d/err"
  # tasks of 2 s were running: they were abandoned after half a second,
  # the files closed (h5dump opens the file without h5clear), the lock
  # released, and --resume completes the sweep
  awk -v t="$took" -v f="$(load_factor)" 'BEGIN { exit !(t < 4 * f) }' || fail "$name: stopping took $took s (load $(cut -d' ' -f1 /proc/loadavg))"
  grep -q "interrupted (resume with --resume)" "$d/log" || fail "$name: no clean stop: $(tail -3 "$d/log")"
  h5dump -H "$d/out.h5" > /dev/null 2>&1 || fail "$name: the file was not closed"
  [ ! -e "$d/out.h5.lock" ] || fail "$name: the lock was left behind"
  "$SSMSWEEP" run "$top/long.yaml" -o "$d/out.h5" --resume --quiet 2> "$d/res.err" \
    && "$SSMSWEEP" status "$d/out.h5" | grep -q "3 done, 0 failed, 0 pending" \
    && pass "$name: SIG$1 to $2: exit $code after $took s, files closed, --resume completes" \
    || fail "$name: resume: $(cat "$d/res.err")"
}
case_sigint_single() { stop_test INT single; }
# Open MPI 4.1 turns SIGINT and SIGTERM to mpirun into SIGTERM to the ranks
# (SIGKILL one second later) and exits 1 whatever they return
case_sigint_mpirun() { stop_test INT mpirun; }
case_sigterm_mpirun() { stop_test TERM mpirun; }

# ---- the driver -------------------------------------------------------------------------------

trim() { echo "$1" | sed 's/^ *//; s/ *$//'; }
cases=0 skips=0
while IFS='|' read -r name want needle proof; do
  name=$(trim "$name")
  case $name in ''|'#'*) continue ;; esac
  want=$(trim "$want") needle=$(trim "$needle") proof=$(trim "$proof")
  d="$top/$name"
  mkdir -p "$d"
  cspec=$spec cref="$top/ref.h5" code=0 skipped=
  : > "$d/err"
  t0=$(date +%s.%N)
  "case_$name" < /dev/null   # mpirun would read the rest of the table
  echo "case $name: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  cases=$((cases + 1))
  if [ -n "$skipped" ]; then
    echo "skip: $name: $skipped"; skips=$((skips + 1)); continue
  fi
  if [ "$want" != '*' ] && [ "$code" -ne "$want" ]; then
    fail "$name: exit $code, expected $want ($(head -c 300 "$d/err"))"; continue
  fi
  if [ "$needle" != - ]; then
    grep -qF -- "$needle" "$d/err" || { fail "$name: stderr lacks '$needle': $(head -c 300 "$d/err")"; continue; }
  fi
  if [ "$needle" != - ] && [ "$code" -ne 0 ] && [ "$(wc -l < "$d/err")" -ne 1 ]; then
    fail "$name: $(wc -l < "$d/err") lines on stderr, expected one: $(head -c 300 "$d/err")"; continue
  fi
  "proof_$(echo "$proof" | tr - _)" && pass "$name: exit $code${needle:+, \"$needle\"}; proof: $proof"
done < "$TOP_SRCDIR/tests/faults.table"
[ "$cases" -eq "$(grep -c '^[a-z]' "$TOP_SRCDIR/tests/faults.table")" ] || fail "only $cases cases of the table ran"
echo "$cases cases, $skips skipped"
MIN_PASSES=$((cases - skips))
finish
