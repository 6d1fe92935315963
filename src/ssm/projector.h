/* Quadratic forms c^T S^+ c with a rank-revealing pseudo-inverse.
 *
 * Every memory function in ssmsweep is MF(tau) = r_tau^T S^+ r_tau, where S
 * is the covariance (Gram) of the state features and r_tau their
 * covariance with the input tau steps back.  S is often numerically
 * singular (cond up to 1e17 for the S4D sets), so it is never inverted:
 * it is equilibrated to unit diagonal (MF does not depend on the scale of
 * the features), decomposed as U diag(s) U^T by LAPACK dsyevr, and the
 * directions with s_k <= rcond^2 * s_max are dropped.  What remains is a
 * whitening map W = diag(s_k^{-1/2}) U_k^T D^{-1/2} with MF = |W r|^2; the
 * number of kept directions is the numerical rank, and the sum of MF over
 * all delays equals it. */
#ifndef SSM_PROJECTOR_H
#define SSM_PROJECTOR_H

#include <stddef.h>

#include "error.h"

typedef struct {
    size_t n;        /* features */
    size_t rank;     /* kept directions */
    double *w;       /* rank x n, row-major */
    double cond;     /* s_max / s_min of the equilibrated S (inf if singular) */
} ssm_projector;

/* s: n x n symmetric positive semi-definite, row-major, upper triangle
 * read; it is overwritten.  rcond in (0, 1): relative cut-off on the
 * square roots of the eigenvalues (singular values of the features). */
ssm_status ssm_projector_build(size_t n, double *s, double rcond, ssm_projector *out,
                               ssm_error *err);

/* out[j] = scale * |W r_j|^2 for the columns r_j of the n x count row-major
 * block R (leading dimension ld).  work must hold rank * count doubles. */
void ssm_projector_norms(const ssm_projector *p, size_t count, const double *r, size_t ld,
                         double scale, double *out, double *work);

void ssm_projector_free(ssm_projector *p);

#endif
