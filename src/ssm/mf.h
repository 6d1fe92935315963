/* Memory functions MF(tau), tau = 0 .. tau_max, and the memory capacity.
 *
 * MF(tau) = 1 - min_w <(w^T x_t - u_{t-tau})^2> / <u^2> for i.i.d. input u;
 * x_t contains u_t, so tau = 0 is the present input.  Engines:
 *   analytic  infinite sequence, closed-form Gram, rank-revealing Hermitian
 *             eigendecomposition (projector.h);
 *   finite    sequence of length T from rest: leverage scores of the T x N
 *             response (Vandermonde) matrix by SVD;
 *   simulate  i.i.d. input, washout, streaming Gram and cross-covariance
 *             accumulated in BLAS blocks (memory independent of T),
 *             least squares with a rank cut-off;
 *   blaschke  infinite sequence by the orthonormal Takenaka-Malmquist basis
 *             of the state's response space: O(N tau_max), no Gram matrix,
 *             accurate where the Gram is ill-conditioned (diagonal systems
 *             only). */
#ifndef SSM_MF_H
#define SSM_MF_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "features.h"
#include "model.h"
#include "spectrum.h"

typedef enum {
    SSM_MF_ANALYTIC,
    SSM_MF_FINITE,
    SSM_MF_SIMULATE,
    SSM_MF_BLASCHKE,
    SSM_MF_METHOD_COUNT
} ssm_mf_method;

#define SSM_WASHOUT_AUTO SIZE_MAX
/* Largest T and washout of finite and simulate (simulate: 10^9 steps of
 * N = 256 take about an hour and a quarter); the rows of param.h bound
 * them (and tau_max) for every engine. */
#define SSM_MF_MAX_LENGTH 1000000000UL

typedef struct {
    ssm_mf_method method;
    size_t tau_max;
    size_t T;          /* finite: sequence length; simulate: samples kept */
    size_t washout;    /* simulate: steps discarded first (or _AUTO) */
    uint64_t seed;     /* simulate: input stream */
    double rcond;      /* relative singular-value cut-off; <= 0: default */
} ssm_mf_options;

typedef struct {
    size_t n;          /* state dimension */
    size_t n_tau;      /* tau_max + 1 */
    double *mf;        /* n_tau values */
    double mc;         /* sum of mf over 0..tau_max */
    size_t rank;       /* numerical rank: MF summed over all delays */
    double cond;       /* of the equilibrated Gram; NAN where not formed */
    double rcond;      /* the cut-off used */
    size_t washout;    /* simulate: the washout used */
} ssm_mf_result;

/* method analytic, tau_max 1000, T 1024, washout auto, seed 0, rcond default */
void ssm_mf_options_defaults(ssm_mf_options *opts);
ssm_status ssm_mf_options_validate(const ssm_mf_options *opts, ssm_error *err);
const char *ssm_mf_method_name(ssm_mf_method method);
ssm_status ssm_mf_method_parse(const char *name, ssm_mf_method *method, ssm_error *err);

/* The default cut-off of an engine for n features. */
double ssm_mf_default_rcond(ssm_mf_method method, size_t n, size_t T);

/* Any system given by its features (analytic, finite, simulate). */
ssm_status ssm_mf_features(const ssm_features *f, const ssm_mf_options *opts,
                           ssm_mf_result *out, ssm_error *err);

/* A diagonal system given by its discrete spectrum (all four engines). */
ssm_status ssm_mf_spectrum(const ssm_spectrum *spectrum, const ssm_mf_options *opts,
                           ssm_mf_result *out, ssm_error *err);

/* Any model: diagonal families through their spectrum, legs-dense
 * through its dense matrices. */
ssm_status ssm_mf_model(const ssm_model *model, const ssm_mf_options *opts,
                        ssm_mf_result *out, ssm_error *err);

void ssm_mf_result_free(ssm_mf_result *result);

/* Peak bytes the engine of opts allocates for a system of n real features
 * (dense: the legs-dense matrices, else a diagonal spectrum), the result
 * included; a model of the allocations above (and LAPACK's workspaces),
 * checked against measured peak RSS in tests/test_memory.c.  A double:
 * absurd sizes must not overflow. */
double ssm_mf_peak_bytes(size_t n, int dense, const ssm_mf_options *opts);

/* Memory length: the MF-weighted mean delay sum tau MF(tau) / sum MF(tau). */
double ssm_mf_memory_length(const ssm_mf_result *result);

#endif
