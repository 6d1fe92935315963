#include "config.h"

#include "train_f32.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diagonal.h"
#include "memory.h"
#include "rfft.h"

/* after complex.h: fftw(f)_complex are then the C99 complex types */
#include <fftw3.h>

#define LANES SSM_RFFT_LANES_F32
/* the walks recompute lambda^tau exactly (in float64) every so many steps:
 * the running product's rounding stays below 256 float32 ulps */
#define RESTART 256

/* GCC clones the hot loops per instruction set (they round identically:
 * ISO C mode contracts no a*b+c into an FMA) and vectorizes them without
 * run-time alias checks (each loop writes arrays it alone reads). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HOT
#endif
#define IVDEP _Pragma("GCC ivdep")
#define UNROLL _Pragma("GCC unroll 16")
/* the tiles below are 64-byte vectors passed between always-inlined
 * functions: no call ABI is involved */
#pragma GCC diagnostic ignored "-Wpsabi"

struct train_work_f32 {
    size_t L, n, nf, n_out, nm, Mp;   /* length, FFT length, frequencies, outputs, modes, modes padded */
    ssm_rfft *fft;
    double complex *lambda, *bbar;    /* [nm] */
    double complex *anchor;           /* [nm][2][L / RESTART + 1]: lambda^(RESTART r), lambda^(RESTART r - 1) */
    float *buf;                       /* FFT buffer: ssm_rfft_buffer_rows x LANES */
    float *dblock;                    /* one output's targets in a block [L][LANES] */
    float *uspec, *spec;              /* spectrum blocks [nf][2][LANES] */
    float *kf;                        /* kernel spectra / n [n_out][nf][2] */
    float *acc;                       /* sums of G conj(U) [n_out][nf][2][LANES] */
    float *walk;                      /* [8][Mp]: power re, im, lambda re, im, and the sums or q */
    double *sums;                     /* [4][n_out][nm] for the chain rule */
    double *dk;                       /* dL/dK [n_out][L] */
    /* the kernels' spectra and dL/dK are one signal per output: FFTW's
     * transforms of one signal (ESTIMATE plans: the same on every run), not
     * a block of 16 lanes */
    float *kbuf;                      /* n */
    fftwf_complex *kspec;             /* n / 2 + 1 */
    double *dbuf;                     /* n */
    fftw_complex *dspec;              /* n / 2 + 1 */
    fftwf_plan kplan;
    fftw_plan dplan;
};

void train_work_f32_free(train_work_f32 *w)
{
    if (!w)
        return;
    ssm_rfft_free(w->fft);
    free(w->lambda);
    free(w->bbar);
    free(w->anchor);
    ssm_free_big(w->buf);
    ssm_free_big(w->dblock);
    ssm_free_big(w->uspec);
    ssm_free_big(w->spec);
    ssm_free_big(w->kf);
    ssm_free_big(w->acc);
    ssm_free_big(w->walk);
    free(w->sums);
    free(w->dk);
    if (w->kplan)
        fftwf_destroy_plan(w->kplan);
    if (w->dplan)
        fftw_destroy_plan(w->dplan);
    fftwf_free(w->kbuf);
    fftwf_free(w->kspec);
    fftw_free(w->dbuf);
    fftw_free(w->dspec);
    free(w);
}

