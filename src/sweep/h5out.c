#include "config.h"

#include "h5out.h"
#include "buildinfo.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfiles.h"

/* ---- layout constants ------------------------------------------------------ */

/* Rows per chunk of a [task] column: about this many bytes, so a double
 * column has 4096 rows and the 320-byte error strings ~100. */
#define COLUMN_CHUNK_BYTES 32768
/* Curves: one task per chunk (see storage below), at most this many
 * values of it. */
#define CURVE_CHUNK_ROWS 1
#define CURVE_CHUNK_COLS 1024
/* Chunk caches.  Tasks finish in cost order, so a batch scatters over
 * every chunk of a column; a [task] column stays in memory whole (up to
 * 8 M doubles) and each flush writes each touched chunk once.  A curve
 * chunk is written once, so its cache only has to hold what arrives
 * between flushes.  HDF5 allocates the cache as chunks are touched: the
 * caps are not reservations. */
#define COLUMN_CACHE_BYTES ((size_t)64 << 20)
#define CURVE_CACHE_BYTES ((size_t)16 << 20)
#define DEFLATE_LEVEL 4

#define DETAIL_MAX 200

/* ---- errors ---------------------------------------------------------------- */

/* HDF5 would print a screenful per failure; instead its automatic error
 * handler keeps the most specific message of the stack.  It runs as the
 * failing API call returns, before the cleanup calls of the caller
 * (which clear the stack) have a chance to. */
static _Thread_local char last_detail[DETAIL_MAX];
/* A file HDF5 failed to close (its metadata could not be written: a full
 * disk, an I/O error).  HDF5 1.10 keeps such a file's id with its shared
 * state already freed, and closes it again when the library shuts down,
 * which crashes; so the library is then left as it is at exit. */
static int unclosable_files;
/* Any HDF5 failure: a damaged file can leave objects in HDF5's caches that
 * its shutdown then loops over ("infinite loop closing library"). */
static int hdf5_failures;

/* The errno of the last failure h5_fail reported (0: HDF5 named none, so
 * the file's content was at fault, not the system). */
static _Thread_local int last_errno, failure_errno;

static herr_t first_error(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc)
        snprintf(data, DETAIL_MAX, "%s", e->desc);
    return 0;
}

/* A failed system call: HDF5 says "file write failed: time = ..., filename
 * = ..., file descriptor = 5, errno = 28, error message = '...', buf = ...",
 * of which a user needs the errno. */
static void shorten_detail(char *detail)
{
    const char *e = strstr(detail, "errno = ");
    char *flags = strstr(detail, ", flags =");   /* open(2) flags in hex: noise to a user */
    if (e) {
        char what[64], text[96];
        int code = last_errno = atoi(e + 8);
        snprintf(what, sizeof what, "%.*s", (int)strcspn(detail, ":"), detail);
        snprintf(detail, DETAIL_MAX, "%s: %s", what, sw_errno_text(code, text, sizeof text));
    } else if (flags) {
        *flags = '\0';
    }
}

static herr_t keep_detail(hid_t stack, void *data)
{
    (void)data;
    last_detail[0] = '\0';
    H5Ewalk2(stack, H5E_WALK_UPWARD, first_error, last_detail);
    shorten_detail(last_detail);
    return 0;
}

/* At every entry point: the handler, and no detail left from before. */
static void quiet_hdf5(void)
{
    H5Eset_auto2(H5E_DEFAULT, keep_detail, NULL);
    last_detail[0] = '\0';
    last_errno = failure_errno = 0;
}

/* "PATH: cannot WHAT (detail)", one line.  When the file system refused
 * a lock (errno 37 or 524 on NFS and Lustre; 11 is another process
 * holding it, a different story) it names the switch that helps. */
static ssm_status h5_fail(ssm_error *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ssm_status h5_fail(ssm_error *err, const char *path, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *d = last_detail;
    ssm_fail(err, SSM_EIO, "%s: cannot %s%s%s%s", path, what, *d ? " (" : "", d,
             !*d                 ? ""
             : (strstr(d, "lock the file") || strstr(d, "file locking")) && !strstr(d, "errno = 11,")
                 ? "; on file systems without locking set HDF5_USE_FILE_LOCKING=FALSE)"
                                 : ")");
    last_detail[0] = '\0';
    failure_errno = last_errno;
    last_errno = 0;
    /* after a failed system call HDF5 may hold a file it cannot close
     * (one whose creation failed half-way has no id to count): it is not
     * shut down at the end */
    unclosable_files += failure_errno != 0;
    ++hdf5_failures;
    return SSM_EIO;
}


void sw_h5_library_begin(void)
{
    /* no atexit hook, and no hook on MPI_COMM_SELF (HDF5 sets one only
     * when MPI is already running as it starts): HDF5 shuts down when
     * sw_h5_library_end says so */
    H5dont_atexit();
    H5open();
}

void sw_h5_library_end(void)
{
    if (!unclosable_files && !hdf5_failures)
        H5close();
}

static void close_id(hid_t *id, herr_t (*close)(hid_t))
{
    if (*id >= 0)
        close(*id);
    *id = H5I_INVALID_HID;
}

/* ---- the column table -------------------------------------------------------- */

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
    int failed;                   /* a write or flush failed: the file is not finished */
    /* scratch of sw_h5_write, grown as needed */
    batch_entry *order;
    hsize_t *row, *len;
    unsigned char *buf;
    size_t cap_rows, cap_buf;
    char path[];
};

static const double nan_fill = NAN;
static const int8_t status_fill = SW_PENDING;
static const int32_t rank_fill = -1;

#define N_TASK_COLUMNS 6

/* Fills h->cols; the types of the string columns are h's. */
static void columns_describe(sw_h5 *h)
{
    const column task_cols[N_TASK_COLUMNS] = {
        {COL_STATUS, 0, "tasks", "status", H5T_STD_I8LE, H5T_NATIVE_INT8, 1, &status_fill, "1",
         "task state", H5I_INVALID_HID},
        {COL_RANK, 0, "tasks", "rank", H5T_STD_I32LE, H5T_NATIVE_INT32, 4, &rank_fill, "1",
         "MPI rank that ran the task (-1: none yet)", H5I_INVALID_HID},
        {COL_HOST, 0, "tasks", "host", h->str_host, h->str_host, SW_HOST_MAX, NULL, "1",
         "host that ran the task", H5I_INVALID_HID},
        {COL_ERROR, 0, "tasks", "error", h->str_error, h->str_error, SW_ERROR_MAX, NULL, "1",
         "reason of a failure", H5I_INVALID_HID},
        {COL_ELAPSED, 0, "tasks", "elapsed", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, &nan_fill, "s",
         "time spent in the task", H5I_INVALID_HID},
        {COL_FINISHED, 0, "tasks", "finished", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, &nan_fill,
         "seconds since 1970-01-01 00:00:00 UTC", "time the task finished", H5I_INVALID_HID},
    };
    memcpy(h->cols, task_cols, sizeof task_cols);
    for (size_t k = 0; k < h->kind->n_scalars; ++k) {
        const sw_output_desc *o = &h->kind->scalars[k];
        h->cols[N_TASK_COLUMNS + k] = (column){COL_SCALAR, k, "results", o->name, H5T_IEEE_F64LE,
                                               H5T_NATIVE_DOUBLE, 8, &nan_fill, o->units, o->long_name,
                                               H5I_INVALID_HID};
    }
    h->n_cols = N_TASK_COLUMNS + h->kind->n_scalars;
}

static void copy_text(void *dst, const char *src, size_t size)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    memset((char *)dst + n, 0, size - n);
}

/* The value of column c for record r, in c's memory type.  A failed
 * task's results are NaN: the row says what the last record said. */
static void column_value(const column *c, const sw_record *r, void *dst)
{
    double d;
    switch (c->what) {
    case COL_STATUS: {
        int8_t v = (int8_t)r->status;
        memcpy(dst, &v, 1);
        return;
    }
    case COL_RANK:
        memcpy(dst, &r->rank, 4);
        return;
    case COL_HOST:
        copy_text(dst, r->host, SW_HOST_MAX);
        return;
    case COL_ERROR:
        copy_text(dst, r->error, SW_ERROR_MAX);
        return;
    case COL_ELAPSED:
        d = r->elapsed;
        break;
    case COL_FINISHED:
        d = r->finished;
        break;
    case COL_SCALAR:
    default:
        d = r->status == SW_DONE ? r->result.scalars[c->k] : NAN;
        break;
    }
    memcpy(dst, &d, 8);
}

/* ---- sw_h5 lifetime ------------------------------------------------------------ */

static hid_t fixed_string(size_t size)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, size) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
                   H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    return t;
}

/* Curve axes: one per distinct axis name, as long as the longest curve
 * on it over all tasks (known before anything runs). */
