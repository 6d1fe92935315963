/* The HDF5 results file: errors, the column table and attributes (h5internal.h). */
#include "config.h"

#include "h5internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfiles.h"

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
int h5_unclosable_files;
/* Any HDF5 failure: a damaged file can leave objects in HDF5's caches that
 * its shutdown then loops over ("infinite loop closing library"). */
static int hdf5_failures;

/* The errno of the last failure h5_fail reported (0: HDF5 named none, so
 * the file's content was at fault, not the system). */
static _Thread_local int last_errno;
_Thread_local int h5_failure_errno;

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
void h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, keep_detail, NULL);
    last_detail[0] = '\0';
    last_errno = h5_failure_errno = 0;
}

/* "PATH: cannot WHAT (detail)", one line.  When the file system refused
 * a lock (errno 37 or 524 on NFS and Lustre; 11 is another process
 * holding it, a different story) it names the switch that helps. */
ssm_status h5_fail(ssm_error *err, const char *path, const char *fmt, ...)
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
    h5_failure_errno = last_errno;
    last_errno = 0;
    /* after a failed system call HDF5 may hold a file it cannot close
     * (one whose creation failed half-way has no id to count): it is not
     * shut down at the end */
    h5_unclosable_files += h5_failure_errno != 0;
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
    if (!h5_unclosable_files && !hdf5_failures)
        H5close();
}

void h5_close_id(hid_t *id, herr_t (*close)(hid_t))
{
    if (*id >= 0)
        close(*id);
    *id = H5I_INVALID_HID;
}

/* ---- the column table -------------------------------------------------------- */

const double h5_nan_fill = NAN;
static const int8_t status_fill = SW_PENDING;
static const int32_t rank_fill = -1;

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
        {COL_ELAPSED, 0, "tasks", "elapsed", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, &h5_nan_fill, "s",
         "time spent in the task", H5I_INVALID_HID},
        {COL_FINISHED, 0, "tasks", "finished", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, &h5_nan_fill,
         "seconds since 1970-01-01 00:00:00 UTC", "time the task finished", H5I_INVALID_HID},
    };
    memcpy(h->cols, task_cols, sizeof task_cols);
    for (size_t k = 0; k < h->kind->n_scalars; ++k) {
        const sw_output_desc *o = &h->kind->scalars[k];
        h->cols[N_TASK_COLUMNS + k] = (column){COL_SCALAR, k, "results", o->name, H5T_IEEE_F64LE,
                                               H5T_NATIVE_DOUBLE, 8, &h5_nan_fill, o->units, o->long_name,
                                               H5I_INVALID_HID};
    }
    h->n_cols = N_TASK_COLUMNS + h->kind->n_scalars;
}

void h5_copy_text(void *dst, const char *src, size_t size)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    memset((char *)dst + n, 0, size - n);
}

/* The value of column c for record r, in c's memory type.  A failed
 * task's results are NaN: the row says what the last record said. */
void h5_column_value(const column *c, const sw_record *r, void *dst)
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
        h5_copy_text(dst, r->host, SW_HOST_MAX);
        return;
    case COL_ERROR:
        h5_copy_text(dst, r->error, SW_ERROR_MAX);
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

hid_t h5_fixed_string(size_t size, H5T_str_t pad)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, size ? size : 1) < 0 || H5Tset_strpad(t, pad) < 0 ||
                   H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    return t;
}

/* The longest curve of each kind curve over the tasks of t. */
typedef struct {
    const sw_kind *kind;
    hsize_t *len;
} curve_lengths;

static void longest_curves(void *ctx, size_t row, const sw_value *v)
{
    curve_lengths *c = ctx;
    (void)row;
    for (size_t k = 0; k < c->kind->n_curves; ++k) {
        hsize_t len = c->kind->curve_length(v, k);
        if (len > c->len[k])
            c->len[k] = len;
    }
}

/* Curve axes: one per distinct axis name, as long as the longest curve
 * on it over all tasks (known before anything runs; curve lengths do not
 * depend on `repeat`: once per combination). */
static int axes_describe(sw_h5 *h, const sw_tasks *t)
{
    const sw_kind *kind = h->kind;
    hsize_t *len = calloc(kind->n_curves ? kind->n_curves : 1, sizeof *len);
    curve_lengths c = {kind, len};
    ssm_error ignored;
    if (!len || sw_tasks_each_combo(t, longest_curves, &c, &ignored) != SSM_OK) {
        free(len);
        return -1;
    }
    for (size_t k = 0; k < kind->n_curves; ++k) {
        size_t a = 0;
        while (a < h->n_axes && strcmp(h->axes[a].name, kind->curves[k].axis) != 0)
            ++a;
        if (a == h->n_axes)
            h->axes[h->n_axes++] = (axis){kind->curves[k].axis, 0};
        h->curve_axis[k] = a;
        if (len[k] > h->axes[a].len)
            h->axes[a].len = len[k];
    }
    free(len);
    return 0;
}


