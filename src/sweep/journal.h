/* The append-only journal beside OUT.h5 (OUT.h5.journal): the authority on
 * which tasks are done.  The HDF5 file is a view that can always be
 * rebuilt from it.
 *
 * File (format version 3, little endian): a header (magic "SSMJRNL1",
 * version, spec hash, task count, kind name, result schema, the shard:
 * index, count, the spec's task count; the master seed; crc32 of the
 * header), then frames
 *     [u32 sync marker][u32 length][u32 crc32 of length and payload]
 *     [payload = packed sw_record, which names its task's row and content
 *      hash]
 * The sync marker lets a reader that meets a damaged frame find the next
 * valid one, as SQLite's and PostgreSQL's WAL readers do: a valid frame
 * is a marker, a length that fits the file, and a CRC that holds.
 *
 * Reading.  Every valid frame is visited, in file order.  Bytes that do
 * not form valid frames are a damaged region, skipped up to the next
 * valid frame and reported (sw_journal_scan); only a frame cut off by the
 * end of the file (a kill during a write) is a torn tail, which is normal
 * and reported apart.  A frame whose CRC holds but whose record does not
 * fit the header (task out of range, other schema) was written by a bug,
 * not damaged by the disk: that is an error.  The reader is bounded: it
 * allocates nothing sized by the file before checking it against the
 * file's size and a limit of 1 GiB per record, each step moves forward,
 * and the bytes it checksums while searching for the next frame after
 * damage are capped (a few times the file's size).
 *
 * Versions 1 and 2 (no sync marker, no task hash in the record) are still
 * read, frame after frame up to the first one that does not hold; their
 * records carry hash 0: only the spec hash of the header can vouch for
 * them.  They are never written any more.
 *
 * Writing.  Appends are buffered and reach the file in whole frames (a
 * reader of a running sweep never sees half a frame); sw_journal_sync,
 * which the coordinator calls in batches, makes them durable.  After a
 * failed write the file is cut back to its last whole frame and the
 * journal accepts nothing more, so what it holds stays valid.  A writer
 * holds an exclusive flock on the journal: a second writer is refused
 * (where the file system has no flock, nothing is checked: the run's lock
 * file, outfiles.h, is the real guard). */
#ifndef SW_JOURNAL_H
#define SW_JOURNAL_H

#include <stdint.h>
#include <stdio.h>

#include "record.h"
#include "tasks.h"

#define SW_JOURNAL_VERSION 3

typedef struct {
    uint32_t version;
    uint64_t spec_hash;
    uint64_t n_tasks;
    char kind[64];
    uint32_t n_scalars, n_curves;
    sw_shard shard;
    uint64_t master_seed;   /* version 3 on (a task's seed comes from it and its hash); 0 before */
} sw_journal_header;

/* What a reading found besides the records. */
typedef struct {
    long size;              /* bytes of the file when the reading began */
    long valid_end;         /* offset after the last valid frame */
    size_t records;         /* valid records visited */
    size_t damaged;         /* damaged regions skipped (a torn tail is not one) */
    size_t frames_lost;     /* frames known to have begun in them: a lower bound (frames whose marker
                               was destroyed too are not seen; at least one per region) */
    long damaged_bytes;
    long first_damage;      /* offset of the first damaged region; -1: none */
    int torn;               /* the last frame is cut off by the end of the file */
    int stopped;            /* the visitor stopped the reading */
} sw_journal_scan;

typedef struct sw_journal sw_journal;

/* The header a journal of tasks has. */
ssm_status sw_journal_header_of(const sw_tasks *tasks, sw_journal_header *h, ssm_error *err);

/* Creates a new journal for tasks, its header already on disk; fails
 * (SSM_EIO, message naming the path) if the file exists. */
ssm_status sw_journal_create(const char *path, const sw_tasks *tasks, sw_journal **out, ssm_error *err);

/* Fills *header, then calls visit(ctx, rec) (if not NULL) for every valid
 * record in file order (a task may appear more than once: the last record
 * wins); rec is freed when visit returns, and a nonzero return stops the
 * reading.  *scan (if not NULL) says what else was found; with neither
 * visit nor scan only the header is read.  SSM_EINVAL for
 * a missing file, a foreign, damaged or truncated header, or a
 * checksummed record that does not fit the header; SSM_EIO when reading
 * fails; SSM_ENOMEM. */
ssm_status sw_journal_read(const char *path, sw_journal_header *header,
                           int (*visit)(void *ctx, const sw_record *rec), void *ctx, sw_journal_scan *scan,
                           ssm_error *err);

/* Opens an existing journal for appending after its last valid frame
 * (cutting off a torn tail).  Only a journal that can simply go on is
 * opened: format version 3, its header equal to tasks' (kind, schema,
 * shard, task count, spec hash) and no damaged region; anything else is
 * SSM_EINVAL with a message saying what differs (the caller rewrites such
 * a journal instead).  SSM_EIO if another writer holds it. */
ssm_status sw_journal_open_append(const char *path, const sw_tasks *tasks, sw_journal **out, ssm_error *err);

ssm_status sw_journal_append(sw_journal *j, const sw_record *rec, ssm_error *err);
/* The same for a record already packed (sw_record_pack's len bytes, as a
 * worker sent them): a node leader writes its ranks' records unchanged. */
ssm_status sw_journal_append_packed(sw_journal *j, uint64_t task, const unsigned char *packed, size_t len,
                                    ssm_error *err);
/* Writes what is buffered and fsyncs: everything appended so far survives
 * a crash. */
ssm_status sw_journal_sync(sw_journal *j, ssm_error *err);
/* Syncs j (a journal being rewritten under a temporary name) and renames
 * it to path, atomically replacing what was there; the directory is
 * synced too.  j stays open for appending under its new name. */
ssm_status sw_journal_replace(sw_journal *j, const char *path, ssm_error *err);
/* Syncs and closes; NULL is fine. */
ssm_status sw_journal_close(sw_journal *j, ssm_error *err);
/* Closes without writing what is still buffered (after an error). */
void sw_journal_abandon(sw_journal *j);

/* Part journals.  With part files (--part-files under --leaders) each
 * node leader appends its group's records to OUT.h5.part<k>.journal (k:
 * the leader's MPI rank), a journal like the main one; rank 0 absorbs
 * them into OUT.h5.journal and OUT.h5 at the end of the run, and so does
 * every --resume before it starts (resume.h), so a new run never meets
 * the parts of an earlier one. */

/* OUTPUT.part<k>.journal into buf; -1 if it does not fit. */
int sw_journal_part_path(char *buf, size_t size, const char *output, int k);

typedef struct {
    char **path;     /* ascending k */
    size_t n;
} sw_journal_part_list;

/* The part journals beside output, ascending k (none: n = 0); SSM_EIO if
 * the directory cannot be listed. */
ssm_status sw_journal_parts(const char *output, sw_journal_part_list *list, ssm_error *err);
void sw_journal_parts_free(sw_journal_part_list *list);
/* Removes the part journals beside output (once OUT.h5.journal holds
 * their records durably) and syncs the directory. */
ssm_status sw_journal_parts_remove(const char *output, ssm_error *err);

/* fsync of the file at path and of its directory. */
ssm_status sw_sync_path(const char *path, ssm_error *err);

#endif