static void axes_describe(sw_h5 *h, const sw_tasks *t)
{
    const sw_kind *kind = h->kind;
    for (size_t c = 0; c < kind->n_curves; ++c) {
        size_t a = 0;
        while (a < h->n_axes && strcmp(h->axes[a].name, kind->curves[c].axis) != 0)
            ++a;
        if (a == h->n_axes)
            h->axes[h->n_axes++] = (axis){kind->curves[c].axis, 0};
        h->curve_axis[c] = a;
        for (size_t id = 0; t && id < t->n_tasks; ++id) {
            hsize_t len = kind->curve_length(sw_task_params(t, id), c);
            if (len > h->axes[a].len)
                h->axes[a].len = len;
        }
    }
}

static void h5_free(sw_h5 *h);

static sw_h5 *h5_new(const char *path, const sw_tasks *t, ssm_error *err)
{
    size_t n = strlen(path) + 1, nc = t->kind->n_curves;
    sw_h5 *h = calloc(1, sizeof *h + n);
    if (!h) {
        ssm_fail(err, SSM_ENOMEM, "out of memory for %s", path);
        return NULL;
    }
    memcpy(h->path, path, n);
    h->file = h->str_host = h->str_error = H5I_INVALID_HID;
    h->kind = t->kind;
    h->n_tasks = t->n_tasks;
    h->cols = calloc(N_TASK_COLUMNS + t->kind->n_scalars, sizeof *h->cols);
    h->curve = malloc((nc ? nc : 1) * sizeof *h->curve);
    h->curve_axis = calloc(nc ? nc : 1, sizeof *h->curve_axis);
    h->axes = calloc(nc ? nc : 1, sizeof *h->axes);
    h->had_error = calloc(t->n_tasks ? t->n_tasks : 1, 1);
    h->str_host = fixed_string(SW_HOST_MAX);
    h->str_error = fixed_string(SW_ERROR_MAX);
    if (!h->cols || !h->curve || !h->curve_axis || !h->axes || !h->had_error || h->str_host < 0 ||
        h->str_error < 0) {
        ssm_fail(err, SSM_ENOMEM, "out of memory for %s", path);
        close_id(&h->str_host, H5Tclose);   /* nothing else to close yet */
        close_id(&h->str_error, H5Tclose);
        h5_free(h);
        return NULL;
    }
    for (size_t c = 0; c < nc; ++c)
        h->curve[c] = H5I_INVALID_HID;
    columns_describe(h);
    axes_describe(h, t);
    return h;
}

/* Closes every handle h holds and the file; SSM_EIO (naming the count)
 * if HDF5 still had objects of the file open, which would keep it open. */
static ssm_status h5_release(sw_h5 *h, ssm_status st, ssm_error *err)
{
    for (size_t k = 0; k < h->n_cols; ++k)
        close_id(&h->cols[k].dset, H5Dclose);
    for (size_t c = 0; c < h->kind->n_curves; ++c)
        close_id(&h->curve[c], H5Dclose);
    close_id(&h->str_host, H5Tclose);
    close_id(&h->str_error, H5Tclose);
    if (h->file >= 0) {
        ssize_t open = H5Fget_obj_count(h->file, H5F_OBJ_ALL | H5F_OBJ_LOCAL);
        if (open > 1 && st == SSM_OK)
            st = ssm_fail(err, SSM_EIO, "%s: %zd HDF5 objects left open (a bug in ssmsweep)", h->path, open - 1);
        if (H5Fclose(h->file) < 0) {
            ++unclosable_files;
            if (st == SSM_OK)
                st = h5_fail(err, h->path, "close the file");
        }
        h->file = H5I_INVALID_HID;
    }
    return st;
}

static void h5_free(sw_h5 *h)
{
    free(h->cols);
    free(h->curve);
    free(h->curve_axis);
    free(h->axes);
    free(h->had_error);
    free(h->order);
    free(h->row);
    free(h->len);
    free(h->buf);
    free(h);
}

/* The newest format: SWMR needs its checksummed metadata. */
static hid_t make_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0) {
        H5Pclose(fapl);
        fapl = H5I_INVALID_HID;
    }
    return fapl;
}

/* ---- attributes ------------------------------------------------------------------ */

/* Writes (replacing) attribute name of loc. */
static herr_t attr_put(hid_t loc, const char *name, hid_t type, hid_t space, const void *buf)
{
    herr_t rc = -1;
    hid_t a = H5I_INVALID_HID;
    htri_t exists = H5Aexists(loc, name);
    if (exists < 0 || (exists > 0 && H5Adelete(loc, name) < 0))
        return -1;
    a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0 && H5Awrite(a, type, buf) >= 0)
        rc = 0;
    close_id(&a, H5Aclose);
    return rc;
}

static herr_t attr_scalar(hid_t loc, const char *name, hid_t type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    herr_t rc = space >= 0 ? attr_put(loc, name, type, space, value) : -1;
    close_id(&space, H5Sclose);
    return rc;
}

/* A variable-length UTF-8 string: what h5py and xarray read back as str. */
static herr_t attr_text(hid_t loc, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    herr_t rc = -1;
    const char *v = value ? value : "";
    if (type >= 0 && H5Tset_size(type, H5T_VARIABLE) >= 0 && H5Tset_cset(type, H5T_CSET_UTF8) >= 0)
        rc = attr_scalar(loc, name, type, &v);
    close_id(&type, H5Tclose);
    return rc;
}

static herr_t attr_int64(hid_t loc, const char *name, int64_t value)
{
    return attr_scalar(loc, name, H5T_NATIVE_INT64, &value);
}

/* CF: units and long_name on every variable. */
static herr_t attr_cf(hid_t loc, const char *units, const char *long_name)
{
    return attr_text(loc, "units", units) < 0 || attr_text(loc, "long_name", long_name) < 0 ? -1 : 0;
}

/* ---- datasets -------------------------------------------------------------------- */

/* How a dataset is stored follows from when it is written.  Under SWMR
 * HDF5 never reuses file space that was freed (a reader may still be
 * looking at it), and a compressed chunk that is written again moves:
 * a compressed column touched by every flush would leave a dead copy of
 * its chunks behind at each one (h5py issue 980; measured here: 35 MB
 * for 20000 tasks flushed one by one).  So the per-task columns written
 * during the run are not compressed (their chunks are rewritten in
 * place), and compression is kept where every chunk is written once:
 * data written before SWMR starts, and curves with one task per chunk. */
typedef enum {
    STORE_ONCE,     /* [task], written whole at creation: compressed */
    STORE_COLUMN,   /* [task], written during the run: plain, cached whole */
    STORE_CURVE     /* [task, axis], one row per chunk: compressed */
} storage;

/* The chunk shape of a dataset of rank 1 ([task]) or 2 ([task, axis])
 * with elements of elem bytes; 0 for an empty extent (not chunked). */
static hsize_t chunk_shape(int rank, const hsize_t *dims, size_t elem, hsize_t *chunk)
{
    if (dims[0] == 0 || (rank == 2 && dims[1] == 0))
        return 0;
    if (rank == 1) {
        hsize_t rows = COLUMN_CHUNK_BYTES / elem;
        chunk[0] = rows < 1 ? 1 : rows < dims[0] ? rows : dims[0];
        return chunk[0];
    }
    chunk[0] = dims[0] < CURVE_CHUNK_ROWS ? dims[0] : CURVE_CHUNK_ROWS;
    chunk[1] = dims[1] < CURVE_CHUNK_COLS ? dims[1] : CURVE_CHUNK_COLS;
    return chunk[0] * chunk[1];
}

/* The chunk cache of a dataset (creating and reopening it alike): room
 * for every chunk up to the cap (the last chunks may be partial but take
 * a whole chunk's room). */
static herr_t set_cache(hid_t dapl, int rank, const hsize_t *dims, size_t elem)
{
    hsize_t chunk[2];
    hsize_t per_chunk = chunk_shape(rank, dims, elem, chunk);
    if (per_chunk == 0)
        return 0;
    size_t chunk_bytes = elem * (size_t)per_chunk;
    size_t n_chunks = (size_t)((dims[0] + chunk[0] - 1) / chunk[0]) *
                      (rank == 2 ? (size_t)((dims[1] + chunk[1] - 1) / chunk[1]) : 1);
    size_t cache = rank == 1 ? COLUMN_CACHE_BYTES : CURVE_CACHE_BYTES;
    if (n_chunks <= cache / chunk_bytes)
        cache = n_chunks * chunk_bytes;
    if (cache < chunk_bytes)
        cache = chunk_bytes;
    /* hash slots: ten per cached chunk keeps collisions (which evict)
     * rare; w0 = 1: chunks written whole (a finished curve) leave first */
    return H5Pset_chunk_cache(dapl, 10 * (cache / chunk_bytes) + 1, cache, 1.0);
}

