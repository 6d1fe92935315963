/* OpenBLAS's own rates on this machine for the shapes the MF engines use,
 * so that bench_mf.sh can state what fraction of the library's rate an
 * engine reaches: a fraction, unlike a GFLOP/s figure, carries over to
 * other machines.
 *
 * Prints CSV kernel,shape,gflops, the median over REPS repetitions.  The
 * thread count is OpenBLAS's (OPENBLAS_NUM_THREADS); bench_mf.sh sets 1. */
#include "config.h"
#include "benchutil.h"

#include <complex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cblas.h>

/* An odd count makes the median one sample, not an average of two. */
#define REPS 7
/* Small shapes (the N = 64 product is 4 MFLOP, well under a millisecond)
 * are timed as a batch of calls: a single call would measure the clock
 * and the call overhead more than the kernel. */
#define MIN_REP_SECONDS 0.05

typedef enum { DGEMM_NN, DGEMM_TN, DSYRK_TN, ZGEMM_NN } kernel_kind;

/* One measured call: C (m x n) <- op(A) op(B), row-major as the engines
 * call it; for DSYRK_TN the n x n upper triangle of A^T A with A k x n. */
typedef struct {
    kernel_kind kind;
    const char *role;   /* which engine uses this shape, for the CSV */
    int m, n, k;
} bench_case;

/* Values in [-0.5, 0.5): no zeros that a kernel could skip and no
 * denormals that would slow it down; deterministic so runs compare. */
static double *filled(size_t count)
{
    double *p = malloc(count * sizeof *p);
    uint64_t state = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; p && i < count; ++i) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        p[i] = (double)(state >> 11) * 0x1p-53 - 0.5;
    }
    return p;
}

static double flops(const bench_case *c)
{
    double m = c->m, n = c->n, k = c->k;
    switch (c->kind) {
    case DSYRK_TN: return n * (n + 1) * k;   /* half of the product, diagonal included */
    case ZGEMM_NN: return 8 * m * n * k;     /* a complex multiply-add is 8 real flops */
    default: return 2 * m * n * k;
    }
}

/* Operands as doubles: a complex matrix is twice as many. */
static void operand_sizes(const bench_case *c, size_t *a, size_t *b, size_t *out)
{
    size_t m = (size_t)c->m, n = (size_t)c->n, k = (size_t)c->k, w = c->kind == ZGEMM_NN ? 2 : 1;
    *a = w * (c->kind == DSYRK_TN ? k * n : m * k);
    *b = w * k * n;
    *out = w * (c->kind == DSYRK_TN ? n * n : m * n);
}

static void call_once(const bench_case *c, const double *a, const double *b, double *out)
{
    const int m = c->m, n = c->n, k = c->k;
    switch (c->kind) {
    case DGEMM_NN:   /* analytic: W (rank x N) times a block of responses (N x 512) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, k, b, n, 0.0,
                    out, n);
        break;
    case DGEMM_TN:   /* simulate: Z^T (N x rows) times the lagged inputs (rows x K) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0, a, m, b, n, 1.0, out,
                    n);
        break;
    case DSYRK_TN:   /* simulate: S += Z^T Z over a block of rows */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, 1.0, a, n, 1.0, out, n);
        break;
    case ZGEMM_NN: {
        const double complex one = 1, zero = 0;
        cblas_zgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, &one, a, k, b, n, &zero,
                    out, n);
        break;
    }
    }
}

/* Seconds per call, median over REPS repetitions of a batch of calls. */
static double seconds_per_call(const bench_case *c, const double *a, const double *b, double *out)
{
    double t[REPS];
    /* The first call pays for page faults and OpenBLAS's buffer setup; it
     * also calibrates how many calls make one repetition long enough. */
    double t0 = now();
    call_once(c, a, b, out);
    double first = now() - t0;
    long calls = first > 0 ? (long)(MIN_REP_SECONDS / first) + 1 : 1;
    for (int r = 0; r < REPS; ++r) {
        t0 = now();
        for (long i = 0; i < calls; ++i)
            call_once(c, a, b, out);
        t[r] = (now() - t0) / (double)calls;
    }
    qsort(t, REPS, sizeof *t, by_value);
    return t[REPS / 2];
}

/* GFLOP/s of one case, or a negative value if memory ran out. */
static double rate(const bench_case *c)
{
    size_t na, nb, nout;
    operand_sizes(c, &na, &nb, &nout);
    double *a = filled(na), *b = filled(nb), *out = filled(nout), result = -1;
    if (a && b && out)
        result = flops(c) / seconds_per_call(c, a, b, out) / 1e9;
    free(a);
    free(b);
    free(out);
    return result;
}

int main(void)
{
    static const bench_case cases[] = {
        {DGEMM_NN, "square", 1024, 1024, 1024},
        /* the analytic engine at full rank: rank = N for S4D-Inv, dt = 0.01 */
        {DGEMM_NN, "analytic N=64", 64, 512, 64},
        {DGEMM_NN, "analytic N=256", 256, 512, 256},
        {DGEMM_NN, "analytic N=1024", 1024, 512, 1024},
        {ZGEMM_NN, "square", 512, 512, 512},
        /* the simulate engine, N = 256, blocks of 512 time steps */
        {DSYRK_TN, "simulate N=256", 256, 256, 512},
        {DGEMM_TN, "simulate N=256 tau_max=1000", 256, 1001, 512},
        {DGEMM_TN, "simulate N=256 tau_max=256", 256, 257, 512},
    };
    int status = EXIT_SUCCESS;
    printf("kernel,shape,gflops\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        const bench_case *c = &cases[i];
        static const char *const names[] = {"dgemm", "dgemm", "dsyrk", "zgemm"};
        double g = rate(c);
        if (g < 0) {
            fprintf(stderr, "bench_blas: out of memory for %s %s\n", names[c->kind], c->role);
            status = EXIT_FAILURE;
            continue;
        }
        /* the shape column keeps the role last, so a script can match it */
        printf("%s,m=%d n=%d k=%d %s,%.2f\n", names[c->kind], c->m, c->n, c->k, c->role, g);
    }
    return status;
}
