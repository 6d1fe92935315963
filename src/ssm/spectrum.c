#include "config.h"

#include "spectrum.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "rng.h"

/* Stream ids of ssm_rng, so the families that draw random numbers never
 * share a stream with the simulation engine. */
enum { STREAM_S4D_RANDOM = 1, STREAM_DISK_RANDOM = 2 };

double complex ssm_discretize_eigenvalue(double complex a, double dt, ssm_disc disc)
{
    if (disc == SSM_DISC_BILINEAR)
        return (1.0 + 0.5 * dt * a) / (1.0 - 0.5 * dt * a);
    return cexp(dt * a);
}

/* Frequencies omega > 0 of the normal part S = A + P P^T of HiPPO-LegS.
 * S = -I/2 + K with K skew-symmetric, so i K is Hermitian with real
 * eigenvalues +-omega: we take the n/2 largest (descending, as S4 orders
 * them) rather than diagonalize the non-normal A itself. */
static ssm_status legs_normal_frequencies(size_t n, double *omega, ssm_error *err)
{
    ssm_status status = SSM_OK;
    double complex *h = calloc(n * n, sizeof *h);
    double *w = malloc(n * sizeof *w);
    if (!h || !w) {
        status = ssm_fail(err, SSM_ENOMEM, "out of memory for the LegS matrix (N = %zu)", n);
        goto done;
    }
    for (size_t r = 0; r < n; ++r)
        for (size_t c = 0; c < n; ++c) {
            double k = 0.5 * sqrt((2.0 * r + 1.0) * (2.0 * c + 1.0));
            if (r > c)
                h[r * n + c] = -k * I;   /* i * K with K_rc = -k below the diagonal */
            else if (r < c)
                h[r * n + c] = k * I;
        }
    lapack_int info = LAPACKE_zheevd(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)n,
                                     (lapack_complex_double *)h, (lapack_int)n, w);
    if (info != 0) {
        status = ssm_fail(err, SSM_ENUMERIC, "zheevd failed (info %d) for the LegS normal part",
                          (int)info);
        goto done;
    }
    /* ascending: the positive half sits at the end */
    for (size_t k = 0; k < n / 2; ++k)
        omega[k] = w[n - 1 - k];
done:
    free(h);
    free(w);
    return status;
}

/* ---- the families' values (their table: family.h) ---------------------------- */

/* Continuous families: A_n into a, *count of them (N/2 for the families
 * with implicit conjugates, else N).  Discrete ones: the N lambda_k. */
typedef ssm_status (*fill_fn)(const ssm_model *m, double complex *out, size_t *count, ssm_error *err);

static ssm_status fill_s4d_inv(const ssm_model *m, double complex *a, size_t *count, ssm_error *err)
{
    (void)err;
    const size_t n = (size_t)m->n, half = n / 2;
    const double re = -m->real_part, s = m->imag_scale;
    for (size_t k = 0; k < half; ++k)
        a[k] = re + I * s * ((double)n / M_PI) * ((double)n / (2.0 * k + 1.0) - 1.0);
    *count = half;
    return SSM_OK;
}

static ssm_status fill_s4d_lin(const ssm_model *m, double complex *a, size_t *count, ssm_error *err)
{
    (void)err;
    const size_t half = (size_t)m->n / 2;
    const double re = -m->real_part, s = m->imag_scale;
    for (size_t k = 0; k < half; ++k)
        a[k] = re + I * s * M_PI * (double)k;
    *count = half;
    return SSM_OK;
}

static ssm_status fill_s4d_random(const ssm_model *m, double complex *a, size_t *count, ssm_error *err)
{
    (void)err;
    const size_t n = (size_t)m->n, half = n / 2;
    const double re = -m->real_part, s = m->imag_scale;
    ssm_rng rng;
    ssm_rng_init(&rng, m->seed, (uint64_t)n, STREAM_S4D_RANDOM);
    for (size_t k = 0; k < half; ++k)
        a[k] = re + I * s * exp(ssm_rng_normal(&rng));
    *count = half;
    return SSM_OK;
}

