/* Joining results files of one spec (ssmsweep merge): the shards of a
 * sharded run, or any files of the same spec and shard count, into one
 * file with the layout of an unsharded run (rows in task order), plus
 * its journal, so that `ssmsweep status` reads it and `ssmsweep run SPEC
 * -o OUT.h5 --resume` completes its pending tasks.
 *
 * The task table is rebuilt from the spec text in /provenance of the
 * first input, and every row of every input is checked against it (task
 * id, shard, content hash), so the output holds the very parameters,
 * hashes and seeds of an unsharded run and each input's records written
 * back bit for bit.  The output is built as OUT.h5.creating and
 * OUT.h5.journal.creating and renamed into place at the end: a failed
 * merge leaves nothing behind, an existing output intact, and the inputs
 * are only read. */
#ifndef SW_MERGE_H
#define SW_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "kinds.h"
#include "ssm/error.h"

typedef struct {
    int force;                  /* replace an existing output */
    const char *command_line;   /* for /provenance */
    const char *merged_from;    /* the inputs, for /provenance */
    const sw_registry *kinds;   /* the kinds the inputs may be of */
} sw_merge_options;

typedef struct {
    uint64_t n_tasks, n_done, n_failed, n_pending;
    uint64_t shard_count;       /* of the inputs */
    uint64_t n_missing;         /* shards no input holds */
    char missing[128];          /* their indices, "2, 5" (shortened) */
    int bad_input;              /* on failure: the inputs or the output path were at fault */
} sw_merge_summary;

/* Merges inputs[0..n) into output.  Errors are one line naming the file:
 * inputs of another spec ("B.h5 is from another spec (spec_hash X, A.h5
 * has Y)"), of another shard count, the same shard twice, a row that
 * does not belong to its shard or spec, an existing output (unless
 * force) or an output that is one of the inputs; then sum->bad_input is
 * set and nothing is written.  Missing shards and pending tasks are not
 * errors: the output has those tasks pending (sum says how many). */
ssm_status sw_merge(const char *const *inputs, size_t n, const char *output, const sw_merge_options *opt,
                    sw_merge_summary *sum, ssm_error *err);

/* Removes what a merge into output that died (a crash, a kill) left: the
 * files under construction and its lock, unless another process holds
 * the lock now. */
void sw_merge_discard(const char *output);

#endif
