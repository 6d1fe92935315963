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
    size_t cache = CURVE_CACHE_BYTES;
    if (rank == 1) {
        cache = COLUMN_CACHE_ROWS * elem;
        cache = cache < COLUMN_CACHE_BYTES ? cache : COLUMN_CACHE_BYTES;
    }
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
    if (dset >= 0 && h5_attr_cf(dset, units, long_name) < 0)
        h5_close_id(&dset, H5Dclose);
    h5_close_id(&space, H5Sclose);
    h5_close_id(&dcpl, H5Pclose);
    h5_close_id(&dapl, H5Pclose);
    return dset;
}

/* A [task] column written once, at creation (ids, parameters, hashes,
 * seeds): created and attached to scale (unless it is the scale) now,
 * filled later in slabs by fill_static, so no column is ever whole in
 * memory. */
static herr_t static_column(sw_h5 *h, hid_t group, hid_t scale, const char *name, hid_t file_type, hid_t mem_type,
                            fill_what what, int param, const char *units, const char *long_name, hid_t *keep)
{
    if (h->n_fill == h->cap_fill) {
        size_t cap = h->cap_fill ? 2 * h->cap_fill : 32;
        fill_col *bigger = realloc(h->fill, cap * sizeof *bigger);
        if (!bigger)
            return -1;
        h->fill = bigger;
        h->cap_fill = cap;
    }
    hid_t dset = dataset_create(group, name, STORE_ONCE, file_type, 1, &h->n_tasks, mem_type, NULL, units, long_name);
    herr_t rc = dset >= 0 ? 0 : -1;
    if (rc == 0 && scale >= 0)
        rc = H5DSattach_scale(dset, scale, 0);
    if (rc == 0 && H5Tget_class(file_type) == H5T_STRING)   /* xarray decodes fixed-length strings to str with it */
        rc = h5_attr_text(dset, "_Encoding", "utf-8");
    if (rc < 0) {
        h5_close_id(&dset, H5Dclose);
        return rc;
    }
    h->fill[h->n_fill++] = (fill_col){dset, H5Tcopy(mem_type), H5Tget_size(mem_type), what, param};
    if (keep)
        *keep = H5Dopen2(group, name, H5P_DEFAULT);   /* a handle of the caller's: the fill closes its own */
    return keep && *keep < 0 ? -1 : 0;
}

/* A dimension scale "name" in group: int64 0..n-1, written now (curve
 * axes: as long as the longest curve, which one task holds anyway). */
static hid_t scale_create(hid_t group, const char *name, hsize_t n, const char *long_name)
{
    hid_t scale = dataset_create(group, name, STORE_ONCE, H5T_STD_I64LE, 1, &n, H5T_NATIVE_INT64, NULL, "1",
                                 long_name);
    int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    for (hsize_t k = 0; ids && k < n; ++k)
        ids[k] = (int64_t)k;
    if (scale >= 0 && (!ids || (n && H5Dwrite(scale, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids) < 0) ||
                       H5DSset_scale(scale, name) < 0))
        h5_close_id(&scale, H5Dclose);
    free(ids);
    return scale;
}

/* The task scale of a group: the tasks' ids in the whole spec, so rows
 * of a shard file say which tasks they are (0..n-1 for a whole spec);
 * filled with the other static columns. */
static hid_t task_scale(sw_h5 *h, hid_t group)
{
    hid_t scale = H5I_INVALID_HID;
    if (static_column(h, group, H5I_INVALID_HID, "task", H5T_STD_I64LE, H5T_NATIVE_INT64, FILL_ID, -1, "1",
                      "task id", &scale) < 0 || H5DSset_scale(scale, "task") < 0)
        h5_close_id(&scale, H5Dclose);
    return scale;
}

/* Row row's value of static column f into dst. */
static void fill_value(const fill_col *f, const sw_tasks *t, const sw_task_cursor *c, size_t row, void *dst)
{
    int64_t id;
    switch (f->what) {
    case FILL_ID:
        id = (int64_t)sw_task_id(t, row);
        memcpy(dst, &id, sizeof id);
        return;
    case FILL_HASH:
        memcpy(dst, &c->hash, sizeof c->hash);
        return;
    case FILL_SEED:
        memcpy(dst, &c->seed, sizeof c->seed);
        return;
    case FILL_PARAM:
        break;
    }
    const sw_value *v = &c->values[f->param];
    if (v->type == SW_INT) {
        int64_t i = v->i;
        memcpy(dst, &i, sizeof i);
    } else if (v->type == SW_REAL) {
        memcpy(dst, &v->r, sizeof v->r);
    } else {   /* the type is as long as the longest value: padded with NULs */
        const char *text = v->s ? v->s : "";
        size_t len = strlen(text);
        memset(dst, 0, f->elem);
        memcpy(dst, text, len < f->elem ? len : f->elem);
    }
}