/* Chunking, filters, fill value and chunk cache of a new dataset. */
static herr_t layout_props(hid_t dcpl, hid_t dapl, storage how, int rank, const hsize_t *dims, hid_t type,
                           hid_t fill_type, const void *fill)
{
    hsize_t chunk[2];
    size_t elem = H5Tget_size(type);
    if (elem == 0 || (fill && H5Pset_fill_value(dcpl, fill_type, fill) < 0))
        return -1;
    if (chunk_shape(rank, dims, elem, chunk) == 0)
        return 0;
    if (H5Pset_chunk(dcpl, rank, chunk) < 0 || set_cache(dapl, rank, dims, elem) < 0)
        return -1;
    if (how != STORE_COLUMN && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, DEFLATE_LEVEL) < 0))
        return -1;
    return 0;
}

/* Creates group/name with the layout above and its CF attributes. */
static hid_t dataset_create(hid_t group, const char *name, storage how, hid_t type, int rank, const hsize_t *dims,
                            hid_t fill_type, const void *fill, const char *units, const char *long_name)
{
    hid_t dset = H5I_INVALID_HID, space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (space >= 0 && dcpl >= 0 && dapl >= 0 && layout_props(dcpl, dapl, how, rank, dims, type, fill_type, fill) >= 0)
        dset = H5Dcreate2(group, name, type, space, H5P_DEFAULT, dcpl, dapl);
    if (dset >= 0 && attr_cf(dset, units, long_name) < 0)
        close_id(&dset, H5Dclose);
    close_id(&space, H5Sclose);
    close_id(&dcpl, H5Pclose);
    close_id(&dapl, H5Pclose);
    return dset;
}

/* A [task] column written once, at creation (ids, parameters, hashes);
 * it is closed again, and attached to scale unless it is the scale. */
static herr_t static_column(hid_t group, hid_t scale, const char *name, hid_t file_type, hid_t mem_type,
                            hsize_t n, const void *data, const char *units, const char *long_name, hid_t *keep)
{
    hid_t dset = dataset_create(group, name, STORE_ONCE, file_type, 1, &n, mem_type, NULL, units, long_name);
    herr_t rc = dset >= 0 && (n == 0 || H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0) ? 0 : -1;
    if (rc == 0 && scale >= 0)
        rc = H5DSattach_scale(dset, scale, 0);
    if (keep && rc == 0)
        *keep = dset;
    else
        close_id(&dset, H5Dclose);
    return rc;
}

/* A dimension scale "name" in group: int64 values[0..n), or 0..n-1 if
 * values is NULL. */
static hid_t scale_create(hid_t group, const char *name, hsize_t n, const uint64_t *values, const char *long_name)
{
    hid_t scale = H5I_INVALID_HID;
    int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    for (hsize_t k = 0; ids && k < n; ++k)
        ids[k] = (int64_t)(values ? values[k] : k);
    if (ids && static_column(group, H5I_INVALID_HID, name, H5T_STD_I64LE, H5T_NATIVE_INT64, n, ids, "1",
                             long_name, &scale) == 0 &&
        H5DSset_scale(scale, name) < 0)
        close_id(&scale, H5Dclose);
    free(ids);
    return scale;
}

/* The task scale of a group: the tasks' ids in the whole spec, so rows
 * of a shard file say which tasks they are (0..n-1 for a whole spec). */
static hid_t task_scale(hid_t group, const sw_tasks *t)
{
    return scale_create(group, "task", t->n_tasks, t->global_id, "task id");
}

/* A group that lists its members in creation order (kind order). */
static hid_t group_create(hid_t file, const char *name)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), g = H5I_INVALID_HID;
    if (gcpl >= 0 && H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0)
        g = H5Gcreate2(file, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    close_id(&gcpl, H5Pclose);
    return g;
}

/* ---- creation ----------------------------------------------------------------- */

static herr_t write_params(hid_t group, hid_t scale, const sw_tasks *t, const char **failed)
{
    const sw_kind *kind = t->kind;
    hsize_t n = t->n_tasks;
    void *buf = malloc((n ? n : 1) * 8);
    hid_t vstr = H5Tcopy(H5T_C_S1);
    herr_t rc = buf && vstr >= 0 && H5Tset_size(vstr, H5T_VARIABLE) >= 0 && H5Tset_cset(vstr, H5T_CSET_UTF8) >= 0
                    ? 0 : -1;
    for (size_t p = 0; rc == 0 && p < kind->n_params; ++p) {
        const sw_param_desc *d = &kind->params[p];
        hid_t file_type = d->type == SW_INT ? H5T_STD_I64LE : d->type == SW_REAL ? H5T_IEEE_F64LE : vstr;
        hid_t mem_type = d->type == SW_INT ? H5T_NATIVE_INT64 : d->type == SW_REAL ? H5T_NATIVE_DOUBLE : vstr;
        for (hsize_t id = 0; id < n; ++id) {
            const sw_value *v = &sw_task_params(t, id)[p];
            if (d->type == SW_INT)
                ((int64_t *)buf)[id] = v->i;
            else if (d->type == SW_REAL)
                ((double *)buf)[id] = v->r;
            else
                ((const char **)buf)[id] = v->s ? v->s : "";
        }
        *failed = d->name;
        rc = static_column(group, scale, d->name, file_type, mem_type, n, buf, d->units, d->long_name, NULL);
    }
    close_id(&vstr, H5Tclose);
    free(buf);
    return rc;
}

/* The attributes a run column has beyond units and long_name. */
static herr_t column_attrs(hid_t dset, const column *c)
{
    static const int8_t flags[3] = {SW_PENDING, SW_DONE, SW_FAILED};
    hsize_t three = 3;
    herr_t rc = 0;
    if (c->what == COL_STATUS) {   /* CF flags */
        hid_t space = H5Screate_simple(1, &three, NULL);
        rc = space < 0 || attr_put(dset, "flag_values", H5T_NATIVE_INT8, space, flags) < 0 ||
                     attr_text(dset, "flag_meanings", "pending done failed") < 0 ? -1 : 0;
        close_id(&space, H5Sclose);
    }
    /* xarray decodes fixed-length strings to str with it */
    if (c->what == COL_HOST || c->what == COL_ERROR)
        rc = attr_text(dset, "_Encoding", "utf-8");
    return rc;
}

/* The run columns of group (opened again once SWMR writing starts), on
 * its task scale; *what names the one that failed. */
static herr_t create_run_columns(sw_h5 *h, hid_t g, const char *group, hid_t scale, const char **what)
{
    herr_t rc = 0;
    for (size_t k = 0; rc == 0 && k < h->n_cols; ++k) {
        const column *c = &h->cols[k];
        if (strcmp(c->group, group) != 0)
            continue;
        *what = c->name;
        hid_t d = dataset_create(g, c->name, STORE_COLUMN, c->file_type, 1, &h->n_tasks, c->mem_type, c->fill,
                                 c->units, c->long_name);
        rc = d >= 0 && H5DSattach_scale(d, scale, 0) >= 0 && column_attrs(d, c) >= 0 ? 0 : -1;
        close_id(&d, H5Dclose);
    }
    return rc;
}

/* /tasks: the run's columns, then the content hashes and seeds. */
static ssm_status create_tasks_group(sw_h5 *h, const sw_tasks *t, ssm_error *err)
{
    const char *what = "";
    hid_t g = group_create(h->file, "tasks"), scale = H5I_INVALID_HID;
    herr_t rc = g >= 0 ? 0 : -1;
    if (rc == 0) {
        what = "task";
        scale = task_scale(g, t);
        rc = scale >= 0 ? create_run_columns(h, g, "tasks", scale, &what) : -1;
    }
    if (rc == 0) {
        what = "hash";
        rc = static_column(g, scale, "hash", H5T_STD_U64LE, H5T_NATIVE_UINT64, h->n_tasks, t->hash, "1",
                           "64-bit hash of the task's canonical parameters", NULL);
    }
    if (rc == 0) {
        what = "seed";
        rc = static_column(g, scale, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, h->n_tasks, t->seed, "1",
                           "random seed of the task", NULL);
    }
    close_id(&scale, H5Dclose);
    close_id(&g, H5Gclose);
    if (rc < 0)
        return h5_fail(err, h->path, "create /tasks%s%s", *what ? "/" : "", what);
    return SSM_OK;
}

/* /results: scalars [task] and curves [task, axis], each group with its
 * own task scale (see the layout note in h5out.h). */
