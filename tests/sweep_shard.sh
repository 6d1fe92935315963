#!/bin/sh
# Shards and merge: a sweep run whole on 2 ranks and as 3 shards (one on
# 2 ranks, one stopped by SIGUSR1 to its rank 0 and resumed, one on a
# single process), merged: every dataset of /params, /results and
# /tasks/{task,status,hash,seed} equals the whole run's bit for bit.  Bad
# --shard values, --resume with another --shard, merge's refusals (other
# spec, a shard twice, other shard counts, output exists, not HDF5),
# status and report of the merged file, an incomplete merge.
. "$TOP_BUILDDIR/tests/setup.sh"
[ "$MPIRUN" != no ] || { echo "SKIP: mpirun not found"; exit 77; }
have_python3_module h5py || { echo "SKIP: Debian's python3-h5py is missing"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# MPI runs under AddressSanitizer: no LeakSanitizer exit scan (setup.sh)
without_leak_scan
MIN_PASSES=25
# 300 noop tasks of 20 ms; the curve length (0, 5, 40) is the fastest
# axis, so shard i of 3 holds only length i: the shards' curve axes have
# 0, 5 and 40 columns and the merge must widen them
spec="$TOP_SRCDIR/tests/specs/run/sleepy.yaml"
cd "$scratch" || exit 99

# identical: every dataset of /params and /results, and the columns of
# /tasks that do not depend on where and when a task ran
same_as() {   # same_as A.h5 B.h5
  "$PYTHON3" - "$1" "$2" <<'PY'
import sys, h5py
def columns(path):
    with h5py.File(path, "r") as f:
        out = {f"{g}/{n}": d[()] for g in ("params", "results") for n, d in f[g].items()}
        out.update({f"tasks/{n}": f["tasks"][n][()] for n in ("task", "status", "hash", "seed")})
        return out
a, b = columns(sys.argv[1]), columns(sys.argv[2])
def same(x, y):
    if x.dtype.kind == "O" or y.dtype.kind == "O":
        return list(x) == list(y)
    return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()
bad = sorted(set(a) ^ set(b)) + [k for k in a if k in b and not same(a[k], b[k])]
print(f"{len(a)} datasets compared; differing: {bad}")
sys.exit(1 if bad else 0)
PY
}

# ---- bad --shard values: one line, exit 2, nothing written ----
for bad in 3/3 -1/2 1/0 x 1/ /2 1/2x; do
  usage_error "--shard $bad" "--shard" -- "$SSMSWEEP" run "$spec" -o bad.h5 --shard "$bad" \
    && { [ ! -e bad.h5 ] && [ ! -e bad.h5.journal ] && pass "--shard $bad refused: $(cat err)" \
         || fail "--shard $bad left a file behind"; }
done
"$SSMSWEEP" plan "$spec" --shard 1/3 > plan.txt 2>&1
grep -q "^shard: *1/3: 100 of 300 tasks (ids 1, 4, 7, 10," plan.txt && pass "plan --shard 1/3 shows the shard" \
  || fail "plan --shard: $(cat plan.txt)"

# ---- the whole sweep and its three shards ----
"$MPIRUN" -np 2 "$SSMSWEEP" run "$spec" -o whole.h5 --quiet > whole.log 2>&1 \
  || { fail "whole run: $(tail -3 whole.log)"; finish; }
"$MPIRUN" -np 2 "$SSMSWEEP" run "$spec" -o part.shard0of3.h5 --shard 0/3 --quiet > s0.log 2>&1 \
  && pass "shard 0/3 on 2 ranks" || fail "shard 0: $(tail -3 s0.log)"
"$SSMSWEEP" run "$spec" -o part.shard2of3.h5 --shard 2/3 --quiet 2> s2.log \
  && pass "shard 2/3 on one process" || fail "shard 2: $(tail -3 s2.log)"

# shard 1: SIGUSR1 to its rank 0 once tasks are done, then --resume
"$MPIRUN" -np 2 "$SSMSWEEP" run "$spec" -o part.shard1of3.h5 --shard 1/3 --quiet --sync 0.1 > s1.log 2>&1 &
pid=$!
for _ in $(seq 300); do [ -f part.shard1of3.h5.journal ] && break; sleep 0.1; done
sleep 0.3   # of about 1 s of work
rank0=
for p in $(pgrep -P $pid); do
  tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=0' && rank0=$p
done
[ -n "$rank0" ] && kill -USR1 "$rank0"
wait $pid
code=$?
[ -n "$rank0" ] && [ $code -eq 3 ] && pass "shard 1/3: SIGUSR1 to rank 0 (pid $rank0) stops it with exit 3" \
  || fail "shard 1/3: rank 0 '$rank0', exit $code ($(tail -3 s1.log))"
"$SSMSWEEP" status part.shard1of3.h5 > status1.txt
grep -q "^shard: *1/3 (100 of the spec's 300 tasks)" status1.txt && grep -q "pending" status1.txt \
  && ! grep -q " 0 pending" status1.txt && pass "status of the stopped shard: $(grep '^tasks:' status1.txt)" \
  || fail "status of the stopped shard: $(cat status1.txt)"
usage_error "--resume with another --shard" "--shard 1/3" -- \
  "$SSMSWEEP" run "$spec" -o part.shard1of3.h5 --shard 2/3 --resume --quiet \
  && pass "--resume with --shard 2/3 refused: $(cat err)"
usage_error "--resume without --shard" "same --shard" -- \
  "$SSMSWEEP" run "$spec" -o part.shard1of3.h5 --resume --force --quiet \
  && pass "--resume of a shard without --shard refused, --force or not"
"$MPIRUN" -np 2 "$SSMSWEEP" run "$spec" -o part.shard1of3.h5 --shard 1/3 --resume --quiet > s1r.log 2>&1 \
  && "$SSMSWEEP" status part.shard1of3.h5 | grep -q "100 done, 0 failed, 0 pending" \
  && pass "shard 1/3 resumed to the end" || fail "shard 1 resume: $(tail -3 s1r.log)"

"$PYTHON3" - part.shard1of3.h5 <<'PY' && pass "a shard file: global task ids on every task scale, shard attributes" || fail "shard file layout"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    for g in ("params", "results", "tasks"):
        assert (f[g]["task"][()] == np.arange(1, 300, 3)).all(), g
    a = f.attrs
    got = (int(a["n_tasks"]), int(a["shard_index"]), int(a["shard_count"]), int(a["n_tasks_total"]))
    assert got == (100, 1, 3, 300), got
for i, width in enumerate((0, 5, 40)):   # each shard's curve axis is its own longest curve
    with h5py.File(f"part.shard{i}of3.h5", "r") as f:
        assert f["results/ramp"].shape == (100, width), (i, f["results/ramp"].shape)
with h5py.File("whole.h5", "r") as f:
    a = f.attrs
    assert (f["tasks/task"][()] == np.arange(300)).all()
    assert (int(a["shard_index"]), int(a["shard_count"]), int(a["n_tasks_total"])) == (0, 1, 300)
PY
for i in 0 1 2; do
  h5dump -a /spec_hash "part.shard${i}of3.h5" 2>/dev/null | grep '"' | tail -1
done | sort -u > hashes.txt
h5dump -a /spec_hash whole.h5 2>/dev/null | grep '"' | tail -1 > whole_hash.txt
[ "$(wc -l < hashes.txt)" -eq 1 ] && cmp -s hashes.txt whole_hash.txt \
  && pass "the shards and the whole run share the spec hash $(tr -d ' ' < hashes.txt)" || fail "spec hashes differ"

# ---- merge ----
"$SSMSWEEP" merge part.shard0of3.h5 part.shard1of3.h5 part.shard2of3.h5 -o merged.h5 > merge.out 2> merge.err
code=$?
[ $code -eq 0 ] && [ ! -s merge.err ] && grep -q "300 tasks, 300 done, 0 failed, 0 pending" merge.out \
  && pass "merge: exit 0, $(cat merge.out)" || fail "merge: exit $code, $(cat merge.out merge.err)"
same_as whole.h5 merged.h5 && pass "merged file equals the whole run bit for bit" || fail "merged file differs"
[ ! -e merged.h5.creating ] && [ ! -e merged.h5.journal.creating ] && pass "no temporary files left" \
  || fail "temporary files left: $(ls)"
"$SSMSWEEP" status merged.h5 > status.txt 2>&1
grep -q "300 done, 0 failed, 0 pending" status.txt && grep -q "recomputed: 0" status.txt \
  && pass "status reads the merged file's journal" || fail "status of the merged file: $(cat status.txt)"
"$SSMSWEEP" report merged.h5 > report.txt 2>&1
head -1 report.txt | grep -qx "kind noop: 300 tasks, 300 done, 0 failed, 0 pending" \
  && grep -q "^rank 1: " report.txt && pass "report of the merged file: $(head -1 report.txt)" \
  || fail "report of the merged file: $(cat report.txt)"
"$MPIRUN" -np 2 "$SSMSWEEP" run "$spec" -o merged.h5 --resume --quiet > noop.log 2>&1 \
  && "$SSMSWEEP" status merged.h5 | grep -q "recomputed: 0" && same_as whole.h5 merged.h5 > /dev/null \
  && pass "--resume of the merged file has nothing to do and changes nothing" \
  || fail "--resume of the merged file: $(tail -3 noop.log)"

# a kind with random spectra and every engine: 16 mf tasks in 3 shards
smoke="$TOP_SRCDIR/jobs/examples/smoke.yaml"
"$SSMSWEEP" run "$smoke" -o smoke.h5 --quiet 2> smoke.log || fail "smoke: $(cat smoke.log)"
for i in 0 1 2; do "$SSMSWEEP" run "$smoke" -o "smoke$i.h5" --shard $i/3 --quiet 2>> smoke.log; done
"$SSMSWEEP" merge smoke2.h5 smoke0.h5 smoke1.h5 -o smoke-merged.h5 --quiet 2>> smoke.log \
  && same_as smoke.h5 smoke-merged.h5 && pass "mf shards merged in any order equal the whole run" \
  || fail "mf merge: $(tail -3 smoke.log)"

# ---- merge refusals: one line, exit 2, no output, inputs untouched ----
sum_before=$(cat part.shard*of3.h5 | cksum)
refused() {   # refused LABEL NEEDLE OUT ARGS...
  label=$1 needle=$2 out=$3; shift 3
  usage_error "merge: $label" "$needle" -- "$SSMSWEEP" merge "$@" -o "$out" || return
  if [ -e "$out.creating" ] || [ -e "$out.journal.creating" ] || { [ "$out" = x.h5 ] && [ -e x.h5 ]; }; then
    fail "merge: $label left output behind"; return
  fi
  pass "merge refuses $label: $(cat err)"
}
"$SSMSWEEP" run "$TOP_SRCDIR/tests/specs/run/failing.yaml" -o other.h5 --shard 0/3 --quiet 2> /dev/null
refused "another spec" "other.h5 is from another spec (spec_hash" x.h5 part.shard0of3.h5 other.h5
refused "the same shard twice" "both hold shard 1/3" x.h5 part.shard0of3.h5 part.shard1of3.h5 part.shard1of3.h5
"$SSMSWEEP" run "$spec" -o hundred.h5 --shard 0/100 --quiet 2> /dev/null
refused "another shard count" "different --shard counts" x.h5 part.shard0of3.h5 hundred.h5
refused "an existing output" "merged.h5 already exists" merged.h5 part.shard0of3.h5 part.shard1of3.h5
echo "not hdf5" > junk.h5
refused "a file that is not HDF5" "junk.h5 is not an HDF5 file" x.h5 part.shard0of3.h5 junk.h5
refused "a missing file" "nothing.h5" x.h5 part.shard0of3.h5 nothing.h5
refused "its own input as output" "is one of the inputs" part.shard0of3.h5 part.shard0of3.h5
[ "$(cat part.shard*of3.h5 | cksum)" = "$sum_before" ] && pass "the inputs are unchanged" || fail "an input changed"
"$SSMSWEEP" merge part.shard0of3.h5 part.shard1of3.h5 part.shard2of3.h5 -o merged.h5 --force --quiet \
  && same_as whole.h5 merged.h5 > /dev/null && pass "--force replaces an existing output" || fail "merge --force"

# ---- an incomplete set: written, pending tasks reported, exit 3 ----
"$SSMSWEEP" merge part.shard0of3.h5 part.shard2of3.h5 -o partial.h5 > partial.out 2> partial.err
code=$?
[ $code -eq 3 ] && [ "$(wc -l < partial.err)" -eq 1 ] && grep -q "100 of 300 tasks pending; missing shard 1 of 3" partial.err \
  && pass "incomplete merge: exit 3 and $(cat partial.err)" || fail "incomplete merge: exit $code, $(cat partial.out partial.err)"
"$SSMSWEEP" status partial.h5 | grep -q "200 done, 0 failed, 100 pending" && pass "status: 100 pending in the partial merge" \
  || fail "status of the partial merge"
"$SSMSWEEP" report partial.h5 | head -1 | grep -qx "kind noop: 300 tasks, 200 done, 0 failed, 100 pending" \
  && pass "report: 100 pending in the partial merge" || fail "report of the partial merge"
"$SSMSWEEP" run "$spec" -o partial.h5 --resume --quiet 2> resume.log \
  && same_as whole.h5 partial.h5 > /dev/null && pass "--resume of the partial merge completes it: equal to the whole run" \
  || fail "--resume of the partial merge: $(tail -3 resume.log)"
finish
