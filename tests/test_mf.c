/* Memory-function engines against each other, against closed forms, the
 * oracle values of paper-notes.md and 50-digit references (mpmath). */
#include "config.h"

#include <float.h>
#include <string.h>

#include "refdata.h"
#include "ssm/mf.h"
#include "testutil.h"

static ssm_mf_options options(ssm_mf_method method, size_t tau_max, size_t T)
{
    ssm_mf_options o;
    ssm_mf_options_defaults(&o);
    o.method = method;
    o.tau_max = tau_max;
    o.T = T;
    return o;
}

static int run(const double complex *lambda, size_t n, ssm_mf_options o, ssm_mf_result *res)
{
    ssm_spectrum sp = {n, (double complex *)lambda};
    ssm_error err;
    ssm_status st = ssm_mf_spectrum(&sp, &o, res, &err);
    if (st)
        fprintf(stderr, "engine %s failed: %s\n", ssm_mf_method_name(o.method), err.message);
    return st == SSM_OK;
}

static int run_model(ssm_init_kind init, long n, double dt, ssm_mf_options o, ssm_mf_result *res)
{
    ssm_model m;
    ssm_error err;
    ssm_model_defaults(&m);
    m.init = init;
    m.n = n;
    m.dt = dt;
    ssm_status st = ssm_mf_model(&m, &o, res, &err);
    if (st)
        fprintf(stderr, "%s failed: %s\n", ssm_init_name(init), err.message);
    return st == SSM_OK;
}

static double max_abs_diff(const ssm_mf_result *a, const ssm_mf_result *b, size_t count)
{
    double worst = 0;
    for (size_t t = 0; t < count; ++t)
        worst = fmax(worst, fabs(a->mf[t] - b->mf[t]));
    return worst;
}

static const ssm_mf_method infinite_engines[] = {SSM_MF_ANALYTIC, SSM_MF_BLASCHKE};

/* paper-notes.md, section 2: printed to 8 decimals, so 5e-9 is the
 * resolution; exact closed forms are checked to 1e-14 besides. */
