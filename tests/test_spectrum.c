/* Eigenvalue configurations against independent computations: numpy's
 * values in tests/ref, LAPACK's non-symmetric eigensolver for S4D-LegS,
 * and the statistics of the random families. */
#include "config.h"

#include <float.h>
#include <string.h>
#include <unistd.h>

#include <lapacke.h>

#include "refdata.h"
#include "ssm/spectrum.h"
#include "testutil.h"

static ssm_model model_of(ssm_init_kind init, long n, double dt)
{
    ssm_model m;
    ssm_model_defaults(&m);
    m.init = init;
    m.n = n;
    m.dt = dt;
    return m;
}

static double max_rel_diff(const double complex *a, const double complex *b, size_t n)
{
    double worst = 0;
    for (size_t k = 0; k < n; ++k)
        worst = fmax(worst, cabs(a[k] - b[k]) / fmax(cabs(b[k]), 1e-300));
    return worst;
}

/* numpy computed these spectra from the same formulas (gen_reference.py) */
static void against_numpy(void)
{
    static const struct { const char *ref; ssm_init_kind init; long n; double dt; } cases[] = {
        {"s4d-inv-32-0.01", SSM_INIT_S4D_INV, 32, 0.01},
        {"s4d-inv-32-0.001", SSM_INIT_S4D_INV, 32, 0.001},
        {"s4d-real-8-0.01", SSM_INIT_S4D_REAL, 8, 0.01},
        {"s4d-real-6-0.1", SSM_INIT_S4D_REAL, 6, 0.1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        ref_case ref;
        ssm_spectrum sp;
        ssm_error err;
        ssm_model m = model_of(cases[c].init, cases[c].n, cases[c].dt);
        CHECK(ref_load(ref_path("mf_reference.csv"), cases[c].ref, &ref) == 0, "load %s", cases[c].ref);
        CHECK(ssm_spectrum_build(&m, &sp, &err) == SSM_OK, "build %s", cases[c].ref);
        CHECK(sp.n == ref.n_eig, "%s has %zu eigenvalues", cases[c].ref, sp.n);
        if (sp.n == ref.n_eig)
            CHECK(max_rel_diff(sp.lambda, ref.eig, sp.n) <= 4 * DBL_EPSILON,
                  "%s equals numpy to 4 ulp (%.2g)", cases[c].ref, max_rel_diff(sp.lambda, ref.eig, sp.n));
        ssm_spectrum_free(&sp);
    }
}

/* S4D-LegS: -1/2 + i omega must be eigenvalues of the normal part
 * S = A + P P^T of HiPPO-LegS, computed here by dgeev on S itself. */
static void legs_normal_part(void)
{
    const size_t n = 16;
    double s[16 * 16], wr[16], wi[16];
    for (size_t r = 0; r < n; ++r)
        for (size_t c = 0; c < n; ++c) {
            double a = r > c ? -sqrt(2.0 * r + 1) * sqrt(2.0 * c + 1) : r == c ? -(double)(r + 1) : 0;
            s[r * n + c] = a + sqrt(r + 0.5) * sqrt(c + 0.5);
        }
    CHECK(LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', (lapack_int)n, s, (lapack_int)n, wr, wi, NULL, 1,
                        NULL, 1) == 0, "dgeev on the LegS normal part");
    ssm_model m = model_of(SSM_INIT_S4D_LEGS, (long)n, 0.01);
    double complex a[16];
    size_t count = 0;
    ssm_error err;
    CHECK(ssm_continuous_eigenvalues(&m, a, &count, &err) == SSM_OK && count == n / 2,
          "s4d-legs gives N/2 modes");
    double worst = 0, worst_re = 0;
    for (size_t k = 0; k < count; ++k) {
        double best = INFINITY;
        for (size_t j = 0; j < n; ++j)
            best = fmin(best, fabs(wi[j] - cimag(a[k])));
        worst = fmax(worst, best / cimag(a[k]));
        worst_re = fmax(worst_re, fabs(creal(a[k]) + 0.5));
    }
    for (size_t j = 0; j < n; ++j)
        worst_re = fmax(worst_re, fabs(wr[j] + 0.5));
    CHECK(worst < 1e-12, "s4d-legs frequencies are dgeev's to %.2g", worst);
    CHECK(worst_re < 1e-12, "normal part has real part -1/2 (%.2g)", worst_re);
    for (size_t k = 1; k < count; ++k)
        CHECK(cimag(a[k]) < cimag(a[k - 1]), "s4d-legs frequencies descend (%zu)", k);
}