/* Closes what static_column opened (after fill_static, or a failure). */
static void close_static(sw_h5 *h)
{
    for (size_t k = 0; k < h->n_fill; ++k) {
        h5_close_id(&h->fill[k].dset, H5Dclose);
        h5_close_id(&h->fill[k].mem_type, H5Tclose);
    }
    h->n_fill = 0;
}

/* Fills the static columns, SLAB_ROWS rows at a time, from a cursor over
 * the rows (no rank holds a table: values, hashes and seeds are computed
 * from the ids), and closes them. */
static herr_t fill_static(sw_h5 *h, const sw_tasks *t)
{
    size_t row_bytes = 0;
    for (size_t k = 0; k < h->n_fill; ++k)
        row_bytes += h->fill[k].elem;
    unsigned char *buf = malloc(SLAB_ROWS * (row_bytes ? row_bytes : 1));
    sw_task_cursor c;
    ssm_error ignored;
    herr_t rc = buf && sw_task_cursor_start(&c, t, &ignored) == SSM_OK ? 0 : -1;
    for (hsize_t row0 = 0; rc == 0 && row0 < h->n_tasks; row0 += SLAB_ROWS) {
        hsize_t n = h->n_tasks - row0 < SLAB_ROWS ? h->n_tasks - row0 : SLAB_ROWS;
        for (hsize_t r = 0; r < n; ++r) {
            sw_task_cursor_at(&c, (size_t)(row0 + r));
            unsigned char *at = buf;
            for (size_t k = 0; k < h->n_fill; ++k) {
                const fill_col *f = &h->fill[k];
                fill_value(f, t, &c, (size_t)(row0 + r), at + r * f->elem);
                at += SLAB_ROWS * f->elem;
            }
        }
        unsigned char *at = buf;
        for (size_t k = 0; rc == 0 && k < h->n_fill; ++k) {
            const fill_col *f = &h->fill[k];
            hid_t file_space = H5Dget_space(f->dset), mem_space = H5Screate_simple(1, &n, NULL);
            rc = file_space >= 0 && mem_space >= 0 &&
                 H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &row0, NULL, &n, NULL) >= 0 &&
                 H5Dwrite(f->dset, f->mem_type, mem_space, file_space, H5P_DEFAULT, at) >= 0 ? 0 : -1;
            h5_close_id(&file_space, H5Sclose);
            h5_close_id(&mem_space, H5Sclose);
            at += SLAB_ROWS * f->elem;
        }
    }
    if (buf && c.t)
        sw_task_cursor_end(&c);
    free(buf);
    return rc;
}

/* A group that lists its members in creation order (kind order). */
hid_t h5_group_create(hid_t file, const char *name)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), g = H5I_INVALID_HID;
    if (gcpl >= 0 && H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0)
        g = H5Gcreate2(file, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    h5_close_id(&gcpl, H5Pclose);
    return g;
}

/* ---- creation ----------------------------------------------------------------- */

/* The parameter columns: int64, float64, or fixed-length UTF-8 strings
 * as long as the longest value (not one variable-length string per row:
 * 10^7 rows of those cost 10^7 heap objects and minutes to write). */
static herr_t create_params(sw_h5 *h, hid_t group, hid_t scale, const sw_tasks *t, const char **failed)
{
    const sw_kind *kind = t->kind;
    herr_t rc = 0;
    for (size_t p = 0; rc == 0 && p < kind->n_params; ++p) {
        const sw_param_desc *d = &kind->params[p];
        hid_t str = d->type == SW_STRING ? h5_fixed_string(sw_tasks_max_strlen(t, (int)p), H5T_STR_NULLPAD)
                                         : H5I_INVALID_HID;
        hid_t file_type = d->type == SW_INT ? H5T_STD_I64LE : d->type == SW_REAL ? H5T_IEEE_F64LE : str;
        hid_t mem_type = d->type == SW_INT ? H5T_NATIVE_INT64 : d->type == SW_REAL ? H5T_NATIVE_DOUBLE : str;
        *failed = d->name;
        rc = file_type >= 0 ? static_column(h, group, scale, d->name, file_type, mem_type, FILL_PARAM, (int)p, d->units,
                                            d->long_name, NULL)
                            : -1;
        h5_close_id(&str, H5Tclose);
    }
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
        rc = space < 0 || h5_attr_put(dset, "flag_values", H5T_NATIVE_INT8, space, flags) < 0 ||
                     h5_attr_text(dset, "flag_meanings", "pending done failed") < 0 ? -1 : 0;
        h5_close_id(&space, H5Sclose);
    }
    /* xarray decodes fixed-length strings to str with it */
    if (c->what == COL_HOST || c->what == COL_ERROR)
        rc = h5_attr_text(dset, "_Encoding", "utf-8");
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
        h5_close_id(&d, H5Dclose);
    }
    return rc;
}

