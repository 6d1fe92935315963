/* /provenance of a results file: what made it, written at creation and
 * completed at the close (h5out.h). */
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

#include "buildinfo.h"

static herr_t env_attr(hid_t loc, const char *attr, const char *var)
{
    const char *v = getenv(var);
    return v ? h5_attr_text(loc, attr, v) : 0;
}

ssm_status h5_write_provenance(sw_h5 *h, const sw_tasks *t, const sw_provenance *p, ssm_error *err)
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
    herr_t rc = h5_attr_text(root, "title", title) < 0 || h5_attr_text(root, "kind", t->kind->name) < 0 ||
                h5_attr_int64(root, "n_tasks", (int64_t)t->n_tasks) < 0 || h5_attr_text(root, "spec_hash", hex) < 0 ||
                h5_attr_int64(root, "shard_index", (int64_t)shard.index) < 0 ||
                h5_attr_int64(root, "shard_count", (int64_t)shard.count) < 0 ||
                h5_attr_int64(root, "n_tasks_total", (int64_t)shard.n_tasks_total) < 0 ||
                h5_attr_scalar(root, "master_seed", H5T_NATIVE_UINT64, &t->master_seed) < 0 ||
                h5_attr_text(root, "Conventions", "CF-1.8") < 0 ||
                h5_attr_text(root, "ssmsweep_version", PACKAGE_VERSION) < 0 || h5_attr_text(root, "history", history) < 0
                    ? -1 : 0;
    if (rc < 0)
        return h5_fail(err, h->path, "write the attributes of /");
    hid_t g = h5_group_create(h->file, "provenance");
    rc = g < 0 || h5_attr_text(g, "spec", p->spec_text) < 0 || h5_attr_text(g, "spec_path", p->spec_path) < 0 ||
         h5_attr_text(g, "command_line", p->command_line) < 0 || h5_attr_text(g, "version", PACKAGE_VERSION) < 0 ||
         h5_attr_text(g, "git_describe", sw_build_git_describe) < 0 || h5_attr_text(g, "build_cc", sw_build_cc) < 0 ||
         h5_attr_text(g, "build_cflags", sw_build_cflags) < 0 || h5_attr_text(g, "libraries", p->libraries) < 0 ||
         h5_attr_text(g, "hosts", p->hosts) < 0 || h5_attr_int64(g, "mpi_size", p->mpi_size) < 0 ||
         h5_attr_text(g, "start_utc", p->start_utc) < 0 ? -1 : 0;
    if (rc == 0 && p->merged_from)
        rc = h5_attr_text(g, "merged_from", p->merged_from);
    if (rc == 0 && p->coordination)
        rc = h5_attr_text(g, "coordination", p->coordination);
    for (size_t k = 0; rc == 0 && k < sizeof slurm / sizeof slurm[0]; ++k)
        rc = env_attr(g, slurm[k][0], slurm[k][1]);
    h5_close_id(&g, H5Gclose);
    return rc < 0 ? h5_fail(err, h->path, "write /provenance") : SSM_OK;
}

/* A parameter or result named like a dimension scale of its group, or
 * like another dataset there, cannot be stored: a mistake in the kind
 * table, said before any file exists. */
/* ---- closing ------------------------------------------------------------------------ */

/* Reopened without SWMR (which cannot add attributes): the end time and
 * the counts, from /tasks/status as it is on disk. */
ssm_status h5_finish_provenance(const char *path, const char *end_utc, ssm_error *err)
{
    hid_t fapl = h5_make_fapl(), file = H5I_INVALID_HID, dset = H5I_INVALID_HID, space = H5I_INVALID_HID;
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
    if (g < 0 || (end_utc && h5_attr_text(g, "end_utc", end_utc) < 0) || h5_attr_int64(g, "n_done", count[SW_DONE]) < 0 ||
        h5_attr_int64(g, "n_failed", count[SW_FAILED]) < 0 || h5_attr_int64(g, "n_pending", count[SW_PENDING]) < 0)
        st = h5_fail(err, path, "write the counts to /provenance");
done:
    free(status);
    h5_close_id(&g, H5Gclose);
    h5_close_id(&space, H5Sclose);
    h5_close_id(&dset, H5Dclose);
    if (file >= 0 && H5Fclose(file) < 0) {
        ++h5_unclosable_files;
        if (st == SSM_OK)
            st = h5_fail(err, path, "close the file");
    }
    h5_close_id(&fapl, H5Pclose);
    return st;
}
