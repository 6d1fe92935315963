/* The dense S4 system: matrix exponential, discretizations, the Stein
 * Gramian, and the S4 = S4D equivalence of memory functions. */
#include "config.h"

#include <float.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "ssm/dense.h"
#include "ssm/mf.h"
#include "testutil.h"

static double max_abs(const double *a, const double *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; ++i)
        worst = fmax(worst, fabs(a[i] - b[i]));
    return worst;
}

static void expm_cases(void)
{
    ssm_error err;
    /* rotation generator: exp([[0, -t], [t, 0]]) = [[cos, -sin], [sin, cos]] */
    for (double t = 0.1; t < 100; t *= 7) {
        double m[4] = {0, -t, t, 0}, want[4] = {cos(t), -sin(t), sin(t), cos(t)};
        CHECK(ssm_expm(2, m, &err) == SSM_OK, "expm rotation %g", t);
        CHECK(max_abs(m, want, 4) < 1e-13 * fmax(1, t), "expm rotation %g to %.2g", t, max_abs(m, want, 4));
    }
    /* nilpotent: exp([[0, 1], [0, 0]]) = [[1, 1], [0, 1]] */
    double nil[4] = {0, 1, 0, 0}, nil_want[4] = {1, 1, 0, 1};
    ssm_expm(2, nil, &err);
    CHECK(max_abs(nil, nil_want, 4) < 1e-15, "expm nilpotent");
    /* exp(M) exp(-M) = I for a random 6 x 6 of norm ~ 20 (squaring path) */
    double m[36], neg[36], prod[36], eye[36] = {0};
    unsigned seed = 12345;
    for (int i = 0; i < 36; ++i) {
        seed = seed * 1103515245u + 12345u;
        m[i] = ((seed >> 8) % 2001 - 1000) / 150.0;
        neg[i] = -m[i];
    }
    for (int i = 0; i < 6; ++i)
        eye[i * 7] = 1;
    ssm_expm(6, m, &err);
    ssm_expm(6, neg, &err);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 6, 6, 6, 1, m, 6, neg, 6, 0, prod, 6);
    double scale = 0;
    for (int i = 0; i < 36; ++i)
        scale = fmax(scale, fabs(m[i]));
    CHECK(max_abs(prod, eye, 36) < 1e-13 * scale, "exp(M) exp(-M) = I (%.2g)", max_abs(prod, eye, 36));
}

static void legs_discretization(void)
{
    const size_t n = 8;
    const double dt = 0.05;
    double a[64], b[8], a0[64], b0[8];
    ssm_error err;
    ssm_legs_continuous(n, a0, b0);
    /* S = A + P P^T satisfies S + S^T = -I (paper-notes section 1) */
    double worst = 0;
    for (size_t r = 0; r < n; ++r)
        for (size_t c = 0; c < n; ++c) {
            double s_rc = a0[r * n + c] + sqrt(r + 0.5) * sqrt(c + 0.5);
            double s_cr = a0[c * n + r] + sqrt(c + 0.5) * sqrt(r + 0.5);
            worst = fmax(worst, fabs(s_rc + s_cr + (r == c)));
        }
    CHECK(worst < 1e-13, "LegS: S + S^T = -I (%.2g)", worst);

    /* ZOH: triangular, so diag(exp(dt A)) = exp(-dt (n+1)); and
     * B = A^{-1}(exp(dt A) - I) B solved independently with dgesv */
    memcpy(a, a0, sizeof a);
    memcpy(b, b0, sizeof b);
    CHECK(ssm_discretize_dense(n, a, b, dt, SSM_DISC_ZOH, &err) == SSM_OK, "zoh discretization");
    worst = 0;
    for (size_t i = 0; i < n; ++i)
        worst = fmax(worst, fabs(a[i * n + i] - exp(-dt * (i + 1))) / exp(-dt * (i + 1)));
    CHECK(worst < 1e-14, "zoh: diagonal is exp(-dt (n+1)) (%.2g)", worst);
    double lhs[64], rhs[8];
    lapack_int ipiv[8];
    memcpy(lhs, a0, sizeof lhs);
    for (size_t i = 0; i < n; ++i) {
        rhs[i] = 0;
        for (size_t k = 0; k < n; ++k)
            rhs[i] += (a[i * n + k] - (i == k)) * b0[k];
    }
    LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, 1, lhs, (lapack_int)n, ipiv, rhs, 1);
    CHECK(max_abs(b, rhs, n) < 1e-12, "zoh: B = A^-1 (exp(dt A) - I) B (%.2g)", max_abs(b, rhs, n));

    /* bilinear: (I - dt/2 A) Abar = I + dt/2 A */
    memcpy(a, a0, sizeof a);
    memcpy(b, b0, sizeof b);
    CHECK(ssm_discretize_dense(n, a, b, dt, SSM_DISC_BILINEAR, &err) == SSM_OK, "bilinear discretization");
    worst = 0;
    for (size_t r = 0; r < n; ++r)
        for (size_t c = 0; c < n; ++c) {
            double v = 0;
            for (size_t k = 0; k < n; ++k)
                v += ((r == k) - 0.5 * dt * a0[r * n + k]) * a[k * n + c];
            worst = fmax(worst, fabs(v - ((r == c) + 0.5 * dt * a0[r * n + c])));
        }
    CHECK(worst < 1e-13, "bilinear: (I - dt/2 A) Abar = I + dt/2 A (%.2g)", worst);
}

