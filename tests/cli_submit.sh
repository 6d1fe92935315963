#!/bin/sh
# ssmsweep submit: the sbatch command lines of one job and of an array of
# shards with its merge job, printed by --dry-run (a shell script) and run
# against a stand-in sbatch that records its arguments and answers with
# job ids like sbatch --parsable; the refusals.  (Submission to a real
# SLURM is tested by tests/slurm_*.sh.)
. "$TOP_BUILDDIR/tests/setup.sh"
MIN_PASSES=10
cd "$scratch" || exit 99
spec="$TOP_SRCDIR/jobs/examples/smoke.yaml"
# stand-ins for the job scripts: submit only names them
mkdir jobs bin
for s in ssmsweep.sbatch ssmsweep-array.sbatch ssmsweep-merge.sbatch; do echo "#!/bin/sh" > "jobs/$s"; done
SSMSWEEP_JOBS_DIR=$scratch/jobs; export SSMSWEEP_JOBS_DIR
self=$(readlink -f "$SSMSWEEP")
export_opt="--export=ALL,SSMSWEEP=$self,SSMSWEEP_JOBS_DIR=$scratch/jobs"

# ---- --dry-run ----
"$SSMSWEEP" submit "$spec" -o out.h5 --dry-run > single.txt 2> err
want="sbatch --parsable $export_opt $scratch/jobs/ssmsweep.sbatch $spec out.h5"
[ "$(cat single.txt)" = "$want" ] && [ ! -s err ] && pass "dry run, one job: $(cat single.txt)" \
  || fail "dry run, one job: got '$(cat single.txt)' $(cat err), want '$want'"

"$SSMSWEEP" submit "$spec" -o "res dir/mc.h5" --shards 4 --ranks 8 --time 2:00:00 --max-restarts 3 --dry-run \
  -- -p debug --comment "it's" > sharded.txt 2> err
want1="array_job=\$(sbatch --parsable --ntasks=8 --time=2:00:00 $export_opt,SSMSWEEP_MAX_RESTARTS=3 --array=0-3 -p debug --comment 'it'\\''s' $scratch/jobs/ssmsweep-array.sbatch $spec 'res dir/mc') || exit"
want2="sbatch --parsable $export_opt,SSMSWEEP_MAX_RESTARTS=3 \"--dependency=afterok:\${array_job%%;*}\" -p debug --comment 'it'\\''s' $scratch/jobs/ssmsweep-merge.sbatch 'res dir/mc.h5' 'res dir/mc' 4"
[ "$(wc -l < sharded.txt)" -eq 2 ] && [ "$(sed -n 1p sharded.txt)" = "$want1" ] && [ ! -s err ] \
  && pass "dry run, shards: the array job line" || fail "array line: got '$(sed -n 1p sharded.txt)' $(cat err), want '$want1'"
[ "$(sed -n 2p sharded.txt)" = "$want2" ] && pass "dry run, shards: the merge job line" \
  || fail "merge line: got '$(sed -n 2p sharded.txt)', want '$want2'"
"$SSMSWEEP" submit "$spec" -o out.h5 --shards 1 --dry-run | grep -q "jobs/ssmsweep.sbatch" \
  && pass "--shards 1 is one job" || fail "--shards 1"

# ---- submission through a stand-in sbatch ----
cat > bin/sbatch <<EOF
#!/bin/sh
# records each call (one argument a line, a blank line after), answers like --parsable
for a in "\$@"; do printf '%s\n' "\$a"; done >> "$scratch/calls.txt"
echo >> "$scratch/calls.txt"
n=\$(grep -c '^\$' "$scratch/calls.txt")
echo "424\$n;cluster"
EOF
chmod +x bin/sbatch
PATH="$scratch/bin:$PATH" "$SSMSWEEP" submit "$spec" -o "res dir/mc.h5" --shards 3 -- -p debug > submitted.txt 2> err
code=$?
[ $code -eq 0 ] && grep -q "array job 4241 .* merge job 4242" submitted.txt \
  && pass "submitted: $(cat submitted.txt)" || fail "submit: exit $code, $(cat submitted.txt err)"
# the second call is the merge job, depending on the first's id
awk 'BEGIN { RS = "" } NR == 2' calls.txt > merge_call.txt
grep -qx -- "--dependency=afterok:4241" merge_call.txt && grep -qx "res dir/mc.h5" merge_call.txt \
  && grep -qx -- "-p" merge_call.txt && pass "the merge job waits for array job 4241 (cluster suffix dropped)" \
  || fail "merge call: $(tr '\n' ' ' < merge_call.txt)"
