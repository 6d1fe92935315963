#include "config.h"

#include "mf.h"
#include "param_check.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "dense.h"
#include "diagonal.h"
#include "projector.h"
#include "rng.h"

/* Delays per block of responses: large enough for an efficient dgemm,
 * small enough that a block of N = 1024 features stays in cache-sized
 * chunks and memory does not grow with tau_max. */
#define TAU_BLOCK 512
/* Time steps per block of the simulation engine. */
#define SIM_BLOCK 512
/* Stream id of the simulation input (see spectrum.c for the others). */
#define STREAM_SIM_INPUT 3
/* Largest automatic washout; a slower system needs an explicit --washout. */
#define WASHOUT_AUTO_MAX 10000000UL

static const char *const method_names[SSM_MF_METHOD_COUNT] = {
    [SSM_MF_ANALYTIC] = "analytic",
    [SSM_MF_FINITE] = "finite",
    [SSM_MF_SIMULATE] = "simulate",
    [SSM_MF_BLASCHKE] = "blaschke",
};

void ssm_mf_options_defaults(ssm_mf_options *o)
{
    o->method = SSM_MF_ANALYTIC;
    o->tau_max = 1000;
    o->T = 1024;
    o->washout = SSM_WASHOUT_AUTO;
    o->seed = 0;
    o->rcond = 0;
}

const char *ssm_mf_method_name(ssm_mf_method m)
{
    return (unsigned)m < SSM_MF_METHOD_COUNT ? method_names[m] : "?";
}

ssm_status ssm_mf_method_parse(const char *name, ssm_mf_method *method, ssm_error *err)
{
    for (int k = 0; k < SSM_MF_METHOD_COUNT; ++k)
        if (strcmp(name, method_names[k]) == 0) {
            *method = (ssm_mf_method)k;
            return SSM_OK;
        }
    return ssm_fail_param(err, SSM_EINVAL,
                    "method", "unknown method '%s' (expected analytic, finite, simulate or blaschke)",
                    name);
}

/* Eigenvalue-based engines resolve s_k / s_max down to about n eps (the
 * absolute accuracy of a symmetric eigensolver on a unit-diagonal matrix),
 * so they cut at rcond^2 = 10 n eps.  The SVD resolves singular values to
 * max(T, n) eps, the convention of LAPACK's and numpy's rank tests.  The
 * blaschke engine needs no cut-off (see mf_blaschke). */
double ssm_mf_default_rcond(ssm_mf_method method, size_t n, size_t T)
{
    if (method == SSM_MF_BLASCHKE)
        return 0.0;   /* exact: only rounding-level duplicates are merged */
    if (method == SSM_MF_FINITE)
        return (double)(T > n ? T : n) * DBL_EPSILON;
    return sqrt(10.0 * (double)(n ? n : 1) * DBL_EPSILON);
}

ssm_status ssm_mf_options_validate(const ssm_mf_options *o, ssm_error *err)
{
    if ((unsigned)o->method >= SSM_MF_METHOD_COUNT)
        return ssm_fail_param(err, SSM_EINVAL, "method", "invalid method");
    if (o->tau_max > SSM_PARAM_MAX(SSM_PARAM_TAU_MAX))
        return ssm_fail_param(err, SSM_EINVAL, "tau_max", "%zu is beyond the limit " SSM_PARAM_MAX_TEXT(SSM_PARAM_TAU_MAX),
                              o->tau_max);
    /* T and the washout matter to finite and simulate alone, which hold them
     * to SSM_MF_MAX_LENGTH, within their rows (the values a spec may hold) */
    if (o->method == SSM_MF_FINITE || o->method == SSM_MF_SIMULATE) {
        /* the simulation's memory does not grow with T or the washout, its time does */
        if (o->T > SSM_MF_MAX_LENGTH)
            return ssm_fail_param(err, SSM_EINVAL, "T", "%zu is beyond the limit 1e9", o->T);
        if (o->washout != SSM_WASHOUT_AUTO && o->washout > SSM_MF_MAX_LENGTH)
            return ssm_fail_param(err, SSM_EINVAL, "washout", "%zu is beyond the limit 1e9", o->washout);
        if (o->T < SSM_PARAM_MIN(SSM_PARAM_T))
            return ssm_fail_param(err, SSM_EINVAL, "T", "sequence length must be at least " SSM_PARAM_MIN_TEXT(SSM_PARAM_T));
        if (o->T < o->tau_max)
            return ssm_fail_param(err, SSM_EINVAL, "T",
                            "sequence length %zu is shorter than the largest delay %zu", o->T,
                            o->tau_max);
    }
    if (o->method == SSM_MF_SIMULATE && o->washout != SSM_WASHOUT_AUTO &&
        o->washout < o->tau_max)
        return ssm_fail_param(err, SSM_EINVAL, "washout",
                        "%zu is shorter than the largest delay %zu (the delayed inputs of "
                        "the first sample must exist)",
                        o->washout, o->tau_max);
    if (!(isfinite(o->rcond) && o->rcond <= SSM_PARAM_MAX(SSM_PARAM_RCOND)))
        return ssm_fail_param(err, SSM_EINVAL, "rcond", "must be a finite number below 1, got %g",
                        o->rcond);
    return SSM_PARAM_CHECK(o->rcond, SSM_PARAM_RCOND, err);
}