ssm_status train_work_f32_new(const ssm_dssm *m, size_t length, train_work_f32 **out, ssm_error *err)
{
    *out = NULL;
    train_work_f32 *w = calloc(1, sizeof *w);
    if (!w)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the training workspace");
    ssm_status st = ssm_rfft_new(ssm_rfft_good_length(2 * length), &w->fft, err);
    if (st) {
        free(w);
        return st;
    }
    w->L = length;
    w->n = ssm_rfft_length(w->fft);
    w->nf = w->n / 2 + 1;
    w->n_out = m->n_out;
    w->nm = ssm_dssm_n_modes(m);
    w->Mp = (w->nm + LANES - 1) / LANES * LANES;
    const size_t nm = w->nm ? w->nm : 1, block = w->nf * 2 * LANES, rows = ssm_rfft_buffer_rows(w->fft);
    w->lambda = malloc(nm * sizeof *w->lambda);
    w->bbar = malloc(nm * sizeof *w->bbar);
    w->anchor = malloc(nm * 2 * (length / RESTART + 1) * sizeof *w->anchor);
    w->buf = ssm_alloc_big(rows * LANES * sizeof *w->buf);
    w->dblock = ssm_alloc_big(length * LANES * sizeof *w->dblock);
    w->uspec = ssm_alloc_big(block * sizeof *w->uspec);
    w->spec = ssm_alloc_big(block * sizeof *w->spec);
    w->kf = ssm_alloc_big(w->n_out * w->nf * 2 * sizeof *w->kf);
    w->acc = ssm_alloc_big(w->n_out * block * sizeof *w->acc);
    w->walk = ssm_alloc_big(8 * (w->Mp ? w->Mp : LANES) * sizeof *w->walk);
    w->sums = malloc(4 * w->n_out * nm * sizeof *w->sums);
    w->dk = malloc(w->n_out * length * sizeof *w->dk);
    w->kbuf = fftwf_malloc(w->n * sizeof *w->kbuf);
    w->kspec = fftwf_malloc(w->nf * sizeof *w->kspec);
    w->dbuf = fftw_malloc(w->n * sizeof *w->dbuf);
    w->dspec = fftw_malloc(w->nf * sizeof *w->dspec);
    if (w->kbuf && w->kspec && w->dbuf && w->dspec) {
        w->kplan = fftwf_plan_dft_r2c_1d((int)w->n, w->kbuf, w->kspec, FFTW_ESTIMATE);
        w->dplan = fftw_plan_dft_c2r_1d((int)w->n, w->dspec, w->dbuf, FFTW_ESTIMATE);
    }
    if (!w->lambda || !w->bbar || !w->anchor || !w->buf || !w->dblock || !w->uspec || !w->spec || !w->kf ||
        !w->acc || !w->walk || !w->sums || !w->dk || !w->kplan || !w->dplan) {
        train_work_f32_free(w);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the training workspace (L = %zu)", length);
    }
    *out = w;
    return SSM_OK;
}

/* The walk's powers lambda^tau (and, with prev, lambda^(tau-1)) recomputed
 * exactly; padding modes stay zero. */
/* lambda^(RESTART r) and lambda^(RESTART r - 1) for every mode and
 * restart r, by float64 products from lambda^RESTART and lambda^(RESTART - 1):
 * two powers per mode and step instead of two per mode and restart. */
static void anchor_powers(train_work_f32 *w)
{
    const size_t nr = w->L / RESTART + 1;
    for (size_t k = 0; k < w->nm; ++k) {
        const double complex step = ssm_power(w->lambda[k], RESTART), before = ssm_power(w->lambda[k], RESTART - 1);
        double complex *at = w->anchor + k * 2 * nr, *prev = at + nr;
        at[0] = 1;
        prev[0] = 0;
        for (size_t r = 1; r < nr; ++r) {
            at[r] = at[r - 1] * step;
            prev[r] = at[r - 1] * before;
        }
    }
}

/* The walk's powers lambda^tau (and, with qr, lambda^(tau-1)) at a
 * restart; padding modes stay zero. */
static void restart_powers(const train_work_f32 *w, float *pr, float *pi, float *qr, float *qi, size_t tau)
{
    const size_t nr = w->L / RESTART + 1, r = tau / RESTART;
    for (size_t k = 0; k < w->nm; ++k) {
        const double complex z = w->anchor[k * 2 * nr + r];
        pr[k] = (float)creal(z);
        pi[k] = (float)cimag(z);
        if (qr) {
            const double complex zp = w->anchor[k * 2 * nr + nr + r];
            qr[k] = (float)creal(zp);
            qi[k] = (float)cimag(zp);
        }
    }
}

/* K_o[tau] = sum_k Re(q_k lambda_k^tau), q = conj(w_ok) bbar_k, plus the
 * skip term D_o at tau = 0, and its spectrum / n into kf[o], for every
 * output.  With D in the kernel the convolution alone gives K * u + D u,
 * and dL/dD is dL/dK[0]: the block's inputs are needed only as spectra. */
