#include "config.h"

#include "deep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "deep_gemm.h"
#include "memory.h"
#include "param_check.h"
#include "rfft.h"
#include "rng.h"
#include "s4d.h"

/* Stream ids (see train.c, spectrum.c and mf.c for the others); dropout
 * takes STREAM_DROPOUT + 2 layer + site - 1 + (sequence << 32). */
enum { STREAM_DEEP_INIT = 20, STREAM_DEEP_SHUFFLE = 21, STREAM_DROPOUT = 64 };

#define SSM_DEEP_LN_EPS 1e-5

/* Float32 exp and erf written so that loops over them vectorize (libm's
 * expf and erff are scalar calls, a third of the step before these).
 * vexpf: Cody-Waite reduction by ln 2 and Cephes' degree-7 polynomial,
 * about 1 ulp on [-87, 88] (clamped outside: GELU and the sigmoid need no
 * infinities).  verff_gauss: Abramowitz & Stegun 7.1.26, absolute error below
 * 1.5e-7 -- the formula PyTorch's vectorized erf uses.  Horner steps are
 * fused multiply-adds (fmaf: one instruction in the FMA clones, libm's
 * correctly rounded fmaf in the baseline, the same bits). */
static inline float vexpf(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    const float n = fmaf(x, 1.44269504f, 12582912.0f) - 12582912.0f;   /* round to nearest */
    const float r = fmaf(n, 2.12194440e-4f, fmaf(n, -0.693359375f, x));
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, r * r, r) + 1.0f;
    const uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* erf(x), and exp(-x^2) in *gauss (GELU's derivative needs both; the
 * formula computes the exponential anyway) */
static inline float verff_gauss(float x, float *gauss)
{
    const float ax = x < 0 ? -x : x;
    const float t = 1.0f / fmaf(0.3275911f, ax, 1.0f);
    float p = 1.061405429f;
    p = fmaf(p, t, -1.453152027f);
    p = fmaf(p, t, 1.421413741f);
    p = fmaf(p, t, -0.284496736f);
    p = fmaf(p, t, 0.254829592f);
    *gauss = vexpf(-ax * ax);
    const float y = fmaf(-p * t, *gauss, 1.0f);
    return x < 0 ? -y : y;
}

static inline double erf_gauss(double x, double *gauss)
{
    *gauss = exp(-x * x);
    return erf(x);
}

/* The elementwise loops run wider with AVX-512 and AVX2; GCC builds a
 * clone of the hot functions per instruction set (x86-64-v4: AVX-512;
 * x86-64-v3: AVX2 and FMA) and picks one at load time.  The clones round
 * identically: the same IEEE operations on wider registers, each fused
 * multiply-add written out as REAL_FMA (one instruction, or libm's
 * correctly rounded fmaf in the baseline clone), and ISO C mode contracts
 * nothing else. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define DEEP_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DEEP_HOT
#endif

/* Sequences of a batch are split into SSM_DEEP_SLOTS slots (contiguous
 * ranges), each with its own activations and gradient sums, added in slot
 * order at the end: the same arithmetic whether one thread runs the slots
 * one after the other or a thread per slot runs them side by side. */
#define SSM_DEEP_SLOTS 2

/* the typed halves: deep_*_f32 and deep_*_f64 */
#define REAL float
#define REAL_EXP vexpf
#define REAL_FMA fmaf
#define REAL_ERF_GAUSS verff_gauss
#define REAL_SQRT sqrtf
#define SUF f32
#define LANES SSM_RFFT_LANES_F32
#define GEMM ssm_deep_gemm_f32
#include "deep_body.h"

#define REAL double
#define REAL_EXP exp
#define REAL_FMA fma
#define REAL_ERF_GAUSS erf_gauss
#define REAL_SQRT sqrt
#define SUF f64
#define LANES SSM_RFFT_LANES_F64
#define GEMM ssm_deep_gemm_f64
#include "deep_body.h"

void ssm_deep_config_defaults(ssm_deep_config *c)
{
    memset(c, 0, sizeof *c);
    c->d_model = 64;
    c->n_layers = 4;
    c->n_classes = 10;
    c->dt_min = 0.001;
    c->dt_max = 0.1;
    c->dropout = 0;
    ssm_model_defaults(&c->eig);
    c->eig.init = SSM_INIT_S4D_LIN;
    c->eig.n = 64;
}

/* Parameter counts and offsets for the mode counts already set in m. */
static ssm_status deep_layout(ssm_deep *m, ssm_error *err)
{
    const size_t H = m->cfg.d_model, L = m->cfg.n_layers, M = m->n_modes, P = m->n_pair;
    const size_t len[SSM_DEEP_LAYER_BLOCKS] = {
        [SSM_DEEP_A_RE] = H * M, [SSM_DEEP_A_IM] = H * P,   [SSM_DEEP_DT] = H,
        [SSM_DEEP_C_RE] = H * M, [SSM_DEEP_C_IM] = H * P,   [SSM_DEEP_D] = H,
        [SSM_DEEP_MIX_W] = 2 * H * H, [SSM_DEEP_MIX_B] = 2 * H, [SSM_DEEP_NORM_G] = H, [SSM_DEEP_NORM_B] = H,
    };
    memcpy(m->layer_len, len, sizeof len);
    m->layer_off = malloc(L * SSM_DEEP_LAYER_BLOCKS * sizeof *m->layer_off);
    if (!m->layer_off)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the model layout");
    size_t off = 0;
    m->outer_off[SSM_DEEP_ENC_W] = off;
    off += m->outer_len[SSM_DEEP_ENC_W] = H;
    m->outer_off[SSM_DEEP_ENC_B] = off;
    off += m->outer_len[SSM_DEEP_ENC_B] = H;
    for (size_t l = 0; l < L; ++l)
        for (int b = 0; b < SSM_DEEP_LAYER_BLOCKS; ++b) {
            m->layer_off[l * SSM_DEEP_LAYER_BLOCKS + (size_t)b] = off;
            off += len[b];
        }
    m->outer_off[SSM_DEEP_DEC_W] = off;
    off += m->outer_len[SSM_DEEP_DEC_W] = m->cfg.n_classes * H;
    m->outer_off[SSM_DEEP_DEC_B] = off;
    off += m->outer_len[SSM_DEEP_DEC_B] = m->cfg.n_classes;
    m->n_params = off;
    m->theta = calloc(off, sizeof *m->theta);
    if (!m->theta)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for %zu parameters", off);
    return SSM_OK;
}

