#!/bin/sh
# Part files under node leaders (--part-files: each leader writes its
# group's records to OUT.h5.part<rank>.journal, rank 0 merges them into
# OUT.h5 and OUT.h5.journal at the end), on forced groups of
# oversubscribed ranks:
#  - 6 ranks in groups of 2 and 5 in groups of 3: OUT.h5 bit-identical to
#    the flat run, the journal holds each task once, no part file is left,
#    report's counts equal the flat run's and every rank is in it;
#  - kill -9 of the whole job in flight: status counts the part journals'
#    records, --resume ends bit-identical with each task once, no part left;
#  - a kill (SIGKILL from the fault library) during the run's final merge
#    (at the sync of the journal the parts' records were appended to, at the
#    sync of OUT.h5 before the parts' removal) and during the merge of a
#    --resume (resume.c: the rewritten journal's first write, an HDF5 write
#    of the rebuilt file, its rename into place): status counts each task
#    once, --resume computes nothing more and ends bit-identical;
#  - --part-files=keep leaves the parts (status counts them, ssmsweep merge
#    refuses the file) and a one-rank --merge-only merges them, computing
#    nothing; after the kill above, --merge-only takes the parts, runs
#    nothing and ends 3;
#    a bad value is one line, exit 2;
#  - a leader that cannot write its part (ENOSPC): one line naming it, exit
#    1, and --resume ends bit-identical.
. "$TOP_BUILDDIR/tests/setup.sh"
. "$TOP_SRCDIR/tests/leaderlib.sh"
. "$TOP_SRCDIR/tests/faultlib.sh"

# journal_once OUT N LABEL: status says N done, N records, nothing
# recomputed, and no part journal is left beside OUT.
journal_once() {
    "$SSMSWEEP" status "$1" >"$scratch/status.txt" 2>&1
    grep -q "^tasks: *$2: $2 done, 0 failed, 0 pending" "$scratch/status.txt" &&
        grep -q "^records:  $2 (recomputed: 0)" "$scratch/status.txt" &&
        pass "$3: the journal holds each of the $2 tasks once" || fail "$3: status: $(cat "$scratch/status.txt")"
    left=$(ls "$1".part*.journal 2>/dev/null)
    [ -z "$left" ] && pass "$3: no part journal left" || fail "$3: part journals left: $left"
}

# same_report OUT LABEL RANKS: report's first line equals the flat run's,
# the per-rank lines name every rank and sum to the task count.
same_report() {
    "$SSMSWEEP" report "$1" >"$scratch/report.txt" 2>&1
    [ "$(head -n 1 "$scratch/report.txt")" = "$(head -n 1 "$scratch/flat-report.txt")" ] &&
        pass "$2: report: $(head -n 1 "$scratch/report.txt")" ||
        fail "$2: report '$(head -n 1 "$scratch/report.txt")', flat '$(head -n 1 "$scratch/flat-report.txt")'"
    got=$(awk '/^rank [0-9]+:/ { n++; s += $3 } END { print n, s }' "$scratch/report.txt")
    [ "$got" = "$3 $ntasks" ] && pass "$2: report: $3 ranks, $ntasks tasks" || fail "$2: report per rank: $got"
}

"$MPIRUN" -np 6 "$SSMSWEEP" run "$spec" -o "$scratch/flat.h5" --leaders none --quiet >"$scratch/flat.log" 2>&1 ||
    { fail "flat run: $(tail -n 3 "$scratch/flat.log")"; finish; }
"$SSMSWEEP" report "$scratch/flat.h5" >"$scratch/flat-report.txt"

"$MPIRUN" -np 6 "$SSMSWEEP" run "$spec" -o "$scratch/p2.h5" --leaders 2 --part-files --quiet >"$scratch/p2.log" 2>&1 &&
    pass "--leaders 2 --part-files on 6 ranks completes" || fail "--part-files: exit $? ($(tail -n 3 "$scratch/p2.log"))"
same_as_flat "$scratch/p2.h5" "part files, groups of 2 on 6 ranks"
coordination "$scratch/p2.h5" "hierarchical: one leader per group of 2 consecutive ranks (forced), 3 groups; part files"
journal_once "$scratch/p2.h5" "$ntasks" "groups of 2"
same_report "$scratch/p2.h5" "groups of 2" 6

# kill -9 of the whole job in flight
out=$scratch/kill.h5
start_run "$out" -np 5 --leaders 3 --part-files --sync 0.1
sleep 0.5
kill_job "$out"
ls "$out".part3.journal >/dev/null 2>&1 && pass "killed: leader 3's part journal is there" ||
    fail "killed: no part journal: $(ls "$scratch")"