/* /tasks: the run's columns, then the content hashes and seeds. */
static ssm_status create_tasks_group(sw_h5 *h, ssm_error *err)
{
    const char *what = "";
    hid_t g = h5_group_create(h->file, "tasks"), scale = H5I_INVALID_HID;
    herr_t rc = g >= 0 ? 0 : -1;
    if (rc == 0) {
        what = "task";
        scale = task_scale(h, g);
        rc = scale >= 0 ? create_run_columns(h, g, "tasks", scale, &what) : -1;
    }
    if (rc == 0) {
        what = "hash";
        rc = static_column(h, g, scale, "hash", H5T_STD_U64LE, H5T_NATIVE_UINT64, FILL_HASH, -1, "1",
                           "64-bit hash of the task's canonical parameters", NULL);
    }
    if (rc == 0) {
        what = "seed";
        rc = static_column(h, g, scale, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, FILL_SEED, -1, "1",
                           "random seed of the task", NULL);
    }
    h5_close_id(&scale, H5Dclose);
    h5_close_id(&g, H5Gclose);
    if (rc < 0)
        return h5_fail(err, h->path, "create /tasks%s%s", *what ? "/" : "", what);
    return SSM_OK;
}

/* /results: scalars [task] and curves [task, axis], each group with its
 * own task scale (see the layout note in h5out.h). */
static ssm_status create_results_group(sw_h5 *h, ssm_error *err)
{
    const char *what = "";
    hid_t g = h5_group_create(h->file, "results"), scale = H5I_INVALID_HID;
    hid_t *axis_scale = malloc((h->n_axes ? h->n_axes : 1) * sizeof *axis_scale);
    for (size_t a = 0; axis_scale && a < h->n_axes; ++a)
        axis_scale[a] = H5I_INVALID_HID;
    herr_t rc = g >= 0 && axis_scale ? 0 : -1;
    if (rc == 0) {
        what = "task";
        scale = task_scale(h, g);
        rc = scale >= 0 ? 0 : -1;
    }
    for (size_t a = 0; rc == 0 && a < h->n_axes; ++a) {
        what = h->axes[a].name;
        axis_scale[a] = scale_create(g, h->axes[a].name, h->axes[a].len, h->axes[a].name);
        rc = axis_scale[a] >= 0 ? 0 : -1;
    }
    if (rc == 0)
        rc = create_run_columns(h, g, "results", scale, &what);
    for (size_t c = 0; rc == 0 && c < h->kind->n_curves; ++c) {
        const sw_curve_desc *d = &h->kind->curves[c];
        size_t a = h->curve_axis[c];
        hsize_t dims[2] = {h->n_tasks, h->axes[a].len};
        what = d->name;
        hid_t dset = dataset_create(g, d->name, STORE_CURVE, H5T_IEEE_F64LE, 2, dims, H5T_NATIVE_DOUBLE, &h5_nan_fill,
                                    d->units, d->long_name);
        rc = dset >= 0 && H5DSattach_scale(dset, scale, 0) >= 0 && H5DSattach_scale(dset, axis_scale[a], 1) >= 0
                 ? 0 : -1;
        h5_close_id(&dset, H5Dclose);
    }
    for (size_t a = 0; axis_scale && a < h->n_axes; ++a)
        h5_close_id(&axis_scale[a], H5Dclose);
    free(axis_scale);
    h5_close_id(&scale, H5Dclose);
    h5_close_id(&g, H5Gclose);
    if (rc < 0)
        return h5_fail(err, h->path, "create /results%s%s", *what ? "/" : "", what);
    return SSM_OK;
}

static ssm_status create_params_group(sw_h5 *h, const sw_tasks *t, ssm_error *err)
{
    const char *what = "";
    hid_t g = h5_group_create(h->file, "params"), scale = H5I_INVALID_HID;
    herr_t rc = g >= 0 ? 0 : -1;
    if (rc == 0) {
        what = "task";
        scale = task_scale(h, g);
        rc = scale >= 0 ? create_params(h, g, scale, t, &what) : -1;
    }
    h5_close_id(&scale, H5Dclose);
    h5_close_id(&g, H5Gclose);
    if (rc < 0)
        return h5_fail(err, h->path, "create /params%s%s", *what ? "/" : "", what);
    return SSM_OK;
}

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