ssm_status ssm_deep_config_validate(const ssm_deep_config *c, ssm_error *err)
{
    ssm_status st;
    if (!SSM_PARAM_IN(c->d_model, SSM_PARAM_D_MODEL))
        return ssm_fail_param(err, SSM_EINVAL, "d_model", "%zu is not in [" SSM_PARAM_MIN_TEXT(SSM_PARAM_D_MODEL) ", "
                              SSM_PARAM_MAX_TEXT(SSM_PARAM_D_MODEL) "]", c->d_model);
    if (!SSM_PARAM_IN(c->n_layers, SSM_PARAM_LAYERS))
        return ssm_fail_param(err, SSM_EINVAL, "layers", "%zu is not in [" SSM_PARAM_MIN_TEXT(SSM_PARAM_LAYERS) ", "
                              SSM_PARAM_MAX_TEXT(SSM_PARAM_LAYERS) "]", c->n_layers);
    if (c->n_classes < 2 || c->n_classes > 256)
        return ssm_fail(err, SSM_EINVAL, "classes: %zu is not in [2, 256]", c->n_classes);
    const int dt_min_bad = !(c->dt_min >= SSM_PARAM_MIN(SSM_PARAM_DT_MIN));   /* the message names the one at fault */
    if (dt_min_bad || !(c->dt_min <= c->dt_max && isfinite(c->dt_max)))
        return ssm_fail_param(err, SSM_EINVAL, dt_min_bad ? "dt_min" : "dt_max", "need 0 < dt_min <= dt_max, got %g and %g",
                              c->dt_min, c->dt_max);
    if ((st = SSM_PARAM_CHECK(c->dt_min, SSM_PARAM_DT_MIN, err)) || (st = SSM_PARAM_CHECK(c->dt_max, SSM_PARAM_DT_MAX, err)))
        return st;
    if (!(c->dropout >= SSM_PARAM_MIN(SSM_PARAM_DROPOUT) && c->dropout < 1))
        return ssm_fail_param(err, SSM_EINVAL, "dropout", "%g is not a probability in [0, 1)", c->dropout);
    if ((st = SSM_PARAM_CHECK(c->dropout, SSM_PARAM_DROPOUT, err)))
        return st;
    if (c->eig.disc != SSM_DISC_ZOH)
        return ssm_fail_param(err, SSM_EINVAL, "disc", "the deep S4D model discretizes by zoh only");
    if ((st = ssm_model_validate(&c->eig, err)))
        return st;
    return ssm_dssm_size_validate(&c->eig, err);
}

ssm_status ssm_deep_init(ssm_deep *m, const ssm_deep_config *cfg, uint64_t seed, ssm_error *err)
{
    ssm_dssm modes = {0};
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    ssm_status st = ssm_deep_config_validate(cfg, err);
    if (st)
        return st;
    /* the continuous eigenvalues, mapped from any diagonal family as the
     * single-layer trainer maps them */
    if ((st = ssm_dssm_init(&modes, &cfg->eig, 1, err)))
        return st;
    m->n_real = modes.n_real;
    m->n_pair = modes.n_pair;
    m->n_modes = modes.n_real + modes.n_pair;
    if ((st = deep_layout(m, err)))
        goto done;
    const size_t H = cfg->d_model, M = m->n_modes, P = m->n_pair;
    ssm_rng rng;
    ssm_rng_init(&rng, seed, 0, STREAM_DEEP_INIT);
    /* PyTorch's defaults: nn.Linear(fan_in) and Conv1d(kernel 1) draw
     * weights and biases uniform in +-1/sqrt(fan_in) */
    const double enc_bound = 1.0, mix_bound = 1 / sqrt((double)H);
    for (size_t i = 0; i < 2 * H; ++i)
        m->theta[m->outer_off[SSM_DEEP_ENC_W] + i] = enc_bound * (2 * ssm_rng_uniform(&rng) - 1);
    const double *p_re = modes.theta + modes.offset[SSM_GROUP_A_RE];
    const double *p_im = modes.theta + modes.offset[SSM_GROUP_A_IM];
    for (size_t l = 0; l < cfg->n_layers; ++l) {
        for (size_t h = 0; h < H; ++h) {
            memcpy(ssm_deep_param(m, l, SSM_DEEP_A_RE) + h * M, p_re, M * sizeof *p_re);
            memcpy(ssm_deep_param(m, l, SSM_DEEP_A_IM) + h * P, p_im, P * sizeof *p_im);
            ssm_deep_param(m, l, SSM_DEEP_DT)[h] =
                log(cfg->dt_min) + ssm_rng_uniform(&rng) * (log(cfg->dt_max) - log(cfg->dt_min));
        }
        /* C complex normal with E|C|^2 = 1 for a pair (as torch.randn
         * cfloat), standard normal for a real mode */
        double *c_re = ssm_deep_param(m, l, SSM_DEEP_C_RE), *c_im = ssm_deep_param(m, l, SSM_DEEP_C_IM);
        for (size_t h = 0; h < H; ++h)
            for (size_t k = 0; k < M; ++k) {
                const int pair = k >= m->n_real;
                c_re[h * M + k] = ssm_rng_normal(&rng) * (pair ? M_SQRT1_2 : 1.0);
                if (pair)
                    c_im[h * P + k - m->n_real] = ssm_rng_normal(&rng) * M_SQRT1_2;
            }
        for (size_t h = 0; h < H; ++h)
            ssm_deep_param(m, l, SSM_DEEP_D)[h] = ssm_rng_normal(&rng);
        for (size_t i = 0; i < 2 * H * H + 2 * H; ++i)   /* MIX_W and MIX_B are adjacent */
            ssm_deep_param(m, l, SSM_DEEP_MIX_W)[i] = mix_bound * (2 * ssm_rng_uniform(&rng) - 1);
        for (size_t h = 0; h < H; ++h)
            ssm_deep_param(m, l, SSM_DEEP_NORM_G)[h] = 1.0;
    }
    for (size_t i = 0; i < (H + 1) * cfg->n_classes; ++i)   /* DEC_W and DEC_B are adjacent */
        m->theta[m->outer_off[SSM_DEEP_DEC_W] + i] = mix_bound * (2 * ssm_rng_uniform(&rng) - 1);
done:
    ssm_dssm_free(&modes);
    if (st)
        ssm_deep_free(m);
    return st;
}

