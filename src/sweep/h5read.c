/* Reading a results file back (sw_h5_read, h5out.h). */
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
    h5_close_id(&type, H5Tclose);
    h5_close_id(&a, H5Aclose);
    return copy ? copy : strdup("");
}

static ssm_status read_provenance(hid_t file, const char *path, sw_h5_info *info, ssm_error *err)
{
    hid_t g = H5Lexists(file, "provenance", H5P_DEFAULT) > 0 ? H5Gopen2(file, "provenance", H5P_DEFAULT)
                                                               : H5I_INVALID_HID;
    info->spec = g >= 0 ? attr_text_copy(g, "spec") : strdup("");
    info->spec_path = g >= 0 ? attr_text_copy(g, "spec_path") : strdup("");
    info->hosts = g >= 0 ? attr_text_copy(g, "hosts") : strdup("");
    h5_close_id(&g, H5Gclose);
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

/* The inverse of h5_column_value: column c's value at src into record r. */
static void column_load(const column *c, const void *src, sw_record *r)
{
    int8_t status;
    switch (c->what) {
    case COL_STATUS:
        memcpy(&status, src, 1);
        r->status = (sw_status)status;
        return;
    case COL_RANK: memcpy(&r->rank, src, 4); return;
    case COL_HOST: h5_copy_text(r->host, src, SW_HOST_MAX); return;
    case COL_ERROR: h5_copy_text(r->error, src, SW_ERROR_MAX); return;
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
    h5_close_id(&fspace, H5Sclose);
    h5_close_id(&mspace, H5Sclose);
    return rc;
}

/* Trailing values with the fill's bits were never written, or were a NaN
 * with those very bits, which the fill gives back: either way the curve
 * that was written ends before them. */
static size_t written_length(const double *v, size_t width)
{
    while (width > 0 && memcmp(&v[width - 1], &h5_nan_fill, sizeof h5_nan_fill) == 0)
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
        h5_close_id(&space, H5Sclose);
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
    h5_close_id(&r->task, H5Dclose);
    h5_close_id(&r->hash, H5Dclose);
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

ssm_status sw_h5_read(const char *path, const sw_registry *kinds, sw_h5_info *info, int results, sw_h5_visit visit,
                      void *ctx, ssm_error *err)
{
    struct stat sb;
    sw_h5 *h = NULL;
    ssm_status st = SSM_OK;
    hid_t file = H5I_INVALID_HID;
    memset(info, 0, sizeof *info);
    h5_quiet();
    if (stat(path, &sb) != 0)
        return ssm_fail(err, SSM_EINVAL, "cannot open %s: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return ssm_fail(err, SSM_EINVAL, "%s is not an HDF5 file", path);
    file = open_for_reading(path);
    if (file < 0 && sw_h5_write_flags(path) == SW_H5_WRITING_NOT_SWMR)
        st = ssm_fail(err, SSM_EIO,
                      "%s is open for writing outside SWMR (ssmsweep closing it, or killed while closing): "
                      "`ssmsweep run SPEC -o %s --resume` rebuilds it from its journal (`h5clear -s` reads it as it is)",
                      path, path);
    else if (file < 0)
        st = h5_fail(err, path, "open the file");
    if (st == SSM_OK)
        st = h5_read_identity(file, path, info, err);
    if (st == SSM_OK)
        st = read_provenance(file, path, info, err);
    const sw_kind *kind = sw_registry_find(kinds, info->kind);
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
    if (st == SSM_EIO && !h5_failure_errno && err)
        err->code = st = SSM_EINVAL;
    return st;
}