/* The root attribute axes: the spec's axes as JSON (sw_space_axes_json),
 * so that a reader can shape the columns without parsing the spec. */
static ssm_status write_axes(sw_h5 *h, const sw_tasks *t, ssm_error *err)
{
    if (!t->space)   /* a table built by hand (tests) has no axes */
        return SSM_OK;
    char *text = sw_space_axes_json(t->space);
    hid_t root = H5Gopen2(h->file, "/", H5P_DEFAULT);
    herr_t rc = text && root >= 0 && h5_attr_text(root, "axes", text) >= 0 ? 0 : -1;
    h5_close_id(&root, H5Gclose);
    free(text);
    return rc < 0 ? h5_fail(err, h->path, "write the attribute axes") : SSM_OK;
}

ssm_status sw_h5_create(const char *path, const sw_tasks *tasks, const sw_provenance *prov, sw_h5 **out,
                        ssm_error *err)
{
    struct stat sb;
    *out = NULL;
    h5_quiet();
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
    hid_t fapl = st == SSM_OK ? h5_make_fapl() : H5I_INVALID_HID;
    if (fapl >= 0)
        h->file = H5Fcreate(building, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
    h5_close_id(&fapl, H5Pclose);
    if (st == SSM_OK && h->file < 0)
        st = h5_fail(err, path, "create the file");
    /* every object exists before SWMR writing starts: it cannot add any */
    if (st == SSM_OK)
        st = h5_write_provenance(h, tasks, prov, err);
    if (st == SSM_OK)
        st = write_axes(h, tasks, err);
    if (st == SSM_OK)
        st = create_params_group(h, tasks, err);
    if (st == SSM_OK)
        st = create_results_group(h, err);
    if (st == SSM_OK)
        st = create_tasks_group(h, err);
    if (st == SSM_OK && fill_static(h, tasks) < 0)
        st = h5_fail(err, path, "write the parameters, task ids, hashes and seeds");
    close_static(h);
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

static ssm_status check_identity(sw_h5 *h, const sw_tasks *t, ssm_error *err)
{
    sw_h5_info got;
    memset(&got, 0, sizeof got);
    ssm_status st = h5_read_identity(h->file, h->path, &got, err);
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
    h5_close_id(&dapl, H5Pclose);
    if (dset < 0) {
        *st = h5_fail(err, h->path, "open %s", where);
        return dset;
    }
    space = H5Dget_space(dset);
    int got = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
    h5_close_id(&space, H5Sclose);
    if (got != rank || dims[0] != want[0] || (rank == 2 && dims[1] != want[1])) {
        *st = ssm_fail(err, SSM_EINVAL, "%s: %s does not have the shape of this task table", h->path, where);
        h5_close_id(&dset, H5Dclose);
    }
    return dset;
}

/* Which rows hold a failure's reason (see writes_error). */
static ssm_status read_failed_rows(sw_h5 *h, ssm_error *err)
{
    hid_t d = H5Dopen2(h->file, "/tasks/status", H5P_DEFAULT);
    herr_t rc = d >= 0 && (h->n_tasks == 0 ||
                           H5Dread(d, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, h->had_error) >= 0) ? 0 : -1;
    h5_close_id(&d, H5Dclose);
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
    h5_quiet();
    sw_h5 *h = h5_new(path, tasks, err);
    if (!h)
        return SSM_ENOMEM;
    hid_t fapl = h5_make_fapl();
    if (fapl >= 0)
        h->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    h5_close_id(&fapl, H5Pclose);
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

/* Sorts e[0..n) by task and keeps each task's last entry (a batch or the
 * pending statuses may name a task twice: a resume's rewrite); returns how
 * many are left, in task order at the front of e. */
static size_t last_per_task(batch_entry *e, size_t n)
{
    qsort(e, n, sizeof *e, by_task);
    size_t m = 0;
    for (size_t k = 0; k < n; ++k)
        if (k + 1 == n || e[k + 1].task != e[k].task)
            e[m++] = e[k];
    return m;
}

/* Commits wait for at most this many statuses (1 MiB with their order). */
#define PENDING_STATUSES 65536

static int reserve_pending(sw_h5 *h, size_t n)
{
    if (n <= h->cap_pend)
        return 0;
    batch_entry *pend = realloc(h->pend, n * sizeof *pend);
    if (pend)
        h->pend = pend;
    int8_t *status = realloc(h->pend_status, n);
    if (status)
        h->pend_status = status;
    if (!pend || !status)
        return -1;
    h->cap_pend = n;
    return 0;
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
    h5_close_id(&fspace, H5Sclose);
    h5_close_id(&mspace, H5Sclose);
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
    h5_close_id(&mspace, H5Sclose);
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
    h5_close_id(&fspace, H5Sclose);
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

static ssm_status flush_file(sw_h5 *h, ssm_error *err)
{
    if (H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0) {
        h->failed = 1;
        return h5_fail(err, h->path, "flush the file");
    }
    return SSM_OK;
}

/* The statuses of the rows written since the last commit, after
 * everything else of those rows is flushed: a row that reads done (to a
 * SWMR reader of the running sweep, or in the file a kill left behind)
 * has its results on disk.  HDF5 flushes the datasets' chunk caches in
 * no promised order, so writing status with the rest could show a done
 * row whose results were still in memory (seen by a reader under load).
 * A row whose results are there but not its status reads pending: the
 * journal has it, and a resume writes it again. */
static ssm_status commit_statuses(sw_h5 *h, ssm_error *err)
{
    if (h->n_pend == 0)
        return SSM_OK;
    ssm_status st = flush_file(h, err);
    if (st)
        return st;
    size_t m = last_per_task(h->pend, h->n_pend);
    for (size_t k = 0; k < m; ++k) {
        h->row[k] = h->pend[k].task;
        h->buf[k] = (unsigned char)h->pend_status[h->pend[k].pos];
    }
    h->n_pend = 0;
    const column *status = &h->cols[0];   /* COL_STATUS leads the task columns (h5base.c) */
    if (write_column(status->dset, status->mem_type, h->row, m, h->buf) < 0) {
        h->failed = 1;
        return h5_fail(err, h->path, "write /%s/%s", status->group, status->name);
    }
    return SSM_OK;
}

ssm_status sw_h5_write(sw_h5 *h, const sw_record *recs, size_t n, ssm_error *err)
{
    if (n == 0)
        return SSM_OK;
    h5_quiet();
    for (size_t k = 0; k < n; ++k) {
        ssm_status st = check_record(h, &recs[k], err);
        if (st)
            return st;
    }
    /* the statuses waiting for their commit stay bounded (a resume
     * writes record by record without flushing) */
    if (h->n_pend + n > PENDING_STATUSES) {
        ssm_status st = commit_statuses(h, err);
        if (st)
            return st;
    }
    size_t most = h->n_pend + n;   /* commit_statuses borrows row and buf */
    if (reserve(h, most, n * SW_ERROR_MAX > most ? n * SW_ERROR_MAX : most) || reserve_pending(h, most))
        return ssm_fail(err, SSM_ENOMEM, "out of memory writing %s", h->path);
    for (size_t k = 0; k < n; ++k)
        h->order[k] = (batch_entry){recs[k].task, k};
    size_t m = last_per_task(h->order, n);
    for (size_t j = 0; j < h->n_cols; ++j) {
        const column *c = &h->cols[j];
        if (c->what == COL_STATUS)   /* committed later: commit_statuses */
            continue;
        size_t rows = 0;
        for (size_t k = 0; k < m; ++k) {
            const sw_record *r = &recs[h->order[k].pos];
            if (c->what == COL_ERROR && !writes_error(h, r))
                continue;
            h5_column_value(c, r, h->buf + rows * c->size);
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
    for (size_t k = 0; k < m; ++k) {
        const sw_record *r = &recs[h->order[k].pos];
        h->pend_status[h->n_pend] = (int8_t)r->status;
        h->pend[h->n_pend] = (batch_entry){r->task, h->n_pend};
        ++h->n_pend;
    }
    return SSM_OK;
}

ssm_status sw_h5_flush(sw_h5 *h, ssm_error *err)
{
    h5_quiet();
    ssm_status st = commit_statuses(h, err);
    return st ? st : flush_file(h, err);
}

/* ---- closing ------------------------------------------------------------------------ */

/* Reopened without SWMR (which cannot add attributes): the end time and
 * the counts, from /tasks/status as it is on disk. */
ssm_status sw_h5_close(sw_h5 *h, const char *end_utc, ssm_error *err)
{
    if (!h)
        return SSM_OK;
    h5_quiet();
    /* after a failed write the file is left as it is (the journal has
     * what it lacks): reopening it to add the counts would fail again */
    ssm_status st = h->failed ? ssm_fail(err, SSM_EIO, "%s: not finished after an earlier write error", h->path)
                              : commit_statuses(h, err);
    st = h5_release(h, st, err);
    if (st == SSM_OK)
        st = h5_finish_provenance(h->path, end_utc, err);
    h5_free(h);
    return st;
}