awk 'BEGIN { RS = "" } NR == 1' calls.txt | grep -qx -- "--array=0-2" && pass "the array job has --array=0-2" \
  || fail "array call: $(cat calls.txt)"

# ---- --leaders and --part-files=keep: the sweep job, then the one-rank
# merge of its part journals once it ended ----
"$SSMSWEEP" submit "$spec" -o out.h5 --ranks 64 --leaders node --part-files=keep --dry-run -- -N 2 > keep.txt 2> err
want1="sweep_job=\$(sbatch --parsable --ntasks=64 $export_opt -N 2 $scratch/jobs/ssmsweep.sbatch $spec out.h5 --leaders node --part-files=keep) || exit"
want2="sbatch --parsable $export_opt \"--dependency=afterany:\${sweep_job%%;*}\" -N 2 --nodes=1 --ntasks=1 $scratch/jobs/ssmsweep-merge.sbatch --parts $spec out.h5"
[ "$(wc -l < keep.txt)" -eq 2 ] && [ "$(sed -n 1p keep.txt)" = "$want1" ] && [ "$(sed -n 2p keep.txt)" = "$want2" ] &&
  [ ! -s err ] && pass "dry run, --part-files=keep: the sweep job with the run options, the one-rank merge after it" ||
  fail "dry run, keep: got '$(cat keep.txt)' $(cat err), want '$want1' and '$want2'"
"$SSMSWEEP" submit "$spec" -o out.h5 --shards 2 --leaders 2 --part-files --dry-run > parts.txt 2> err
sed -n 1p parts.txt | grep -q "ssmsweep-array.sbatch $spec out --leaders 2 --part-files=merge) || exit\$" &&
  pass "dry run, shards: the run options go to the array job" || fail "shards with run options: $(cat parts.txt err)"
rm -f calls.txt
PATH="$scratch/bin:$PATH" "$SSMSWEEP" submit "$spec" -o out.h5 --part-files=keep > submitted.txt 2> err
code=$?
awk 'BEGIN { RS = "" } NR == 2' calls.txt > merge_call.txt
[ $code -eq 0 ] && grep -q "job 4241 (part journals kept) and merge job 4242" submitted.txt &&
  grep -qx -- "--dependency=afterany:4241" merge_call.txt && grep -qx -- "--parts" merge_call.txt &&
  pass "submitted with keep: $(cat submitted.txt)" || fail "keep: exit $code, $(cat submitted.txt err merge_call.txt)"

# ---- refusals ----
usage_error "keep with shards" "--part-files=keep goes with one job" -- \
  "$SSMSWEEP" submit "$spec" -o out.h5 --shards 2 --part-files=keep --dry-run && pass "keep with --shards refused: $(cat err)"
usage_error "bad --leaders" "--leaders: expected auto, none, node or a group size" -- \
  "$SSMSWEEP" submit "$spec" -o out.h5 --leaders many --dry-run && pass "--leaders many refused: $(cat err)"
usage_error "bad --part-files" "--part-files: expected merge or keep, got 'later'" -- \
  "$SSMSWEEP" submit "$spec" -o out.h5 --part-files=later --dry-run && pass "--part-files=later refused: $(cat err)"
usage_error "no -o" "missing -o" -- "$SSMSWEEP" submit "$spec" --dry-run && pass "submit without -o refused"
usage_error "--shards 0" "--shards" -- "$SSMSWEEP" submit "$spec" -o out.h5 --shards 0 --dry-run \
  && pass "--shards 0 refused: $(cat err)"
usage_error "bad --time" "--time" -- "$SSMSWEEP" submit "$spec" -o out.h5 --time soon --dry-run \
  && pass "--time soon refused: $(cat err)"
printf 'kind: mf\naxes: {N: [0]}\n' > bad.yaml
usage_error "bad spec" "bad.yaml" -- "$SSMSWEEP" submit bad.yaml -o out.h5 --dry-run && pass "a bad spec is refused before sbatch"
rm jobs/ssmsweep-merge.sbatch
"$SSMSWEEP" submit "$spec" -o out.h5 --shards 2 --dry-run > out 2> err
[ $? -eq 1 ] && [ ! -s out ] && [ "$(wc -l < err)" -eq 1 ] && grep -q "ssmsweep-merge.sbatch" err \
  && pass "a missing job script: $(cat err)" || fail "missing job script: $(cat out err)"
PATH=/nonexistent "$SSMSWEEP" submit "$spec" -o out.h5 > out 2> err
[ $? -eq 1 ] && [ "$(wc -l < err)" -eq 1 ] && grep -q "slurm-client" err \
  && pass "sbatch missing: $(cat err)" || fail "sbatch missing: $(cat err)"
finish
