/* The S4D parameterization shared by the single-layer trainer (train.h)
 * and the deep classifier (deep.h): a diagonal SSM with modes k of
 * continuous eigenvalue a_k = -exp(p_re,k) + i p_im,k (real modes have no
 * p_im), a shared step dt = exp(p_dt), input weights b_k (complex for
 * pairs), discretized by ZOH or bilinear to lambda_k, bbar_k; readout
 * weights w per output and feature (Re x, Im x for a pair, x for a real
 * mode), skip D and bias per output.  Any diagonal family of model.h maps
 * to it (discrete families by a = log(lambda) / dt). */
#ifndef SSM_S4D_H
#define SSM_S4D_H

#include <complex.h>
#include <stddef.h>

#include "error.h"
#include "model.h"

/* Precision of the activations (and FFTs) of a training pass; parameters
 * and optimizer state are float64 either way. */
typedef enum { SSM_F32, SSM_F64 } ssm_precision;

/* outputs of a single-layer model */
#define SSM_MAX_OUTPUTS 16

typedef enum {
    SSM_GROUP_A_RE, SSM_GROUP_A_IM, SSM_GROUP_DT, SSM_GROUP_B, SSM_GROUP_C, SSM_GROUP_D,
    SSM_GROUP_BIAS, SSM_GROUP_COUNT
} ssm_param_group;

/* Names as on the command line (--freeze A,dt,B): "A" names A_RE and A_IM. */
const char *ssm_group_name(ssm_param_group g);
/* Parses a comma-separated list into a bit mask of groups. */
ssm_status ssm_groups_parse(const char *list, unsigned *mask, ssm_error *err);

typedef struct {
    size_t n_real, n_pair, n_out;
    ssm_disc disc;
    size_t n_features;                 /* n_real + 2 n_pair */
    size_t n_params;
    size_t offset[SSM_GROUP_COUNT], length[SSM_GROUP_COUNT];
    double *theta;                     /* every parameter, grouped as above */
} ssm_dssm;

/* A model with the eigenvalues of `model` (any diagonal family; discrete
 * families are mapped to a = log(lambda)/dt), b = 1, readout zero, n_out
 * outputs.  legs-dense is refused (not diagonal). */
ssm_status ssm_dssm_init(ssm_dssm *m, const ssm_model *model, size_t n_out, ssm_error *err);
/* The state size of a model that is trained (its row in param.h,
 * SSM_PARAM_N_TRAINED): err names N if it is beyond it.  An init file's
 * size is the file's, known once it is read. */
ssm_status ssm_dssm_size_validate(const ssm_model *model, ssm_error *err);
/* A zero model with these counts (the layout above). */
ssm_status ssm_dssm_alloc(ssm_dssm *m, size_t n_real, size_t n_pair, size_t n_out, ssm_disc disc,
                          ssm_error *err);
ssm_status ssm_dssm_copy(ssm_dssm *dst, const ssm_dssm *src, ssm_error *err);
void ssm_dssm_free(ssm_dssm *m);

/* Discrete eigenvalues of the current parameters: n_real + 2 n_pair values,
 * pairs as (lambda, conj lambda) (a spectrum for the MF engines). */
void ssm_dssm_eigenvalues(const ssm_dssm *m, double complex *lambda);
/* Discrete eigenvalues and input weights per mode (real modes first). */
void ssm_dssm_discretize(const ssm_dssm *m, double complex *lambda, double complex *bbar);

/* Modes: n_real + n_pair. */
size_t ssm_dssm_n_modes(const ssm_dssm *m);
/* Continuous eigenvalue a and input weight b of mode k. */
void ssm_dssm_mode(const ssm_dssm *m, size_t k, double complex *a, double complex *b);
/* The step dt = exp(p_dt). */
double ssm_dssm_dt(const ssm_dssm *m);
/* Readout weight of output o on mode k as a complex number w = wr + i wi
 * (real modes: imaginary part 0): the mode adds Re(conj(w) x) to y. */
double complex ssm_dssm_readout(const ssm_dssm *m, size_t o, size_t k);

/* ZOH without cancellation: e^x - 1, and (x e^x - (e^x - 1)) / x^2, the
 * derivative of Bbar = (e^(a dt) - 1) / a with respect to a at fixed dt
 * divided by dt^2 (by its series where the closed form would cancel). */
double complex ssm_cexpm1(double complex x);
double complex ssm_zoh_phi2(double complex x);

#endif