static ssm_status create_results_group(sw_h5 *h, const sw_tasks *t, ssm_error *err)
{
    const char *what = "";
    hid_t g = group_create(h->file, "results"), scale = H5I_INVALID_HID;
    hid_t *axis_scale = malloc((h->n_axes ? h->n_axes : 1) * sizeof *axis_scale);
    for (size_t a = 0; axis_scale && a < h->n_axes; ++a)
        axis_scale[a] = H5I_INVALID_HID;
    herr_t rc = g >= 0 && axis_scale ? 0 : -1;
    if (rc == 0) {
        what = "task";
        scale = task_scale(g, t);
        rc = scale >= 0 ? 0 : -1;
    }
    for (size_t a = 0; rc == 0 && a < h->n_axes; ++a) {
        what = h->axes[a].name;
        axis_scale[a] = scale_create(g, h->axes[a].name, h->axes[a].len, NULL, h->axes[a].name);
        rc = axis_scale[a] >= 0 ? 0 : -1;
    }
    if (rc == 0)
        rc = create_run_columns(h, g, "results", scale, &what);
    for (size_t c = 0; rc == 0 && c < h->kind->n_curves; ++c) {
        const sw_curve_desc *d = &h->kind->curves[c];
        size_t a = h->curve_axis[c];
        hsize_t dims[2] = {h->n_tasks, h->axes[a].len};
        what = d->name;
        hid_t dset = dataset_create(g, d->name, STORE_CURVE, H5T_IEEE_F64LE, 2, dims, H5T_NATIVE_DOUBLE, &nan_fill,
                                    d->units, d->long_name);
        rc = dset >= 0 && H5DSattach_scale(dset, scale, 0) >= 0 && H5DSattach_scale(dset, axis_scale[a], 1) >= 0
                 ? 0 : -1;
        close_id(&dset, H5Dclose);
    }
    for (size_t a = 0; axis_scale && a < h->n_axes; ++a)
        close_id(&axis_scale[a], H5Dclose);
    free(axis_scale);
    close_id(&scale, H5Dclose);
    close_id(&g, H5Gclose);
    if (rc < 0)
        return h5_fail(err, h->path, "create /results%s%s", *what ? "/" : "", what);
    return SSM_OK;
}

static ssm_status create_params_group(sw_h5 *h, const sw_tasks *t, ssm_error *err)
{
    const char *what = "";
    hid_t g = group_create(h->file, "params"), scale = H5I_INVALID_HID;
    herr_t rc = g >= 0 ? 0 : -1;
    if (rc == 0) {
        what = "task";
        scale = task_scale(g, t);
        rc = scale >= 0 ? write_params(g, scale, t, &what) : -1;
    }
    close_id(&scale, H5Dclose);
    close_id(&g, H5Gclose);
    if (rc < 0)
        return h5_fail(err, h->path, "create /params%s%s", *what ? "/" : "", what);
    return SSM_OK;
}

static herr_t env_attr(hid_t loc, const char *attr, const char *var)
{
    const char *v = getenv(var);
    return v ? attr_text(loc, attr, v) : 0;
}

static ssm_status write_provenance(sw_h5 *h, const sw_tasks *t, const sw_provenance *p, ssm_error *err)
{
    static const sw_provenance none = {0};
    static const char *const slurm[][2] = {
        {"slurm_job_id", "SLURM_JOB_ID"}, {"slurm_array_job_id", "SLURM_ARRAY_JOB_ID"},
        {"slurm_array_task_id", "SLURM_ARRAY_TASK_ID"}, {"slurm_job_nodelist", "SLURM_JOB_NODELIST"},
        {"slurm_cluster_name", "SLURM_CLUSTER_NAME"}, {"hdf5_use_file_locking", "HDF5_USE_FILE_LOCKING"},
    };
    char hex[17], title[256], history[1024];
    if (!p)
        p = &none;
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)t->spec_hash);
    if (t->name && *t->name)
        snprintf(title, sizeof title, "%s", t->name);
    else
        snprintf(title, sizeof title, "ssmsweep %s sweep", t->kind->name);
    snprintf(history, sizeof history, "%s %s", p->start_utc ? p->start_utc : "",
             p->command_line ? p->command_line : "ssmsweep");
    hid_t root = h->file;
    const sw_shard shard = sw_tasks_shard(t);
    herr_t rc = attr_text(root, "title", title) < 0 || attr_text(root, "kind", t->kind->name) < 0 ||
                attr_int64(root, "n_tasks", (int64_t)t->n_tasks) < 0 || attr_text(root, "spec_hash", hex) < 0 ||
                attr_int64(root, "shard_index", (int64_t)shard.index) < 0 ||
                attr_int64(root, "shard_count", (int64_t)shard.count) < 0 ||
                attr_int64(root, "n_tasks_total", (int64_t)shard.n_tasks_total) < 0 ||
                attr_scalar(root, "master_seed", H5T_NATIVE_UINT64, &t->master_seed) < 0 ||
                attr_text(root, "Conventions", "CF-1.8") < 0 ||
                attr_text(root, "ssmsweep_version", PACKAGE_VERSION) < 0 || attr_text(root, "history", history) < 0
                    ? -1 : 0;
    if (rc < 0)
        return h5_fail(err, h->path, "write the attributes of /");
    hid_t g = group_create(h->file, "provenance");
    rc = g < 0 || attr_text(g, "spec", p->spec_text) < 0 || attr_text(g, "spec_path", p->spec_path) < 0 ||
         attr_text(g, "command_line", p->command_line) < 0 || attr_text(g, "version", PACKAGE_VERSION) < 0 ||
         attr_text(g, "git_describe", sw_build_git_describe) < 0 || attr_text(g, "build_cc", sw_build_cc) < 0 ||
         attr_text(g, "build_cflags", sw_build_cflags) < 0 || attr_text(g, "libraries", p->libraries) < 0 ||
         attr_text(g, "hosts", p->hosts) < 0 || attr_int64(g, "mpi_size", p->mpi_size) < 0 ||
         attr_text(g, "start_utc", p->start_utc) < 0 ? -1 : 0;
    if (rc == 0 && p->merged_from)
        rc = attr_text(g, "merged_from", p->merged_from);
    if (rc == 0 && p->coordination)
        rc = attr_text(g, "coordination", p->coordination);
    for (size_t k = 0; rc == 0 && k < sizeof slurm / sizeof slurm[0]; ++k)
        rc = env_attr(g, slurm[k][0], slurm[k][1]);
    close_id(&g, H5Gclose);
    return rc < 0 ? h5_fail(err, h->path, "write /provenance") : SSM_OK;
}

/* A parameter or result named like a dimension scale of its group, or
 * like another dataset there, cannot be stored: a mistake in the kind
 * table, said before any file exists. */
static ssm_status check_names(const sw_h5 *h, ssm_error *err)
{
    const sw_kind *kind = h->kind;
    for (size_t p = 0; p < kind->n_params; ++p)
        if (strcmp(kind->params[p].name, "task") == 0)
            return ssm_fail(err, SSM_EINVAL, "kind %s: parameter \"task\" has the name of the task dimension of "
                                             "the results file; the kind table must rename it", kind->name);
    /* /results holds task, the axes, the scalars and the curves */
    size_t n = 1 + h->n_axes + kind->n_scalars + kind->n_curves;
    for (size_t a = 0; a < n; ++a)
        for (size_t b = a + 1; b < n; ++b) {
            const char *names[2];
            size_t which[2] = {a, b};
            for (int k = 0; k < 2; ++k) {
                size_t i = which[k];
                names[k] = i == 0                            ? "task"
                           : i <= h->n_axes                  ? h->axes[i - 1].name
                           : i <= h->n_axes + kind->n_scalars ? kind->scalars[i - 1 - h->n_axes].name
                                                             : kind->curves[i - 1 - h->n_axes - kind->n_scalars].name;
            }
            if (strcmp(names[0], names[1]) == 0)
                return ssm_fail(err, SSM_EINVAL, "kind %s: two datasets of /results would be named \"%s\" (a "
                                                 "result named like a curve axis?); the kind table must rename one",
                                kind->name, names[0]);
        }
    return SSM_OK;
}

static ssm_status start_swmr(sw_h5 *h, ssm_error *err);

ssm_status sw_h5_create(const char *path, const sw_tasks *tasks, const sw_provenance *prov, sw_h5 **out,
                        ssm_error *err)
{
    struct stat sb;
    *out = NULL;
    quiet_hdf5();
    if (stat(path, &sb) == 0)
        return ssm_fail(err, SSM_EIO, "%s already exists (results are never overwritten)", path);
    /* The file is built under a temporary name and appears at path only
     * once SWMR writing has started: creating the objects is the one phase
     * in which a kill could leave a file no tool can open. */
    char building[4096];
    if ((size_t)snprintf(building, sizeof building, "%s.creating", path) >= sizeof building)
        return ssm_fail(err, SSM_EINVAL, "%s: path too long", path);
    remove(building);   /* left by a run killed while creating */
    sw_h5 *h = h5_new(path, tasks, err);
    if (!h)
        return SSM_ENOMEM;
    ssm_status st = check_names(h, err);
    hid_t fapl = st == SSM_OK ? make_fapl() : H5I_INVALID_HID;
    if (fapl >= 0)
        h->file = H5Fcreate(building, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
    close_id(&fapl, H5Pclose);
    if (st == SSM_OK && h->file < 0)
        st = h5_fail(err, path, "create the file");
    /* every object exists before SWMR writing starts: it cannot add any */
    if (st == SSM_OK)
        st = write_provenance(h, tasks, prov, err);
    if (st == SSM_OK)
        st = create_params_group(h, tasks, err);
    if (st == SSM_OK)
        st = create_results_group(h, tasks, err);
    if (st == SSM_OK)
        st = create_tasks_group(h, tasks, err);
    if (st == SSM_OK)
        st = start_swmr(h, err);
    if (st == SSM_OK && rename(building, path) != 0)
        st = ssm_fail(err, SSM_EIO, "%s: cannot move the new file into place: %s", path, strerror(errno));
    if (st) {
        h5_release(h, st, err);
        h5_free(h);
        remove(building);   /* a half-built file (a failed H5Fcreate leaves one too) */
        return st;
    }
    *out = h;
    return SSM_OK;
}

/* ---- reopening ----------------------------------------------------------------------- */

static herr_t attr_read_text(hid_t loc, const char *name, char *buf, size_t size)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), type = H5I_INVALID_HID;
    char *value = NULL;
    herr_t rc = -1;
    if (a >= 0) {
        type = H5Aget_type(a);
        if (type >= 0 && H5Tis_variable_str(type) > 0 && H5Aread(a, type, &value) >= 0 && value) {
            snprintf(buf, size, "%s", value);
            H5free_memory(value);
            rc = 0;
        }
    }
    close_id(&type, H5Tclose);
    close_id(&a, H5Aclose);
    return rc;
}