static ssm_status fill_s4d_legs(const ssm_model *m, double complex *a, size_t *count, ssm_error *err)
{
    const size_t n = (size_t)m->n, half = n / 2;
    const double re = -m->real_part, s = m->imag_scale;
    double *omega = malloc((half ? half : 1) * sizeof *omega);
    if (!omega)
        return ssm_fail(err, SSM_ENOMEM, "out of memory");
    ssm_status status = legs_normal_frequencies(n, omega, err);
    for (size_t k = 0; status == SSM_OK && k < half; ++k)
        a[k] = re + I * s * omega[k];
    free(omega);
    *count = half;
    return status;
}

/* s4d-real and legs-dense: the eigenvalues of HiPPO-LegS, -1, ..., -N */
static ssm_status fill_legs_real(const ssm_model *m, double complex *a, size_t *count, ssm_error *err)
{
    (void)err;
    const size_t n = (size_t)m->n;
    for (size_t k = 0; k < n; ++k)
        a[k] = -(double)(k + 1);
    *count = n;
    return SSM_OK;
}

static ssm_status fill_lin(const ssm_model *m, double complex *lambda, size_t *count, ssm_error *err)
{
    (void)err;
    const size_t n = (size_t)m->n;
    for (size_t k = 0; k < n; ++k)
        lambda[k] = m->rho * (double)(k + 1) / (double)n;
    *count = n;
    return SSM_OK;
}

static ssm_status fill_step(const ssm_model *m, double complex *lambda, size_t *count, ssm_error *err)
{
    (void)err;
    const size_t n = (size_t)m->n, c = (size_t)m->groups, p = n / c;
    for (size_t i = 0; i < p; ++i)
        for (size_t j = 0; j < c; ++j) {
            double radius = m->rho * (double)(i + 1) / (double)p;
            /* exact conjugates for j and c - j: build from the angle of
             * the smaller index so the set is closed bit for bit */
            size_t jj = (j <= c - j) ? j : c - j;
            double complex z = radius * cexp(I * 2.0 * M_PI * (double)jj / (double)c);
            lambda[i * c + j] = (jj == j) ? z : conj(z);
        }
    *count = n;
    return SSM_OK;
}

static ssm_status fill_random(const ssm_model *m, double complex *lambda, size_t *count, ssm_error *err)
{
    (void)err;
    const size_t n = (size_t)m->n;
    ssm_rng rng;
    ssm_rng_init(&rng, m->seed, (uint64_t)n, STREAM_DISK_RANDOM);
    size_t k = 0;
    for (; k + 1 < n; k += 2) {
        double radius = m->rho * sqrt(ssm_rng_uniform(&rng));
        double angle = M_PI * ssm_rng_uniform(&rng);
        lambda[k] = radius * cexp(I * angle);
        lambda[k + 1] = conj(lambda[k]);
    }
    if (k < n)
        lambda[k] = m->rho * (2.0 * ssm_rng_uniform(&rng) - 1.0);
    *count = n;
    return SSM_OK;
}

#define SSM_FAMILY_FILL(kind, name, continuous, even_n, fill, help) [kind] = fill,
static const fill_fn fills[SSM_INIT_COUNT] = {SSM_FAMILIES(SSM_FAMILY_FILL)};
#undef SSM_FAMILY_FILL

ssm_status ssm_continuous_eigenvalues(const ssm_model *m, double complex *a, size_t *count,
                                      ssm_error *err)
{
    ssm_status status = ssm_model_validate(m, err);
    if (status)
        return status;
    if (!ssm_init_is_continuous(m->init))
        return ssm_fail_param(err, SSM_EINVAL, "init", "%s is not a continuous-time family",
                              ssm_init_name(m->init));
    return fills[m->init](m, a, count, err);
}

