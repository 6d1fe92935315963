#include "config.h"

#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "ssm/mf.h"
#include "ssm/spectrum.h"

/* ---- kind "mf": the memory function of one model --------------------------- */

static const char *const mf_methods[] = {"analytic", "finite", "simulate", "blaschke", NULL};

enum {
    MF_INIT, MF_N, MF_DT, MF_DISC, MF_RHO, MF_GROUPS, MF_REAL_PART, MF_IMAG_SCALE, MF_METHOD,
    MF_TAU_MAX, MF_T, MF_WASHOUT, MF_RCOND, MF_FILE, MF_REPEAT, MF_N_PARAMS
};

static const sw_param_desc mf_params[MF_N_PARAMS] = {
    SW_MODEL_PARAMS(MF_, SSM_PARAM_N, "32"),
    [MF_METHOD] = {"method", SW_STRING, "analytic", 0, 0, mf_methods, "1", "memory-function engine"},
    [MF_TAU_MAX] = {EX_PARAM(SSM_PARAM_TAU_MAX, "1000"), NULL, "1", "largest delay"},
    [MF_T] = {EX_PARAM(SSM_PARAM_T, "1024"), NULL, "1", "sequence length (finite) or samples (simulate)"},
    [MF_WASHOUT] = {EX_PARAM(SSM_PARAM_MF_WASHOUT, "-1"), NULL, "1", "simulation washout, -1: automatic"},
    [MF_RCOND] = {EX_PARAM(SSM_PARAM_RCOND, "0"), NULL, "1",
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
    ex_model_from_params(p + MF_INIT, seed, m);
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
        st = ssm_fail_param(err, SSM_EINVAL, "method", "blaschke needs a diagonal system, not legs-dense");
    return st;
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
        return st;
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

const sw_kind ex_kind_mf = {
    .name = "mf",
    .summary = "memory function and capacity of one model (ssmsweep mf)",
    .params = mf_params, .n_params = MF_N_PARAMS,
    .scalars = mf_scalars, .n_scalars = MF_N_SCALARS,
    .curves = mf_curves, .n_curves = MF_N_CURVES,
    .check = mf_check, .cost = mf_cost, .memory = mf_memory, .curve_length = mf_curve_length, .run = mf_run,
};