static void stein(void)
{
    const size_t n = 6;
    double a[36], b[6], g[36], res[36], tmp[36];
    ssm_error err;
    ssm_legs_continuous(n, a, b);
    ssm_discretize_dense(n, a, b, 0.01, SSM_DISC_ZOH, &err);
    CHECK(ssm_stein_doubling(n, a, b, g, &err) == SSM_OK, "Stein doubling converges");
    /* residual of gamma = A gamma A^T + b b^T */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 6, 6, 6, 1, a, 6, g, 6, 0, tmp, 6);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 6, 6, 6, 1, tmp, 6, a, 6, 0, res, 6);
    double worst = 0, gmax = 0;
    for (size_t r = 0; r < n; ++r)
        for (size_t c = 0; c < n; ++c) {
            worst = fmax(worst, fabs(g[r * n + c] - res[r * n + c] - b[r] * b[c]));
            gmax = fmax(gmax, fabs(g[r * n + c]));
        }
    CHECK(worst < 1e-13 * gmax, "Stein residual %.2g relative", worst / gmax);
    /* an unstable matrix is reported, not looped on */
    double unstable[1] = {1.0}, one[1] = {1.0}, out[1];
    CHECK(ssm_stein_doubling(1, unstable, one, out, &err) == SSM_ENUMERIC && strstr(err.message, "stable"),
          "unstable Stein refused: %s", err.message);
}

static int mf_of(ssm_init_kind init, long n, double dt, ssm_disc disc, ssm_mf_method method, size_t tau_max,
                 size_t T, ssm_mf_result *res)
{
    ssm_model m;
    ssm_mf_options o;
    ssm_error err;
    ssm_model_defaults(&m);
    ssm_mf_options_defaults(&o);
    m.init = init;
    m.n = n;
    m.dt = dt;
    m.disc = disc;
    o.method = method;
    o.tau_max = tau_max;
    o.T = T;
    ssm_status st = ssm_mf_model(&m, &o, res, &err);
    if (st)
        fprintf(stderr, "%s: %s\n", ssm_init_name(init), err.message);
    return st == SSM_OK;
}

static double max_diff(const ssm_mf_result *a, const ssm_mf_result *b)
{
    return max_abs(a->mf, b->mf, a->n_tau < b->n_tau ? a->n_tau : b->n_tau);
}

/* S4 = S4D: the dense LegS system and the diagonal system with its
 * spectrum (s4d-real) have the same memory function. */