ssm_status ssm_deep_copy(ssm_deep *dst, const ssm_deep *src, ssm_error *err)
{
    memset(dst, 0, sizeof *dst);
    dst->cfg = src->cfg;
    dst->n_real = src->n_real;
    dst->n_pair = src->n_pair;
    dst->n_modes = src->n_modes;
    ssm_status st = deep_layout(dst, err);
    if (st) {
        ssm_deep_free(dst);
        return st;
    }
    memcpy(dst->theta, src->theta, src->n_params * sizeof *src->theta);
    return SSM_OK;
}

void ssm_deep_free(ssm_deep *m)
{
    if (!m)
        return;
    free(m->theta);
    free(m->layer_off);
    m->theta = NULL;
    m->layer_off = NULL;
}

size_t ssm_deep_n_blocks(const ssm_deep *m)
{
    return SSM_DEEP_OUTER_BLOCKS + SSM_DEEP_LAYER_BLOCKS * m->cfg.n_layers;
}

void ssm_deep_blocks(const ssm_deep *m, int freeze_ssm, ssm_param_block *out)
{
    size_t n = 0;
    for (int b = 0; b < SSM_DEEP_OUTER_BLOCKS; ++b)
        out[n++] = (ssm_param_block){m->outer_off[b], m->outer_len[b], 0, 0};
    for (size_t l = 0; l < m->cfg.n_layers; ++l)
        for (int b = 0; b < SSM_DEEP_LAYER_BLOCKS; ++b) {
            const int ssm = b == SSM_DEEP_A_RE || b == SSM_DEEP_A_IM || b == SSM_DEEP_DT;
            out[n++] = (ssm_param_block){m->layer_off[l * SSM_DEEP_LAYER_BLOCKS + (size_t)b], m->layer_len[b], ssm,
                                         ssm && freeze_ssm};
        }
}

/* ---- the S4D kernel (float64) ------------------------------------------------------ */

/* Mode k of channel h of layer l: continuous eigenvalue a, discrete lambda,
 * Bbar = (lambda - 1)/a, C, and the weight w (2 for a pair, 1 for a real mode). */
typedef struct {
    double complex a, lambda, bbar, dbbar, c;   /* dbbar = dBbar/da at fixed dt */
    double w, dt;
} deep_mode;

static deep_mode mode_of(const ssm_deep *m, size_t l, size_t h, size_t k)
{
    const size_t M = m->n_modes, P = m->n_pair;
    const int pair = k >= m->n_real;
    deep_mode d;
    d.dt = exp(ssm_deep_param(m, l, SSM_DEEP_DT)[h]);
    const double re = -exp(ssm_deep_param(m, l, SSM_DEEP_A_RE)[h * M + k]);
    const double im = pair ? ssm_deep_param(m, l, SSM_DEEP_A_IM)[h * P + k - m->n_real] : 0;
    d.a = CMPLX(re, im);
    const double complex adt = d.a * d.dt;
    d.lambda = cexp(adt);
    d.bbar = ssm_cexpm1(adt) / d.a;
    d.dbbar = d.dt * d.dt * ssm_zoh_phi2(adt);
    d.c = CMPLX(ssm_deep_param(m, l, SSM_DEEP_C_RE)[h * M + k],
                pair ? ssm_deep_param(m, l, SSM_DEEP_C_IM)[h * P + k - m->n_real] : 0);
    d.w = pair ? 2 : 1;
    return d;
}

void ssm_deep_eigenvalues(const ssm_deep *m, size_t layer, size_t channel, double complex *lambda)
{
    size_t j = 0;
    for (size_t k = 0; k < m->n_modes; ++k) {
        const double complex l = mode_of(m, layer, channel, k).lambda;
        if (k < m->n_real) {
            lambda[j++] = creal(l);
        } else {
            lambda[j++] = l;
            lambda[j++] = conj(l);
        }
    }
}

/* Sums of 8 partial sums, added pairwise: vectorizes without
 * reassociating, the same order on every machine. */
#define PARTIALS 8

static inline double partial_total(double *acc)
{
    for (size_t half = PARTIALS / 2; half > 0; half /= 2)
        for (size_t j = 0; j < half; ++j)
            acc[j] += acc[j + half];
    return acc[0];
}

/* Modes are walked WALK at a time, with every value of the walk in
 * registers (over all modes at once they went through memory at every
 * t, a store-to-load chain per step); every mode's operations, and every
 * sum's order, are those of the plain loops over t and k. */
#define WALK (2 * PARTIALS)        /* the gradient's walk: 8 sums and powers of 16 modes */
#define KERNEL_WALK (4 * PARTIALS) /* the kernel's: 4 of 32 modes, four independent chains */

