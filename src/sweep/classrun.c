#include "config.h"

#include "classrun.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "ssm/mf.h"
#include "ssm/spectrum.h"

/* Threads per rank for the deep step: SSMSWEEP_THREADS (1 or 2; default
 * 1).  Worth it only when the ranks leave cores idle; the results are the
 * same bits whatever it is (the batch's halves and their gradient sums do
 * not depend on it), so it is a setting of the run, not of the task. */
static size_t threads_per_rank(void)
{
    const char *s = getenv("SSMSWEEP_THREADS");
    return s && strcmp(s, "2") == 0 ? 2 : 1;
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

/* ---- checkpoints ------------------------------------------------------------------
 *
 * One file per run: magic, key, counts, the parameters, AdamW's moments,
 * the epoch records so far, and a CRC-32 of everything before it.  Written
 * to a temporary name, synced and renamed, so a kill at any moment leaves
 * either the previous checkpoint or the new one.  A file whose key, sizes
 * or CRC do not match is ignored (the run starts over), never trusted. */

#define CKPT_MAGIC "SSMCKPT1"

typedef struct {
    char magic[8];
    uint64_t key, n_params, step, n_epochs;
} ckpt_header;

static int write_all(FILE *fp, const void *data, size_t size, uLong *crc)
{
    *crc = crc32(*crc, data, (uInt)size);
    return fwrite(data, 1, size, fp) == size;
}

static ssm_status checkpoint_write(const char *path, uint64_t key, const ssm_deep *m, const ssm_optim_state *s,
                                   const ssm_deep_epoch *epochs, size_t n_epochs, ssm_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp)
        return ssm_fail(err, SSM_EIO, "checkpoint %s: %s", tmp, strerror(errno));
    ckpt_header h = {{0}, key, m->n_params, s->step, n_epochs};
    memcpy(h.magic, CKPT_MAGIC, sizeof h.magic);
    uLong crc = crc32(0, Z_NULL, 0);
    int ok = write_all(fp, &h, sizeof h, &crc) && write_all(fp, m->theta, m->n_params * sizeof(double), &crc) &&
             write_all(fp, s->mom, m->n_params * sizeof(double), &crc) &&
             write_all(fp, s->vel, m->n_params * sizeof(double), &crc) &&
             write_all(fp, epochs, n_epochs * sizeof *epochs, &crc);
    const uint32_t c32 = (uint32_t)crc;
    ok = ok && fwrite(&c32, sizeof c32, 1, fp) == 1 && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    ok = (fclose(fp) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return ssm_fail(err, SSM_EIO, "checkpoint %s: %s", path, strerror(errno));
    }
    return SSM_OK;
}

/* Restores m, s and the epoch records from path if it is a complete
 * checkpoint of this run; *found says whether it was. */
static ssm_status checkpoint_read(const char *path, uint64_t key, ssm_deep *m, ssm_optim_state *s,
                                  ssm_deep_epoch **epochs, size_t *n_epochs, int *found, ssm_error *err)
{
    *found = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return SSM_OK;
    ckpt_header h;
    ssm_status st = SSM_OK;
    double *buf = NULL;
    ssm_deep_epoch *recs = NULL;
    if (fread(&h, sizeof h, 1, fp) != 1 || memcmp(h.magic, CKPT_MAGIC, 8) != 0 || h.key != key ||
        h.n_params != m->n_params || h.n_epochs > 100000)
        goto done;
    const size_t n = m->n_params;
    buf = malloc(3 * n * sizeof *buf);
    recs = malloc((h.n_epochs ? h.n_epochs : 1) * sizeof *recs);
    if (!buf || !recs) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory reading checkpoint %s", path);
        goto done;
    }
    uint32_t stored;
    if (fread(buf, sizeof *buf, 3 * n, fp) != 3 * n || fread(recs, sizeof *recs, h.n_epochs, fp) != h.n_epochs ||
        fread(&stored, sizeof stored, 1, fp) != 1)
        goto done;
    uLong crc = crc32(0, Z_NULL, 0);
    crc = crc32(crc, (const Bytef *)&h, sizeof h);
    crc = crc32(crc, (const Bytef *)buf, (uInt)(3 * n * sizeof *buf));
    crc = crc32(crc, (const Bytef *)recs, (uInt)(h.n_epochs * sizeof *recs));
    if ((uint32_t)crc != stored)
        goto done;
    memcpy(m->theta, buf, n * sizeof *buf);
    memcpy(s->mom, buf + n, n * sizeof *buf);
    memcpy(s->vel, buf + 2 * n, n * sizeof *buf);
    s->step = h.step;
    *epochs = recs;
    *n_epochs = h.n_epochs;
    recs = NULL;
    *found = 1;
done:
    fclose(fp);
    free(buf);
    free(recs);
    return st;
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
        if ((st = checkpoint_read(c->checkpoint, c->checkpoint_key, &model, &state, &out->epochs, &out->n_epochs,
                                  &found, err)))
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
    if (c->checkpoint)
        unlink(c->checkpoint);   /* the result is recorded now; the journal holds it */
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
