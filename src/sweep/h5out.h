/* The HDF5 results file (single writer, rank 0).
 *
 * Layout: one dataset per column, every column as long as the task table
 * (all tasks are known before the first one runs):
 *   /params/task, /results/task, /tasks/task
 *                         int64 [task]: the task ids, 0..n-1 (in a shard
 *                         file the ids in the whole spec, ascending): the
 *                         dimension scale "task" of every dataset in its
 *                         group (dimension 0)
 *   /params/<name>        int64, float64 or variable-length UTF-8 string, per
 *                         parameter of the kind; written at creation
 *   /results/<scalar>     float64 [task], NaN until done (and for failed tasks)
 *   /results/<axis>       int64 [axis] 0..len-1 (tau, epoch, index): the scale
 *                         of dimension 1 of the curves on that axis; len is the
 *                         longest curve over all tasks
 *   /results/<curve>      float64 [task, axis], NaN beyond a task's length
 *   /tasks/status         int8, 0 pending (fill), 1 done, 2 failed (CF
 *                         flag_values, flag_meanings)
 *   /tasks/rank           int32 MPI rank, -1 (fill) until run
 *   /tasks/host, /tasks/error
 *                         fixed-length UTF-8 strings of SW_HOST_MAX and
 *                         SW_ERROR_MAX bytes, with _Encoding = "utf-8"
 *   /tasks/elapsed        float64 s;  /tasks/finished  float64 seconds since
 *                         1970-01-01 00:00:00 UTC (xarray decodes it to dates)
 *   /tasks/hash, /tasks/seed  uint64, written at creation
 *   /                     attributes title, kind, n_tasks (rows of this
 *                         file), spec_hash (16 hex digits, of the whole
 *                         spec), shard_index, shard_count, n_tasks_total
 *                         (0, 1, n_tasks unless the file holds a shard),
 *                         master_seed, Conventions "CF-1.8",
 *                         ssmsweep_version, history
 *   /provenance           attributes: spec (verbatim), spec_path, command_line,
 *                         version, git_describe, build_cc, build_cflags,
 *                         libraries, hosts, mpi_size, start_utc, SLURM ids and
 *                         HDF5_USE_FILE_LOCKING when set, merged_from (the
 *                         inputs of ssmsweep merge), coordination (run:
 *                         "flat" or where the leaders were); at close end_utc and
 *                         n_done, n_failed, n_pending
 * CF attributes units and long_name on every dataset.
 *
 * Why a task scale in each group rather than one at the root: xarray's
 * h5netcdf engine opens one group at a time and turns a dimension scale
 * into a coordinate only if it lives in that group.  With a root /task,
 * open_dataset(path, group="results") shows "Dimensions without
 * coordinates: task, tau"; with the scales in the group, task and tau are
 * indexed coordinates, and
 *     params  = xr.open_dataset(path, engine="h5netcdf", group="params")
 *     results = xr.open_dataset(path, engine="h5netcdf", group="results")
 *     ds = xr.merge([params, results])
 *     ds.mf.sel(task=3);  ds.where(ds.init == "s4d-inv", drop=True).mc
 * work as they read.  (Kind mf has a result "rank" and /tasks has the MPI
 * "rank": merge /tasks with tasks.rename(rank="mpi_rank").)
 *
 * Storage.  Every object is created up front and the file is then
 * switched to SWMR writing, so readers can open it at any moment
 * (h5py.File(path, "r", swmr=True); for xarray open an
 * h5netcdf.File(path, "r", swmr=True) and pass
 * xr.backends.H5NetCDFStore(file, group=...) to xr.open_dataset).  A plain
 * open of a file still being written fails with "file is already open
 * for write"; after a kill -9 `h5clear -s` clears that mark (`--resume`
 * rebuilds the file from the journal anyway).  Under SWMR HDF5 never
 * reuses freed file space, and a compressed chunk moves whenever it is
 * written again, so a compressed column that every flush touches would
 * grow the file by a dead copy of its chunks at each flush.  Hence:
 * parameters, hashes, seeds and scales (written before SWMR starts) and
 * the curves (chunks of one task, written once) are shuffle + deflate
 * compressed; the per-task columns written during the run are plain
 * chunks of ~32 KB, rewritten in place (about 100 bytes per task).
 * HDF5_USE_FILE_LOCKING=FALSE (needed on some NFS and Lustre mounts) is
 * honoured by HDF5 itself. */
#ifndef SW_H5OUT_H
#define SW_H5OUT_H

#include "record.h"
#include "tasks.h"

