#include "config.h"

#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "classrun.h"
#include "sweep/ckpt.h"
#include "ssm/rng.h"

/* ---- kind "sfmnist": the deep S4D classifier on sequential Fashion-MNIST --------- */

static const char *const sf_modes[] = {"learned", "frozen", NULL};
static const char *const sf_orders[] = {"row", "permuted", NULL};

enum {
    SF_INIT, SF_N, SF_DT, SF_DISC, SF_RHO, SF_GROUPS, SF_REAL_PART, SF_IMAG_SCALE, SF_MODE, SF_D_MODEL, SF_LAYERS,
    SF_DT_MIN, SF_DT_MAX, SF_DROPOUT, SF_EPOCHS, SF_BATCH, SF_LR, SF_LR_SSM, SF_WEIGHT_DECAY, SF_WARMUP,
    SF_PIXELS, SF_SUBSET, SF_N_VAL, SF_TEST_SUBSET, SF_PRECISION, SF_THRESHOLD, SF_TAU_MAX, SF_DATA_DIR,
    SF_REPEAT, SF_N_PARAMS
};

static const sw_param_desc sf_params[SF_N_PARAMS] = {
    SW_MODEL_PARAMS(SF_, SSM_PARAM_N_TRAINED, "64"),
    [SF_MODE] = {"mode", SW_STRING, "learned", 0, 0, sf_modes, "1", "eigenvalues and dt trained or frozen (RC)"},
    [SF_D_MODEL] = {EX_PARAM(SSM_PARAM_D_MODEL, "64"), NULL, "1", "channels H"},
    [SF_LAYERS] = {EX_PARAM(SSM_PARAM_LAYERS, "4"), NULL, "1", "S4D blocks"},
    [SF_DT_MIN] = {EX_PARAM(SSM_PARAM_DT_MIN, "0.001"), NULL, "1", "smallest initial step (log-uniform)"},
    [SF_DT_MAX] = {EX_PARAM(SSM_PARAM_DT_MAX, "0.1"), NULL, "1", "largest initial step"},
    [SF_DROPOUT] = {EX_PARAM(SSM_PARAM_DROPOUT, "0"), NULL, "1", "dropout after GELU and after GLU"},
    [SF_EPOCHS] = {EX_PARAM(SSM_PARAM_EPOCHS, "10"), NULL, "1", "training epochs"},
    [SF_BATCH] = {EX_PARAM(SSM_PARAM_DEEP_BATCH, "50"), NULL, "1", "sequences per step"},
    [SF_LR] = {EX_PARAM(SSM_PARAM_LR, "0.01"), NULL, "1", "peak learning rate"},
    [SF_LR_SSM] = {EX_PARAM(SSM_PARAM_LR_SSM, "0.001"), NULL, "1", "peak learning rate of A and dt"},
    [SF_WEIGHT_DECAY] = {EX_PARAM(SSM_PARAM_WEIGHT_DECAY, "0.01"), NULL, "1", "weight decay (not on A, dt)"},
    [SF_WARMUP] = {EX_PARAM(SSM_PARAM_WARMUP, "0.1"), NULL, "1", "fraction of steps of linear warm-up"},
    [SF_PIXELS] = {"pixels", SW_STRING, "row", 0, 0, sf_orders, "1", "pixel order: row or permuted (seed 0)"},
    [SF_SUBSET] = {EX_PARAM(SSM_PARAM_SUBSET, "0"), NULL, "1", "first k training images, 0: all"},
    [SF_N_VAL] = {EX_PARAM(SSM_PARAM_FMNIST_N_VAL, "5000"), NULL, "1", "validation images held out of the training file"},
    [SF_TEST_SUBSET] = {EX_PARAM(SSM_PARAM_TEST_SUBSET, "0"), NULL, "1", "first k test images, 0: all 10000"},
    [SF_PRECISION] = {"precision", SW_STRING, "float32", 0, 0, ex_precision_choices, "1", "activations"},
    [SF_THRESHOLD] = {EX_PARAM(SSM_PARAM_ACCURACY, "0.85"), NULL, "1", "validation accuracy for epochs-to-threshold"},
    [SF_TAU_MAX] = {EX_PARAM(SSM_PARAM_LAYER_TAU_MAX, "2000"), NULL, "1", "delays of the per-layer memory functions"},
    [SF_DATA_DIR] = {"data_dir", SW_STRING, SSM_FMNIST_DEFAULT_DIR, 0, 0, NULL, "1", "Fashion-MNIST IDX files"},
    [SF_REPEAT] = {"repeat", SW_INT, "0", 0, 1e9, NULL, "1", "replica index (seed)"},
};

