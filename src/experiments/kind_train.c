#include "config.h"

#include "common.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/mf.h"
#include "ssm/train.h"
#include "trainrun.h"

/* ---- kind "train": one training run (ssmsweep train) ---------------------------- */

static const char *const train_tasks[] = {"delay", "teacher", "multi-delay", NULL};
static const char *const train_optimizers[] = {"adamw", "sgd", NULL};

enum {
    TR_INIT, TR_N, TR_DT, TR_DISC, TR_RHO, TR_GROUPS, TR_REAL_PART, TR_IMAG_SCALE, TR_TASK, TR_TAU, TR_DELAYS,
    TR_LENGTH, TR_NOISE, TR_TEACHER_MEMORY, TR_TEACHER_MODES, TR_WASHOUT, TR_N_TRAIN, TR_N_VAL, TR_FREEZE,
    TR_OPTIMIZER, TR_EPOCHS, TR_BATCH, TR_LR, TR_LR_SSM, TR_WEIGHT_DECAY, TR_WARMUP, TR_THRESHOLD, TR_RIDGE,
    TR_REPEAT, TR_PRECISION, TR_N_PARAMS
};

static const sw_param_desc train_params[TR_N_PARAMS] = {
    SW_MODEL_PARAMS(TR_, SSM_PARAM_N_TRAINED, "64"),
    [TR_TASK] = {"task_type", SW_STRING, "delay", 0, 0, train_tasks, "1", "learning task (delay, teacher, multi-delay)"},
    [TR_TAU] = {EX_PARAM(SSM_PARAM_DELAY, "100"), NULL, "1", "delay of the delay task (tau*)"},
    [TR_DELAYS] = {"delays", SW_STRING, "", 0, 0, NULL, "1", "delays of multi-delay, comma-separated"},
    [TR_LENGTH] = {EX_PARAM(SSM_PARAM_LENGTH, "1024"), NULL, "1", "sequence length"},
    [TR_NOISE] = {EX_PARAM(SSM_PARAM_NOISE, "0"), NULL, "1", "std of target noise"},
    [TR_TEACHER_MEMORY] = {EX_PARAM(SSM_PARAM_TEACHER_MEMORY, "100"), NULL, "1", "teacher e-folding time"},
    [TR_TEACHER_MODES] = {EX_PARAM(SSM_PARAM_TEACHER_MODES, "8"), NULL, "1", "teacher conjugate pairs"},
    [TR_WASHOUT] = {EX_PARAM(SSM_PARAM_TASK_WASHOUT, "-1"), NULL, "1", "steps the loss ignores, -1: the largest delay"},
    [TR_N_TRAIN] = {EX_PARAM(SSM_PARAM_N_TRAIN, "256"), NULL, "1", "training sequences"},
    [TR_N_VAL] = {EX_PARAM(SSM_PARAM_N_VAL, "64"), NULL, "1", "validation sequences"},
    [TR_FREEZE] = {"freeze", SW_STRING, "none", 0, 0, NULL, "1", "frozen parameter groups (RC mode: A,dt)"},
    [TR_OPTIMIZER] = {"optimizer", SW_STRING, "adamw", 0, 0, train_optimizers, "1", "optimizer"},
    [TR_EPOCHS] = {EX_PARAM(SSM_PARAM_EPOCHS, "50"), NULL, "1", "epochs"},
    [TR_BATCH] = {EX_PARAM(SSM_PARAM_BATCH, "32"), NULL, "1", "sequences per batch"},
    [TR_LR] = {EX_PARAM(SSM_PARAM_LR, "0.01"), NULL, "1", "learning rate of B, C, D, bias"},
    [TR_LR_SSM] = {EX_PARAM(SSM_PARAM_LR_SSM, "0.001"), NULL, "1", "learning rate of A and dt"},
    [TR_WEIGHT_DECAY] = {EX_PARAM(SSM_PARAM_WEIGHT_DECAY, "0.01"), NULL, "1", "weight decay (not on A, dt)"},
    [TR_WARMUP] = {EX_PARAM(SSM_PARAM_WARMUP, "0.1"), NULL, "1", "fraction of steps of linear warm-up"},
    [TR_THRESHOLD] = {EX_PARAM(SSM_PARAM_THRESHOLD, "0.1"), NULL, "1", "loss for epochs-to-threshold"},
    [TR_RIDGE] = {EX_PARAM(SSM_PARAM_RIDGE, "-1"), NULL, "1", "closed-form readout with this ridge; -1: train"},
    [TR_REPEAT] = {"repeat", SW_INT, "0", 0, 1e9, NULL, "1", "replica index"},
    /* added after specs existed: silent at its default, so their hashes hold */
    [TR_PRECISION] = {"precision", SW_STRING, "float64", 0, 0, ex_precision_choices, "1", "activations and FFTs",
                      SW_PARAM_SILENT_DEFAULT},
};

