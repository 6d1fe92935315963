/* Discrete eigenvalue sets (spectra) and their real-form grouping.
 *
 * A spectrum lists all N discrete eigenvalues of a real system, conjugates
 * included: the S4D families store N/2 modes whose conjugates are implicit
 * in the S4D kernel (2 Re sum), and here they are explicit, interleaved as
 * (lambda_0, conj lambda_0, lambda_1, ...).  Duplicates are kept: S4D-Lin's
 * n = 0 mode is real and equal to its own conjugate, which is exactly why
 * that system has rank N - 1. */
#ifndef SSM_SPECTRUM_H
#define SSM_SPECTRUM_H

#include <complex.h>
#include <stddef.h>

#include "error.h"
#include "model.h"

typedef struct {
    size_t n;
    double complex *lambda;
} ssm_spectrum;

/* The real form of a conjugate-closed spectrum: real eigenvalues give one
 * feature r^tau each, conjugate pairs (stored by the member with Im > 0)
 * give two, Re and Im of lambda^tau; n_real + 2 n_pair = N. */
typedef struct {
    size_t n_real, n_pair;
    double *real;
    double complex *pair;
} ssm_modes;

/* Builds the discrete spectrum of any family (for legs-dense: the exact
 * discretized eigenvalues -1..-N of HiPPO-LegS). */
ssm_status ssm_spectrum_build(const ssm_model *model, ssm_spectrum *out, ssm_error *err);

/* The continuous eigenvalues A_n of the S4D families: N/2 values for the
 * complex families, N for s4d-real and legs-dense.  *count receives how
 * many were written; `a` must hold model->n values. */
ssm_status ssm_continuous_eigenvalues(const ssm_model *model, double complex *a,
                                      size_t *count, ssm_error *err);

/* lambda = exp(dt a) (zoh) or (1 + dt a/2) / (1 - dt a/2) (bilinear). */
double complex ssm_discretize_eigenvalue(double complex a, double dt, ssm_disc disc);

/* Caps of the CSV reader, checked while reading (nothing is allocated
 * beyond them): a line, the whole file, and the eigenvalues (SSM_MAX_N). */
#define SSM_CSV_MAX_LINE 4096
#define SSM_CSV_MAX_BYTES ((size_t)64 << 20)

/* Reads a CSV of discrete eigenvalues: an optional header naming columns
 * `re` and `im` (so `ssmsweep eig` output reads back), otherwise two
 * columns re,im.  Blank lines and '#' comments are skipped.  A line over
 * SSM_CSV_MAX_LINE bytes, a file over SSM_CSV_MAX_BYTES, more than
 * SSM_MAX_N eigenvalues or a NUL byte is SSM_EIO with one line naming
 * the cap. */
ssm_status ssm_spectrum_read_csv(const char *path, ssm_spectrum *out, ssm_error *err);

/* The real state dimension of a model: model->n, or for init file the
 * number of eigenvalues its CSV holds (read, with the caps above). */
ssm_status ssm_model_state_size(const ssm_model *model, size_t *n, ssm_error *err);

void ssm_spectrum_free(ssm_spectrum *spectrum);

/* Largest |lambda|. */
double ssm_spectrum_radius(const ssm_spectrum *spectrum);

/* Groups a spectrum into real modes and conjugate pairs; fails with a
 * message if an eigenvalue has no conjugate partner (not a real system). */
ssm_status ssm_modes_from_spectrum(const ssm_spectrum *spectrum, ssm_modes *out,
                                   ssm_error *err);
void ssm_modes_free(ssm_modes *modes);

#endif
