/* The append-only journal beside OUT.h5 (OUT.h5.journal): the authority on
 * which tasks are done.  The HDF5 file is a view that can always be
 * rebuilt from it.
 *
 * File: a header (magic "SSMJRNL1", format version, spec hash, task
 * count, kind name, result schema, from version 2 the shard: index,
 * count, the spec's task count; crc32 of the header), then frames
 * [u32 length][u32 crc32 of the payload][payload = packed sw_record],
 * little endian.  A kill can tear the last frame; reading stops at the
 * first frame whose length (0, over 1 GiB or past the end) or checksum
 * does not hold, and opening for append truncates there.  A frame whose
 * checksum holds but whose record does not fit the header (task out of
 * range, other schema) is an error, never truncated away.  Appends are
 * buffered and reach the file in whole frames (a reader of a running
 * sweep never sees half a frame); sw_journal_sync (fflush + fsync), which
 * the coordinator calls in batches, makes them durable.  A writer holds
 * an exclusive flock on the journal: a second run appending to it is
 * refused (where the file system has no flock, nothing is checked).
 * Records name tasks by their row in the task table (in a shard, not
 * the global id).  The journal of a whole spec is written as version 1
 * (no shard fields), readable by builds that predate shards. */
#ifndef SW_JOURNAL_H
#define SW_JOURNAL_H

#include <stdint.h>
#include <stdio.h>

#include "record.h"
#include "tasks.h"

typedef struct {
    uint32_t version;
    uint64_t spec_hash;
    uint64_t n_tasks;
    char kind[64];
    uint32_t n_scalars, n_curves;
    sw_shard shard;
} sw_journal_header;

typedef struct sw_journal sw_journal;

/* Creates a new journal for tasks, its header already on disk; fails
 * (SSM_EIO, message naming the path) if the file exists. */
ssm_status sw_journal_create(const char *path, const sw_tasks *tasks, sw_journal **out,
                             ssm_error *err);

/* Fills *header, then calls visit(ctx, rec) (if not NULL) for every
 * intact record in file order (a task may appear more than once: the last
 * record wins); rec is freed when visit returns, and a nonzero return
 * stops the reading (SSM_OK, *torn 0).  *valid_bytes receives the offset
 * after the last intact frame and *torn whether bytes after it were
 * discarded.  SSM_EIO for a missing, foreign or damaged header. */
ssm_status sw_journal_read(const char *path, sw_journal_header *header,
                           int (*visit)(void *ctx, const sw_record *rec), void *ctx,
                           long *valid_bytes, int *torn, ssm_error *err);

/* Opens an existing journal for appending after its last intact frame
 * (truncating a torn tail).  The header must match tasks (kind, schema,
 * shard, task count) and, unless force, its spec hash; a mismatch is
 * SSM_EINVAL with a message saying what differs.  SSM_EIO if another run
 * holds it. */
ssm_status sw_journal_open_append(const char *path, const sw_tasks *tasks, int force,
                                  sw_journal **out, ssm_error *err);

ssm_status sw_journal_append(sw_journal *j, const sw_record *rec, ssm_error *err);
/* fflush + fsync: everything appended so far survives a crash. */
ssm_status sw_journal_sync(sw_journal *j, ssm_error *err);
/* Syncs and closes; NULL is fine. */
ssm_status sw_journal_close(sw_journal *j, ssm_error *err);

#endif
