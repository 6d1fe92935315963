#include "config.h"

#include "s4d.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spectrum.h"

static const char *const group_names[SSM_GROUP_COUNT] = {"A_re", "A_im", "dt", "B", "C", "D", "bias"};

const char *ssm_group_name(ssm_param_group g)
{
    return (unsigned)g < SSM_GROUP_COUNT ? group_names[g] : "?";
}

ssm_status ssm_groups_parse(const char *list, unsigned *mask, ssm_error *err)
{
    *mask = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = 0;
        if (len == 1 && (*p == 'A' || *p == 'a')) {
            *mask |= 1u << SSM_GROUP_A_RE | 1u << SSM_GROUP_A_IM;
            found = 1;
        }
        for (int g = 0; g < SSM_GROUP_COUNT && !found; ++g)
            if (strlen(group_names[g]) == len && strncasecmp(p, group_names[g], len) == 0) {
                *mask |= 1u << g;
                found = 1;
            }
        if (!found && len == 6 && strncasecmp(p, "output", 6) == 0) {
            *mask |= 1u << SSM_GROUP_C | 1u << SSM_GROUP_D | 1u << SSM_GROUP_BIAS;
            found = 1;
        }
        if (!found)
            return ssm_fail_param(err, SSM_EINVAL,
                            "freeze", "unknown parameter group '%.*s' (expected A, A_re, A_im, dt, B, C, D, bias)",
                            (int)len, p);
        p += len;
        if (*p == ',')
            ++p;
    }
    return SSM_OK;
}

/* ---- the model ------------------------------------------------------------------ */

size_t ssm_dssm_n_modes(const ssm_dssm *m)
{
    return m->n_real + m->n_pair;
}

ssm_status ssm_dssm_alloc(ssm_dssm *m, size_t n_real, size_t n_pair, size_t n_out, ssm_disc disc,
                          ssm_error *err)
{
    memset(m, 0, sizeof *m);
    m->n_real = n_real;
    m->n_pair = n_pair;
    m->n_out = n_out;
    m->disc = disc;
    m->n_features = n_real + 2 * n_pair;
    size_t len[SSM_GROUP_COUNT] = {
        [SSM_GROUP_A_RE] = n_real + n_pair, [SSM_GROUP_A_IM] = n_pair, [SSM_GROUP_DT] = 1,
        [SSM_GROUP_B] = m->n_features,      [SSM_GROUP_C] = n_out * m->n_features,
        [SSM_GROUP_D] = n_out,              [SSM_GROUP_BIAS] = n_out,
    };
    size_t off = 0;
    for (int g = 0; g < SSM_GROUP_COUNT; ++g) {
        m->offset[g] = off;
        m->length[g] = len[g];
        off += len[g];
    }
    m->n_params = off;
    m->theta = calloc(off, sizeof *m->theta);
    if (!m->theta)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for %zu parameters", off);
    return SSM_OK;
}

/* The continuous eigenvalue whose discretization is lambda (inverse of
 * ssm_discretize_eigenvalue). */
static double complex undiscretize(double complex lambda, double dt, ssm_disc disc)
{
    if (disc == SSM_DISC_BILINEAR)
        return (2.0 / dt) * (lambda - 1.0) / (lambda + 1.0);
    return clog(lambda) / dt;
}

ssm_status ssm_dssm_size_validate(const ssm_model *model, ssm_error *err)
{
    if (model->init != SSM_INIT_FILE && model->n > SSM_PARAM_MAX(SSM_PARAM_N_TRAINED))
        return ssm_fail_param(err, SSM_EINVAL, "N", "state size %ld exceeds the limit " SSM_PARAM_MAX_TEXT(SSM_PARAM_N_TRAINED)
                              " of a trained model", model->n);
    return SSM_OK;
}

