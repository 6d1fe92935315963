#include "config.h"

#include "kinds.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errno.h>
#include <sys/stat.h>

#include "classrun.h"
#include "ssm/mf.h"
#include "ssm/rng.h"
#include "ssm/train.h"
#include "trainrun.h"

/* ---- shared helpers -------------------------------------------------------- */

int sw_kind_param_index(const sw_kind *kind, const char *name)
{
    for (size_t k = 0; k < kind->n_params; ++k)
        if (strcmp(kind->params[k].name, name) == 0)
            return (int)k;
    return -1;
}

ssm_status sw_result_init(sw_result *r, const sw_kind *kind, ssm_error *err)
{
    memset(r, 0, sizeof *r);
    r->n_scalars = kind->n_scalars;
    r->n_curves = kind->n_curves;
    r->scalars = malloc((r->n_scalars ? r->n_scalars : 1) * sizeof *r->scalars);
    r->curves = calloc(r->n_curves ? r->n_curves : 1, sizeof *r->curves);
    r->curve_len = calloc(r->n_curves ? r->n_curves : 1, sizeof *r->curve_len);
    if (!r->scalars || !r->curves || !r->curve_len) {
        sw_result_free(r);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for a result record");
    }
    for (size_t k = 0; k < r->n_scalars; ++k)
        r->scalars[k] = NAN;
    return SSM_OK;
}

void sw_result_set_curve(sw_result *r, size_t c, double *values, size_t len)
{
    free(r->curves[c]);
    r->curves[c] = values;
    r->curve_len[c] = len;
}

void sw_result_free(sw_result *r)
{
    if (!r)
        return;
    for (size_t c = 0; r->curves && c < r->n_curves; ++c)
        free(r->curves[c]);
    free(r->curves);
    free(r->curve_len);
    free(r->scalars);
    memset(r, 0, sizeof *r);
}

/* Library messages name CLI options ("--tau-max: ... shorter than --T");
 * in a sweep the same values are the spec keys tau_max and T. */
