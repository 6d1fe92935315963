/* Opening the outputs of `ssmsweep run` (rank 0): a new journal and
 * results file, or the journal of an earlier run continued, or rewritten
 * for an edited spec, with OUT.h5 rebuilt from it.
 *
 * Which records are reused.  A record names its task twice: by row and by
 * content hash (the hash of the kind and every parameter).
 *   --resume            the journal must be of this very spec (kind, shard,
 *                       task count, spec hash); a record is reused where
 *                       its row's task has its hash.
 *   --force [--resume]  the spec may have been edited: a record is reused
 *                       by every row whose task has its hash, wherever that
 *                       row now is; the rest is computed.  The shard of a
 *                       --resume must still be the journal's.
 * Journals of format versions 1 and 2 carry no hashes: their records are
 * reused only where the journal's spec hash is this spec's (then the row
 * says it all), never under another spec.  No path puts a result under
 * parameters it was not computed with.
 *
 * A journal that cannot simply go on (another spec, an older format, a
 * damaged region) is rewritten under OUT.h5.journal.rewrite with the
 * records kept, relabelled with their new rows, and renamed over
 * OUT.h5.journal when complete: a failure or a kill at any moment leaves
 * either the old journal or the new one.  OUT.h5 is rebuilt from the
 * journal as OUT.h5.rebuild and renamed into place. */
#ifndef SW_RESUME_H
#define SW_RESUME_H

#include "h5out.h"
#include "journal.h"
#include "outfiles.h"
#include "progress.h"
#include "tasks.h"

typedef struct {
    const sw_tasks *tasks;
    const sw_outfiles *files;
    const sw_provenance *prov;
    int resume, force, quiet;
    sw_say_fn say;             /* notes: a damaged journal, records reused (NULL: none) */
    void *say_ctx;
} sw_resume_request;

typedef struct {
    sw_journal *journal;
    sw_h5 *h5;
    unsigned char *state;      /* per row: sw_status (allocated by the caller, zeroed) */
    size_t n_done, n_failed;
} sw_outputs;

/* Opens the outputs as described above; a damaged journal or records
 * reused under an edited spec are told to rq->say.  Returns SSM_OK,
 * SSM_EINVAL (refused: nothing written; err says why) or another error;
 * on failure nothing is left open and no temporary file remains. */
ssm_status sw_resume_open(const sw_resume_request *rq, sw_outputs *out, ssm_error *err);

#endif
