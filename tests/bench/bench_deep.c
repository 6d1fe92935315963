/* Per-batch training time of the deep S4D classifier (forward + backward +
 * AdamW step), with the phases timed separately and the peak memory.
 * usage: bench_deep H N L batch length reps [f32|f64 [threads]]
 * prints CSV: impl,precision,H,N,L,batch,length,median_s,p10_s,p90_s,
 *             workspace_MiB,peak_rss_MiB,gemm_gflop,sgemm_peak_gflops,median_cpu_s,
 *             fma_peak_gflops
 * where gemm_gflop is the pointwise layers' GEMM work of one step and
 * sgemm_peak_gflops OpenBLAS's single-precision rate on a 1024^3 product
 * on this machine (same thread count), so that gemm_gflop / median_s /
 * sgemm_peak_gflops is the fraction of the machine's sgemm rate the
 * whole step achieves; median_cpu_s is the median step in CPU time of the
 * process (all threads); fma_peak_gflops is one core's single-precision
 * arithmetic peak (fma_peak_gflops below), the rate no float32 kernel
 * exceeds, so that a speed goal can be checked against what the
 * hardware allows at all. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cblas.h>

#include "benchutil.h"
#include "ssm/deep.h"
#include "ssm/rng.h"

/* OpenBLAS's sgemm rate on a large square product, best of 5, in CPU time
 * (one thread: OPENBLAS_NUM_THREADS=1), so a loaded machine does not
 * lower it. */
static double sgemm_peak_gflops(void)
{
    const int n = 1024;
    float *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b),
          *c = malloc((size_t)n * n * sizeof *c);
    double best = 0;
    if (!a || !b || !c)
        goto done;
    for (size_t i = 0; i < (size_t)n * n; ++i)
        a[i] = b[i] = (float)(i % 7) * 0.1f;
    for (int r = 0; r < 6; ++r) {
        double t0 = cpu_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double rate = 2.0 * n * n * n / (cpu_now() - t0) / 1e9;
        if (r && rate > best)   /* the first call warms up */
            best = rate;
    }
done:
    free(a);
    free(b);
    free(c);
    return best;
}

/* One core's single-precision peak: independent chains of fused
 * multiply-adds on 64-byte vectors, compiled for the widest instruction
 * set the machine has (as the deep step's GEMM picks its kernel: AVX-512,
 * AVX2 as two 32-byte halves), best of 5 in CPU time.  Twelve chains
 * cover the FMA latency of every x86 core (4 cycles, 2 units).  The
 * project builds with -std=c11, which turns contraction of a * b + c into
 * one FMA off; this function turns it back on for itself. */
typedef float fma_vec __attribute__((vector_size(64)));
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "arch=haswell", "default"), optimize("fp-contract=fast")))
#endif
static float fma_chains(long rounds, float scale)
{
    enum { CHAINS = 12 };
    fma_vec acc[CHAINS];
    const fma_vec mul = (fma_vec){0} + scale, add = (fma_vec){0} + (1 - scale);
    for (int i = 0; i < CHAINS; ++i)
        acc[i] = (fma_vec){0} + (float)i;
    for (long k = 0; k < rounds; ++k)
        _Pragma("GCC unroll 12") for (int i = 0; i < CHAINS; ++i)
            acc[i] = acc[i] * mul + add;
    float sum = 0;   /* returned, so the chains are not optimized away */
    for (int i = 0; i < CHAINS; ++i)
        sum += acc[i][0];
    return sum;
}

