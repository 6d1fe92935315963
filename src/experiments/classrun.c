#include "config.h"

#include "classrun.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "ssm/mf.h"
#include "ssm/spectrum.h"

size_t sw_class_threads(const char *setting, size_t affinity_cpus, size_t online_cpus, size_t local_ranks)
{
    if (!setting || strcmp(setting, "1") == 0)
        return 1;
    if (strcmp(setting, "2") == 0)
        return 2;
    if (strcmp(setting, "auto") != 0)
        return 0;
    const size_t mine = affinity_cpus && affinity_cpus < online_cpus ? affinity_cpus
                                                                     : online_cpus / (local_ranks ? local_ranks : 1);
    return mine >= 2 ? 2 : 1;
}

/* A positive count from the environment variable name, else 0. */
static size_t env_count(const char *name)
{
    const char *s = getenv(name);
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    return s && end != s && *end == '\0' && v > 0 ? (size_t)v : 0;
}

/* Threads per rank for the deep step (classrun.h).  Worth it only when
 * the ranks leave cores idle; the results are the same bits whatever it
 * is (the batch's halves and their gradient sums do not depend on it), so
 * it is a setting of the run, not of the task.  An unknown setting is
 * refused by the command line before the run starts; here it means 1. */
static size_t threads_per_rank(void)
{
    cpu_set_t set;
    size_t affinity = sched_getaffinity(0, sizeof set, &set) == 0 ? (size_t)CPU_COUNT(&set) : 0;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    size_t local = env_count("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!local)
        local = env_count("MPI_LOCALNRANKS");
    size_t threads = sw_class_threads(getenv("SSMSWEEP_THREADS"), affinity, online > 0 ? (size_t)online : 1, local);
    return threads ? threads : 1;
}

void sw_class_config_defaults(sw_class_config *c)
{
    memset(c, 0, sizeof *c);
    ssm_deep_config_defaults(&c->model);
    ssm_deep_train_options_defaults(&c->train);
    c->train.threads = threads_per_rank();
    ssm_fmnist_options_defaults(&c->data);
    c->data.n_val = 5000;
    c->threshold = 0.85;
    c->mf_tau_max = 2000;
}

void sw_class_outcome_free(sw_class_outcome *o)
{
    if (!o)
        return;
    free(o->epochs);
    free(o->layers);
    memset(o, 0, sizeof *o);
}

/* ---- checkpoints (format and checks: checkpoint.h) ----------------------------------- */

static ssm_status checkpoint_write(const char *path, uint64_t key, const ssm_deep *m, const ssm_optim_state *s,
                                   const ssm_deep_epoch *epochs, size_t n_epochs, ssm_error *err)
{
    const sw_checkpoint_data c = {key, m->n_params, m->theta, s->mom, s->vel, s->step, epochs, n_epochs};
    return sw_checkpoint_write(path, &c, err);
}

/* Restores m, s and the epoch records from path if it is a complete
 * checkpoint of this run; *found says whether it was.  A damaged or
 * foreign checkpoint is ignored (the run starts over), never trusted. */
static ssm_status checkpoint_read(const char *path, uint64_t key, size_t max_epochs, ssm_deep *m,
                                  ssm_optim_state *s, ssm_deep_epoch **epochs, size_t *n_epochs, int *found,
                                  ssm_error *err)
{
    const sw_checkpoint_expect want = {key, m->n_params, max_epochs};
    sw_checkpoint c;
    ssm_status st = sw_checkpoint_read(path, &want, &c, found, err);
    if (st == SSM_EIO)
        return SSM_OK;
    if (st || !*found)
        return st;
    memcpy(m->theta, c.theta, c.n_params * sizeof *m->theta);
    memcpy(s->mom, c.mom, c.n_params * sizeof *s->mom);
    memcpy(s->vel, c.vel, c.n_params * sizeof *s->vel);
    s->step = c.step;
    *epochs = c.epochs;
    *n_epochs = c.n_epochs;
    c.epochs = NULL;
    sw_checkpoint_free(&c);
    return SSM_OK;
}

/* ---- the run ------------------------------------------------------------------------ */

typedef struct {
    const sw_class_config *c;
    sw_class_outcome *out;
    size_t capacity;
    ssm_status st;
    ssm_error err;
} run_ctx;

static int on_epoch(void *vctx, const ssm_deep_epoch *rec, const ssm_deep *m, const ssm_optim_state *s)
{
    run_ctx *ctx = vctx;
    sw_class_outcome *o = ctx->out;
    if (o->n_epochs == ctx->capacity) {
        size_t cap = ctx->capacity ? 2 * ctx->capacity : 16;
        ssm_deep_epoch *bigger = realloc(o->epochs, cap * sizeof *bigger);
        if (!bigger) {
            ctx->st = ssm_fail(&ctx->err, SSM_ENOMEM, "out of memory for epoch records");
            return 1;
        }
        o->epochs = bigger;
        ctx->capacity = cap;
    }
    o->epochs[o->n_epochs++] = *rec;
    if (ctx->c->checkpoint) {
        ctx->st = checkpoint_write(ctx->c->checkpoint, ctx->c->checkpoint_key, m, s, o->epochs, o->n_epochs,
                                   &ctx->err);
        if (ctx->st)
            return 1;
    }
    return 0;
}

/* Memory capacity and length of one channel's eigenvalues (Blaschke
 * engine: exact for any distinct eigenvalues, O(N tau_max)). */
static ssm_status channel_memory(const ssm_deep *m, size_t layer, size_t h, size_t tau_max, double complex *lambda,
                                 double *mc, double *memlen, ssm_error *err)
{
    ssm_deep_eigenvalues(m, layer, h, lambda);
    ssm_spectrum sp = {m->n_real + 2 * m->n_pair, lambda};
    ssm_mf_options o;
    ssm_mf_options_defaults(&o);
    o.method = SSM_MF_BLASCHKE;
    o.tau_max = tau_max;
    ssm_mf_result r = {0};
    ssm_status st = ssm_mf_spectrum(&sp, &o, &r, err);
    if (st == SSM_OK) {
        *mc = r.mc;
        *memlen = ssm_mf_memory_length(&r);
    }
    ssm_mf_result_free(&r);
    return st;
}

static ssm_status layer_memory(const ssm_deep *init, const ssm_deep *final, size_t tau_max, sw_layer_memory *out,
                               ssm_error *err)
{
    const size_t H = init->cfg.d_model, n = init->n_real + 2 * init->n_pair;
    double complex *li = malloc(n * sizeof *li), *lf = malloc(n * sizeof *lf);
    ssm_status st = SSM_OK;
    if (!li || !lf) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory for eigenvalues");
        goto done;
    }
    for (size_t l = 0; l < init->cfg.n_layers; ++l) {
        sw_layer_memory *y = &out[l];
        memset(y, 0, sizeof *y);
        for (size_t h = 0; h < H; ++h) {
            double mc_i, len_i, mc_f, len_f;
            if ((st = channel_memory(init, l, h, tau_max, li, &mc_i, &len_i, err)) ||
                (st = channel_memory(final, l, h, tau_max, lf, &mc_f, &len_f, err)))
                goto done;
            y->mc_init += mc_i / (double)H;
            y->mc_final += mc_f / (double)H;
            y->memlen_init += len_i / (double)H;
            y->memlen_final += len_f / (double)H;
            for (size_t k = 0; k < n; ++k)
                y->drift += cabs(lf[k] - li[k]) / (double)(n * H);
            y->dt_drift += fabs(ssm_deep_param(final, l, SSM_DEEP_DT)[h] - ssm_deep_param(init, l, SSM_DEEP_DT)[h]) /
                           (double)H;
        }
    }
done:
    free(li);
    free(lf);
    return st;
}