"$SSMSWEEP" status "$out" >"$scratch/status.txt" 2>&1
before=$(sed -n 's/^tasks: *[0-9]*: \([0-9]*\) done.*/\1/p' "$scratch/status.txt")
in_parts=$(sed -n 's/^parts: .* with \([0-9]*\) records.*/\1/p' "$scratch/status.txt")
case $before in
    '' | 0) fail "killed: nothing done: $(cat "$scratch/status.txt")" ;;
    "$ntasks") fail "killed: the kill came after the end" ;;
    *) [ "${in_parts:-0}" -gt 0 ] && pass "killed: status counts $before done, $in_parts of them in the part journal" ||
        fail "killed: status does not count the part: $(cat "$scratch/status.txt")" ;;
esac
# --merge-only absorbs the parts into the journal and OUT.h5, runs nothing
# and ends 3: tasks are left
"$SSMSWEEP" run "$spec" -o "$out" --merge-only >"$scratch/merge-only.log" 2>&1
code=$?
"$SSMSWEEP" status "$out" >"$scratch/status.txt" 2>&1
[ $code -eq 3 ] && grep -q "^tasks: *$ntasks: ${before:-x} done" "$scratch/status.txt" &&
    ! grep -q "^parts:" "$scratch/status.txt" && [ -z "$(ls "$out".part*.journal 2>/dev/null)" ] &&
    grep -q "merged; the tasks left run with --resume" "$scratch/merge-only.log" &&
    pass "killed: --merge-only took the parts, ran nothing, ended 3 with $before done" ||
    fail "killed: --merge-only: exit $code, $(tail -n 2 "$scratch/merge-only.log"); $(cat "$scratch/status.txt")"
usage_error "--merge-only --retry-failed" "--retry-failed runs tasks, --merge-only runs none: choose one" -- \
    "$SSMSWEEP" run "$spec" -o "$out" --merge-only --retry-failed && pass "--merge-only with --retry-failed refused"
"$MPIRUN" -np 6 "$SSMSWEEP" run "$spec" -o "$out" --resume --leaders 2 --part-files >"$scratch/resume.log" 2>&1 ||
    fail "killed: --resume: exit $? ($(tail -n 3 "$scratch/resume.log"))"
grep -q "(${before:-x} done, 0 failed before)" "$scratch/resume.log" &&
    pass "killed: the resume kept the $before results of the journals" ||
    fail "killed: resume: $(grep 'tasks' "$scratch/resume.log" | head -n 2)"
same_as_flat "$out" "killed, resumed with groups of 2"
journal_once "$out" "$ntasks" "killed and resumed"

# kills during the final merge, on a quicker spec with its own flat run
spec=$TOP_SRCDIR/tests/specs/run/parts.yaml
ntasks=120
"$MPIRUN" -np 4 "$SSMSWEEP" run "$spec" -o "$scratch/flat.h5" --leaders none --force --quiet >"$scratch/flat.log" 2>&1 ||
    { fail "flat run: $(tail -n 3 "$scratch/flat.log")"; finish; }
build_faultinject >"$scratch/why" || { echo "SKIP the merge kills: $(cat "$scratch/why")"; finish; }
# merge_kill LABEL STEP CALLS PATTERN NTH: SIGKILL at the NTH matching
# call of STEP: "run" (--sync 100: rank 0 syncs only as it ends, so the
# calls are the final merge's) or "resume" (the one-rank --resume that
# merges the parts a --part-files=keep run left).  Then status counts each
# task once, and --resume computes nothing and ends bit-identical.
merge_kill() {
    out=$scratch/merge-$1.h5
    pattern=$(echo "$4" | sed "s|OUT|$out|")
    if [ "$2" = run ]; then
        with_fault "$3" "$pattern" "$5" ENOSPC kill -- "$MPIRUN" -np 4 "$SSMSWEEP" run "$spec" -o "$out" --leaders 2 \
            --part-files --sync 100 --quiet >"$out.log" 2>&1
    else
        "$MPIRUN" -np 4 "$SSMSWEEP" run "$spec" -o "$out" --leaders 2 --part-files=keep --quiet >"$out.log" 2>&1 ||
            fail "$1: --part-files=keep: exit $?"
        with_fault "$3" "$pattern" "$5" ENOSPC kill -- "$SSMSWEEP" run "$spec" -o "$out" --resume --quiet \
            >>"$out.log" 2>&1
    fi
    code=$?
    [ $code -eq 137 ] && ls "$out".part2.journal >/dev/null 2>&1 && pass "$1: killed in the merge, the part left" ||
        fail "$1: exit $code, parts: $(ls "$out".part* 2>&1)"
    "$SSMSWEEP" status "$out" >"$scratch/status.txt" 2>&1
    grep -q "^tasks: *$ntasks: $ntasks done" "$scratch/status.txt" && grep -q "(recomputed: 0)" "$scratch/status.txt" &&
        pass "$1: status: every task done, none twice" || fail "$1: status: $(cat "$scratch/status.txt")"
    "$SSMSWEEP" run "$spec" -o "$out" --resume >"$scratch/resume.log" 2>&1 ||
        fail "$1: --resume: exit $? ($(tail -n 3 "$scratch/resume.log"))"
    grep -q "($ntasks done, 0 failed before)" "$scratch/resume.log" && pass "$1: the resume computed nothing" ||
        fail "$1: resume: $(grep 'tasks' "$scratch/resume.log" | head -n 2)"
    same_as_flat "$out" "$1, resumed"
    journal_once "$out" "$ntasks" "$1"
}
# --part-files=keep: the parts stay, a one-rank --merge-only merges them
out=$scratch/keep.h5
"$MPIRUN" -np 4 "$SSMSWEEP" run "$spec" -o "$out" --leaders 2 --part-files=keep >"$out.log" 2>&1 &&
    pass "--part-files=keep completes" || fail "--part-files=keep: exit $? ($(tail -n 3 "$out.log"))"
