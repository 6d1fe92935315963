/* Lane-parallel real FFTs (src/ssm/rfft.c) against a naive DFT summed in
 * long double: forward spectra and inverse signals for one- and
 * two-level lengths, zero-padded inputs and truncated outputs, float32
 * and float64; lanes independent of each other; the AVX-512, AVX2 and
 * baseline instantiations bit for bit the same; the fused convolution and
 * its adjoint equal to the separate calls; bad lengths refused. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/rfft.h"
#include "ssm/rng.h"
#include "testutil.h"

#define L32 SSM_RFFT_LANES_F32
#define L64 SSM_RFFT_LANES_F64

static void *aligned(size_t bytes)
{
    void *p = NULL;
    return posix_memalign(&p, SSM_RFFT_ALIGN, bytes ? bytes : 1) == 0 ? p : NULL;
}

/* X[k] = sum_t x[t] e^(-2 pi i k t / n), k = 0..n/2, with the unit roots
 * of a table cs (n entries: cos, sin of -2 pi m / n) */
static void naive_dft(const double *x, size_t nz, size_t n, const long double *cs, long double *re, long double *im)
{
    for (size_t k = 0; k <= n / 2; ++k) {
        long double sr = 0, si = 0;
        for (size_t t = 0; t < nz; ++t) {
            const size_t m = (k * t) % n;
            sr += x[t] * cs[2 * m];
            si += x[t] * cs[2 * m + 1];
        }
        re[k] = sr;
        im[k] = si;
    }
}

/* One length: random signals in every lane (the first nz samples), the
 * forward transform against the naive DFT and the inverse (first nout
 * samples) against n times the signal. */
static void one_length(size_t n, size_t nz, size_t nout)
{
    ssm_rfft *p = NULL;
    ssm_error err;
    if (ssm_rfft_new(n, &p, &err) != SSM_OK) {
        CHECK(0, "n = %zu: plan (%s)", n, err.message);
        return;
    }
    const size_t rows = ssm_rfft_buffer_rows(p), nf = n / 2 + 1;
    float *b32 = aligned(rows * L32 * sizeof *b32), *s32 = aligned(nf * 2 * L32 * sizeof *s32);
    double *b64 = aligned(rows * L64 * sizeof *b64), *s64 = aligned(nf * 2 * L64 * sizeof *s64);
    double *x = malloc(L32 * n * sizeof *x);
    long double *re = malloc(nf * sizeof *re), *im = malloc(nf * sizeof *im), *cs = malloc(2 * n * sizeof *cs);
    for (size_t m = 0; m < n; ++m) {
        const long double a = -2.0L * 3.141592653589793238462643383279503L * (long double)m / (long double)n;
        cs[2 * m] = cosl(a);
        cs[2 * m + 1] = sinl(a);
    }
    ssm_rng rng;
    ssm_rng_init(&rng, n, nz, 7);
    for (size_t i = 0; i < L32 * n; ++i)
        x[i] = ssm_rng_normal(&rng);
    for (size_t t = 0; t < nz; ++t) {
        for (size_t j = 0; j < L32; ++j)
            b32[t * L32 + j] = (float)x[j * n + t];
        for (size_t j = 0; j < L64; ++j)
            b64[t * L64 + j] = x[j * n + t];
    }
    /* the signals as float32 sees them, for its reference */
    double *x32 = malloc(L32 * n * sizeof *x32);
    for (size_t i = 0; i < L32 * n; ++i)
        x32[i] = (float)x[i];
    ssm_rfft_forward_f32(p, b32, nz, s32);
    ssm_rfft_forward_f64(p, b64, nz, s64);
    double e32 = 0, e64 = 0, scale = 0;
    /* every lane of short transforms, four of the long ones */
    const size_t step = n > 1000 ? L32 / 4 : 1;
    for (size_t j = 0; j < L32; j += step) {
        naive_dft(x32 + j * n, nz, n, cs, re, im);
        for (size_t k = 0; k < nf; ++k) {
            scale = fmax(scale, (double)fabsl(re[k]) + (double)fabsl(im[k]));
            e32 = fmax(e32, fabs(s32[2 * k * L32 + j] - (double)re[k]) + fabs(s32[(2 * k + 1) * L32 + j] - (double)im[k]));
        }
        if (j >= L64)
            continue;
        naive_dft(x + j * n, nz, n, cs, re, im);
        for (size_t k = 0; k < nf; ++k)
            e64 = fmax(e64, fabs(s64[2 * k * L64 + j] - (double)re[k]) + fabs(s64[(2 * k + 1) * L64 + j] - (double)im[k]));
    }
    CHECK(e32 <= 1e-6 * scale && e64 <= 1e-14 * scale,
          "n = %zu, %zu nonzero samples: forward == naive DFT (float32 %.2g, float64 %.2g relative to max |X|)", n, nz,
          e32 / scale, e64 / scale);
    const float *r32 = ssm_rfft_inverse_f32(p, s32, b32, nout);
    const double *r64 = ssm_rfft_inverse_f64(p, s64, b64, nout);
    double i32 = 0, i64 = 0, xmax = 0;
    for (size_t t = 0; t < nout; ++t) {
        for (size_t j = 0; j < L32; ++j) {
            const double want = t < nz ? x32[j * n + t] : 0;
            xmax = fmax(xmax, fabs(want));
            i32 = fmax(i32, fabs(r32[t * L32 + j] / (double)n - want));
        }
        for (size_t j = 0; j < L64; ++j)
            i64 = fmax(i64, fabs(r64[t * L64 + j] / (double)n - (t < nz ? x[j * n + t] : 0)));
    }
    CHECK(i32 <= 1e-6 * xmax && i64 <= 1e-14 * xmax,
          "n = %zu: inverse of the forward, first %zu samples == n x (float32 %.2g, float64 %.2g relative)", n, nout,
          i32 / xmax, i64 / xmax);
    free(x);
    free(x32);
    free(re);
    free(im);
    free(cs);
    free(b32);
    free(s32);
    free(b64);
    free(s64);
    ssm_rfft_free(p);
}

