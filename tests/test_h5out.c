/* The HDF5 results file: layout, values, fill, dimension scales and CF
 * attributes read back with the HDF5 C API; a concurrent SWMR reader;
 * refusal to overwrite; reopening for more writes; a file that does not
 * grow with the number of flushes; every kind of the table.
 *
 *   test_h5out                  the tests
 *   test_h5out --write PATH     a small sample file (an mf sweep) for tests/sweep_h5read.sh
 *   test_h5out --bench N LEN seq|random [PATH]
 *                               write cost of N noop records with curves of LEN
 *                               (environment BATCH, FLUSH_EVERY, NOISE: see bench())
 * (--swmr-read PATH N is the reader process the tests start.) */
#include "config.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sweep/buildinfo.h"
#include "sweep/h5out.h"
#include "sweeptest.h"
#include "testutil.h"

#define SPEC_HASH UINT64_C(0xfeedface12345678)

static const char *self;   /* argv[0]: the reader process is this program */

static const sw_provenance prov = {
    "tests/hand.yaml", "kind: noop\n# the spec, verbatim\n", "ssmsweep run tests/hand.yaml -o out.h5",
    "2026-11-23T07:36:00Z", "node000,node001", "HDF5 1.10.8; Open MPI 4.1.4", 2,
};

/* ---- reading back ------------------------------------------------------------- */

static int read_column(hid_t file, const char *path, hid_t mem_type, void *buf)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    int ok = d >= 0 && H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    if (d >= 0)
        H5Dclose(d);
    return ok;
}

/* A string attribute (variable or fixed length) of object path, or "". */
static const char *attr_text(hid_t file, const char *path, const char *name)
{
    static char out[4][1024];
    static int which;
    char *buf = out[which = (which + 1) % 4];
    buf[0] = '\0';
    hid_t a = H5Aopen_by_name(file, path, name, H5P_DEFAULT, H5P_DEFAULT);
    hid_t type = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    if (type >= 0 && H5Tget_class(type) == H5T_STRING) {
        if (H5Tis_variable_str(type) > 0) {
            char *v = NULL;
            if (H5Aread(a, type, &v) >= 0 && v) {
                snprintf(buf, 1024, "%s", v);
                H5free_memory(v);
            }
        } else if (H5Tget_size(type) < 1024) {
            H5Aread(a, type, buf);
            buf[H5Tget_size(type)] = '\0';
        }
    }
    if (type >= 0)
        H5Tclose(type);
    if (a >= 0)
        H5Aclose(a);
    return buf;
}

static long long attr_int(hid_t file, const char *path, const char *name)
{
    long long v = -999;
    hid_t a = H5Aopen_by_name(file, path, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Aread(a, H5T_NATIVE_LLONG, &v);
        H5Aclose(a);
    }
    return v;
}

static int dims_of(hid_t file, const char *path, hsize_t *dims)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT), s = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    int rank = s >= 0 ? H5Sget_simple_extent_dims(s, dims, NULL) : -1;
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    return rank;
}

/* scale_path is attached to dimension idx of path */
static int attached(hid_t file, const char *path, const char *scale_path, unsigned idx)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT), s = H5Dopen2(file, scale_path, H5P_DEFAULT);
    int ok = d >= 0 && s >= 0 && H5DSis_scale(s) > 0 && H5DSis_attached(d, s, idx) > 0;
    if (d >= 0)
        H5Dclose(d);
    if (s >= 0)
        H5Dclose(s);
    return ok;
}

typedef struct {
    hid_t file;
    int datasets, with_cf, with_task_scale;
    char missing[256];
} walk_ctx;

/* Every dataset of a group: CF attributes, and dimension 0 on the
 * group's own task scale unless it is a scale itself. */
static herr_t check_member(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    (void)info;
    walk_ctx *w = data;
    char path[256], gname[128], scale[256];
    H5Iget_name(group, gname, sizeof gname);
    snprintf(path, sizeof path, "%s/%s", gname, name);
    snprintf(scale, sizeof scale, "%s/task", gname);
    ++w->datasets;
    if (*attr_text(w->file, path, "units") && *attr_text(w->file, path, "long_name"))
        ++w->with_cf;
    else
        snprintf(w->missing, sizeof w->missing, "%s", path);
    hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
    int is_scale = d >= 0 && H5DSis_scale(d) > 0;
    if (d >= 0)
        H5Dclose(d);
    if (is_scale || attached(w->file, path, scale, 0))
        ++w->with_task_scale;
    return 0;
}

static void check_group_members(hid_t file, const char *group)
{
    walk_ctx w = {file, 0, 0, 0, ""};
    hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
    H5Literate(g, H5_INDEX_CRT_ORDER, H5_ITER_INC, NULL, check_member, &w);
    H5Gclose(g);
    CHECK(w.datasets > 0 && w.with_cf == w.datasets, "%s: units and long_name on all %d datasets%s%s", group,
          w.datasets, *w.missing ? ", missing on " : "", w.missing);
    CHECK(w.with_task_scale == w.datasets, "%s: every dataset has %s/task on dimension 0 (%d of %d)", group, group,
          w.with_task_scale, w.datasets);
}