enum {
    SS_TEST_ACC, SS_TEST_LOSS, SS_BEST_VAL_ACC, SS_FINAL_VAL_ACC, SS_FINAL_TRAIN_LOSS, SS_FINAL_TRAIN_ACC,
    SS_EPOCHS_TO, SS_SECONDS, SS_EPOCH_SECONDS, SS_MC_INIT, SS_MC_FINAL, SS_ML_INIT, SS_ML_FINAL, SS_DRIFT,
    SS_N_PARAMS, SS_WORKSPACE, SS_RESUMED_AT, SS_N
};

static const sw_output_desc sf_scalars[SS_N] = {
    [SS_TEST_ACC] = {"test_acc", "1", "test accuracy after the last epoch"},
    [SS_TEST_LOSS] = {"test_loss", "1", "test cross-entropy after the last epoch"},
    [SS_BEST_VAL_ACC] = {"best_val_acc", "1", "best validation accuracy over the epochs"},
    [SS_FINAL_VAL_ACC] = {"final_val_acc", "1", "validation accuracy after the last epoch"},
    [SS_FINAL_TRAIN_LOSS] = {"final_train_loss", "1", "training loss of the last epoch"},
    [SS_FINAL_TRAIN_ACC] = {"final_train_acc", "1", "training accuracy of the last epoch"},
    [SS_EPOCHS_TO] = {"epochs_to_threshold", "1", "first epoch with validation accuracy >= threshold (NaN: never)"},
    [SS_SECONDS] = {"train_seconds", "s", "wall time of all epochs (training and validation)"},
    [SS_EPOCH_SECONDS] = {"epoch_seconds", "s", "mean wall time of an epoch"},
    [SS_MC_INIT] = {"mc_init", "1", "memory capacity of the initial eigenvalues, mean over layers and channels"},
    [SS_MC_FINAL] = {"mc_final", "1", "memory capacity of the final eigenvalues, mean over layers and channels"},
    [SS_ML_INIT] = {"memory_length_init", "1", "MF-weighted mean delay at init, mean over layers and channels"},
    [SS_ML_FINAL] = {"memory_length_final", "1", "MF-weighted mean delay at the end"},
    [SS_DRIFT] = {"eig_drift", "1", "mean |lambda_final - lambda_init| over layers, channels, modes"},
    [SS_N_PARAMS] = {"n_params", "1", "trainable parameters (frozen ones included)"},
    [SS_WORKSPACE] = {"workspace_mib", "MiB", "activation memory of a training step"},
    [SS_RESUMED_AT] = {"resumed_at", "1", "first epoch of the last process (1: never interrupted)"},
};

enum { SC_TRAIN_LOSS, SC_TRAIN_ACC, SC_VAL_LOSS, SC_VAL_ACC, SC_EPOCH_SECONDS, SC_LAYER_MC_INIT, SC_LAYER_MC_FINAL,
       SC_LAYER_ML_INIT, SC_LAYER_ML_FINAL, SC_LAYER_DRIFT, SC_LAYER_DT_DRIFT, SC_N };

static const sw_curve_desc sf_curves[SC_N] = {
    [SC_TRAIN_LOSS] = {"train_loss", "epoch", "1", "training loss per epoch"},
    [SC_TRAIN_ACC] = {"train_acc", "epoch", "1", "training accuracy per epoch"},
    [SC_VAL_LOSS] = {"val_loss", "epoch", "1", "validation loss per epoch"},
    [SC_VAL_ACC] = {"val_acc", "epoch", "1", "validation accuracy per epoch"},
    [SC_EPOCH_SECONDS] = {"epoch_time", "epoch", "s", "wall time per epoch"},
    [SC_LAYER_MC_INIT] = {"layer_mc_init", "layer", "1", "memory capacity per layer at init (mean over channels)"},
    [SC_LAYER_MC_FINAL] = {"layer_mc_final", "layer", "1", "memory capacity per layer at the end"},
    [SC_LAYER_ML_INIT] = {"layer_memory_length_init", "layer", "1", "memory length per layer at init"},
    [SC_LAYER_ML_FINAL] = {"layer_memory_length_final", "layer", "1", "memory length per layer at the end"},
    [SC_LAYER_DRIFT] = {"layer_eig_drift", "layer", "1", "mean eigenvalue drift per layer"},
    [SC_LAYER_DT_DRIFT] = {"layer_dt_drift", "layer", "1", "mean |log dt change| per layer"},
};