/* Lane j's transform does not depend on the other lanes: moving the
 * signals to other lanes moves the results, bit for bit. */
static void lanes_independent(void)
{
    const size_t n = 1600, nz = 784;
    ssm_rfft *p = NULL;
    ssm_rfft_new(n, &p, NULL);
    const size_t rows = ssm_rfft_buffer_rows(p), nf = n / 2 + 1;
    float *a = aligned(rows * L32 * sizeof *a), *b = aligned(rows * L32 * sizeof *b);
    float *sa = aligned(nf * 2 * L32 * sizeof *sa), *sb = aligned(nf * 2 * L32 * sizeof *sb);
    ssm_rng rng;
    ssm_rng_init(&rng, 1, 2, 3);
    for (size_t t = 0; t < nz; ++t)
        for (size_t j = 0; j < L32; ++j) {
            a[t * L32 + j] = (float)ssm_rng_normal(&rng);
            b[t * L32 + (j + 5) % L32] = a[t * L32 + j];
        }
    ssm_rfft_forward_f32(p, a, nz, sa);
    ssm_rfft_forward_f32(p, b, nz, sb);
    int same = 1;
    for (size_t r = 0; r < 2 * nf; ++r)
        for (size_t j = 0; j < L32; ++j)
            same &= memcmp(&sa[r * L32 + j], &sb[r * L32 + (j + 5) % L32], sizeof(float)) == 0;
    const float *ia = ssm_rfft_inverse_f32(p, sa, a, nz), *ib = ssm_rfft_inverse_f32(p, sb, b, nz);
    for (size_t t = 0; t < nz; ++t)
        for (size_t j = 0; j < L32; ++j)
            same &= memcmp(&ia[t * L32 + j], &ib[t * L32 + (j + 5) % L32], sizeof(float)) == 0;
    CHECK(same, "n = 1600: rotating the signals across lanes rotates both transforms' results bit for bit");
    free(a);
    free(b);
    free(sa);
    free(sb);
    ssm_rfft_free(p);
}