static herr_t attr_read_int64(hid_t loc, const char *name, int64_t *value)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    herr_t rc = a >= 0 ? H5Aread(a, H5T_NATIVE_INT64, value) : -1;
    close_id(&a, H5Aclose);
    return rc;
}

/* What a results file says it holds: the attributes of /.  Files from
 * before shards have no shard attributes and hold a whole spec. */
static ssm_status read_identity(hid_t file, const char *path, sw_h5_info *info, ssm_error *err)
{
    static const char *const shard_attr[3] = {"shard_index", "shard_count", "n_tasks_total"};
    char hex[32] = "", *end = NULL;
    int64_t n = -1, shard[3] = {0, 1, -1};
    if (H5Aexists(file, "kind") <= 0 || H5Aexists(file, "spec_hash") <= 0 || H5Aexists(file, "n_tasks") <= 0)
        return ssm_fail(err, SSM_EINVAL, "%s is not an ssmsweep results file (no kind, spec_hash and n_tasks "
                                         "attributes)", path);
    if (attr_read_text(file, "kind", info->kind, sizeof info->kind) < 0 ||
        attr_read_text(file, "spec_hash", hex, sizeof hex) < 0 || attr_read_int64(file, "n_tasks", &n) < 0)
        return h5_fail(err, path, "read the attributes of /");
    shard[2] = n;
    for (int k = 0; k < 3; ++k)
        if (H5Aexists(file, shard_attr[k]) > 0 && attr_read_int64(file, shard_attr[k], &shard[k]) < 0)
            return h5_fail(err, path, "read the attribute %s of /", shard_attr[k]);
    info->spec_hash = strtoull(hex, &end, 16);
    if (strlen(hex) != 16 || *end || n < 0 || shard[0] < 0 || shard[1] < 1 || shard[0] >= shard[1] || shard[2] < n)
        return ssm_fail(err, SSM_EINVAL, "%s: the attributes of / do not fit together (spec_hash \"%s\", %lld tasks, "
                                         "shard %lld/%lld of %lld)", path, hex, (long long)n, (long long)shard[0],
                        (long long)shard[1], (long long)shard[2]);
    info->n_tasks = (uint64_t)n;
    info->shard = (sw_shard){(uint64_t)shard[0], (uint64_t)shard[1], (uint64_t)shard[2]};
    return SSM_OK;
}

/* The file must hold the same task table: kind, shard, count and spec hash. */
static ssm_status check_identity(sw_h5 *h, const sw_tasks *t, ssm_error *err)
{
    sw_h5_info got;
    memset(&got, 0, sizeof got);
    ssm_status st = read_identity(h->file, h->path, &got, err);
    const sw_shard want = sw_tasks_shard(t);
    if (st == SSM_OK && (strcmp(got.kind, t->kind->name) != 0 || got.n_tasks != t->n_tasks ||
                         got.spec_hash != t->spec_hash || got.shard.index != want.index ||
                         got.shard.count != want.count))
        st = ssm_fail(err, SSM_EINVAL, "%s holds %llu tasks of kind %s (spec hash %016llx, shard %llu/%llu), not "
                                       "%zu of kind %s (%016llx, shard %llu/%llu)", h->path,
                      (unsigned long long)got.n_tasks, got.kind, (unsigned long long)got.spec_hash,
                      (unsigned long long)got.shard.index, (unsigned long long)got.shard.count, t->n_tasks,
                      t->kind->name, (unsigned long long)t->spec_hash, (unsigned long long)want.index,
                      (unsigned long long)want.count);
    return st;
}

/* Opens group/name with the chunk cache it had when created and checks
 * that its extent is the one this task table needs. */
static hid_t dataset_open(sw_h5 *h, const char *group, const char *name, int rank, const hsize_t *want,
                          size_t elem, ssm_status *st, ssm_error *err)
{
    char where[256];
    hsize_t dims[2] = {0, 0};
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS), dset = H5I_INVALID_HID, space = H5I_INVALID_HID;
    snprintf(where, sizeof where, "/%s/%s", group, name);
    if (dapl >= 0 && set_cache(dapl, rank, want, elem) >= 0)
        dset = H5Dopen2(h->file, where, dapl);
    close_id(&dapl, H5Pclose);
    if (dset < 0) {
        *st = h5_fail(err, h->path, "open %s", where);
        return dset;
    }
    space = H5Dget_space(dset);
    int got = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
    close_id(&space, H5Sclose);
    if (got != rank || dims[0] != want[0] || (rank == 2 && dims[1] != want[1])) {
        *st = ssm_fail(err, SSM_EINVAL, "%s: %s does not have the shape of this task table", h->path, where);
        close_id(&dset, H5Dclose);
    }
    return dset;
}

/* Which rows hold a failure's reason (see writes_error). */
static ssm_status read_failed_rows(sw_h5 *h, ssm_error *err)
{
    hid_t d = H5Dopen2(h->file, "/tasks/status", H5P_DEFAULT);
    herr_t rc = d >= 0 && (h->n_tasks == 0 ||
                           H5Dread(d, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, h->had_error) >= 0) ? 0 : -1;
    close_id(&d, H5Dclose);
    if (rc < 0)
        return h5_fail(err, h->path, "read /tasks/status");
    for (hsize_t k = 0; k < h->n_tasks; ++k)
        h->had_error[k] = h->had_error[k] == SW_FAILED;
    return SSM_OK;
}

/* Starts SWMR writing, then opens the columns written during the run.
 * In that order: datasets kept open across H5Fstart_swmr_write (which
 * refreshes them) come out with HDF5's default 1 MB chunk cache instead
 * of theirs, and scattered writes then thrash it (measured: 200 us per
 * task instead of 1). */
static ssm_status start_swmr(sw_h5 *h, ssm_error *err)
{
    ssm_status st = SSM_OK;
    if (H5Fstart_swmr_write(h->file) < 0)
        return h5_fail(err, h->path, "start SWMR writing");
    for (size_t k = 0; st == SSM_OK && k < h->n_cols; ++k)
        h->cols[k].dset = dataset_open(h, h->cols[k].group, h->cols[k].name, 1, &h->n_tasks,
                                       H5Tget_size(h->cols[k].file_type), &st, err);
    for (size_t c = 0; st == SSM_OK && c < h->kind->n_curves; ++c) {
        hsize_t dims[2] = {h->n_tasks, h->axes[h->curve_axis[c]].len};
        h->curve[c] = dataset_open(h, "results", h->kind->curves[c].name, 2, dims, sizeof(double), &st, err);
    }
    return st;
}

ssm_status sw_h5_open(const char *path, const sw_tasks *tasks, sw_h5 **out, ssm_error *err)
{
    ssm_status st = SSM_OK;
    *out = NULL;
    quiet_hdf5();
    sw_h5 *h = h5_new(path, tasks, err);
    if (!h)
        return SSM_ENOMEM;
    hid_t fapl = make_fapl();
    if (fapl >= 0)
        h->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    close_id(&fapl, H5Pclose);
    if (h->file < 0) {
        st = h5_fail(err, path, "open the file for writing");
        goto done;
    }
    st = check_identity(h, tasks, err);
    if (st == SSM_OK)
        st = read_failed_rows(h, err);
    if (st == SSM_OK)
        st = start_swmr(h, err);
done:
    if (st) {
        h5_release(h, st, err);
        h5_free(h);
        return st;
    }
    *out = h;
    return SSM_OK;
}

/* ---- writing records ---------------------------------------------------------------- */