static ssm_status as_spec_key(ssm_status status, ssm_error *err)
{
    if (status == SSM_OK || !err)
        return status;
    char *out = err->message;
    const char *in = err->message;
    while (*in) {
        if (in[0] == '-' && in[1] == '-' && (in == err->message || in[-1] == ' ') &&
            ((in[2] >= 'a' && in[2] <= 'z') || (in[2] >= 'A' && in[2] <= 'Z'))) {
            in += 2;   /* drop "--", turn the option's dashes into underscores */
            while ((*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') || (*in >= '0' && *in <= '9') || *in == '-')
                *out++ = *in == '-' ? '_' : *in, ++in;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return status;
}

/* ---- kind "mf": the memory function of one model --------------------------- */

static const char *const mf_inits[] = {"s4d-inv", "s4d-lin", "s4d-real", "s4d-random", "s4d-legs",
                                       "lin", "step", "random", "file", "legs-dense", NULL};
static const char *const mf_discs[] = {"zoh", "bilinear", NULL};
static const char *const mf_methods[] = {"analytic", "finite", "simulate", "blaschke", NULL};

enum {
    MF_INIT, MF_N, MF_DT, MF_DISC, MF_RHO, MF_GROUPS, MF_REAL_PART, MF_IMAG_SCALE, MF_METHOD,
    MF_TAU_MAX, MF_T, MF_WASHOUT, MF_RCOND, MF_FILE, MF_REPEAT, MF_N_PARAMS
};

/* The model parameters every kind built on an ssm_model shares (P is the
 * kind's enum prefix, N_MAX and N_DEF its limit and default for N). */
#define SW_MODEL_PARAMS(P, N_MAX, N_DEF)                                                                  \
    [P##INIT] = {"init", SW_STRING, "s4d-inv", 0, 0, mf_inits, "1", "eigenvalue configuration (at init)"}, \
    [P##N] = {"N", SW_INT, N_DEF, 1, N_MAX, NULL, "1", "real state dimension"},                             \
    [P##DT] = {"dt", SW_REAL, "0.01", DBL_MIN, 1e6, NULL, "1", "discretization step (at init)"},            \
    [P##DISC] = {"disc", SW_STRING, "zoh", 0, 0, mf_discs, "1", "discretization"},                          \
    [P##RHO] = {"rho", SW_REAL, "0.99", DBL_MIN, 0x1.fffffffffffffp-1, NULL, "1",                           \
                "radius of lin, step and random"},                                                          \
    [P##GROUPS] = {"groups", SW_INT, "4", 1, N_MAX, NULL, "1", "roots of unity per radius (step)"},         \
    [P##REAL_PART] = {"real_part", SW_REAL, "0.5", DBL_MIN, 1e12, NULL, "1", "-Re A_n of the S4D families"}, \
    [P##IMAG_SCALE] = {"imag_scale", SW_REAL, "1", 0, 1e12, NULL, "1", "factor on Im A_n"}

/* The ssm_model of the SW_MODEL_PARAMS block that starts at p (its INIT
 * entry); the choices were checked by the spec parser. */
static void model_from_params(const sw_value *p, uint64_t seed, ssm_model *m)
{
    enum { INIT, N, DT, DISC, RHO, GROUPS, REAL_PART, IMAG_SCALE };
    ssm_error ignored;
    ssm_model_defaults(m);
    ssm_init_parse(p[INIT].s, &m->init, &ignored);
    ssm_disc_parse(p[DISC].s, &m->disc, &ignored);
    m->n = (long)p[N].i;
    m->dt = p[DT].r;
    m->rho = p[RHO].r;
    m->groups = (long)p[GROUPS].i;
    m->real_part = p[REAL_PART].r;
    m->imag_scale = p[IMAG_SCALE].r;
    m->seed = seed;
}

static const sw_param_desc mf_params[MF_N_PARAMS] = {
    SW_MODEL_PARAMS(MF_, 65536, "32"),
    [MF_METHOD] = {"method", SW_STRING, "analytic", 0, 0, mf_methods, "1", "memory-function engine"},
    [MF_TAU_MAX] = {"tau_max", SW_INT, "1000", 0, 1e8, NULL, "1", "largest delay"},
    [MF_T] = {"T", SW_INT, "1024", 1, 1e12, NULL, "1", "sequence length (finite) or samples (simulate)"},
    [MF_WASHOUT] = {"washout", SW_INT, "-1", -1, 1e12, NULL, "1", "simulation washout, -1: automatic"},
    [MF_RCOND] = {"rcond", SW_REAL, "0", 0, 0x1.fffffffffffffp-1, NULL, "1",
                  "relative singular-value cut-off, 0: engine default"},
    [MF_FILE] = {"file", SW_STRING, "", 0, 0, NULL, "1", "eigenvalue CSV for init file"},
    [MF_REPEAT] = {"repeat", SW_INT, "0", 0, 1e9, NULL, "1", "replica index"},
};

enum { MF_MC, MF_RANK, MF_COND, MF_MEMORY_LENGTH, MF_RCOND_USED, MF_WASHOUT_USED, MF_N_SCALARS };

static const sw_output_desc mf_scalars[MF_N_SCALARS] = {
    [MF_MC] = {"mc", "1", "memory capacity, sum of MF over 0..tau_max"},
    [MF_RANK] = {"rank", "1", "numerical rank (MF summed over all delays)"},
    [MF_COND] = {"cond", "1", "condition number of the equilibrated Gram matrix"},
    [MF_MEMORY_LENGTH] = {"memory_length", "1", "MF-weighted mean delay"},
    [MF_RCOND_USED] = {"rcond_used", "1", "singular-value cut-off used"},
    [MF_WASHOUT_USED] = {"washout_used", "1", "simulation washout used"},
};

enum { MF_CURVE_MF, MF_CURVE_EIG_RE, MF_CURVE_EIG_IM, MF_N_CURVES };

static const sw_curve_desc mf_curves[MF_N_CURVES] = {
    [MF_CURVE_MF] = {"mf", "tau", "1", "memory function MF(tau)"},
    [MF_CURVE_EIG_RE] = {"eig_re", "mode", "1", "Re of the discrete eigenvalues"},
    [MF_CURVE_EIG_IM] = {"eig_im", "mode", "1", "Im of the discrete eigenvalues"},
};

static void mf_setup(const sw_value *p, uint64_t seed, ssm_model *m, ssm_mf_options *o)
{
    ssm_error ignored;
    model_from_params(p + MF_INIT, seed, m);
    ssm_mf_options_defaults(o);
    ssm_mf_method_parse(p[MF_METHOD].s, &o->method, &ignored);
    m->file = p[MF_FILE].s;
    o->tau_max = (size_t)p[MF_TAU_MAX].i;
    o->T = (size_t)p[MF_T].i;
    o->washout = p[MF_WASHOUT].i < 0 ? SSM_WASHOUT_AUTO : (size_t)p[MF_WASHOUT].i;
    o->rcond = p[MF_RCOND].r;
    o->seed = seed;
}

static ssm_status mf_check(const sw_value *p, ssm_error *err)
{
    ssm_model m;
    ssm_mf_options o;
    mf_setup(p, 0, &m, &o);
    ssm_status st = ssm_model_validate(&m, err);
    if (st == SSM_OK)
        st = ssm_mf_options_validate(&o, err);
    if (st == SSM_OK && m.init == SSM_INIT_LEGS_DENSE && o.method == SSM_MF_BLASCHKE)
        st = ssm_fail(err, SSM_EINVAL, "method: blaschke needs a diagonal system, not legs-dense");
    return as_spec_key(st, err);
}

/* flops, roughly: what dominates each engine */
static double mf_cost(const sw_value *p)
{
    double n = (double)p[MF_N].i, k = (double)p[MF_TAU_MAX].i + 1, t = (double)p[MF_T].i;
    const char *method = p[MF_METHOD].s;
    if (strcmp(method, "finite") == 0)
        return 6 * t * n * n + 1e4;
    if (strcmp(method, "simulate") == 0) {
        double washout = p[MF_WASHOUT].i < 0 ? fmax(k, 2000) : (double)p[MF_WASHOUT].i;
        return (t + washout) * n * (n + 2 * k) + 1e4;
    }
    if (strcmp(method, "blaschke") == 0)
        return 16 * n * k + 4 * n * n + 1e4;
    return 10 * n * n * n + 2 * n * n * k + 1e4;
}

/* The engine's arrays (ssm_mf_peak_bytes) and the eigenvalue curves; N of
 * init file is what the file holds (0 if it cannot be read: the task
 * fails at once then). */
static size_t state_size(const ssm_model *m)
{
    /* one file read per file (same path, size and time): a sweep of many
     * tasks of one file would otherwise read it for every estimate (a
     * process estimates from one thread) */
    static char last_path[4096];
    static struct stat last;
    static size_t last_n;
    struct stat now;
    ssm_error ignored;
    size_t n = 0;
    if (m->init != SSM_INIT_FILE)
        return ssm_model_state_size(m, &n, &ignored) == SSM_OK ? n : 0;
    if (stat(m->file, &now) != 0)
        return 0;
    if (strcmp(last_path, m->file) == 0 && now.st_size == last.st_size && now.st_mtime == last.st_mtime &&
        now.st_ino == last.st_ino)
        return last_n;
    if (ssm_model_state_size(m, &n, &ignored) != SSM_OK)
        n = 0;
    snprintf(last_path, sizeof last_path, "%s", m->file);
    last = now;
    last_n = n;
    return n;
}

static double mf_memory(const sw_value *p)
{
    ssm_model m;
    ssm_mf_options o;
    mf_setup(p, 0, &m, &o);
    const size_t n = state_size(&m);
    return ssm_mf_peak_bytes(n, m.init == SSM_INIT_LEGS_DENSE, &o) + 2 * 8 * (double)n;
}

static size_t mf_curve_length(const sw_value *p, size_t c)
{
    if (c == MF_CURVE_MF)
        return (size_t)p[MF_TAU_MAX].i + 1;
    return strcmp(p[MF_INIT].s, "file") == 0 ? 0 : (size_t)p[MF_N].i;   /* a file's count is unknown */
}

static ssm_status mf_run(const sw_value *p, uint64_t seed, const sw_task_env *env, sw_result *out,
                         ssm_error *err)
{
    (void)env;   /* short tasks: no checkpoints */
    ssm_model m;
    ssm_mf_options o;
    ssm_mf_result res;
    mf_setup(p, seed, &m, &o);
    ssm_status st = ssm_mf_model(&m, &o, &res, err);
    if (st)
        return as_spec_key(st, err);
    int finite = isfinite(res.mc);
    for (size_t t = 0; finite && t < res.n_tau; ++t)
        finite = isfinite(res.mf[t]);
    if (!finite) {
        ssm_mf_result_free(&res);
        return ssm_fail(err, SSM_ENUMERIC, "memory function is not finite");
    }
    out->scalars[MF_MC] = res.mc;
    out->scalars[MF_RANK] = (double)res.rank;
    out->scalars[MF_COND] = res.cond;
    out->scalars[MF_MEMORY_LENGTH] = ssm_mf_memory_length(&res);
    out->scalars[MF_RCOND_USED] = res.rcond;
    out->scalars[MF_WASHOUT_USED] = o.method == SSM_MF_SIMULATE ? (double)res.washout : NAN;
    sw_result_set_curve(out, MF_CURVE_MF, res.mf, res.n_tau);   /* the result takes the buffer */
    /* the eigenvalues, for |lambda| plots (figure 1); not for init file,
     * whose eigenvalue count the file decides */
    ssm_spectrum sp;
    if (m.init != SSM_INIT_FILE && ssm_spectrum_build(&m, &sp, err) == SSM_OK) {
        double *re = malloc((sp.n ? sp.n : 1) * sizeof *re), *im = malloc((sp.n ? sp.n : 1) * sizeof *im);
        for (size_t k = 0; re && im && k < sp.n; ++k) {
            re[k] = creal(sp.lambda[k]);
            im[k] = cimag(sp.lambda[k]);
        }
        if (re && im) {
            sw_result_set_curve(out, MF_CURVE_EIG_RE, re, sp.n);
            sw_result_set_curve(out, MF_CURVE_EIG_IM, im, sp.n);
        } else {
            free(re);
            free(im);
        }
        ssm_spectrum_free(&sp);
    }
    return SSM_OK;
}

static const sw_kind mf_kind = {
    .name = "mf",
    .summary = "memory function and capacity of one model (ssmsweep mf)",
    .params = mf_params, .n_params = MF_N_PARAMS,
    .scalars = mf_scalars, .n_scalars = MF_N_SCALARS,
    .curves = mf_curves, .n_curves = MF_N_CURVES,
    .check = mf_check, .cost = mf_cost, .memory = mf_memory, .curve_length = mf_curve_length, .run = mf_run,
};

/* ---- kind "noop": a controllable task for tests and overhead benchmarks ---- */

enum { NOOP_VALUE, NOOP_SLEEP, NOOP_FAIL, NOOP_LENGTH, NOOP_REPEAT, NOOP_N_PARAMS };

static const sw_param_desc noop_params[NOOP_N_PARAMS] = {
    [NOOP_VALUE] = {"value", SW_REAL, "0", -1e300, 1e300, NULL, "1", "input value"},
    [NOOP_SLEEP] = {"sleep", SW_REAL, "0", 0, 3600, NULL, "s", "time the task sleeps"},
    [NOOP_FAIL] = {"fail", SW_INT, "0", 0, 1, NULL, "1", "1: the task fails on purpose"},
    [NOOP_LENGTH] = {"length", SW_INT, "0", 0, 1000000, NULL, "1", "length of the ramp curve"},
    [NOOP_REPEAT] = {"repeat", SW_INT, "0", 0, 1e9, NULL, "1", "replica index"},
};

static const sw_output_desc noop_scalars[] = {
    {"square", "1", "value squared"},
    {"draw", "1", "first uniform number of the task's random stream"},
};

static const sw_curve_desc noop_curves[] = {{"ramp", "index", "1", "value + index"}};

static ssm_status noop_check(const sw_value *p, ssm_error *err)
{
    (void)p;
    (void)err;
    return SSM_OK;
}

static double noop_cost(const sw_value *p)
{
    return 1 + 1e9 * p[NOOP_SLEEP].r + (double)p[NOOP_LENGTH].i;
}

static size_t noop_curve_length(const sw_value *p, size_t c)
{
    (void)c;
    return (size_t)p[NOOP_LENGTH].i;
}

static double noop_memory(const sw_value *p)
{
    return 8 * (double)p[NOOP_LENGTH].i;   /* the ramp */
}

static ssm_status noop_run(const sw_value *p, uint64_t seed, const sw_task_env *env, sw_result *out,
                           ssm_error *err)
{
    (void)env;   /* short tasks: no checkpoints */
    if (p[NOOP_SLEEP].r > 0) {
        double s = p[NOOP_SLEEP].r;
        struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    if (p[NOOP_FAIL].i)
        return ssm_fail(err, SSM_ENUMERIC, "failed on purpose (fail = 1)");
    ssm_rng rng;
    ssm_rng_init(&rng, seed, 0, 0);
    out->scalars[0] = p[NOOP_VALUE].r * p[NOOP_VALUE].r;
    out->scalars[1] = ssm_rng_uniform(&rng);
    size_t len = (size_t)p[NOOP_LENGTH].i;
    if (len) {
        double *ramp = malloc(len * sizeof *ramp);
        if (!ramp)
            return ssm_fail(err, SSM_ENOMEM, "out of memory");
        for (size_t k = 0; k < len; ++k)
            ramp[k] = p[NOOP_VALUE].r + (double)k;
        sw_result_set_curve(out, 0, ramp, len);
    }
    return SSM_OK;
}

static const sw_kind noop_kind = {
    .name = "noop",
    .summary = "a trivial task (tests, coordinator overhead benchmark)",
    .params = noop_params, .n_params = NOOP_N_PARAMS,
    .scalars = noop_scalars, .n_scalars = 2,
    .curves = noop_curves, .n_curves = 1,
    .check = noop_check, .cost = noop_cost, .memory = noop_memory, .curve_length = noop_curve_length,
    .run = noop_run,
};


/* ---- kind "train": one training run (ssmsweep train) ---------------------------- */

static const char *const train_tasks[] = {"delay", "teacher", "multi-delay", NULL};
static const char *const train_optimizers[] = {"adamw", "sgd", NULL};
static const char *const precisions[] = {"float32", "float64", NULL};

enum {
    TR_INIT, TR_N, TR_DT, TR_DISC, TR_RHO, TR_GROUPS, TR_REAL_PART, TR_IMAG_SCALE, TR_TASK, TR_TAU, TR_DELAYS,
    TR_LENGTH, TR_NOISE, TR_TEACHER_MEMORY, TR_TEACHER_MODES, TR_WASHOUT, TR_N_TRAIN, TR_N_VAL, TR_FREEZE,
    TR_OPTIMIZER, TR_EPOCHS, TR_BATCH, TR_LR, TR_LR_SSM, TR_WEIGHT_DECAY, TR_WARMUP, TR_THRESHOLD, TR_RIDGE,
    TR_REPEAT, TR_PRECISION, TR_N_PARAMS
};

static const sw_param_desc train_params[TR_N_PARAMS] = {
    SW_MODEL_PARAMS(TR_, 4096, "64"),
    [TR_TASK] = {"task_type", SW_STRING, "delay", 0, 0, train_tasks, "1", "learning task (delay, teacher, multi-delay)"},
    [TR_TAU] = {"delay", SW_INT, "100", 0, 1e8, NULL, "1", "delay of the delay task (tau*)"},
    [TR_DELAYS] = {"delays", SW_STRING, "", 0, 0, NULL, "1", "delays of multi-delay, comma-separated"},
    [TR_LENGTH] = {"length", SW_INT, "1024", 2, 1e8, NULL, "1", "sequence length"},
    [TR_NOISE] = {"noise", SW_REAL, "0", 0, 1e6, NULL, "1", "std of target noise"},
    [TR_TEACHER_MEMORY] = {"teacher_memory", SW_REAL, "100", DBL_MIN, 1e9, NULL, "1", "teacher e-folding time"},
    [TR_TEACHER_MODES] = {"teacher_modes", SW_INT, "8", 1, 4096, NULL, "1", "teacher conjugate pairs"},
    [TR_WASHOUT] = {"washout", SW_INT, "-1", -1, 1e8, NULL, "1", "steps the loss ignores, -1: the largest delay"},
    [TR_N_TRAIN] = {"n_train", SW_INT, "256", 1, 1e8, NULL, "1", "training sequences"},
    [TR_N_VAL] = {"n_val", SW_INT, "64", 1, 1e8, NULL, "1", "validation sequences"},
    [TR_FREEZE] = {"freeze", SW_STRING, "none", 0, 0, NULL, "1", "frozen parameter groups (RC mode: A,dt)"},
    [TR_OPTIMIZER] = {"optimizer", SW_STRING, "adamw", 0, 0, train_optimizers, "1", "optimizer"},
    [TR_EPOCHS] = {"epochs", SW_INT, "50", 1, 1e6, NULL, "1", "epochs"},
    [TR_BATCH] = {"batch", SW_INT, "32", 1, 1e6, NULL, "1", "sequences per batch"},
    [TR_LR] = {"lr", SW_REAL, "0.01", 0, 1e3, NULL, "1", "learning rate of B, C, D, bias"},
    [TR_LR_SSM] = {"lr_ssm", SW_REAL, "0.001", 0, 1e3, NULL, "1", "learning rate of A and dt"},
    [TR_WEIGHT_DECAY] = {"weight_decay", SW_REAL, "0.01", 0, 1e3, NULL, "1", "weight decay (not on A, dt)"},
    [TR_WARMUP] = {"warmup", SW_REAL, "0.1", 0, 1, NULL, "1", "fraction of steps of linear warm-up"},
    [TR_THRESHOLD] = {"threshold", SW_REAL, "0.1", 0, 1e300, NULL, "1", "loss for epochs-to-threshold"},
    [TR_RIDGE] = {"ridge", SW_REAL, "-1", -1, 1e300, NULL, "1", "closed-form readout with this ridge; -1: train"},
    [TR_REPEAT] = {"repeat", SW_INT, "0", 0, 1e9, NULL, "1", "replica index"},
    /* added after specs existed: silent at its default, so their hashes hold */
    [TR_PRECISION] = {"precision", SW_STRING, "float64", 0, 0, precisions, "1", "activations and FFTs",
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
    model_from_params(p + TR_INIT, seed, &c->model);
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
                return ssm_fail(err, SSM_EINVAL, "delays: expected up to %d integers separated by commas, got '%s'",
                                SSM_MAX_OUTPUTS, p[TR_DELAYS].s);
            c->task.delays[c->task.n_delays++] = (size_t)v;
            s = *end ? end + 1 : end;
        }
        if (!c->task.n_delays)
            return ssm_fail(err, SSM_EINVAL, "delays: multi-delay needs a list such as \"10,100,500\"");
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
    st = as_spec_key(st, err);
    /* the CLI's --tau is the spec's delay (tau is the name of an axis) */
    if (st && strncmp(err->message, "tau:", 4) == 0) {
        char rest[SSM_ERROR_MSG_MAX];
        snprintf(rest, sizeof rest, "%s", err->message + 4);
        snprintf(err->message, sizeof err->message, "delay:%.300s", rest);
    }
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

static double *copy_of(const double *src, size_t n)
{
    double *dst = malloc((n ? n : 1) * sizeof *dst);
    if (dst)
        memcpy(dst, src, n * sizeof *dst);
    return dst;
}

static double *parts_of(const double complex *z, size_t n, int imag)
{
    double *dst = malloc((n ? n : 1) * sizeof *dst);
    for (size_t k = 0; dst && k < n; ++k)
        dst[k] = imag ? cimag(z[k]) : creal(z[k]);
    return dst;
}

/* Hands curves[k] (length lens[k]) to the record; a NULL curve (its
 * allocation failed) is an out-of-memory error, the others are kept. */
static ssm_status take_curves(sw_result *out, double **curves, const size_t *lens, size_t n, ssm_error *err)
{
    ssm_status st = SSM_OK;
    for (size_t k = 0; k < n; ++k) {
        if (!curves[k])
            st = ssm_fail(err, SSM_ENOMEM, "out of memory");
        sw_result_set_curve(out, k, curves[k], curves[k] ? lens[k] : 0);
    }
    return st;
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
        return as_spec_key(st, err);
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
        copy_of(o.train_loss, o.n_epochs), copy_of(o.val_loss, o.n_epochs),
        copy_of(o.mf_init.mf, o.mf_init.n_tau), copy_of(o.mf_final.mf, o.mf_final.n_tau),
        parts_of(o.eig_init, o.n_eig, 0), parts_of(o.eig_init, o.n_eig, 1),
        parts_of(o.eig_final, o.n_eig, 0), parts_of(o.eig_final, o.n_eig, 1)};
    size_t lens[TC_N] = {o.n_epochs, o.n_epochs, o.mf_init.n_tau, o.mf_final.n_tau, o.n_eig, o.n_eig, o.n_eig, o.n_eig};
    st = take_curves(out, curves, lens, TC_N, err);
    sw_train_outcome_free(&o);
    if (st == SSM_OK && !isfinite(sc[TS_FINAL_VAL]))
        st = ssm_fail(err, SSM_ENUMERIC, "training diverged: final validation loss is not finite");
    return st;
}

static const sw_kind train_kind = {
    .name = "train",
    .summary = "gradient training of a single-layer diagonal SSM (ssmsweep train)",
    .params = train_params, .n_params = TR_N_PARAMS,
    .scalars = train_scalars, .n_scalars = TS_N,
    .curves = train_curves, .n_curves = TC_N,
    .check = train_check, .cost = train_cost, .memory = train_memory, .curve_length = train_curve_length,
    .run = train_run,
};

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
    SW_MODEL_PARAMS(SF_, 4096, "64"),
    [SF_MODE] = {"mode", SW_STRING, "learned", 0, 0, sf_modes, "1", "eigenvalues and dt trained or frozen (RC)"},
    [SF_D_MODEL] = {"d_model", SW_INT, "64", 1, 4096, NULL, "1", "channels H"},
    [SF_LAYERS] = {"layers", SW_INT, "4", 1, 64, NULL, "1", "S4D blocks"},
    [SF_DT_MIN] = {"dt_min", SW_REAL, "0.001", DBL_MIN, 1e6, NULL, "1", "smallest initial step (log-uniform)"},
    [SF_DT_MAX] = {"dt_max", SW_REAL, "0.1", DBL_MIN, 1e6, NULL, "1", "largest initial step"},
    [SF_DROPOUT] = {"dropout", SW_REAL, "0", 0, 0.99, NULL, "1", "dropout after GELU and after GLU"},
    [SF_EPOCHS] = {"epochs", SW_INT, "10", 1, 1e6, NULL, "1", "training epochs"},
    [SF_BATCH] = {"batch", SW_INT, "50", 1, 1e5, NULL, "1", "sequences per step"},
    [SF_LR] = {"lr", SW_REAL, "0.01", 0, 1e3, NULL, "1", "peak learning rate"},
    [SF_LR_SSM] = {"lr_ssm", SW_REAL, "0.001", 0, 1e3, NULL, "1", "peak learning rate of A and dt"},
    [SF_WEIGHT_DECAY] = {"weight_decay", SW_REAL, "0.01", 0, 1e3, NULL, "1", "weight decay (not on A, dt)"},
    [SF_WARMUP] = {"warmup", SW_REAL, "0.1", 0, 1, NULL, "1", "fraction of steps of linear warm-up"},
    [SF_PIXELS] = {"pixels", SW_STRING, "row", 0, 0, sf_orders, "1", "pixel order: row or permuted (seed 0)"},
    [SF_SUBSET] = {"subset", SW_INT, "0", 0, 1e8, NULL, "1", "first k training images, 0: all"},
    [SF_N_VAL] = {"n_val", SW_INT, "5000", 0, 59999, NULL, "1", "validation images held out of the training file"},
    [SF_TEST_SUBSET] = {"test_subset", SW_INT, "0", 0, 1e8, NULL, "1", "first k test images, 0: all 10000"},
    [SF_PRECISION] = {"precision", SW_STRING, "float32", 0, 0, precisions, "1", "activations"},
    [SF_THRESHOLD] = {"threshold", SW_REAL, "0.85", 0, 1, NULL, "1", "validation accuracy for epochs-to-threshold"},
    [SF_TAU_MAX] = {"tau_max", SW_INT, "2000", 1, 1e7, NULL, "1", "delays of the per-layer memory functions"},
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
    model_from_params(p + SF_INIT, seed, &c->model.eig);
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
        return ssm_fail(err, SSM_EINVAL, "init: %s is not a diagonal family the deep model can start from",
                        p[SF_INIT].s);
    ssm_status st = ssm_deep_config_validate(&c.model, err);
    if (st == SSM_OK)
        st = ssm_optim_validate(&c.train.optim, err);
    return as_spec_key(st, err);
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
        snprintf(path, sizeof path, "%s/%016llx.ckpt", env->checkpoint_dir, (unsigned long long)env->task_hash);
        c.checkpoint = path;
        c.checkpoint_key = ssm_mix64(seed ^ env->task_hash);
    }
    ssm_status st = sw_class_run(&c, &o, err);
    if (st)
        return as_spec_key(st, err);
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
    st = take_curves(out, curves, lens, SC_N, err);
    sw_class_outcome_free(&o);
    if (st == SSM_OK && !isfinite(sc[SS_FINAL_TRAIN_LOSS]))
        st = ssm_fail(err, SSM_ENUMERIC, "training diverged: the training loss is not finite");
    return st;
}

static const sw_kind sfmnist_kind = {
    .name = "sfmnist",
    .summary = "deep S4D classifier on sequential Fashion-MNIST (checkpoints every epoch)",
    .params = sf_params, .n_params = SF_N_PARAMS,
    .scalars = sf_scalars, .n_scalars = SS_N,
    .curves = sf_curves, .n_curves = SC_N,
    .check = sf_check, .cost = sf_cost, .memory = sf_memory, .curve_length = sf_curve_length, .run = sf_run,
};

/* ---- the table --------------------------------------------------------------- */

const sw_kind *const sw_kinds[] = {&mf_kind, &train_kind, &sfmnist_kind, &noop_kind, NULL};

const sw_kind *sw_kind_find(const char *name)
{
    for (size_t k = 0; sw_kinds[k]; ++k)
        if (strcmp(sw_kinds[k]->name, name) == 0)
            return sw_kinds[k];
    return NULL;
}