/* Every instantiation the CPU has gives the same bits. */
static void instruction_sets(size_t n, size_t nz)
{
    static const ssm_rfft_isa isas[] = {SSM_RFFT_BASELINE, SSM_RFFT_AVX2, SSM_RFFT_AVX512};
    static const char *const names[] = {"baseline", "AVX2", "AVX-512"};
    ssm_rfft *p = NULL;
    ssm_rfft_new(n, &p, NULL);
    const size_t rows = ssm_rfft_buffer_rows(p), nf = n / 2 + 1;
    float *buf = aligned(rows * L32 * sizeof *buf), *spec = aligned(nf * 2 * L32 * sizeof *spec);
    double *bd = aligned(rows * L64 * sizeof *bd), *sd = aligned(nf * 2 * L64 * sizeof *sd);
    float *ref_f = malloc((2 * nf + nz) * L32 * sizeof *ref_f);
    double *ref_d = malloc((2 * nf + nz) * L64 * sizeof *ref_d);
    for (size_t v = 0; v < 3; ++v) {
        if (!ssm_rfft_force_isa(isas[v])) {
            printf("skip %s: not on this CPU or build\n", names[v]);
            continue;
        }
        ssm_rng rng;
        ssm_rng_init(&rng, 9, 9, 9);
        for (size_t i = 0; i < nz * L32; ++i)
            buf[i] = (float)ssm_rng_normal(&rng);
        for (size_t i = 0; i < nz * L64; ++i)
            bd[i] = ssm_rng_normal(&rng);
        ssm_rfft_forward_f32(p, buf, nz, spec);
        ssm_rfft_forward_f64(p, bd, nz, sd);
        const float *rf = ssm_rfft_inverse_f32(p, spec, buf, nz);
        const double *rd = ssm_rfft_inverse_f64(p, sd, bd, nz);
        if (v == 0) {
            memcpy(ref_f, spec, 2 * nf * L32 * sizeof *spec);
            memcpy(ref_f + 2 * nf * L32, rf, nz * L32 * sizeof *rf);
            memcpy(ref_d, sd, 2 * nf * L64 * sizeof *sd);
            memcpy(ref_d + 2 * nf * L64, rd, nz * L64 * sizeof *rd);
            continue;
        }
        CHECK(memcmp(ref_f, spec, 2 * nf * L32 * sizeof *spec) == 0 &&
                  memcmp(ref_f + 2 * nf * L32, rf, nz * L32 * sizeof *rf) == 0 &&
                  memcmp(ref_d, sd, 2 * nf * L64 * sizeof *sd) == 0 &&
                  memcmp(ref_d + 2 * nf * L64, rd, nz * L64 * sizeof *rd) == 0,
              "n = %zu: %s transforms == baseline, bit for bit (float32 and float64)", n, names[v]);
    }
    ssm_rfft_force_isa(SSM_RFFT_AUTO);
    free(buf);
    free(spec);
    free(bd);
    free(sd);
    free(ref_f);
    free(ref_d);
    ssm_rfft_free(p);
}

/* The fused convolution and its adjoint against the separate calls and
 * the products written out as rfft.h defines them, bit for bit, in both
 * precisions and on every instruction set. */
#define FUSED_CHECK(REAL, SUF, LANES)                                                                         \
    static int fused_same_##SUF(const ssm_rfft *p, size_t nz, size_t nout, uint64_t seed)                    \
    {                                                                                                        \
        const size_t rows = ssm_rfft_buffer_rows(p), n = ssm_rfft_length(p), nf = n / 2 + 1;                 \
        const size_t len = nf * 2 * LANES;                                                                   \
        REAL *buf = aligned(rows * LANES * sizeof *buf), *ref = aligned(rows * LANES * sizeof *ref);         \
        REAL *kf = aligned(len * sizeof *kf), *xf = aligned(len * sizeof *xf), *keep = aligned(len * sizeof *keep); \
        REAL *spec = aligned(len * sizeof *spec), *d = aligned(len * sizeof *d), *dref = aligned(len * sizeof *dref); \
        REAL *x = malloc(nz * LANES * sizeof *x);                                                            \
        ssm_rng rng;                                                                                         \
        ssm_rng_init(&rng, seed, 1, 2);                                                                      \
        for (size_t i = 0; i < len; ++i) {                                                                   \
            kf[i] = (REAL)ssm_rng_normal(&rng);                                                              \
            xf[i] = (REAL)ssm_rng_normal(&rng);                                                              \
            d[i] = dref[i] = (REAL)ssm_rng_normal(&rng);                                                     \
        }                                                                                                    \
        for (size_t i = 0; i < nz * LANES; ++i)                                                              \
            x[i] = (REAL)ssm_rng_normal(&rng);                                                               \
        /* convolve: forward, X kf, inverse */                                                               \
        memcpy(ref, x, nz * LANES * sizeof *x);                                                              \
        ssm_rfft_forward_##SUF(p, ref, nz, spec);                                                            \
        memcpy(keep, spec, len * sizeof *spec);                                                              \
        for (size_t i = 0; i < len; i += 2 * LANES)                                                          \
            for (size_t j = 0; j < LANES; ++j) {                                                             \
                const REAL xr = keep[i + j], xi = keep[i + LANES + j], kr = kf[i + j], ki = kf[i + LANES + j];  \
                spec[i + j] = REAL_FMA(xr, kr, -(xi * ki));                                                  \
                spec[i + LANES + j] = REAL_FMA(xr, ki, xi * kr);                                             \
            }                                                                                                \
        const REAL *want = ssm_rfft_inverse_##SUF(p, spec, ref, nout);                                       \
        memcpy(buf, x, nz * LANES * sizeof *x);                                                              \
        REAL *kept = aligned(len * sizeof *kept);                                                            \
        const REAL *got = ssm_rfft_convolve_##SUF(p, buf, nz, kf, kept, nout);                               \
        int same = memcmp(want, got, nout * LANES * sizeof *got) == 0 && memcmp(keep, kept, len * sizeof *kept) == 0; \
        /* correlate: forward G, d += G conj(xf), G conj(kf), inverse */                                     \
        memcpy(ref, x, nz * LANES * sizeof *x);                                                              \
        ssm_rfft_forward_##SUF(p, ref, nz, spec);                                                            \
        for (size_t i = 0; i < len; i += 2 * LANES)                                                          \
            for (size_t j = 0; j < LANES; ++j) {                                                             \
                const size_t re = i + j, im = re + LANES;                                                    \
                const REAL gr = spec[re], gi = spec[im];                                                     \
                dref[re] = REAL_FMA(gr, xf[re], REAL_FMA(gi, xf[im], dref[re]));                             \
                dref[im] = REAL_FMA(gi, xf[re], REAL_FMA(-gr, xf[im], dref[im]));                            \
                spec[re] = REAL_FMA(gr, kf[re], gi * kf[im]);                                                \
                spec[im] = REAL_FMA(gi, kf[re], -(gr * kf[im]));                                             \
            }                                                                                                \
        want = ssm_rfft_inverse_##SUF(p, spec, ref, nout);                                                  \
        memcpy(buf, x, nz * LANES * sizeof *x);                                                              \
        got = ssm_rfft_correlate_##SUF(p, buf, nz, kf, xf, d, nout);                                         \
        same = same && memcmp(want, got, nout * LANES * sizeof *got) == 0 && memcmp(d, dref, len * sizeof *d) == 0; \
        free(buf);                                                                                           \
        free(ref);                                                                                           \
        free(kf);                                                                                            \
        free(xf);                                                                                            \
        free(keep);                                                                                          \
        free(kept);                                                                                          \
        free(spec);                                                                                          \
        free(d);                                                                                             \
        free(dref);                                                                                          \
        free(x);                                                                                             \
        return same;                                                                                         \
    }