static ssm_status spectrum_alloc(ssm_spectrum *out, size_t n, ssm_error *err)
{
    out->n = n;
    out->lambda = malloc((n ? n : 1) * sizeof *out->lambda);
    if (!out->lambda)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for %zu eigenvalues", n);
    return SSM_OK;
}

ssm_status ssm_spectrum_build(const ssm_model *m, ssm_spectrum *out, ssm_error *err)
{
    out->n = 0;
    out->lambda = NULL;
    ssm_status status = ssm_model_validate(m, err);
    if (status)
        return status;
    if (m->init == SSM_INIT_FILE)
        return ssm_spectrum_read_csv(m->file, out, err);
    status = spectrum_alloc(out, (size_t)m->n, err);
    if (status)
        return status;
    size_t count = 0;
    if (!ssm_init_is_continuous(m->init))
        return fills[m->init](m, out->lambda, &count, err);
    double complex *a = malloc((size_t)m->n * sizeof *a);
    if (!a) {
        ssm_spectrum_free(out);
        return ssm_fail(err, SSM_ENOMEM, "out of memory");
    }
    status = ssm_continuous_eigenvalues(m, a, &count, err);
    if (status == SSM_OK) {
        if (count == (size_t)m->n) {
            for (size_t k = 0; k < count; ++k)
                out->lambda[k] = ssm_discretize_eigenvalue(a[k], m->dt, m->disc);
        } else {
            for (size_t k = 0; k < count; ++k) {
                out->lambda[2 * k] = ssm_discretize_eigenvalue(a[k], m->dt, m->disc);
                out->lambda[2 * k + 1] = conj(out->lambda[2 * k]);
            }
        }
    }
    free(a);
    if (status)
        ssm_spectrum_free(out);
    return status;
}

void ssm_spectrum_free(ssm_spectrum *spectrum)
{
    if (!spectrum)
        return;
    free(spectrum->lambda);
    spectrum->lambda = NULL;
    spectrum->n = 0;
}

double ssm_spectrum_radius(const ssm_spectrum *spectrum)
{
    double r = 0;
    for (size_t k = 0; k < spectrum->n; ++k)
        if (cabs(spectrum->lambda[k]) > r)
            r = cabs(spectrum->lambda[k]);
    return r;
}

/* ---- CSV reader ---------------------------------------------------------- */

#define CSV_MAX_FIELDS 16

/* Splits line in place at commas; returns the number of fields. */
static int split_fields(char *line, char **field)
{
    int count = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            ++p;
        if (count == CSV_MAX_FIELDS)
            return count + 1;
        field[count++] = p;
        char *comma = strchr(p, ',');
        char *end = comma ? comma : p + strlen(p);
        while (end > p && isspace((unsigned char)end[-1]))
            --end;
        if (!comma) {
            *end = '\0';
            return count;
        }
        *end = '\0';
        p = comma + 1;
    }
}

static int parse_double_field(const char *s, double *value)
{
    char *end;
    errno = 0;
    *value = strtod(s, &end);
    return *s != '\0' && *end == '\0' && errno != ERANGE && isfinite(*value);
}

static int is_blank_or_comment(const char *line)
{
    while (isspace((unsigned char)*line))
        ++line;
    return *line == '\0' || *line == '#';
}

/* One line of fp into buf (at most SSM_CSV_MAX_LINE bytes, the newline and
 * a trailing '\r' dropped), counting the bytes read in *total.  Returns 1
 * for a line, 0 at the end of the file, -1 for a line over the cap, -2 for
 * a NUL byte (not a text file), -3 for a read error.  Nothing grows with
 * the input: /dev/zero is refused after one line's worth. */
