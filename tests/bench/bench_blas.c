/* OpenBLAS's own rates on this machine for the shapes the MF engines use,
 * so a benchmark can say what fraction of the BLAS rate an engine reaches.
 * Prints CSV kernel,shape,gflops (median of 7 repetitions). */
#include "config.h"

#include <complex.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cblas.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double *filled(size_t n)
{
    double *p = malloc(n * sizeof *p);
    for (size_t i = 0; p && i < n; ++i)
        p[i] = (double)((i * 2654435761u) % 1000) / 1000.0 - 0.5;
    return p;
}

/* dgemm (m x k) (k x n), row-major as the engines call it */
static void dgemm_rate(int m, int n, int k, const char *what)
{
    double *a = filled((size_t)m * k), *b = filled((size_t)k * n), *c = filled((size_t)m * n), t[7];
    for (int r = 0; r < 7; ++r) {
        double t0 = now();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, k, b, n, 0.0, c, n);
        t[r] = now() - t0;
    }
    qsort(t, 7, sizeof *t, by_value);
    printf("dgemm,%s %dx%dx%d,%.2f\n", what, m, n, k, 2.0 * m * n * k / t[3] / 1e9);
    free(a);
    free(b);
    free(c);
}

static void dsyrk_rate(int n, int k)
{
    double *a = filled((size_t)n * k), *c = filled((size_t)n * n), t[7];
    for (int r = 0; r < 7; ++r) {
        double t0 = now();
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, 1.0, a, n, 1.0, c, n);
        t[r] = now() - t0;
    }
    qsort(t, 7, sizeof *t, by_value);
    printf("dsyrk,simulate n=%d k=%d,%.2f\n", n, k, 1.0 * n * (n + 1) * k / t[3] / 1e9);
    free(a);
    free(c);
}

static void zgemm_rate(int n)
{
    double complex *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b),
                   *c = malloc((size_t)n * n * sizeof *c), one = 1, zero = 0;
    double t[7];
    for (size_t i = 0; i < (size_t)n * n; ++i)
        a[i] = b[i] = CMPLX((double)(i % 7) / 7, (double)(i % 5) / 5);
    for (int r = 0; r < 7; ++r) {
        double t0 = now();
        cblas_zgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, &one, a, n, b, n, &zero, c, n);
        t[r] = now() - t0;
    }
    qsort(t, 7, sizeof *t, by_value);
    printf("zgemm,square %d,%.2f\n", n, 8.0 * n * n * n / t[3] / 1e9);
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    printf("kernel,shape,gflops\n");
    dgemm_rate(1024, 1024, 1024, "square");
    /* analytic: W (rank x N) times a block of 512 responses (N x 512) */
    dgemm_rate(64, 512, 64, "analytic N=64");
    dgemm_rate(256, 512, 256, "analytic N=256");
    dgemm_rate(1024, 512, 1024, "analytic N=1024");
    /* simulate: Z^T (N x 512) times the lagged inputs (512 x K) */
    dgemm_rate(256, 257, 512, "simulate N=256 K=257");
    dsyrk_rate(256, 512);
    zgemm_rate(512);
    return 0;
}