static void notes_oracle(void)
{
    static const double single[] = {0.19, 0.1539, 0.124659, 0.10097379, 0.08178877};
    static const double two_real[] = {0.7975, 0.2046, 0.12591975, 0.12378531, 0.11999752, 0.10855858};
    static const double pair[] = {0.3439, 0.23715072, 0.18965362, 0.17752707, 0.17736235, 0.17285615};
    const double complex l1[] = {0.9}, l2[] = {0.5, 0.9};
    const double complex l3[] = {0.9 * cexp(0.3 * I), 0.9 * cexp(-0.3 * I)};
    for (size_t e = 0; e < 2; ++e) {
        ssm_mf_method method = infinite_engines[e];
        const char *name = ssm_mf_method_name(method);
        ssm_mf_result r;
        if (run(l1, 1, options(method, 400, 0), &r)) {
            for (size_t t = 0; t < 5; ++t)
                CHECK_ABS(r.mf[t], single[t], 5e-9, "%s {0.9} tau %zu (notes)", name, t);
            double worst = 0;
            for (size_t t = 0; t <= 400; ++t)
                worst = fmax(worst, fabs(r.mf[t] - 0.19 * pow(0.81, (double)t)));
            CHECK(worst < 1e-15, "%s {0.9} = (1 - l^2) l^(2 tau) to 1e-15 (%.2g)", name, worst);
            CHECK_ABS(r.mc, 1.0, 1e-12, "%s {0.9} MC", name);
            ssm_mf_result_free(&r);
        }
        if (run(l2, 2, options(method, 600, 0), &r)) {
            for (size_t t = 0; t < 6; ++t)
                CHECK_ABS(r.mf[t], two_real[t], 5e-9, "%s {0.5, 0.9} tau %zu (notes)", name, t);
            /* exact: h^T G^{-1} h with the 2 x 2 inverse written out */
            double g11 = 1 / (1 - 0.25), g12 = 1 / (1 - 0.45), g22 = 1 / (1 - 0.81);
            double det = g11 * g22 - g12 * g12, worst = 0;
            for (size_t t = 0; t <= 600; ++t) {
                double h1 = pow(0.5, (double)t), h2 = pow(0.9, (double)t);
                double exact = (g22 * h1 * h1 - 2 * g12 * h1 * h2 + g11 * h2 * h2) / det;
                worst = fmax(worst, fabs(r.mf[t] - exact));
            }
            CHECK(worst < 1e-14, "%s {0.5, 0.9} equals the 2x2 closed form (%.2g)", name, worst);
            CHECK_ABS(r.mc, 2.0, 1e-12, "%s {0.5, 0.9} MC = 2", name);
            CHECK(r.rank == 2, "%s {0.5, 0.9} rank 2", name);
            ssm_mf_result_free(&r);
        }
        if (run(l3, 2, options(method, 600, 0), &r)) {
            for (size_t t = 0; t < 6; ++t)
                CHECK_ABS(r.mf[t], pair[t], 5e-9, "%s complex pair tau %zu (notes)", name, t);
            CHECK_ABS(r.mc, 2.0, 1e-12, "%s complex pair MC = 2", name);
            ssm_mf_result_free(&r);
        }
    }
    /* S4D-Inv N = 32, ZOH (notes): the accuracy/length trade-off */
    static const size_t taus[] = {0, 10, 100, 500};
    static const double inv01[] = {0.27385096, 0.14441444, 0.10193733, 0.01451494};
    static const double inv1[] = {0.95923780, 0.72525946, 0.00825784, 0.0};
    for (size_t e = 0; e < 2; ++e) {
        ssm_mf_result a, b;
        const char *name = ssm_mf_method_name(infinite_engines[e]);
        if (run_model(SSM_INIT_S4D_INV, 32, 0.01, options(infinite_engines[e], 500, 0), &a) &&
            run_model(SSM_INIT_S4D_INV, 32, 0.1, options(infinite_engines[e], 500, 0), &b)) {
            for (size_t k = 0; k < 4; ++k) {
                CHECK_ABS(a.mf[taus[k]], inv01[k], 5e-9, "%s S4D-Inv dt 0.01 tau %zu (notes)", name, taus[k]);
                CHECK_ABS(b.mf[taus[k]], inv1[k], 5e-9, "%s S4D-Inv dt 0.1 tau %zu (notes)", name, taus[k]);
            }
            CHECK(ssm_mf_memory_length(&a) > 5 * ssm_mf_memory_length(&b),
                  "%s: small dt remembers longer (%.1f vs %.1f steps)", name,
                  ssm_mf_memory_length(&a), ssm_mf_memory_length(&b));
            CHECK(a.mf[0] < b.mf[0], "%s: ... at lower accuracy", name);
            ssm_mf_result_free(&a);
            ssm_mf_result_free(&b);
        }
    }
}

