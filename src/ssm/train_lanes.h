/* The passes of the single-layer trainer (internal to train.c and
 * train_lanes.c; callers use ssm_grad_work_new and ssm_loss_grad), one
 * per precision from one source (train_lanes_body.h).  The kernel and the
 * power sums of its gradient are walked in the pass's precision (powers
 * recomputed exactly every 256 steps), the convolutions are lane-parallel
 * FFTs over 16 (float32) or 8 (float64) sequences at once (rfft.h), the
 * per-mode chain rule is float64. */
#ifndef SSM_TRAIN_LANES_H
#define SSM_TRAIN_LANES_H

#include "train.h"

typedef struct train_work_f32 train_work_f32;
typedef struct train_work_f64 train_work_f64;

ssm_status train_work_new_f32(const ssm_dssm *m, size_t length, train_work_f32 **out, ssm_error *err);
void train_work_free_f32(train_work_f32 *w);
ssm_status train_loss_grad_f32(const ssm_dssm *m, const ssm_dataset *data, size_t first, size_t count,
                               size_t washout, train_work_f32 *w, double *loss, double *grad, ssm_error *err);
ssm_status train_work_new_f64(const ssm_dssm *m, size_t length, train_work_f64 **out, ssm_error *err);
void train_work_free_f64(train_work_f64 *w);
ssm_status train_loss_grad_f64(const ssm_dssm *m, const ssm_dataset *data, size_t first, size_t count,
                               size_t washout, train_work_f64 *w, double *loss, double *grad, ssm_error *err);

/* The chain rule from the power sums of every output o and mode k,
 * s0 = sum_tau dK_o[tau] lambda_k^tau, s1 = sum_tau tau dK_o[tau]
 * lambda_k^(tau-1) (arrays [o][k]), to the gradients of A, dt, B and C
 * (added to grad).  With the Wirtinger-style convention delta_z = dL/dRe z
 * + i dL/dIm z, a holomorphic map z -> f(z) pulls gradients back as
 * delta_z = conj(f') delta_f. */
void ssm_train_mode_gradients(const ssm_dssm *m, const double complex *lambda, const double complex *bbar,
                              const double *s0r, const double *s0i, const double *s1r, const double *s1i,
                              double *grad);

#endif