static void continuous_formulas(void)
{
    ssm_model m = model_of(SSM_INIT_S4D_LIN, 8, 0.01);
    double complex a[8];
    size_t count;
    ssm_error err;
    m.real_part = 0.25;
    m.imag_scale = 2.0;
    ssm_continuous_eigenvalues(&m, a, &count, &err);
    CHECK(count == 4 && creal(a[3]) == -0.25 && fabs(cimag(a[3]) - 2.0 * M_PI * 3) < 1e-14,
          "s4d-lin uses real_part and imag_scale");
    m.init = SSM_INIT_S4D_INV;
    m.real_part = 0.5;
    m.imag_scale = 1.0;
    ssm_continuous_eigenvalues(&m, a, &count, &err);
    CHECK(fabs(cimag(a[0]) - 8.0 / M_PI * 7.0) < 1e-13, "s4d-inv n = 0: (N/pi)(N - 1)");
    /* bilinear is the (1,1) Pade approximant of exp: error ~ (dt a)^3 / 12 */
    double complex z = -0.5 + 3.0 * I;
    for (double dt = 0.1; dt >= 1e-3; dt /= 10) {
        double complex zoh = ssm_discretize_eigenvalue(z, dt, SSM_DISC_ZOH);
        double complex bil = ssm_discretize_eigenvalue(z, dt, SSM_DISC_BILINEAR);
        double bound = pow(cabs(z) * dt, 3) / 12 * 1.5 + 1e-15;
        CHECK(cabs(zoh - bil) <= bound, "bilinear vs zoh at dt %g: %.3g <= %.3g", dt,
              cabs(zoh - bil), bound);
        CHECK(cabs(bil) < 1, "bilinear is stable at dt %g", dt);
    }
}

static void discrete_families(void)
{
    ssm_spectrum sp;
    ssm_error err;
    ssm_model m = model_of(SSM_INIT_LIN, 10, 0.01);
    m.rho = 0.9;
    CHECK(ssm_spectrum_build(&m, &sp, &err) == SSM_OK, "lin builds");
    int ok = 1;
    for (size_t k = 0; k < sp.n; ++k)
        ok &= fabs(creal(sp.lambda[k]) - 0.9 * (k + 1) / 10.0) < 1e-16 && cimag(sp.lambda[k]) == 0;
    CHECK(ok, "lin: rho k / N");
    ssm_spectrum_free(&sp);

    m.init = SSM_INIT_STEP;
    m.n = 12;
    m.groups = 3;
    CHECK(ssm_spectrum_build(&m, &sp, &err) == SSM_OK, "step builds");
    ok = 1;
    for (size_t i = 0; i < 4; ++i)
        for (size_t j = 0; j < 3; ++j)
            ok &= fabs(cabs(sp.lambda[i * 3 + j]) - 0.9 * (i + 1) / 4.0) < 1e-15;
    CHECK(ok, "step: N/c radii rho i / p, c members each");
    ssm_modes modes;
    CHECK(ssm_modes_from_spectrum(&sp, &modes, &err) == SSM_OK && modes.n_real == 4 &&
              modes.n_pair == 4, "step with c = 3: one real and one pair per radius");
    ssm_modes_free(&modes);
    ssm_spectrum_free(&sp);

    /* random: uniform in the disk, so E|l|^2 = rho^2 / 2 and E Re = 0 */
    m.init = SSM_INIT_RANDOM;
    m.n = 20001;
    m.seed = 5;
    CHECK(ssm_spectrum_build(&m, &sp, &err) == SSM_OK, "random builds");
    double r2 = 0, inside = 1;
    for (size_t k = 0; k < sp.n; ++k) {
        r2 += cabs(sp.lambda[k]) * cabs(sp.lambda[k]);
        inside = inside && cabs(sp.lambda[k]) < m.rho;
    }
    CHECK(inside, "random stays inside the rho-disk");
    CHECK_ABS(r2 / sp.n, 0.81 / 2, 6 * 0.81 / sqrt(12.0 * sp.n / 2), "random: mean |l|^2 = rho^2/2");
    CHECK(ssm_modes_from_spectrum(&sp, &modes, &err) == SSM_OK && modes.n_real == 1,
          "random with odd N: conjugate pairs plus one real");
    ssm_modes_free(&modes);
    ssm_spectrum sp2;
    ssm_spectrum_build(&m, &sp2, &err);
    CHECK(memcmp(sp.lambda, sp2.lambda, sp.n * sizeof *sp.lambda) == 0, "random: same seed, same set");
    ssm_spectrum_free(&sp2);
    m.seed = 6;
    ssm_spectrum_build(&m, &sp2, &err);
    CHECK(memcmp(sp.lambda, sp2.lambda, sp.n * sizeof *sp.lambda) != 0, "random: new seed, new set");
    ssm_spectrum_free(&sp2);
    ssm_spectrum_free(&sp);

    /* s4d-random: Im A = exp(eps), eps standard normal */
    m = model_of(SSM_INIT_S4D_RANDOM, 40000, 0.01);
    double complex *a = malloc(40000 * sizeof *a);
    size_t count;
    ssm_continuous_eigenvalues(&m, a, &count, &err);
    double mean = 0, var = 0;
    for (size_t k = 0; k < count; ++k)
        mean += log(cimag(a[k])) / count;
    for (size_t k = 0; k < count; ++k)
        var += pow(log(cimag(a[k])) - mean, 2) / count;
    CHECK_ABS(mean, 0, 6 / sqrt(count), "s4d-random: log Im A has mean 0");
    CHECK_ABS(var, 1, 6 * sqrt(2.0 / count), "s4d-random: log Im A has variance 1");
    free(a);
}