static ssm_status result_alloc(ssm_mf_result *out, size_t n, size_t n_tau, ssm_error *err)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->n_tau = n_tau;
    out->cond = NAN;
    out->mf = calloc(n_tau ? n_tau : 1, sizeof *out->mf);
    if (!out->mf)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for %zu delays", n_tau);
    return SSM_OK;
}

static void result_finish(ssm_mf_result *out)
{
    double sum = 0;
    for (size_t t = 0; t < out->n_tau; ++t)
        sum += out->mf[t];
    out->mc = sum;
}

static double chosen_rcond(const ssm_mf_options *o, size_t n)
{
    return o->rcond > 0 ? o->rcond : ssm_mf_default_rcond(o->method, n, o->T);
}

/* ---- analytic: closed-form Gram + projector ------------------------------ */

static ssm_status mf_analytic(const ssm_features *f, const ssm_mf_options *o, ssm_mf_result *out,
                              ssm_error *err)
{
    const size_t n = f->n, n_tau = o->tau_max + 1;
    ssm_projector proj = {0};
    double *gram = malloc(n * n * sizeof *gram);
    double *block = malloc(n * TAU_BLOCK * sizeof *block);
    double *work = malloc(n * TAU_BLOCK * sizeof *work);
    ssm_status status = result_alloc(out, n, n_tau, err);
    if (status)
        goto done;
    if (!gram || !block || !work) {
        status = ssm_fail(err, SSM_ENOMEM, "out of memory for the analytic engine (N = %zu)", n);
        goto done;
    }
    status = f->gram(f->ctx, gram, err);
    if (status)
        goto done;
    out->rcond = chosen_rcond(o, n);
    status = ssm_projector_build(n, gram, out->rcond, &proj, err);
    if (status)
        goto done;
    for (size_t tau0 = 0; tau0 < n_tau; tau0 += TAU_BLOCK) {
        size_t count = n_tau - tau0 < TAU_BLOCK ? n_tau - tau0 : TAU_BLOCK;
        status = f->responses(f->ctx, tau0, count, block, count, err);
        if (status)
            goto done;
        ssm_projector_norms(&proj, count, block, count, 1.0, out->mf + tau0, work);
    }
    out->rank = proj.rank;
    out->cond = proj.cond;
    result_finish(out);
done:
    ssm_projector_free(&proj);
    free(gram);
    free(block);
    free(work);
    if (status)
        ssm_mf_result_free(out);
    return status;
}

/* ---- finite: leverage scores of the T x N response matrix ---------------- */