ssm_status ssm_dssm_init(ssm_dssm *m, const ssm_model *model, size_t n_out, ssm_error *err)
{
    ssm_spectrum sp = {0};
    ssm_modes modes = {0};
    ssm_status st;
    memset(m, 0, sizeof *m);
    if (model->init == SSM_INIT_LEGS_DENSE)
        return ssm_fail_param(err, SSM_EINVAL, "init", "legs-dense is not a diagonal model (use s4d-real)");
    if (n_out < 1 || n_out > SSM_MAX_OUTPUTS)
        return ssm_fail(err, SSM_EINVAL, "outputs: %zu is outside 1..%d", n_out, SSM_MAX_OUTPUTS);
    st = ssm_spectrum_build(model, &sp, err);
    if (st == SSM_OK)
        st = ssm_modes_from_spectrum(&sp, &modes, err);
    if (st)
        goto done;
    /* under ZOH a negative real eigenvalue has no real continuous preimage:
     * it becomes a pair at angle pi, whose conjugate is itself */
    size_t n_neg = 0;
    for (size_t k = 0; k < modes.n_real; ++k) {
        if (!(modes.real[k] != 0.0)) {
            st = ssm_fail(err, SSM_EINVAL, "eigenvalue 0 cannot be trained (log of 0)");
            goto done;
        }
        n_neg += modes.real[k] < 0 && model->disc == SSM_DISC_ZOH;
    }
    st = ssm_dssm_alloc(m, modes.n_real - n_neg, modes.n_pair + n_neg, n_out, model->disc, err);
    if (st)
        goto done;
    /* discrete families have no dt of their own: --dt sets the scale of
     * their continuous-time parameters */
    const double dt = model->dt;
    double *p_re = m->theta + m->offset[SSM_GROUP_A_RE], *p_im = m->theta + m->offset[SSM_GROUP_A_IM];
    double *b = m->theta + m->offset[SSM_GROUP_B];
    size_t r = 0, p = 0;
    for (size_t k = 0; k < modes.n_real; ++k) {
        double complex a = undiscretize(modes.real[k], dt, model->disc);
        if (fabs(cimag(a)) == 0) {
            p_re[r] = log(-creal(a));
            b[r++] = 1.0;
        } else {
            p_re[m->n_real + p] = log(-creal(a));
            p_im[p] = fabs(cimag(a));
            b[m->n_real + 2 * p] = 1.0;
            ++p;
        }
    }
    for (size_t k = 0; k < modes.n_pair; ++k, ++p) {
        double complex a = undiscretize(modes.pair[k], dt, model->disc);
        if (!(creal(a) < 0)) {
            st = ssm_fail(err, SSM_EINVAL, "eigenvalue %g%+gi is not stable: cannot be trained",
                          creal(modes.pair[k]), cimag(modes.pair[k]));
            goto done;
        }
        p_re[m->n_real + p] = log(-creal(a));
        p_im[p] = cimag(a);
        b[m->n_real + 2 * p] = 1.0;   /* b = 1 + 0i, as in S4D */
    }
    for (size_t k = 0; k < m->n_real; ++k)
        if (!isfinite(p_re[k])) {
            st = ssm_fail(err, SSM_EINVAL, "eigenvalue %g is not stable: cannot be trained", modes.real[k]);
            goto done;
        }
    m->theta[m->offset[SSM_GROUP_DT]] = log(dt);
done:
    ssm_modes_free(&modes);
    ssm_spectrum_free(&sp);
    if (st)
        ssm_dssm_free(m);
    return st;
}

ssm_status ssm_dssm_copy(ssm_dssm *dst, const ssm_dssm *src, ssm_error *err)
{
    ssm_status st = ssm_dssm_alloc(dst, src->n_real, src->n_pair, src->n_out, src->disc, err);
    if (st == SSM_OK)
        memcpy(dst->theta, src->theta, src->n_params * sizeof *src->theta);
    return st;
}

void ssm_dssm_free(ssm_dssm *m)
{
    if (!m)
        return;
    free(m->theta);
    m->theta = NULL;
}