/* Task id, then position in the batch: the last record of a task wins. */
static int by_task(const void *pa, const void *pb)
{
    const batch_entry *a = pa, *b = pb;
    if (a->task != b->task)
        return a->task < b->task ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static int reserve(sw_h5 *h, size_t rows, size_t bytes)
{
    if (rows > h->cap_rows) {
        batch_entry *order = realloc(h->order, rows * sizeof *order);
        if (order)
            h->order = order;
        hsize_t *row = realloc(h->row, rows * sizeof *row);
        if (row)
            h->row = row;
        hsize_t *len = realloc(h->len, rows * sizeof *len);
        if (len)
            h->len = len;
        if (!order || !row || !len)
            return -1;
        h->cap_rows = rows;
    }
    if (bytes > h->cap_buf) {
        unsigned char *buf = realloc(h->buf, bytes);
        if (!buf)
            return -1;
        h->buf = buf;
        h->cap_buf = bytes;
    }
    return 0;
}

/* The rows of a batch in a [task] column, as one selection.  Scattered
 * rows (tasks finish in cost order) go in as points: HDF5 builds a union
 * of hundreds of hyperslab blocks and maps it onto the chunks slowly
 * (batches of 512 scattered rows, kind noop: 23 us per task with blocks,
 * 3 us with points).  Rows in runs (id order) are blocks, a little
 * cheaper than points there. */
static herr_t select_rows(hid_t space, const hsize_t *row, size_t m)
{
    size_t runs = 1;
    for (size_t k = 1; k < m; ++k)
        runs += row[k] != row[k - 1] + 1;
    if (runs * 8 > m)
        return H5Sselect_elements(space, H5S_SELECT_SET, m, row);
    if (H5Sselect_none(space) < 0)
        return -1;
    for (size_t k = 0; k < m;) {
        size_t e = k + 1;
        while (e < m && row[e] == row[e - 1] + 1)
            ++e;
        hsize_t start = row[k], count = e - k;
        if (H5Sselect_hyperslab(space, H5S_SELECT_OR, &start, NULL, &count, NULL) < 0)
            return -1;
        k = e;
    }
    return 0;
}

/* One H5Dwrite of m packed values into rows row[0..m) of a [task] column. */
static herr_t write_column(hid_t dset, hid_t mem_type, const hsize_t *row, size_t m, const void *buf)
{
    hsize_t n = m;
    hid_t fspace = H5Dget_space(dset), mspace = H5Screate_simple(1, &n, NULL);
    herr_t rc = fspace >= 0 && mspace >= 0 && select_rows(fspace, row, m) >= 0 &&
                        H5Dwrite(dset, mem_type, mspace, fspace, H5P_DEFAULT, buf) >= 0 ? 0 : -1;
    close_id(&fspace, H5Sclose);
    close_id(&mspace, H5Sclose);
    return rc;
}

/* Rows [row, row + n) x columns [0, len) of a curve from buf: one
 * rectangular block per H5Dwrite, a call per run of rows rather than one
 * per batch: HDF5 intersects a union of blocks with every chunk (512
 * scattered rows of 100 values: 175 us per row as a union, 4 us as
 * blocks of their own). */
static herr_t write_block(hid_t dset, hid_t fspace, hsize_t row, hsize_t n, hsize_t len, const double *buf)
{
    hsize_t start[2] = {row, 0}, count[2] = {n, len}, total = n * len;
    hid_t mspace = H5Screate_simple(1, &total, NULL);
    herr_t rc = mspace >= 0 && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
                        H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, buf) >= 0 ? 0 : -1;
    close_id(&mspace, H5Sclose);
    return rc;
}

static ssm_status check_record(const sw_h5 *h, const sw_record *r, ssm_error *err)
{
    if (r->task >= h->n_tasks)
        return ssm_fail(err, SSM_EINVAL, "%s: task %llu is out of range (%llu tasks)", h->path,
                        (unsigned long long)r->task, (unsigned long long)h->n_tasks);
    if (r->status != SW_DONE && r->status != SW_FAILED)
        return ssm_fail(err, SSM_EINVAL, "%s: the record of task %llu is neither done nor failed", h->path,
                        (unsigned long long)r->task);
    if (r->status == SW_FAILED)
        return SSM_OK;
    if (r->result.n_scalars != h->kind->n_scalars || r->result.n_curves != h->kind->n_curves)
        return ssm_fail(err, SSM_EINVAL, "%s: the record of task %llu does not have the results of kind %s",
                        h->path, (unsigned long long)r->task, h->kind->name);
    for (size_t c = 0; c < h->kind->n_curves; ++c)
        if (r->result.curve_len[c] > h->axes[h->curve_axis[c]].len)
            return ssm_fail(err, SSM_EINVAL, "%s: task %llu has %zu values of %s, the file has room for %llu",
                            h->path, (unsigned long long)r->task, r->result.curve_len[c],
                            h->kind->curves[c].name, (unsigned long long)h->axes[h->curve_axis[c]].len);
    return SSM_OK;
}

/* Curve c of the m records in h->order: a done task's values, a failed
 * task's row back to NaN over the whole axis; tasks without values are
 * left out. */
static ssm_status write_curve(sw_h5 *h, const sw_record *recs, size_t m, size_t c, ssm_error *err)
{
    hsize_t width = h->axes[h->curve_axis[c]].len;
    size_t rows = 0, total = 0;
    for (size_t k = 0; width && k < m; ++k) {
        const sw_record *r = &recs[h->order[k].pos];
        hsize_t len = r->status == SW_DONE ? r->result.curve_len[c] : width;
        if (len) {
            h->row[rows] = r->task;
            h->len[rows++] = len;
            total += len;
        }
    }
    if (rows == 0)
        return SSM_OK;
    if (reserve(h, 0, total * sizeof(double)))
        return ssm_fail(err, SSM_ENOMEM, "out of memory writing %s", h->path);
    double *buf = (double *)(void *)h->buf;
    for (size_t k = 0, at = 0; k < m; ++k) {
        const sw_record *r = &recs[h->order[k].pos];
        if (r->status == SW_DONE) {
            size_t len = r->result.curve_len[c];
            if (len)
                memcpy(buf + at, r->result.curves[c], len * sizeof *buf);
            at += len;
        } else {
            for (hsize_t j = 0; j < width; ++j)
                buf[at++] = NAN;
        }
    }
    hid_t fspace = H5Dget_space(h->curve[c]);
    herr_t rc = fspace >= 0 ? 0 : -1;
    for (size_t k = 0, at = 0; rc == 0 && k < rows;) {
        size_t e = k + 1;   /* a run of consecutive rows of one length */
        while (e < rows && h->row[e] == h->row[e - 1] + 1 && h->len[e] == h->len[k])
            ++e;
        rc = write_block(h->curve[c], fspace, h->row[k], e - k, h->len[k], buf + at);
        at += (e - k) * h->len[k];
        k = e;
    }
    close_id(&fspace, H5Sclose);
    if (rc < 0)
        return h5_fail(err, h->path, "write /results/%s", h->kind->curves[c].name);
    return SSM_OK;
}

/* The error column is written for failed tasks and for the rows of tasks
 * that had failed before (a retry clears the old reason): done rows are
 * the fill "" already, and leaving them alone keeps 320 bytes per task
 * out of every flush. */
static int writes_error(const sw_h5 *h, const sw_record *r)
{
    return r->status == SW_FAILED || h->had_error[r->task];
}

ssm_status sw_h5_write(sw_h5 *h, const sw_record *recs, size_t n, ssm_error *err)
{
    if (n == 0)
        return SSM_OK;
    quiet_hdf5();
    for (size_t k = 0; k < n; ++k) {
        ssm_status st = check_record(h, &recs[k], err);
        if (st)
            return st;
    }
    if (reserve(h, n, n * SW_ERROR_MAX))
        return ssm_fail(err, SSM_ENOMEM, "out of memory writing %s", h->path);
    for (size_t k = 0; k < n; ++k)
        h->order[k] = (batch_entry){recs[k].task, k};
    qsort(h->order, n, sizeof *h->order, by_task);
    size_t m = 0;   /* unique tasks, the last record of each */
    for (size_t k = 0; k < n; ++k) {
        if (k + 1 < n && h->order[k + 1].task == h->order[k].task)
            continue;
        h->order[m++] = h->order[k];
    }
    for (size_t j = 0; j < h->n_cols; ++j) {
        const column *c = &h->cols[j];
        size_t rows = 0;
        for (size_t k = 0; k < m; ++k) {
            const sw_record *r = &recs[h->order[k].pos];
            if (c->what == COL_ERROR && !writes_error(h, r))
                continue;
            column_value(c, r, h->buf + rows * c->size);
            h->row[rows++] = r->task;
        }
        if (rows && write_column(c->dset, c->mem_type, h->row, rows, h->buf) < 0) {
            h->failed = 1;
            return h5_fail(err, h->path, "write /%s/%s", c->group, c->name);
        }
    }
    for (size_t k = 0; k < m; ++k) {
        const sw_record *r = &recs[h->order[k].pos];
        h->had_error[r->task] = r->status == SW_FAILED;
    }
    for (size_t c = 0; c < h->kind->n_curves; ++c) {
        ssm_status st = write_curve(h, recs, m, c, err);
        if (st) {
            h->failed = 1;
            return st;
        }
    }
    return SSM_OK;
}

