/* The features of a diagonal (modal) system: r^tau for each real mode,
 * Re and Im of lambda^tau for each conjugate pair. */
#ifndef SSM_DIAGONAL_H
#define SSM_DIAGONAL_H

#include <complex.h>

#include "features.h"
#include "spectrum.h"

typedef struct {
    const ssm_modes *modes;
    size_t table_len;            /* powers lambda^j, j < table_len, per mode */
    double complex *table;
    double *x_real;              /* simulation state */
    double complex *x_pair;
} ssm_diagonal;

/* Prepares f to describe the modes; responses may be asked for in blocks
 * of at most block_len delays.  `d` holds the buffers and must outlive f. */
ssm_status ssm_diagonal_features(const ssm_modes *modes, size_t block_len, ssm_diagonal *d,
                                 ssm_features *f, ssm_error *err);
void ssm_diagonal_free(ssm_diagonal *d);

/* lambda^tau from the polar form, correct to a few ulps for any tau (a
 * running product would drift by tau ulps). */
double complex ssm_power(double complex lambda, size_t tau);

#endif
