#!/bin/sh
# ssmsweep report: the same table as `ssmsweep-plot summary`, character
# for character, on a file with failures from 2 ranks, a shard file, a
# merged file and a larger run; it reads a file while a sweep writes it;
# one-line errors for a missing file, a file that is not HDF5 and an HDF5
# file that is not ssmsweep's.
. "$TOP_BUILDDIR/tests/setup.sh"
[ "$MPIRUN" != no ] || { echo "SKIP: mpirun not found"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# MPI runs under AddressSanitizer: no LeakSanitizer exit scan (setup.sh)
without_leak_scan
MIN_PASSES=8
specs="$TOP_SRCDIR/tests/specs/run"
cd "$scratch" || exit 99

"$MPIRUN" -np 2 "$SSMSWEEP" run "$specs/failing.yaml" -o failing.h5 --quiet > failing.log 2>&1
[ $? -eq 4 ] || fail "failing.yaml: $(tail -3 failing.log)"
"$SSMSWEEP" report failing.h5 > failing.txt 2> err
code=$?
[ $code -eq 0 ] && [ ! -s err ] && head -1 failing.txt | grep -qx "kind noop: 10 tasks, 5 done, 5 failed, 0 pending" \
  && grep -qx "failed 5 x: failed on purpose (fail = 1)" failing.txt \
  && pass "report: counts and failure reasons" || fail "report: exit $code, $(cat failing.txt err)"
# the ranks' task counts add up to the finished tasks
awk '/^rank [0-9]+: / { n += $3 } END { exit n != 10 }' failing.txt && pass "report: per-rank counts add up" \
  || fail "per-rank counts: $(cat failing.txt)"

# a sweep in progress: SWMR reading while rank 0 writes
"$MPIRUN" -np 2 "$SSMSWEEP" run "$specs/sleepy.yaml" -o sleepy.h5 --quiet --sync 0.1 > sleepy.log 2>&1 &
pid=$!
for _ in $(seq 300); do [ -f sleepy.h5.journal ] && break; sleep 0.1; done
sleep 0.5
"$SSMSWEEP" report sleepy.h5 > running.txt 2> err
code=$?
head -1 running.txt | grep -q "^kind noop: 300 tasks, .* pending$" && [ $code -eq 0 ] \
  && pass "report reads a file being written: $(head -1 running.txt)" || fail "report while running: exit $code, $(cat err)"
wait $pid || fail "sleepy run: $(tail -3 sleepy.log)"

# shards and their merge
for i in 0 1; do "$SSMSWEEP" run "$specs/failing.yaml" -o "f$i.h5" --shard $i/2 --quiet 2> /dev/null; done
"$SSMSWEEP" merge f0.h5 f1.h5 -o fm.h5 --quiet 2> /dev/null
[ $? -eq 4 ] && pass "merge of shards with failed tasks: exit 4" || fail "merge of failing shards"
"$SSMSWEEP" report f1.h5 | grep -qx "shard 1/2 of a sweep of 10 tasks" && pass "report names the shard" \
  || fail "report of a shard: $("$SSMSWEEP" report f1.h5)"

# the same table as ssmsweep-plot summary
if have_python3_module h5py && have_python3_module numpy; then
  for f in failing.h5 sleepy.h5 f1.h5 fm.h5; do
    "$SSMSWEEP" report "$f" > c.txt 2>&1
    "$PYTHON3" "$TOP_SRCDIR/analysis/ssmsweep-plot" summary "$f" > py.txt 2>&1
    if [ -s c.txt ] && cmp -s c.txt py.txt; then
      pass "report $f = ssmsweep-plot summary ($(wc -l < c.txt) lines)"
    else
      fail "report $f differs from ssmsweep-plot summary: $(diff c.txt py.txt | head -5)"
    fi
  done
else
  echo "note: Debian's python3-h5py/python3-numpy missing: report not compared with ssmsweep-plot summary"
fi

# one-line errors, exit 2
usage_error "missing file" "nothing.h5: No such file" -- "$SSMSWEEP" report nothing.h5 && pass "report: $(cat err)"
echo "plain text" > text.h5
usage_error "not HDF5" "text.h5 is not an HDF5 file" -- "$SSMSWEEP" report text.h5 && pass "report: $(cat err)"
# an HDF5 file without the ssmsweep attributes: a journal-less copy with the root attributes gone
if command -v h5copy > /dev/null 2>&1; then
  h5copy -i failing.h5 -o foreign.h5 -s /tasks -d /tasks > /dev/null 2>&1
  usage_error "HDF5 but not ssmsweep's" "foreign.h5 is not an ssmsweep results file" -- "$SSMSWEEP" report foreign.h5 \
    && pass "report: $(cat err)"
fi
finish
