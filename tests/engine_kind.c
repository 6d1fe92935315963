/* The engine needs no experiment: this program links libsweep and libssm
 * only (not libexperiments), defines a task kind of its own, hands the
 * engine a registry that holds nothing else, and runs a sweep of it
 * through sw_coordinate on however many ranks mpirun gives it (one when
 * automake runs it alone; tests/engine_mpi.sh runs it on two).  Rank 0
 * then reads the results file back with the engine's reader and checks
 * every value, and that the experiments' kinds are unknown here.
 *
 * Usage: engine_kind [OUT.h5]   (without it, a file in a scratch dir) */
#include "config.h"

#include <dirent.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep/ckpt.h"

#include "sweep/coordinator.h"
#include "sweep/h5out.h"
#include "sweep/record.h"
#include "sweep/spec.h"

/* ---- kind "poly": x to the powers 0..n-1 ------------------------------------- */

enum { POLY_X, POLY_N, POLY_REPEAT, POLY_N_PARAMS };

static const sw_param_desc poly_params[POLY_N_PARAMS] = {
    [POLY_X] = {"x", SW_REAL, "0", -10, 10, NULL, "1", "base"},
    [POLY_N] = {"n", SW_INT, "1", 1, 16, NULL, "1", "number of powers"},
    [POLY_REPEAT] = {"repeat", SW_INT, "0", 0, 1e9, NULL, "1", "replica index"},
};
static const sw_output_desc poly_scalars[] = {{"cube", "1", "x^3"},
                                              {"rank_seen", "1", "MPI rank that ran it"},
                                              {"ckpt_before", "1", "checkpoint files there as it started"}};
static const sw_curve_desc poly_curves[] = {{"powers", "power", "1", "x^k, k = 0..n-1"}};

static ssm_status poly_check(const sw_value *p, ssm_error *err)
{
    if (p[POLY_X].r == 7)
        return ssm_fail(err, SSM_EINVAL, "x: 7 is unlucky");
    return SSM_OK;
}

static double poly_cost(const sw_value *p) { return 1 + (double)p[POLY_N].i; }
static double poly_memory(const sw_value *p) { return 8 * (double)p[POLY_N].i; }
static size_t poly_curve_length(const sw_value *p, size_t c) { (void)c; return (size_t)p[POLY_N].i; }

/* Checkpoint files in dir (-1: no such directory). */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".ckpt") != NULL;
    closedir(d);
    return n;
}

/* Every task leaves a checkpoint as a long one would: the engine, not the
 * kind, removes those of done tasks, after their records are durable. */
static ssm_status poly_run(const sw_value *p, uint64_t seed, const sw_task_env *env, sw_result *out, ssm_error *err)
{
    (void)seed;
    char path[4200];
    const int before = count_files(env->checkpoint_dir);
    mkdir(env->checkpoint_dir, 0777);
    sw_checkpoint_path(path, sizeof path, env->checkpoint_dir, env->task_hash);
    FILE *f = fopen(path, "w");
    if (!f || fclose(f) != 0)
        return ssm_fail(err, SSM_EIO, "cannot write %s", path);
    const double x = p[POLY_X].r;
    const size_t n = (size_t)p[POLY_N].i;
    if (x < 0)
        return ssm_fail(err, SSM_EINVAL, "negative x is refused at run time");
    double *powers = malloc(n * sizeof *powers);
    if (!powers)
        return ssm_fail(err, SSM_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; ++k)
        powers[k] = pow(x, (double)k);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    out->scalars[0] = x * x * x;
    out->scalars[1] = rank;
    out->scalars[2] = before < 0 ? 0 : before;
    sw_result_set_curve(out, 0, powers, n);
    return SSM_OK;
}

static const sw_kind poly_kind = {
    .name = "poly",
    .summary = "powers of x (a kind that lives in a test)",
    .params = poly_params, .n_params = POLY_N_PARAMS,
    .scalars = poly_scalars, .n_scalars = 3,
    .curves = poly_curves, .n_curves = 1,
    .check = poly_check, .cost = poly_cost, .memory = poly_memory, .curve_length = poly_curve_length,
    .run = poly_run,
};

static const sw_kind *const test_kinds[] = {&poly_kind};
static const sw_registry test_registry = {test_kinds, 1};

/* ---- the checks ------------------------------------------------------------------ */

static const double xs[] = {0.5, 1, -1, 1.5, 2, 3};
static const int ns[] = {1, 4};
#define N_TASKS 12

static const char spec[] = "kind: poly\n"
                           "name: engine-only\n"
                           "axes:\n"
                           "  x: [0.5, 1, -1, 1.5, 2, 3]\n"
                           "  n: [1, 4]\n";

static int failures;
#define CHECK(cond, ...)                                                                                       \
    do {                                                                                                       \
        if (!(cond)) {                                                                                         \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                               \
            fprintf(stderr, __VA_ARGS__);                                                                      \
            fputc('\n', stderr);                                                                               \
            ++failures;                                                                                        \
        }                                                                                                      \
    } while (0)

typedef struct {
    size_t seen, done, failed;
    int ranks_ok;
    unsigned char ckpt_count_seen[N_TASKS];   /* per count of files a task found */
} tally;

