/* The dense S4 system: HiPPO-LegS (A, B) discretized as a full matrix.
 *
 * Its eigenvector matrix has cond ~ 3e19 at N = 32, so it is analysed in
 * its own coordinates and never by diagonalizing it numerically: the
 * controllability Gramian comes from the Stein equation by doubling. */
#ifndef SSM_DENSE_H
#define SSM_DENSE_H

#include <stddef.h>

#include "error.h"
#include "features.h"
#include "model.h"

typedef struct {
    size_t n;
    double *a;   /* n x n discrete state matrix, row-major */
    double *b;   /* n discrete input vector */
    /* buffers of the feature views */
    double *work, *state;
    size_t next_tau;
} ssm_dense;

/* Continuous HiPPO-LegS: A_nk = -sqrt(2n+1) sqrt(2k+1) (n > k), -(n+1)
 * (n = k), 0 (n < k); B_n = sqrt(2n+1).  a: n x n, b: n. */
void ssm_legs_continuous(size_t n, double *a, double *b);

/* Discretizes (A, B) in place.  zoh: exp(dt A) and A^{-1}(exp(dt A) - I) B
 * from the exponential of the augmented matrix [[A, B], [0, 0]] dt;
 * bilinear: (I - dt/2 A)^{-1}(I + dt/2 A) and (I - dt/2 A)^{-1} dt B. */
ssm_status ssm_discretize_dense(size_t n, double *a, double *b, double dt, ssm_disc disc,
                                ssm_error *err);

/* exp(m) for an n x n row-major matrix, in place: scaling and squaring
 * with the degree-13 Pade approximant (Higham 2005). */
ssm_status ssm_expm(size_t n, double *m, ssm_error *err);

/* Solves gamma = A gamma A^T + b b^T by doubling (Smith's squared
 * iteration), which converges in O(log(1/(1 - rho(A)))) steps. */
ssm_status ssm_stein_doubling(size_t n, const double *a, const double *b, double *gamma,
                              ssm_error *err);

/* The legs-dense model (init must be SSM_INIT_LEGS_DENSE). */
ssm_status ssm_dense_from_model(const ssm_model *model, ssm_dense *out, ssm_error *err);

/* Feature views of the dense system; sys must outlive f. */
ssm_status ssm_dense_features(ssm_dense *sys, ssm_features *f, ssm_error *err);

void ssm_dense_free(ssm_dense *sys);

#endif
