#include "config.h"

#include "diagonal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double complex ssm_power(double complex lambda, size_t tau)
{
    if (tau == 0)
        return 1.0;
    if (cimag(lambda) == 0) {
        double r = creal(lambda), m = pow(fabs(r), (double)tau);
        return (r < 0 && (tau & 1)) ? -m : m;
    }
    double m = pow(cabs(lambda), (double)tau), angle = carg(lambda) * (double)tau;
    return CMPLX(m * cos(angle), m * sin(angle));
}

static size_t mode_count(const ssm_modes *m)
{
    return m->n_real + m->n_pair;
}

static double complex mode_value(const ssm_modes *m, size_t k)
{
    return k < m->n_real ? m->real[k] : m->pair[k - m->n_real];
}

/* Each block starts from an exact power and multiplies by a tabulated
 * lambda^j: two roundings per entry, whatever tau. */
static ssm_status diagonal_responses(void *ctx, size_t tau0, size_t count, double *out,
                                     size_t ld, ssm_error *err)
{
    ssm_diagonal *d = ctx;
    const ssm_modes *m = d->modes;
    if (count > d->table_len)
        return ssm_fail(err, SSM_EINVAL, "internal: response block %zu exceeds table %zu",
                        count, d->table_len);
    for (size_t k = 0; k < mode_count(m); ++k) {
        double complex base = ssm_power(mode_value(m, k), tau0);
        const double complex *pw = d->table + k * d->table_len;
        if (k < m->n_real) {
            double *row = out + k * ld;
            for (size_t j = 0; j < count; ++j)
                row[j] = creal(base) * creal(pw[j]);
        } else {
            size_t p = k - m->n_real;
            double *re = out + (m->n_real + 2 * p) * ld, *im = re + ld;
            for (size_t j = 0; j < count; ++j) {
                double complex v = base * pw[j];
                re[j] = creal(v);
                im[j] = cimag(v);
            }
        }
    }
    return SSM_OK;
}

/* Sum over tau of products of Re/Im parts of lambda_i^tau and lambda_j^tau,
 * from g1 = 1/(1 - l_i l_j) and g2 = 1/(1 - l_i conj l_j):
 *   Re Re = Re(g1 + g2)/2   Im Im = Re(g2 - g1)/2
 *   Re Im = Im(g1 - g2)/2   Im Re = Im(g1 + g2)/2 */
static ssm_status diagonal_gram(void *ctx, double *s, ssm_error *err)
{
    (void)err;
    ssm_diagonal *d = ctx;
    const ssm_modes *m = d->modes;
    const size_t nm = mode_count(m), n = m->n_real + 2 * m->n_pair;
    for (size_t a = 0; a < nm; ++a) {
        double complex la = mode_value(m, a);
        size_t ia = a < m->n_real ? a : m->n_real + 2 * (a - m->n_real);
        int a_pair = a >= m->n_real;
        for (size_t b = a; b < nm; ++b) {
            double complex lb = mode_value(m, b);
            size_t ib = b < m->n_real ? b : m->n_real + 2 * (b - m->n_real);
            int b_pair = b >= m->n_real;
            double complex g1 = 1.0 / (1.0 - la * lb), g2 = 1.0 / (1.0 - la * conj(lb));
            s[ia * n + ib] = 0.5 * creal(g1 + g2);
            if (b_pair)
                s[ia * n + ib + 1] = 0.5 * cimag(g1 - g2);
            if (a_pair) {
                s[(ia + 1) * n + ib] = 0.5 * cimag(g1 + g2);
                if (b_pair)
                    s[(ia + 1) * n + ib + 1] = 0.5 * creal(g2 - g1);
            }
        }
    }
    /* the a == b block wrote one entry below the diagonal; mirror the
     * upper triangle so callers may read either */
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < i; ++j)
            s[i * n + j] = s[j * n + i];
    return SSM_OK;
}

static void diagonal_reset(void *ctx)
{
    ssm_diagonal *d = ctx;
    memset(d->x_real, 0, (d->modes->n_real ? d->modes->n_real : 1) * sizeof *d->x_real);
    memset(d->x_pair, 0, (d->modes->n_pair ? d->modes->n_pair : 1) * sizeof *d->x_pair);
}

static void diagonal_simulate(void *ctx, const double *u, size_t count, double *z, size_t ldz)
{
    ssm_diagonal *d = ctx;
    const ssm_modes *m = d->modes;
    for (size_t t = 0; t < count; ++t) {
        double *row = z + t * ldz;
        for (size_t k = 0; k < m->n_real; ++k) {
            d->x_real[k] = m->real[k] * d->x_real[k] + u[t];
            row[k] = d->x_real[k];
        }
        double *pr = row + m->n_real;
        for (size_t p = 0; p < m->n_pair; ++p) {
            d->x_pair[p] = m->pair[p] * d->x_pair[p] + u[t];
            pr[2 * p] = creal(d->x_pair[p]);
            pr[2 * p + 1] = cimag(d->x_pair[p]);
        }
    }
}

ssm_status ssm_diagonal_features(const ssm_modes *modes, size_t block_len, ssm_diagonal *d,
                                 ssm_features *f, ssm_error *err)
{
    const size_t nm = mode_count(modes);
    memset(d, 0, sizeof *d);
    d->modes = modes;
    d->table_len = block_len;
    d->table = malloc((nm ? nm : 1) * block_len * sizeof *d->table);
    d->x_real = malloc((modes->n_real ? modes->n_real : 1) * sizeof *d->x_real);
    d->x_pair = malloc((modes->n_pair ? modes->n_pair : 1) * sizeof *d->x_pair);
    if (!d->table || !d->x_real || !d->x_pair) {
        ssm_diagonal_free(d);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for %zu modes", nm);
    }
    double radius = 0;
    for (size_t k = 0; k < nm; ++k) {
        double complex l = mode_value(modes, k);
        radius = fmax(radius, cabs(l));
        for (size_t j = 0; j < block_len; ++j)
            d->table[k * block_len + j] = ssm_power(l, j);
    }
    diagonal_reset(d);
    f->n = modes->n_real + 2 * modes->n_pair;
    f->radius = radius;
    f->responses = diagonal_responses;
    f->gram = diagonal_gram;
    f->reset = diagonal_reset;
    f->simulate = diagonal_simulate;
    f->ctx = d;
    return SSM_OK;
}

void ssm_diagonal_free(ssm_diagonal *d)
{
    if (!d)
        return;
    free(d->table);
    free(d->x_real);
    free(d->x_pair);
    d->table = NULL;
    d->x_real = NULL;
    d->x_pair = NULL;
}