/* The kernel's walk for KERNEL_WALK modes of coefficients z and eigenvalues
 * lambda: adds Re(z lambda^t), t < T, to the PARTIALS partial sums
 * acc[t] in the order of the modes. */
typedef double walk_vec __attribute__((vector_size(PARTIALS * sizeof(double)), may_alias, aligned(sizeof(double))));

static inline __attribute__((always_inline)) void kernel_walk(size_t T, const double *restrict zr0,
                                                              const double *restrict zi0, const double *restrict lr0,
                                                              const double *restrict li0, double *restrict acc)
{
    enum { V = KERNEL_WALK / PARTIALS };
    walk_vec zr[V], zi[V], lr[V], li[V];
    _Pragma("GCC unroll 4") for (size_t v = 0; v < V; ++v)
    {
        zr[v] = *(const walk_vec *)(zr0 + v * PARTIALS);
        zi[v] = *(const walk_vec *)(zi0 + v * PARTIALS);
        lr[v] = *(const walk_vec *)(lr0 + v * PARTIALS);
        li[v] = *(const walk_vec *)(li0 + v * PARTIALS);
    }
    for (size_t t = 0; t < T; ++t) {
        walk_vec a = *(walk_vec *)(acc + t * PARTIALS);
        _Pragma("GCC unroll 4") for (size_t v = 0; v < V; ++v)
            a = a + zr[v];
        *(walk_vec *)(acc + t * PARTIALS) = a;
        _Pragma("GCC unroll 4") for (size_t v = 0; v < V; ++v)
        {
            const walk_vec r = zr[v] * lr[v] - zi[v] * li[v];
            zi[v] = zr[v] * li[v] + zi[v] * lr[v];
            zr[v] = r;
        }
    }
}

/* K[l, h, t] = sum_k w Re(C Bbar lambda^t) for t < T, with lambda^t by a
 * walk of products vectorized over the modes (its rounding grows like
 * t eps, 1e-13 at T = 1000); also the modes (kept for the backward
 * pass), and coef = w C Bbar and lambda per [l, h, k] for the recurrent
 * mode. */
DEEP_HOT static void deep_kernels(const ssm_deep *m, size_t T, double *K, double complex *lambda, double complex *coef,
                         deep_mode *modes /* [L, H, modes] */, double *scratch /* 4 (modes + KERNEL_WALK) + PARTIALS T */)
{
    const size_t H = m->cfg.d_model, M = m->n_modes, Mw = (M + KERNEL_WALK - 1) / KERNEL_WALK * KERNEL_WALK;
    double *restrict zr = scratch, *restrict zi = zr + Mw, *restrict lr = zi + Mw, *restrict li = lr + Mw;
    double *restrict acc = li + Mw;   /* [T][PARTIALS] */
    for (size_t k = M; k < Mw; ++k)   /* padding modes: zero, adding exact zeros */
        zr[k] = zi[k] = lr[k] = li[k] = 0;
    for (size_t l = 0; l < m->cfg.n_layers; ++l)
        for (size_t h = 0; h < H; ++h) {
            deep_mode *md = modes + (l * H + h) * M;
            for (size_t k = 0; k < M; ++k) {
                const deep_mode d = md[k] = mode_of(m, l, h, k);
                const double complex c = d.w * d.c * d.bbar;
                zr[k] = creal(c);
                zi[k] = cimag(c);
                lr[k] = creal(d.lambda);
                li[k] = cimag(d.lambda);
                lambda[(l * H + h) * M + k] = d.lambda;
                coef[(l * H + h) * M + k] = c;
            }
            memset(acc, 0, T * PARTIALS * sizeof *acc);
            for (size_t k0 = 0; k0 < Mw; k0 += KERNEL_WALK)
                kernel_walk(T, zr + k0, zi + k0, lr + k0, li + k0, acc);
            double *kt = K + (l * H + h) * T;
            for (size_t t = 0; t < T; ++t)
                kt[t] = partial_total(acc + t * PARTIALS);
        }
}

/* Gradients of the mode parameters from dL/dK (float64).  With
 * S = sum_t dK[t] lambda^t and Q = sum_t t dK[t] lambda^t:
 *   dL/dC      = w conj-form of Bbar S           (Re -> C_re, -Im -> C_im)
 *   dL/da      = w C (Bbar' S + Bbar dt Q),  Bbar' = dt^2 phi2(a dt)
 *   dL/d(dt)   = w C (lambda S + Bbar a Q)
 * taking Re for the real part of a parameter and -Im for the imaginary
 * part (the kernel is the real part of a holomorphic function of a and C);
 * p_re enters through Re a = -exp(p_re), p_dt through dt = exp(p_dt). */
/* deep_kernel_backward's walk for WALK modes of eigenvalues lambda:
 * S and Q. */
static inline __attribute__((always_inline)) void kernel_grad_walk(const double *dk, size_t T, const double *restrict lr, const double *restrict li,
                               double *restrict sr, double *restrict si, double *restrict qr, double *restrict qi)
{
    double pr[WALK], pi[WALK], ar[WALK], ai[WALK], br[WALK], bi[WALK], cr[WALK], ci[WALK];
    _Pragma("GCC unroll 16") for (size_t k = 0; k < WALK; ++k)
    {
        pr[k] = 1;
        pi[k] = ar[k] = ai[k] = br[k] = bi[k] = 0;
        cr[k] = lr[k];
        ci[k] = li[k];
    }
    for (size_t t = 0; t < T; ++t) {
        const double g = dk[t], gt = g * (double)t;
        _Pragma("GCC unroll 16") for (size_t k = 0; k < WALK; ++k)
        {
            ar[k] += g * pr[k];
            ai[k] += g * pi[k];
            br[k] += gt * pr[k];
            bi[k] += gt * pi[k];
            const double r = pr[k] * cr[k] - pi[k] * ci[k];
            pi[k] = pr[k] * ci[k] + pi[k] * cr[k];
            pr[k] = r;
        }
    }
    _Pragma("GCC unroll 16") for (size_t k = 0; k < WALK; ++k)
    {
        sr[k] = ar[k];
        si[k] = ai[k];
        qr[k] = br[k];
        qi[k] = bi[k];
    }
}

