#include "config.h"

#include "projector.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

ssm_status ssm_projector_build(size_t n, double *s, double rcond, ssm_projector *out,
                               ssm_error *err)
{
    ssm_status status = SSM_OK;
    double *inv_scale = malloc(n * sizeof *inv_scale);
    double *eval = malloc(n * sizeof *eval);
    double *evec = malloc(n * n * sizeof *evec);
    lapack_int *support = malloc(2 * n * sizeof *support);
    out->n = n;
    out->rank = 0;
    out->w = NULL;
    out->cond = INFINITY;
    if (!inv_scale || !eval || !evec || !support) {
        status = ssm_fail(err, SSM_ENOMEM, "out of memory for a %zu x %zu Gram matrix", n, n);
        goto done;
    }
    /* Equilibrate; a feature with zero variance carries nothing and gets
     * weight zero instead of a division by zero. */
    for (size_t i = 0; i < n; ++i) {
        double d = s[i * n + i];
        if (!isfinite(d) || d < 0) {
            status = ssm_fail(err, SSM_ENUMERIC,
                              "Gram matrix has a non-finite or negative diagonal entry");
            goto done;
        }
        inv_scale[i] = d > 0 ? 1.0 / sqrt(d) : 0.0;
    }
    for (size_t i = 0; i < n; ++i)
        for (size_t j = i; j < n; ++j) {
            double v = s[i * n + j] * inv_scale[i] * inv_scale[j];
            if (!isfinite(v)) {
                status = ssm_fail(err, SSM_ENUMERIC, "Gram matrix has a non-finite entry");
                goto done;
            }
            s[i * n + j] = v;
        }
    lapack_int found = 0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'A', 'U', (lapack_int)n, s,
                                     (lapack_int)n, 0.0, 0.0, 0, 0, 0.0, &found, eval, evec,
                                     (lapack_int)n, support);
    if (info != 0) {
        status = ssm_fail(err, SSM_ENUMERIC, "dsyevr failed (info %d) on a %zu x %zu Gram matrix",
                          (int)info, n, n);
        goto done;
    }
    double smax = eval[n - 1];
    out->cond = eval[0] > 0 ? smax / eval[0] : INFINITY;
    if (!(smax > 0)) {   /* no signal at all: rank 0, MF identically 0 */
        out->w = malloc(sizeof *out->w);
        if (!out->w)
            status = ssm_fail(err, SSM_ENOMEM, "out of memory");
        goto done;
    }
    size_t rank = 0;
    while (rank < n && eval[n - 1 - rank] > rcond * rcond * smax)
        ++rank;
    out->w = malloc(rank * n * sizeof *out->w);
    if (!out->w) {
        status = ssm_fail(err, SSM_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < rank; ++k) {
        size_t col = n - 1 - k;   /* eigenvalues ascending: largest first */
        double f = 1.0 / sqrt(eval[col]);
        for (size_t j = 0; j < n; ++j)
            out->w[k * n + j] = f * evec[j * n + col] * inv_scale[j];
    }
    out->rank = rank;
done:
    free(inv_scale);
    free(eval);
    free(evec);
    free(support);
    if (status)
        ssm_projector_free(out);
    return status;
}

void ssm_projector_norms(const ssm_projector *p, size_t count, const double *r, size_t ld,
                         double scale, double *out, double *work)
{
    if (p->rank == 0) {
        memset(out, 0, count * sizeof *out);
        return;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p->rank, (int)count, (int)p->n,
                1.0, p->w, (int)p->n, r, (int)ld, 0.0, work, (int)count);
    for (size_t j = 0; j < count; ++j)
        out[j] = 0;
    for (size_t k = 0; k < p->rank; ++k) {
        const double *row = work + k * count;
        for (size_t j = 0; j < count; ++j)
            out[j] += row[j] * row[j];
    }
    for (size_t j = 0; j < count; ++j)
        out[j] *= scale;
}

void ssm_projector_free(ssm_projector *p)
{
    if (!p)
        return;
    free(p->w);
    p->w = NULL;
    p->rank = 0;
}
