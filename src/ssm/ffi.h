/* Flat entry points for foreign-function interfaces (Python's ctypes, Julia's
 * ccall, ...): plain numbers, strings and arrays of doubles in and out, no
 * structs, no complex type, the message of a failure copied into a buffer
 * of the caller's.  What they compute is what the rest of the public API
 * computes (ssm_spectrum_build, ssm_mf_spectrum); their signatures are the
 * part of the ABI a binding depends on, so they only ever gain new
 * functions (SSM_FFI_VERSION counts them). */
#ifndef SSM_FFI_H
#define SSM_FFI_H

#include <stddef.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SSM_FFI_VERSION 1

/* The version of this interface the library implements. */
int ssm_ffi_version(void);

/* What ssm_ffi_mf writes into stats, by index. */
enum {
    SSM_FFI_MC,            /* memory capacity, sum of MF over 0..tau_max */
    SSM_FFI_RANK,          /* numerical rank */
    SSM_FFI_MEMORY_LENGTH, /* MF-weighted mean delay */
    SSM_FFI_COND,          /* of the equilibrated Gram; NaN where not formed */
    SSM_FFI_RCOND,         /* the singular-value cut-off used */
    SSM_FFI_N_STATS
};

/* The memory function MF(tau), tau = 0..tau_max, of the diagonal system
 * with the discrete eigenvalues re[k] + i im[k], k < n, conjugates
 * included (as `ssmsweep eig` prints them).  method: "analytic",
 * "finite", "simulate" or "blaschke"; T: the sequence length of finite and
 * simulate (0: the default, 1024); rcond <= 0: the engine's default.
 * Writes tau_max + 1 values into mf and SSM_FFI_N_STATS into stats.  With
 * mf NULL only checks the arguments (so that a caller can refuse before it
 * allocates tau_max + 1 doubles).  Returns an ssm_status; on failure the
 * one-line message goes into message (message_size bytes, always
 * terminated; NULL: none), after "PARAM: " where one parameter is at
 * fault (the core's name of it: tau_max, T, method, N, dt, ...). */
int ssm_ffi_mf(size_t n, const double *re, const double *im, const char *method, size_t tau_max,
               size_t T, double rcond, double *mf, double *stats, char *message, size_t message_size);

/* The n discrete eigenvalues of a family (`ssmsweep eig`): init by name
 * ("s4d-inv", ..., "file"), the model's other parameters as text, by the
 * names of the sweep specs (dt, disc, rho, groups, real_part, imag_scale,
 * seed, file); what is not given keeps its default.  *count receives the
 * number of eigenvalues (for init file: what the file holds); they are
 * written into re and im only when capacity >= *count.  Returns an
 * ssm_status and the message as ssm_ffi_mf. */
int ssm_ffi_eig(const char *init, long n, size_t n_params, const char *const *names, const char *const *values,
                double *re, double *im, size_t capacity, size_t *count, char *message, size_t message_size);

#ifdef __cplusplus
}
#endif

#endif