enum {
    TS_INIT_VAL, TS_FINAL_VAL, TS_FINAL_TRAIN, TS_EPOCHS_TO, TS_MC_INIT, TS_MC_FINAL, TS_ML_INIT, TS_ML_FINAL,
    TS_MF_TAU_INIT, TS_MF_TAU_FINAL, TS_TEACHER_INFO, TS_DRIFT, TS_SECONDS, TS_N
};

static const sw_output_desc train_scalars[TS_N] = {
    [TS_INIT_VAL] = {"init_val_loss", "1", "validation loss before training"},
    [TS_FINAL_VAL] = {"final_val_loss", "1", "validation loss after training"},
    [TS_FINAL_TRAIN] = {"final_train_loss", "1", "training loss of the last epoch"},
    [TS_EPOCHS_TO] = {"epochs_to_threshold", "1", "first epoch with validation loss <= threshold (NaN: never)"},
    [TS_MC_INIT] = {"mc_init", "1", "memory capacity of the initial eigenvalues (tau < length)"},
    [TS_MC_FINAL] = {"mc_final", "1", "memory capacity of the final eigenvalues (tau < length)"},
    [TS_ML_INIT] = {"memory_length_init", "1", "MF-weighted mean delay at init"},
    [TS_ML_FINAL] = {"memory_length_final", "1", "MF-weighted mean delay at the end"},
    [TS_MF_TAU_INIT] = {"mf_tau_init", "1", "MF at the task delay, initial eigenvalues"},
    [TS_MF_TAU_FINAL] = {"mf_tau_final", "1", "MF at the task delay, final eigenvalues"},
    [TS_TEACHER_INFO] = {"teacher_info", "1", "whitened readout-gradient norm^2 / <d^2> at init"},
    [TS_DRIFT] = {"eig_drift", "1", "max |lambda_final - lambda_init|"},
    [TS_SECONDS] = {"train_seconds", "s", "wall time of the training"},
};

enum { TC_TRAIN_LOSS, TC_VAL_LOSS, TC_MF_INIT, TC_MF_FINAL, TC_EIG_INIT_RE, TC_EIG_INIT_IM, TC_EIG_FINAL_RE,
       TC_EIG_FINAL_IM, TC_N };

static const sw_curve_desc train_curves[TC_N] = {
    [TC_TRAIN_LOSS] = {"train_loss", "epoch", "1", "training loss per epoch"},
    [TC_VAL_LOSS] = {"val_loss", "epoch", "1", "validation loss per epoch"},
    [TC_MF_INIT] = {"mf_init", "tau", "1", "memory function of the initial eigenvalues"},
    [TC_MF_FINAL] = {"mf_final", "tau", "1", "memory function of the final eigenvalues"},
    [TC_EIG_INIT_RE] = {"eig_init_re", "mode", "1", "Re of the initial discrete eigenvalues"},
    [TC_EIG_INIT_IM] = {"eig_init_im", "mode", "1", "Im of the initial discrete eigenvalues"},
    [TC_EIG_FINAL_RE] = {"eig_final_re", "mode", "1", "Re of the final discrete eigenvalues"},
    [TC_EIG_FINAL_IM] = {"eig_final_im", "mode", "1", "Im of the final discrete eigenvalues"},
};

