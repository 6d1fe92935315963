/* What the HDF5 writer (h5out.c), its provenance (h5prov.c) and the
 * reader (h5read.c) share: the layout constants, the column table of a
 * kind, the error handling around HDF5 and the attribute helpers
 * (h5base.c).  Private to those files. */
#ifndef SW_H5INTERNAL_H
#define SW_H5INTERNAL_H

#include <hdf5.h>
#include <hdf5_hl.h>

#include "h5out.h"

/* ---- layout constants ------------------------------------------------------ */

/* Rows per chunk of a [task] column: about this many bytes, so a double
 * column has 4096 rows and the 320-byte error strings ~100. */
#define COLUMN_CHUNK_BYTES 32768
/* Curves: one task per chunk (see storage below), at most this many
 * values of it. */
#define CURVE_CHUNK_ROWS 1
#define CURVE_CHUNK_COLS 1024
/* Chunk caches.  Tasks finish in cost order: the queue hands out the
 * combinations of axis values most expensive first, each as a run of
 * neighbouring rows (its repeats), so a column is written in runs that
 * jump about its length.  A column caches a window of its rows (up to
 * COLUMN_CACHE_BYTES), not all of them: rank 0 must not hold 10^7 rows of
 * host names.  Within the window a chunk is written in place once per
 * flush; a chunk evicted before it was full (w0 = 1 evicts the full ones
 * first) is read back when its next row arrives.  A curve chunk is written
 * once, so its cache only has to hold what arrives between flushes.  HDF5
 * allocates the cache as chunks are touched: the caps are not
 * reservations. */
#define COLUMN_CACHE_ROWS 65536
#define COLUMN_CACHE_BYTES ((size_t)2 << 20)
#define CURVE_CACHE_BYTES ((size_t)16 << 20)
#define DEFLATE_LEVEL 4

#define DETAIL_MAX 200

/* A record of a batch, sorted by task. */
typedef struct {
    uint64_t task;
    size_t pos;
} batch_entry;

/* Per-task columns written during the run.  They are fixed-size types
 * (SWMR cannot append to variable-length data). */
typedef enum { COL_STATUS, COL_RANK, COL_HOST, COL_ERROR, COL_ELAPSED, COL_FINISHED, COL_SCALAR } column_kind;

typedef struct {
    column_kind what;
    size_t k;              /* COL_SCALAR: index in the kind's scalars */
    const char *group;     /* "tasks" or "results" */
    const char *name;
    hid_t file_type, mem_type;
    size_t size;           /* bytes per element in memory */
    const void *fill;      /* NULL: HDF5's zero fill */
    const char *units, *long_name;
    hid_t dset;
} column;

/* Columns written once at creation (task scales, parameters, hashes,
 * seeds): filled in slabs of this many rows after every object exists. */
#define SLAB_ROWS 16384
typedef enum { FILL_ID, FILL_HASH, FILL_SEED, FILL_PARAM } fill_what;
typedef struct {
    hid_t dset, mem_type;
    size_t elem;           /* bytes per row in memory */
    fill_what what;
    int param;             /* FILL_PARAM: which */
} fill_col;

/* A curve axis (tau, epoch): a dimension scale shared by the curves on it. */
typedef struct {
    const char *name;
    hsize_t len;
} axis;

struct sw_h5 {
    hid_t file;
    const sw_kind *kind;
    hsize_t n_tasks;
    hid_t str_host, str_error;    /* fixed-length UTF-8 string types */
    column *cols;                 /* N_TASK_COLUMNS, then the kind's scalars */
    size_t n_cols;
    hid_t *curve;                 /* [task, axis] datasets, one per kind curve */
    size_t *curve_axis;           /* index into axes */
    axis *axes;
    size_t n_axes;
    unsigned char *had_error;     /* per task: its row holds a failure's reason */
    fill_col *fill;               /* static columns waiting for fill_static (creation only) */
    size_t n_fill, cap_fill;
    int failed;                   /* a write or flush failed: the file is not finished */
    /* /tasks/status is each row's commit flag: the statuses of rows
     * written since the last commit, in order (pend[k].pos indexes
     * pend_status), go in only once the rest of those rows is on disk */
    batch_entry *pend;
    int8_t *pend_status;
    size_t n_pend, cap_pend;
    /* scratch of sw_h5_write, grown as needed */
    batch_entry *order;
    hsize_t *row, *len;
    unsigned char *buf;
    size_t cap_rows, cap_buf;
    char path[];
};


#define N_TASK_COLUMNS 6

herr_t h5_attr_cf(hid_t loc, const char *units, const char *long_name);
herr_t h5_attr_int64(hid_t loc, const char *name, int64_t value);
herr_t h5_attr_put(hid_t loc, const char *name, hid_t type, hid_t space, const void *buf);
herr_t h5_attr_scalar(hid_t loc, const char *name, hid_t type, const void *value);
herr_t h5_attr_text(hid_t loc, const char *name, const char *value);
void h5_close_id(hid_t *id, herr_t (*close)(hid_t));
void h5_column_value(const column *c, const sw_record *r, void *dst);
void h5_copy_text(void *dst, const char *src, size_t size);
extern _Thread_local int h5_failure_errno;
ssm_status h5_finish_provenance(const char *path, const char *end_utc, ssm_error *err);
hid_t h5_group_create(hid_t file, const char *name);
/* A fixed-length UTF-8 string type of size bytes (at least 1), padded with
 * pad (H5T_STR_NULLTERM or H5T_STR_NULLPAD). */
hid_t h5_fixed_string(size_t size, H5T_str_t pad);
ssm_status h5_fail(ssm_error *err, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void h5_free(sw_h5 *h);
sw_h5 *h5_new(const char *path, const sw_tasks *t, ssm_error *err);
ssm_status h5_release(sw_h5 *h, ssm_status st, ssm_error *err);
hid_t h5_make_fapl(void);
extern const double h5_nan_fill;
void h5_quiet(void);
ssm_status h5_read_identity(hid_t file, const char *path, sw_h5_info *info, ssm_error *err);
extern int h5_unclosable_files;
ssm_status h5_write_provenance(sw_h5 *h, const sw_tasks *t, const sw_provenance *p, ssm_error *err);

#endif
