#include "config.h"

#include "dense.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

void ssm_legs_continuous(size_t n, double *a, double *b)
{
    for (size_t r = 0; r < n; ++r) {
        for (size_t c = 0; c < n; ++c) {
            double v = 0;
            if (r > c)
                v = -sqrt(2.0 * r + 1.0) * sqrt(2.0 * c + 1.0);
            else if (r == c)
                v = -(double)(r + 1);
            a[r * n + c] = v;
        }
        b[r] = sqrt(2.0 * r + 1.0);
    }
}

static double norm1(size_t n, const double *m)
{
    double best = 0;
    for (size_t c = 0; c < n; ++c) {
        double s = 0;
        for (size_t r = 0; r < n; ++r)
            s += fabs(m[r * n + c]);
        best = fmax(best, s);
    }
    return best;
}

static void gemm(size_t n, const double *x, const double *y, double *out)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, x,
                (int)n, y, (int)n, 0.0, out, (int)n);
}

ssm_status ssm_expm(size_t n, double *m, ssm_error *err)
{
    static const double pade[14] = {
        64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
        129060195264000.0,   10559470521600.0,    670442572800.0,     33522128640.0,
        1323241920.0,        40840800.0,          960960.0,           16380.0,
        182.0,               1.0};
    const double theta13 = 5.371920351148152;
    ssm_status status = SSM_OK;
    const size_t nn = n * n;
    double *buf = malloc(8 * nn * sizeof *buf);
    lapack_int *ipiv = malloc(n * sizeof *ipiv);
    if (!buf || !ipiv) {
        status = ssm_fail(err, SSM_ENOMEM, "out of memory for a %zu x %zu exponential", n, n);
        goto done;
    }
    double *a2 = buf, *a4 = a2 + nn, *a6 = a4 + nn, *u = a6 + nn, *v = u + nn, *t = v + nn,
           *p = t + nn, *q = p + nn;
    double nrm = norm1(n, m);
    if (!isfinite(nrm)) {
        status = ssm_fail(err, SSM_ENUMERIC, "matrix exponential of a non-finite matrix");
        goto done;
    }
    int squarings = nrm > theta13 ? (int)ceil(log2(nrm / theta13)) : 0;
    double scale = ldexp(1.0, -squarings);
    for (size_t i = 0; i < nn; ++i)
        m[i] *= scale;
    gemm(n, m, m, a2);
    gemm(n, a2, a2, a4);
    gemm(n, a4, a2, a6);
    /* U = A [A6 (b13 A6 + b11 A4 + b9 A2) + b7 A6 + b5 A4 + b3 A2 + b1 I]
     * V =    A6 (b12 A6 + b10 A4 + b8 A2) + b6 A6 + b4 A4 + b2 A2 + b0 I */
    for (size_t i = 0; i < nn; ++i)
        t[i] = pade[13] * a6[i] + pade[11] * a4[i] + pade[9] * a2[i];
    gemm(n, a6, t, u);
    for (size_t i = 0; i < nn; ++i)
        u[i] += pade[7] * a6[i] + pade[5] * a4[i] + pade[3] * a2[i];
    for (size_t i = 0; i < n; ++i)
        u[i * n + i] += pade[1];
    gemm(n, m, u, t);   /* t = U */
    for (size_t i = 0; i < nn; ++i)
        p[i] = pade[12] * a6[i] + pade[10] * a4[i] + pade[8] * a2[i];
    gemm(n, a6, p, v);
    for (size_t i = 0; i < nn; ++i)
        v[i] += pade[6] * a6[i] + pade[4] * a4[i] + pade[2] * a2[i];
    for (size_t i = 0; i < n; ++i)
        v[i * n + i] += pade[0];
    /* (V - U) X = V + U */
    for (size_t i = 0; i < nn; ++i) {
        p[i] = v[i] - t[i];
        q[i] = v[i] + t[i];
    }
    lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)n, p,
                                    (lapack_int)n, ipiv, q, (lapack_int)n);
    if (info != 0) {
        status = ssm_fail(err, SSM_ENUMERIC, "Pade denominator is singular (dgesv info %d)",
                          (int)info);
        goto done;
    }
    for (int s = 0; s < squarings; ++s) {
        gemm(n, q, q, p);
        memcpy(q, p, nn * sizeof *q);
    }
    memcpy(m, q, nn * sizeof *m);