static void real_form(void)
{
    ssm_spectrum sp;
    ssm_modes modes;
    ssm_error err;
    ssm_model m = model_of(SSM_INIT_S4D_LIN, 32, 0.01);
    ssm_spectrum_build(&m, &sp, &err);
    CHECK(ssm_modes_from_spectrum(&sp, &modes, &err) == SSM_OK && modes.n_real == 2 &&
              modes.n_pair == 15, "s4d-lin: the n = 0 mode is real, twice");
    ssm_modes_free(&modes);
    ssm_spectrum_free(&sp);

    m.dt = 0.1;   /* n = 10 sits at angle pi: real to rounding */
    ssm_spectrum_build(&m, &sp, &err);
    CHECK(ssm_modes_from_spectrum(&sp, &modes, &err) == SSM_OK && modes.n_real == 4,
          "s4d-lin dt 0.1: the angle-pi mode counts as real (%zu real)", modes.n_real);
    ssm_modes_free(&modes);
    ssm_spectrum_free(&sp);

    double complex open_set[3] = {0.5, 0.3 + 0.2 * I, 0.3 - 0.25 * I};
    ssm_spectrum s = {3, open_set};
    CHECK(ssm_modes_from_spectrum(&s, &modes, &err) == SSM_EINVAL &&
              strstr(err.message, "conjugate") != NULL,
          "a set without conjugates is refused: %s", err.message);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
}

/* The reader's caps hold while reading: the line, the eigenvalue count
 * (SSM_MAX_N, the limit of N) and the file size, each named. */
static void caps(const char *path)
{
    ssm_spectrum sp;
    ssm_error err;
    FILE *fp = fopen(path, "w");
    for (long k = 0; k < SSM_MAX_N; ++k)
        fputs("0.5,0\n", fp);
    fclose(fp);
    CHECK(ssm_spectrum_read_csv(path, &sp, &err) == SSM_OK && sp.n == (size_t)SSM_MAX_N,
          "%ld eigenvalues (the limit of N) are read", SSM_MAX_N);
    ssm_spectrum_free(&sp);
    fp = fopen(path, "a");
    fputs("0.5,0\n", fp);
    fclose(fp);
    CHECK(ssm_spectrum_read_csv(path, &sp, &err) == SSM_EIO && strstr(err.message, "more than 65536 eigenvalues") &&
              sp.lambda == NULL,
          "one more is refused: %s", err.message);

    fp = fopen(path, "w");
    fputs("0.5,0\n", fp);
    for (int k = 0; k <= SSM_CSV_MAX_LINE; ++k)
        fputc(k % 2 ? ',' : '1', fp);
    fclose(fp);
    CHECK(ssm_spectrum_read_csv(path, &sp, &err) == SSM_EIO && strstr(err.message, ":2: line longer than 4096 bytes"),
          "a line over the cap: %s", err.message);
    fp = fopen(path, "w");
    fputs("0.5,0\n0.25", fp);
    fwrite("\0\0\0", 1, 3, fp);
    fclose(fp);
    CHECK(ssm_spectrum_read_csv(path, &sp, &err) == SSM_EIO && strstr(err.message, ":2: NUL byte"),
          "a NUL byte: %s", err.message);
    CHECK(ssm_spectrum_read_csv("/dev/zero", &sp, &err) == SSM_EIO && strstr(err.message, "/dev/zero:1: NUL byte"),
          "/dev/zero answers at once: %s", err.message);

    /* comments alone must not read on for ever */
    fp = fopen(path, "w");
    char comment[1024];
    memset(comment, '#', sizeof comment - 1);
    comment[sizeof comment - 2] = '\n';
    comment[sizeof comment - 1] = '\0';
    for (size_t bytes = 0; bytes <= SSM_CSV_MAX_BYTES; bytes += sizeof comment - 1)
        fputs(comment, fp);
    fclose(fp);
    CHECK(ssm_spectrum_read_csv(path, &sp, &err) == SSM_EIO && strstr(err.message, "larger than 64 MiB"),
          "a file over the size cap: %s", err.message);
}