/* ---- the noop sweep ----------------------------------------------------------------- */

#define N_NOOP 10
static const sw_status noop_final[N_NOOP] = {SW_DONE, SW_DONE, SW_FAILED, SW_DONE, SW_DONE,
                                             SW_DONE, SW_FAILED, SW_DONE, SW_PENDING, SW_DONE};

static size_t noop_len(size_t id) { return (id * 3) % 11; }   /* 0 3 6 9 1 4 7 10 2 5 */

static sw_tasks *noop_tasks(void)
{
    sw_tasks *t = hand_tasks("noop", N_NOOP, SPEC_HASH);
    for (size_t id = 0; id < N_NOOP; ++id) {
        hand_set(t, id, "value", 0.5 * (double)id - 1, NULL);
        hand_set(t, id, "length", (double)noop_len(id), NULL);
        hand_set(t, id, "fail", noop_final[id] == SW_FAILED, NULL);
    }
    return t;
}

static sw_record noop_record(size_t id, sw_status status)
{
    size_t len = noop_len(id);
    return hand_record(sw_registry_find(&ex_registry, "noop"), id, status, 100.0 + (double)id, &len, NULL);
}

static ssm_status write_batch(sw_h5 *h, sw_record *recs, size_t n, ssm_error *err)
{
    ssm_status st = sw_h5_write(h, recs, n, err);
    for (size_t k = 0; k < n; ++k)
        sw_record_free(&recs[k]);
    return st;
}

/* Another process opens the file as a SWMR reader and counts done
 * tasks; exit 0 when it finds `want`. */
static int swmr_reader(const char *path, long want)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    int8_t status[N_NOOP];
    double square[N_NOOP];
    if (file < 0 || !read_column(file, "/tasks/status", H5T_NATIVE_INT8, status) ||
        !read_column(file, "/results/square", H5T_NATIVE_DOUBLE, square)) {
        fprintf(stderr, "swmr reader: cannot read %s\n", path);
        return 1;
    }
    long done = 0;
    int values_ok = 1;
    for (int k = 0; k < N_NOOP; ++k) {
        done += status[k] == SW_DONE;
        values_ok &= status[k] == SW_DONE ? square[k] == 100.0 + k : isnan(square[k]);
    }
    H5Fclose(file);
    printf("swmr reader: %ld done, values %s\n", done, values_ok ? "ok" : "wrong");
    return done == want && values_ok ? 0 : 1;
}