HOT static void kernels(const ssm_dssm *m, train_work_f32 *w)
{
    const double *D = m->theta + m->offset[SSM_GROUP_D];
    const size_t Mp = w->Mp, L = w->L, nf = w->nf;
    float *restrict pr = w->walk, *restrict pi = pr + Mp, *restrict lr = pi + Mp, *restrict li = lr + Mp;
    float *restrict qr = li + Mp, *restrict qi = qr + Mp;
    memset(w->walk, 0, 8 * Mp * sizeof *w->walk);
    for (size_t k = 0; k < w->nm; ++k) {
        lr[k] = (float)creal(w->lambda[k]);
        li[k] = (float)cimag(w->lambda[k]);
    }
    for (size_t o = 0; o < w->n_out; ++o) {
        for (size_t k = 0; k < w->nm; ++k) {
            const double complex q = conj(ssm_dssm_readout(m, o, k)) * w->bbar[k];
            qr[k] = (float)creal(q);
            qi[k] = (float)cimag(q);
        }
        for (size_t tau = 0; tau < L; ++tau) {
            if (tau % RESTART == 0)
                restart_powers(w, pr, pi, NULL, NULL, tau);
            float part[LANES] = {0};
            for (size_t k0 = 0; k0 < Mp; k0 += LANES)
                IVDEP for (size_t j = 0; j < LANES; ++j)
                    part[j] += qr[k0 + j] * pr[k0 + j] - qi[k0 + j] * pi[k0 + j];
            for (size_t half = LANES / 2; half > 0; half /= 2)
                for (size_t j = 0; j < half; ++j)
                    part[j] += part[j + half];
            w->kbuf[tau] = tau == 0 ? part[0] + (float)D[o] : part[0];
            IVDEP for (size_t k = 0; k < Mp; ++k)
            {
                const float r = pr[k] * lr[k] - pi[k] * li[k];
                pi[k] = pr[k] * li[k] + pi[k] * lr[k];
                pr[k] = r;
            }
        }
        memset(w->kbuf + L, 0, (w->n - L) * sizeof *w->kbuf);
        fftwf_execute(w->kplan);
        for (size_t f = 0; f < nf; ++f) {
            w->kf[2 * (o * nf + f)] = crealf(w->kspec[f]) / (float)w->n;
            w->kf[2 * (o * nf + f) + 1] = cimagf(w->kspec[f]) / (float)w->n;
        }
    }
}

/* s0 = sum_tau dK[tau] lambda^tau, s1 = sum_tau tau dK[tau] lambda^(tau-1)
 * for every output and mode, in float32, into w->sums (float64). */
HOT static void power_sums(train_work_f32 *w)
{
    const size_t Mp = w->Mp, L = w->L, nm = w->nm, no = w->n_out;
    float *restrict pr = w->walk, *restrict pi = pr + Mp, *restrict lr = pi + Mp, *restrict li = lr + Mp;
    float *restrict qr = li + Mp, *restrict qi = qr + Mp;   /* lambda^(tau-1) */
    float *restrict s = w->buf;   /* s0r, s0i, s1r, s1i [Mp] */
    for (size_t o = 0; o < no; ++o) {
        memset(s, 0, 4 * Mp * sizeof *s);
        const double *dk = w->dk + o * L;
        for (size_t tau = 0; tau < L; ++tau) {
            if (tau % RESTART == 0)
                restart_powers(w, pr, pi, qr, qi, tau);
            const float g = (float)dk[tau], gt = (float)(dk[tau] * (double)tau);
            IVDEP for (size_t k = 0; k < Mp; ++k)
            {
                s[k] += g * pr[k];
                s[Mp + k] += g * pi[k];
                s[2 * Mp + k] += gt * qr[k];
                s[3 * Mp + k] += gt * qi[k];
                qr[k] = pr[k];
                qi[k] = pi[k];
                const float r = pr[k] * lr[k] - pi[k] * li[k];
                pi[k] = pr[k] * li[k] + pi[k] * lr[k];
                pr[k] = r;
            }
        }
        for (size_t part = 0; part < 4; ++part)
            for (size_t k = 0; k < nm; ++k)
                w->sums[(part * no + o) * nm + k] = (double)s[part * Mp + k];
    }
}

/* rows[t][j] = src[j * stride + t] for the first `lanes` lanes, 0 in the
 * others, converted to float32: a transpose, done in tiles of 16 x 16 in
 * vector registers (GCC's vector extensions: permutes on every x86 level,
 * plain code elsewhere).  A tile's 16 lanes are read as 16 contiguous
 * runs, then four butterfly stages exchange the blocks of 8, 4, 2 and 1
 * elements between row pairs; the tail is scalar. */
typedef float tile_row __attribute__((vector_size(LANES * sizeof(float))));
typedef double tile_run __attribute__((vector_size(LANES * sizeof(double))));
typedef int tile_index __attribute__((vector_size(LANES * sizeof(int))));

/* a and b, rows i and i + d of a tile: elements whose column has bit d
 * set in a trade places with those of b whose column has it clear */
#define EXCHANGE(a, b, lo, hi)                                                                                         \
    do {                                                                                                               \
        const tile_row x_ = (a), y_ = (b);                                                                             \
        (a) = __builtin_shuffle(x_, y_, lo);                                                                           \
        (b) = __builtin_shuffle(x_, y_, hi);                                                                           \
    } while (0)