ssm_status sw_h5_flush(sw_h5 *h, ssm_error *err)
{
    quiet_hdf5();
    if (H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0) {
        h->failed = 1;
        return h5_fail(err, h->path, "flush the file");
    }
    return SSM_OK;
}

/* ---- closing ------------------------------------------------------------------------ */

/* Reopened without SWMR (which cannot add attributes): the end time and
 * the counts, from /tasks/status as it is on disk. */
static ssm_status finish_provenance(const char *path, const char *end_utc, ssm_error *err)
{
    hid_t fapl = make_fapl(), file = H5I_INVALID_HID, dset = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hid_t g = H5I_INVALID_HID;
    int8_t *status = NULL;
    int64_t count[3] = {0, 0, 0};
    ssm_status st = SSM_OK;
    if (fapl >= 0)
        file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    if (file < 0) {
        st = h5_fail(err, path, "reopen the file to finish it");
        goto done;
    }
    dset = H5Dopen2(file, "/tasks/status", H5P_DEFAULT);
    space = dset >= 0 ? H5Dget_space(dset) : H5I_INVALID_HID;
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    status = n >= 0 ? malloc(n ? (size_t)n : 1) : NULL;
    if (!status || (n > 0 && H5Dread(dset, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, status) < 0)) {
        st = h5_fail(err, path, "read /tasks/status");
        goto done;
    }
    for (hssize_t k = 0; k < n; ++k)
        if (status[k] >= 0 && status[k] <= 2)
            ++count[status[k]];
    g = H5Gopen2(file, "/provenance", H5P_DEFAULT);
    if (g < 0 || (end_utc && attr_text(g, "end_utc", end_utc) < 0) || attr_int64(g, "n_done", count[SW_DONE]) < 0 ||
        attr_int64(g, "n_failed", count[SW_FAILED]) < 0 || attr_int64(g, "n_pending", count[SW_PENDING]) < 0)
        st = h5_fail(err, path, "write the counts to /provenance");
done:
    free(status);
    close_id(&g, H5Gclose);
    close_id(&space, H5Sclose);
    close_id(&dset, H5Dclose);
    if (file >= 0 && H5Fclose(file) < 0) {
        ++unclosable_files;
        if (st == SSM_OK)
            st = h5_fail(err, path, "close the file");
    }
    close_id(&fapl, H5Pclose);
    return st;
}

ssm_status sw_h5_close(sw_h5 *h, const char *end_utc, ssm_error *err)
{
    if (!h)
        return SSM_OK;
    quiet_hdf5();
    /* after a failed write the file is left as it is (the journal has
     * what it lacks): reopening it to add the counts would fail again */
    ssm_status st = h->failed ? ssm_fail(err, SSM_EIO, "%s: not finished after an earlier write error", h->path)
                              : SSM_OK;
    st = h5_release(h, st, err);
    if (st == SSM_OK)
        st = finish_provenance(h->path, end_utc, err);
    h5_free(h);
    return st;
}

/* ---- reading ------------------------------------------------------------------------ */

/* Rows read per HDF5 call: large enough that the per-call cost vanishes,
 * small enough that a block of curves stays in memory. */
#define READ_ROWS 1024