#define REAL_FMA fmaf
FUSED_CHECK(float, f32, L32)
#undef REAL_FMA
#define REAL_FMA fma
FUSED_CHECK(double, f64, L64)
#undef REAL_FMA

static void fused(void)
{
    static const ssm_rfft_isa isas[] = {SSM_RFFT_BASELINE, SSM_RFFT_AVX2, SSM_RFFT_AVX512};
    static const char *const names[] = {"baseline", "AVX2", "AVX-512"};
    static const size_t cases[][3] = {{1600, 784, 784}, {1600, 1600, 1600}, {30, 15, 30}, {36, 7, 19}, {4500, 1999, 4500}};
    for (size_t v = 0; v < 3; ++v) {
        if (!ssm_rfft_force_isa(isas[v])) {
            printf("skip %s: not on this CPU or build\n", names[v]);
            continue;
        }
        int same = 1;
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
            ssm_rfft *p = NULL;
            ssm_rfft_new(cases[c][0], &p, NULL);
            same = same && fused_same_f32(p, cases[c][1], cases[c][2], c) && fused_same_f64(p, cases[c][1], cases[c][2], c);
            ssm_rfft_free(p);
        }
        CHECK(same, "%s: convolve and correlate == forward, the products, inverse, bit for bit (float32 and float64, "
                    "n = 1600, 30, 36, 4500, padded and truncated)", names[v]);
    }
    ssm_rfft_force_isa(SSM_RFFT_AUTO);
}

int main(void)
{
    /* one level (radices 2, 3, 4, 5; padded first and truncated last
     * steps), two levels (four-step, M > 1024), odd sample counts */
    static const size_t cases[][3] = {{2, 1, 1},      {2, 2, 2},      {4, 3, 4},      {6, 3, 3},
                                      {10, 5, 10},    {12, 7, 12},    {24, 12, 12},   {30, 15, 30},
                                      {36, 7, 19},    {50, 25, 25},   {80, 40, 40},   {96, 48, 48},
                                      {160, 77, 160}, {300, 150, 150}, {1600, 784, 784}, {1600, 1600, 1600},
                                      {4000, 2000, 2000}, {4500, 1999, 4500}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c)
        one_length(cases[c][0], cases[c][1], cases[c][2]);
    lanes_independent();
    instruction_sets(1600, 784);
    instruction_sets(4000, 1999);
    fused();
    CHECK(ssm_rfft_good_length(1568) == 1600 && ssm_rfft_good_length(1) == 2 && ssm_rfft_good_length(15) == 16 &&
              ssm_rfft_good_length(8191) == 8192,
          "good lengths: 1568 -> 1600, 1 -> 2, 15 -> 16, 8191 -> 8192");
    ssm_rfft *p = NULL;
    ssm_error err;
    CHECK(ssm_rfft_new(1568, &p, &err) == SSM_EINVAL && p == NULL && strstr(err.message, "1568"),
          "length 1568 (half has the factor 7) refused: %s", err.message);
    CHECK(ssm_rfft_new(15, &p, &err) == SSM_EINVAL && p == NULL, "odd length refused: %s", err.message);
    return test_summary("test_rfft");
}