done:
    free(buf);
    free(ipiv);
    return status;
}

ssm_status ssm_discretize_dense(size_t n, double *a, double *b, double dt, ssm_disc disc,
                                ssm_error *err)
{
    ssm_status status = SSM_OK;
    const size_t na = n + 1;
    double *aug = NULL, *lhs = NULL;
    lapack_int *ipiv = NULL;
    if (disc == SSM_DISC_ZOH) {
        aug = calloc(na * na, sizeof *aug);
        if (!aug) {
            status = ssm_fail(err, SSM_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t r = 0; r < n; ++r) {
            for (size_t c = 0; c < n; ++c)
                aug[r * na + c] = dt * a[r * n + c];
            aug[r * na + n] = dt * b[r];
        }
        status = ssm_expm(na, aug, err);
        if (status)
            goto done;
        for (size_t r = 0; r < n; ++r) {
            for (size_t c = 0; c < n; ++c)
                a[r * n + c] = aug[r * na + c];
            b[r] = aug[r * na + n];
        }
    } else {
        lhs = malloc(n * n * sizeof *lhs);
        ipiv = malloc(n * sizeof *ipiv);
        if (!lhs || !ipiv) {
            status = ssm_fail(err, SSM_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n * n; ++i) {
            lhs[i] = -0.5 * dt * a[i];
            a[i] = 0.5 * dt * a[i];
        }
        for (size_t i = 0; i < n; ++i) {
            lhs[i * n + i] += 1.0;
            a[i * n + i] += 1.0;
            b[i] *= dt;
        }
        lapack_int info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)n, lhs,
                                         (lapack_int)n, ipiv);
        if (info == 0)
            info = LAPACKE_dgetrs(LAPACK_ROW_MAJOR, 'N', (lapack_int)n, (lapack_int)n, lhs,
                                  (lapack_int)n, ipiv, a, (lapack_int)n);
        if (info == 0)
            info = LAPACKE_dgetrs(LAPACK_ROW_MAJOR, 'N', (lapack_int)n, 1, lhs, (lapack_int)n,
                                  ipiv, b, 1);
        if (info != 0)
            status = ssm_fail(err, SSM_ENUMERIC, "bilinear discretization: I - dt/2 A is singular");
    }
done:
    free(aug);
    free(lhs);
    free(ipiv);
    return status;
}

ssm_status ssm_stein_doubling(size_t n, const double *a, const double *b, double *gamma,
                              ssm_error *err)
{
    ssm_status status = SSM_OK;
    const size_t nn = n * n;
    double *power = malloc(3 * nn * sizeof *power);
    if (!power)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the Stein equation (N = %zu)", n);
    double *tmp = power + nn, *next = tmp + nn;
    memcpy(power, a, nn * sizeof *power);
    for (size_t r = 0; r < n; ++r)
        for (size_t c = 0; c < n; ++c)
            gamma[r * n + c] = b[r] * b[c];
    /* After k steps gamma = sum_{tau < 2^k} A^tau b b^T A^tau^T and
     * power = A^(2^k); the tail is bounded by |power|^2 |gamma|. */
    for (int step = 0; step < 80; ++step) {
        double pnorm = 0, gnorm = 0;
        for (size_t i = 0; i < nn; ++i) {
            pnorm += power[i] * power[i];
            gnorm += gamma[i] * gamma[i];
        }
        if (!isfinite(pnorm) || !isfinite(gnorm))
            break;
        if (pnorm < 1e-34)   /* |A^(2^k)|_F^2: the remaining tail is below eps^2 */
            goto done;
        /* gamma += P gamma P^T */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0,
                    power, (int)n, gamma, (int)n, 0.0, tmp, (int)n);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)n, 1.0, tmp,
                    (int)n, power, (int)n, 1.0, gamma, (int)n);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0,
                    power, (int)n, power, (int)n, 0.0, next, (int)n);
        memcpy(power, next, nn * sizeof *power);
    }
    status = ssm_fail(err, SSM_ENUMERIC,
                      "Stein equation did not converge: the dense system is not stable "
                      "(spectral radius >= 1)");