/* mpmath, 50 digits, for the exact double eigenvalues of each case */
static void mpmath_references(void)
{
    static const struct { const char *name; double atol_blaschke; } cases[] = {
        {"s4d-inv-32-0.01", 1e-14}, {"s4d-inv-32-0.001", 1e-14}, {"s4d-real-8-0.01", 1e-14},
        {"s4d-real-6-0.1", 1e-14},  {"pairs-4", 1e-15},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        ref_case ref;
        if (ref_load(ref_path("mf_reference.csv"), cases[c].name, &ref) != 0) {
            CHECK(0, "load reference %s", cases[c].name);
            continue;
        }
        size_t tau_max = ref.tau[ref.n_mf - 1];
        ssm_mf_result a, b;
        if (!run(ref.eig, ref.n_eig, options(SSM_MF_ANALYTIC, tau_max, 0), &a))
            continue;
        if (!run(ref.eig, ref.n_eig, options(SSM_MF_BLASCHKE, tau_max, 0), &b)) {
            ssm_mf_result_free(&a);
            continue;
        }
        /* the eigendecomposition loses cond(G) eps; the orthonormal basis
         * loses nothing to conditioning */
        double tol_a = fmax(a.cond, 1.0) * 1e-15 * 10;
        for (size_t k = 0; k < ref.n_mf; ++k) {
            CHECK_ABS(b.mf[ref.tau[k]], ref.mf[k], cases[c].atol_blaschke, "blaschke %s tau %zu",
                      cases[c].name, ref.tau[k]);
            CHECK_ABS(a.mf[ref.tau[k]], ref.mf[k], tol_a, "analytic %s tau %zu (cond %.2g)",
                      cases[c].name, ref.tau[k], a.cond);
        }
        ssm_mf_result_free(&a);
        ssm_mf_result_free(&b);
    }
}

/* analytic == finite for T far beyond the memory, to 1e-8, where the Gram
 * matrix is well enough conditioned for both to keep every direction.
 * (Real spectra such as lin at N = 32 are not: there the engines resolve
 * different numerical ranks, checked by capacity_is_rank below.) */
