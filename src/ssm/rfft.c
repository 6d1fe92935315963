#include "config.h"

#include "rfft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vfma.h"

#define MAX_STEPS 64

typedef struct {
    size_t radix, m, s;       /* x[q + s (p + j m)] -> y[q + s (r p + k)] */
    double *tw_f64;           /* w^(p k), p < m, k = 1..r-1, as (re, im) */
    float *tw_f32;
} rfft_step;

/* A complex transform of length len as a sequence of Stockham steps, in
 * the order for the forward and for the inverse transform. */
typedef struct {
    size_t len, n_steps;
    rfft_step fwd[MAX_STEPS], inv[MAX_STEPS];
} rfft_cplan;

struct ssm_rfft {
    size_t n, M;              /* real length, complex length n / 2 */
    /* M = M1 M2: two passes of transforms of lengths M1 (c1) and M2 (c2)
     * with the twiddles w_M^(n2 k1) of grid between them; M2 = 1 for
     * short transforms (one level, c1 alone) */
    rfft_cplan c1, c2;
    double *grid_f64;         /* [n2][k1] */
    float *grid_f32;
    double *split_f64;        /* e^(-2 pi i k / n), k = 0..M/2 */
    float *split_f32;
};

/* One instantiation per precision and instruction set (AVX-512 and AVX2
 * each with FMA); the public functions pick the widest the CPU has.
 * Every instantiation performs the same IEEE operations on every lane,
 * its fused multiply-adds written out (vfma.h; ISO C mode contracts
 * nothing else), so the results are bit-identical whichever runs. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RFFT_DISPATCH 1
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC push_options
#pragma GCC target("avx512f,fma")
#define ISA avx512
#define CW_F32 16
#include "rfft_isa.h"
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define ISA avx2
#define CW_F32 8
#include "rfft_isa.h"
#pragma GCC pop_options
#endif

/* the baseline (SSE2 on x86-64) */
#define ISA base
#define CW_F32 4
#include "rfft_isa.h"

static ssm_rfft_isa forced = SSM_RFFT_AUTO;

int ssm_rfft_force_isa(ssm_rfft_isa isa)
{
#ifdef RFFT_DISPATCH
    if ((isa == SSM_RFFT_AVX512 && !(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))) ||
        (isa == SSM_RFFT_AVX2 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))))
        return 0;
#else
    if (isa == SSM_RFFT_AVX512 || isa == SSM_RFFT_AVX2)
        return 0;
#endif
    forced = isa;
    return 1;
}

#ifdef RFFT_DISPATCH
static ssm_rfft_isa chosen(void)
{
    if (forced != SSM_RFFT_AUTO)
        return forced;
    if (!__builtin_cpu_supports("fma"))
        return SSM_RFFT_BASELINE;
    return __builtin_cpu_supports("avx512f") ? SSM_RFFT_AVX512
           : __builtin_cpu_supports("avx2")  ? SSM_RFFT_AVX2
                                             : SSM_RFFT_BASELINE;
}
#endif
#define DISPATCH SSM_ISA_DISPATCH

ssm_rfft_isa ssm_rfft_isa_in_use(void)
{
#ifdef RFFT_DISPATCH
    return chosen();
#else
    return SSM_RFFT_BASELINE;
#endif
}

void ssm_rfft_forward_f32(const ssm_rfft *p, float *buf, size_t nz, float *spec)
{
    DISPATCH(rfft_forward_f32, p, buf, nz, spec);
}

void ssm_rfft_forward_f64(const ssm_rfft *p, double *buf, size_t nz, double *spec)
{
    DISPATCH(rfft_forward_f64, p, buf, nz, spec);
}

float *ssm_rfft_inverse_f32(const ssm_rfft *p, const float *spec, float *buf, size_t nout)
{
    return DISPATCH(rfft_inverse_f32, p, spec, buf, nout);
}

double *ssm_rfft_inverse_f64(const ssm_rfft *p, const double *spec, double *buf, size_t nout)
{
    return DISPATCH(rfft_inverse_f64, p, spec, buf, nout);
}