static int check_rows(void *ctx, const sw_record *recs, const uint64_t *hash, size_t n)
{
    tally *t = ctx;
    (void)hash;
    for (size_t k = 0; k < n; ++k) {
        const sw_record *r = &recs[k];
        const double x = xs[r->task / 2];
        const size_t len = (size_t)ns[r->task % 2];
        ++t->seen;
        if (x < 0) {
            t->failed += r->status == SW_FAILED;
            CHECK(r->status == SW_FAILED && strcmp(r->error, "negative x is refused at run time") == 0,
                  "task %llu (x = %g) failed with its reason, got status %d '%s'", (unsigned long long)r->task, x,
                  (int)r->status, r->error);
            continue;
        }
        t->done += r->status == SW_DONE;
        const double before = r->result.n_scalars == 3 ? r->result.scalars[2] : -1;
        if (before >= 0 && before < N_TASKS)
            t->ckpt_count_seen[(size_t)before] = 1;
        CHECK(r->status == SW_DONE && r->result.n_scalars == 3 && r->result.scalars[0] == x * x * x,
              "task %llu: cube of %g", (unsigned long long)r->task, x);
        t->ranks_ok &= r->result.scalars[1] == r->rank;
        int curve_ok = r->result.n_curves == 1 && r->result.curve_len[0] == len;
        for (size_t j = 0; curve_ok && j < len; ++j)
            curve_ok = r->result.curves[0][j] == pow(x, (double)j);
        CHECK(curve_ok, "task %llu: the %zu powers of %g", (unsigned long long)r->task, len, x);
    }
    return 0;
}

static void check_output(const char *path, int size)
{
    sw_h5_info info;
    tally t = {.ranks_ok = 1};
    ssm_error err;
    ssm_status st = sw_h5_read(path, &test_registry, &info, 1, check_rows, &t, &err);
    CHECK(st == SSM_OK, "read back %s: %s", path, st ? err.message : "");
    CHECK(strcmp(info.kind, "poly") == 0 && info.n_tasks == N_TASKS, "the file holds %llu tasks of kind %s",
          (unsigned long long)info.n_tasks, info.kind);
    CHECK(t.seen == N_TASKS && t.done == 10 && t.failed == 2, "%zu rows: %zu done, %zu failed (want 12: 10, 2)",
          t.seen, t.done, t.failed);
    CHECK(t.ranks_ok, "every record names the rank that ran it");
    /* one rank runs the tasks one after the other, and the journal is
     * synced only at the end (--sync 1e6): no task may find a checkpoint
     * of a done task gone, so the 10 done tasks found 10 different counts */
    size_t counts = 0;
    for (size_t k = 0; k < N_TASKS; ++k)
        counts += t.ckpt_count_seen[k];
    CHECK(size > 1 || counts == 10, "one rank: the done tasks found %zu different checkpoint counts, want 10 (a "
          "checkpoint went before the journal was synced)", counts);
    /* after the run the journal is durable: only the failed tasks' checkpoints are left */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s.ckpt", path);
    CHECK(count_files(dir) == 2, "%d checkpoint files left in %s, want the 2 of the failed tasks", count_files(dir),
          dir);
    sw_h5_info_free(&info);
    /* the experiments are not linked in: the engine knows only what it was handed */
    sw_tasks other;
    st = sw_spec_parse("mf.yaml", "kind: mf\n", 9, &test_registry, &other, &err);
    CHECK(st == SSM_EINVAL && strstr(err.message, "unknown task kind 'mf' (known: poly)"), "kind mf: %s",
          err.message);
    if (failures == 0)
        printf("ok: %d task kind 'poly' defined in the test, %d tasks on %d rank%s, every value read back\n", 1,
               N_TASKS, size, size == 1 ? "" : "s");
}

/* The scratch directory and what the sweep left in it. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char name[512];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(name, sizeof name, "%s/%s", dir, e->d_name);
            if (unlink(name) != 0)
                remove_dir(name);   /* OUT.h5.ckpt */
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/engine-kind.XXXXXX", path[4096];
    const int own_dir = argc < 2;
    int provided, rank, size;
    sw_tasks tasks;
    ssm_error err;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (own_dir && size > 1) {
        if (rank == 0)
            fprintf(stderr, "engine_kind: on more than one rank, name the output\n");
        MPI_Finalize();
        return 99;
    }
    if (own_dir && !mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    if (own_dir)
        snprintf(path, sizeof path, "%s/out.h5", dir);
    else
        snprintf(path, sizeof path, "%s", argv[1]);
    if (sw_spec_parse("poly.yaml", spec, strlen(spec), &test_registry, &tasks, &err) != SSM_OK) {
        fprintf(stderr, "spec: %s\n", err.message);
        return 99;
    }
    CHECK(tasks.n_tasks == N_TASKS, "%zu tasks, want %d", tasks.n_tasks, N_TASKS);
    sw_run_options opt = {.output = path, .spec_path = "poly.yaml", .spec_text = spec,
                          .command_line = "engine_kind", .walltime_margin = -1, .progress_interval = 10,
                          .sync_interval = 1e6, .quiet = 1};
    sw_h5_library_begin();
    sw_run_outcome outcome;
    sw_run_status status = sw_coordinate(MPI_COMM_WORLD, &tasks, &opt, &outcome);
    CHECK(status == SW_RUN_TASKS_FAILED && outcome.status == status, "rank %d: the sweep ended %d, want %d (two tasks fail)",
          rank, (int)status, (int)SW_RUN_TASKS_FAILED);
    CHECK(rank != 0 || (outcome.n_tasks == N_TASKS && outcome.n_done == 10 && outcome.n_failed == 2),
          "outcome: %zu tasks, %zu done, %zu failed", outcome.n_tasks, outcome.n_done, outcome.n_failed);
    if (rank == 0)
        check_output(path, size);
    sw_h5_library_end();
    sw_tasks_free(&tasks);
    MPI_Finalize();
    if (own_dir)
        remove_dir(dir);
    return failures ? 1 : 0;
}