static void equivalence(void)
{
    const size_t tau_max = 3000;
    for (int d = 0; d < 2; ++d) {
        ssm_disc disc = d ? SSM_DISC_BILINEAR : SSM_DISC_ZOH;
        for (long n = 4; n <= 8; n += 2) {
            ssm_mf_result dense, diag;
            if (!mf_of(SSM_INIT_LEGS_DENSE, n, 0.01, disc, SSM_MF_ANALYTIC, tau_max, 0, &dense))
                continue;
            if (mf_of(SSM_INIT_S4D_REAL, n, 0.01, disc, SSM_MF_ANALYTIC, tau_max, 0, &diag)) {
                double tol = diag.cond * 1e-15;
                CHECK(max_diff(&dense, &diag) <= tol, "N %ld %s: dense == s4d-real to %.2g <= cond(G) 1e-15 = %.2g",
                      n, ssm_disc_name(disc), max_diff(&dense, &diag), tol);
                CHECK(dense.rank == (size_t)n && diag.rank == (size_t)n, "N %ld %s: both full rank", n,
                      ssm_disc_name(disc));
                ssm_mf_result_free(&diag);
            }
            ssm_mf_result_free(&dense);
        }
    }
    /* N = 16, 32: cond(G) of the diagonal form exceeds 1e17, so its Gram
     * eigendecomposition keeps only part of the directions, while the dense
     * Gramian in LegS coordinates is well conditioned and keeps all N.  The
     * orthonormal-basis engine on the same eigenvalues needs no Gram and
     * reproduces the dense memory function digit for digit. */
    for (long n = 16; n <= 32; n *= 2) {
        ssm_mf_result dense, diag, exact;
        const size_t long_tau = 6000;
        if (!mf_of(SSM_INIT_LEGS_DENSE, n, 0.01, SSM_DISC_ZOH, SSM_MF_ANALYTIC, long_tau, 0, &dense))
            continue;
        if (mf_of(SSM_INIT_S4D_REAL, n, 0.01, SSM_DISC_ZOH, SSM_MF_ANALYTIC, long_tau, 0, &diag)) {
            CHECK(diag.cond > 1e17, "N %ld: cond(G) of S4D-Real is %.2g > 1e17", n, diag.cond);
            CHECK(dense.cond < 1e4, "N %ld: cond of the LegS Gramian is only %.2g", n, dense.cond);
            CHECK(dense.rank == (size_t)n && diag.rank < (size_t)n,
                  "N %ld: Gram eigendecomposition keeps %zu of N in diagonal form, %zu in LegS form", n,
                  diag.rank, dense.rank);
            /* the kept eigenvalues are >= rcond^2 s_max and accurate to eps
             * s_max, so each kept direction carries up to eps / rcond^2 */
            CHECK_ABS(diag.mc, (double)diag.rank, diag.rank * DBL_EPSILON / (diag.rcond * diag.rcond),
                      "N %ld: diagonal MC = its numerical rank", n);
            ssm_mf_result_free(&diag);
        }
        if (mf_of(SSM_INIT_S4D_REAL, n, 0.01, SSM_DISC_ZOH, SSM_MF_BLASCHKE, long_tau, 0, &exact)) {
            CHECK(exact.rank == dense.rank, "N %ld: blaschke rank %zu == dense rank %zu", n, exact.rank, dense.rank);
            CHECK_ABS(exact.mc, dense.mc, 1e-10, "N %ld: blaschke MC == dense MC", n);
            CHECK(max_diff(&dense, &exact) < 1e-12, "N %ld: blaschke(s4d-real) == dense to %.2g", n,
                  max_diff(&dense, &exact));
            ssm_mf_result_free(&exact);
        }
        CHECK_ABS(dense.mc, (double)n, 1e-9, "N %ld: dense MC = N", n);
        ssm_mf_result_free(&dense);
    }
}

/* the dense engines against each other */
static void dense_engines(void)
{
    ssm_mf_result a, f, s;
    const size_t tau_max = 1500;
    if (!mf_of(SSM_INIT_LEGS_DENSE, 8, 0.02, SSM_DISC_ZOH, SSM_MF_ANALYTIC, tau_max, 0, &a))
        return;
    if (mf_of(SSM_INIT_LEGS_DENSE, 8, 0.02, SSM_DISC_ZOH, SSM_MF_FINITE, tau_max, 20000, &f)) {
        CHECK(max_diff(&a, &f) < 1e-8, "dense analytic == finite(T = 20000) to %.2g", max_diff(&a, &f));
        ssm_mf_result_free(&f);
    }
    if (mf_of(SSM_INIT_LEGS_DENSE, 8, 0.02, SSM_DISC_ZOH, SSM_MF_SIMULATE, 200, 100000, &s)) {
        /* tolerance as in test_mf: bias n/T plus 6 spreads with the
         * correlation time 1/(1 - exp(-dt)) = 50 steps */
        double worst = 0;
        int ok = 1;
        for (size_t t = 0; t <= 200; ++t) {
            double mf = a.mf[t], tol = 8.0 / 100000 + 6 * 2 * sqrt(fmax(mf, 8e-5)) * (1 - mf + 8e-5) * sqrt(50.0 / 100000);
            ok &= fabs(s.mf[t] - mf) <= tol;
            worst = fmax(worst, fabs(s.mf[t] - mf) / tol);
        }
        CHECK(ok, "dense simulate within tolerance (worst %.2f of it)", worst);
        ssm_mf_result_free(&s);
    }
    ssm_mf_result_free(&a);
    ssm_mf_result blaschke;
    ssm_model m;
    ssm_mf_options o;
    ssm_error err;
    ssm_model_defaults(&m);
    ssm_mf_options_defaults(&o);
    m.init = SSM_INIT_LEGS_DENSE;
    o.method = SSM_MF_BLASCHKE;
    CHECK(ssm_mf_model(&m, &o, &blaschke, &err) == SSM_EINVAL && strstr(err.message, "diagonal"),
          "blaschke on the dense system is refused: %s", err.message);
}

int main(void)
{
    expm_cases();
    legs_discretization();
    stein();
    equivalence();
    dense_engines();
    return test_summary("test_dense");
}