/* ---- the data, read once per process ---------------------------------------------
 *
 * A sweep runs many tasks of this kind on each rank, and reading and
 * inflating the training file (26 MB of gzip) cost each of them ~0.3 s.
 * The files are read once per (directory, part) and kept for the life of
 * the process; every task selects its split and subset from them, the
 * same bytes as if read afresh, so its results do not depend on what ran
 * before it on the rank. */

#define FILE_CACHE_SLOTS 4

typedef struct {
    char dir[4096];
    int test;
    ssm_fmnist_files files;
} cached_files;

static cached_files file_cache[FILE_CACHE_SLOTS];
static size_t file_cache_used;

static ssm_status fmnist_files(const char *dir, int test, const ssm_fmnist_files **out, ssm_error *err)
{
    if (!dir)
        dir = SSM_FMNIST_DEFAULT_DIR;
    for (size_t i = 0; i < file_cache_used; ++i)
        if (file_cache[i].test == test && strcmp(file_cache[i].dir, dir) == 0) {
            *out = &file_cache[i].files;
            return SSM_OK;
        }
    if (strlen(dir) >= sizeof file_cache[0].dir)
        return ssm_fail(err, SSM_EINVAL, "data_dir: the path is longer than %zu bytes", sizeof file_cache[0].dir - 1);
    /* full: forget the oldest (a sweep rarely reads more than one directory) */
    if (file_cache_used == FILE_CACHE_SLOTS) {
        ssm_fmnist_files_free(&file_cache[0].files);
        memmove(file_cache, file_cache + 1, (FILE_CACHE_SLOTS - 1) * sizeof file_cache[0]);
        --file_cache_used;
    }
    cached_files *slot = &file_cache[file_cache_used];
    ssm_status st = ssm_fmnist_read(dir, test, &slot->files, err);
    if (st)
        return st;
    snprintf(slot->dir, sizeof slot->dir, "%s", dir);
    slot->test = test;
    ++file_cache_used;
    *out = &slot->files;
    return SSM_OK;
}