static int run_reader(const char *path, long want)
{
    char n[32];
    snprintf(n, sizeof n, "%ld", want);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "--swmr-read", path, n, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_noop_file(const char *path, const sw_tasks *t)
{
    sw_h5 *h = NULL;
    ssm_error err;
    ssm_status st = sw_h5_create(path, t, &prov, &h, &err);
    CHECK(st == SSM_OK, "create %s%s%s", path, st ? ": " : "", st ? err.message : "");
    if (st)
        return;
    /* batches in scrambled order; task 3 fails first and is retried in a
     * later batch, task 4 appears twice in one batch (the last wins) */
    sw_record b1[3] = {noop_record(5, SW_DONE), noop_record(0, SW_DONE), noop_record(3, SW_FAILED)};
    sw_record b2[4] = {noop_record(9, SW_DONE), noop_record(2, SW_FAILED), noop_record(7, SW_DONE),
                       noop_record(1, SW_DONE)};
    CHECK(write_batch(h, b1, 3, &err) == SSM_OK && write_batch(h, b2, 4, &err) == SSM_OK &&
              sw_h5_flush(h, &err) == SSM_OK,
          "two batches written and flushed");
    CHECK(run_reader(path, 5) == 0, "a SWMR reader in another process sees the 5 done tasks while the writer is open");
    size_t five = 5;
    sw_record b3[4] = {noop_record(3, SW_DONE), hand_record(sw_registry_find(&ex_registry, "noop"), 4, SW_DONE, -1, &five, NULL),
                       noop_record(6, SW_FAILED), noop_record(4, SW_DONE)};
    CHECK(write_batch(h, b3, 4, &err) == SSM_OK && sw_h5_flush(h, &err) == SSM_OK, "third batch (retry, duplicate)");
    CHECK(run_reader(path, 7) == 0, "... and then 7 done tasks");

    sw_record bad = noop_record(N_NOOP, SW_DONE);
    CHECK(sw_h5_write(h, &bad, 1, &err) == SSM_EINVAL && strstr(err.message, "out of range"),
          "a task id out of range is refused: %s", err.message);
    sw_record_free(&bad);
    size_t eleven = 11;
    bad = hand_record(sw_registry_find(&ex_registry, "noop"), 1, SW_DONE, 0, &eleven, NULL);
    CHECK(sw_h5_write(h, &bad, 1, &err) == SSM_EINVAL && strstr(err.message, "room for 10"),
          "a curve longer than its axis is refused: %s", err.message);
    sw_record_free(&bad);
    st = sw_h5_close(h, "2026-11-23T08:00:00Z", &err);
    CHECK(st == SSM_OK, "close%s%s", st ? ": " : "", st ? err.message : "");
}

/* want: the status each task must have in the file. */
static void check_noop_file(const char *path, const sw_tasks *t, const sw_status *want_status)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(file >= 0, "reopen %s read-only", path);
    if (file < 0)
        return;
    enum { N = N_NOOP, W = 10 };
    int8_t status[N];
    int32_t rank[N];
    int64_t task[N], index[W], length[N];
    double square[N], draw[N], elapsed[N], finished[N], value[N], ramp[N][W];
    uint64_t hash[N], seed[N];
    char host[N][SW_HOST_MAX], error[N][SW_ERROR_MAX];
    hid_t th = H5Tcopy(H5T_C_S1), te = H5Tcopy(H5T_C_S1);
    H5Tset_size(th, SW_HOST_MAX);
    H5Tset_size(te, SW_ERROR_MAX);
    H5Tset_cset(th, H5T_CSET_UTF8);   /* HDF5 does not convert between character sets */
    H5Tset_cset(te, H5T_CSET_UTF8);
    int ok = read_column(file, "/tasks/status", H5T_NATIVE_INT8, status) &&
             read_column(file, "/tasks/rank", H5T_NATIVE_INT32, rank) &&
             read_column(file, "/tasks/task", H5T_NATIVE_INT64, task) &&
             read_column(file, "/results/index", H5T_NATIVE_INT64, index) &&
             read_column(file, "/params/length", H5T_NATIVE_INT64, length) &&
             read_column(file, "/params/value", H5T_NATIVE_DOUBLE, value) &&
             read_column(file, "/results/square", H5T_NATIVE_DOUBLE, square) &&
             read_column(file, "/results/draw", H5T_NATIVE_DOUBLE, draw) &&
             read_column(file, "/results/ramp", H5T_NATIVE_DOUBLE, ramp) &&
             read_column(file, "/tasks/elapsed", H5T_NATIVE_DOUBLE, elapsed) &&
             read_column(file, "/tasks/finished", H5T_NATIVE_DOUBLE, finished) &&
             read_column(file, "/tasks/hash", H5T_NATIVE_UINT64, hash) &&
             read_column(file, "/tasks/seed", H5T_NATIVE_UINT64, seed) &&
             read_column(file, "/tasks/host", th, host) && read_column(file, "/tasks/error", te, error);
    H5Tclose(th);
    H5Tclose(te);
    CHECK(ok, "every column reads back");
    if (!ok) {
        H5Fclose(file);
        return;
    }
    int ids = 1, params = 1, st_ok = 1, meta = 1, scal = 1, curve = 1, strings = 1;
    long long count[3] = {0, 0, 0};
    for (size_t id = 0; id < N; ++id) {
        sw_status want = want_status[id];
        ids &= task[id] == (int64_t)id && hash[id] == t->hash[id] && seed[id] == t->seed[id];
        params &= length[id] == (int64_t)noop_len(id) && same_bits(value[id], 0.5 * (double)id - 1);
        st_ok &= status[id] == (int8_t)want;
        int ran = want != SW_PENDING;
        meta &= ran ? rank[id] == (int32_t)(id % 3) && same_bits(elapsed[id], 0.001 * (double)(id + 1)) &&
                          same_bits(finished[id], 1.7e9 + (double)id)
                    : rank[id] == -1 && isnan(elapsed[id]) && isnan(finished[id]);
        char want_host[SW_HOST_MAX] = "";
        if (ran)
            snprintf(want_host, sizeof want_host, "node%03u", (unsigned)(id % 7));
        strings &= strcmp(host[id], want_host) == 0 &&
                   strcmp(error[id], want == SW_FAILED ? "failed on purpose" : "") == 0;
        count[want]++;
        double s0 = 100.0 + (double)id;
        scal &= want == SW_DONE ? same_bits(square[id], s0) && same_bits(draw[id], s0 + 1)
                                : isnan(square[id]) && isnan(draw[id]);
        for (size_t j = 0; j < W; ++j)
            curve &= want == SW_DONE && j < noop_len(id) ? same_bits(ramp[id][j], s0 + (double)j / 8)
                                                         : isnan(ramp[id][j]);
    }
    for (size_t j = 0; j < W; ++j)
        ids &= index[j] == (int64_t)j;
    CHECK(ids, "task ids 0..9, index 0..9, hashes and seeds as in the table");
    CHECK(params, "/params columns hold the parameters");
    CHECK(st_ok, "status: done, failed, pending (0); a retry's status replaces the failure");
    CHECK(meta, "rank, elapsed, finished of run tasks; -1 and NaN fill for pending");
    CHECK(strings, "host and error strings; empty for pending and done (also after a retried failure)");
    CHECK(scal, "scalars bit-exact for done tasks (the last record of task 4 won), NaN otherwise");
    CHECK(curve, "ramp: values up to each task's length, NaN beyond, NaN rows for failed and pending");

    hsize_t dims[2];
    CHECK(dims_of(file, "/results/ramp", dims) == 2 && dims[0] == N && dims[1] == W, "/results/ramp is [10, 10]");
    CHECK(attached(file, "/results/ramp", "/results/task", 0) && attached(file, "/results/ramp", "/results/index", 1),
          "ramp: /results/task on dimension 0, /results/index on dimension 1");
    CHECK(attached(file, "/params/value", "/params/task", 0) && attached(file, "/tasks/error", "/tasks/task", 0),
          "params and tasks columns on their group's task scale");
    check_group_members(file, "/params");
    check_group_members(file, "/results");
    check_group_members(file, "/tasks");
    CHECK(strcmp(attr_text(file, "/tasks/status", "flag_meanings"), "pending done failed") == 0,
          "status: flag_meanings \"%s\"", attr_text(file, "/tasks/status", "flag_meanings"));
    int8_t flags[3] = {9, 9, 9};
    hid_t a = H5Aopen_by_name(file, "/tasks/status", "flag_values", H5P_DEFAULT, H5P_DEFAULT);
    CHECK(a >= 0 && H5Aread(a, H5T_NATIVE_INT8, flags) >= 0 && flags[0] == 0 && flags[1] == 1 && flags[2] == 2,
          "status: flag_values 0 1 2");
    if (a >= 0)
        H5Aclose(a);
    CHECK(strcmp(attr_text(file, "/tasks/finished", "units"), "seconds since 1970-01-01 00:00:00 UTC") == 0 &&
              strcmp(attr_text(file, "/tasks/elapsed", "units"), "s") == 0 &&
              strcmp(attr_text(file, "/params/sleep", "units"), "s") == 0,
          "units: finished \"%s\", elapsed \"%s\", sleep \"%s\"", attr_text(file, "/tasks/finished", "units"),
          attr_text(file, "/tasks/elapsed", "units"), attr_text(file, "/params/sleep", "units"));
    CHECK(strcmp(attr_text(file, "/results/square", "long_name"), "value squared") == 0,
          "long_name from the kind: \"%s\"", attr_text(file, "/results/square", "long_name"));

    CHECK(strcmp(attr_text(file, "/", "kind"), "noop") == 0 && attr_int(file, "/", "n_tasks") == N &&
              strcmp(attr_text(file, "/", "spec_hash"), "feedface12345678") == 0 &&
              strcmp(attr_text(file, "/", "Conventions"), "CF-1.8") == 0 &&
              strcmp(attr_text(file, "/", "ssmsweep_version"), PACKAGE_VERSION) == 0 &&
              strcmp(attr_text(file, "/", "title"), "hand-built") == 0,
          "root attributes: kind, n_tasks, spec_hash %s, Conventions, version, title",
          attr_text(file, "/", "spec_hash"));
    const char *p = "/provenance";
    CHECK(strcmp(attr_text(file, p, "spec"), prov.spec_text) == 0 &&
              strcmp(attr_text(file, p, "command_line"), prov.command_line) == 0 &&
              strcmp(attr_text(file, p, "spec_path"), prov.spec_path) == 0 &&
              strcmp(attr_text(file, p, "hosts"), prov.hosts) == 0 &&
              strcmp(attr_text(file, p, "libraries"), prov.libraries) == 0 &&
              strcmp(attr_text(file, p, "start_utc"), prov.start_utc) == 0 &&
              strcmp(attr_text(file, p, "git_describe"), sw_build_git_describe) == 0 &&
              strcmp(attr_text(file, p, "build_cflags"), sw_build_cflags) == 0 &&
              strcmp(attr_text(file, p, "slurm_job_id"), "4242") == 0 && attr_int(file, p, "mpi_size") == 2,
          "provenance: spec verbatim, command line, hosts, libraries, build, SLURM_JOB_ID, mpi_size");
    long long done = attr_int(file, p, "n_done"), failed = attr_int(file, p, "n_failed");
    long long pending = attr_int(file, p, "n_pending");
    CHECK(done == count[SW_DONE] && failed == count[SW_FAILED] && pending == count[SW_PENDING] &&
              strcmp(attr_text(file, p, "end_utc"), "2026-11-23T08:00:00Z") == 0,
          "provenance after close: %lld done, %lld failed, %lld pending, end_utc", done, failed, pending);
    H5Fclose(file);
}