float *ssm_rfft_convolve_f32(const ssm_rfft *p, float *buf, size_t nz, const float *kf, float *spec, size_t nout)
{
    return DISPATCH(rfft_convolve_f32, p, buf, nz, kf, spec, nout);
}

double *ssm_rfft_convolve_f64(const ssm_rfft *p, double *buf, size_t nz, const double *kf, double *spec, size_t nout)
{
    return DISPATCH(rfft_convolve_f64, p, buf, nz, kf, spec, nout);
}

float *ssm_rfft_correlate_f32(const ssm_rfft *p, float *buf, size_t nz, const float *kf, const float *xf, float *dkf,
                              size_t nout)
{
    return DISPATCH(rfft_correlate_f32, p, buf, nz, kf, xf, dkf, nout);
}

double *ssm_rfft_correlate_f64(const ssm_rfft *p, double *buf, size_t nz, const double *kf, const double *xf,
                               double *dkf, size_t nout)
{
    return DISPATCH(rfft_correlate_f64, p, buf, nz, kf, xf, dkf, nout);
}

static void cplan_free(rfft_cplan *cp)
{
    for (size_t i = 0; i < cp->n_steps; ++i) {
        free(cp->fwd[i].tw_f64);
        free(cp->fwd[i].tw_f32);
        free(cp->inv[i].tw_f64);
        free(cp->inv[i].tw_f32);
    }
}

void ssm_rfft_free(ssm_rfft *p)
{
    if (!p)
        return;
    cplan_free(&p->c1);
    cplan_free(&p->c2);
    free(p->grid_f64);
    free(p->grid_f32);
    free(p->split_f64);
    free(p->split_f32);
    free(p);
}

size_t ssm_rfft_good_length(size_t min)
{
    for (size_t n = min + min % 2;; n += 2) {
        size_t r = n / 2;
        while (r % 2 == 0)
            r /= 2;
        while (r % 3 == 0)
            r /= 3;
        while (r % 5 == 0)
            r /= 5;
        if (r == 1)
            return n;
    }
}

/* cos and sin of 2 pi num / den, exact at the quarter turns */
static void unit_root(size_t num, size_t den, double *re, double *im)
{
    num %= den;
    if (4 * num % den == 0) {
        static const double c[4] = {1, 0, -1, 0}, s[4] = {0, 1, 0, -1};
        *re = c[4 * num / den];
        *im = s[4 * num / den];
        return;
    }
    const double a = 2 * M_PI * (double)num / (double)den;
    *re = cos(a);
    *im = sin(a);
}

/* Twiddles of a step that splits length len by radix r after `span`. */
static int step_init(rfft_step *st, size_t r, size_t len, size_t span)
{
    st->radix = r;
    st->m = len / r;
    st->s = span;
    st->tw_f64 = malloc(2 * (r - 1) * st->m * sizeof *st->tw_f64);
    st->tw_f32 = malloc(2 * (r - 1) * st->m * sizeof *st->tw_f32);
    if (!st->tw_f64 || !st->tw_f32)
        return 0;
    for (size_t q = 0; q < st->m; ++q)
        for (size_t k = 1; k < r; ++k) {
            double re, im;
            unit_root(q * k, len, &re, &im);
            double *w = st->tw_f64 + 2 * ((r - 1) * q + k - 1);
            w[0] = re;
            w[1] = -im;   /* e^(-2 pi i q k / len) */
            st->tw_f32[2 * ((r - 1) * q + k - 1)] = (float)w[0];
            st->tw_f32[2 * ((r - 1) * q + k - 1) + 1] = (float)w[1];
        }
    return 1;
}

/* The radices of M in the order of the steps: 4s (fewest passes over the
 * data), 3s, 5s, and for an odd power of 2 one radix-2 step, first in
 * the forward transform (its input is zero-padded: the step only
 * multiplies by twiddles) and last in the inverse (only the first half of
 * its output is wanted: the step only adds). */
static size_t radix_order(size_t M, int two_first, size_t *order)
{
    size_t k = 0, n2 = 0, rest = M;
    for (; rest % 2 == 0; rest /= 2)
        ++n2;
    if (n2 % 2 && two_first)
        order[k++] = 2;
    for (size_t i = 0; i < n2 / 2; ++i)
        order[k++] = 4;
    for (; rest % 3 == 0; rest /= 3)
        order[k++] = 3;
    for (; rest % 5 == 0; rest /= 5)
        order[k++] = 5;
    if (n2 % 2 && !two_first)
        order[k++] = 2;
    return k;
}