DEEP_HOT static void deep_kernel_backward(const ssm_deep *m, size_t T, const double *dK, double *grad,
                                 const deep_mode *modes /* from deep_kernels */, double *scratch /* 6 modes + 2 WALK */)
{
    const size_t H = m->cfg.d_model, M = m->n_modes, P = m->n_pair, Mw = (M + WALK - 1) / WALK * WALK;
    double *restrict lr = scratch, *restrict li = lr + Mw;
    double *restrict sr = li + Mw, *restrict si = sr + Mw, *restrict qr = si + Mw, *restrict qi = qr + Mw;
    for (size_t k = M; k < Mw; ++k)   /* padding modes: walked, never read */
        lr[k] = li[k] = 0;
    for (size_t l = 0; l < m->cfg.n_layers; ++l) {
        const size_t *off = m->layer_off + l * SSM_DEEP_LAYER_BLOCKS;
        for (size_t h = 0; h < H; ++h) {
            const deep_mode *md = modes + (l * H + h) * M;
            for (size_t k = 0; k < M; ++k) {
                lr[k] = creal(md[k].lambda);
                li[k] = cimag(md[k].lambda);
            }
            const double *dk = dK + (l * H + h) * T;
            for (size_t k0 = 0; k0 < Mw; k0 += WALK)
                kernel_grad_walk(dk, T, lr + k0, li + k0, sr + k0, si + k0, qr + k0, qi + k0);
            double g_dt = 0;
            for (size_t k = 0; k < M; ++k) {
                const deep_mode d = md[k];
                const double complex S = CMPLX(sr[k], si[k]), Q = CMPLX(qr[k], qi[k]);
                const double complex bs = d.bbar * S;
                const double complex ga = d.w * d.c * (d.dbbar * S + d.bbar * d.dt * Q);
                const double complex gd = d.w * d.c * (d.lambda * S + d.bbar * d.a * Q);
                grad[off[SSM_DEEP_C_RE] + h * M + k] += d.w * creal(bs);
                grad[off[SSM_DEEP_A_RE] + h * M + k] += creal(ga) * creal(d.a);
                if (k >= m->n_real) {
                    grad[off[SSM_DEEP_C_IM] + h * P + k - m->n_real] += -d.w * cimag(bs);
                    grad[off[SSM_DEEP_A_IM] + h * P + k - m->n_real] += -cimag(ga);
                }
                g_dt += creal(gd);
            }
            grad[off[SSM_DEEP_DT] + h] += g_dt * md[0].dt;
        }
    }
}

/* ---- forward and backward ---------------------------------------------------------- */

struct ssm_deep_work {
    ssm_precision prec;
    size_t T, B, n_params, n_classes, LH, threads;
    ssm_rfft *fft;
    deep_work_f32 *w32;
    deep_work_f64 *w64;
    double *kernel, *dkernel;           /* [L, H, T] */
    double complex *kspec;              /* [L, H, nf]: kernel spectra / n, then their gradients */
    double *fbuf, *spec;                /* one float64 transform: buffer and spectrum block */
    double complex *lambda, *coef;      /* [L, H, modes] */
    double *logits, *dlogits;           /* [B, classes] */
    double *seq_loss;                   /* [B] */
    unsigned char *seq_hit;             /* [B] */
    double *scratch;                    /* 8 (modes + KERNEL_WALK) + PARTIALS T: the kernel walks */
    deep_mode *modes;                   /* [L, H, modes] of the current parameters */
};

void ssm_deep_work_free(ssm_deep_work *w)
{
    if (!w)
        return;
    deep_work_free_f32(w->w32);
    deep_work_free_f64(w->w64);
    ssm_rfft_free(w->fft);
    free(w->kernel);
    free(w->dkernel);
    free(w->kspec);
    ssm_free_big(w->fbuf);
    ssm_free_big(w->spec);
    free(w->lambda);
    free(w->coef);
    free(w->logits);
    free(w->dlogits);
    free(w->seq_loss);
    free(w->seq_hit);
    free(w->scratch);
    free(w->modes);
    free(w);
}

ssm_status ssm_deep_work_new(const ssm_deep *m, size_t length, size_t max_batch, ssm_precision prec,
                             ssm_deep_work **out, ssm_error *err)
{
    *out = NULL;
    if (length < 1 || max_batch < 1)
        return ssm_fail(err, SSM_EINVAL, "sequence length and batch must be at least 1");
    ssm_deep_work *w = calloc(1, sizeof *w);
    if (!w)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the workspace");
    /* a causal convolution of length T needs transforms of at least 2T - 1 */
    ssm_status st = ssm_rfft_new(ssm_rfft_good_length(2 * length), &w->fft, err);
    if (st) {
        free(w);
        return st;
    }
    const size_t LH = m->cfg.n_layers * m->cfg.d_model, nf = ssm_rfft_length(w->fft) / 2 + 1;
    w->prec = prec;
    w->T = length;
    w->B = max_batch;
    w->LH = LH;
    w->threads = 1;
    w->n_params = m->n_params;
    w->n_classes = m->cfg.n_classes;
    w->kernel = malloc(LH * length * sizeof *w->kernel);
    w->dkernel = malloc(LH * length * sizeof *w->dkernel);
    w->kspec = malloc(LH * nf * sizeof *w->kspec);
    w->fbuf = ssm_alloc_big(ssm_rfft_buffer_rows(w->fft) * SSM_RFFT_LANES_F64 * sizeof *w->fbuf);
    w->spec = ssm_alloc_big(nf * 2 * SSM_RFFT_LANES_F64 * sizeof *w->spec);
    w->lambda = malloc(LH * (m->n_modes + 1) * sizeof *w->lambda);
    w->coef = malloc(LH * (m->n_modes + 1) * sizeof *w->coef);
    w->logits = malloc(max_batch * m->cfg.n_classes * sizeof *w->logits);
    w->dlogits = malloc(max_batch * m->cfg.n_classes * sizeof *w->dlogits);
    w->seq_loss = malloc(max_batch * sizeof *w->seq_loss);
    w->seq_hit = malloc(max_batch * sizeof *w->seq_hit);
    w->scratch = malloc((8 * (m->n_modes + KERNEL_WALK) + PARTIALS * length) * sizeof *w->scratch);
    w->modes = malloc(LH * (m->n_modes + 1) * sizeof *w->modes);
    int ok = w->kernel && w->dkernel && w->kspec && w->fbuf && w->spec && w->lambda && w->coef && w->logits &&
             w->dlogits && w->seq_loss && w->seq_hit && w->scratch && w->modes;
    if (ok && prec == SSM_F32)
        ok = (w->w32 = deep_work_new_f32(m, length, w->fft)) != NULL;
    else if (ok)
        ok = (w->w64 = deep_work_new_f64(m, length, w->fft)) != NULL;
    if (!ok) {
        ssm_deep_work_free(w);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the activations of length %zu", length);
    }
    *out = w;
    return SSM_OK;
}

