/* The lane-parallel real FFT (src/ssm/rfft.c) against FFTW 3 on the same
 * machine, same run: a forward (r2c) and an inverse (c2r) transform of
 * length n whose input has T nonzero samples (the deep model's shape:
 * n = 1600, T = 784), per signal, float32 and float64.  FFTW plans with
 * FFTW_ESTIMATE, as the code before rfft.c did (measured plans would vary
 * from run to run and with them the rounding).  Prints CSV
 * impl,precision,n,T,median_us_per_signal_pair
 * usage: bench_rfft [n T reps] */
#include "config.h"

#include <complex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "benchutil.h"
#include "ssm/rfft.h"

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, by_value);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    const size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1600, T = argc > 2 ? strtoul(argv[2], NULL, 10) : 784;
    const size_t reps = argc > 3 ? strtoul(argv[3], NULL, 10) : 31, nf = n / 2 + 1, inner = 200;
    ssm_rfft *p = NULL;
    ssm_error err;
    if (ssm_rfft_new(n, &p, &err)) {
        fprintf(stderr, "bench_rfft: %s\n", err.message);
        return 1;
    }
    const size_t rows = ssm_rfft_buffer_rows(p);
    float *b32 = NULL, *s32 = NULL, *fr = fftwf_malloc(n * sizeof *fr);
    double *b64 = NULL, *s64 = NULL, *dr = fftw_malloc(n * sizeof *dr);
    fftwf_complex *fc = fftwf_malloc(nf * sizeof *fc);
    fftw_complex *dc = fftw_malloc(nf * sizeof *dc);
    if (posix_memalign((void **)&b32, 64, rows * SSM_RFFT_LANES_F32 * sizeof *b32) ||
        posix_memalign((void **)&s32, 64, nf * 2 * SSM_RFFT_LANES_F32 * sizeof *s32) ||
        posix_memalign((void **)&b64, 64, rows * SSM_RFFT_LANES_F64 * sizeof *b64) ||
        posix_memalign((void **)&s64, 64, nf * 2 * SSM_RFFT_LANES_F64 * sizeof *s64) || !fr || !dr || !fc || !dc) {
        fprintf(stderr, "bench_rfft: out of memory\n");
        return 1;
    }
    fftwf_plan pf = fftwf_plan_dft_r2c_1d((int)n, fr, fc, FFTW_ESTIMATE), qf = fftwf_plan_dft_c2r_1d((int)n, fc, fr, FFTW_ESTIMATE);
    fftw_plan pd = fftw_plan_dft_r2c_1d((int)n, dr, dc, FFTW_ESTIMATE), qd = fftw_plan_dft_c2r_1d((int)n, dc, dr, FFTW_ESTIMATE);
    double *t = malloc(4 * reps * sizeof *t);
    for (size_t r = 0; r < reps; ++r) {
        double t0 = now();
        for (size_t k = 0; k < inner; ++k) {
            for (size_t i = 0; i < T * SSM_RFFT_LANES_F32; ++i)
                b32[i] = (float)(i % 13) * 0.1f;
            ssm_rfft_forward_f32(p, b32, T, s32);
            ssm_rfft_inverse_f32(p, s32, b32, T);
        }
        t[r] = (now() - t0) / (double)(inner * SSM_RFFT_LANES_F32);
        t0 = now();
        for (size_t k = 0; k < inner; ++k) {
            for (size_t i = 0; i < T * SSM_RFFT_LANES_F64; ++i)
                b64[i] = (double)(i % 13) * 0.1;
            ssm_rfft_forward_f64(p, b64, T, s64);
            ssm_rfft_inverse_f64(p, s64, b64, T);
        }
        t[reps + r] = (now() - t0) / (double)(inner * SSM_RFFT_LANES_F64);
        t0 = now();
        for (size_t k = 0; k < inner * SSM_RFFT_LANES_F32; ++k) {
            for (size_t i = 0; i < n; ++i)
                fr[i] = i < T ? (float)(i % 13) * 0.1f : 0.0f;
            fftwf_execute(pf);
            fftwf_execute(qf);
        }
        t[2 * reps + r] = (now() - t0) / (double)(inner * SSM_RFFT_LANES_F32);
        t0 = now();
        for (size_t k = 0; k < inner * SSM_RFFT_LANES_F64; ++k) {
            for (size_t i = 0; i < n; ++i)
                dr[i] = i < T ? (double)(i % 13) * 0.1 : 0.0;
            fftw_execute(pd);
            fftw_execute(qd);
        }
        t[3 * reps + r] = (now() - t0) / (double)(inner * SSM_RFFT_LANES_F64);
    }
    printf("rfft,float32,%zu,%zu,%.4f\n", n, T, 1e6 * median(t, reps));
    printf("rfft,float64,%zu,%zu,%.4f\n", n, T, 1e6 * median(t + reps, reps));
    printf("fftw-estimate,float32,%zu,%zu,%.4f\n", n, T, 1e6 * median(t + 2 * reps, reps));
    printf("fftw-estimate,float64,%zu,%zu,%.4f\n", n, T, 1e6 * median(t + 3 * reps, reps));
    fftwf_destroy_plan(pf);
    fftwf_destroy_plan(qf);
    fftw_destroy_plan(pd);
    fftw_destroy_plan(qd);
    fftwf_free(fr);
    fftw_free(dr);
    fftwf_free(fc);
    fftw_free(dc);
    free(b32);
    free(s32);
    free(b64);
    free(s64);
    free(t);
    ssm_rfft_free(p);
    return 0;
}