static int cplan_init(rfft_cplan *cp, size_t len)
{
    cp->len = len;
    int ok = 1;
    for (int dir = 0; dir < 2 && ok; ++dir) {
        size_t order[MAX_STEPS];
        const size_t count = radix_order(len, dir == 0, order);
        rfft_step *steps = dir == 0 ? cp->fwd : cp->inv;
        size_t rest = len, span = 1;
        for (size_t i = 0; i < count && ok; ++i) {
            ok = step_init(&steps[i], order[i], rest, span);
            rest /= order[i];
            span *= order[i];
            cp->n_steps = i + 1;
        }
    }
    return ok;
}

/* Short transforms stay in one level (their data fit the L1 cache); longer
 * ones split into M1 x M2 with M1 the divisor closest to sqrt(M) from
 * above. */
#ifndef ONE_LEVEL_MAX
#define ONE_LEVEL_MAX 1024
#endif

static size_t inner_length(size_t M)
{
    if (M <= ONE_LEVEL_MAX)
        return M;
    size_t best = M;
    for (size_t d = 2; d < M; ++d)
        if (M % d == 0 && d * d >= M && d < best)
            best = d;
    return best;
}

ssm_status ssm_rfft_new(size_t n, ssm_rfft **out, ssm_error *err)
{
    *out = NULL;
    if (n < 2 || n % 2 || ssm_rfft_good_length(n) != n)
        return ssm_fail(err, SSM_EINVAL, "FFT length %zu: need an even length whose half has no prime factor above 5",
                        n);
    ssm_rfft *p = calloc(1, sizeof *p);
    if (!p)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for an FFT plan");
    p->n = n;
    p->M = n / 2;
    const size_t M1 = inner_length(p->M), M2 = p->M / M1;
    int ok = cplan_init(&p->c1, M1) && cplan_init(&p->c2, M2);
    if (ok && M2 > 1) {
        p->grid_f64 = malloc(2 * p->M * sizeof *p->grid_f64);
        p->grid_f32 = malloc(2 * p->M * sizeof *p->grid_f32);
        ok = p->grid_f64 && p->grid_f32;
        for (size_t n2 = 0; ok && n2 < M2; ++n2)
            for (size_t k1 = 0; k1 < M1; ++k1) {
                double re, im;
                unit_root(n2 * k1, p->M, &re, &im);
                p->grid_f64[2 * (n2 * M1 + k1)] = re;
                p->grid_f64[2 * (n2 * M1 + k1) + 1] = -im;
                p->grid_f32[2 * (n2 * M1 + k1)] = (float)re;
                p->grid_f32[2 * (n2 * M1 + k1) + 1] = (float)-im;
            }
    }
    p->split_f64 = malloc((p->M + 2) * sizeof *p->split_f64);
    p->split_f32 = malloc((p->M + 2) * sizeof *p->split_f32);
    ok = ok && p->split_f64 && p->split_f32;
    for (size_t k = 0; ok && k <= p->M / 2; ++k) {
        double re, im;
        unit_root(k, n, &re, &im);
        p->split_f64[2 * k] = re;
        p->split_f64[2 * k + 1] = -im;
        p->split_f32[2 * k] = (float)re;
        p->split_f32[2 * k + 1] = (float)-im;
    }
    if (!ok) {
        ssm_rfft_free(p);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for an FFT plan");
    }
    *out = p;
    return SSM_OK;
}

size_t ssm_rfft_length(const ssm_rfft *p)
{
    return p->n;
}

size_t ssm_rfft_buffer_rows_for(size_t n)
{
    const size_t M1 = inner_length(n / 2), M2 = n / 2 / M1, big = M1 > M2 ? M1 : M2;
    return 2 * n + 4 * big;   /* two M-element buffers and the small transforms' two */
}

size_t ssm_rfft_buffer_rows(const ssm_rfft *p)
{
    return ssm_rfft_buffer_rows_for(p->n);
}