done:
    free(power);
    return status;
}

ssm_status ssm_dense_from_model(const ssm_model *model, ssm_dense *out, ssm_error *err)
{
    memset(out, 0, sizeof *out);
    ssm_status status = ssm_model_validate(model, err);
    if (status)
        return status;
    if (model->init != SSM_INIT_LEGS_DENSE)
        return ssm_fail_param(err, SSM_EINVAL, "init", "%s is not a dense system",
                        ssm_init_name(model->init));
    size_t n = (size_t)model->n;
    out->n = n;
    out->a = malloc(n * n * sizeof *out->a);
    out->b = malloc(n * sizeof *out->b);
    out->work = malloc(n * sizeof *out->work);
    out->state = malloc(n * sizeof *out->state);
    if (!out->a || !out->b || !out->work || !out->state) {
        ssm_dense_free(out);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the dense system (N = %zu)", n);
    }
    ssm_legs_continuous(n, out->a, out->b);
    status = ssm_discretize_dense(n, out->a, out->b, model->dt, model->disc, err);
    if (status)
        ssm_dense_free(out);
    return status;
}

/* Responses A^tau b, produced by the recurrence itself and handed out in
 * contiguous blocks (state holds A^next_tau b). */
static ssm_status dense_responses(void *ctx, size_t tau0, size_t count, double *out, size_t ld,
                                  ssm_error *err)
{
    ssm_dense *d = ctx;
    const int n = (int)d->n;
    if (tau0 == 0) {
        memcpy(d->state, d->b, d->n * sizeof *d->state);
        d->next_tau = 0;
    }
    if (tau0 != d->next_tau)
        return ssm_fail(err, SSM_EINVAL, "internal: dense responses asked out of order");
    for (size_t j = 0; j < count; ++j) {
        for (size_t i = 0; i < d->n; ++i)
            out[i * ld + j] = d->state[i];
        cblas_dgemv(CblasRowMajor, CblasNoTrans, n, n, 1.0, d->a, n, d->state, 1, 0.0, d->work, 1);
        memcpy(d->state, d->work, d->n * sizeof *d->state);
    }
    d->next_tau = tau0 + count;
    return SSM_OK;
}

static ssm_status dense_gram(void *ctx, double *s, ssm_error *err)
{
    ssm_dense *d = ctx;
    return ssm_stein_doubling(d->n, d->a, d->b, s, err);
}

static void dense_reset(void *ctx)
{
    ssm_dense *d = ctx;
    memset(d->state, 0, d->n * sizeof *d->state);
}

static void dense_simulate(void *ctx, const double *u, size_t count, double *z, size_t ldz)
{
    ssm_dense *d = ctx;
    const int n = (int)d->n;
    for (size_t t = 0; t < count; ++t) {
        memcpy(d->work, d->b, d->n * sizeof *d->work);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, n, n, 1.0, d->a, n, d->state, 1, u[t], d->work, 1);
        memcpy(d->state, d->work, d->n * sizeof *d->state);
        memcpy(z + t * ldz, d->state, d->n * sizeof *z);
    }
}

ssm_status ssm_dense_features(ssm_dense *sys, ssm_features *f, ssm_error *err)
{
    (void)err;
    double radius = 0;
    /* HiPPO-LegS is triangular: its eigenvalues are the diagonal */
    for (size_t i = 0; i < sys->n; ++i)
        radius = fmax(radius, fabs(sys->a[i * sys->n + i]));
    f->n = sys->n;
    f->radius = radius;
    f->responses = dense_responses;
    f->gram = dense_gram;
    f->reset = dense_reset;
    f->simulate = dense_simulate;
    f->ctx = sys;
    sys->next_tau = 0;
    dense_reset(sys);
    return SSM_OK;
}

void ssm_dense_free(ssm_dense *sys)
{
    if (!sys)
        return;
    free(sys->a);
    free(sys->b);
    free(sys->work);
    free(sys->state);
    memset(sys, 0, sizeof *sys);
}