size_t ssm_deep_work_bytes(const ssm_deep_work *w)
{
    return w->w32 ? w->w32->bytes : w->w64->bytes;
}

void ssm_deep_work_set_threads(ssm_deep_work *w, size_t threads)
{
    w->threads = threads < 1 ? 1 : threads > SSM_DEEP_SLOTS ? SSM_DEEP_SLOTS : threads;
}

/* The kernels' spectra (float64, divided by n) from the kernels, by
 * transforms of 8 channels at a time. */
DEEP_HOT static void kernel_spectra(ssm_deep_work *w)
{
    const size_t T = w->T, n = ssm_rfft_length(w->fft), nf = n / 2 + 1, W = SSM_RFFT_LANES_F64;
    for (size_t c0 = 0; c0 < w->LH; c0 += W) {
        const size_t lanes = w->LH - c0 < W ? w->LH - c0 : W;
        for (size_t t = 0; t < T; ++t)
            for (size_t j = 0; j < W; ++j)
                w->fbuf[t * W + j] = j < lanes ? w->kernel[(c0 + j) * T + t] : 0;
        ssm_rfft_forward_f64(w->fft, w->fbuf, T, w->spec);
        for (size_t j = 0; j < lanes; ++j)
            for (size_t f = 0; f < nf; ++f)
                w->kspec[(c0 + j) * nf + f] =
                    CMPLX(w->spec[2 * f * W + j] / (double)n, w->spec[(2 * f + 1) * W + j] / (double)n);
    }
}

/* dL/dK in time from the gradients of the kernel spectra in w->kspec:
 * K's spectrum is FFT(K) / n, so dK = IFFT(dKspec) / n (unnormalized). */
DEEP_HOT static void kernel_gradients(ssm_deep_work *w)
{
    const size_t T = w->T, n = ssm_rfft_length(w->fft), nf = n / 2 + 1, W = SSM_RFFT_LANES_F64;
    for (size_t c0 = 0; c0 < w->LH; c0 += W) {
        const size_t lanes = w->LH - c0 < W ? w->LH - c0 : W;
        for (size_t f = 0; f < nf; ++f)
            for (size_t j = 0; j < W; ++j) {
                const double complex v = j < lanes ? w->kspec[(c0 + j) * nf + f] : 0;
                w->spec[2 * f * W + j] = creal(v);
                w->spec[(2 * f + 1) * W + j] = cimag(v);
            }
        const double *r = ssm_rfft_inverse_f64(w->fft, w->spec, w->fbuf, T);
        for (size_t j = 0; j < lanes; ++j)
            for (size_t t = 0; t < T; ++t)
                w->dkernel[(c0 + j) * T + t] = r[t * W + j] / (double)n;
    }
}

/* Cross-entropy of one sequence's logits by the log-sum-exp of shifted
 * logits; dlogits = (softmax - onehot) / count. */
static void softmax_loss(const double *z, size_t C, unsigned label, size_t count, double *loss, unsigned char *hit,
                         double *dz)
{
    size_t arg = 0;
    for (size_t c = 1; c < C; ++c)
        if (z[c] > z[arg])
            arg = c;
    double sum = 0;
    for (size_t c = 0; c < C; ++c)
        sum += exp(z[c] - z[arg]);
    const double lse = z[arg] + log(sum);
    *loss = lse - z[label];
    *hit = arg == label;
    for (size_t c = 0; c < C; ++c)
        dz[c] = (exp(z[c] - lse) - (c == label)) / (double)count;
}

/* One batch's passes, shared by the slots. */
typedef struct {
    const ssm_deep *m;
    ssm_deep_work *w;
    const float *x;
    const uint8_t *label;
    size_t count;
    const ssm_deep_pass *pass;
    int train;
} deep_batch;

/* Sequences first..last-1 of the batch on slot k: forward, loss and
 * (training) backward, one sequence at a time. */
static void run_slot(const deep_batch *b, size_t k, size_t first, size_t last)
{
    ssm_deep_work *w = b->w;
    const size_t T = w->T, C = w->n_classes;
    if (b->train) {
        if (w->w32)
            deep_slot_clear_f32(w->w32, b->m, &w->w32->slot[k]);
        else
            deep_slot_clear_f64(w->w64, b->m, &w->w64->slot[k]);
    }
    for (size_t s = first; s < last; ++s) {
        double *z = w->logits + s * C, *dz = w->dlogits + s * C;
        if (w->w32)
            deep_forward_f32(w->w32, b->m, &w->w32->slot[k], b->x + s * T, s, b->pass, b->train, w->lambda, w->coef, z);
        else
            deep_forward_f64(w->w64, b->m, &w->w64->slot[k], b->x + s * T, s, b->pass, b->train, w->lambda, w->coef, z);
        softmax_loss(z, C, b->label[s], b->count, &w->seq_loss[s], &w->seq_hit[s], dz);
        if (!b->train)
            continue;
        if (w->w32)
            deep_backward_f32(w->w32, b->m, &w->w32->slot[k], dz);
        else
            deep_backward_f64(w->w64, b->m, &w->w64->slot[k], dz);
    }
}