/* Continuous eigenvalue and input weight of mode k. */
void ssm_dssm_mode(const ssm_dssm *m, size_t k, double complex *a, double complex *b)
{
    const double *t = m->theta;
    double re = -exp(t[m->offset[SSM_GROUP_A_RE] + k]);
    if (k < m->n_real) {
        *a = re;
        *b = t[m->offset[SSM_GROUP_B] + k];
    } else {
        size_t p = k - m->n_real, f = m->n_real + 2 * p;
        *a = CMPLX(re, t[m->offset[SSM_GROUP_A_IM] + p]);
        *b = CMPLX(t[m->offset[SSM_GROUP_B] + f], t[m->offset[SSM_GROUP_B] + f + 1]);
    }
}

double ssm_dssm_dt(const ssm_dssm *m)
{
    return exp(m->theta[m->offset[SSM_GROUP_DT]]);
}

void ssm_dssm_discretize(const ssm_dssm *m, double complex *lambda, double complex *bbar)
{
    const double dt = ssm_dssm_dt(m);
    for (size_t k = 0; k < ssm_dssm_n_modes(m); ++k) {
        double complex a, b;
        ssm_dssm_mode(m, k, &a, &b);
        if (m->disc == SSM_DISC_BILINEAR) {
            double complex den = 1.0 - 0.5 * dt * a;
            lambda[k] = (1.0 + 0.5 * dt * a) / den;
            bbar[k] = dt * b / den;
        } else {
            lambda[k] = cexp(dt * a);
            bbar[k] = (lambda[k] - 1.0) / a * b;
        }
    }
}

void ssm_dssm_eigenvalues(const ssm_dssm *m, double complex *lambda)
{
    double complex *l = malloc(ssm_dssm_n_modes(m) * sizeof *l), *b = malloc(ssm_dssm_n_modes(m) * sizeof *b);
    if (!l || !b) {
        free(l);
        free(b);
        return;
    }
    ssm_dssm_discretize(m, l, b);
    for (size_t k = 0; k < m->n_real; ++k)
        lambda[k] = l[k];
    for (size_t p = 0; p < m->n_pair; ++p) {
        lambda[m->n_real + 2 * p] = l[m->n_real + p];
        lambda[m->n_real + 2 * p + 1] = conj(l[m->n_real + p]);
    }
    free(l);
    free(b);
}

/* Readout weight of output o on mode k as a complex number w = wr + i wi
 * (real modes: imaginary part 0), so that the mode's contribution to y is
 * Re(conj(w) x). */
double complex ssm_dssm_readout(const ssm_dssm *m, size_t o, size_t k)
{
    const double *c = m->theta + m->offset[SSM_GROUP_C] + o * m->n_features;
    if (k < m->n_real)
        return c[k];
    size_t f = m->n_real + 2 * (k - m->n_real);
    return CMPLX(c[f], c[f + 1]);
}

/* ---- ZOH ------------------------------------------------------------------------- */

/* e^x - 1 without cancellation for small |x| */
double complex ssm_cexpm1(double complex x)
{
    const double r = creal(x), i = cimag(x), s = sin(i / 2);
    return CMPLX(expm1(r) * cos(i) - 2 * s * s, exp(r) * sin(i));
}

/* (x e^x - (e^x - 1)) / x^2 = sum_{m>=2} (m-1)/m! x^(m-2): the series
 * below |x| = 1/2 (where the closed form would lose digits to cancellation). */
double complex ssm_zoh_phi2(double complex x)
{
    if (cabs(x) >= 0.5)
        return (x * cexp(x) - ssm_cexpm1(x)) / (x * x);
    double complex sum = 0, power = 1;
    double fact = 2;   /* m! */
    for (int mm = 2; mm <= 24; ++mm) {
        sum += (double)(mm - 1) / fact * power;
        power *= x;
        fact *= mm + 1;
    }
    return sum;
}