static ssm_status mf_finite(const ssm_features *f, const ssm_mf_options *o, ssm_mf_result *out,
                            ssm_error *err)
{
    const size_t n = f->n, T = o->T, n_tau = o->tau_max + 1;
    const size_t kmin = T < n ? T : n;
    double *v = NULL, *sv = NULL, *u = NULL, *vt = NULL;
    ssm_status status = result_alloc(out, n, n_tau, err);
    if (status)
        goto done;
    if (T > SIZE_MAX / sizeof(double) / (n ? n : 1)) {
        status = ssm_fail_param(err, SSM_EINVAL, "T", "%zu x %zu response matrix is too large", T, n);
        goto done;
    }
    /* column-major T x n: feature i's responses are contiguous, which is
     * exactly the layout responses() writes with ld = T */
    v = malloc(T * n * sizeof *v);
    sv = malloc((kmin ? kmin : 1) * sizeof *sv);
    u = malloc(T * kmin * sizeof *u);
    vt = malloc(kmin * n * sizeof *vt);
    if (!v || !sv || !u || !vt) {
        status = ssm_fail(err, SSM_ENOMEM,
                          "out of memory for the %zu x %zu response matrix (lower --T)", T, n);
        goto done;
    }
    for (size_t tau0 = 0; tau0 < T; tau0 += TAU_BLOCK) {
        size_t count = T - tau0 < TAU_BLOCK ? T - tau0 : TAU_BLOCK;
        status = f->responses(f->ctx, tau0, count, v + tau0, T, err);
        if (status)
            goto done;
    }
    /* unit columns: leverage scores do not depend on column scale, and the
     * rank decision then does not depend on how the state is scaled */
    for (size_t i = 0; i < n; ++i) {
        double *col = v + i * T;
        double nrm = cblas_dnrm2((int)T, col, 1);
        if (nrm > 0)
            cblas_dscal((int)T, 1.0 / nrm, col, 1);
    }
    lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', (lapack_int)T, (lapack_int)n, v,
                                     (lapack_int)T, sv, u, (lapack_int)T, vt, (lapack_int)kmin);
    if (info != 0) {
        status = ssm_fail(err, SSM_ENUMERIC, "dgesdd failed (info %d) on the %zu x %zu Vandermonde "
                          "matrix", (int)info, T, n);
        goto done;
    }
    out->rcond = chosen_rcond(o, n);
    size_t rank = 0;
    while (rank < kmin && sv[rank] > out->rcond * sv[0])
        ++rank;
    for (size_t k = 0; k < rank; ++k) {
        const double *col = u + k * T;
        size_t rows = n_tau < T ? n_tau : T;   /* MF_T(tau >= T) = 0 */
        for (size_t t = 0; t < rows; ++t)
            out->mf[t] += col[t] * col[t];
    }
    out->rank = rank;
    out->cond = sv[kmin - 1] > 0 ? (sv[0] / sv[kmin - 1]) * (sv[0] / sv[kmin - 1]) : INFINITY;
    result_finish(out);
done:
    free(v);
    free(sv);
    free(u);
    free(vt);
    if (status)
        ssm_mf_result_free(out);
    return status;
}

/* ---- simulate: streaming least squares ----------------------------------- */

static size_t automatic_washout(double radius, size_t tau_max)
{
    /* until the transient radius^t from the zero state is below eps */
    double steps = radius > 0 ? ceil(log(DBL_EPSILON) / log(radius)) : 0;
    if (steps > (double)WASHOUT_AUTO_MAX)
        steps = (double)WASHOUT_AUTO_MAX;
    return (size_t)steps > tau_max ? (size_t)steps : tau_max;
}

static void draw_inputs(ssm_rng *rng, double *u, size_t count)
{
    for (size_t t = 0; t < count; ++t)
        u[t] = 2.0 * ssm_rng_uniform(rng) - 1.0;
}