sw_h5 *h5_new(const char *path, const sw_tasks *t, ssm_error *err)
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
    h->str_host = h5_fixed_string(SW_HOST_MAX, H5T_STR_NULLTERM);
    h->str_error = h5_fixed_string(SW_ERROR_MAX, H5T_STR_NULLTERM);
    if (!h->cols || !h->curve || !h->curve_axis || !h->axes || !h->had_error || h->str_host < 0 ||
        h->str_error < 0) {
        ssm_fail(err, SSM_ENOMEM, "out of memory for %s", path);
        h5_close_id(&h->str_host, H5Tclose);   /* nothing else to close yet */
        h5_close_id(&h->str_error, H5Tclose);
        h5_free(h);
        return NULL;
    }
    for (size_t c = 0; c < nc; ++c)
        h->curve[c] = H5I_INVALID_HID;
    columns_describe(h);
    if (axes_describe(h, t) < 0) {
        ssm_fail(err, SSM_ENOMEM, "out of memory for %s", path);
        h5_close_id(&h->str_host, H5Tclose);
        h5_close_id(&h->str_error, H5Tclose);
        h5_free(h);
        return NULL;
    }
    return h;
}

/* Closes every handle h holds and the file; SSM_EIO (naming the count)
 * if HDF5 still had objects of the file open, which would keep it open. */
ssm_status h5_release(sw_h5 *h, ssm_status st, ssm_error *err)
{
    for (size_t k = 0; k < h->n_cols; ++k)
        h5_close_id(&h->cols[k].dset, H5Dclose);
    for (size_t c = 0; c < h->kind->n_curves; ++c)
        h5_close_id(&h->curve[c], H5Dclose);
    h5_close_id(&h->str_host, H5Tclose);
    h5_close_id(&h->str_error, H5Tclose);
    if (h->file >= 0) {
        ssize_t open = H5Fget_obj_count(h->file, H5F_OBJ_ALL | H5F_OBJ_LOCAL);
        if (open > 1 && st == SSM_OK)
            st = ssm_fail(err, SSM_EIO, "%s: %zd HDF5 objects left open (a bug in ssmsweep)", h->path, open - 1);
        if (H5Fclose(h->file) < 0) {
            ++h5_unclosable_files;
            if (st == SSM_OK)
                st = h5_fail(err, h->path, "close the file");
        }
        h->file = H5I_INVALID_HID;
    }
    return st;
}

void h5_free(sw_h5 *h)
{
    free(h->cols);
    free(h->curve);
    free(h->curve_axis);
    free(h->axes);
    free(h->had_error);
    free(h->fill);
    free(h->order);
    free(h->row);
    free(h->len);
    free(h->buf);
    free(h->pend);
    free(h->pend_status);
    free(h);
}

/* The newest format: SWMR needs its checksummed metadata. */
hid_t h5_make_fapl(void)
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
herr_t h5_attr_put(hid_t loc, const char *name, hid_t type, hid_t space, const void *buf)
{
    herr_t rc = -1;
    hid_t a = H5I_INVALID_HID;
    htri_t exists = H5Aexists(loc, name);
    if (exists < 0 || (exists > 0 && H5Adelete(loc, name) < 0))
        return -1;
    a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0 && H5Awrite(a, type, buf) >= 0)
        rc = 0;
    h5_close_id(&a, H5Aclose);
    return rc;
}

herr_t h5_attr_scalar(hid_t loc, const char *name, hid_t type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    herr_t rc = space >= 0 ? h5_attr_put(loc, name, type, space, value) : -1;
    h5_close_id(&space, H5Sclose);
    return rc;
}

/* A variable-length UTF-8 string: what h5py and xarray read back as str. */
herr_t h5_attr_text(hid_t loc, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    herr_t rc = -1;
    const char *v = value ? value : "";
    if (type >= 0 && H5Tset_size(type, H5T_VARIABLE) >= 0 && H5Tset_cset(type, H5T_CSET_UTF8) >= 0)
        rc = h5_attr_scalar(loc, name, type, &v);
    h5_close_id(&type, H5Tclose);
    return rc;
}

herr_t h5_attr_int64(hid_t loc, const char *name, int64_t value)
{
    return h5_attr_scalar(loc, name, H5T_NATIVE_INT64, &value);
}

/* CF: units and long_name on every variable. */
herr_t h5_attr_cf(hid_t loc, const char *units, const char *long_name)
{
    return h5_attr_text(loc, "units", units) < 0 || h5_attr_text(loc, "long_name", long_name) < 0 ? -1 : 0;
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
    h5_close_id(&type, H5Tclose);
    h5_close_id(&a, H5Aclose);
    return rc;
}

static herr_t attr_read_int64(hid_t loc, const char *name, int64_t *value)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    herr_t rc = a >= 0 ? H5Aread(a, H5T_NATIVE_INT64, value) : -1;
    h5_close_id(&a, H5Aclose);
    return rc;
}

/* What a results file says it holds: the attributes of /.  Files from
 * before shards have no shard attributes and hold a whole spec. */
ssm_status h5_read_identity(hid_t file, const char *path, sw_h5_info *info, ssm_error *err)
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
