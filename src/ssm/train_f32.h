/* The float32 pass of the single-layer trainer (internal to train.c and
 * train_f32.c; callers use ssm_grad_work_new with SSM_F32 and
 * ssm_loss_grad).  Same model, loss and gradients as the float64 pass:
 * the kernel and the power sums of its gradient are walked in float32
 * (powers recomputed exactly every 256 steps), the convolutions are
 * lane-parallel float32 FFTs over 16 sequences at once (rfft.h), the
 * per-mode chain rule is float64. */
#ifndef SSM_TRAIN_F32_H
#define SSM_TRAIN_F32_H

#include "train.h"

typedef struct train_work_f32 train_work_f32;

ssm_status train_work_f32_new(const ssm_dssm *m, size_t length, train_work_f32 **out, ssm_error *err);
void train_work_f32_free(train_work_f32 *w);
ssm_status train_loss_grad_f32(const ssm_dssm *m, const ssm_dataset *data, size_t first, size_t count,
                               size_t washout, train_work_f32 *w, double *loss, double *grad, ssm_error *err);

/* The chain rule from the power sums of every output o and mode k,
 * s0 = sum_tau dK_o[tau] lambda_k^tau, s1 = sum_tau tau dK_o[tau]
 * lambda_k^(tau-1) (arrays [o][k]), to the gradients of A, dt, B and C
 * (added to grad). */
void ssm_train_mode_gradients(const ssm_dssm *m, const double complex *lambda, const double complex *bbar,
                              const double *s0r, const double *s0i, const double *s1r, const double *s1i,
                              double *grad);

#endif