static double fma_peak_gflops(void)
{
    const long rounds = 4000000;
    const double flop = 2.0 * 12 * (double)(sizeof(fma_vec) / sizeof(float)) * (double)rounds;
    double best = 0;
    volatile float sink = 0;
    for (int r = 0; r < 6; ++r) {
        double t0 = cpu_now();
        sink += fma_chains(rounds, 0.999f);
        double rate = flop / (cpu_now() - t0) / 1e9;
        if (r && rate > best)   /* the first call warms up */
            best = rate;
    }
    (void)sink;
    return best;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: bench_deep H N L batch length reps [f32|f64]\n");
        return 2;
    }
    ssm_deep_config c;
    ssm_deep_config_defaults(&c);
    c.d_model = strtoul(argv[1], NULL, 10);
    c.eig.n = strtol(argv[2], NULL, 10);
    c.n_layers = strtoul(argv[3], NULL, 10);
    const size_t B = strtoul(argv[4], NULL, 10), T = strtoul(argv[5], NULL, 10), reps = strtoul(argv[6], NULL, 10);
    const ssm_precision prec = argc > 7 && strcmp(argv[7], "f64") == 0 ? SSM_F64 : SSM_F32;
    const size_t threads = argc > 8 ? strtoul(argv[8], NULL, 10) : 1;
    c.eig.init = SSM_INIT_S4D_LIN;
    ssm_deep m;
    ssm_deep_work *w = NULL;
    ssm_optim_state state;
    ssm_optim_options opt;
    ssm_error err;
    ssm_optim_defaults(&opt);
    if (ssm_deep_init(&m, &c, 1, &err) || ssm_deep_work_new(&m, T, B, prec, &w, &err) ||
        ssm_optim_state_new(&state, m.n_params, &err)) {
        fprintf(stderr, "bench_deep: %s\n", err.message);
        return 1;
    }
    ssm_deep_work_set_threads(w, threads);
    const size_t nb = ssm_deep_n_blocks(&m);
    ssm_param_block *blocks = malloc(nb * sizeof *blocks);
    ssm_deep_blocks(&m, 0, blocks);
    float *x = malloc(B * T * sizeof *x);
    uint8_t *y = malloc(B);
    double *grad = malloc(m.n_params * sizeof *grad), *times = malloc(reps * sizeof *times),
           *cpu = malloc(reps * sizeof *cpu);
    ssm_rng rng;
    ssm_rng_init(&rng, 1, 0, 0);
    for (size_t i = 0; i < B * T; ++i)
        x[i] = (float)ssm_rng_normal(&rng);
    for (size_t b = 0; b < B; ++b)
        y[b] = (uint8_t)(b % 10);
    for (size_t r = 0; r < reps + 1; ++r) {   /* the first one warms up */
        double t0 = now(), c0 = cpu_now(), loss;
        if (ssm_deep_loss_grad(&m, w, x, y, B, NULL, &loss, NULL, grad, NULL, &err)) {
            fprintf(stderr, "bench_deep: %s\n", err.message);
            return 1;
        }
        ssm_optim_step(&opt, blocks, nb, 1e-3, m.theta, grad, &state);
        if (r) {
            times[r - 1] = now() - t0;
            cpu[r - 1] = cpu_now() - c0;
        }
    }
    qsort(times, reps, sizeof *times, by_value);
    qsort(cpu, reps, sizeof *cpu, by_value);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* pointwise layer: forward W g, backward dW and dg: 3 GEMMs of 2H x H x T per sequence */
    const double gflop = 3.0 * 2 * (double)(2 * c.d_model * c.d_model) * (double)T * (double)B * (double)c.n_layers / 1e9;
    printf("ssmsweep,%s,%zu,%ld,%zu,%zu,%zu,%.6f,%.6f,%.6f,%.1f,%.1f,%.3f,%.1f,%.6f,%.1f\n",
           prec == SSM_F32 ? "float32" : "float64", c.d_model, c.eig.n, c.n_layers, B, T, times[reps / 2],
           times[reps / 10], times[(reps * 9) / 10], (double)ssm_deep_work_bytes(w) / 1048576.0,
           (double)ru.ru_maxrss / 1024.0, gflop, sgemm_peak_gflops(), cpu[reps / 2],
           fma_peak_gflops());
    free(blocks);
    free(x);
    free(y);
    free(grad);
    free(times);
    free(cpu);
    ssm_optim_state_free(&state);
    ssm_deep_work_free(w);
    ssm_deep_free(&m);
    return 0;
}