static void test_noop(void)
{
    const char *path = scratch("noop.h5");
    sw_tasks *t = noop_tasks();
    setenv("SLURM_JOB_ID", "4242", 1);
    write_noop_file(path, t);
    check_noop_file(path, t, noop_final);

    sw_h5 *h = NULL;
    ssm_error err;
    CHECK(sw_h5_create(path, t, &prov, &h, &err) == SSM_EIO && !h && strstr(err.message, path) &&
              strstr(err.message, "exists"),
          "create over an existing file is refused: %s", err.message);

    /* resume: reopen the closed file, finish the pending task and retry
     * failed task 6 (its reason must go: the reopened writer has to know
     * which rows held one) */
    ssm_status st = sw_h5_open(path, t, &h, &err);
    CHECK(st == SSM_OK, "sw_h5_open reopens the closed file%s%s", st ? ": " : "", st ? err.message : "");
    if (st == SSM_OK) {
        sw_record more[2] = {noop_record(8, SW_DONE), noop_record(6, SW_DONE)};
        CHECK(write_batch(h, more, 2, &err) == SSM_OK, "write the pending task and a retry");
        CHECK(sw_h5_close(h, "2026-11-23T08:00:00Z", &err) == SSM_OK, "close again");
        sw_status resumed[N_NOOP];
        memcpy(resumed, noop_final, sizeof resumed);
        resumed[8] = resumed[6] = SW_DONE;
        check_noop_file(path, t, resumed);
    }
    sw_tasks *other = hand_tasks("noop", N_NOOP, SPEC_HASH + 1);
    h = NULL;
    CHECK(sw_h5_open(path, other, &h, &err) == SSM_EINVAL && !h && strstr(err.message, "spec hash"),
          "sw_h5_open of another task table is refused: %s", err.message);
    CHECK(sw_h5_open(scratch("nothing.h5"), other, &h, &err) == SSM_EIO && !h && strstr(err.message, "nothing.h5"),
          "sw_h5_open of a missing file: %s", err.message);
    CHECK(sw_h5_create("/nonexistent-dir/x.h5", other, &prov, &h, &err) == SSM_EIO && !h &&
              strstr(err.message, "/nonexistent-dir/x.h5"),
          "an impossible path: %s", err.message);
    CHECK(sw_h5_close(NULL, NULL, &err) == SSM_OK, "close(NULL) is fine");
    hand_tasks_free(other);
    hand_tasks_free(t);
    remove(path);
}