static ssm_status mf_simulate(const ssm_features *f, const ssm_mf_options *o, ssm_mf_result *out,
                              ssm_error *err)
{
    const size_t n = f->n, K = o->tau_max + 1, B = SIM_BLOCK, hist_len = K - 1 + B;
    ssm_projector proj = {0};
    ssm_rng rng;
    double *hist = malloc(hist_len * sizeof *hist);
    double *z = malloc(B * n * sizeof *z);
    double *lag = malloc(B * K * sizeof *lag);
    double *s = calloc(n * n, sizeof *s);
    double *c = calloc(n * K, sizeof *c);
    double *yy = calloc(K, sizeof *yy);
    double *work = NULL;
    ssm_status status = result_alloc(out, n, K, err);
    if (status)
        goto done;
    if (!hist || !z || !lag || !s || !c || !yy) {
        status = ssm_fail(err, SSM_ENOMEM, "out of memory for the simulation (N = %zu, tau_max = %zu)",
                          n, o->tau_max);
        goto done;
    }
    if (!(f->radius < 1)) {
        status = ssm_fail(err, SSM_EINVAL, "simulate needs a stable system, spectral radius is %g",
                          f->radius);
        goto done;
    }
    out->washout = o->washout == SSM_WASHOUT_AUTO ? automatic_washout(f->radius, o->tau_max)
                                                  : o->washout;
    ssm_rng_init(&rng, o->seed, 0, STREAM_SIM_INPUT);
    f->reset(f->ctx);
    /* hist[0 .. K-2] always holds the K-1 inputs before the current block */
    memset(hist, 0, hist_len * sizeof *hist);
    size_t t = 0, total = out->washout + o->T;
    while (t < total) {
        size_t count = total - t < B ? total - t : B;
        double *u = hist + (K - 1);
        draw_inputs(&rng, u, count);
        f->simulate(f->ctx, u, count, z, n);
        /* rows of this block that are samples (t + b >= washout) */
        size_t first = t >= out->washout ? 0 : out->washout - t;
        if (first < count) {
            size_t rows = count - first;
            for (size_t b = 0; b < rows; ++b) {
                const double *now = u + first + b;   /* u_{t'}; u_{t'-tau} = now[-tau] */
                double *row = lag + b * K;
                for (size_t tau = 0; tau < K; ++tau) {
                    row[tau] = now[-(ptrdiff_t)tau];
                    yy[tau] += row[tau] * row[tau];
                }
            }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)rows, 1.0,
                        z + first * n, (int)n, 1.0, s, (int)n);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)K, (int)rows, 1.0,
                        z + first * n, (int)n, lag, (int)K, 1.0, c, (int)K);
        }
        /* keep the last K-1 inputs for the next block's lags */
        memmove(hist, hist + count, (K - 1) * sizeof *hist);
        t += count;
    }
    out->rcond = chosen_rcond(o, n);
    status = ssm_projector_build(n, s, out->rcond, &proj, err);
    if (status)
        goto done;
    work = malloc((proj.rank ? proj.rank : 1) * K * sizeof *work);
    if (!work) {
        status = ssm_fail(err, SSM_ENOMEM, "out of memory");
        goto done;
    }
    ssm_projector_norms(&proj, K, c, K, 1.0, out->mf, work);
    for (size_t tau = 0; tau < K; ++tau)
        out->mf[tau] = yy[tau] > 0 ? out->mf[tau] / yy[tau] : 0.0;
    out->rank = proj.rank;
    out->cond = proj.cond;
    result_finish(out);
done:
    ssm_projector_free(&proj);
    free(hist);
    free(z);
    free(lag);
    free(s);
    free(c);
    free(yy);
    free(work);
    if (status)
        ssm_mf_result_free(out);
    return status;
}

ssm_status ssm_mf_features(const ssm_features *f, const ssm_mf_options *o, ssm_mf_result *out,
                           ssm_error *err)
{
    ssm_status status = ssm_mf_options_validate(o, err);
    if (status)
        return status;
    if (o->method != SSM_MF_FINITE && !(f->radius < 1))
        return ssm_fail(err, SSM_EINVAL,
                        "spectral radius %.17g >= 1: the %s engine needs a stable system "
                        "(--method finite works for any spectrum)",
                        f->radius, ssm_mf_method_name(o->method));
    switch (o->method) {
    case SSM_MF_ANALYTIC: return mf_analytic(f, o, out, err);
    case SSM_MF_FINITE: return mf_finite(f, o, out, err);
    case SSM_MF_SIMULATE: return mf_simulate(f, o, out, err);
    default:
        return ssm_fail_param(err, SSM_EINVAL, "method", "%s needs a diagonal system",
                        ssm_mf_method_name(o->method));
    }
}

/* ---- blaschke: the Takenaka-Malmquist orthonormal basis ------------------ */

/* Two eigenvalues closer than this (in pseudo-hyperbolic distance) are the
 * same eigenvalue up to the rounding of its computation: a perturbation of
 * eps |l| moves the distance by about eps / (1 - |l|^2), and exp(dt a)
 * itself carries an error of a few hundred eps for large |dt a|. */
static double duplicate_distance(double complex l)
{
    double w = 1.0 - creal(l) * creal(l) - cimag(l) * cimag(l);
    return 1024.0 * DBL_EPSILON / w;
}

