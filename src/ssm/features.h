/* A linear system seen through its real state features.
 *
 * The MF engines need three views of a system: its impulse responses
 * (feature i, tau steps after a unit input), the closed-form Gram of those
 * responses summed over all tau >= 0, and a simulator.  Diagonal spectra and
 * the dense S4 system each provide the three, so every engine is written
 * once. */
#ifndef SSM_FEATURES_H
#define SSM_FEATURES_H

#include <stddef.h>

#include "error.h"

typedef struct {
    size_t n;        /* real features = state dimension */
    double radius;   /* spectral radius, for the automatic washout */
    /* out[i * ld + j] = response of feature i at delay tau0 + j, j < count.
     * Called with tau0 = 0 first and then contiguous blocks. */
    ssm_status (*responses)(void *ctx, size_t tau0, size_t count, double *out, size_t ld,
                            ssm_error *err);
    /* s (n x n, row-major) = sum_{tau >= 0} r_tau r_tau^T, upper triangle
     * at least. */
    ssm_status (*gram)(void *ctx, double *s, ssm_error *err);
    /* Sets the state to zero. */
    void (*reset)(void *ctx);
    /* Advances the state by count inputs u; row t of z (leading dimension
     * ldz) receives the features after input u[t]. */
    void (*simulate)(void *ctx, const double *u, size_t count, double *z, size_t ldz);
    void *ctx;
} ssm_features;

#endif