void sw_class_forget_data(void)
{
    for (size_t i = 0; i < file_cache_used; ++i)
        ssm_fmnist_files_free(&file_cache[i].files);
    file_cache_used = 0;
}

static ssm_status load_split(const sw_class_config *c, ssm_fmnist_split split, size_t subset, ssm_seqdata *out,
                             ssm_error *err)
{
    ssm_fmnist_options o = c->data;
    o.subset = subset;
    const ssm_fmnist_files *files = NULL;
    ssm_status st = fmnist_files(c->data_dir, split == SSM_FMNIST_TEST, &files, err);
    return st ? st : ssm_fmnist_select(files, split, &o, out, err);
}

static ssm_class_data view_of(const ssm_seqdata *d)
{
    return (ssm_class_data){d->n, d->length, d->x, d->label};
}

ssm_status sw_class_run(const sw_class_config *c, sw_class_outcome *out, ssm_error *err)
{
    ssm_seqdata train = {0}, val = {0}, test = {0};
    ssm_deep model = {0}, initial = {0};
    ssm_optim_state state = {0};
    ssm_deep_work *w = NULL;
    memset(out, 0, sizeof *out);
    out->epochs_to_threshold = -1;
    run_ctx ctx = {c, out, 0, SSM_OK, {0}};
    ssm_status st = load_split(c, SSM_FMNIST_TRAIN, c->data.subset, &train, err);
    if (st == SSM_OK && c->data.n_val > 0)
        st = load_split(c, SSM_FMNIST_VAL, 0, &val, err);
    if (st == SSM_OK)
        st = load_split(c, SSM_FMNIST_TEST, c->test_subset, &test, err);
    if (st == SSM_OK)   /* the validation set comes from the training file: its shape */
        st = ssm_seqdata_check_shapes(&train, &test, SSM_FMNIST_ROWS, SSM_FMNIST_COLS, err);
    if (st == SSM_OK)
        st = ssm_deep_init(&model, &c->model, c->init_seed, err);
    if (st == SSM_OK)
        st = ssm_deep_copy(&initial, &model, err);
    if (st == SSM_OK)
        st = ssm_optim_state_new(&state, model.n_params, err);
    if (st)
        goto done;
    out->n_params = model.n_params;
    out->n_train = train.n;
    out->n_val = val.n;
    out->n_test = test.n;
    out->resumed_at = 1;
    if (c->checkpoint) {
        int found;
        if ((st = checkpoint_read(c->checkpoint, c->checkpoint_key, c->train.epochs, &model, &state, &out->epochs,
                                  &out->n_epochs, &found, err)))
            goto done;
        ctx.capacity = out->n_epochs;
        out->resumed_at = out->n_epochs + 1;
    }
    const ssm_class_data tr = view_of(&train), va = view_of(&val), te = view_of(&test);
    if (out->n_epochs < c->train.epochs) {
        st = ssm_deep_train(&model, &state, &c->train, &tr, &va, on_epoch, &ctx, err);
        if (st == SSM_OK && ctx.st) {
            st = ctx.st;
            *err = ctx.err;
        }
        if (st)
            goto done;
    }
    for (size_t e = 0; e < out->n_epochs; ++e) {
        const double acc = out->epochs[e].val_acc;
        if (acc > out->best_val_acc)
            out->best_val_acc = acc;
        if (out->epochs_to_threshold < 0 && acc >= c->threshold)
            out->epochs_to_threshold = (long)out->epochs[e].epoch;
    }
    if ((st = ssm_deep_work_new(&model, te.length, c->train.batch, c->train.precision, &w, err)))
        goto done;
    ssm_deep_work_set_threads(w, c->train.threads);
    out->workspace_mib = (double)ssm_deep_work_bytes(w) / 1048576.0;
    if ((st = ssm_deep_evaluate_work(&model, w, &te, &out->test_loss, &out->test_acc, err)))
        goto done;
    out->n_layers = c->model.n_layers;
    out->layers = calloc(out->n_layers, sizeof *out->layers);
    if (!out->layers) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory");
        goto done;
    }
    if ((st = layer_memory(&initial, &model, c->mf_tau_max, out->layers, err)))
        goto done;
    /* the checkpoint stays: the engine removes it once the task's record is durable */
done:
    ssm_seqdata_free(&train);
    ssm_seqdata_free(&val);
    ssm_seqdata_free(&test);
    ssm_deep_free(&model);
    ssm_deep_free(&initial);
    ssm_optim_state_free(&state);
    ssm_deep_work_free(w);
    if (st)
        sw_class_outcome_free(out);
    return st;
}