typedef struct {
    const char *spec_path;
    const char *spec_text;     /* verbatim */
    const char *command_line;
    const char *start_utc;     /* ISO 8601, "2026-11-23T07:36:00Z" */
    const char *hosts;         /* unique host names, comma-separated */
    const char *libraries;     /* "HDF5 1.10.8; Open MPI 4.1.4; OpenBLAS ...; libyaml ...; zlib ..." */
    int mpi_size;
    const char *merged_from;   /* ssmsweep merge: its input files; NULL otherwise */
    const char *coordination;  /* run: "flat" or how the leaders were placed (leader.h); NULL otherwise */
} sw_provenance;

typedef struct sw_h5 sw_h5;

/* What a results file says it holds. */
typedef struct {
    char kind[64];
    uint64_t spec_hash;
    uint64_t n_tasks;        /* rows of the file */
    sw_shard shard;          /* {0, 1, n_tasks} for files from before shards */
    /* /provenance attributes spec, spec_path and hosts (sw_h5_read only;
     * malloc'ed, "" when absent) */
    char *spec, *spec_path, *hosts;
} sw_h5_info;

/* Creates path (replacing nothing: it must not exist) with the full layout
 * for tasks, writes parameters, hashes, seeds and provenance, and starts
 * SWMR writing.  Version, git describe, build flags and SLURM ids (from
 * the environment) are added by the writer itself. */
ssm_status sw_h5_create(const char *path, const sw_tasks *tasks, const sw_provenance *prov,
                        sw_h5 **out, ssm_error *err);

/* Opens an existing, cleanly closed results file of the same task table
 * for more writes and starts SWMR writing (used by --resume after the
 * file was rebuilt from the journal).  SSM_EINVAL if the file holds
 * another kind, task count or spec hash. */
ssm_status sw_h5_open(const char *path, const sw_tasks *tasks, sw_h5 **out, ssm_error *err);

/* Writes n records (any task order) into their rows; the last record of
 * a task wins, within a batch too, and a failed record sets the task's
 * results back to NaN.  SSM_EINVAL (nothing written) for a task out of
 * range or a record that does not fit the kind.  Cost (10^5 noop tasks):
 * ~1-2 us per task in batches of 512, ~7 us one record per call, plus
 * ~10 us per curve row (its compression, mostly at flush). */
ssm_status sw_h5_write(sw_h5 *h5, const sw_record *recs, size_t n, ssm_error *err);

/* Makes what was written visible to readers and durable (H5Fflush). */
ssm_status sw_h5_flush(sw_h5 *h5, ssm_error *err);

/* Ends SWMR, records the end time and the done/failed/pending counts as
 * attributes of /provenance, closes.  NULL is fine. */
ssm_status sw_h5_close(sw_h5 *h5, const char *end_utc, ssm_error *err);

/* ---- reading (ssmsweep report, merge) ---- */

/* Called with consecutive rows of a results file in file order:
 * recs[k].task is the row's task id in the whole spec (its task scale
 * value), hash[k] its /tasks/hash; pending rows come too (status
 * SW_PENDING, no values).  Records and values belong to the reader and
 * live until visit returns; a nonzero return stops the reading. */
typedef int (*sw_h5_visit)(void *ctx, const sw_record *recs, const uint64_t *hash, size_t n);

/* Opens path read-only, in SWMR mode (with bounded metadata retries) only
 * where its superblock says a writer has it open (a sweep writing it, or
 * one killed), the plain way otherwise, so a damaged file fails at once
 * instead of retrying for ever; fills *info (provenance included), then,
 * if visit is not NULL, visits every row (of a kind found in kinds).  With results, done records
 * carry their scalars and curves, each curve cut after its last value
 * that differs from the fill, so the record writes back the same bytes;
 * without, no values (and the kind's results are not read).  Errors are
 * one line naming path: SSM_EINVAL for a missing file, a file that is not
 * HDF5, an HDF5 file without the ssmsweep attributes, of a kind this build
 * does not know, or whose content HDF5 cannot read (damaged, truncated);
 * SSM_EIO if a system call fails.  Free *info with sw_h5_info_free (also after an
 * error). */
ssm_status sw_h5_read(const char *path, const sw_registry *kinds, sw_h5_info *info, int results, sw_h5_visit visit,
                      void *ctx, ssm_error *err);
void sw_h5_info_free(sw_h5_info *info);

/* The "open for writing" flags of path's superblock (nonzero while a
 * writer has it open, or after a writer was killed); 0 otherwise.  The
 * write flag alone: a writer outside SWMR (ssmsweep adding the final
 * counts as it closes the file), which no reader can open beside. */
#define SW_H5_WRITING_NOT_SWMR 0x01
int sw_h5_write_flags(const char *path);

/* Programs that write results files call begin before MPI_Init and end
 * at the very end: HDF5 then shuts down when end says so, and not at all
 * after a file it could not close (a full disk, an I/O error), where
 * HDF5 1.10 would crash closing it again at exit. */
void sw_h5_library_begin(void);
void sw_h5_library_end(void);

#endif