typedef struct {
    const deep_batch *b;
    size_t first, last;
} slot_job;

static void *slot_thread(void *arg)
{
    const slot_job *j = arg;
    run_slot(j->b, 1, j->first, j->last);
    return NULL;
}

/* Slot 0 takes the first half of the batch, slot 1 the rest: on one
 * thread in turn, or side by side. */
static void run_batch(const deep_batch *b)
{
    const size_t half = (b->count + 1) / 2;
    slot_job second = {b, half, b->count};
    pthread_t thread;
    if (b->w->threads > 1 && b->count > 1 && pthread_create(&thread, NULL, slot_thread, &second) == 0) {
        run_slot(b, 0, 0, half);
        pthread_join(thread, NULL);
        return;
    }
    run_slot(b, 0, 0, half);
    run_slot(b, 1, half, b->count);
}

/* What work_new (deep_body.h) allocates in its arena, counted with N
 * modes for the recurrent state's scratch (the model may have fewer:
 * conjugate pairs count once; at most N x 16 bytes per slot more).  The
 * parameter count does not depend on the split into real modes and
 * pairs: 2 H (n_real + 2 n_pair) = 2 H N numbers per layer's A and C. */
double ssm_deep_work_size(const ssm_deep_config *cfg, size_t length, size_t max_batch, ssm_precision prec)
{
    (void)max_batch;   /* the arena holds one sequence per slot */
    const size_t H = cfg->d_model, L = cfg->n_layers, N = cfg->eig.n, C = cfg->n_classes;
    const size_t n_params = 2 * H + L * (2 * H * N + 2 * H + 2 * H * H + 4 * H) + C * H + C;
    const size_t n = ssm_rfft_good_length(2 * length);
    return (double)(prec == SSM_F32 ? deep_work_size_f32(cfg, length, n, n_params, N)
                                    : deep_work_size_f64(cfg, length, n, n_params, N));
}

ssm_status ssm_deep_loss_grad(const ssm_deep *m, ssm_deep_work *w, const float *x, const uint8_t *label,
                              size_t count, const ssm_deep_pass *pass, double *loss, size_t *correct,
                              double *grad, double *logits, ssm_error *err)
{
    static const ssm_deep_pass plain = {0, 0, 0};
    if (!pass)
        pass = &plain;
    if (count < 1 || count > w->B)
        return ssm_fail(err, SSM_EINVAL, "batch of %zu sequences: the workspace holds 1 to %zu", count, w->B);
    if (m->n_params != w->n_params || m->cfg.n_classes != w->n_classes)
        return ssm_fail(err, SSM_EINVAL, "the workspace was made for another model");
    if (grad && pass->recurrent)
        return ssm_fail(err, SSM_EINVAL, "the recurrent mode computes the forward pass only");
    const size_t C = m->cfg.n_classes;
    for (size_t b = 0; b < count; ++b)
        if (label[b] >= C)
            return ssm_fail(err, SSM_EINVAL, "label %u of sequence %zu is not a class (0..%zu)", label[b], b, C - 1);
    deep_kernels(m, w->T, w->kernel, w->lambda, w->coef, w->modes, w->scratch);
    kernel_spectra(w);
    if (w->w32)
        deep_load_f32(w->w32, m, w->kspec);
    else
        deep_load_f64(w->w64, m, w->kspec);
    const deep_batch batch = {m, w, x, label, count, pass, grad != NULL};
    run_batch(&batch);
    double total = 0;
    size_t hits = 0;
    for (size_t b = 0; b < count; ++b) {
        total += w->seq_loss[b];
        hits += w->seq_hit[b];
    }
    *loss = total / (double)count;
    if (correct)
        *correct = hits;
    if (logits)
        memcpy(logits, w->logits, count * C * sizeof *logits);
    if (!grad)
        return SSM_OK;
    if (w->w32)
        deep_gradients_f32(w->w32, m, SSM_DEEP_SLOTS, grad, w->kspec);
    else
        deep_gradients_f64(w->w64, m, SSM_DEEP_SLOTS, grad, w->kspec);
    kernel_gradients(w);
    deep_kernel_backward(m, w->T, w->dkernel, grad, w->modes, w->scratch);
    for (size_t i = 0; i < m->n_params; ++i)
        if (!isfinite(grad[i]))
            return ssm_fail(err, SSM_ENUMERIC, "the gradient is not finite (parameter %zu): lower the learning rate", i);
    return SSM_OK;
}

/* ---- training ---------------------------------------------------------------------- */