/* Run j of a tile: 16 elements of src (float64 or float32) from `at`,
 * as float32; 0 for a lane that holds no sequence. */
static inline __attribute__((always_inline)) tile_row tile_load(const void *src, size_t at, int single, int live)
{
    if (!live)
        return (tile_row){0};
    if (single) {
        tile_row run;
        memcpy(&run, (const float *)src + at, sizeof run);
        return run;
    }
    tile_run run;
    memcpy(&run, (const double *)src + at, sizeof run);
    return __builtin_convertvector(run, tile_row);
}

static inline __attribute__((always_inline)) void to_lanes_any(float *restrict rows, const void *restrict src,
                                                                size_t L, size_t stride, size_t lanes, int single)
{
    static const tile_index lo[4] = {
        {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
        {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
        {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
        {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30}};
    static const tile_index hi[4] = {
        {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31},
        {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31},
        {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31},
        {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}};
    const size_t whole = L / LANES * LANES;
    for (size_t t0 = 0; t0 < whole; t0 += LANES) {
        tile_row r[LANES];
        UNROLL for (size_t j = 0; j < LANES; ++j)
            r[j] = tile_load(src, j * stride + t0, single, j < lanes);
        UNROLL for (size_t stage = 0; stage < 4; ++stage)
            UNROLL for (size_t i = 0; i < LANES; ++i)
                if (!(i & (LANES / 2 >> stage)))
                    EXCHANGE(r[i], r[i + (LANES / 2 >> stage)], lo[stage], hi[stage]);
        memcpy(rows + t0 * LANES, r, sizeof r);
    }
    for (size_t t = whole; t < L; ++t)
        for (size_t j = 0; j < LANES; ++j)
            rows[t * LANES + j] = j >= lanes ? 0.0f
                                  : single   ? ((const float *)src)[j * stride + t]
                                             : (float)((const double *)src)[j * stride + t];
}

HOT static void to_lanes(float *restrict rows, const double *restrict src, size_t L, size_t stride, size_t lanes)
{
    to_lanes_any(rows, src, L, stride, lanes, 0);
}

HOT static void to_lanes_f32(float *restrict rows, const float *restrict src, size_t L, size_t stride, size_t lanes)
{
    to_lanes_any(rows, src, L, stride, lanes, 1);
}

/* Y = U K_o, by frequency, K broadcast to the lanes. */
HOT static void times_kernel(train_work_f32 *w, size_t o)
{
    const float *restrict u = w->uspec, *restrict k = w->kf + o * w->nf * 2;
    float *restrict y = w->spec;
    for (size_t f = 0; f < w->nf; ++f) {
        const float kr = k[2 * f], ki = k[2 * f + 1];
        IVDEP for (size_t j = 0; j < LANES; ++j)
        {
            const float ur = u[2 * f * LANES + j], ui = u[(2 * f + 1) * LANES + j];
            y[2 * f * LANES + j] = ur * kr - ui * ki;
            y[(2 * f + 1) * LANES + j] = ur * ki + ui * kr;
        }
    }
}

/* acc_o += G conj(U) lane by lane. */
HOT static void add_correlation(train_work_f32 *w, size_t o)
{
    const float *restrict u = w->uspec, *restrict g = w->spec;
    float *restrict a = w->acc + o * w->nf * 2 * LANES;
    for (size_t f = 0; f < w->nf; ++f)
        IVDEP for (size_t j = 0; j < LANES; ++j)
        {
            const size_t re = 2 * f * LANES + j, im = re + LANES;
            a[re] += g[re] * u[re] + g[im] * u[im];
            a[im] += g[im] * u[re] - g[re] * u[im];
        }
}

/* y = (K + D delta) * u + bias against the targets; r (the convolution,
 * rows of lanes) becomes dL/dy; loss and the bias gradient per lane
 * (float64).  Lanes >= `lanes` hold no sequence and count nothing. */
HOT static void residuals(train_work_f32 *w, float *restrict r, float bias, size_t washout, float scale, size_t lanes,
                          double *restrict loss, double *restrict gb)
{
    const float *restrict d = w->dblock;
    float on[LANES];
    for (size_t j = 0; j < LANES; ++j)
        on[j] = j < lanes ? 1.0f : 0.0f;
    for (size_t t = 0; t < w->L; ++t) {
        const float live = t >= washout ? 1.0f : 0.0f;
        IVDEP for (size_t j = 0; j < LANES; ++j)
        {
            const float e = live * on[j] * (r[t * LANES + j] + bias - d[t * LANES + j]);
            const float g = 2.0f * e * scale;
            loss[j] += (double)e * (double)e;
            gb[j] += (double)g;
            r[t * LANES + j] = g;
        }
    }
}

ssm_status train_loss_grad_f32(const ssm_dssm *m, const ssm_dataset *data, size_t first, size_t count,
                               size_t washout, train_work_f32 *w, double *loss, double *grad, ssm_error *err)
{
    const size_t L = w->L, no = w->n_out, nf = w->nf, n = w->n;
    ssm_dssm_discretize(m, w->lambda, w->bbar);
    anchor_powers(w);
    kernels(m, w);
    const double *bias = m->theta + m->offset[SSM_GROUP_BIAS];
    const double norm = 1.0 / ((double)count * (double)no * (double)(L - washout));
    double tot[LANES] = {0}, gb[SSM_MAX_OUTPUTS][LANES] = {{0}};
    if (grad) {
        memset(grad, 0, m->n_params * sizeof *grad);
        memset(w->acc, 0, no * nf * 2 * LANES * sizeof *w->acc);
    }
    for (size_t b0 = 0; b0 < count; b0 += LANES) {
        const size_t lanes = count - b0 < LANES ? count - b0 : LANES;
        /* the spectra a dataset caches (ssm_dataset_prepare): 2 nf numbers
         * (re, im) per sequence, rows 2 f and 2 f + 1 of U */
        if (data->uf32 && n == 2 * L) {
            to_lanes_f32(w->uspec, (const float *)(data->uf32 + (first + b0) * nf), 2 * nf, 2 * nf, lanes);
        } else if (data->uf && n == 2 * L) {
            to_lanes(w->uspec, (const double *)(data->uf + (first + b0) * nf), 2 * nf, 2 * nf, lanes);
        } else {
            to_lanes(w->buf, data->u + (first + b0) * L, L, L, lanes);
            ssm_rfft_forward_f32(w->fft, w->buf, L, w->uspec);
        }
        for (size_t o = 0; o < no; ++o) {
            const size_t at = ((first + b0) * no + o) * L;
            if (data->d32)
                to_lanes_f32(w->dblock, data->d32 + at, L, no * L, lanes);
            else
                to_lanes(w->dblock, data->d + at, L, no * L, lanes);
            times_kernel(w, o);
            float *r = ssm_rfft_inverse_f32(w->fft, w->spec, w->buf, L);
            residuals(w, r, (float)bias[o], washout, (float)norm, lanes, tot, gb[o]);
            if (!grad)
                continue;
            if (r != w->buf)
                memcpy(w->buf, r, L * LANES * sizeof *w->buf);
            ssm_rfft_forward_f32(w->fft, w->buf, L, w->spec);
            add_correlation(w, o);
        }
    }
    double total = 0;
    for (size_t j = 0; j < LANES; ++j)
        total += tot[j];
    *loss = total * norm;
    if (!isfinite(*loss))
        return ssm_fail(err, SSM_ENUMERIC, "loss is not finite");
    if (!grad)
        return SSM_OK;
    for (size_t o = 0; o < no; ++o) {
        double sb = 0;
        for (size_t j = 0; j < LANES; ++j)
            sb += gb[o][j];
        grad[m->offset[SSM_GROUP_BIAS] + o] = sb;
    }
    /* dL/dK = IFFT(sum over lanes of G conj(U)) / n */
    for (size_t o = 0; o < no; ++o) {
        const float *a = w->acc + o * nf * 2 * LANES;
        for (size_t f = 0; f < nf; ++f) {
            double re = 0, im = 0;
            for (size_t l = 0; l < LANES; ++l) {
                re += (double)a[2 * f * LANES + l];
                im += (double)a[(2 * f + 1) * LANES + l];
            }
            w->dspec[f] = CMPLX(re, im);
        }
        fftw_execute(w->dplan);
        for (size_t t = 0; t < L; ++t)
            w->dk[o * L + t] = w->dbuf[t] / (double)n;
        grad[m->offset[SSM_GROUP_D] + o] = w->dk[o * L];   /* D entered as K[0] */
    }
    power_sums(w);
    const size_t nm = w->nm;
    ssm_train_mode_gradients(m, w->lambda, w->bbar, w->sums, w->sums + no * nm, w->sums + 2 * no * nm,
                             w->sums + 3 * no * nm, grad);
    return SSM_OK;
}