static ssm_status train_setup(const sw_value *p, uint64_t seed, sw_train_config *c, ssm_error *err)
{
    ssm_status st = SSM_OK;
    sw_train_config_defaults(c);
    ex_model_from_params(p + TR_INIT, seed, &c->model);
    if ((st = ssm_task_parse(p[TR_TASK].s, &c->task.type, err)))
        return st;
    c->task.seed = seed;
    c->task.delays[0] = (size_t)p[TR_TAU].i;
    c->task.n_delays = 1;
    if (c->task.type == SSM_TASK_MULTI_DELAY) {
        const char *s = p[TR_DELAYS].s;
        char *end;
        c->task.n_delays = 0;
        while (*s) {
            long v = strtol(s, &end, 10);
            if (end == s || v < 0 || (*end && *end != ',') || c->task.n_delays == SSM_MAX_OUTPUTS)
                return ssm_fail_param(err, SSM_EINVAL, "delays", "expected up to %d integers separated by commas, got '%s'",
                                SSM_MAX_OUTPUTS, p[TR_DELAYS].s);
            c->task.delays[c->task.n_delays++] = (size_t)v;
            s = *end ? end + 1 : end;
        }
        if (!c->task.n_delays)
            return ssm_fail_param(err, SSM_EINVAL, "delays", "multi-delay needs a list such as \"10,100,500\"");
    }
    c->task.length = (size_t)p[TR_LENGTH].i;
    c->task.noise = p[TR_NOISE].r;
    c->task.teacher_memory = p[TR_TEACHER_MEMORY].r;
    c->task.teacher_modes = (size_t)p[TR_TEACHER_MODES].i;
    c->task.washout = p[TR_WASHOUT].i < 0 ? SIZE_MAX : (size_t)p[TR_WASHOUT].i;
    c->task.n_train = (size_t)p[TR_N_TRAIN].i;
    c->task.n_val = (size_t)p[TR_N_VAL].i;
    c->train.precision = strcmp(p[TR_PRECISION].s, "float32") == 0 ? SSM_F32 : SSM_F64;
    if (strcmp(p[TR_FREEZE].s, "none") != 0 && (st = ssm_groups_parse(p[TR_FREEZE].s, &c->train.frozen, err)))
        return st;
    c->train.optim.optimizer = strcmp(p[TR_OPTIMIZER].s, "sgd") == 0 ? SSM_OPT_SGD : SSM_OPT_ADAMW;
    c->train.epochs = (size_t)p[TR_EPOCHS].i;
    c->train.batch = (size_t)p[TR_BATCH].i;
    c->train.optim.lr = p[TR_LR].r;
    c->train.optim.lr_ssm = p[TR_LR_SSM].r;
    c->train.optim.weight_decay = p[TR_WEIGHT_DECAY].r;
    c->train.optim.warmup = p[TR_WARMUP].r;
    c->train.threshold = p[TR_THRESHOLD].r;
    c->ridge = p[TR_RIDGE].r;
    return SSM_OK;
}

static ssm_status train_check(const sw_value *p, ssm_error *err)
{
    sw_train_config c;
    ssm_status st = train_setup(p, 0, &c, err);
    if (st == SSM_OK)
        st = sw_train_validate(&c, err);
    return st;
}

static double train_cost(const sw_value *p)
{
    double n = (double)p[TR_N].i, len = (double)p[TR_LENGTH].i, seqs = (double)(p[TR_N_TRAIN].i + p[TR_N_VAL].i);
    double per_seq = len * (30 * log2(2 * len) + 8 * n);   /* FFTs and kernel */
    return (double)p[TR_EPOCHS].i * seqs * per_seq + 40 * n * len + 1e4;
}