static void csv_files(void)
{
    char dir[] = "/tmp/ssm-test-spectrum.XXXXXX";
    char path[256];
    ssm_spectrum sp;
    ssm_error err;
    CHECK(mkdtemp(dir) != NULL, "temporary directory");
    snprintf(path, sizeof path, "%s/eig.csv", dir);

    write_file(path, "index,re,im,abs\n0,0.5,0.25,0.559\n1,0.5,-0.25,0.559\n\n# comment\n2,-0.1,0,0.1\n");
    CHECK(ssm_spectrum_read_csv(path, &sp, &err) == SSM_OK && sp.n == 3 &&
              sp.lambda[1] == CMPLX(0.5, -0.25) && sp.lambda[2] == -0.1,
          "reads the output format of 'ssmsweep eig'");
    ssm_spectrum_free(&sp);

    write_file(path, "0.9,0\r\n0.5,0.1\r\n0.5,-0.1\r\n");
    CHECK(ssm_spectrum_read_csv(path, &sp, &err) == SSM_OK && sp.n == 3, "reads bare re,im with CRLF");
    ssm_spectrum_free(&sp);

    static const struct { const char *text, *needle; } bad[] = {
        {"re,im\n0.5,abc\n", ":2:"},
        {"a,b\n0.5,0.1\n", "header"},
        {"0.5\n", "fields"},
        {"# nothing\n\n", "no eigenvalues"},
        {"0.5,nan\n", ":1:"},
        {"0.5,1e999\n", ":1:"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; ++k) {
        write_file(path, bad[k].text);
        ssm_status st = ssm_spectrum_read_csv(path, &sp, &err);
        CHECK(st == SSM_EIO && strstr(err.message, bad[k].needle) != NULL,
              "bad file %zu refused: %s", k, err.message);
    }
    caps(path);
    unlink(path);
    CHECK(ssm_spectrum_read_csv(path, &sp, &err) == SSM_EIO && strstr(err.message, "cannot open"),
          "missing file: %s", err.message);
    rmdir(dir);
}

static void validation(void)
{
    static const struct { ssm_init_kind init; long n; double dt, rho; long groups; const char *param; } bad[] = {
        {SSM_INIT_S4D_INV, 0, 0.01, 0.5, 1, "N"},
        {SSM_INIT_S4D_INV, 7, 0.01, 0.5, 1, "N"},
        {SSM_INIT_S4D_LIN, 8, 0.0, 0.5, 1, "dt"},
        {SSM_INIT_S4D_LIN, 8, -1.0, 0.5, 1, "dt"},
        {SSM_INIT_S4D_LIN, 8, NAN, 0.5, 1, "dt"},
        {SSM_INIT_LIN, 8, 0.01, 1.0, 1, "rho"},
        {SSM_INIT_RANDOM, 8, 0.01, INFINITY, 1, "rho"},
        {SSM_INIT_STEP, 8, 0.01, 0.5, 3, "groups"},
        {SSM_INIT_STEP, 8, 0.01, 0.5, 0, "groups"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; ++k) {
        ssm_model m = model_of(bad[k].init, bad[k].n, bad[k].dt);
        ssm_error err;
        m.rho = bad[k].rho;
        m.groups = bad[k].groups;
        ssm_status st = ssm_model_validate(&m, &err);
        CHECK(st == SSM_EINVAL && strcmp(err.param, bad[k].param) == 0, "invalid model %zu names %s: %s: %s", k,
              bad[k].param, err.param, err.message);
    }
}

int main(void)
{
    against_numpy();
    legs_normal_part();
    continuous_formulas();
    discrete_families();
    real_form();
    csv_files();
    validation();
    return test_summary("test_spectrum");
}