static int read_line(FILE *fp, char *buf, size_t *total)
{
    size_t len = 0;
    int c;
    while ((c = getc_unlocked(fp)) != EOF) {
        ++*total;
        if (c == '\n')
            break;
        if (c == '\0')
            return -2;
        if (len == SSM_CSV_MAX_LINE)
            return -1;
        buf[len++] = (char)c;
    }
    if (c == EOF && ferror(fp))
        return -3;
    if (c == EOF && len == 0)
        return 0;
    if (len > 0 && buf[len - 1] == '\r')
        --len;
    buf[len] = '\0';
    return 1;
}

ssm_status ssm_spectrum_read_csv(const char *path, ssm_spectrum *out, ssm_error *err)
{
    ssm_status status = SSM_OK;
    FILE *fp = NULL;
    char line[SSM_CSV_MAX_LINE + 1];
    size_t capacity = 0, count = 0, total = 0;
    long line_no = 0;
    int col_re = 0, col_im = 1, seen_first = 0, got;
    double complex *values = NULL;

    out->n = 0;
    out->lambda = NULL;
    fp = fopen(path, "r");
    if (!fp) {
        status = ssm_fail_param(err, SSM_EIO, "file", "cannot open '%s': %s", path, strerror(errno));
        goto done;
    }
    while ((got = read_line(fp, line, &total)) == 1) {
        char *field[CSV_MAX_FIELDS + 1];
        ++line_no;
        if (total > SSM_CSV_MAX_BYTES) {
            status = ssm_fail_param(err, SSM_EIO, "file", "'%s' is larger than %d MiB, the cap of an eigenvalue file",
                              path, (int)(SSM_CSV_MAX_BYTES >> 20));
            goto done;
        }
        if (is_blank_or_comment(line))
            continue;
        int nf = split_fields(line, field);
        if (!seen_first) {
            seen_first = 1;
            double probe;
            if (!parse_double_field(field[0], &probe)) {
                /* a header: locate the re and im columns by name */
                col_re = col_im = -1;
                for (int f = 0; f < nf && f < CSV_MAX_FIELDS; ++f) {
                    if (strcmp(field[f], "re") == 0)
                        col_re = f;
                    else if (strcmp(field[f], "im") == 0)
                        col_im = f;
                }
                if (col_re < 0 || col_im < 0) {
                    status = ssm_fail(err, SSM_EIO,
                                      "%s:%ld: header must name columns 're' and 'im'", path, line_no);
                    goto done;
                }
                continue;
            }
        }
        int need = (col_re > col_im ? col_re : col_im) + 1;
        double re, im;
        if (nf < need) {
            status = ssm_fail(err, SSM_EIO, "%s:%ld: expected at least %d comma-separated fields, got %d",
                              path, line_no, need, nf);
            goto done;
        }
        if (!parse_double_field(field[col_re], &re) || !parse_double_field(field[col_im], &im)) {
            status = ssm_fail(err, SSM_EIO, "%s:%ld: eigenvalue is not a pair of finite numbers",
                              path, line_no);
            goto done;
        }
        if (count == SSM_MAX_N) {
            status = ssm_fail_param(err, SSM_EIO, "file", "'%s' holds more than %ld eigenvalues, the limit of N",
                              path, SSM_MAX_N);
            goto done;
        }
        if (count == capacity) {
            size_t grown = capacity ? 2 * capacity : 64;
            double complex *bigger = realloc(values, grown * sizeof *bigger);
            if (!bigger) {
                status = ssm_fail(err, SSM_ENOMEM, "out of memory reading '%s'", path);
                goto done;
            }
            values = bigger;
            capacity = grown;
        }
        values[count++] = CMPLX(re, im);
    }
    if (got == -1) {
        status = ssm_fail(err, SSM_EIO, "%s:%ld: line longer than %d bytes, the cap of a line of eigenvalues",
                          path, line_no + 1, SSM_CSV_MAX_LINE);
        goto done;
    }
    if (got == -2) {
        status = ssm_fail(err, SSM_EIO, "%s:%ld: NUL byte: not a text file of eigenvalues", path, line_no + 1);
        goto done;
    }
    if (got == -3) {
        status = ssm_fail_param(err, SSM_EIO, "file", "error reading '%s': %s", path, strerror(errno));
        goto done;
    }
    if (count == 0) {
        status = ssm_fail_param(err, SSM_EIO, "file", "'%s' holds no eigenvalues", path);
        goto done;
    }
    out->n = count;
    out->lambda = values;
    values = NULL;
done:
    if (fp)
        fclose(fp);
    free(values);
    return status;
}