static double train_memory(const sw_value *p)
{
    sw_train_config c;
    ssm_error ignored;
    if (train_setup(p, 0, &c, &ignored) != SSM_OK)
        return 0;
    return sw_train_peak_bytes(&c);
}

static size_t train_curve_length(const sw_value *p, size_t c)
{
    if (c == TC_TRAIN_LOSS || c == TC_VAL_LOSS)
        return (size_t)p[TR_EPOCHS].i;
    if (c == TC_MF_INIT || c == TC_MF_FINAL)
        return (size_t)p[TR_LENGTH].i;
    /* eigenvalues: N, but a negative real eigenvalue becomes a pair at angle
     * pi under ZOH (two entries), so at most 2N */
    return 2 * (size_t)p[TR_N].i;
}

static ssm_status train_run(const sw_value *p, uint64_t seed, const sw_task_env *env, sw_result *out,
                            ssm_error *err)
{
    (void)env;   /* short tasks: no checkpoints */
    sw_train_config c;
    sw_train_outcome o;
    ssm_status st = train_setup(p, seed, &c, err);
    if (st == SSM_OK)
        st = sw_train_run(&c, NULL, NULL, &o, err);
    if (st)
        return st;
    double *sc = out->scalars;
    sc[TS_INIT_VAL] = o.summary.init_val_loss;
    sc[TS_FINAL_VAL] = o.summary.final_val_loss;
    sc[TS_FINAL_TRAIN] = o.summary.final_train_loss;
    sc[TS_EPOCHS_TO] = o.summary.epochs_to_threshold >= 0 ? (double)o.summary.epochs_to_threshold : NAN;
    sc[TS_MC_INIT] = o.mf_init.mc;
    sc[TS_MC_FINAL] = o.mf_final.mc;
    sc[TS_ML_INIT] = ssm_mf_memory_length(&o.mf_init);
    sc[TS_ML_FINAL] = ssm_mf_memory_length(&o.mf_final);
    sc[TS_MF_TAU_INIT] = c.task.type == SSM_TASK_TEACHER ? NAN : o.mf_tau_init;
    sc[TS_MF_TAU_FINAL] = c.task.type == SSM_TASK_TEACHER ? NAN : o.mf_tau_final;
    sc[TS_TEACHER_INFO] = o.teacher_info;
    sc[TS_DRIFT] = o.drift;
    sc[TS_SECONDS] = o.summary.seconds;
    double *curves[TC_N] = {
        ex_copy_of(o.train_loss, o.n_epochs), ex_copy_of(o.val_loss, o.n_epochs),
        ex_copy_of(o.mf_init.mf, o.mf_init.n_tau), ex_copy_of(o.mf_final.mf, o.mf_final.n_tau),
        ex_parts_of(o.eig_init, o.n_eig, 0), ex_parts_of(o.eig_init, o.n_eig, 1),
        ex_parts_of(o.eig_final, o.n_eig, 0), ex_parts_of(o.eig_final, o.n_eig, 1)};
    size_t lens[TC_N] = {o.n_epochs, o.n_epochs, o.mf_init.n_tau, o.mf_final.n_tau, o.n_eig, o.n_eig, o.n_eig, o.n_eig};
    st = ex_take_curves(out, curves, lens, TC_N, err);
    sw_train_outcome_free(&o);
    if (st == SSM_OK && !isfinite(sc[TS_FINAL_VAL]))
        st = ssm_fail(err, SSM_ENUMERIC, "training diverged: final validation loss is not finite");
    return st;
}

const sw_kind ex_kind_train = {
    .name = "train",
    .summary = "gradient training of a single-layer diagonal SSM (ssmsweep train)",
    .params = train_params, .n_params = TR_N_PARAMS,
    .scalars = train_scalars, .n_scalars = TS_N,
    .curves = train_curves, .n_curves = TC_N,
    .check = train_check, .cost = train_cost, .memory = train_memory, .curve_length = train_curve_length,
    .run = train_run,
};