static void analytic_vs_finite(void)
{
    static const struct { ssm_init_kind init; long n; double dt, rho; size_t T; } cases[] = {
        {SSM_INIT_S4D_INV, 32, 0.01, 0, 20000},  {SSM_INIT_S4D_INV, 32, 0.1, 0, 4000},
        {SSM_INIT_S4D_LIN, 32, 0.01, 0, 20000},  {SSM_INIT_S4D_LEGS, 32, 0.01, 0, 20000},
        {SSM_INIT_S4D_INV, 32, 0.001, 0, 120000}, {SSM_INIT_RANDOM, 8, 0, 0.9, 4000},
        {SSM_INIT_LIN, 4, 0, 0.9, 4000},          {SSM_INIT_STEP, 8, 0, 0.9, 4000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        ssm_model m;
        ssm_error err;
        ssm_mf_result a, f, b;
        const char *name = ssm_init_name(cases[c].init);
        const size_t tau_max = 3000;
        ssm_mf_options oa = options(SSM_MF_ANALYTIC, tau_max, 0);
        ssm_mf_options of = options(SSM_MF_FINITE, tau_max, cases[c].T);
        ssm_mf_options ob = options(SSM_MF_BLASCHKE, tau_max, 0);
        ssm_model_defaults(&m);
        m.init = cases[c].init;
        m.n = cases[c].n;
        if (cases[c].dt > 0)
            m.dt = cases[c].dt;
        if (cases[c].rho > 0)
            m.rho = cases[c].rho;
        if (ssm_mf_model(&m, &oa, &a, &err) != SSM_OK) {
            CHECK(0, "%s analytic: %s", name, err.message);
            continue;
        }
        if (ssm_mf_model(&m, &of, &f, &err) == SSM_OK) {
            double d = max_abs_diff(&a, &f, tau_max + 1);
            CHECK(d < 1e-8, "%s N %ld: analytic == finite(T=%zu) to %.2g (cond %.2g)", name, m.n,
                  cases[c].T, d, a.cond);
            CHECK(a.rank == f.rank, "%s N %ld: same numerical rank %zu / %zu", name, m.n, a.rank, f.rank);
            ssm_mf_result_free(&f);
        }
        if (ssm_mf_model(&m, &ob, &b, &err) == SSM_OK) {
            double d = max_abs_diff(&a, &b, tau_max + 1), tol = fmax(a.cond * 1e-14, 1e-13);
            CHECK(d < tol, "%s N %ld: analytic == blaschke to %.2g <= %.2g", name, m.n, d, tol);
            ssm_mf_result_free(&b);
        }
        ssm_mf_result_free(&a);
    }
}

/* MC = sum over all delays = numerical rank <= N, also where G is singular
 * to working precision */
static void capacity_is_rank(void)
{
    static const struct { ssm_init_kind init; double dt; size_t T; size_t rank; const char *why; } cases[] = {
        {SSM_INIT_S4D_LIN, 0.1, 1024, 20, "aliased frequencies"},
        {SSM_INIT_S4D_LIN, 0.01, 1024, 31, "real mode doubled"},
        {SSM_INIT_S4D_INV, 0.001, 1024, 28, "memory longer than T (notes: rank 28)"},
        {SSM_INIT_S4D_INV, 0.01, 1024, 32, "well conditioned"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        ssm_mf_result r;
        const char *name = ssm_init_name(cases[c].init);
        if (!run_model(cases[c].init, 32, cases[c].dt, options(SSM_MF_FINITE, cases[c].T - 1, cases[c].T), &r))
            continue;
        CHECK(r.rank == cases[c].rank, "finite %s dt %g T %zu: rank %zu (%s)", name, cases[c].dt,
              cases[c].T, r.rank, cases[c].why);
        CHECK_ABS(r.mc, (double)r.rank, 1e-9, "finite %s dt %g: sum of MF = rank", name, cases[c].dt);
        int in_range = 1;
        for (size_t t = 0; t < r.n_tau; ++t)
            in_range &= r.mf[t] >= -1e-15 && r.mf[t] <= 1 + 1e-12;
        CHECK(in_range, "finite %s dt %g: 0 <= MF <= 1", name, cases[c].dt);
        ssm_mf_result_free(&r);
    }
    /* infinite sequence: the tail beyond tau_max is below 1e-10 here */
    static const struct { ssm_init_kind init; double dt; size_t tau_max; size_t rank; } inf[] = {
        {SSM_INIT_S4D_LIN, 0.1, 2000, 20}, {SSM_INIT_S4D_LIN, 0.01, 8000, 31},
        {SSM_INIT_S4D_INV, 0.001, 60000, 32},
    };
    for (size_t c = 0; c < sizeof inf / sizeof inf[0]; ++c)
        for (size_t e = 0; e < 2; ++e) {
            ssm_mf_result r;
            const char *name = ssm_init_name(inf[c].init), *engine = ssm_mf_method_name(infinite_engines[e]);
            if (!run_model(inf[c].init, 32, inf[c].dt, options(infinite_engines[e], inf[c].tau_max, 0), &r))
                continue;
            CHECK(r.rank == inf[c].rank, "%s %s dt %g: rank %zu", engine, name, inf[c].dt, r.rank);
            CHECK_ABS(r.mc, (double)r.rank, 1e-8, "%s %s dt %g: MC = rank", engine, name, inf[c].dt);
            CHECK(r.mc <= 32 + 1e-9, "%s %s dt %g: MC <= N", engine, name, inf[c].dt);
            ssm_mf_result_free(&r);
        }
}

/* Simulation: in-sample least squares over T samples with n regressors is
 * biased up by about (n / T)(1 - MF) and scatters by about
 * 2 sqrt(MF)(1 - MF) / sqrt(T_eff), with T_eff = T / (correlation time). */
static void simulation(void)
{
    const size_t T = 200000, tau_max = 200, n = 16;
    ssm_mf_result a, s, s2, s3;
    ssm_model m;
    ssm_error err;
    ssm_model_defaults(&m);
    m.init = SSM_INIT_RANDOM;
    m.n = (long)n;
    m.rho = 0.9;
    m.seed = 3;
    ssm_mf_options oa = options(SSM_MF_ANALYTIC, tau_max, 0), os = options(SSM_MF_SIMULATE, tau_max, T);
    if (ssm_mf_model(&m, &oa, &a, &err) || ssm_mf_model(&m, &os, &s, &err)) {
        CHECK(0, "simulate runs: %s", err.message);
        return;
    }
    const double corr_time = 1.0 / (1.0 - 0.9);
    int within = 1;
    double worst = 0;
    for (size_t t = 0; t <= tau_max; ++t) {
        double mf = a.mf[t];
        double bias = (double)n / T * (1 - mf);
        double spread = 2 * sqrt(fmax(mf, (double)n / T)) * (1 - mf + (double)n / T) * sqrt(corr_time / T);
        double tol = bias + 6 * spread;
        worst = fmax(worst, fabs(s.mf[t] - mf) / tol);
        within &= fabs(s.mf[t] - mf) <= tol;
    }
    CHECK(within, "simulate within the T-derived tolerance at every delay (worst %.2f of it)", worst);
    /* the floor: beyond the memory, MF_sim ~ n / T per delay */
    double tail = 0;
    for (size_t t = 150; t <= tau_max; ++t)
        tail += s.mf[t] / (tau_max - 150 + 1);
    CHECK(tail > 0.2 * n / T && tail < 5.0 * n / T, "simulation floor %.3g ~ n/T = %.3g", tail, (double)n / T);
    CHECK(s.rank == n, "simulate: full rank %zu", s.rank);
    CHECK(s.washout >= tau_max, "automatic washout %zu >= tau_max", s.washout);

    /* reproducible: same seed, same bits; another seed, other numbers */
    ssm_mf_model(&m, &os, &s2, &err);
    CHECK(memcmp(s.mf, s2.mf, s.n_tau * sizeof *s.mf) == 0, "simulate is bit-reproducible");
    os.seed = 99;
    ssm_mf_model(&m, &os, &s3, &err);
    CHECK(memcmp(s.mf, s3.mf, s.n_tau * sizeof *s.mf) != 0, "another seed gives another sample");
    ssm_mf_result_free(&a);
    ssm_mf_result_free(&s);
    ssm_mf_result_free(&s2);
    ssm_mf_result_free(&s3);
}

static void bad_options(void)
{
    ssm_mf_result r;
    ssm_error err;
    const double complex stable[] = {0.5}, unstable[] = {1.0};
    ssm_spectrum sp = {1, (double complex *)stable}, sp1 = {1, (double complex *)unstable};
    ssm_mf_options o = options(SSM_MF_FINITE, 100, 50);
    CHECK(ssm_mf_spectrum(&sp, &o, &r, &err) == SSM_EINVAL && strcmp(err.param, "T") == 0,
          "T < tau_max refused, naming T: %s: %s", err.param, err.message);
    o = options(SSM_MF_SIMULATE, 100, 1000);
    o.washout = 10;
    CHECK(ssm_mf_spectrum(&sp, &o, &r, &err) == SSM_EINVAL && strcmp(err.param, "washout") == 0,
          "washout < tau_max refused, naming washout: %s: %s", err.param, err.message);
    for (size_t e = 0; e < 2; ++e) {
        o = options(infinite_engines[e], 10, 0);
        CHECK(ssm_mf_spectrum(&sp1, &o, &r, &err) == SSM_EINVAL && strstr(err.message, "radius"),
              "%s refuses |l| = 1: %s", ssm_mf_method_name(o.method), err.message);
    }
    o = options(SSM_MF_FINITE, 10, 100);
    ssm_status st = ssm_mf_spectrum(&sp1, &o, &r, &err);
    /* l = 1 remembers every input of the window equally: MF_T = 1/T */
    CHECK(st == SSM_OK && fabs(r.mc - 11.0 / 100) < 1e-14, "finite accepts |l| = 1 (MC %.3g = 11/T)",
          st == SSM_OK ? r.mc : NAN);
    ssm_mf_result_free(&r);
}

int main(void)
{
    notes_oracle();
    mpmath_references();
    analytic_vs_finite();
    capacity_is_rank();
    simulation();
    bad_options();
    return test_summary("test_mf");
}