ssm_status ssm_model_state_size(const ssm_model *m, size_t *n, ssm_error *err)
{
    *n = 0;
    if (m->init != SSM_INIT_FILE) {
        ssm_status st = ssm_model_validate(m, err);
        if (st == SSM_OK)
            *n = (size_t)m->n;
        return st;
    }
    ssm_spectrum sp;
    ssm_status st = ssm_spectrum_build(m, &sp, err);
    if (st == SSM_OK)
        *n = sp.n;
    ssm_spectrum_free(&sp);
    return st;
}

/* ---- real form ----------------------------------------------------------- */

static int by_re_then_im(const void *pa, const void *pb)
{
    double complex a = *(const double complex *)pa, b = *(const double complex *)pb;
    if (creal(a) != creal(b))
        return creal(a) < creal(b) ? -1 : 1;
    if (cimag(a) != cimag(b))
        return cimag(a) < cimag(b) ? -1 : 1;
    return 0;
}

ssm_status ssm_modes_from_spectrum(const ssm_spectrum *s, ssm_modes *out, ssm_error *err)
{
    ssm_status status = SSM_OK;
    size_t n_upper = 0, n_lower = 0, n_real = 0;
    double complex *upper = malloc((s->n ? s->n : 1) * sizeof *upper);
    double complex *lower = malloc((s->n ? s->n : 1) * sizeof *lower);
    out->real = malloc((s->n ? s->n : 1) * sizeof *out->real);
    out->pair = NULL;
    out->n_real = out->n_pair = 0;
    if (!upper || !lower || !out->real) {
        status = ssm_fail(err, SSM_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < s->n; ++k) {
        double complex z = s->lambda[k];
        /* an imaginary part at the rounding level of |z| is zero: S4D-Lin
         * at dt = 0.1 puts exp(dt a) at angle pi, where sin(pi) = 1e-16 */
        if (fabs(cimag(z)) <= 16 * DBL_EPSILON * cabs(z))
            z = creal(z);
        if (cimag(z) > 0)
            upper[n_upper++] = z;
        else if (cimag(z) < 0)
            lower[n_lower++] = conj(z);
        else
            out->real[n_real++] = creal(z);
    }
    if (n_upper != n_lower) {
        status = ssm_fail(err, SSM_EINVAL,
                          "eigenvalues are not closed under conjugation (%zu with Im > 0, %zu with "
                          "Im < 0): not a real system",
                          n_upper, n_lower);
        goto done;
    }
    qsort(upper, n_upper, sizeof *upper, by_re_then_im);
    qsort(lower, n_lower, sizeof *lower, by_re_then_im);
    for (size_t k = 0; k < n_upper; ++k) {
        double scale = fmax(1.0, cabs(upper[k]));
        if (cabs(upper[k] - lower[k]) > 1e-9 * scale) {
            status = ssm_fail(err, SSM_EINVAL,
                              "eigenvalue %.17g%+.17gi has no conjugate partner: not a real system",
                              creal(upper[k]), cimag(upper[k]));
            goto done;
        }
    }
    out->n_real = n_real;
    out->n_pair = n_upper;
    out->pair = upper;
    upper = NULL;
done:
    free(upper);
    free(lower);
    if (status)
        ssm_modes_free(out);
    return status;
}

void ssm_modes_free(ssm_modes *modes)
{
    if (!modes)
        return;
    free(modes->real);
    free(modes->pair);
    modes->real = NULL;
    modes->pair = NULL;
    modes->n_real = modes->n_pair = 0;
}