/* ---- file growth under SWMR ---------------------------------------------------------- */


/* n tasks with curves of 4, written in scrambled order in batches of
 * `batch`, flushed after each; returns the size of the closed file. */
static long written_size(const char *path, size_t n, size_t batch)
{
    sw_tasks *t = hand_tasks("noop", n, SPEC_HASH);
    size_t four = 4;
    for (size_t id = 0; id < n; ++id)
        hand_set(t, id, "length", 4, NULL);
    sw_h5 *h = NULL;
    ssm_error err;
    long size = -1;
    sw_record *recs = malloc(batch * sizeof *recs);
    if (recs && sw_h5_create(path, t, &prov, &h, &err) == SSM_OK) {
        ssm_status st = SSM_OK;
        for (size_t k = 0; k < n && st == SSM_OK; k += batch) {
            size_t m = n - k < batch ? n - k : batch;
            for (size_t r = 0; r < m; ++r)
                recs[r] = hand_record(t->kind, (k + r) * 7919 % n, (k + r) % 13 ? SW_DONE : SW_FAILED, 1, &four, NULL);
            st = write_batch(h, recs, m, &err);
            if (st == SSM_OK)
                st = sw_h5_flush(h, &err);
        }
        if (sw_h5_close(h, NULL, &err) == SSM_OK && st == SSM_OK)
            size = file_size(path);
    }
    free(recs);
    hand_tasks_free(t);
    remove(path);
    return size;
}

/* Under SWMR HDF5 never reuses freed space: a rewritten compressed chunk
 * would leave its old copy behind at every flush.  Flushing after every
 * record must not make the file grow beyond the written data. */
static void test_flush_growth(void)
{
    enum { N = 3000 };
    long once = written_size(scratch("once.h5"), N, N), each = written_size(scratch("each.h5"), N, 1);
    CHECK(once > 0 && each > 0 && each < once + once / 4,
          "%d tasks flushed one by one: %ld bytes, written at once: %ld bytes (SWMR never reuses freed space)", N,
          each, once);
}

/* ---- edge cases ------------------------------------------------------------------------ */

/* The length of the string attribute name of path, or -1. */
static long attr_length(hid_t file, const char *path, const char *name)
{
    long len = -1;
    char *v = NULL;
    hid_t a = H5Aopen_by_name(file, path, name, H5P_DEFAULT, H5P_DEFAULT);
    hid_t type = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    if (type >= 0 && H5Aread(a, type, &v) >= 0 && v) {
        len = (long)strlen(v);
        H5free_memory(v);
    }
    if (type >= 0)
        H5Tclose(type);
    if (a >= 0)
        H5Aclose(a);
    return len;
}