/* The impulse responses e_i(tau) = lambda_i^tau have generating functions
 * 1/(1 - lambda_i z), the reproducing kernels of the Hardy space H^2 at
 * conj(lambda_i).  Gram-Schmidt of these kernels has the closed form
 *   phi_k(z) = sqrt(1 - |l_k|^2) / (1 - l_k z) * prod_{j<k} (z - conj l_j) / (1 - l_j z),
 * so MF(tau) = sum_k |[z^tau] phi_k|^2.  The Blaschke factors are all-pass
 * filters, applied as first-order recursions: O(N tau_max) work, every step
 * norm-preserving, and no Gram matrix to decompose, so the result is the
 * memory function of the given eigenvalues to rounding accuracy however
 * ill-conditioned their Gram matrix is.  Modes are taken greedily by their
 * relative innovation
 *   rho_i = prod_{j selected} |(l_i - l_j) / (1 - conj(l_j) l_i)|^2,
 * the fraction of e_i not explained by the selected modes, known exactly
 * from the eigenvalues (kept as a logarithm: it underflows for large N).
 * A mode at rounding distance of a selected one is a duplicate (S4D-Lin's
 * real mode and its conjugate, aliased frequencies); an optional rcond > 0
 * also drops modes with rho_i <= rcond^2, which models a noise floor. */
static ssm_status mf_blaschke(const ssm_spectrum *sp, const ssm_mf_options *o, ssm_mf_result *out,
                              ssm_error *err)
{
    const size_t n = sp->n, K = o->tau_max + 1;
    double complex *blaschke = malloc(K * sizeof *blaschke);
    double *log_rho = malloc((n ? n : 1) * sizeof *log_rho);
    unsigned char *taken = calloc(n ? n : 1, 1);
    ssm_status status = result_alloc(out, n, K, err);
    if (status)
        goto done;
    if (!blaschke || !log_rho || !taken) {
        status = ssm_fail(err, SSM_ENOMEM, "out of memory for the blaschke engine");
        goto done;
    }
    out->rcond = o->rcond > 0 ? o->rcond : 0.0;
    const double log_cut = out->rcond > 0 ? 2.0 * log(out->rcond) : -INFINITY;
    for (size_t i = 0; i < n; ++i)
        log_rho[i] = 0.0;
    memset(blaschke, 0, K * sizeof *blaschke);
    blaschke[0] = 1.0;
    size_t rank = 0;
    for (;;) {
        size_t k = n;
        for (size_t i = 0; i < n; ++i)
            if (!taken[i] && (k == n || log_rho[i] > log_rho[k]))
                k = i;
        if (k == n || !(log_rho[k] > log_cut))
            break;
        taken[k] = 1;
        ++rank;
        const double complex l = sp->lambda[k];
        const double w = 1.0 - creal(l) * creal(l) - cimag(l) * cimag(l);
        /* phi_k = sqrt(w) B / (1 - l z):  c_tau = l c_{tau-1} + B_tau */
        double complex c = 0;
        for (size_t t = 0; t < K; ++t) {
            c = l * c + blaschke[t];
            out->mf[t] += w * (creal(c) * creal(c) + cimag(c) * cimag(c));
        }
        /* B <- B (z - conj l) / (1 - l z):  y_tau = l y_{tau-1} + B_{tau-1} - conj(l) B_tau */
        double complex y = 0, prev = 0;
        for (size_t t = 0; t < K; ++t) {
            double complex cur = blaschke[t];
            y = l * y + prev - conj(l) * cur;
            prev = cur;
            blaschke[t] = y;
        }
        for (size_t i = 0; i < n; ++i)
            if (!taken[i]) {
                double q = cabs(sp->lambda[i] - l) / cabs(1.0 - conj(l) * sp->lambda[i]);
                if (q <= duplicate_distance(sp->lambda[i]))
                    taken[i] = 1;
                else
                    log_rho[i] += 2.0 * log(q);
            }
    }
    out->rank = rank;
    result_finish(out);
done:
    free(blaschke);
    free(log_rho);
    free(taken);
    if (status)
        ssm_mf_result_free(out);
    return status;
}