static void sf_setup(const sw_value *p, uint64_t seed, sw_class_config *c)
{
    sw_class_config_defaults(c);
    ex_model_from_params(p + SF_INIT, seed, &c->model.eig);
    c->model.d_model = (size_t)p[SF_D_MODEL].i;
    c->model.n_layers = (size_t)p[SF_LAYERS].i;
    c->model.dt_min = p[SF_DT_MIN].r;
    c->model.dt_max = p[SF_DT_MAX].r;
    c->model.dropout = p[SF_DROPOUT].r;
    c->train.freeze_ssm = strcmp(p[SF_MODE].s, "frozen") == 0;
    c->train.epochs = (size_t)p[SF_EPOCHS].i;
    c->train.batch = (size_t)p[SF_BATCH].i;
    c->train.optim.lr = p[SF_LR].r;
    c->train.optim.lr_ssm = p[SF_LR_SSM].r;
    c->train.optim.weight_decay = p[SF_WEIGHT_DECAY].r;
    c->train.optim.warmup = p[SF_WARMUP].r;
    c->train.precision = strcmp(p[SF_PRECISION].s, "float64") == 0 ? SSM_F64 : SSM_F32;
    /* one task seed, three independent uses */
    c->init_seed = seed;
    c->train.seed = ssm_mix64(seed ^ UINT64_C(0x53485546464c45));
    c->data.order = strcmp(p[SF_PIXELS].s, "permuted") == 0 ? SSM_PIXELS_PERMUTED : SSM_PIXELS_ROW;
    c->data.subset = (size_t)p[SF_SUBSET].i;
    c->data.n_val = (size_t)p[SF_N_VAL].i;
    c->test_subset = (size_t)p[SF_TEST_SUBSET].i;
    c->threshold = p[SF_THRESHOLD].r;
    c->mf_tau_max = (size_t)p[SF_TAU_MAX].i;
    c->data_dir = p[SF_DATA_DIR].s;
}

static ssm_status sf_check(const sw_value *p, ssm_error *err)
{
    sw_class_config c;
    sf_setup(p, 0, &c);
    if (c.model.eig.init == SSM_INIT_FILE || c.model.eig.init == SSM_INIT_LEGS_DENSE)
        return ssm_fail_param(err, SSM_EINVAL, "init", "%s is not a diagonal family the deep model can start from",
                        p[SF_INIT].s);
    ssm_status st = ssm_deep_config_validate(&c.model, err);
    if (st == SSM_OK)
        st = ssm_optim_validate(&c.train.optim, err);
    return st;
}

static double sf_cost(const sw_value *p)
{
    const double H = (double)p[SF_D_MODEL].i, L = (double)p[SF_LAYERS].i, T = 784;
    const double n = p[SF_SUBSET].i > 0 ? (double)p[SF_SUBSET].i : 60000.0 - (double)p[SF_N_VAL].i;
    /* per sequence and layer: three GEMMs of 2H x H x T and four FFTs per
     * channel; these run ~25 flops per cost unit (units are calibrated
     * to about 1e9 per core-second: measured 280 s for the H = 32,
     * 4-layer, 10k-image, 8-epoch task of jobs/examples/sfmnist.yaml) */
    const double per_seq = L * (12 * H * H * T + 4 * H * 5 * 2 * T * log2(2 * T)) / 25;
    return (double)p[SF_EPOCHS].i * (n + (double)p[SF_N_VAL].i / 3) * per_seq + 1e6;
}

/* What sw_class_run holds at once: the three splits as float sequences
 * (and, while the training file loads, its bytes and the split mask); the
 * model, its initial copy, AdamW's moments and the gradient; the deep
 * workspace (ssm_deep_work_size) with its float64 kernels; the per-layer
 * memory function of one channel at the end. */
static double sf_memory(const sw_value *p)
{
    sw_class_config c;
    sf_setup(p, 0, &c);
    const double T = SSM_FMNIST_ROWS * SSM_FMNIST_COLS, file = SSM_FMNIST_TRAIN_SIZE, test_file = 10000;
    const double n_val = (double)c.data.n_val, H = (double)c.model.d_model, L = (double)c.model.n_layers;
    const double N = (double)c.model.eig.n, K = (double)c.mf_tau_max + 1;
    const double n_train = c.data.subset > 0 ? fmin((double)c.data.subset, file - n_val) : file - n_val;
    const double n_test = c.test_subset > 0 ? fmin((double)c.test_subset, test_file) : test_file;
    const double per_image = 4 * T + 1 + 4;                 /* floats, label, index */
    const double loading = file * (T + 2) + n_train * per_image;   /* the IDX bytes, labels and split mask */
    const double data = (n_train + n_val + n_test) * per_image;
    const double real = c.train.precision == SSM_F32 ? 4 : 8;
    /* an upper bound: every mode counted as a pair */
    const double n_params = L * (3 * H * N + 2 * H * H + 6 * H) + 12 * H + 10;
    const double model = n_params * (5 * 8 + 2 * real);
    const double batch = (double)c.train.batch;
    const double work = ssm_deep_work_size(&c.model, (size_t)T, c.train.batch, c.train.precision) +
                        8 * (2 * L * H * T + 4 * L * H * (N + 1) + batch * H) + 4 * batch * T + 8 * n_train;
    return fmax(loading, data + model + work + 8 * 3 * K);
}