/* Curves longer than a chunk's 1024 values, a spec longer than an
 * attribute's 64 KB of the old format, and an empty task table. */
static void test_edges(void)
{
    enum { N = 3, W = 2500, SPEC = 200000 };
    static const size_t lens[N] = {2500, 1500, 0};
    const char *path = scratch("long.h5");
    sw_tasks *t = hand_tasks("noop", N, SPEC_HASH);
    for (size_t id = 0; id < N; ++id)
        hand_set(t, id, "length", (double)lens[id], NULL);
    sw_h5 *h = NULL;
    ssm_error err;
    char *spec = malloc(SPEC + 1);
    if (!spec)
        abort();
    memset(spec, '#', SPEC);
    spec[SPEC] = '\0';
    sw_provenance big = prov;
    big.spec_text = spec;
    int ok = sw_h5_create(path, t, &big, &h, &err) == SSM_OK;
    free(spec);
    sw_record recs[N];
    for (size_t id = 0; id < N; ++id)
        recs[id] = hand_record(t->kind, N - 1 - id, SW_DONE, 7, &lens[N - 1 - id], NULL);
    ok = ok && write_batch(h, recs, N, &err) == SSM_OK && sw_h5_close(h, NULL, &err) == SSM_OK;
    static double ramp[N][W];
    hid_t file = ok ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : H5I_INVALID_HID;
    ok = file >= 0 && read_column(file, "/results/ramp", H5T_NATIVE_DOUBLE, ramp);
    for (size_t id = 0; ok && id < N; ++id)
        for (size_t j = 0; j < W; ++j)
            ok &= j < lens[id] ? ramp[id][j] == 7 + (double)j / 8 : isnan(ramp[id][j]);
    long spec_len = file >= 0 ? attr_length(file, "/provenance", "spec") : -1;
    if (file >= 0)
        H5Fclose(file);
    CHECK(ok, "curves of 2500 and 1500 values (3 chunks a row) read back, NaN beyond");
    CHECK(spec_len == SPEC, "a spec of %d bytes is kept whole in /provenance (%ld)", SPEC, spec_len);
    hand_tasks_free(t);
    remove(path);

    t = hand_tasks("mf", 0, SPEC_HASH);
    path = scratch("empty.h5");
    ssm_status st = sw_h5_create(path, t, &prov, &h, &err);
    if (st == SSM_OK)
        st = sw_h5_close(h, "end", &err);
    hsize_t dims[2] = {9, 9};
    file = st == SSM_OK ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : H5I_INVALID_HID;
    int rank = file >= 0 ? dims_of(file, "/results/mf", dims) : -1;
    long long pending = file >= 0 ? attr_int(file, "/provenance", "n_pending") : -1;
    if (file >= 0)
        H5Fclose(file);
    CHECK(st == SSM_OK && rank == 2 && dims[0] == 0 && dims[1] == 0 && pending == 0,
          "an empty task table gives a valid file with [0, 0] curves%s%s", st ? ": " : "", st ? err.message : "");
    hand_tasks_free(t);
    remove(path);
}

/* Every kind of the table, at its defaults: each curve lands on the scale
 * of its axis (kinds with several curves on several axes included). */
static void test_every_kind(void)
{
    for (size_t k = 0; k < ex_registry.n_kinds; ++k) {
        const sw_kind *kind = ex_registry.kinds[k];
        const char *path = scratch("kind.h5");
        sw_tasks *t = hand_tasks(kind->name, 2, SPEC_HASH);
        size_t len[16] = {0};
        for (size_t c = 0; c < kind->n_curves && c < 16; ++c)
            len[c] = kind->curve_length(sw_task_params(t, 1), c);
        sw_h5 *h = NULL;
        ssm_error err;
        sw_record r = hand_record(kind, 1, SW_DONE, 3, len, NULL);
        ssm_status st = sw_h5_create(path, t, &prov, &h, &err);
        if (st == SSM_OK)
            st = write_batch(h, &r, 1, &err);
        else
            sw_record_free(&r);
        ssm_status closed = sw_h5_close(h, NULL, st ? NULL : &err);
        if (st == SSM_OK)
            st = closed;
        int ok = st == SSM_OK && kind->n_curves <= 16;
        hid_t file = ok ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : H5I_INVALID_HID;
        for (size_t c = 0; file >= 0 && c < kind->n_curves; ++c) {
            char curve[128], axis[128];
            hsize_t dims[2] = {0, 0}, n = 0;
            snprintf(curve, sizeof curve, "/results/%s", kind->curves[c].name);
            snprintf(axis, sizeof axis, "/results/%s", kind->curves[c].axis);
            ok &= dims_of(file, curve, dims) == 2 && dims[0] == 2 && dims[1] >= len[c] &&
                  dims_of(file, axis, &n) == 1 && n == dims[1] && attached(file, curve, axis, 1) &&
                  attached(file, curve, "/results/task", 0);
        }
        if (file >= 0)
            H5Fclose(file);
        CHECK(ok, "kind %s: %zu scalars, %zu curves on their axes%s%s", kind->name, kind->n_scalars, kind->n_curves,
              st ? ": " : "", st ? err.message : "");
        hand_tasks_free(t);
        remove(path);
    }
}