void ssm_deep_train_options_defaults(ssm_deep_train_options *o)
{
    memset(o, 0, sizeof *o);
    ssm_optim_defaults(&o->optim);
    o->epochs = 10;
    o->batch = 50;
    o->freeze_ssm = 0;
    o->precision = SSM_F32;
    o->seed = 0;
    o->threads = 1;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

ssm_status ssm_deep_evaluate_work(const ssm_deep *m, ssm_deep_work *w, const ssm_class_data *d, double *loss,
                                  double *accuracy, ssm_error *err)
{
    double total = 0;
    size_t hits = 0;
    for (size_t first = 0; first < d->n; first += w->B) {
        const size_t count = d->n - first < w->B ? d->n - first : w->B;
        double l;
        size_t c;
        ssm_status st = ssm_deep_loss_grad(m, w, d->x + first * d->length, d->label + first, count, NULL, &l, &c,
                                           NULL, NULL, err);
        if (st)
            return st;
        total += l * (double)count;
        hits += c;
    }
    *loss = d->n ? total / (double)d->n : NAN;
    *accuracy = d->n ? (double)hits / (double)d->n : NAN;
    return SSM_OK;
}

ssm_status ssm_deep_evaluate(const ssm_deep *m, const ssm_class_data *d, ssm_precision prec, size_t batch,
                             double *loss, double *accuracy, ssm_error *err)
{
    ssm_deep_work *w = NULL;
    ssm_status st = ssm_deep_work_new(m, d->length, batch, prec, &w, err);
    if (st == SSM_OK)
        st = ssm_deep_evaluate_work(m, w, d, loss, accuracy, err);
    ssm_deep_work_free(w);
    return st;
}

ssm_status ssm_deep_train(ssm_deep *m, ssm_optim_state *state, const ssm_deep_train_options *o,
                          const ssm_class_data *train, const ssm_class_data *val, ssm_deep_callback cb,
                          void *ctx, ssm_error *err)
{
    ssm_deep_work *w = NULL;
    ssm_param_block *blocks = NULL;
    double *grad = NULL;
    size_t *order = NULL;
    float *bx = NULL;
    uint8_t *by = NULL;
    ssm_status st = ssm_optim_validate(&o->optim, err);
    if (st)
        return st;
    if (o->batch < SSM_PARAM_MIN(SSM_PARAM_DEEP_BATCH) || o->epochs < SSM_PARAM_MIN(SSM_PARAM_EPOCHS))
        return ssm_fail_param(err, SSM_EINVAL, o->batch < SSM_PARAM_MIN(SSM_PARAM_DEEP_BATCH) ? "batch" : "epochs",
                              "batch size and epochs must be at least " SSM_PARAM_MIN_TEXT(SSM_PARAM_DEEP_BATCH));   /* both rows start at 1 */
    if ((st = SSM_PARAM_CHECK(o->batch, SSM_PARAM_DEEP_BATCH, err)) || (st = SSM_PARAM_CHECK(o->epochs, SSM_PARAM_EPOCHS, err)))
        return st;
    if (train->n < 1)
        return ssm_fail(err, SSM_EINVAL, "the training set is empty");
    if (val->n > 0 && val->length != train->length)
        return ssm_fail(err, SSM_EINVAL, "validation sequences have length %zu, training sequences %zu", val->length,
                        train->length);
    if (state->n_params != m->n_params)
        return ssm_fail(err, SSM_EINVAL, "the optimizer state holds %zu parameters, the model %zu", state->n_params,
                        m->n_params);
    const size_t batch = o->batch < train->n ? o->batch : train->n, T = train->length;
    const size_t steps_per_epoch = (train->n + batch - 1) / batch, total_steps = steps_per_epoch * o->epochs;
    if (state->step % steps_per_epoch != 0)
        return ssm_fail(err, SSM_EINVAL, "the checkpoint was taken at step %zu, not at the end of an epoch of %zu steps",
                        state->step, steps_per_epoch);
    const size_t first_epoch = state->step / steps_per_epoch + 1;
    if ((st = ssm_deep_work_new(m, T, batch, o->precision, &w, err)))
        goto done;
    ssm_deep_work_set_threads(w, o->threads);
    const size_t n_blocks = ssm_deep_n_blocks(m);
    blocks = malloc(n_blocks * sizeof *blocks);
    grad = malloc(m->n_params * sizeof *grad);
    order = malloc(train->n * sizeof *order);
    bx = malloc(batch * T * sizeof *bx);
    by = malloc(batch * sizeof *by);
    if (!blocks || !grad || !order || !bx || !by) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory for training");
        goto done;
    }
    ssm_deep_blocks(m, o->freeze_ssm, blocks);
    for (size_t epoch = first_epoch; epoch <= o->epochs; ++epoch) {
        const double t0 = seconds_now();
        /* the epoch's order: Fisher-Yates from a stream of its own, so a
         * resumed run shuffles as the uninterrupted one did */
        ssm_rng shuffle;
        ssm_rng_init(&shuffle, o->seed, epoch, STREAM_DEEP_SHUFFLE);
        for (size_t i = 0; i < train->n; ++i)
            order[i] = i;
        ssm_rng_shuffle(&shuffle, order, train->n);
        double loss_sum = 0;
        size_t hits = 0;
        for (size_t first = 0; first < train->n; first += batch) {
            const size_t count = train->n - first < batch ? train->n - first : batch;
            for (size_t s = 0; s < count; ++s) {
                memcpy(bx + s * T, train->x + order[first + s] * T, T * sizeof *bx);
                by[s] = train->label[order[first + s]];
            }
            const ssm_deep_pass pass = {o->seed, state->step, 0};
            double loss;
            size_t c;
            if ((st = ssm_deep_loss_grad(m, w, bx, by, count, &pass, &loss, &c, grad, NULL, err)))
                goto done;
            loss_sum += loss * (double)count;
            hits += c;
            ssm_optim_step(&o->optim, blocks, n_blocks,
                           ssm_lr_schedule((double)state->step / (double)total_steps, o->optim.warmup), m->theta,
                           grad, state);
        }
        ssm_deep_epoch rec = {epoch, loss_sum / (double)train->n, (double)hits / (double)train->n, NAN, NAN, 0};
        if (val->n && (st = ssm_deep_evaluate_work(m, w, val, &rec.val_loss, &rec.val_acc, err)))
            goto done;
        rec.seconds = seconds_now() - t0;
        if (cb && cb(ctx, &rec, m, state))
            break;
    }
done:
    ssm_deep_work_free(w);
    free(blocks);
    free(grad);
    free(order);
    free(bx);
    free(by);
    return st;
}
