#!/bin/bash
# The coordinator simulator (tests/bench/ssmsim) against cases with a closed
# form: a model that lost, doubled or failed to overlap a cost would miss them.
. tests/setup.sh
sim=$TOP_BUILDDIR/tests/bench/ssmsim
[ -x "$sim" ] || { echo "no $sim" >&2; exit 99; }
free="c_msg=0 c_rec=0 c_h5=0 c_sync=0 c_fwd=0 c_ack=0 c_part=0 c_merge=0 w_task=0 lat=0 nap=1e-9 leader_nap=1e-9"

# field NAME: a value of the simulator's last output line
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$scratch/out"; }
# within X LO HI: LO <= X <= HI
within() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }

check() {   # check DESCRIPTION FIELD LO HI -- ssmsim arguments
  local what=$1 name=$2 lo=$3 hi=$4; shift 5
  expect_status 0 "$what" -- "$sim" "$@" || return
  local got; got=$(field "$name")
  if within "$got" "$lo" "$hi"; then pass "$what: $name = $got"; else fail "$what: $name = $got, expected [$lo, $hi]"; fi
}

# one worker, rank 0 not computing, costs free: the tasks back to back
check "one worker, free coordinator" makespan 0.9999999 1.0000001 -- $free ranks=2 local=0 tasks=100 duration=0.01
# one worker with costs: rank 0 serves while the worker computes (credits),
# so only the first reply and the last message show: the first batch starts at
# 2 lat + c_msg, the last result is accepted n (d + w_task) + lat + c_msg + c_rec
# later (the guided batches end with one task): 1.1 + 3 lat + 2 c_msg + c_rec
check "one worker, costs overlapped" makespan 1.1012085 1.1012095 -- $free ranks=2 local=0 tasks=100 duration=0.01 \
  w_task=0.001 c_msg=0.0005 c_rec=0.0002 lat=0.000003
# three workers and rank 0's thread, free: the ideal P-fold split, within one task
check "four ranks, free coordinator" makespan 1.0 1.01 -- $free ranks=4 tasks=400 duration=0.01
check "four ranks, free coordinator" efficiency 0.99 1.0 -- $free ranks=4 tasks=400 duration=0.01
# rank 0 saturated: tasks take no time, every record costs 10 us at rank 0
check "rank 0 saturated" makespan 0.1 0.102 -- $free ranks=8 tasks=10000 duration=0 c_rec=1e-5
check "rank 0 saturated" rank0_util 0.98 1.0 -- $free ranks=8 tasks=10000 duration=0 c_rec=1e-5
# hierarchical, free: 2 nodes of 8 (rank 0 and 2 leaders leave 13 workers);
# every record reaches rank 0, the split is ideal within two tasks
check "hierarchical, free" makespan 1.0 1.02 -- $free ranks=16 rpn=8 hier=1 tasks=1300 duration=0.01
check "hierarchical, free" rank0_records 1300 1300 -- $free ranks=16 rpn=8 hier=1 tasks=1300 duration=0.01
# the writer: rank 0 alone saturates at 10^4 ranks x 10 ms; part files do not
check "rank 0 writes, 10^4 x 10 ms" efficiency 0 0.6 -- ranks=10000 tasks=200000 duration=0.01 hier=1 \
  calib="$TOP_SRCDIR/tests/bench/sim-calibration.txt"
# part files: the leaders write and rank 0 keeps up, but merging their
# records after the last task is as serial as writing them (c_merge per
# record): in the job about as slow as rank 0 writing, kept for a later
# --resume (--part-files=keep) not
check "part files kept, 10^4 x 10 ms" efficiency_keep 0.9 1 -- ranks=10000 tasks=200000 duration=0.01 hier=1 \
  writer_node=1 calib="$TOP_SRCDIR/tests/bench/sim-calibration.txt"
check "part files merged in the job, 10^4 x 10 ms" efficiency 0 0.6 -- ranks=10000 tasks=200000 duration=0.01 \
  hier=1 writer_node=1 calib="$TOP_SRCDIR/tests/bench/sim-calibration.txt"
# the merge: every record was a leader's, c_merge each, after the last task
check "part files, free but the merge" merge 0.0013 0.0013 -- $free ranks=16 rpn=8 hier=1 writer_node=1 tasks=1300 \
  duration=0.01 c_merge=1e-6
check "part files, free but the merge" makespan 1.0013 1.0213 -- $free ranks=16 rpn=8 hier=1 writer_node=1 \
  tasks=1300 duration=0.01 c_merge=1e-6

# bad input: one line, exit 2
if expect_status 2 "unknown key" -- "$sim" ranks=4 bogus=1 &&
   [ "$(wc -l < "$scratch/err")" -eq 1 ] && grep -q "bad argument bogus=1" "$scratch/err"; then
  pass "unknown key: exit 2, one line"
else
  fail "unknown key: $(cat "$scratch/err")"
fi
finish