/* A variable-length text attribute, malloc'ed; "" when it is absent. */
static char *attr_text_copy(hid_t loc, const char *name)
{
    char *copy = NULL;
    hid_t a = H5Aexists(loc, name) > 0 ? H5Aopen(loc, name, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t type = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    char *value = NULL;
    if (type >= 0 && H5Tis_variable_str(type) > 0 && H5Aread(a, type, &value) >= 0 && value) {
        copy = strdup(value);
        H5free_memory(value);
    }
    close_id(&type, H5Tclose);
    close_id(&a, H5Aclose);
    return copy ? copy : strdup("");
}

static ssm_status read_provenance(hid_t file, const char *path, sw_h5_info *info, ssm_error *err)
{
    hid_t g = H5Lexists(file, "provenance", H5P_DEFAULT) > 0 ? H5Gopen2(file, "provenance", H5P_DEFAULT)
                                                               : H5I_INVALID_HID;
    info->spec = g >= 0 ? attr_text_copy(g, "spec") : strdup("");
    info->spec_path = g >= 0 ? attr_text_copy(g, "spec_path") : strdup("");
    info->hosts = g >= 0 ? attr_text_copy(g, "hosts") : strdup("");
    close_id(&g, H5Gclose);
    if (!info->spec || !info->spec_path || !info->hosts)
        return ssm_fail(err, SSM_ENOMEM, "out of memory reading %s", path);
    return SSM_OK;
}

void sw_h5_info_free(sw_h5_info *info)
{
    if (!info)
        return;
    free(info->spec);
    free(info->spec_path);
    free(info->hosts);
    info->spec = info->spec_path = info->hosts = NULL;
}

/* The inverse of column_value: column c's value at src into record r. */
static void column_load(const column *c, const void *src, sw_record *r)
{
    int8_t status;
    switch (c->what) {
    case COL_STATUS:
        memcpy(&status, src, 1);
        r->status = (sw_status)status;
        return;
    case COL_RANK: memcpy(&r->rank, src, 4); return;
    case COL_HOST: copy_text(r->host, src, SW_HOST_MAX); return;
    case COL_ERROR: copy_text(r->error, src, SW_ERROR_MAX); return;
    case COL_ELAPSED: memcpy(&r->elapsed, src, 8); return;
    case COL_FINISHED: memcpy(&r->finished, src, 8); return;
    case COL_SCALAR: memcpy(&r->result.scalars[c->k], src, 8); return;
    }
}

/* Rows [row, row + n) of a [task] (rank 1) or [task, width] (rank 2)
 * dataset into buf. */
static herr_t read_block(hid_t dset, hid_t mem_type, int rank, hsize_t row, hsize_t n, hsize_t width, void *buf)
{
    hsize_t start[2] = {row, 0}, count[2] = {n, width}, total = rank == 2 ? n * width : n;
    hid_t fspace = H5Dget_space(dset), mspace = H5Screate_simple(1, &total, NULL);
    herr_t rc = fspace >= 0 && mspace >= 0 && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
                        H5Dread(dset, mem_type, mspace, fspace, H5P_DEFAULT, buf) >= 0 ? 0 : -1;
    close_id(&fspace, H5Sclose);
    close_id(&mspace, H5Sclose);
    return rc;
}

/* Trailing values with the fill's bits were never written, or were a NaN
 * with those very bits, which the fill gives back: either way the curve
 * that was written ends before them. */
static size_t written_length(const double *v, size_t width)
{
    while (width > 0 && memcmp(&v[width - 1], &nan_fill, sizeof nan_fill) == 0)
        --width;
    return width;
}

/* The blocks of one reading: the kind's column table (h, its datasets
 * open for reading), the task ids and hashes, and per block the column
 * values, the records and the storage their results point into. */
typedef struct {
    sw_h5 *h;
    int results;
    hid_t task, hash;
    hsize_t *width;                   /* per curve */
    unsigned char *cols;              /* per column READ_ROWS values of 8 to SW_ERROR_MAX bytes */
    size_t col_stride;
    double *curves;                   /* per curve READ_ROWS x width */
    size_t curve_stride;
    int64_t ids[READ_ROWS];
    uint64_t hashes[READ_ROWS];
    sw_record recs[READ_ROWS];
    double *scalars;                  /* READ_ROWS x n_scalars */
    double **curve_ptr;               /* READ_ROWS x n_curves */
    size_t *curve_len;                /* READ_ROWS x n_curves */
} row_reader;

static ssm_status reader_open(row_reader *r, ssm_error *err)
{
    sw_h5 *h = r->h;
    const sw_kind *kind = h->kind;
    size_t nc = kind->n_curves, ns = kind->n_scalars, widest = 0;
    if ((r->task = H5Dopen2(h->file, "/tasks/task", H5P_DEFAULT)) < 0)
        return h5_fail(err, h->path, "open /tasks/task");
    if ((r->hash = H5Dopen2(h->file, "/tasks/hash", H5P_DEFAULT)) < 0)
        return h5_fail(err, h->path, "open /tasks/hash");
    for (size_t k = 0; k < h->n_cols; ++k) {
        const column *c = &h->cols[k];
        if (c->what == COL_SCALAR && !r->results)
            continue;
        char where[256];
        snprintf(where, sizeof where, "/%s/%s", c->group, c->name);
        if ((h->cols[k].dset = H5Dopen2(h->file, where, H5P_DEFAULT)) < 0)
            return h5_fail(err, h->path, "open %s", where);
    }
    r->width = calloc(nc ? nc : 1, sizeof *r->width);
    if (!r->width)
        return ssm_fail(err, SSM_ENOMEM, "out of memory reading %s", h->path);
    for (size_t c = 0; r->results && c < nc; ++c) {
        char where[256];
        hsize_t dims[2] = {0, 0};
        snprintf(where, sizeof where, "/results/%s", kind->curves[c].name);
        h->curve[c] = H5Dopen2(h->file, where, H5P_DEFAULT);
        hid_t space = h->curve[c] >= 0 ? H5Dget_space(h->curve[c]) : H5I_INVALID_HID;
        int rank = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
        close_id(&space, H5Sclose);
        if (rank != 2 || dims[0] != h->n_tasks)
            return h5_fail(err, h->path, "read %s as a [task, %s] curve", where, kind->curves[c].axis);
        r->width[c] = dims[1];
        if (dims[1] > widest)
            widest = dims[1];
    }
    r->col_stride = READ_ROWS * SW_ERROR_MAX;
    r->curve_stride = READ_ROWS * widest;
    r->cols = malloc(h->n_cols * r->col_stride);
    size_t n_values = nc * r->curve_stride;
    r->curves = malloc((n_values ? n_values : 1) * sizeof *r->curves);
    r->scalars = malloc((ns ? ns : 1) * READ_ROWS * sizeof *r->scalars);
    r->curve_ptr = malloc((nc ? nc : 1) * READ_ROWS * sizeof *r->curve_ptr);
    r->curve_len = malloc((nc ? nc : 1) * READ_ROWS * sizeof *r->curve_len);
    if (!r->cols || !r->curves || !r->scalars || !r->curve_ptr || !r->curve_len)
        return ssm_fail(err, SSM_ENOMEM, "out of memory reading %s", h->path);
    return SSM_OK;
}

static void reader_free(row_reader *r)
{
    close_id(&r->task, H5Dclose);
    close_id(&r->hash, H5Dclose);
    free(r->width);
    free(r->cols);
    free(r->curves);
    free(r->scalars);
    free(r->curve_ptr);
    free(r->curve_len);
}

/* Rows [row, row + n) into r->recs. */
static ssm_status read_records(row_reader *r, hsize_t row, size_t n, ssm_error *err)
{
    sw_h5 *h = r->h;
    const sw_kind *kind = h->kind;
    size_t ns = kind->n_scalars, nc = kind->n_curves;
    if (read_block(r->task, H5T_NATIVE_INT64, 1, row, n, 0, r->ids) < 0 ||
        read_block(r->hash, H5T_NATIVE_UINT64, 1, row, n, 0, r->hashes) < 0)
        return h5_fail(err, h->path, "read rows %llu.. of /tasks/task and /tasks/hash", (unsigned long long)row);
    for (size_t k = 0; k < h->n_cols; ++k) {
        const column *c = &h->cols[k];
        if (c->dset >= 0 && read_block(c->dset, c->mem_type, 1, row, n, 0, r->cols + k * r->col_stride) < 0)
            return h5_fail(err, h->path, "read /%s/%s", c->group, c->name);
    }
    for (size_t c = 0; c < nc; ++c)
        if (h->curve[c] >= 0 && r->width[c] &&
            read_block(h->curve[c], H5T_NATIVE_DOUBLE, 2, row, n, r->width[c], r->curves + c * r->curve_stride) < 0)
            return h5_fail(err, h->path, "read /results/%s", kind->curves[c].name);
    for (size_t i = 0; i < n; ++i) {
        sw_record *rec = &r->recs[i];
        memset(rec, 0, sizeof *rec);
        rec->task = (uint64_t)r->ids[i];
        rec->hash = r->hashes[i];
        column_load(&h->cols[0], r->cols + i * h->cols[0].size, rec);   /* the status decides what follows */
        int values = r->results && rec->status == SW_DONE;
        if (values)
            rec->result = (sw_result){ns, nc, r->scalars + i * ns, r->curve_ptr + i * nc, r->curve_len + i * nc};
        for (size_t k = 1; k < h->n_cols; ++k)
            if (h->cols[k].what != COL_SCALAR || values)
                column_load(&h->cols[k], r->cols + k * r->col_stride + i * h->cols[k].size, rec);
        for (size_t c = 0; values && c < nc; ++c) {
            double *v = r->curves + c * r->curve_stride + i * r->width[c];
            rec->result.curves[c] = v;
            rec->result.curve_len[c] = written_length(v, r->width[c]);
        }
    }
    return SSM_OK;
}

static ssm_status read_rows(sw_h5 *h, int results, sw_h5_visit visit, void *ctx, ssm_error *err)
{
    row_reader *r = calloc(1, sizeof *r);
    if (!r)
        return ssm_fail(err, SSM_ENOMEM, "out of memory reading %s", h->path);
    r->h = h;
    r->results = results;
    r->task = r->hash = H5I_INVALID_HID;
    ssm_status st = reader_open(r, err);
    for (hsize_t row = 0; st == SSM_OK && row < h->n_tasks; row += READ_ROWS) {
        size_t n = (size_t)(h->n_tasks - row < READ_ROWS ? h->n_tasks - row : READ_ROWS);
        st = read_records(r, row, n, err);
        if (st == SSM_OK && visit(ctx, r->recs, r->hashes, n) != 0)
            break;
    }
    reader_free(r);
    free(r);
    return st;
}

/* Metadata reads under SWMR are retried when a checksum fails (the writer
 * may be half-way through a flush), with doubling sleeps from 1 ns:
 * HDF5's default of 100 attempts is 2^100 ns on a damaged file.  24
 * attempts wait at most ~17 ms in all, ample for a writer's flush. */
#define SWMR_READ_ATTEMPTS 24

/* The file consistency flags of an HDF5 superblock (version 3, which
 * SWMR needs): bit 0 "open for writing", bit 2 "open for SWMR writing",
 * set by a writer until it closes the file (and left by one that was
 * killed).  0 for older superblocks and files without one. */
int sw_h5_write_flags(const char *path)
{
    static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char sb[12];
    int flags = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    /* the superblock is at 0, 512, 1024, 2048, ... (a user block before it) */
    for (off_t at = 0; at + (off_t)sizeof sb <= st.st_size; at = at ? 2 * at : 512)
        if (pread(fd, sb, sizeof sb, at) == (ssize_t)sizeof sb && memcmp(sb, signature, 8) == 0) {
            flags = sb[8] >= 3 ? sb[11] & 0x05 : 0;
            break;
        }
    close(fd);
    return flags;
}

/* A file a sweep is writing (or left open by a killed writer) is read in
 * SWMR mode, with bounded retries; any other file the plain way, where a
 * damaged block is an error at once. */
static hid_t open_for_reading(const char *path)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), file = H5I_INVALID_HID;
    if (fapl < 0)
        return H5I_INVALID_HID;
    if (sw_h5_write_flags(path)) {
        if (H5Pset_metadata_read_attempts(fapl, SWMR_READ_ATTEMPTS) >= 0)
            file = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    } else {
        file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    }
    H5Pclose(fapl);
    return file;
}

ssm_status sw_h5_read(const char *path, sw_h5_info *info, int results, sw_h5_visit visit, void *ctx,
                      ssm_error *err)
{
    struct stat sb;
    sw_h5 *h = NULL;
    ssm_status st = SSM_OK;
    hid_t file = H5I_INVALID_HID;
    memset(info, 0, sizeof *info);
    quiet_hdf5();
    if (stat(path, &sb) != 0)
        return ssm_fail(err, SSM_EINVAL, "cannot open %s: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return ssm_fail(err, SSM_EINVAL, "%s is not an HDF5 file", path);
    file = open_for_reading(path);
    if (file < 0)
        st = h5_fail(err, path, "open the file");
    if (st == SSM_OK)
        st = read_identity(file, path, info, err);
    if (st == SSM_OK)
        st = read_provenance(file, path, info, err);
    const sw_kind *kind = sw_kind_find(info->kind);
    if (st == SSM_OK && visit && !kind)
        st = ssm_fail(err, SSM_EINVAL, "%s holds tasks of kind %s, which this ssmsweep does not know", path,
                      info->kind);
    if (st == SSM_OK && visit) {
        /* the kind's column table, as the writer has it */
        sw_tasks none = {.kind = kind};
        h = h5_new(path, &none, err);
        st = h ? SSM_OK : SSM_ENOMEM;
    }
    if (st == SSM_OK && visit) {
        h->file = file;
        file = H5I_INVALID_HID;
        h->n_tasks = info->n_tasks;
        st = read_rows(h, results, visit, ctx, err);
    }
    if (h) {
        st = h5_release(h, st, err);
        h5_free(h);
    }
    if (file >= 0 && H5Fclose(file) < 0 && st == SSM_OK)
        st = h5_fail(err, path, "close the file");
    /* HDF5 failing without a system error: the file's content is at fault */
    if (st == SSM_EIO && !failure_errno && err)
        err->code = st = SSM_EINVAL;
    return st;
}