/* ---- the mf sample ---------------------------------------------------------------------- */

#define N_MF 12
static const char *const mf_inits[3] = {"s4d-inv", "lin", "s4d-lin"};

static size_t mf_tau_max(size_t id) { return 5 + id % 4; }

/* Tasks 4 and 7 fail, 10 and 11 are pending, task 5 has a curve shorter
 * than its tau_max + 1; the scalars of task id are 10 id + k, the curve
 * values 10 id + j / 8. */
static ssm_status write_mf_sample(const char *path, ssm_error *err)
{
    sw_tasks *t = hand_tasks("mf", N_MF, SPEC_HASH);
    for (size_t id = 0; id < N_MF; ++id) {
        hand_set(t, id, "init", 0, mf_inits[id % 3]);
        hand_set(t, id, "N", (double)(16 << (id / 3 % 2)), NULL);
        hand_set(t, id, "tau_max", (double)mf_tau_max(id), NULL);
        hand_set(t, id, "repeat", (double)(id / 6), NULL);
    }
    sw_h5 *h = NULL;
    ssm_status st = sw_h5_create(path, t, &prov, &h, err);
    static const size_t order[] = {9, 2, 0, 7, 5, 3, 8, 1, 4, 6};
    sw_record recs[10];
    for (size_t k = 0; k < 10; ++k) {
        /* the mf curve, then the eigenvalue curves (empty here) */
        size_t id = order[k], len[3] = {id == 5 ? 3 : mf_tau_max(id) + 1, 0, 0};
        recs[k] = hand_record(t->kind, id, id == 4 || id == 7 ? SW_FAILED : SW_DONE, 10.0 * (double)id, len,
                              "memory function is not finite");
    }
    for (size_t k = 0; k < 10; k += 4)
        if (st == SSM_OK)
            st = sw_h5_write(h, recs + k, k + 4 <= 10 ? 4 : 10 - k, err);
    for (size_t k = 0; k < 10; ++k)
        sw_record_free(&recs[k]);
    ssm_status closed = sw_h5_close(h, "2026-11-23T08:00:00Z", st ? NULL : err);
    hand_tasks_free(t);
    return st ? st : closed;
}

static void test_mf(void)
{
    const char *path = scratch("mf.h5");
    ssm_error err;
    ssm_status st = write_mf_sample(path, &err);
    CHECK(st == SSM_OK, "mf sample written%s%s", st ? ": " : "", st ? err.message : "");
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hsize_t dims[2] = {0, 0}, tau = 0;
    int rank = dims_of(file, "/results/mf", dims), rank_tau = dims_of(file, "/results/tau", &tau);
    CHECK(rank == 2 && dims[0] == N_MF && dims[1] == 9 && rank_tau == 1 && tau == 9,
          "/results/mf is [%llu, %llu]: the tau axis is max(tau_max) + 1 = 9", (unsigned long long)dims[0],
          (unsigned long long)dims[1]);
    CHECK(attached(file, "/results/mf", "/results/tau", 1) && attached(file, "/results/mc", "/results/task", 0),
          "mf on /results/tau, mc on /results/task");
    char *init[N_MF] = {0};
    hid_t vstr = H5Tcopy(H5T_C_S1);
    H5Tset_size(vstr, H5T_VARIABLE);
    int ok = read_column(file, "/params/init", vstr, init);
    for (size_t id = 0; ok && id < N_MF; ++id)
        ok = init[id] && strcmp(init[id], mf_inits[id % 3]) == 0;
    hid_t d = H5Dopen2(file, "/params/init", H5P_DEFAULT), type = H5Dget_type(d), space = H5Dget_space(d);
    CHECK(ok && H5Tget_cset(type) == H5T_CSET_UTF8 && H5Tis_variable_str(type) > 0,
          "/params/init: variable-length UTF-8 strings as in the table");
    H5Dvlen_reclaim(vstr, space, H5P_DEFAULT, init);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(d);
    H5Tclose(vstr);
    double mf[N_MF][9];
    ok = read_column(file, "/results/mf", H5T_NATIVE_DOUBLE, mf);
    for (size_t j = 0; ok && j < 9; ++j)
        ok = (j < 3 ? mf[5][j] == 50 + (double)j / 8 : isnan(mf[5][j])) && isnan(mf[4][j]) && isnan(mf[11][j]) &&
             (j <= mf_tau_max(2) ? mf[2][j] == 20 + (double)j / 8 : isnan(mf[2][j]));
    CHECK(ok, "mf rows: a short curve NaN-filled, failed and pending rows NaN");
    H5Fclose(file);
    remove(path);
}