grep -q "part journals kept: ssmsweep run SPEC -o $out --merge-only merges them into $out" "$out.log" &&
    ls "$out".part2.journal >/dev/null 2>&1 && pass "keep: the part is there, and the log says how to merge it" ||
    fail "keep: $(tail -n 2 "$out.log"); $(ls "$scratch")"
"$SSMSWEEP" status "$out" >"$scratch/status.txt" 2>&1
grep -q "^tasks: *$ntasks: $ntasks done" "$scratch/status.txt" && grep -q "^parts: *1 part journal " "$scratch/status.txt" &&
    pass "keep: status counts the part: $(grep '^parts' "$scratch/status.txt")" ||
    fail "keep: status: $(cat "$scratch/status.txt")"
usage_error "keep: merge" "keep.h5 has part journals not merged yet" -- \
    "$SSMSWEEP" merge "$out" -o "$scratch/merged.h5" && pass "keep: ssmsweep merge refuses it: $(cat "$scratch/err")"
"$SSMSWEEP" run "$spec" -o "$out" --merge-only >"$scratch/resume.log" 2>&1 ||
    fail "keep: --merge-only on one rank: exit $? ($(tail -n 3 "$scratch/resume.log"))"
grep -q "1 part journal of a run with --part-files merged into $out.journal and $out" "$scratch/resume.log" &&
    grep -q "($ntasks done, 0 failed before)" "$scratch/resume.log" && pass "keep: --merge-only merged, computed nothing" ||
    fail "keep: --merge-only: $(grep 'tasks' "$scratch/resume.log" | head -n 2)"
same_as_flat "$out" "keep, merged by --merge-only"
journal_once "$out" "$ntasks" "keep"
usage_error "--part-files=later" "--part-files: expected merge or keep, got 'later'" -- \
    "$SSMSWEEP" run "$spec" -o "$scratch/bad.h5" --part-files=later && pass "--part-files=later refused: $(cat "$scratch/err")"

# the run's own merge: while it appends the parts' records to the journal
# (the sync of those appends), and once the journal is closed, at the
# sync of OUT.h5 that precedes the parts' removal
merge_kill run-journal-sync run fsync 'OUT.journal' 2
merge_kill run-h5-sync run fsync 'OUT' 1
# --resume's merge (resume.c): the rewritten journal's first write, an
# HDF5 write of the rebuilt file, its rename into place (the journal then
# holds every record and the parts are still there)
merge_kill resume-journal-rewrite resume write 'OUT.journal.rewrite' 1
merge_kill resume-h5-rebuild resume write,pwrite 'OUT.rebuild' 20
merge_kill resume-rename-h5 resume rename 'OUT.rebuild' 2   # the first: OUT.h5.rebuild.creating -> .rebuild

# a leader that cannot write its part journal (ENOSPC from its first write
# on): it says so in a line naming the part and the errno, the run ends 1,
# and a --resume without the fault ends bit-identical with each task once
out=$scratch/enospc.h5
with_fault write "$out.part*" 1 ENOSPC fail -- "$MPIRUN" -np 4 "$SSMSWEEP" run "$spec" -o "$out" --leaders 2 \
    --part-files --quiet >"$out.log" 2>&1
code=$?
[ $code -eq 1 ] && grep -q "^ssmsweep run: rank 2 (node leader): cannot write journal $out.part2.journal: No space left on device (ENOSPC)$" \
    "$out.log" && pass "a part journal that cannot be written: exit 1, $(grep -m1 'node leader' "$out.log")" ||
    fail "part write failure: exit $code: $(head -n 3 "$out.log")"
"$MPIRUN" -np 4 "$SSMSWEEP" run "$spec" -o "$out" --resume --leaders 2 --part-files --quiet >"$scratch/resume.log" 2>&1 ||
    fail "part write failure: --resume: exit $? ($(tail -n 3 "$scratch/resume.log"))"
same_as_flat "$out" "part write failure, resumed"
journal_once "$out" "$ntasks" "part write failure"
finish