static size_t sf_curve_length(const sw_value *p, size_t c)
{
    return c <= SC_EPOCH_SECONDS ? (size_t)p[SF_EPOCHS].i : (size_t)p[SF_LAYERS].i;
}

static ssm_status sf_run(const sw_value *p, uint64_t seed, const sw_task_env *env, sw_result *out, ssm_error *err)
{
    sw_class_config c;
    sw_class_outcome o;
    char path[4200];
    sf_setup(p, seed, &c);
    if (env && env->checkpoint_dir) {
        if (mkdir(env->checkpoint_dir, 0777) != 0 && errno != EEXIST)
            return ssm_fail(err, SSM_EIO, "checkpoint directory %s: %s", env->checkpoint_dir, strerror(errno));
        sw_checkpoint_path(path, sizeof path, env->checkpoint_dir, env->task_hash);
        c.checkpoint = path;
        c.checkpoint_key = ssm_mix64(seed ^ env->task_hash);
    }
    ssm_status st = sw_class_run(&c, &o, err);
    if (st)
        return st;
    double *sc = out->scalars;
    const size_t E = o.n_epochs, L = o.n_layers;
    const ssm_deep_epoch *last = &o.epochs[E - 1];
    double seconds = 0;
    for (size_t e = 0; e < E; ++e)
        seconds += o.epochs[e].seconds;
    sc[SS_TEST_ACC] = o.test_acc;
    sc[SS_TEST_LOSS] = o.test_loss;
    sc[SS_BEST_VAL_ACC] = o.n_val ? o.best_val_acc : NAN;
    sc[SS_FINAL_VAL_ACC] = last->val_acc;
    sc[SS_FINAL_TRAIN_LOSS] = last->train_loss;
    sc[SS_FINAL_TRAIN_ACC] = last->train_acc;
    sc[SS_EPOCHS_TO] = o.epochs_to_threshold >= 0 ? (double)o.epochs_to_threshold : NAN;
    sc[SS_SECONDS] = seconds;
    sc[SS_EPOCH_SECONDS] = seconds / (double)E;
    sc[SS_N_PARAMS] = (double)o.n_params;
    sc[SS_WORKSPACE] = o.workspace_mib;
    sc[SS_RESUMED_AT] = (double)o.resumed_at;
    sc[SS_MC_INIT] = sc[SS_MC_FINAL] = sc[SS_ML_INIT] = sc[SS_ML_FINAL] = sc[SS_DRIFT] = 0;
    double *curves[SC_N];
    for (size_t k = 0; k < SC_N; ++k)
        curves[k] = malloc((k <= SC_EPOCH_SECONDS ? E : L) * sizeof(double) + 1);
    for (size_t e = 0; e < E; ++e) {
        const ssm_deep_epoch *r = &o.epochs[e];
        const double v[] = {r->train_loss, r->train_acc, r->val_loss, r->val_acc, r->seconds};
        for (size_t k = 0; k <= SC_EPOCH_SECONDS; ++k)
            if (curves[k])
                curves[k][e] = v[k];
    }
    for (size_t l = 0; l < L; ++l) {
        const sw_layer_memory *y = &o.layers[l];
        const double v[] = {y->mc_init, y->mc_final, y->memlen_init, y->memlen_final, y->drift, y->dt_drift};
        for (size_t k = SC_LAYER_MC_INIT; k < SC_N; ++k)
            if (curves[k])
                curves[k][l] = v[k - SC_LAYER_MC_INIT];
        sc[SS_MC_INIT] += y->mc_init / (double)L;
        sc[SS_MC_FINAL] += y->mc_final / (double)L;
        sc[SS_ML_INIT] += y->memlen_init / (double)L;
        sc[SS_ML_FINAL] += y->memlen_final / (double)L;
        sc[SS_DRIFT] += y->drift / (double)L;
    }
    size_t lens[SC_N];
    for (size_t k = 0; k < SC_N; ++k)
        lens[k] = k <= SC_EPOCH_SECONDS ? E : L;
    st = ex_take_curves(out, curves, lens, SC_N, err);
    sw_class_outcome_free(&o);
    if (st == SSM_OK && !isfinite(sc[SS_FINAL_TRAIN_LOSS]))
        st = ssm_fail(err, SSM_ENUMERIC, "training diverged: the training loss is not finite");
    return st;
}

const sw_kind ex_kind_sfmnist = {
    .name = "sfmnist",
    .summary = "deep S4D classifier on sequential Fashion-MNIST (checkpoints every epoch)",
    .params = sf_params, .n_params = SF_N_PARAMS,
    .scalars = sf_scalars, .n_scalars = SS_N,
    .curves = sf_curves, .n_curves = SC_N,
    .check = sf_check, .cost = sf_cost, .memory = sf_memory, .curve_length = sf_curve_length, .run = sf_run,
};