/* ---- benchmark ---------------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t env_size(const char *name, size_t fallback)
{
    const char *v = getenv(name);
    return v && atol(v) > 0 ? (size_t)atol(v) : fallback;
}

/* The writer's cost as rank 0 pays it: batches of BATCH (512) records, a
 * flush every FLUSH_EVERY (20) batches, like a sync interval; ids in
 * order, or shuffled as when tasks finish in cost order; NOISE=1 fills
 * the curves with random doubles (a ramp compresses far better than a
 * memory function).  The records are built outside the timed calls. */
static int bench(size_t n, size_t len, int shuffled, const char *path)
{
    size_t batch = env_size("BATCH", 512), flush_every = env_size("FLUSH_EVERY", 20);
    int noise = getenv("NOISE") != NULL;
    sw_tasks *t = hand_tasks("noop", n, SPEC_HASH);
    for (size_t id = 0; id < n; ++id)
        hand_set(t, id, "length", (double)len, NULL);
    size_t *ids = malloc((n ? n : 1) * sizeof *ids);
    sw_record *recs = malloc(batch * sizeof *recs);
    if (!ids || !recs)
        return 1;
    for (size_t k = 0; k < n; ++k)
        ids[k] = k;
    unsigned long long x = 2463534242ULL;
    for (size_t k = n; shuffled && k > 1; --k) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t j = (size_t)(x % k), tmp = ids[k - 1];
        ids[k - 1] = ids[j];
        ids[j] = tmp;
    }
    sw_h5 *h = NULL;
    ssm_error err;
    ssm_status st;
    remove(path);
    double t0 = now(), t_write = 0, t_flush = 0;
    st = sw_h5_create(path, t, &prov, &h, &err);
    double t_create = now() - t0;
    for (size_t k = 0, b = 1; st == SSM_OK && k < n; k += batch, ++b) {
        size_t m = n - k < batch ? n - k : batch;
        for (size_t r = 0; r < m; ++r) {
            recs[r] = hand_record(t->kind, ids[k + r], SW_DONE, (double)ids[k + r], &len, NULL);
            for (size_t j = 0; noise && j < len; ++j) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                recs[r].result.curves[0][j] = (double)(x >> 11) * 0x1p-53;
            }
        }
        double a = now();
        st = sw_h5_write(h, recs, m, &err);
        t_write += now() - a;
        a = now();
        if (st == SSM_OK && (b % flush_every == 0 || k + m == n))
            st = sw_h5_flush(h, &err);
        t_flush += now() - a;
        for (size_t r = 0; r < m; ++r)
            sw_record_free(&recs[r]);
    }
    t0 = now();
    ssm_status closed = sw_h5_close(h, "end", st ? NULL : &err);
    double t_close = now() - t0;
    if (st == SSM_OK)
        st = closed;
    struct stat sb;
    if (st == SSM_OK && stat(path, &sb) == 0)
        printf("bench: %zu tasks, curves of %zu, %s order, batches of %zu, flush every %zu: write %.2f us/task, "
               "flush %.2f us/task, create %.3f s, close %.3f s, total %.2f us/task; file %.2f MB (%.1f bytes/task)\n",
               n, len, shuffled ? "random" : "id", batch, flush_every, 1e6 * t_write / (double)n,
               1e6 * t_flush / (double)n, t_create, t_close, 1e6 * (t_write + t_flush + t_create + t_close) / (double)n,
               (double)sb.st_size / 1e6, (double)sb.st_size / (double)n);
    else
        fprintf(stderr, "bench: %s\n", err.message);
    free(ids);
    free(recs);
    hand_tasks_free(t);
    return st == SSM_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    self = argv[0];
    if (argc == 4 && strcmp(argv[1], "--swmr-read") == 0)
        return swmr_reader(argv[2], atol(argv[3]));
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        ssm_error err;
        if (write_mf_sample(argv[2], &err) != SSM_OK) {
            fprintf(stderr, "test_h5out: %s\n", err.message);
            return 1;
        }
        return 0;
    }
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "--bench") == 0)
        return bench((size_t)atol(argv[2]), (size_t)atol(argv[3]), strcmp(argv[4], "random") == 0,
                     argc == 6 ? argv[5] : "/tmp/ssmsweep-bench.h5");
    if (scratch_make("test_h5out") != 0) {
        perror("mkdtemp");
        return 99;
    }
    test_noop();
    test_flush_growth();
    test_edges();
    test_every_kind();
    test_mf();
    CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == 0, "no HDF5 object of any file is left open (%zd)",
          H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL));
    rmdir(scratch_dir);
    return test_summary("test_h5out");
}