ssm_status ssm_mf_spectrum(const ssm_spectrum *sp, const ssm_mf_options *o, ssm_mf_result *out,
                           ssm_error *err)
{
    ssm_modes modes = {0};
    ssm_diagonal diag = {0};
    ssm_features f;
    ssm_status status = ssm_mf_options_validate(o, err);
    if (status)
        return status;
    if (o->method == SSM_MF_BLASCHKE) {
        if (!(ssm_spectrum_radius(sp) < 1))
            return ssm_fail(err, SSM_EINVAL,
                            "spectral radius %.17g >= 1: the blaschke engine needs a stable system",
                            ssm_spectrum_radius(sp));
        return mf_blaschke(sp, o, out, err);
    }
    status = ssm_modes_from_spectrum(sp, &modes, err);
    if (status)
        return status;
    status = ssm_diagonal_features(&modes, TAU_BLOCK, &diag, &f, err);
    if (status == SSM_OK)
        status = ssm_mf_features(&f, o, out, err);
    ssm_diagonal_free(&diag);
    ssm_modes_free(&modes);
    return status;
}

ssm_status ssm_mf_model(const ssm_model *model, const ssm_mf_options *o, ssm_mf_result *out,
                        ssm_error *err)
{
    ssm_status status;
    if (model->init == SSM_INIT_LEGS_DENSE) {
        ssm_dense sys;
        ssm_features f;
        status = ssm_dense_from_model(model, &sys, err);
        if (status)
            return status;
        status = ssm_dense_features(&sys, &f, err);
        if (status == SSM_OK)
            status = ssm_mf_features(&f, o, out, err);
        ssm_dense_free(&sys);
        return status;
    }
    ssm_spectrum sp;
    status = ssm_spectrum_build(model, &sp, err);
    if (status)
        return status;
    status = ssm_mf_spectrum(&sp, o, out, err);
    ssm_spectrum_free(&sp);
    return status;
}

void ssm_mf_result_free(ssm_mf_result *r)
{
    if (!r)
        return;
    free(r->mf);
    r->mf = NULL;
    r->n_tau = 0;
}

double ssm_mf_memory_length(const ssm_mf_result *r)
{
    double num = 0, den = 0;
    for (size_t t = 0; t < r->n_tau; ++t) {
        num += (double)t * r->mf[t];
        den += r->mf[t];
    }
    return den > 0 ? num / den : 0.0;
}

/* Each term names the arrays of the engine above it (in doubles); LAPACK's
 * part is what LAPACKE allocates: dsyevr in row-major order transposes its
 * matrix and eigenvectors (two n^2 copies), dgesdd asks for about
 * 4 n^2 + 7 n + T doubles of workspace. */
double ssm_mf_peak_bytes(size_t n_features, int dense, const ssm_mf_options *o)
{
    const double n = (double)n_features, nn = n * n, K = (double)o->tau_max + 1, B = TAU_BLOCK;
    const double projector = 4 * nn + 30 * n;   /* S, eigenvectors, their two LAPACKE copies */
    double system, engine;
    if (dense)   /* A, and the transient of discretizing it: expm of the (n+1)^2 augmented matrix */
        system = fmax(nn + 3 * n, 10 * (n + 1) * (n + 1));
    else if (o->method == SSM_MF_BLASCHKE)
        system = 2 * n + n / 4;   /* the spectrum; log_rho and taken */
    else         /* the spectrum, the modes, the diagonal features' table of B powers per mode */
        system = 2 * n + 5 * n + 2 * n * B;
    switch (o->method) {
    case SSM_MF_FINITE: {
        const double T = (double)o->T, k = fmin(T, n);
        engine = T * n + T * k + k * n + 4 * k * k + 7 * k + fmax(T, n) + K;
        break;
    }
    case SSM_MF_SIMULATE:
        engine = (K + SIM_BLOCK) + SIM_BLOCK * n + SIM_BLOCK * K + n * K + 2 * K + projector + n * K;
        break;
    case SSM_MF_BLASCHKE:
        engine = 2 * K + K;
        break;
    default:   /* analytic: the Gram matrix (Stein doubling for dense: 3 more n^2), the projector, blocks of B delays */
        engine = nn + fmax(projector, dense ? 3 * nn : 0) + 2 * n * B + K;
        break;
    }
    return 8 * (system + engine);
}
